/*
 * BAR sizing over synthetic functions: memory and I/O, 32 and 64 bit, prefetchable, huge,
 * unimplemented and odd BARs, and the command register's decode bits around each sizing.
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
#include "tests/unit/pci-fixture.h"


static struct pci_dev *size_bars(void)
{
	struct pci_dev *d = pci_fixture_dev();

	pci_bars_read(d);
	return d;
}

static void every_kind(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0xfebc0000, 0x20000, 0);
	fake_pci_bar(f, 1, 0xc000, 0x20, FAKE_BAR_IO);
	fake_pci_bar(f, 2, 0x380000000000ull, 8ull << 30, FAKE_BAR_64 | FAKE_BAR_PREF);
	fake_pci_bar(f, 5, 0xe0000000, 0x10000000, FAKE_BAR_PREF);
	d = size_bars();

	assert_int_equal(d->bar[0].addr, 0xfebc0000);
	assert_int_equal(d->bar[0].size, 0x20000);
	assert_int_equal(d->bar[0].flags, 0);
	assert_int_equal(d->bar[1].addr, 0xc000);
	assert_int_equal(d->bar[1].size, 0x20);
	assert_int_equal(d->bar[1].flags, PCI_BAR_F_IO);
	assert_int_equal(d->bar[2].addr, 0x380000000000ull);
	assert_int_equal(d->bar[2].size, 8ull << 30);
	assert_int_equal(d->bar[2].flags, PCI_BAR_F_MEM64 | PCI_BAR_F_PREFETCH);
	assert_int_equal(d->bar[3].flags, PCI_BAR_F_UPPER);
	assert_int_equal(d->bar[3].size, 0);
	assert_int_equal(d->bar[4].size, 0);              /* not implemented */
	assert_int_equal(d->bar[5].addr, 0xe0000000);
	assert_int_equal(d->bar[5].size, 0x10000000);
	assert_int_equal(d->bar[5].flags, PCI_BAR_F_PREFETCH);
	assert_int_equal(d->problems, 0);

	/* Every BAR is back at its address and decoding is on again. */
	assert_int_equal(fake_pci_get32(f, PCI_BAR0), 0xfebc0000);
	assert_int_equal(fake_pci_get32(f, PCI_BAR0 + 4), 0xc001);
	assert_int_equal(fake_pci_get32(f, PCI_BAR0 + 12), 0x3800);
	assert_int_equal(f->cfg[PCI_COMMAND] & 7, 7);
	assert_int_equal(f->sized_while_decoding, 0);
}

/* A 16-bit I/O decoder hardwires the upper half of the BAR to 0. */
static void io_16bit_decoder(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0x1000, 0x100, FAKE_BAR_IO);
	fake_pci_wmask32(f, PCI_BAR0, 0x0000ff00);
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x100);
	assert_int_equal(d->bar[0].addr, 0x1000);
	assert_int_equal(d->problems, 0);
}

/* A 64-bit BAR whose device decodes 32 bits only: the upper half reads back 0. */
static void bar64_decoding_32_bits(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0xfe000000, 0x1000, FAKE_BAR_64);
	fake_pci_wmask32(f, PCI_BAR0 + 4, 0);
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x1000);
	assert_int_equal(d->problems, 0);
}

static void reads_all_ones(void **state)
{
	struct pci_dev *d;

	fake_pci_set32(f, PCI_BAR0 + 8, 0xffffffff);
	fake_pci_bar(f, 3, 0xfe000000, 0x1000, 0);
	d = size_bars();
	assert_int_equal(d->bar[2].size, 0);
	assert_int_equal(d->bar[3].size, 0x1000);
	assert_true(d->problems & PCI_PROB_BAR);
	assert_true(fake_log_contains("W: pci 0000:00:03.0: BAR2 reads all ones, ignored"));
}

