"""The DMAR table's flags as QEMU's intel-iommu reports them (VT-d spec 8.1).

With `intremap=off` QEMU's DMAR has INTR_REMAP clear (and its unit ECAP.IR = 0): the boot must
say that the platform does not support interrupt remapping, leave it off, still confine DMA,
and refuse a guest's device messages (HC_DEV_MSG_ALLOC answers ENOSYS). X2APIC_OPT_OUT, which
QEMU never sets, comes from a DMAR of our own given with -acpitable on q35 without the
intel-iommu (test_bad_input.py says how QEMU adds such tables).
"""
import struct

from test_bad_input import acpi_boot, acpi_table
from test_boot import check_cpus
from test_guests import EDU_BDF, EDU_DEV, boot, check_exited, edu_tests, elf, texts


def test_intr_remap_clear():
    mods = [(elf("edu"), f"name=edu cpu=1 dev={EDU_BDF} msi_rounds=1 timeout_ms=500"),
            (elf("hello"), "name=bystander cpu=0")]
    r = boot("exit=idle", smp=2, modules=mods, devices=[EDU_DEV],
             iommu="intel-iommu,intremap=off")
    assert r.grep(r"warning: iommu: the DMAR's INTR_REMAP flag is clear"), \
        "no warning that the DMAR's INTR_REMAP flag is clear"
    assert r.grep(r"warning: ir: interrupt remapping is off \(the DMAR's INTR_REMAP flag is "
                  r"clear\)"), "no warning that interrupt remapping stays off"
    assert not r.records("irtable"), f"an IR table was set up: {r.records('irtable')}"
    refused = [t for t in texts(r, "edu") if "what=dev_msg_alloc" in t]
    assert refused and "error=ENOSYS" in refused[0], \
        f"HC_DEV_MSG_ALLOC was not refused with ENOSYS: {texts(r, 'edu')}"
    tests = edu_tests(r, "edu")
    for t in ("id", "liveness", "dma"):
        assert tests.get(t, {}).get("result") == "pass", f"edu: test={t} {tests.get(t)}"
    assert tests.get("msi", {}).get("result") == "fail", f"edu: test=msi {tests.get('msi')}"
    check_exited(r, "bystander")


def own_dmar(flags):
    """A DMAR with these flags and one INCLUDE_PCI_ALL unit where q35's intel-iommu would be;
    booted without that device, so the unit has no registers and stays off."""
    body = struct.pack("<BB10s", 38, flags, b"\0" * 10)
    body += struct.pack("<HHBBHQ", 0, 16, 1, 0, 0, 0xfed90000)
    return acpi_table(b"DMAR", body)


def test_x2apic_opt_out():
    """X2APIC_OPT_OUT with INTR_REMAP: apic=auto stays in xAPIC mode and says so. Without
    INTR_REMAP the flag means nothing (VT-d 8.1): said, and the APIC is left alone."""
    r = acpi_boot([own_dmar(0x3)], machine="q35")
    assert r.grep(r"apic: the DMAR asks the OS not to enable x2APIC \(X2APIC_OPT_OUT\): "
                  r"staying in xAPIC mode"), "no line saying the x2APIC opt-out is honoured"
    modes = {c["mode"] for c in r.records("cpu")}
    assert modes == {"xapic"}, f"@cpu modes {modes}, expected only xapic"
    check_cpus(r, 2)

    r = acpi_boot([own_dmar(0x2)], machine="q35")
    assert not r.grep(r"apic: the DMAR asks"), "X2APIC_OPT_OUT without INTR_REMAP was honoured"
    assert r.grep(r"iommu: the DMAR's X2APIC_OPT_OUT flag is set without INTR_REMAP"), \
        "no line saying X2APIC_OPT_OUT without INTR_REMAP is ignored"
    assert r.grep(r"warning: iommu: the DMAR's INTR_REMAP flag is clear")
