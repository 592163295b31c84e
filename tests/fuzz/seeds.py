#!/usr/bin/env python3
"""Writes well-formed seed inputs for the fuzz harnesses that have no real ones in the tree.

usage: tests/fuzz/seeds.py OUTDIR

OUTDIR/acpi/*: one input per parser of tests/fuzz/acpi-fuzz.c (its first byte picks the parser:
0 MADT, 1 MCFG, 2 RSDP, 3 a table walk from an XSDT and an RSDT, 4 the RSDP scan of the BIOS
area); the walk carries a real DMAR table of tests/data/acpi/dmar.
OUTDIR/multiboot2/*: boot information as GRUB hands it over (tests/fuzz/multiboot2-fuzz.c).
OUTDIR/cmdline/*, OUTDIR/module-cmdline/*: the hypervisor's and the guest modules' command lines
as the QEMU tests pass them (tests/qemu/).
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


def main(argv):
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for harness, seeds in (("acpi", acpi_seeds()), ("multiboot2", multiboot2_seeds()),
                           ("cmdline", cmdline_seeds()),
                           ("module-cmdline", module_cmdline_seeds())):
        d = os.path.join(argv[0], harness)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