static void bar64_in_last_slot(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 5, 0xfe000000, 0x1000, FAKE_BAR_64);
	d = size_bars();
	assert_int_equal(d->bar[5].size, 0);
	assert_true(fake_log_contains("64-bit BAR5 is in the last slot, ignored"));

	/* A bridge's last slot is BAR1: its bus numbers behind it are never touched. */
	pci_fixture_setup(state);
	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bar(f, 1, 0xfe000000, 0x1000, FAKE_BAR_64);   /* upper half writable at 0x18 */
	fake_pci_bridge(f, 0, 1, 2);
	d = size_bars();
	assert_int_equal(d->bar[1].size, 0);
	assert_true(fake_log_contains("64-bit BAR1 is in the last slot, ignored"));
	assert_int_equal(fake_pci_get32(f, PCI_PRIMARY_BUS) & 0xffffff, 0x020100);
}

static void bridge_two_bars_only(void **state)
{
	struct pci_dev *d;

	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 2);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, FAKE_BAR_64);
	f->wmask[PCI_PRIMARY_BUS] = 0xff;
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x1000);
	assert_int_equal(d->bar[1].flags, PCI_BAR_F_UPPER);
	assert_int_equal(fake_pci_get32(f, PCI_PRIMARY_BUS) & 0xffffff, 0x020100);
}

static void reserved_and_legacy_types(void **state)
{
	struct pci_dev *d;

	fake_pci_set32(f, PCI_BAR0, 0xfe000006);          /* type 3 */
	fake_pci_wmask32(f, PCI_BAR0, 0xfffff000);
	fake_pci_bar(f, 1, 0xd0000, 0x10000, 0);
	fake_pci_set32(f, PCI_BAR0 + 4, 0xd0002);         /* type 1: below 1 MiB */
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0);
	assert_true(fake_log_contains("BAR0 has the reserved memory type 3, ignored"));
	assert_int_equal(d->bar[1].size, 0x10000);
	assert_int_equal(d->bar[1].addr, 0xd0000);
}

static void mask_with_holes(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	fake_pci_wmask32(f, PCI_BAR0, 0xfff0f000);
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x1000);
	assert_true(d->problems & PCI_PROB_BAR);
	assert_true(fake_log_contains("BAR0 size mask 0xfff0f000 has holes, size 0x1000 assumed"));
}

/* Decode stays off if it was off, and a host bridge is never stopped. */
static void decode_bits(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	fake_pci_set16(f, PCI_COMMAND, PCI_COMMAND_MASTER);
	size_bars();
	assert_int_equal(f->cfg[PCI_COMMAND], PCI_COMMAND_MASTER);

	pci_fixture_setup(state);
	f = fake_pci_add(pci_bdf(0, 0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x1000);
	assert_int_equal(f->sized_while_decoding, 6);     /* every slot, decode left on */
	assert_int_equal(f->cfg[PCI_COMMAND] & 7, 7);
}

static void cardbus_one_bar(void **state)
{
	struct pci_dev *d;

	f = fake_pci_add(pci_bdf(0, 0, 5, 0), 0x104c, 0xac56, 0x060700, 2);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	fake_pci_bar(f, 1, 0xfd000000, 0x1000, 0);        /* not a BAR in this header */
	d = size_bars();
	assert_int_equal(d->bar[0].size, 0x1000);
	assert_int_equal(d->bar[1].size, 0);
	assert_int_equal(fake_pci_get32(f, PCI_BAR0 + 4), 0xfd000000);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pci_fixture_setup, pci_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(every_kind),
		T(io_16bit_decoder),
		T(bar64_decoding_32_bits),
		T(reads_all_ones),
		T(bar64_in_last_slot),
		T(bridge_two_bars_only),
		T(reserved_and_legacy_types),
		T(mask_with_holes),
		T(decode_bits),
		T(cardbus_one_bar),
	};
	return cmocka_run_group_tests_name("pci-bar", tests, NULL, NULL);
}
