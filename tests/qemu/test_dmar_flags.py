"""The DMAR table's flags as QEMU's intel-iommu reports them (VT-d spec 8.1).

With `intremap=off` QEMU's DMAR has INTR_REMAP clear (and its unit ECAP.IR = 0): the boot must
say that the platform does not support interrupt remapping, leave it off, still confine DMA,
and refuse a guest's device messages (HC_DEV_MSG_ALLOC answers ENOSYS).
"""
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
