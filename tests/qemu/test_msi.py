"""Interrupt remapping and MSI/MSI-X routing: selftest=msi on 1, 2, 4 and 8 CPUs under TCG, and
once under KVM in x2APIC mode with eim=on (skipped where KVM is not usable).

Devices: two edu (one MSI message each; the second behind a PCIe-to-PCI bridge, so its IRTE
checks the bridge's bus range, SVT=2), an e1000e (five MSI-X entries) and an nec-usb-xhci with
MSI-X off (16-message MSI). `-nic none` keeps QEMU's default NIC out, so the e1000e is the one
configured here.

The hypervisor's side (docs/report.md): `@irtable`, `@ioapic`, `@route` on every change,
`@irte` on every IRTE write, `@msitest` per (message, CPU) and per check (sid, retarget),
`@msiblock`, `@ioapictest`, `@done`.

QEMU's own trace is the oracle:
- `vtd_ir_remap_msi` (every message the unit remapped, before and after): each remappable
  message's IRTE index maps to the destination APIC and vector that the @route (or
  @ioapicpin) records of that index named, in the order the records were printed; messages
  arrive only for indexes that have a route; no compatibility-format message once interrupt
  remapping is on.
- `vtd_inv_desc_iec`: every IRTE write (@irte) is followed by an index-selective (or global)
  interrupt-entry-cache invalidation covering it: per index, no fewer invalidations than
  writes.
- QEMU's stderr names each blocked source-id check (once per cause).
- `e1000e_irq_msix_notify_postponed_vec`: QEMU 7.2's e1000e duplicates messages after one of
  its throttling postponements; an e1000e record with `excess=` is accepted only when the trace
  shows at least that many postponed sends.
"""
import os
import re

from courier import Skip, run, scenario

DEVICES = [
    "edu,addr=0x10",
    "pcie-pci-bridge,id=msibr,addr=0x12",
    "edu,bus=msibr,addr=0x3",
    "e1000e,addr=0x11",
    "nec-usb-xhci,msix=off,addr=0x13",
]
QEMU_ARGS = ["-nic", "none"]
TRACE = ["vtd_ir_remap_msi", "vtd_inv_desc_iec", "e1000e_irq_msix_notify_postponed_vec"]
E1000E_MSGS = 5
RETARGET_MOVES = 64
XHCI_MSGS = 16
RTC_GSI = 8

REMAP = re.compile(r"\(addr 0x([0-9a-f]+), data 0x([0-9a-f]+)\) -> "
                   r"\(addr 0x([0-9a-f]+), data 0x([0-9a-f]+)\)")
IEC = re.compile(r"granularity 0x([0-9a-f]+) index 0x([0-9a-f]+) mask 0x([0-9a-f]+)")




# ---- decoding -----------------------------------------------------------------------------

def remap_index(addr, data):
    """The IRTE a remappable-format message selects (VT-d 5.1.5.2), or None for compatibility
    format."""
    if not addr & (1 << 4):
        return None
    handle = (addr >> 5) & 0x7fff | ((addr >> 2) & 1) << 15
    return handle + (data & 0xffff) if addr & (1 << 3) else handle


def remap_events(r):
    """[(index or None, apic, vector)] of every remapped message, in QEMU's order."""
    out = []
    for e in r.trace_events("vtd_ir_remap_msi"):
        m = REMAP.search(e.text)
        assert m, f"unexpected vtd_ir_remap_msi format: {e.text}"
        a_in, d_in, a_out, d_out = (int(g, 16) for g in m.groups())
        out.append((remap_index(a_in, d_in), (a_out >> 12) & 0xff, d_out & 0xff))
    return out


def route_states(r):
    """{irte: [(apic, vector) or None]} from @route and @ioapicpin records, in order."""
    states = {}
    for rec in r.records():
        if rec.type == "route":
            state = None if rec["cpu"] == "-" else (rec.int("apic"), rec.int("vector"))
        elif rec.type == "ioapicpin":
            state = (rec.int("apic"), rec.int("vector"))
        else:
            continue
        states.setdefault(rec.int("irte"), []).append(state)
    return states


