"""PCI enumeration scenarios: the hypervisor's `@pci` records against QEMU's own view.

Each scenario boots one device mix. At the hypervisor's first record (firmware has numbered the
buses by then) the boot pauses QEMU and asks it over QMP for its list of functions (query-pci),
reads each function's configuration space through the monitor, and reads the properties of
the devices the scenario named; then the machine goes on. Every function QEMU has must appear
as exactly one `@pci` record (docs/report.md) with the same address, ids, class, requester id
and upstream bridge, with the MSI message and MSI-X vector counts its capabilities declare, and
with nothing else; its `pci` log line must name the BARs QEMU has, each with QEMU's type,
size and address; the boot must end with `@done status=0` and no `warning: pci` line.
"""
import re

from courier import pci_devices, run

# exit=<ms> rather than exit=idle: the run must last until the pause at its first record has
# taken effect, whatever the load on the host; 300 ms from boot costs about 0.2 s of idling.
CMDLINE = "exit=300"
# Configuration header offsets and bits (PCI 3.0 §6.1, §6.2.3, §6.7).
PCI_ID, PCI_COMMAND, PCI_CLASS_REV, PCI_CAP_PTR = 0x00, 0x04, 0x08, 0x34
PCI_STATUS_CAP_LIST = 1 << 20     # status register (the upper half of the dword at 0x04)
PCI_CAP_FIRST = 0x40              # capabilities live after the 64-byte header
CAP_MSI, CAP_MSIX = 0x05, 0x11    # capability ids (PCI 3.0 §6.8.1, §6.8.2)
CAP_EXP = 0x10                    # PCI Express capability (PCIe 3.0 §7.8)
EXP_SLOT_IMPLEMENTED = 1 << 8     # PCI Express Capabilities register (§7.8.2)
EXP_SLOT_CAP = 0x14               # Slot Capabilities register (§7.8.9)...
EXP_SLOT_POWER_CTRL = 1 << 1      # ...its Power Controller Present bit
ALL_ONES = 0xffffffff             # what a read of an absent function returns


# ---- what QEMU's device models declare -------------------------------------------------------

def _on(value):
    """An OnOffAuto property: these models take auto as on."""
    return value != "off"


# (MSI messages, MSI-X vectors) a model declares, from the QEMU 7.2 sources named, as a
# function of the properties listed (read from the device with qom-get). A scenario may name
# (id=) only devices of these models, so that each named device is checked against its model
# as well as against its configuration space.
MODELS = {
    # hw/misc/edu.c: an MSI capability for one message.
    "edu": ((), lambda: (1, 0)),
    # hw/net/e1000e.c: MSI for one message and E1000E_MSIX_VEC_NUM (5) MSI-X vectors.
    "e1000e": ((), lambda: (1, 5)),
    # hw/net/e1000.c: neither.
    "e1000": ((), lambda: (0, 0)),
    # hw/usb/hcd-xhci-pci.c: MSI and MSI-X each for the xHCI's 16 interrupters (XHCI_MAXINTRS;
    # 7.2 keeps 16 whatever the PCI device's 'intrs' property says).
    "nec-usb-xhci": (("msi", "msix"),
                     lambda msi, msix: (16 if _on(msi) else 0, 16 if _on(msix) else 0)),
    # hw/virtio/virtio-pci.c: MSI-X only, 'vectors' entries; virtio-net-pci defaults them to
    # 2 per queue pair + 2 (config and control queue): 4 for one pair.
    "virtio-net-pci": (("vectors",), lambda vectors: (0, vectors)),
    "virtio-blk-pci": (("vectors",), lambda vectors: (0, vectors)),
    # hw/nvme/ctrl.c: MSI-X with 'msix_qsize' entries (65: an admin and 64 I/O queues), less
    # the 'sriov_vi_flexible' ones an SR-IOV physical function sets aside for its VFs.
    "nvme": (("msix_qsize", "sriov_vi_flexible"), lambda qsize, flexible: (0, qsize - flexible)),
    # hw/pci-bridge/gen_pcie_root_port.c: one MSI-X vector.
    "pcie-root-port": ((), lambda: (0, 1)),
    # hw/pci-bridge/ioh3420.c: MSI for 2 messages.
    "ioh3420": ((), lambda: (2, 0)),
    # hw/pci-bridge/xio3130_upstream.c, xio3130_downstream.c: MSI for one message.
    "x3130-upstream": ((), lambda: (1, 0)),
    "xio3130-downstream": ((), lambda: (1, 0)),
    # hw/pci-bridge/pcie_pci_bridge.c: MSI for one message unless msi=off.
    "pcie-pci-bridge": (("msi",), lambda msi: (1 if _on(msi) else 0, 0)),
    # hw/pci-bridge/pci_bridge_dev.c: the SHPC's MSI, one message; none without the SHPC.
    "pci-bridge": (("msi", "shpc"), lambda msi, shpc: (1 if _on(msi) and shpc else 0, 0)),
    # hw/pci-bridge/pci_expander_bridge.c: a host bridge function without either.
    "pxb-pcie": ((), lambda: (0, 0)),
}


