/*
 * Source-id validation for a function's messages (VT-d 9.10 SVT/SQ/SID; 5.1.1 requests from
 * behind PCIe-to-PCI bridges) and the I/O APIC's remappable redirection entry (5.1.5.1: format
 * bit 48, index 14:0 in 63:49, index 15 in bit 11).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "iommu/ir_source.h"
#include "iommu/irte.h"
#include "pci/pci.h"

static void own_id(void **state)
{
	struct pci_dev d = { .sid = 0x0018, .dma_alias = 0x0018, .alias_bridge = PCI_NONE };
	struct ir_source s = ir_source_of(&d, NULL);

	assert_int_equal(s.svt, VTD_SVT_SID);
	assert_int_equal(s.sq, VTD_SQ_ALL);
	assert_int_equal(s.sid, 0x0018);
}

/* Behind a PCIe-to-PCI bridge with buses 2..4: only the bus range can be checked, from the
 * bridge's secondary bus to the function's own. */
static void behind_pcie_to_pci(void **state)
{
	struct pci_dev br = { .sid = 0x0010, .sec_bus = 2, .sub_bus = 4,
			      .exp = { .cap = 0x40, .type = PCI_EXP_TYPE_PCI_BRIDGE } };
	struct pci_dev d = { .sid = 0x0218, .dma_alias = 0x0200, .alias_bridge = 0 };
	struct ir_source s = ir_source_of(&d, &br);

	assert_int_equal(s.svt, VTD_SVT_BUS);
	assert_int_equal(s.sq, 0);
	assert_int_equal(s.sid, 0x0202);
	struct vtd_irte_fields f = { .present = true, .vector = 0x30, .svt = s.svt, .sid = s.sid };
	struct vtd_irte_ret r = vtd_irte_encode(&f, false);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.hi, 2ull << 18 | 0x0202);

	/* Two bridges down (a conventional bridge on bus 2 leads to bus 4): buses 2..4. */
	struct pci_dev deep = { .sid = 0x0410, .dma_alias = 0x0200, .alias_bridge = 0 };
	s = ir_source_of(&deep, &br);
	assert_int_equal(s.svt, VTD_SVT_BUS);
	assert_int_equal(s.sid, 0x0204);
}

/* A conventional PCI bridge takes requests over with its own id. */
static void behind_pci_bridge(void **state)
{
	struct pci_dev br = { .sid = 0x0108, .sec_bus = 3, .sub_bus = 3 };
	struct pci_dev d = { .sid = 0x0300, .dma_alias = 0x0108, .alias_bridge = 0 };
	struct ir_source s = ir_source_of(&d, &br);

	assert_int_equal(s.svt, VTD_SVT_SID);
	assert_int_equal(s.sid, 0x0108);
}

static void rte_encoding(void **state)
{
	struct ioapic_rte r = { .index = 0x1234, .vector = 0x41, .masked = true };
	uint64_t v = ioapic_rte_encode(&r);

	assert_int_equal(v, 0x1234ull << 49 | 1ull << 48 | 1 << 16 | 0x41);
	/* Index bit 15 goes to bit 11. */
	r = (struct ioapic_rte){ .index = 0x8001, .vector = 0x30, .level = true,
				 .active_low = true };
	v = ioapic_rte_encode(&r);
	assert_int_equal(v, 1ull << 49 | 1ull << 48 | 1 << 15 | 1 << 13 | 1 << 11 | 0x30);
	struct ioapic_rte back;
	assert_true(ioapic_rte_decode(v, &back));
	assert_int_equal(back.index, 0x8001);
	assert_int_equal(back.vector, 0x30);
	assert_true(back.level && back.active_low && !back.masked);
	/* Compatibility format, or reserved bits: not a remappable entry. */
	assert_false(ioapic_rte_decode(0x10030, &back));
	assert_false(ioapic_rte_decode(v | 1ull << 20, &back));
	assert_false(ioapic_rte_decode(v | 1 << 8, &back));
	/* Remote IRR (read-only) does not spoil a read-back. */
	assert_true(ioapic_rte_decode(v | IOAPIC_RTE_REMOTE_IRR, &back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(own_id),
		cmocka_unit_test(behind_pcie_to_pci),
		cmocka_unit_test(behind_pci_bridge),
		cmocka_unit_test(rte_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
