"""DMA remapping scenarios: selftest=dma with three edu devices, each in a domain of its own, in
the four IOMMU variants aw-bits 39/48 x caching-mode off/on, and once more with register-based
invalidation instead of the queue (iommu_qi=off).

Two edu devices sit on the root bus; the third sits behind a PCIe-to-PCI bridge, so the IOMMU
sees its DMA under the bridge's alias (secondary bus, 00.0). The hypervisor's side of the
contract (docs/report.md): `@iommu` per unit, `@dmatest dev check ok iova expect fault addr
reason via` per check, `@dmafault unit bdf addr type reason name cpu via` per fault, `@done`.

QEMU's own trace is the independent oracle: `vtd_dmar_fault` must agree with every expected
fault (source id, address, direction, reason) and show no other; `vtd_irq_generate` shows the
fault event going to the chosen CPU's APIC; `vtd_inv_desc_iotlb_pages` shows that caching-mode
units are told about new mappings and every unit about removed ones (QEMU traces these for
register-based invalidations too); `vtd_inv_qi_tail` shows whether the queue was used.
"""
import re

from courier import run, scenario

SMP = 2
FAULT_CPU = 1           # fault events go to CPU 1 (APIC id 1 under QEMU)
VEC_IOMMU_FAULT = 0xe0
PAGE = 0x1000
SP_IOVA = 0xe000000     # tests/selftest/dma.c: the superpage check's IOVA

DEVICES = [
    "edu,addr=0x10",
    "edu,addr=0x11",
    "pcie-pci-bridge,id=dmabr,addr=0x12",
    "edu,bus=dmabr,addr=0x3",
]
# QEMU traces the vtd_inv_desc_* events for register-based invalidations too (its register
# handlers call the same functions); vtd_inv_qi_tail is a write of the queue's tail register.
TRACE = ["vtd_dmar_fault", "vtd_irq_generate", "vtd_inv_desc_iotlb_pages",
         "vtd_inv_desc_iotlb_global", "vtd_inv_desc_cc_global", "vtd_inv_desc_iec",
         "vtd_inv_qi_tail"]

# Every check each device must pass, and for those that must fault: direction and reason.
CHECKS = {"setup", "roundtrip", "unmapped_write", "isolation", "unmap", "remap", "unmapped_read",
          "detach", "reattach"}
FIRST_DEV_CHECKS = {"superpage", "protected"}
FAULTS = {
    "unmapped_write": ("write", 0x5),   # write-denied: the leaf is not present
    "isolation": ("write", 0x5),
    "unmap": ("write", 0x5),
    "unmapped_read": ("read", 0x6),     # read-denied
    "detach": ("write", 0x2),           # context entry not present
}
REASON_NAMES = {0x2: "context-not-present", 0x5: "write-denied", 0x6: "read-denied"}




def bdf_key(text):
    """(segment, bus, dev, fn) of 'SSSS:BB:DD.F' or 'BB:DD.F'."""
    m = re.fullmatch(r"(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])", text)
    assert m, f"not a device address: {text!r}"
    return (int(m.group(1) or "0", 16), int(m.group(2), 16), int(m.group(3), 16),
            int(m.group(4)))


def sid_of(text):
    _, bus, dev, fn = bdf_key(text)
    return bus << 8 | dev << 3 | fn


# ---- checks -----------------------------------------------------------------------------------

def check_iommu(r, levels, cm, qi=True):
    units = r.records("iommu")
    assert len(units) == 1, f"{len(units)} @iommu records; QEMU has one remapping unit"
    u = units[0]
    assert u.int("base") == 0xfed90000, f"@iommu base={u['base']}"
    want = {"levels": levels, "cm": int(cm), "qi": int(qi), "te": 1, "fault_cpu": FAULT_CPU}
    for key, value in want.items():
        assert u.int(key) == value, f"@iommu {key}={u[key]}, expected {value}: {u.line()}"
    # CAP.CM (bit 7) and the SAGAW bit of the table depth in use agree with the record.
    cap = u.int("cap")
    assert bool(cap & 0x80) == cm, f"CAP 0x{cap:x}: CM does not match caching-mode"
    assert cap >> 8 & 0x1f & (1 << (levels - 2)), f"CAP 0x{cap:x}: no {levels}-level SAGAW"