# ---- checks -------------------------------------------------------------------------------

def check_tables(r, eim):
    t = r.record("irtable")
    assert t.int("entries") == 256 and t.int("ire") == 1 and t.int("cfi") == 0, t.line()
    assert t.int("eim") == int(eim), f"{t.line()}: expected eim={int(eim)}"
    io = r.record("ioapic")
    assert io.int("remapped") == 1 and io.int("pins") == 24, io.line()
    assert io.int("irte") % 32 == 0, f"{io.line()}: I/O APIC block not aligned"


def functions(r):
    """bdfs of the edu and e1000e functions, from @pci."""
    edus = [p["bdf"] for p in r.records("pci") if p["id"] == "1234:11e8"]
    e1k = [p["bdf"] for p in r.records("pci") if p["id"] == "8086:10d3"]
    assert len(edus) == 2 and len(e1k) == 1, f"edu {edus}, e1000e {e1k}"
    return edus, e1k


def postponed_sends(r):
    return len(r.trace_events("e1000e_irq_msix_notify_postponed_vec"))


def check_matrix(r, smp):
    edus, e1k = functions(r)
    want = {(b, 0, c) for b in edus for c in range(smp)}
    want |= {(b, k, c) for b in e1k for k in range(E1000E_MSGS) for c in range(smp)}
    got, excess = set(), 0
    for t in r.records("msitest"):
        if "check" in t.fields:
            continue
        key = (t["dev"], t.int("msg"), t.int("cpu"))
        got.add(key)
        assert t.int("elsewhere") == 0, f"{t.line()}: arrived on another CPU"
        extra = t.int("excess")
        assert t.int("received") - extra == t.int("sent") == 3, f"{t.line()}: lost or extra"
        assert extra == 0 or t["dev"] in e1k, f"{t.line()}: excess on a non-e1000e"
        excess += extra
    assert not want - got, f"no @msitest for {sorted(want - got)[:4]}"
    # Extra e1000e messages must be QEMU's own postponed duplicates.
    assert excess <= postponed_sends(r), \
        f"{excess} e1000e messages more than raised, QEMU postponed only {postponed_sends(r)}"


def check_sid(r):
    sids = [t for t in r.records("msitest") if t.get("check") == "sid"]
    assert len(sids) == 2, f"{len(sids)} source-id checks, expected 2"
    for t in sids:
        assert t.int("received") == 0 and t.int("restored") == 1, t.line()
    assert {t.int("svt") for t in sids} == {1, 2}, "expected one SVT=1 and one SVT=2 check"
    assert "invalid IRTE SID" in r.stderr, "QEMU did not report the blocked SVT=1 message"
    assert "invalid SVT_BUS" in r.stderr, "QEMU did not report the blocked SVT=2 message"


def check_retarget(r):
    t = next(t for t in r.records("msitest") if t.get("check") == "retarget")
    # The handler may make one more move for the message already on its way at the end.
    assert t.int("moves") >= RETARGET_MOVES, t.line()
    assert t.int("lost") == 0 and t.int("dup") == 0 and t.int("elsewhere") == 0, t.line()
    assert t.int("sent") == t.int("received") >= RETARGET_MOVES, t.line()
    assert t.int("errors") == 0, t.line()


def check_block(r):
    b = r.record("msiblock")
    assert b.int("ok") == 1, b.line()
    assert b.int("messages") == b.int("block") == b.int("mme") == XHCI_MSGS, b.line()
    assert b.int("irte") % XHCI_MSGS == 0, f"{b.line()}: block not naturally aligned"
    assert remap_index(b.int("addr"), b.int("data")) == b.int("irte"), \
        f"{b.line()}: the address does not select the block with SHV"


def check_ioapic(r, smp):
    tests = r.records("ioapictest")
    assert {t.int("cpu") for t in tests} == set(range(smp)), "not every CPU took the RTC"
    for t in tests:
        assert t.int("ok") == 1 and t.int("received") > 0 and t.int("elsewhere") == 0, t.line()


