/*
 * Enumeration over random configuration spaces: random bytes everywhere (so capability
 * pointers loop and point anywhere, BARs have any type and mask) and bridges with random
 * small bus numbers (so buses are reached twice, backwards and out of range). The walk must
 * end, stay within the sanitizers' view of memory, and leave a consistent table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "pci/pci.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/fake-pci-cfg.h"
#include "tests/unit/pci-table-check.h"

#define ROUNDS 2000

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void random_fn(uint8_t bus, uint8_t devfn)
{
	static const uint8_t hdrs[] = { 0x00, 0x80, 0x01, 0x81, 0x02, 0x7f };
	struct fake_pci_fn *f;

	if (fake_pci_find(pci_bdf(0, bus, PCI_DEVFN_DEV(devfn), PCI_DEVFN_FN(devfn))))
		return;
	f = fake_pci_add(pci_bdf(0, bus, PCI_DEVFN_DEV(devfn), PCI_DEVFN_FN(devfn)),
			 (uint16_t)(1 + rnd() % 0xfffe), (uint16_t)rnd(), rnd() & 0xffffff,
			 hdrs[rnd() % sizeof(hdrs)]);
	for (unsigned i = 0x10; i < 0x1000; i++) {
		if (i == PCI_HEADER_TYPE)
			continue;
		f->cfg[i] = (uint8_t)rnd();
		f->wmask[i] = (uint8_t)rnd();
	}
	if (rnd() % 2)
		fake_pci_exp(f, (uint8_t)(0x40 + 4 * (rnd() % 48)), rnd() % 11);
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	if ((f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE)
		fake_pci_bridge(f, (uint8_t)(rnd() % 8), (uint8_t)(rnd() % 8), (uint8_t)(rnd() % 10));
}

static void check_table(void)
{
	const char *why = pci_table_check();

	if (why)
		fail_msg("%s", why);
}

static void random_spaces(void **state)
{
	const struct pci_ecam r = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				    .bus_end = 9 };

	for (unsigned round = 0; round < ROUNDS; round++) {
		rng = 0x9e3779b97f4a7c15ull * (round + 1);
		fake_pci_reset();
		fake_log_reset();
		for (unsigned n = rnd() % 40; n; n--)
			random_fn((uint8_t)(rnd() % 10), (uint8_t)(rnd() % 32 * 8 + (rnd() % 4 ? 0
									   : rnd() % 8)));
		pci_init(&r, 1);
		assert_int_equal(fake_pci_misaligned, 0);
		check_table();
	}
}

/* A full house: 288 functions on buses 0-8, more than the table holds. */
static void random_full(void **state)
{
	const struct pci_ecam r = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				    .bus_end = 0xff };

	rng = 42;
	fake_pci_reset();
	fake_log_reset();
	for (unsigned i = 0; i < FAKE_PCI_MAX_FNS - 12; i++)
		random_fn((uint8_t)(i / 32), (uint8_t)(i % 32 * 8));
	pci_init(&r, 1);
	check_table();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_spaces),
		cmocka_unit_test(random_full),
	};
	return cmocka_run_group_tests_name("pci-random", tests, NULL, NULL);
}