# ---- what QEMU says --------------------------------------------------------------------------

def hmp(qmp, command):
    return qmp.command("human-monitor-command", **{"command-line": command})


def _words(text):
    """The 32-bit words of the monitor's answer to `xp /Nwx` ('addr: w w w w' lines) or to
    `i /w` ('portl[port] = w'), in order."""
    return [int(w, 16) for line in text.splitlines() if line.strip()
            for w in re.split("[:=]", line, maxsplit=1)[1].split()]


class EcamConfig:
    """Configuration space through the chipset's ECAM window (q35): one monitor read of the
    256 bytes holding the capability list per function."""

    def __init__(self, qmp):
        self.qmp = qmp
        self.base = qmp.command("qom-get", path="/machine/q35", property="MCFG")
        assert 0 < self.base < 1 << 64, f"q35 ECAM base {self.base:#x}: PCIEXBAR not enabled"
        self.cache = {}

    def read32(self, bus, slot, fn, off):
        key = (bus, slot, fn)
        if key not in self.cache:
            addr = self.base + (bus << 20 | slot << 15 | fn << 12)
            self.cache[key] = _words(hmp(self.qmp, f"xp /64wx {addr:#x}"))
            assert len(self.cache[key]) == 64, f"xp at {addr:#x}: {self.cache[key]}"
        return self.cache[key][off // 4]


class PortConfig:
    """Configuration space through ports 0xcf8/0xcfc (machines without ECAM), restoring the
    address latch the paused guest may be using."""

    def __init__(self, qmp):
        self.qmp = qmp

    def read32(self, bus, slot, fn, off):
        (saved,) = _words(hmp(self.qmp, "i /w 0xcf8"))
        hmp(self.qmp, f"o /w 0xcf8 {1 << 31 | bus << 16 | slot << 11 | fn << 8 | off:#x}")
        (value,) = _words(hmp(self.qmp, "i /w 0xcfc"))
        hmp(self.qmp, f"o /w 0xcf8 {saved:#x}")
        return value


def config_facts(cfg, f):
    """What a function's configuration space says, from an independent walk of its capability
    list (PCI 3.0 §6.7): its ids and 24-bit class, the MSI messages and MSI-X vectors its
    capabilities declare, and whether it is a PCIe port whose slot has a power controller.
    Nothing but ids when the function does not answer (all ones)."""
    def rd(off):
        return cfg.read32(f["bus"], f["slot"], f["function"], off)

    facts = {"ids": rd(PCI_ID), "class": None, "msi": 0, "msix": 0, "powered_slot": False}
    if facts["ids"] == ALL_ONES:
        return facts
    facts["class"] = rd(PCI_CLASS_REV) >> 8
    ptr = rd(PCI_CAP_PTR) & 0xfc if rd(PCI_COMMAND) & PCI_STATUS_CAP_LIST else 0
    seen = set()
    while ptr >= PCI_CAP_FIRST and ptr not in seen:
        seen.add(ptr)
        cap = rd(ptr)
        ctrl = cap >> 16
        if cap & 0xff == CAP_MSI:
            facts["msi"] = 1 << (ctrl >> 1 & 7)       # Multiple Message Capable (§6.8.1.3)
        elif cap & 0xff == CAP_MSIX:
            facts["msix"] = (ctrl & 0x7ff) + 1        # Table Size, N-1 encoded (§6.8.2.3)
        elif cap & 0xff == CAP_EXP and ctrl & EXP_SLOT_IMPLEMENTED:
            facts["powered_slot"] = bool(rd(ptr + EXP_SLOT_CAP) & EXP_SLOT_POWER_CTRL)
        ptr = cap >> 8 & 0xfc
    return facts


def slot_off(functions, f):
    """Is f a lone function (its slot has no function 0) in a PCIe slot with a power
    controller? QEMU powers such a slot only when function 0 is in it, so its other functions
    answer no configuration request: no guest can find them."""
    parent = next((g for g in functions if g["bdf"] == f["parent"]), None)
    return bool(parent and parent["config"]["powered_slot"] and f["function"] and not any(
        (g["bus"], g["slot"], g["function"]) == (f["bus"], f["slot"], 0) for g in functions))


class QemuView:
    """QEMU's account of the PCI functions, taken while the machine is paused at the first
    record (an on_record callback for Boot)."""

    def __init__(self, machine=None):
        self.machine = machine
        self.functions = None
        self.paused_at = None
        self.error = None

    def __call__(self, boot, rec):
        if self.paused_at:
            return
        self.paused_at = rec.line()
        q = boot.qmp
        q.command("stop")
        try:
            self._take(q)
        except Exception as e:                    # raised after the boot, with its console
            self.error = e
        q.command("cont")

    def _take(self, q):
        functions = pci_devices(q.command("query-pci"))
        cfg = PortConfig(q) if self.machine == "pc" else EcamConfig(q)
        for f in functions:
            f["config"] = config_facts(cfg, f)
            f["model"], f["model_vectors"] = self._model(q, f["qdev_id"])
        for f in functions:
            f["reachable"] = f["config"]["ids"] != ALL_ONES
            assert f["reachable"] or slot_off(functions, f), \
                f"{f['bdf']} ({f['qdev_id'] or f['desc']}) does not answer configuration reads"
        self.functions = functions

    @staticmethod
    def _model(qmp, qdev_id):
        if not qdev_id:
            return None, None
        path = f"/machine/peripheral/{qdev_id}"
        model = qmp.command("qom-get", path=path, property="type")
        assert model in MODELS, f"device {qdev_id} is a {model}: add the model to MODELS"
        props, count = MODELS[model]
        return model, count(*(qmp.command("qom-get", path=path, property=p) for p in props))

    def by_id(self, qdev_id):
        found = [f for f in self.functions if f["qdev_id"] == qdev_id]
        assert len(found) == 1, f"query-pci lists {len(found)} functions with id {qdev_id}"
        return found[0]


# ---- the comparison --------------------------------------------------------------------------

_BDF = re.compile(r"([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\Z")


def parse_bdf(text):
    """(segment, bus, slot, function) of `SSSS:BB:DD.F`."""
    m = _BDF.match(text)
    assert m, f"malformed bdf {text!r}"
    return tuple(int(g, 16) for g in m.groups())


def qemu_bdf(bdf):
    """query-pci's 'bb:dd.f' as a record's bdf: QEMU's PCI buses are all in segment 0."""
    return None if bdf is None else "0000:" + bdf


def records_by_bdf(r):
    recs = {}
    for rec in r.records("pci"):
        parse_bdf(rec["bdf"])
        assert rec["bdf"] not in recs, f"two @pci records for {rec['bdf']}"
        recs[rec["bdf"]] = rec
    return recs


def check_function(f, rec):
    """One function: the record against query-pci, its configuration space and its model."""
    where = f"@pci bdf={rec['bdf']} ({f['desc'] or 'class %04x' % f['class']}"
    where += f", id {f['qdev_id']})" if f["qdev_id"] else ")"
    _, bus, slot, fn = parse_bdf(rec["bdf"])
    want_id = f"{f['vendor']:04x}:{f['device']:04x}"
    assert rec["id"] == want_id, f"{where}: id={rec['id']}, QEMU has {want_id}"
    cfg = f["config"]
    ids = f["device"] << 16 | f["vendor"]
    assert cfg["ids"] == ids, f"{where}: configuration space has ids {cfg['ids']:#010x}, " \
        f"query-pci {ids:#010x}"
    klass = int(rec["class"], 16)
    assert len(rec["class"]) == 6, f"{where}: class={rec['class']} is not 24 bits"
    assert klass >> 8 == f["class"], f"{where}: class={rec['class']}, QEMU has " \
        f"{f['class']:04x}xx"
    assert klass == cfg["class"], f"{where}: class={rec['class']}, configuration space " \
        f"has {cfg['class']:06x}"
    sid = bus << 8 | slot << 3 | fn
    assert rec.int("sid") == sid, f"{where}: sid={rec['sid']}, expected {sid:#06x}"
    want_bridge = qemu_bdf(f["parent"]) or "-"
    assert rec["bridge"] == want_bridge, f"{where}: bridge={rec['bridge']}, but QEMU puts it " \
        f"below {want_bridge}"
    got = (rec.int("msi"), rec.int("msix"))
    assert got == (cfg["msi"], cfg["msix"]), f"{where}: msi={got[0]} msix={got[1]}, its " \
        f"capabilities declare msi={cfg['msi']} msix={cfg['msix']}"
    if f["model_vectors"] is not None:
        assert got == f["model_vectors"], f"{where}: msi={got[0]} msix={got[1]}, but a " \
            f"{f['model']} declares msi={f['model_vectors'][0]} msix={f['model_vectors'][1]}"


_PCI_LINE = re.compile(r"\] pci ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) ")
_BAR = re.compile(r"bar([0-5])=(io|m32|m64)(p?):(0x[0-9a-f]+|0)/(\d+)([KMGTP]?)\Z")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
PCI_ROM_SLOT = 6                  # query-pci lists the expansion ROM as region 6


def logged_bars(r):
    """{bdf: {bar: (kind, prefetch, address, size)}} from the hypervisor's `pci` log lines
    (`bar<i>=<io|m32|m64>[p]:<address>/<size>` per implemented BAR)."""
    out = {}
    for line in r.lines:
        m = _PCI_LINE.search(line)
        if not m:
            continue
        bars = {}
        for word in line[m.end():].split():
            if not word.startswith("bar") or word.startswith("bar="):
                continue
            b = _BAR.match(word)
            assert b, f"malformed BAR {word!r} in: {line}"
            bars[int(b.group(1))] = (b.group(2), b.group(3) == "p", int(b.group(4), 0),
                                     int(b.group(5)) * _UNITS[b.group(6)])
        assert m.group(1) not in out, f"two pci log lines for {m.group(1)}"
        out[m.group(1)] = bars
    return out


def check_bars(f, bars):
    """A function's BARs as the hypervisor sized them against QEMU's regions: the same BARs,
    each of the same space, width, prefetchability and size, and at the address QEMU has it
    mapped at (a BAR QEMU has unmapped has no address to compare)."""
    where = f"{f['bdf']} ({f['qdev_id'] or f['desc']})"
    regions = {g["bar"]: g for g in f["raw"].get("regions", []) if g["bar"] != PCI_ROM_SLOT}
    assert set(bars) == set(regions), f"{where}: the hypervisor found BARs {sorted(bars)}, " \
        f"QEMU has {sorted(regions)}"
    for i, g in sorted(regions.items()):
        kind, prefetch, addr, size = bars[i]
        want_kind = "io" if g["type"] == "io" else "m64" if g.get("mem_type_64") else "m32"
        assert (kind, prefetch) == (want_kind, bool(g.get("prefetch"))), \
            f"{where}: BAR{i} is {kind}{'p' if prefetch else ''}, QEMU has {want_kind}" \
            f"{'p' if g.get('prefetch') else ''}"
        assert size == g["size"], f"{where}: BAR{i} size {size:#x}, QEMU has {g['size']:#x}"
        if 0 <= g["address"] < 1 << 64 and g["address"] != (1 << 64) - 1:
            assert addr == g["address"], f"{where}: BAR{i} at {addr:#x}, QEMU has it at " \
                f"{g['address']:#x}"


def check_pci(r, view):
    """Everything a well-formed topology must show: QEMU's functions, exactly, and no fuss."""
    if view.error:
        raise view.error
    r.check_done(0)
    assert view.functions is not None, "the boot never paused for QEMU's view (no record?)"
    warnings = r.grep(r"warning: pci")
    assert not warnings, f"{len(warnings)} PCI warning(s), first: {warnings[0]}"
    summary = r.grep(r"\] pci: \d+ functions")
    assert summary and summary[-1].endswith(" 0 with problems"), \
        f"PCI summary: {summary[-1] if summary else 'none'}"
    recs = records_by_bdf(r)
    want = {qemu_bdf(f["bdf"]): f for f in view.functions if f["reachable"]}
    missing = sorted(set(want) - set(recs))
    extra = sorted(set(recs) - set(want))
    assert not missing, f"no @pci record for {len(missing)} function(s) QEMU has: " + \
        ", ".join(f"{b} ({want[b]['desc'] or want[b]['qdev_id']})" for b in missing[:6])
    assert not extra, f"@pci records for {len(extra)} function(s) QEMU does not have: " + \
        ", ".join(extra[:6])
    bars = logged_bars(r)
    for bdf, f in sorted(want.items()):
        check_function(f, recs[bdf])
        assert bdf in bars, f"no pci log line for {bdf}"
        check_bars(f, bars[bdf])


def check_placement(view, placement):
    """The scenario built what it meant to: {id: (parent id or None, slot, function)}."""
    for qdev_id, (parent, slot, fn) in placement.items():
        f = view.by_id(qdev_id)
        want_parent = view.by_id(parent)["bdf"] if parent else None
        assert f["parent"] == want_parent, f"QEMU put {qdev_id} below {f['parent']}, the " \
            f"scenario meant {parent} ({want_parent})"
        assert (f["slot"], f["function"]) == (slot, fn), f"QEMU put {qdev_id} at " \
            f"{f['bdf']}, the scenario meant slot {slot:#x} function {fn}"


def pci_boot(devices, *, placement=None, qemu_args=(), machine=None, efi=False, smp=1):
    """Boot with these -device strings, compare, and return (Result, QemuView)."""
    view = QemuView(machine)
    r = run(CMDLINE, smp=smp, devices=devices, qemu_args=list(qemu_args), qmp=True,
            on_record=view, machine=machine, efi=efi)
    check_pci(r, view)
    check_placement(view, placement or {})
    return r, view


def nvme(qdev_id, serial, extra=""):
    """An nvme device and the empty drive it needs (-device, -drive pair)."""
    dev = f"nvme,id={qdev_id},drive={qdev_id}-drive,serial={serial}" + extra
    return dev, ["-drive", f"if=none,id={qdev_id}-drive,driver=null-co"]


# ---- scenarios -------------------------------------------------------------------------------

def test_root_mix():
    """Many models on the root bus, at default and chosen slots and functions."""
    nv_dev, nv_drive = nvme("nvme0", "courier0", ",addr=0x8.1")
    nv2_dev, nv2_drive = nvme("nvme2", "courier2", ",msix_qsize=7")
    devices = [
        "edu,id=edu0",
        "edu,id=edu1,addr=0x10",
        "edu,id=edu2,addr=0x7.0,multifunction=on",
        "edu,id=edu3,addr=0x7.2",
        "edu,id=edu4,addr=0x7.7",
        "nec-usb-xhci,id=xhci0,msix=off",
        "nec-usb-xhci,id=xhci1",
        "nec-usb-xhci,id=xhci2,msi=off",
        "e1000e,id=nic0,addr=0x1e",
        "virtio-net-pci,id=vnet0,addr=0x8.0,multifunction=on",
        "virtio-net-pci,id=vnet1,vectors=9",
        nv_dev,
        nv2_dev,
    ]
    _, view = pci_boot(devices, qemu_args=nv_drive + nv2_drive, smp=2, placement={
        "edu1": (None, 0x10, 0), "edu2": (None, 7, 0), "edu3": (None, 7, 2),
        "edu4": (None, 7, 7), "nic0": (None, 0x1e, 0), "vnet0": (None, 8, 0),
        "nvme0": (None, 8, 1)})
    # The counts the properties chose, so that the model table above is not the only source.
    counts = {i: (view.by_id(i)["config"]["msi"], view.by_id(i)["config"]["msix"])
              for i in ("xhci0", "xhci1", "xhci2", "vnet1", "nvme2")}
    assert counts == {"xhci0": (16, 0), "xhci1": (16, 16), "xhci2": (0, 16), "vnet1": (0, 9),
                      "nvme2": (0, 7)}, f"(msi, msix) of the tuned devices: {counts}"


test_root_mix.cost = 3


# Root ports (one pair sharing a slot), a switch with an empty downstream port, a PCIe-to-PCI
# bridge with PCI-to-PCI bridges nested below it, and a PCI-to-PCI bridge on the root bus.
BRIDGED = [
    "pcie-root-port,id=rp1,chassis=1,slot=1",
    "e1000e,id=nic1,bus=rp1",
    "pcie-root-port,id=rp2,chassis=1,slot=2",
    "x3130-upstream,id=up1,bus=rp2",
    "xio3130-downstream,id=dn1,bus=up1,addr=0,chassis=2,slot=1",
    "xio3130-downstream,id=dn2,bus=up1,addr=1,chassis=2,slot=2",
    "xio3130-downstream,id=dn3,bus=up1,addr=4,chassis=2,slot=3",
    "virtio-net-pci,id=vnet1,bus=dn2",
    "ioh3420,id=rp3,chassis=1,slot=3",
    "pcie-pci-bridge,id=pb1,bus=rp3",
    "pci-bridge,id=br1,bus=pb1,addr=2,chassis_nr=3",
    "edu,id=edu1,bus=br1,addr=3",
    "edu,id=edu2,bus=br1,addr=0x1f.0,multifunction=on",
    "edu,id=edu3,bus=br1,addr=0x1f.7",
    "pci-bridge,id=br2,bus=br1,addr=5,chassis_nr=4",
    "edu,id=edu4,bus=br2,addr=1",
    "pcie-root-port,id=rp4,chassis=1,slot=4,addr=0x9.0,multifunction=on",
    # An SR-IOV physical function, so with an ARI capability (its virtual functions stay off).
    "nvme-subsys,id=subsys1",
    "nvme,id=nvme3,bus=rp4,serial=courier3,subsys=subsys1,sriov_max_vfs=2,"
    "sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=6,msix_qsize=5",
    "pcie-root-port,id=rp5,chassis=1,slot=5,addr=0x9.1",
    "edu,id=edu5,bus=rp5",
    "pci-bridge,id=br3,bus=pcie.0,addr=0x12,chassis_nr=5",
    "edu,id=edu6,bus=br3,addr=0x1e",
]
BRIDGED_PLACEMENT = {
    "nic1": ("rp1", 0, 0), "up1": ("rp2", 0, 0), "dn1": ("up1", 0, 0), "dn2": ("up1", 1, 0),
    "dn3": ("up1", 4, 0), "vnet1": ("dn2", 0, 0), "pb1": ("rp3", 0, 0), "br1": ("pb1", 2, 0),
    "edu1": ("br1", 3, 0), "edu2": ("br1", 0x1f, 0), "edu3": ("br1", 0x1f, 7),
    "br2": ("br1", 5, 0), "edu4": ("br2", 1, 0), "rp4": (None, 9, 0), "nvme3": ("rp4", 0, 0),
    "rp5": (None, 9, 1),
    "edu5": ("rp5", 0, 0), "br3": (None, 0x12, 0), "edu6": ("br3", 0x1e, 0),
}


def test_bridges():
    """bridge= names the bridge each function sits below, through every kind of bridge."""
    nv_dev, nv_drive = nvme("nvme1", "courier1", ",bus=dn1")
    pci_boot(BRIDGED + [nv_dev], qemu_args=nv_drive,
             placement=dict(BRIDGED_PLACEMENT, nvme1=("dn1", 0, 0)))


def test_lone_functions():
    """Functions whose slot has no function 0 (QEMU's addr=D.F allows them): QEMU lists them,
    so must the hypervisor; on the root bus, below a PCI bridge and below a root port."""
    devices = [
        "edu,id=lone1,addr=0x9.3",
        "edu,id=lone2,addr=0xa.1",
        "edu,id=lone3,addr=0xa.6",
        "pcie-pci-bridge,id=pb1,addr=0xb",
        "edu,id=lone4,bus=pb1,addr=0x4.5",
        "pcie-root-port,id=rp1,chassis=1,slot=1,addr=0xc,power_controller_present=off",
        "edu,id=lone5,bus=rp1,addr=0x0.7",
        "pcie-root-port,id=rp2,chassis=1,slot=2,addr=0xd",
        "edu,id=dark1,bus=rp2,addr=0x0.2",
    ]
    _, view = pci_boot(devices, placement={
        "lone1": (None, 9, 3), "lone2": (None, 0xa, 1), "lone3": (None, 0xa, 6),
        "lone4": ("pb1", 4, 5), "lone5": ("rp1", 0, 7), "dark1": ("rp2", 0, 2)})
    assert view.by_id("lone5")["reachable"], "rp1 has no power controller, yet lone5 is off"
    assert not view.by_id("dark1")["reachable"], "rp2's slot without function 0 is powered"


def test_expander():
    """A pxb-pcie expander starts a second root bus (0x80), with root ports and a PCIe-to-PCI
    bridge on it; the hypervisor finds that bus under no bridge and walks it as a root."""
    devices = [
        "pxb-pcie,id=pxb1,bus_nr=0x80,addr=4",
        "pcie-root-port,id=rp1,bus=pxb1,chassis=1,slot=1,addr=0",
        "e1000e,id=nic1,bus=rp1",
        "pcie-root-port,id=rp2,bus=pxb1,chassis=1,slot=2,addr=1",
        "edu,id=edu1,bus=rp2",
        "pcie-pci-bridge,id=pb1,bus=pxb1,addr=3",
        "edu,id=edu2,bus=pb1,addr=6",
        "pcie-root-port,id=rp3,bus=pcie.0,chassis=1,slot=3,addr=5",
        "edu,id=edu3,bus=rp3",
    ]
    _, view = pci_boot(devices, placement={
        "pxb1": (None, 4, 0), "rp1": (None, 0, 0), "nic1": ("rp1", 0, 0),
        "edu1": ("rp2", 0, 0), "pb1": (None, 3, 0), "edu2": ("pb1", 6, 0), "rp3": (None, 5, 0),
        "edu3": ("rp3", 0, 0)})
    buses = {i: view.by_id(i)["bus"] for i in ("pxb1", "rp1", "pb1", "rp3")}
    assert buses == {"pxb1": 0, "rp1": 0x80, "pb1": 0x80, "rp3": 0}, \
        f"root buses of the expander's and pcie.0's functions: {buses}"


def test_i440fx():
    """The pc machine (i440fx, PIIX): no MCFG, so configuration space through ports 0xcf8/0xcfc,
    and no IOMMU."""
    devices = [
        "edu,id=edu1",
        "edu,id=edu2,addr=0x6.0,multifunction=on",
        "edu,id=edu3,addr=0x6.4",
        "e1000,id=nic1",
        "virtio-net-pci,id=vnet1",
        "nec-usb-xhci,id=xhci1",
        "pci-bridge,id=br1,chassis_nr=1,addr=0x10",
        "edu,id=edu4,bus=br1,addr=0x2",
        "pci-bridge,id=br2,bus=br1,chassis_nr=2,addr=0x3,shpc=off",
        "edu,id=edu5,bus=br2,addr=0x1f",
    ]
    r, _ = pci_boot(devices, machine="pc", placement={
        "edu2": (None, 6, 0), "edu3": (None, 6, 4), "br1": (None, 0x10, 0),
        "edu4": ("br1", 2, 0), "br2": ("br1", 3, 0), "edu5": ("br2", 0x1f, 0)})
    assert r.grep(r"pci: no ECAM"), "the pc machine has no MCFG, yet PCI did not use port I/O"


def test_efi_bridges():
    """The bridged mix under OVMF: another firmware's bus numbers and resources, and ARI
    forwarding, which OVMF turns on below rp4 for the SR-IOV nvme (SeaBIOS does not)."""
    nv_dev, nv_drive = nvme("nvme1", "courier1", ",bus=dn1")
    pci_boot(BRIDGED + [nv_dev], qemu_args=nv_drive, efi=True,
             placement=dict(BRIDGED_PLACEMENT, nvme1=("dn1", 0, 0)))


test_efi_bridges.cost = 10


def test_port_nonzero_slot():
    """QEMU 7.2 takes devices at nonzero slots below a PCIe root port and forwards
    configuration requests to them (PCIe 3.0 §7.3.1 has only device 0 on a port's link):
    QEMU lists such a device, so must the hypervisor."""
    devices = [
        "pcie-root-port,id=rp1,chassis=1,slot=1",
        "edu,id=edu1,bus=rp1,addr=0",
        "edu,id=edu2,bus=rp1,addr=3",
    ]
    pci_boot(devices, placement={"edu1": ("rp1", 0, 0), "edu2": ("rp1", 3, 0)})