def edu_devices(r):
    """{bdf: alias bdf} of the edu functions, from @pci (alias from the bridge above)."""
    pcis = {rec["bdf"]: rec for rec in r.records("pci")}
    edus = {}
    for bdf, rec in pcis.items():
        if rec["id"] != "1234:11e8":
            continue
        alias = bdf
        bridge = rec["bridge"]
        if bridge != "-" and pcis[bridge]["id"] == "1b36:000e":     # pcie-pci-bridge
            seg, bus, _, _ = bdf_key(bdf)
            alias = f"{seg:04x}:{bus:02x}:00.0"
        edus[bdf] = alias
    assert len(edus) == 3, f"{len(edus)} edu functions in @pci, expected 3"
    assert sum(1 for b, a in edus.items() if a != b) == 1, "no edu behind the PCIe-to-PCI bridge"
    return edus


def check_dmatests(r, edus):
    """Every check passed for every device; returns the records that expect a fault."""
    tests = r.records("dmatest")
    failed = [t.line() for t in tests if t.int("ok") != 1]
    assert not failed, f"{len(failed)} failed check(s), e.g. {failed[:3]}"
    by_dev = {}
    for t in tests:
        by_dev.setdefault(t["dev"], set()).add(t["check"])
    first = sorted(edus)[0]
    for bdf in edus:
        want = CHECKS | (FIRST_DEV_CHECKS if bdf == first else set())
        missing = want - by_dev.get(bdf, set())
        assert not missing, f"{bdf}: no @dmatest for {sorted(missing)}"
    assert "overflow" in set().union(*by_dev.values()), "no overflow check"
    assert "fault_irq" in by_dev.get("-", set()), "no fault_irq check"
    faulting = [t for t in tests if t["check"] in FAULTS]
    for t in faulting:
        direction, reason = FAULTS[t["check"]]
        assert bdf_key(t["expect"]) == bdf_key(edus[t["dev"]]), \
            f"{t.line()}: expected requester {edus[t['dev']]}"
        assert bdf_key(t["fault"]) == bdf_key(t["expect"]), f"{t.line()}: fault from elsewhere"
        assert t.int("addr") == t.int("iova") & ~(PAGE - 1), f"{t.line()}: address mismatch"
        assert t.int("reason") == reason, f"{t.line()}: reason {t['reason']}, expected {reason:#x}"
    return faulting


def check_dmafaults(r, faulting):
    """Each expected fault has its @dmafault record: bdf, page address, type, reason, name."""
    records = [f for f in r.records("dmafault") if f["name"] != "overflow"]
    for t in faulting:
        direction, reason = FAULTS[t["check"]]
        match = [f for f in records
                 if bdf_key(f["bdf"]) == bdf_key(t["expect"]) and f.int("addr") == t.int("addr")
                 and f["type"] == direction and f.int("reason") == reason]
        assert match, f"no @dmafault for {t.line()}"
        assert match[0]["name"] == REASON_NAMES[reason], f"{match[0].line()}: name"
    overflow = [f for f in r.records("dmafault") if f["name"] == "overflow"]
    assert len(overflow) <= 1, "primary fault overflow reported more than once in one burst"
    said = [t.line() for t in r.records("dmatest")
            if t["check"] == "overflow" and t["fault"] == "overflow"]
    assert not said or overflow, f"{said[0]}, yet no @dmafault name=overflow record"
    via_irq = [f for f in records if f["via"] == "irq"]
    assert via_irq, "no fault was handled from the fault-event interrupt"
    wrong_cpu = [f.line() for f in via_irq if f.int("cpu") != FAULT_CPU]
    assert not wrong_cpu, f"fault events handled on another CPU than {FAULT_CPU}: {wrong_cpu[:2]}"


TRACE_FAULT = re.compile(r"sid 0x([0-9a-f]+) fault (\d+) addr 0x([0-9a-f]+) write (\d)")


def check_trace_faults(r, faulting):
    """QEMU's vtd_dmar_fault agrees with every expected fault and shows no other."""
    seen = set()
    for line in r.trace_events("vtd_dmar_fault"):
        m = TRACE_FAULT.search(line.text)
        assert m, f"unexpected vtd_dmar_fault format: {line.text}"
        sid, reason, addr, write = (int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16),
                                    int(m.group(4)))
        seen.add((sid, addr & ~(PAGE - 1), "write" if write else "read", reason))
    want = set()
    for t in faulting:
        direction, reason = FAULTS[t["check"]]
        want.add((sid_of(t["expect"]), t.int("addr"), direction, reason))
    # The overflow check's two faults are also unmapped writes of the first two devices.
    missing, extra = want - seen, seen - want
    assert not missing, f"QEMU traced no vtd_dmar_fault for {sorted(missing)[:3]}"
    assert not extra, f"QEMU traced unexpected DMA faults {sorted(extra)[:3]}"


