/*
 * DMAR device scopes resolved against enumerated PCI: which unit translates which function
 * (explicit endpoint and bridge scopes first, INCLUDE_PCI_ALL of the segment last), multi-hop
 * paths through bridges, paths that lead nowhere, RMRR device lists and regions, malformed
 * tables, and every real table in tests/data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tests/unit/dmar-builder.h"
#include "iommu/topology.h"
#include "kernel/lib/error.h"
#include "pci/pci.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/fake-pci-cfg.h"

static const struct pci_ecam q35 = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				     .bus_end = 0xff };

static struct pci_bdf B(uint8_t bus, uint8_t dev, uint8_t fn)
{
	return pci_bdf(0, bus, dev, fn);
}

/*
 *   00:00.0 host bridge     00:02.0 graphics       00:04.0 endpoint
 *   00:03.0 root port -> 01: 01:00.0 PCIe-to-PCI bridge -> 02: 02:05.0 endpoint
 *   00:05.0 root port -> 03: 03:00.0 endpoint
 */
static void build_pci(void)
{
	struct fake_pci_fn *f;

	fake_pci_add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	fake_pci_add(B(0, 2, 0), 0x8086, 0x1234, 0x030000, 0);
	fake_pci_add(B(0, 4, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	f = fake_pci_add(B(0, 3, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 2);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	f = fake_pci_add(B(1, 0, 0), 0x1b36, 0x000e, 0x060400, 1);
	fake_pci_bridge(f, 1, 2, 2);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_PCI_BRIDGE);
	fake_pci_add(B(2, 5, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	f = fake_pci_add(B(0, 5, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bridge(f, 0, 3, 3);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	f = fake_pci_add(B(3, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	assert_true(pci_init(&q35, 1) == 8);
}

static int setup(void **state)
{
	fake_pci_reset();
	fake_log_reset();
	pci_table_reset();
	build_pci();
	fake_log_reset();
	return 0;
}

/*
 * unit 0 at 0xfed90000: endpoint 00:02.0, and 02:05.0 by a path through both bridges, and a
 *   path through an absent bridge 00:07.0, and an IOAPIC;
 * unit 1 at 0xfed91000: the bridge 00:05.0 and what is below it;
 * unit 2 at 0xfed92000: INCLUDE_PCI_ALL on segment 0;
 * RMRR 0xab000-0xabfff for 00:02.0 and 02:05.0; an RMRR that is not whole pages.
 */
static struct builder table;

static void build_table(void)
{
	uint32_t s;

	start_table(&table, 38);
	s = drhd(&table, 0, 0, 0xfed90000);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 2, 0);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 3, 3, 0, 0, 0, 5, 0);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 2, 7, 0, 0, 0);
	scope(&table, DMAR_SCOPE_IOAPIC, 2, 0xf0, 1, 0x1f, 0);
	end(&table, s);
	s = drhd(&table, 0, 0, 0xfed91000);
	scope(&table, DMAR_SCOPE_BRIDGE, 0, 0, 1, 5, 0);
	end(&table, s);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 0, 0xfed92000);
	end(&table, s);
	s = rmrr(&table, 0xab000, 0xabfff);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 2, 0);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 3, 3, 0, 0, 0, 5, 0);
	end(&table, s);
	s = rmrr(&table, 0xac000, 0xac7ff);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 2, 0);
	end(&table, s);
	seal(&table);
}

static struct iommu_topology topo;

static void resolves_units(void **state)
{
	build_table();
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 3);
	assert_int_equal(topo.haw, 39);
	assert_int_equal(topo.unit[0].n, 2);
	assert_true(pci_bdf_eq(topo.unit[0].ent[0].bdf, B(0, 2, 0)));
	assert_true(pci_bdf_eq(topo.unit[0].ent[1].bdf, B(2, 5, 0)));
	assert_int_equal(topo.unit[0].unresolved, 1);
	assert_int_equal(topo.unit[0].other, 1);
	/* The IOAPIC scope: its interrupts carry requester id f0:1f.0. */
	assert_int_equal(topo.unit[0].n_ioapic, 1);
	assert_int_equal(topo.unit[0].ioapic[0].id, 2);
	assert_int_equal(topo.unit[0].ioapic[0].sid, 0xf0f8);
	assert_true(fake_log_contains("hop 0, 0000:00:07.0, is not present"));
	assert_int_equal(topo.unit[1].n, 1);
	assert_int_equal(topo.unit[1].ent[0].kind, IOMMU_SCOPE_BRIDGE);
	assert_int_equal(topo.unit[1].ent[0].sec, 3);
	assert_int_equal(topo.unit[1].ent[0].sub, 3);
	assert_true(topo.unit[2].drhd.include_all);
	assert_int_equal(fake_log_errors, 0);
}

