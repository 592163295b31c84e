#!/usr/bin/env python3
"""Writes well-formed seed inputs for the fuzz harnesses that have no real ones in the tree.

usage: tests/fuzz/seeds.py OUTDIR

OUTDIR/acpi/*: one input per parser of tests/fuzz/acpi-fuzz.c (its first byte picks the parser:
0 MADT, 1 MCFG, 2 RSDP, 3 a table walk from an XSDT and an RSDT, 4 the RSDP scan of the BIOS
area); the walk carries a real DMAR table of tests/data/acpi/dmar.
OUTDIR/multiboot2/*: boot information as GRUB hands it over (tests/fuzz/multiboot2-fuzz.c).
OUTDIR/cmdline/*, OUTDIR/module-cmdline/*: the hypervisor's and the guest modules' command lines
as the QEMU tests pass them (tests/qemu/).
OUTDIR/pci-caps/*: small machines in the layout of tests/fuzz/pci-space.h: a Q35-like root bus
with a NIC, the edu and a root port, a PCIe switch with an SR-IOV device, a PCIe-to-PCI bridge.
OUTDIR/dmar-topology/*: each real DMAR table of tests/data/acpi/dmar over the first of them.
Mutating valid inputs reaches deeper than random bytes, which the checksums and lengths stop.
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def checksummed(data, at):
    """data with byte `at` set so that all of data sums to 0 modulo 256."""
    data = bytearray(data)
    data[at] = 0
    data[at] = -sum(data) & 0xff
    return bytes(data)


def sdt(sig, body, revision=1):
    """An ACPI table: the 36-byte header (ACPI 6.5, 5.2.6) and body, checksum right."""
    hdr = struct.pack("<4sIBB6s8sI4sI", sig, 36 + len(body), revision, 0, b"COURIE",
                      b"SEEDTBL ", 1, b"CRSD", 1)
    return checksummed(hdr + body, 9)


def rsdp(rsdt_pa, xsdt_pa):
    """An ACPI 2.0 RSDP (5.2.5.3) with both checksums right."""
    v1 = checksummed(struct.pack("<8sB6sBI", b"RSD PTR ", 0, b"COURIE", 2, rsdt_pa), 8)
    v2 = v1 + struct.pack("<IQB3s", 36, xsdt_pa, 0, b"\0\0\0")
    return checksummed(v2, 32)


def madt():
    """Four CPUs (one x2APIC), an I/O APIC, an override of IRQ 0 and the LINT1 NMI."""
    entries = b"".join(struct.pack("<BBBBI", 0, 8, i, i, 1) for i in range(3))
    entries += struct.pack("<BBHIII", 9, 16, 0, 3, 1, 3)            # x2APIC 3
    entries += struct.pack("<BBBBII", 1, 12, 0, 0, 0xfec00000, 0)   # I/O APIC 0
    entries += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)            # ISA IRQ 0 -> GSI 2
    entries += struct.pack("<BBBHB", 4, 6, 0xff, 5, 1)              # LINT1 NMI, all CPUs
    return sdt(b"APIC", struct.pack("<II", 0xfee00000, 1) + entries, 5)


def mcfg():
    """ECAM for segment 0, buses 0-255, and segment 1, buses 0-15."""
    body = bytes(8) + struct.pack("<QHBBI", 0xb0000000, 0, 0, 255, 0)
    body += struct.pack("<QHBBI", 0xe0000000, 1, 0, 15, 0)
    return sdt(b"MCFG", body)


def acpi_seeds():
    with open(os.path.join(ROOT, "tests", "data", "acpi", "dmar",
                           "framework-laptop-13-dmar.bin"), "rb") as f:
        dmar = f.read()
    # Physical memory from 0: 8 bytes whose first four give the XSDT and RSDT addresses
    # (acpi-fuzz.c), then the XSDT, the RSDT and the tables they point at.
    tables = [madt(), mcfg(), dmar]
    xsdt_pa, rsdt_pa, first = 64, 256, 512
    pas, off = [], first
    for t in tables:
        pas.append(off)
        off += (len(t) + 15) & ~15
    xsdt = sdt(b"XSDT", b"".join(struct.pack("<Q", pa) for pa in pas))
    rsdt = sdt(b"RSDT", b"".join(struct.pack("<I", pa) for pa in pas))
    mem = bytearray(off)
    mem[0:4] = struct.pack("<HH", xsdt_pa, rsdt_pa)
    mem[xsdt_pa:xsdt_pa + len(xsdt)] = xsdt
    mem[rsdt_pa:rsdt_pa + len(rsdt)] = rsdt
    for pa, t in zip(pas, tables):
        mem[pa:pa + len(t)] = t
    # The BIOS area from 0xE0000, whole (the scan maps all 128 KiB): an RSDP on a 16-byte
    # boundary.
    rom = bytearray(0x20000)
    rom[0x230:0x230 + 36] = rsdp(rsdt_pa, xsdt_pa)
    return {"madt": b"\0" + madt(), "mcfg": b"\1" + mcfg(), "rsdp": b"\2" + rsdp(0x1000, 0x2000),
            "walk": b"\3" + bytes(mem), "scan": b"\4" + bytes(rom)}


def mb2_tag(kind, body):
    """A multiboot2 information tag, padded to 8 bytes."""
    tag = struct.pack("<II", kind, 8 + len(body)) + body
    return tag + bytes(-len(tag) % 8)


def mb2_info(tags):
    body = b"".join(tags) + mb2_tag(0, b"")                         # the end tag
    return struct.pack("<II", 8 + len(body), 0) + body


def multiboot2_seeds():
    mmap = struct.pack("<II", 24, 0) + b"".join(
        struct.pack("<QQII", base, length, kind, 0)
        for base, length, kind in ((0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
                                   (0x100000, 0x7ee0000, 1), (0xfec00000, 0x1000, 2)))
    common = [mb2_tag(1, b"selftest=smp exit=idle\0"), mb2_tag(2, b"GRUB 2.06\0"),
              mb2_tag(4, struct.pack("<II", 639, 130048)), mb2_tag(6, mmap)]
    modules = [mb2_tag(3, struct.pack("<II", 0x1000000 + i * 0x100000,
                                      0x1000000 + i * 0x100000 + 0x5000) + name)
               for i, name in enumerate((b"name=a role=ping peer=b\0", b"name=b role=pong\0"))]
    return {"bios": mb2_info(common + modules + [mb2_tag(14, rsdp(0x7fe0000, 0)[:20]),
                                                 mb2_tag(21, struct.pack("<I", 0x200000))]),
            "efi": mb2_info(common + [mb2_tag(12, struct.pack("<Q", 0x7f9e018)),
                                      mb2_tag(15, rsdp(0x7fe0000, 0x7fe00e8)), mb2_tag(18, b"")])}


def cmdline_seeds():
    lines = ["selftest=smp,dma,msi exit=idle tick_hz=1000 log=debug ir_entries=512 move_ms=5",
             "selftest=smp exit=idle", "/boot/courier.elf maxcpus=2 selftest=smp exit=idle",
             "foo=1 tick_hz=abc selftest=smp exit=idle", "log=err selftest=smp exit=idle",
             "selftest=dma iommu_fault_cpu=1 iommu_qi=off exit=idle", "ir_entries=300 exit=idle",
             "tick_hz=100 exit=400", "fault=gp exit=idle", "apic=x2apic exit=1000",
             "exit=idle move_ms=3", "iommu_qi maxcpus=0x40\tlog=warn exit=never\n"]
    return {f"line{i}": l.encode() for i, l in enumerate(lines)}


def module_cmdline_seeds():
    lines = ["name=h0 cpu=0", "name=lt cpu=1 rounds=1000",
             "name=ping cpu=0 role=ping peer=pong rounds=1000",
             "name=edu cpu=1 dev=00:10.0 msi_rounds=2",
             "name=edu cpu=1 dev=0000:00:10.0 msi_rounds=2 bad_dma=0x7fe000 bad_dma_dir=write",
             "name=edumove cpu=0 dev=00:10.0 msi_rounds=5 timeout_ms=5000 hop",
             "name=hostile cpu=0 seed=1 count=1000", "name=bad.name", "name=" + "m" * 32,
             "name=cpux cpu=x1", "name=mem0 mem=0", "name=mem1025 mem=1025",
             "name=junkdev dev=zz", "name=big cpu=3 mem=0x40 privileged dev=00:10.0,0001:02:1f.7"]
    return {f"line{i}": l.encode() for i, l in enumerate(lines)}


class PciFn:
    """A function's configuration space (PCI LB 3.0 ch. 6, PCIe Base 3.0 ch. 7) for
    tests/fuzz/pci-space.h: the header, the capability lists and the BARs' writable bits."""

    def __init__(self, bus, dev, fn, vendor, device, cls, hdr=0, ext=False):
        self.bus, self.devfn, self.ext = bus, dev << 3 | fn, ext
        self.cfg = bytearray(0x1000 if ext else 0x100)
        self.masks = bytearray(24)
        struct.pack_into("<HHHHI", self.cfg, 0, vendor, device, 0x0007, 0x0010, cls << 8 | 1)
        self.cfg[0x0e] = hdr
        self.last_cap, self.last_ext = 0x34, None

    def bar(self, i, addr, size, io=False, is64=False, pref=False):
        kind = 1 if io else (4 if is64 else 0) | (8 if pref else 0)
        mask = ~(size - 1) & ~(3 if io else 0xf)
        struct.pack_into("<I", self.cfg, 0x10 + 4 * i, (addr & 0xffffffff) | kind)
        struct.pack_into("<I", self.masks, 4 * i, mask & 0xffffffff)
        if is64:
            struct.pack_into("<I", self.cfg, 0x14 + 4 * i, addr >> 32)
            struct.pack_into("<I", self.masks, 4 + 4 * i, (mask >> 32) & 0xffffffff)
        return self

    def bridge(self, pri, sec, sub):
        self.cfg[0x18:0x1b] = bytes((pri, sec, sub))
        return self

    def cap(self, off, cap_id, body):
        self.cfg[self.last_cap + (1 if self.last_cap != 0x34 else 0)] = off
        self.cfg[off:off + 2 + len(body)] = bytes((cap_id, 0)) + body
        self.last_cap = off
        return self

    def ext_cap(self, off, cap_id, body):
        if self.last_ext is not None:
            struct.pack_into("<I", self.cfg, self.last_ext,
                             struct.unpack_from("<I", self.cfg, self.last_ext)[0] | off << 20)
        struct.pack_into("<I", self.cfg, off, cap_id | 1 << 16)
        self.cfg[off + 4:off + 4 + len(body)] = body
        self.last_ext = off
        return self

    def pm(self, off):
        return self.cap(off, 0x01, struct.pack("<HH", 3, 0))

    def msi(self, off, mmc, is64=True, mask=True):
        return self.cap(off, 0x05, struct.pack("<H", mmc << 1 | (0x80 if is64 else 0) |
                                                (0x100 if mask else 0)) + bytes(20))

    def msix(self, off, entries, tbir, toff, pbir, poff):
        return self.cap(off, 0x11, struct.pack("<HII", entries - 1, toff | tbir, poff | pbir))

    def exp(self, off, port_type, devctl2=0):
        body = struct.pack("<H", 2 | port_type << 4) + bytes(0x22)
        body += struct.pack("<II", 1 << 5, devctl2) + bytes(0x10)
        return self.cap(off, 0x10, body)

    def record(self):
        cfg = bytes(self.cfg).rstrip(b"\0")
        return struct.pack("<BBBH", self.bus, self.devfn, (1 if self.ext else 0) | 2,
                           len(cfg)) + cfg + bytes(self.masks)


