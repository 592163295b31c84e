"""Isolation groups: functions that share a requester id go to one guest together or to none.

Functions behind a PCIe-to-PCI bridge or a conventional PCI bridge reach the IOMMU with the
bridge's alias, so they share one context entry and one source-id check: given to two guests,
one guest's device could DMA through the other's domain. Each scenario puts edu devices behind
such a bridge (several kinds and depths) and checks, from the hypervisor's records and the
guests' own lines:
- a guest whose dev= list splits a group is rejected by name (@guest state=rejected with the
  reason), prints nothing, and the bystander next to it runs to its exact end;
- the whole group given to one guest works: DMA into its own memory, its device message;
- without DMA remapping, a guest with a device is rejected (its DMA cannot be confined): bus
  mastering is never turned on by anything else (MSI programming used to).
"""
from courier import scenario
from test_guests import (boot, check_exited, check_healthy, edu_tests, elf, guest_records,
                         texts)

PCIE_PCI = ["pcie-pci-bridge,id=br,bus=pcie.0,addr=0x6"]
PCI_PCI = ["pci-bridge,id=br,chassis_nr=1,bus=pcie.0,addr=0x6"]
# A conventional bridge below a PCIe-to-PCI bridge: the topmost alias wins for both edus.
NESTED = ["pcie-pci-bridge,id=top,bus=pcie.0,addr=0x6",
          "edu,bus=top,addr=1",
          "pci-bridge,id=br,chassis_nr=2,bus=top,addr=2"]
BEHIND = ["edu,bus=br,addr=1", "edu,bus=br,addr=2"]


def bdfs(r, vendor_device="1234:11e8"):
    """The edus' addresses as the hypervisor enumerated them, in its order."""
    return [p["bdf"].split(":", 1)[1] for p in r.records("pci") if p["id"] == vendor_device]


def rejected(r, name):
    recs = guest_records(r, name)
    assert [g["state"] for g in recs] == ["rejected"], \
        f"{name}: @guest states {[g.line() for g in recs]}, expected only state=rejected"
    assert not texts(r, name), f"{name} was rejected but printed {texts(r, name)}"
    return recs[0]["reason"]


def find_edus(topology):
    """One boot that only enumerates: the edus' bus addresses for this topology."""
    r = boot("exit=idle", smp=1, devices=topology)
    found = bdfs(r)
    assert len(found) == sum(d.startswith("edu") for d in topology), f"edus found: {found}"
    return found


def split(topology, cpus):
    """Each edu of the group to a guest of its own: every such guest rejected by name, the
    bystander (hello) exact."""
    edus = find_edus(topology)
    mods = [(elf("edu"), f"name=e{i} cpu={i % cpus} dev={b} msi_rounds=3")
            for i, b in enumerate(edus)]
    mods.append((elf("hello"), f"name=bystander cpu={cpus - 1}"))
    r = boot("exit=idle", smp=cpus, modules=mods, devices=topology)
    check_healthy(r)
    for i, b in enumerate(edus):
        reason = rejected(r, f"e{i}")
        assert "isolation_group" in reason and b in reason, \
            f"e{i} (dev={b}) rejected for '{reason}', expected its isolation group named"
    check_exited(r, "bystander")
    assert r.done == len(edus), f"@done status={r.done}: expected one error per rejected guest"
    assert not r.records("dmafault"), f"DMA faults: {[f.line() for f in r.records('dmafault')]}"


def whole(topology):
    """The whole group to one guest: it starts, its DMA and its message work."""
    edus = find_edus(topology)
    mods = [(elf("edu"), f"name=owner cpu=1 dev={','.join(edus)} msi_rounds=3"),
            (elf("hello"), "name=bystander cpu=0")]
    r = boot("exit=idle", smp=2, modules=mods, devices=topology)
    check_healthy(r)
    r.check_done(0)
    tests = edu_tests(r, "owner")
    for t in ("id", "liveness", "dma", "msi"):
        assert tests.get(t, {}).get("result") == "pass", f"owner: test={t} {tests.get(t)}"
    check_exited(r, "owner")
    check_exited(r, "bystander")


def subset_in_one_guest(topology):
    """One guest lists only part of a group (the rest unowned): still rejected."""
    edus = find_edus(topology)
    r = boot("exit=idle", smp=1, devices=topology,
             modules=[(elf("edu"), f"name=part dev={edus[-1]}")])
    assert "isolation_group" in rejected(r, "part")


def no_dma_remapping():
    """No IOMMU: a guest given a device is rejected, since nothing could confine its DMA."""
    r = boot("exit=idle", smp=1, devices=["edu,addr=0x10"], machine="q35",
             modules=[(elf("edu"), "name=unconfined dev=00:10.0"),
                      (elf("hello"), "name=bystander")])
    reason = rejected(r, "unconfined")
    assert "DMA_cannot_be_confined" in reason, f"rejected for '{reason}'"
    check_exited(r, "bystander")


scenario(globals(), "isolation_split_pcie_pci_bridge", lambda: split(PCIE_PCI + BEHIND, 2))
scenario(globals(), "isolation_split_pci_bridge", lambda: split(PCI_PCI + BEHIND, 3))
scenario(globals(), "isolation_split_nested", lambda: split(NESTED + BEHIND, 4), cost=2)
scenario(globals(), "isolation_whole_group_pcie_pci", lambda: whole(PCIE_PCI + BEHIND))
scenario(globals(), "isolation_whole_group_nested", lambda: whole(NESTED + BEHIND))
scenario(globals(), "isolation_subset_rejected", lambda: subset_in_one_guest(PCI_PCI + BEHIND))
scenario(globals(), "isolation_no_dma_remapping", no_dma_remapping)