static void explicit_scope_first(void **state)
{
	build_table();
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 3);
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 2, 0)), 0);
	assert_int_equal(iommu_topology_unit_for(&topo, B(2, 5, 0)), 0);
	/* The bridge itself and everything on its buses. */
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 5, 0)), 1);
	assert_int_equal(iommu_topology_unit_for(&topo, B(3, 0, 0)), 1);
	assert_int_equal(iommu_topology_unit_for(&topo, B(3, 7, 1)), 1);
	/* The rest of segment 0 falls to INCLUDE_PCI_ALL, even 02:05.0's neighbours. */
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 4, 0)), 2);
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 0, 0)), 2);
	assert_int_equal(iommu_topology_unit_for(&topo, B(2, 6, 0)), 2);
	assert_int_equal(iommu_topology_unit_for(&topo, B(4, 0, 0)), 2);
	/* Nothing covers another segment. */
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(1, 0, 2, 0)), E_NOENT);
}

static void without_include_all(void **state)
{
	uint32_t s;

	start_table(&table, 47);
	s = drhd(&table, 0, 0, 0xfed90000);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 4, 0);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 1);
	assert_int_equal(topo.haw, 48);
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 4, 0)), 0);
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 2, 0)), E_NOENT);
}

/* 8.3's rules on INCLUDE_PCI_ALL broken: a unit after it, a second one. Both reported; the
 * explicit scope still wins and the first INCLUDE_PCI_ALL unit takes the rest. */
static void include_all_out_of_order(void **state)
{
	uint32_t s;

	start_table(&table, 38);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 0, 0xfed90000);
	end(&table, s);
	s = drhd(&table, 0, 0, 0xfed91000);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 4, 0);
	end(&table, s);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 0, 0xfed92000);
	end(&table, s);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 1, 0xfed93000);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 4);
	assert_true(fake_log_contains("W: dmar: DRHD 0xfed91000 comes after segment 0's "
				      "INCLUDE_PCI_ALL DRHD 0xfed90000, which should be last"));
	assert_true(fake_log_contains("W: dmar: DRHD 0xfed92000 is a second INCLUDE_PCI_ALL unit "
				      "for segment 0 (0xfed90000 is one)"));
	assert_false(fake_log_contains("0xfed93000"));
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 4, 0)), 1);
	assert_int_equal(iommu_topology_unit_for(&topo, B(0, 2, 0)), 0);
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(1, 0, 2, 0)), 3);
}

static void bridge_scope_on_an_endpoint(void **state)
{
	uint32_t s;

	start_table(&table, 38);
	s = drhd(&table, 0, 0, 0xfed90000);
	scope(&table, DMAR_SCOPE_BRIDGE, 0, 0, 1, 4, 0);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 1);
	assert_int_equal(topo.unit[0].n, 0);
	assert_int_equal(topo.unit[0].unresolved, 1);
	assert_true(fake_log_contains("bridge scope at 0x40: 0000:00:04.0 is not a bridge"));
}