def pci_machine(fns, bus_end=0x1f):
    return bytes((0, bus_end)) + b"".join(f.record() for f in fns)


def pci_q35():
    """Host bridge, an e1000e-like NIC, the edu, a root port with an NVMe-like device behind,
    and the ICH9's multi-function LPC/SATA/SMBus."""
    nic = (PciFn(0, 2, 0, 0x8086, 0x10d3, 0x020000, ext=True)
           .bar(0, 0xfeb80000, 0x20000).bar(2, 0xc000, 0x20, io=True).bar(3, 0xfeba0000, 0x4000)
           .pm(0xc8).msi(0xd0, 0, is64=True, mask=False).exp(0xe0, 0)
           .msix(0xa0, 5, 3, 0, 3, 0x2000).ext_cap(0x100, 0x0001, bytes(0x38))
           .ext_cap(0x140, 0x0003, bytes(8)))
    edu = (PciFn(0, 0x10, 0, 0x1234, 0x11e8, 0x00ff00).bar(0, 0xfea00000, 0x100000)
           .msi(0x40, 0, is64=True, mask=False))
    port = (PciFn(0, 3, 0, 0x1b36, 0x000c, 0x060400, hdr=0x01, ext=True).bridge(0, 1, 1)
            .bar(0, 0xfeb91000, 0x1000).exp(0x40, 4, devctl2=1 << 5).msix(0x80, 1, 0, 0, 0, 0x800)
            .ext_cap(0x100, 0x000d, struct.pack("<HH", 0x5f, 0x1f)))
    nvme = (PciFn(1, 0, 0, 0x1b36, 0x0010, 0x010802, ext=True)
            .bar(0, 0xfe800000, 0x4000, is64=True).exp(0x40, 0).msix(0x80, 65, 0, 0x2000, 0, 0x3000)
            .ext_cap(0x100, 0x000e, struct.pack("<HH", 0, 0))
            .ext_cap(0x108, 0x000f, struct.pack("<HH", 0, 0)))
    lpc = PciFn(0, 0x1f, 0, 0x8086, 0x2918, 0x060100, hdr=0x80)
    sata = (PciFn(0, 0x1f, 2, 0x8086, 0x2922, 0x010601).bar(4, 0xc080, 0x20, io=True)
            .bar(5, 0xfebd5000, 0x1000).msi(0x80, 0, is64=True, mask=False)
            .cap(0xa8, 0x12, bytes(6)))
    smbus = PciFn(0, 0x1f, 3, 0x8086, 0x2930, 0x0c0500).bar(4, 0x0700, 0x40, io=True)
    return pci_machine([PciFn(0, 0, 0, 0x8086, 0x29c0, 0x060000), nic, edu, port, nvme, lpc,
                        sata, smbus])