def check_trace_irq(r):
    """Every fault event went to CPU 1's APIC (compatibility format) with the fault vector."""
    events = r.trace_events("vtd_irq_generate")
    assert events, "QEMU generated no fault event interrupt"
    for e in events:
        m = re.search(r"addr 0x([0-9a-f]+) data 0x([0-9a-f]+)", e.text)
        assert m, f"unexpected vtd_irq_generate format: {e.text}"
        addr, data = int(m.group(1), 16), int(m.group(2), 16)
        assert addr >> 20 == 0xfee and (addr >> 12) & 0xff == FAULT_CPU, \
            f"fault event to address {addr:#x}, expected APIC id {FAULT_CPU}"
        assert data & 0xff == VEC_IOMMU_FAULT, f"fault event vector {data & 0xff:#x}"


def check_trace_boot_invalidations(r, qi):
    """After the root table pointer is set: global context-cache and IOTLB invalidations, and
    with the queue the interrupt-entry-cache one. iommu_qi=off must really keep the queue
    unused (no tail write, so no interrupt remapping either, which needs the queue)."""
    events = ["vtd_inv_desc_cc_global", "vtd_inv_desc_iotlb_global"]
    if qi:
        events += ["vtd_inv_desc_iec", "vtd_inv_qi_tail"]
    for event in events:
        assert r.trace_events(event), f"QEMU traced no {event}"
    if not qi:
        tails = r.trace_events("vtd_inv_qi_tail")
        assert not tails, f"iommu_qi=off, yet the queue's tail was written {len(tails)} times"
        assert not r.trace_events("vtd_inv_desc_iec"), "iommu_qi=off, yet an IEC invalidation"


def check_trace_invalidations(r, cm, iovas):
    """Page-selective IOTLB invalidations: every unmap, and on caching-mode units every map
    while attached too (the remap check and the superpage map)."""
    pages = {}
    for e in r.trace_events("vtd_inv_desc_iotlb_pages"):
        m = re.search(r"addr 0x([0-9a-f]+) mask 0x([0-9a-f]+)", e.text)
        assert m, f"unexpected vtd_inv_desc_iotlb_pages format: {e.text}"
        key = (int(m.group(1), 16), int(m.group(2), 16))
        pages[key] = pages.get(key, 0) + 1
    per_change = 2 if cm else 1
    for iova in iovas:
        got = pages.get((iova, 0), 0)
        assert got == per_change, f"IOVA {iova:#x}: {got} page invalidations, expected " \
            f"{per_change} (caching-mode={'on' if cm else 'off'})"
    got = pages.get((SP_IOVA, 9), 0)
    assert got == per_change, f"superpage {SP_IOVA:#x}: {got} invalidations of 2^9 pages, " \
        f"expected {per_change}"


# ---- scenarios --------------------------------------------------------------------------------

def dma_scenario(aw_bits, cm, qi=True):
    def fn():
        args = ["-global", f"intel-iommu.aw-bits={aw_bits}",
                "-global", f"intel-iommu.caching-mode={'on' if cm else 'off'}"]
        r = run(f"selftest=dma iommu_fault_cpu={FAULT_CPU} iommu_qi={'on' if qi else 'off'} "
                "exit=idle", smp=SMP, devices=DEVICES, qemu_args=args, trace=TRACE)
        r.check_done(0)
        check_iommu(r, 3 if aw_bits == 39 else 4, cm, qi)
        edus = edu_devices(r)
        faulting = check_dmatests(r, edus)
        check_dmafaults(r, faulting)
        check_trace_faults(r, faulting)
        check_trace_irq(r)
        iovas = {t.int("iova") for t in r.records("dmatest") if t["check"] == "setup"}
        check_trace_boot_invalidations(r, qi)
        check_trace_invalidations(r, cm, iovas)
    return fn


for _aw in (39, 48):
    for _cm in (False, True):
        scenario(globals(), f"dma_aw{_aw}_cm{'on' if _cm else 'off'}", dma_scenario(_aw, _cm), cost=4)
# The register-based fallback (iommu_qi=off), with caching mode so maps are invalidated too.
scenario(globals(), "dma_aw48_cmon_regs", dma_scenario(48, True, qi=False), cost=4)


def test_dma_fault_cpu_fallback():
    """A fault CPU that is not online is reported and the boot CPU takes the fault events."""
    r = run("iommu_fault_cpu=5 exit=idle", smp=SMP)
    r.check_done(0)
    u = r.record("iommu")
    assert u.int("te") == 1 and u.int("fault_cpu") == 0, f"{u.line()}: expected fault_cpu=0"
    assert r.grep(r"warning: .*cpu 5"), "no warning naming the CPU that is not online"


test_dma_fault_cpu_fallback.cost = 1