static void rmrr_devices(void **state)
{
	build_table();
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 3);
	assert_int_equal(topo.n_rmrr, 1);
	assert_int_equal(topo.rmrr[0].base, 0xab000);
	assert_int_equal(topo.rmrr[0].end, 0xac000);
	assert_int_equal(topo.rmrr[0].n, 2);
	assert_true(pci_bdf_eq(topo.rmrr[0].dev[0], B(0, 2, 0)));
	assert_true(pci_bdf_eq(topo.rmrr[0].dev[1], B(2, 5, 0)));
	assert_true(fake_log_contains("is not whole pages"));
}

/* An RMRR up to the last byte of the address space has no end in 64 bits: [base, 0) would
 * be an empty or a wrapped region. Seen while writing the dmar-topology fuzz harness. */
static void rmrr_to_the_top(void **state)
{
	uint32_t s;

	start_table(&table, 38);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 0, 0xfed90000);
	end(&table, s);
	s = rmrr(&table, 0, UINT64_MAX);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 2, 0);
	end(&table, s);
	s = rmrr(&table, 0xfffffffffffff000ull, UINT64_MAX);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 1, 2, 0);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 1);
	assert_int_equal(topo.n_rmrr, 0);
	assert_true(fake_log_contains("ends the address space; ignored"));
	assert_int_equal(fake_log_errors, 0);
}

static void scope_path_hops(void **state)
{
	struct dmar_scope sc = { .type = DMAR_SCOPE_ENDPOINT, .start_bus = 0, .nhops = 3,
				 .hops = { { 3, 0 }, { 0, 0 }, { 9, 1 } } };
	struct pci_bdf out;

	/* The last function need not exist: a scope may name an empty slot. */
	assert_int_equal(iommu_scope_path(0, &sc, &out), 0);
	assert_true(pci_bdf_eq(out, B(2, 9, 1)));
	/* A hop through an endpoint leads nowhere. */
	sc.hops[0] = (struct dmar_pci_hop){ 4, 0 };
	assert_int_equal(iommu_scope_path(0, &sc, &out), E_NOENT);
	assert_true(fake_log_contains("is not a bridge"));
	/* A start bus with nothing on it. */
	sc.start_bus = 9;
	assert_int_equal(iommu_scope_path(0, &sc, &out), E_NOENT);
}

static void malformed_table(void **state)
{
	build_table();
	table.b[DMAR_HDR_CHECKSUM] ^= 1;
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), E_INVAL);
	assert_int_equal(topo.n_units, 0);
	assert_int_equal(fake_log_errors, 1);
	assert_true(fake_log_contains("dmar: malformed table"));
	/* A structure running past the table. */
	fake_log_reset();
	build_table();
	table.b[DMAR_HDR_SIZE + DMAR_ST_LENGTH] = 0xff;
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), E_INVAL);
	assert_int_equal(topo.n_units, 0);
	/* Too short for a header. */
	assert_int_equal(iommu_topology_build(table.b, 10, &topo), E_INVAL);
}

static void no_drhd(void **state)
{
	uint32_t s;

	start_table(&table, 38);
	s = rmrr(&table, 0xab000, 0xabfff);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), E_NOENT);
	assert_int_equal(fake_log_errors, 0);
}

/*
 * Two segments enumerated from two ECAM regions, each with a root port 00:03.0 but different
 * bus numbers below it (01 on segment 0, 05 on segment 1). Segment 1's DRHD names
 * 00:03.0/00.0 by a two-hop path, which must go through segment 1's bridge to 0001:05:00.0;
 * segment 0's functions stay with segment 0's INCLUDE_PCI_ALL unit and the other way round.
 */