def check_trace_routes(r):
    """Every remapped message went where the route of its IRTE said at that point."""
    states = route_states(r)
    pos = {i: 0 for i in states}
    enabled = False
    iec_seen = False
    for e in r.trace:
        if e.event == "vtd_inv_desc_iec":
            iec_seen = True
            continue
        if e.event != "vtd_ir_remap_msi":
            continue
        m = REMAP.search(e.text)
        a_in, d_in, a_out, d_out = (int(g, 16) for g in m.groups())
        index = remap_index(a_in, d_in)
        if index is None:
            assert not iec_seen, f"compatibility-format message after remapping was on: {e.text}"
            continue
        enabled = True
        dest = ((a_out >> 12) & 0xff, d_out & 0xff)
        assert index in states, f"message for IRTE {index}, which no route names: {e.text}"
        seq, k = states[index], pos[index]
        while k < len(seq) and seq[k] != dest:
            k += 1
        assert k < len(seq), f"IRTE {index}: message to APIC {dest[0]} vector {dest[1]:#x} " \
            f"matches no later route state of it {seq[pos[index]:pos[index] + 4]}"
        pos[index] = k
    assert enabled, "QEMU remapped no message"


def check_trace_iec(r):
    """Per IRTE index: at least as many IEC invalidations covering it as writes of it."""
    writes = {}
    for w in r.records("irte"):
        assert w["inv"] == "ok", f"{w.line()}: invalidation failed"
        for i in range(w.int("index"), w.int("index") + w.int("count")):
            writes[i] = writes.get(i, 0) + 1
    assert writes, "no @irte records"
    covered, glob = {}, 0
    for e in r.trace_events("vtd_inv_desc_iec"):
        m = IEC.search(e.text)
        assert m, f"unexpected vtd_inv_desc_iec format: {e.text}"
        g, index, mask = (int(x, 16) for x in m.groups())
        if g == 0:
            glob += 1
            continue
        assert index % (1 << mask) == 0, f"IEC index {index} not aligned to 2^{mask}"
        for i in range(index, index + (1 << mask)):
            covered[i] = covered.get(i, 0) + 1
    assert glob >= 1, "no global IEC invalidation after SIRTP"
    short = {i: (n, covered.get(i, 0)) for i, n in writes.items() if covered.get(i, 0) < n}
    assert not short, f"IRTE writes without an IEC invalidation (index: writes, invalidations) " \
        f"{dict(list(short.items())[:4])}"


def msi_scenario(smp, accel="tcg", eim=False):
    def fn():
        if eim and os.environ.get("COURIER_ACCEL") == "tcg":
            raise Skip("eim=on needs KVM (TCG has no x2APIC)")
        # log_moves=on: every retarget's @route, which the trace is compared with
        cmdline = "selftest=msi exit=idle log_moves=on" + (" apic=x2apic" if eim else "")
        args = QEMU_ARGS + (["-global", "intel-iommu.eim=on"] if eim else [])
        r = run(cmdline, smp=smp, accel=accel, devices=DEVICES, qemu_args=args, trace=TRACE)
        r.check_done(0)
        assert not r.grep(r"unexpected vector"), r.grep(r"unexpected vector")[0]
        if eim:
            assert all(c["mode"] == "x2apic" for c in r.records("cpu")), "not in x2APIC mode"
        check_tables(r, eim)
        check_matrix(r, smp)
        check_sid(r)
        check_retarget(r)
        check_block(r)
        check_ioapic(r, smp)
        check_trace_routes(r)
        check_trace_iec(r)
    return fn


for _smp in (1, 2, 4, 8):
    scenario(globals(), f"msi_smp{_smp}", msi_scenario(_smp), cost=1 + _smp // 4)
scenario(globals(), "msi_kvm_x2apic_eim", msi_scenario(4, accel="kvm", eim=True), cost=1)


def test_msi_ir_entries_bad():
    """ir_entries that is not a power of two: reported, and the default size is used."""
    r = run("ir_entries=300 exit=idle", devices=["edu"], qemu_args=QEMU_ARGS)
    assert r.grep(r"error: ir: ir_entries=300"), "no error naming ir_entries=300"
    assert r.record("irtable").int("entries") == 256
    r.check_done(1)


test_msi_ir_entries_bad.cost = 1
