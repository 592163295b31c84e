/*
 * libFuzzer harness for the IOMMU topology (iommu/topology.c): a DMAR table's device scopes
 * resolved against an enumerated bus, both from the input:
 *
 *   len (16-bit little endian), then len bytes of DMAR table (its checksum repaired as in the
 *   dmar harness), then a PCI machine as tests/fuzz/pci-space.h lays it out.
 *
 * Whatever the bytes, the result must keep the promises of iommu/topology.h. Built and run by
 * `make fuzz-dmar-topology` (tests/fuzz/fuzz.mk), seeded with the real tables of
 * tests/data/acpi/dmar over a small machine (tests/fuzz/seeds.py).
 */
#include <stdlib.h>
#include <string.h>
#include "iommu/topology.h"
#include "kernel/lib/error.h"
#include "pci/pci.h"
#include "tests/fuzz/dmar-checksum.h"
#include "tests/fuzz/pci-space.h"

static struct iommu_topology topo;
static struct fuzz_pci machine;

static void check_unit(const struct iommu_drhd_info *u)
{
	if (u->n > IOMMU_SCOPE_MAX || u->n_ioapic > IOMMU_IOAPIC_MAX || u->n_ioapic > u->other)
		abort();
	for (unsigned i = 0; i < u->n; i++) {
		const struct iommu_scope_ent *e = &u->ent[i];
		struct pci_dev *br = pci_find(e->bdf);

		if (e->bdf.seg != u->drhd.segment)
			abort();
		if (e->kind == IOMMU_SCOPE_BRIDGE &&
		    (!br || !pci_dev_is_bridge(br) || e->sec != br->sec_bus || e->sub != br->sub_bus))
			abort();
		if (e->kind != IOMMU_SCOPE_DEV && e->kind != IOMMU_SCOPE_BRIDGE)
			abort();
	}
}

static void check_topology(int ret)
{
	if (ret == E_INVAL && (topo.n_units || topo.n_rmrr))
		abort();                /* a malformed table leaves it empty */
	if (ret != E_INVAL && ret != E_NOENT && (ret < 1 || (unsigned)ret != topo.n_units))
		abort();
	if ((ret > 0) != (topo.n_units > 0) || topo.n_units > IOMMU_MAX_UNITS ||
	    topo.n_rmrr > IOMMU_MAX_RMRR)
		abort();
	for (unsigned i = 0; i < topo.n_units; i++)
		check_unit(&topo.unit[i]);
	for (unsigned i = 0; i < topo.n_rmrr; i++) {
		const struct iommu_rmrr_info *r = &topo.rmrr[i];
		if (r->base >= r->end || (r->base | r->end) & 0xfff || r->n > IOMMU_RMRR_DEVS)
			abort();
	}
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_bdf b = pci_dev_at(i)->bdf;
		int u = iommu_topology_unit_for(&topo, b);

		if (u != E_NOENT && (u < 0 || (unsigned)u >= topo.n_units))
			abort();
		if (u >= 0 && !topo.unit[u].drhd.include_all && !iommu_drhd_names(&topo.unit[u], b))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t *dmar;

	if (size < 2)
		return 0;
	len = data[0] | (size_t)data[1] << 8;
	len = len > size - 2 ? size - 2 : len;
	/* An exact-size copy, so ASan sees a read past the table. */
	dmar = malloc(len ? len : 1);
	memcpy(dmar, data + 2, len);
	fuzz_dmar_fix_checksum(dmar, len);

	fuzz_pci_build(&machine, data + 2 + len, size - 2 - len);
	pci_init(&machine.region, 1);
	fuzz_pci_check(&machine);
	check_topology(iommu_topology_build(dmar, len, &topo));
	free(dmar);
	return 0;
}