def pci_switch():
    """A root port, a switch (upstream port, two downstream ports), an SR-IOV NIC with ARI."""
    root = (PciFn(0, 1, 0, 0x8086, 0x1901, 0x060400, hdr=0x01, ext=True).bridge(0, 1, 4)
            .exp(0x40, 4, devctl2=1 << 5).msi(0x80, 0, is64=False))
    up = PciFn(1, 0, 0, 0x10b5, 0x8725, 0x060400, hdr=0x01, ext=True).bridge(1, 2, 4).exp(0x40, 5)
    down = [PciFn(2, d, 0, 0x10b5, 0x8725, 0x060400, hdr=0x01, ext=True)
            .bridge(2, 3 + d, 3 + d).exp(0x40, 6, devctl2=1 << 5).msi(0x80, 1, mask=True)
            for d in (0, 1)]
    vf_body = struct.pack("<IHHHHHHHHH", 0, 0, 64, 64, 0, 0, 0x80, 2, 0, 0x1515)
    nic = (PciFn(3, 0, 0, 0x8086, 0x1528, 0x020000, hdr=0x80, ext=True)
           .bar(0, 0x3800000000, 0x200000, is64=True, pref=True).bar(4, 0x3800400000, 0x4000,
                                                                    is64=True, pref=True)
           .pm(0x40).msi(0x50, 0).msix(0x70, 64, 4, 0, 4, 0x2000).exp(0xa0, 0)
           .ext_cap(0x100, 0x0001, bytes(0x38)).ext_cap(0x150, 0x000e, struct.pack("<HH", 1 << 8, 0))
           .ext_cap(0x160, 0x0010, vf_body))
    nic1 = (PciFn(3, 0, 1, 0x8086, 0x1528, 0x020000, hdr=0x80, ext=True)
            .bar(0, 0x3800200000, 0x200000, is64=True, pref=True).exp(0xa0, 0)
            .ext_cap(0x100, 0x000e, struct.pack("<HH", 0, 0)))
    return pci_machine([PciFn(0, 0, 0, 0x8086, 0x191f, 0x060000), root, up] + down + [nic, nic1])