static void segments_kept_apart(void **state)
{
	const struct pci_ecam r[] = {
		{ .base = 0xb0000000, .segment = 0, .bus_start = 0, .bus_end = 0xff },
		{ .base = 0xc0000000, .segment = 1, .bus_start = 0, .bus_end = 0xff },
	};
	struct fake_pci_fn *f;
	uint32_t s;

	fake_pci_reset();
	pci_table_reset();
	for (uint16_t seg = 0; seg < 2; seg++) {
		uint8_t sec = seg ? 5 : 1;
		fake_pci_add(pci_bdf(seg, 0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
		f = fake_pci_add(pci_bdf(seg, 0, 3, 0), 0x1b36, 0x000c, 0x060400, 1);
		fake_pci_bridge(f, 0, sec, sec);
		fake_pci_add(pci_bdf(seg, sec, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	}
	assert_int_equal(pci_init(r, 2), 6);

	start_table(&table, 38);
	s = drhd(&table, 0, 1, 0xfed90000);
	scope(&table, DMAR_SCOPE_ENDPOINT, 0, 0, 2, 3, 0, 0, 0);
	end(&table, s);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 1, 0xfed91000);
	end(&table, s);
	s = drhd(&table, DMAR_DRHD_F_INCLUDE_PCI_ALL, 0, 0xfed92000);
	end(&table, s);
	seal(&table);
	assert_int_equal(iommu_topology_build(table.b, table.len, &topo), 3);
	assert_int_equal(topo.unit[0].n, 1);
	assert_true(pci_bdf_eq(topo.unit[0].ent[0].bdf, pci_bdf(1, 5, 0, 0)));
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(1, 5, 0, 0)), 0);
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(1, 0, 3, 0)), 1);
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(0, 1, 0, 0)), 2);
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(0, 5, 0, 0)), 2);
	assert_int_equal(iommu_topology_unit_for(&topo, pci_bdf(2, 0, 0, 0)), E_NOENT);
	assert_int_equal(fake_log_errors, 0);
}

/* Real firmware tables over the fake machine: every unit found, nothing counted as an error,
 * and every function on segment 0 has a unit when a DRHD includes all of it. */
static void real_tables(void **state)
{
	static const char *const names[] = {
		"dell-latitude-9420-dmar", "dell-poweredge-r820-dmar", "dell-xps-13-9350-dmar",
		"framework-laptop-13-dmar", "hp-compaq-dc7800-sff-dmar",
		"hp-proliant-dl360-g7-dmar", "supermicro-x10dai-dmar",
	};
	/* The DMAR flags each .expect's second line gives. */
	static const uint8_t flags[] = { 0x5, 0x3, 0x3, 0x5, 0x0, 0x2, 0x1 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t size;
		uint8_t *buf = dmar_load(names[i], &size);
		int n = iommu_topology_build(buf, size, &topo);
		assert_true(n > 0);
		assert_int_equal(topo.flags, flags[i]);
		bool all = false;
		for (int u = 0; u < n; u++)
			all |= topo.unit[u].drhd.include_all && topo.unit[u].drhd.segment == 0;
		for (size_t k = 0; all && k < pci_dev_count(); k++)
			assert_true(iommu_topology_unit_for(&topo, pci_dev_at(k)->bdf) >= 0);
		for (unsigned r = 0; r < topo.n_rmrr; r++)
			assert_true(topo.rmrr[r].base < topo.rmrr[r].end);
		assert_int_equal(fake_log_errors, 0);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(resolves_units, setup),
		cmocka_unit_test_setup(explicit_scope_first, setup),
		cmocka_unit_test_setup(without_include_all, setup),
		cmocka_unit_test_setup(include_all_out_of_order, setup),
		cmocka_unit_test_setup(bridge_scope_on_an_endpoint, setup),
		cmocka_unit_test_setup(rmrr_devices, setup),
		cmocka_unit_test_setup(rmrr_to_the_top, setup),
		cmocka_unit_test_setup(scope_path_hops, setup),
		cmocka_unit_test_setup(malformed_table, setup),
		cmocka_unit_test_setup(no_drhd, setup),
		cmocka_unit_test_setup(segments_kept_apart, setup),
		cmocka_unit_test_setup(real_tables, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
