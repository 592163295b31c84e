/*
 * Isolation groups (pci/group.c) over a synthetic topology enumerated by pci/: functions behind
 * a conventional and a PCIe-to-PCI bridge, multi-function devices with and without ACS,
 * phantom functions, ARI, and lone endpoints; and the check that a guest's device list takes
 * whole groups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pci/group.h"
#include "pci/pci.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/fake-pci-cfg.h"

static const struct pci_ecam ecam = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				      .bus_end = 0xff };

static struct pci_bdf B(uint8_t bus, uint8_t dev, uint8_t fn) { return pci_bdf(0, bus, dev, fn); }

static struct fake_pci_fn *endpoint(struct pci_bdf b, uint8_t hdr)
{
	return fake_pci_add(b, 0x1234, 0x11e8, 0x00ff00, hdr);
}

static struct fake_pci_fn *express_endpoint(struct pci_bdf b, uint8_t hdr)
{
	struct fake_pci_fn *f = endpoint(b, hdr);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	return f;
}

static void acs(struct fake_pci_fn *f, uint16_t ctrl)
{
	fake_pci_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ACS);
	fake_pci_set16(f, 0x100 + PCI_ACS_CAP, 0x1f);
	fake_pci_set16(f, 0x100 + PCI_ACS_CTRL, ctrl);
}

/*
 *   00:02.0 lone endpoint
 *   00:03.0 pci-bridge -> 01: 01:00.0, 01:01.0
 *   00:04.0 root port -> 02: 02:00.0 (PCIe endpoint)
 *   00:06.0 pcie-pci bridge -> 06: 06:02.0, pci-bridge 06:03.0 -> 07: 07:00.0
 *   00:08.0/.1 multi-function, both with ACS RR|CR on
 *   00:09.0/.1 multi-function, only .0 with ACS RR|CR on
 *   00:0a.0 lone endpoint with phantom functions enabled
 *   00:0b.0 lone endpoint with phantom functions supported but not enabled
 *   00:05.0 root port with ARI forwarding -> 03: 03:00.0, 03:01.0 (ARI: one device)
 *   00:1f.0/.2/.3 multi-function, no ACS
 */