def pci_legacy():
    """A PCIe-to-PCI bridge with conventional devices behind it, and a CardBus bridge."""
    port = (PciFn(0, 0x1c, 0, 0x8086, 0x2940, 0x060400, hdr=0x81, ext=True).bridge(0, 1, 2)
            .exp(0x40, 4))
    p2p = (PciFn(1, 0, 0, 0x1b36, 0x000e, 0x060400, hdr=0x01, ext=True).bridge(1, 2, 2)
           .exp(0x40, 7).cap(0x80, 0x0d, struct.pack("<HHH", 0, 0x1af4, 0x1100)))
    old = (PciFn(2, 5, 0, 0x10ec, 0x8139, 0x020000).bar(0, 0xc100, 0x100, io=True)
           .bar(1, 0xfe900000, 0x100).pm(0x50))
    cb = PciFn(0, 0x1d, 0, 0x104c, 0xac56, 0x060700, hdr=0x02)
    cb.cfg[0x14] = 0x80
    cb.cfg[0x80:0x82] = bytes((0x01, 0))
    return pci_machine([PciFn(0, 0, 0, 0x8086, 0x29c0, 0x060000), port, p2p, old, cb], 0x0f)


def pci_seeds():
    return {"q35": pci_q35(), "switch": pci_switch(), "legacy": pci_legacy()}


def dmar_topology_seeds():
    d = os.path.join(ROOT, "tests", "data", "acpi", "dmar")
    seeds = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".bin"):
            with open(os.path.join(d, name), "rb") as f:
                dmar = f.read()
            seeds[name[:-4]] = struct.pack("<H", len(dmar)) + dmar + pci_q35()
    return seeds


def main(argv):
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for harness, seeds in (("acpi", acpi_seeds()), ("multiboot2", multiboot2_seeds()),
                           ("cmdline", cmdline_seeds()),
                           ("module-cmdline", module_cmdline_seeds()),
                           ("pci-caps", pci_seeds()),
                           ("dmar-topology", dmar_topology_seeds())):
        d = os.path.join(argv[0], harness)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