static int setup(void **state)
{
	struct fake_pci_fn *f;

	fake_pci_reset();
	fake_log_reset();
	pci_table_reset();
	fake_pci_add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	endpoint(B(0, 2, 0), 0);

	f = fake_pci_add(B(0, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);
	endpoint(B(1, 0, 0), 0);
	endpoint(B(1, 1, 0), 0);

	f = fake_pci_add(B(0, 4, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bridge(f, 0, 2, 2);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	express_endpoint(B(2, 0, 0), 0);

	f = fake_pci_add(B(0, 5, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bridge(f, 0, 3, 3);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	fake_pci_set16(f, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = express_endpoint(B(3, 0, 0), 0x80);
	fake_pci_ari(f, 0x100, 8);
	f = express_endpoint(B(3, 1, 0), 0x80);
	fake_pci_ari(f, 0x100, 0);

	f = fake_pci_add(B(0, 6, 0), 0x1b36, 0x000e, 0x060400, 1);
	fake_pci_bridge(f, 0, 6, 7);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_PCI_BRIDGE);
	endpoint(B(6, 2, 0), 0);
	f = fake_pci_add(B(6, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 6, 7, 7);
	endpoint(B(7, 0, 0), 0);

	acs(express_endpoint(B(0, 8, 0), 0x80), PCI_ACS_RR | PCI_ACS_CR);
	acs(express_endpoint(B(0, 8, 1), 0), PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR);
	acs(express_endpoint(B(0, 9, 0), 0x80), PCI_ACS_RR | PCI_ACS_CR);
	acs(express_endpoint(B(0, 9, 1), 0), PCI_ACS_RR);

	f = express_endpoint(B(0, 0xa, 0), 0);
	fake_pci_set32(f, 0x40 + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_PHANTOM);
	fake_pci_set16(f, 0x40 + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_PHANTOM);
	f = express_endpoint(B(0, 0xb, 0), 0);
	fake_pci_set32(f, 0x40 + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_PHANTOM);

	endpoint(B(0, 0x1f, 0), 0x80);
	endpoint(B(0, 0x1f, 2), 0);
	endpoint(B(0, 0x1f, 3), 0);
	assert_true(pci_init(&ecam, 1) > 0);
	return 0;
}

static struct pci_dev *D(uint8_t bus, uint8_t dev, uint8_t fn)
{
	struct pci_dev *d = pci_find(B(bus, dev, fn));
	assert_non_null(d);
	return d;
}

static void assert_kind(struct pci_dev *d, enum pci_group_kind kind)
{
	assert_int_equal(pci_group_of(d).kind, kind);
}

static void lone_functions_are_their_own_group(void **state)
{
	assert_kind(D(0, 2, 0), PCI_GROUP_SELF);
	assert_int_equal(pci_group_of(D(0, 2, 0)).index, pci_dev_index(D(0, 2, 0)));
	assert_kind(D(2, 0, 0), PCI_GROUP_SELF);        /* below a root port: its own id */
	assert_kind(D(0, 0xb, 0), PCI_GROUP_SELF);      /* phantoms supported, not enabled */
	assert_false(pci_group_same(D(0, 2, 0), D(2, 0, 0)));
}

static void conventional_bridge_groups_what_is_behind_it(void **state)
{
	assert_kind(D(1, 0, 0), PCI_GROUP_BRIDGE);
	assert_int_equal(pci_group_of(D(1, 0, 0)).index, pci_dev_index(D(0, 3, 0)));
	assert_true(pci_group_same(D(1, 0, 0), D(1, 1, 0)));
	assert_false(pci_group_same(D(1, 0, 0), D(0, 2, 0)));
}

static void pcie_to_pci_bridge_groups_everything_below_including_nested(void **state)
{
	assert_true(pci_group_same(D(6, 2, 0), D(7, 0, 0)));
	assert_int_equal(pci_group_of(D(7, 0, 0)).index, pci_dev_index(D(0, 6, 0)));
	assert_false(pci_group_same(D(6, 2, 0), D(1, 0, 0)));
}

static void multifunction_without_acs_is_one_group(void **state)
{
	assert_kind(D(0, 0x1f, 2), PCI_GROUP_SLOT);
	assert_true(pci_group_same(D(0, 0x1f, 0), D(0, 0x1f, 3)));
	/* ACS redirect on one function only still lets the other reach it. */
	assert_true(pci_group_same(D(0, 9, 0), D(0, 9, 1)));
	/* ARI: the functions on the bus are one device. */
	assert_true(pci_group_same(D(3, 0, 0), D(3, 1, 0)));
}

static void multifunction_with_acs_on_every_function_is_split(void **state)
{
	assert_kind(D(0, 8, 0), PCI_GROUP_SELF);
	assert_kind(D(0, 8, 1), PCI_GROUP_SELF);
	assert_false(pci_group_same(D(0, 8, 0), D(0, 8, 1)));
}

static void phantom_functions_make_a_slot_group(void **state)
{
	assert_kind(D(0, 0xa, 0), PCI_GROUP_SLOT);
}

static void split_lists_are_found_with_the_missing_function(void **state)
{
	struct pci_dev *member = NULL;
	struct pci_dev *one[] = { D(1, 0, 0) };
	assert_ptr_equal(pci_group_split(one, 1, &member), D(1, 1, 0));
	assert_ptr_equal(member, D(1, 0, 0));

	struct pci_dev *nested[] = { D(0, 2, 0), D(7, 0, 0) };
	assert_ptr_equal(pci_group_split(nested, 2, &member), D(6, 2, 0));
	assert_ptr_equal(member, D(7, 0, 0));

	struct pci_dev *lpc[] = { D(0, 0x1f, 3), D(0, 0x1f, 0) };
	assert_ptr_equal(pci_group_split(lpc, 2, &member), D(0, 0x1f, 2));
}

static void whole_groups_pass(void **state)
{
	struct pci_dev *member = NULL;
	struct pci_dev *whole[] = { D(1, 1, 0), D(0, 2, 0), D(1, 0, 0), D(7, 0, 0), D(6, 2, 0),
				    D(0, 8, 1), D(0, 0xa, 0), D(2, 0, 0) };
	assert_null(pci_group_split(whole, 8, &member));
	struct pci_dev *none[1];
	assert_null(pci_group_split(none, 0, &member));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(lone_functions_are_their_own_group, setup),
		cmocka_unit_test_setup(conventional_bridge_groups_what_is_behind_it, setup),
		cmocka_unit_test_setup(pcie_to_pci_bridge_groups_everything_below_including_nested, setup),
		cmocka_unit_test_setup(multifunction_without_acs_is_one_group, setup),
		cmocka_unit_test_setup(multifunction_with_acs_on_every_function_is_split, setup),
		cmocka_unit_test_setup(phantom_functions_make_a_slot_group, setup),
		cmocka_unit_test_setup(split_lists_are_found_with_the_missing_function, setup),
		cmocka_unit_test_setup(whole_groups_pass, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
