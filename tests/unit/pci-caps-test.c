/*
 * Capability decoding over synthetic configuration spaces: MSI in its four layouts and every
 * message count, MSI-X placement, PCI Express, power management, ACS, ATS, SR-IOV, ARI, and
 * malformed lists (loops, pointers into the header, structures running off the end).
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

/* Reads f the way enumeration does: header type, capabilities, BARs, MSI-X placement. */
static struct pci_dev *read_dev(void)
{
	struct pci_dev *d = pci_fixture_dev();

	pci_caps_read(d);
	pci_bars_read(d);
	pci_msix_check(d);
	return d;
}

static void msi_layouts(void **state)
{
	static const struct {
		bool is64, mask;
		uint8_t data, maskoff, pending;
	} cases[] = {
		{ false, false, 0x08, 0, 0 },
		{ true, false, 0x0c, 0, 0 },
		{ false, true, 0x08, 0x0c, 0x10 },
		{ true, true, 0x0c, 0x10, 0x14 },
	};

	for (size_t i = 0; i < 4; i++) {
		struct pci_dev *d;

		pci_fixture_setup(state);
		fake_pci_msi(f, 0x60, 0, cases[i].is64, cases[i].mask);
		d = read_dev();
		assert_int_equal(d->msi.cap, 0x60);
		assert_int_equal(d->msi.messages, 1);
		assert_int_equal(d->msi.addr64, cases[i].is64);
		assert_int_equal(d->msi.maskable, cases[i].mask);
		assert_int_equal(d->msi.data, 0x60 + cases[i].data);
		assert_int_equal(d->msi.mask, cases[i].mask ? 0x60 + cases[i].maskoff : 0);
		assert_int_equal(d->msi.pending, cases[i].mask ? 0x60 + cases[i].pending : 0);
		assert_int_equal(d->problems, 0);
	}
}

static void msi_message_counts(void **state)
{
	for (unsigned mmc = 0; mmc < 8; mmc++) {
		struct pci_dev *d;

		pci_fixture_setup(state);
		fake_pci_msi(f, 0x50, mmc, true, false);
		d = read_dev();
		assert_int_equal(d->msi.messages, mmc <= 5 ? 1u << mmc : 1);
		assert_int_equal(!!(d->problems & PCI_PROB_MSI), mmc > 5);
	}
	assert_true(fake_log_contains("W: pci 0000:00:03.0: MSI at 0x50 has reserved Multiple "
				      "Message Capable 7, using 1 message"));
}

static void msi_past_end(void **state)
{
	struct pci_dev *d;

	fake_pci_msi(f, 0xf0, 5, true, true);    /* 24 bytes from 0xf0 */
	d = read_dev();
	assert_int_equal(d->msi.cap, 0);
	assert_true(d->problems & PCI_PROB_MSI);
	assert_true(fake_log_contains("MSI capability at 0xf0 runs past 0xff, ignored"));

	pci_fixture_setup(state);
	fake_pci_msi(f, 0xf4, 5, false, false);  /* 10 bytes from 0xf4 fit */
	d = read_dev();
	assert_int_equal(d->msi.cap, 0xf4);
	assert_int_equal(d->msi.messages, 32);
}

static void msix_decode(void **state)
{
	struct pci_dev *d;

	fake_pci_bar(f, 0, 0xfe000000, 0x20000, 0);
	fake_pci_bar(f, 2, 0x4000000000ull, 0x10000, FAKE_BAR_64 | FAKE_BAR_PREF);
	fake_pci_msix(f, 0x70, 2048, 0, 0x10000, 2, 0x8000);
	d = read_dev();
	assert_int_equal(d->msix.cap, 0x70);
	assert_int_equal(d->msix.entries, 2048);
	assert_int_equal(d->msix.table_bir, 0);
	assert_int_equal(d->msix.table_off, 0x10000);
	assert_int_equal(d->msix.pba_bir, 2);
	assert_int_equal(d->msix.pba_off, 0x8000);
	assert_int_equal(d->problems, 0);
}

static void msix_bad_placement(void **state)
{
	struct pci_dev *d;

	/* Table past the end of its BAR; PBA in a BAR slot that is not implemented. */
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	fake_pci_msix(f, 0x70, 5, 0, 0xff8, 1, 0);
	d = read_dev();
	assert_int_equal(d->msix.entries, 5);
	assert_true(d->problems & PCI_PROB_MSIX);
	assert_true(fake_log_contains("MSI-X table 0xff8+0x50 runs past BAR0 (size 0x1000)"));
	assert_true(fake_log_contains("MSI-X PBA is in BAR1, not an implemented memory BAR"));

	/* Reserved BIR, and a BIR naming the upper half of a 64-bit BAR. */
	pci_fixture_setup(state);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, FAKE_BAR_64);
	fake_pci_msix(f, 0x70, 5, 7, 0, 1, 0);
	d = read_dev();
	assert_true(fake_log_contains("MSI-X table BIR 7 is not a BAR of this header"));
	assert_true(fake_log_contains("MSI-X PBA is in BAR1, not an implemented memory BAR"));

	/* An I/O BAR cannot hold the table. */
	pci_fixture_setup(state);
	fake_pci_bar(f, 4, 0xc000, 0x100, FAKE_BAR_IO);
	fake_pci_msix(f, 0x70, 1, 4, 0, 4, 0x80);
	d = read_dev();
	assert_true(fake_log_contains("MSI-X table is in BAR4, not an implemented memory BAR"));
}

static void msix_bir_beyond_bridge_bars(void **state)
{
	struct pci_dev *d;

	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	fake_pci_msix(f, 0x70, 1, 2, 0, 0, 0x800);
	d = read_dev();
	assert_true(fake_log_contains("pci 0000:00:04.0: MSI-X table BIR 2 is not a BAR of this "
				      "header"));
	assert_true(d->problems & PCI_PROB_MSIX);
}

static void express_and_friends(void **state)
{
	struct pci_dev *d;

	fake_pci_cap(f, 0x40, PCI_CAP_ID_PM);
	fake_pci_exp(f, 0x60, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_cap(f, 0xa0, 0x09);                     /* vendor specific: skipped */
	fake_pci_msi(f, 0xb0, 2, true, true);
	fake_pci_ext_cap(f, 0x100, 0x0001);              /* AER: skipped */
	fake_pci_ext_cap(f, 0x148, PCI_EXT_CAP_ID_ACS);
	fake_pci_set16(f, 0x148 + PCI_ACS_CAP, 0x1f);
	fake_pci_ext_cap(f, 0x150, PCI_EXT_CAP_ID_ARI);
	fake_pci_set16(f, 0x150 + PCI_ARI_CAP, 0x0300);
	fake_pci_ext_cap(f, 0x160, PCI_EXT_CAP_ID_ATS);
	fake_pci_set16(f, 0x160 + PCI_ATS_CAP, 5);
	fake_pci_ext_cap(f, 0x180, PCI_EXT_CAP_ID_SRIOV);
	fake_pci_set16(f, 0x180 + PCI_SRIOV_TOTAL_VF, 64);
	fake_pci_set16(f, 0x180 + PCI_SRIOV_VF_OFFSET, 0x180);
	fake_pci_set16(f, 0x180 + PCI_SRIOV_VF_STRIDE, 2);
	fake_pci_set16(f, 0x180 + PCI_SRIOV_VF_DID, 0x10ca);
	d = read_dev();
	assert_int_equal(d->pm_cap, 0x40);
	assert_int_equal(d->exp.cap, 0x60);
	assert_int_equal(d->exp.version, 2);
	assert_int_equal(d->exp.type, PCI_EXP_TYPE_ENDPOINT);
	assert_false(d->exp.ari_fwd);
	assert_int_equal(d->msi.cap, 0xb0);
	assert_int_equal(d->msi.messages, 4);
	assert_int_equal(d->ext.acs, 0x148);
	assert_int_equal(d->ext.acs_caps, 0x1f);
	assert_int_equal(d->ext.ari, 0x150);
	assert_int_equal(d->ext.ari_next_fn, 3);
	assert_int_equal(d->ext.ats, 0x160);
	assert_int_equal(d->ext.ats_qdepth, 5);
	assert_int_equal(d->ext.sriov, 0x180);
	assert_int_equal(d->ext.sriov_total_vfs, 64);
	assert_int_equal(d->ext.sriov_vf_offset, 0x180);
	assert_int_equal(d->ext.sriov_vf_stride, 2);
	assert_int_equal(d->ext.sriov_vf_device, 0x10ca);
	assert_int_equal(d->problems, 0);
}

static void port_ari_forwarding(void **state)
{
	struct pci_dev *d;

	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_DOWNSTREAM);
	fake_pci_set16(f, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	d = read_dev();
	assert_true(d->exp.ari_fwd);

	/* A version 1 capability has no Device Control 2. */
	pci_fixture_setup(state);
	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_DOWNSTREAM);
	fake_pci_set16(f, 0x40 + PCI_EXP_FLAGS, 1 | PCI_EXP_TYPE_DOWNSTREAM << 4);
	fake_pci_set16(f, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	d = read_dev();
	assert_int_equal(d->exp.version, 1);
	assert_false(d->exp.ari_fwd);
}

static void bridge_subsystem_ids(void **state)
{
	struct pci_dev *d;

	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_cap(f, 0x50, PCI_CAP_ID_SSVID);
	fake_pci_set16(f, 0x50 + PCI_SSVID_VENDOR, 0x1af4);
	fake_pci_set16(f, 0x50 + PCI_SSVID_DEVICE, 0x1100);
	d = read_dev();
	assert_int_equal(d->subsys_vendor, 0x1af4);
	assert_int_equal(d->subsys_device, 0x1100);
}

static void no_caps_without_status_bit(void **state)
{
	struct pci_dev *d;

	fake_pci_msi(f, 0x50, 1, false, false);
	f->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_CAP_LIST;
	d = read_dev();
	assert_int_equal(d->msi.cap, 0);
}

static void pointer_low_bits_ignored(void **state)
{
	struct pci_dev *d;

	fake_pci_msi(f, 0x50, 1, false, false);
	f->cfg[PCI_CAP_PTR] = 0x53;
	d = read_dev();
	assert_int_equal(d->msi.cap, 0x50);
	assert_int_equal(d->problems, 0);
}

static void cap_loop(void **state)
{
	struct pci_dev *d;

	fake_pci_msi(f, 0x40, 1, false, false);
	fake_pci_cap(f, 0x50, PCI_CAP_ID_PM);
	f->cfg[0x50 + PCI_CAP_NEXT] = 0x40;
	d = read_dev();
	assert_int_equal(d->msi.cap, 0x40);
	assert_int_equal(d->msi.messages, 2);
	assert_int_equal(d->pm_cap, 0x50);
	assert_true(d->problems & PCI_PROB_CAPS);
	assert_true(fake_log_contains("W: pci 0000:00:03.0: capability list loops back to 0x40, "
				      "list cut"));

	pci_fixture_setup(state);
	fake_pci_cap(f, 0x40, PCI_CAP_ID_PM);
	f->cfg[0x40 + PCI_CAP_NEXT] = 0x40;              /* points at itself */
	d = read_dev();
	assert_true(d->problems & PCI_PROB_CAPS);
}

static void cap_pointer_into_header(void **state)
{
	struct pci_dev *d;

	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x20;
	d = read_dev();
	assert_true(d->problems & PCI_PROB_CAPS);
	assert_true(fake_log_contains("capability pointer 0x20 is inside the header, list cut"));

	pci_fixture_setup(state);
	fake_pci_msi(f, 0x40, 1, false, false);
	f->cfg[0x40 + PCI_CAP_NEXT] = 0x04;
	d = read_dev();
	assert_int_equal(d->msi.cap, 0x40);
	assert_true(fake_log_contains("capability pointer 0x4 is inside the header, list cut"));
}

static void cap_reads_all_ones(void **state)
{
	struct pci_dev *d;

	fake_pci_cap(f, 0x40, PCI_CAP_ID_PM);
	f->cfg[0x40 + PCI_CAP_NEXT] = 0xfc;
	f->cfg[0xfc] = 0xff;
	f->cfg[0xfd] = 0xff;
	d = read_dev();
	assert_true(fake_log_contains("capability at 0xfc reads all ones, list cut"));
	assert_int_equal(d->pm_cap, 0x40);
}

static void express_cap_past_end(void **state)
{
	struct pci_dev *d;

	fake_pci_exp(f, 0xf0, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ACS);
	d = read_dev();
	assert_int_equal(d->exp.cap, 0);
	assert_int_equal(d->ext.acs, 0);                  /* not PCIe: no extended space */
	assert_true(fake_log_contains("PCI Express capability at 0xf0 runs past 0xff, ignored"));

	/* A version 1 endpoint may stop after Link Status (QEMU's e1000e: at 0xe0). */
	pci_fixture_setup(state);
	fake_pci_exp(f, 0xe0, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_set16(f, 0xe0 + PCI_EXP_FLAGS, 1);
	d = read_dev();
	assert_int_equal(d->exp.cap, 0xe0);
	assert_int_equal(d->problems, 0);

	/* A port whose Device Control 2 would lie past 0xff: no ARI forwarding read. */
	pci_fixture_setup(state);
	f = fake_pci_add(pci_bdf(0, 0, 4, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_exp(f, 0xe0, PCI_EXP_TYPE_ROOT_PORT);
	d = read_dev();
	assert_int_equal(d->exp.cap, 0xe0);
	assert_false(d->exp.ari_fwd);
	assert_true(fake_log_contains("PCI Express (Device Control 2) capability at 0xe0 runs "
				      "past 0xff"));
}

/* Every dword from 0x40 to 0xfc is a capability: 48 of them, all walked, no complaint. */
static void longest_list(void **state)
{
	struct pci_dev *d;

	for (unsigned off = 0x40; off <= 0xf8; off += 4)
		fake_pci_cap(f, (uint8_t)off, 0x09);
	fake_pci_cap(f, 0xfc, PCI_CAP_ID_PM);
	d = read_dev();
	assert_false(fake_log_contains("loops"));
	assert_false(fake_log_contains("list cut"));
	/* 0xfc + 8 runs past the end: the PM capability there is refused. */
	assert_int_equal(d->pm_cap, 0);
	assert_true(fake_log_contains("power management capability at 0xfc runs past 0xff"));
}

static void ext_loop(void **state)
{
	struct pci_dev *d;

	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ATS);
	fake_pci_ext_cap(f, 0x140, PCI_EXT_CAP_ID_ACS);
	fake_pci_set32(f, 0x140, fake_pci_get32(f, 0x140) | 0x100u << 20);
	d = read_dev();
	assert_int_equal(d->ext.ats, 0x100);
	assert_int_equal(d->ext.acs, 0x140);
	assert_true(d->problems & PCI_PROB_EXTCAPS);
	assert_true(fake_log_contains("extended capability list loops back to 0x100, list cut"));
}

static void ext_pointer_below_0x100(void **state)
{
	struct pci_dev *d;

	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ATS);
	fake_pci_set32(f, 0x100, fake_pci_get32(f, 0x100) | 0x40u << 20);
	d = read_dev();
	assert_int_equal(d->ext.ats, 0x100);
	assert_true(fake_log_contains("extended capability pointer 0x40 is below 0x100, list cut"));
}

static void ext_past_end_and_garbage(void **state)
{
	struct pci_dev *d;

	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ext_cap(f, 0x100, 0x0001);
	fake_pci_ext_cap(f, 0xfe0, PCI_EXT_CAP_ID_SRIOV);    /* 0x40 bytes do not fit */
	d = read_dev();
	assert_int_equal(d->ext.sriov, 0);
	assert_true(fake_log_contains("SR-IOV capability at 0xfe0 runs past 0xfff, ignored"));

	pci_fixture_setup(state);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ext_cap(f, 0x100, 0x0001);
	fake_pci_set32(f, 0x100, fake_pci_get32(f, 0x100) | 0x200u << 20);
	fake_pci_set32(f, 0x200, 0xffffffff);
	d = read_dev();
	assert_true(fake_log_contains("extended capability at 0x200 reads 0xffffffff, list cut"));

	/* No extended capabilities: a zero header at 0x100 is quietly the end. */
	pci_fixture_setup(state);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	d = read_dev();
	assert_int_equal(d->problems, 0);
}

/* The longest extended list, a capability in every dword, is walked to its end. */
static void longest_ext_list(void **state)
{
	struct pci_dev *d;

	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	for (unsigned off = 0x100; off < 0xff8; off += 4)
		fake_pci_ext_cap(f, (uint16_t)off, 0x0b);
	fake_pci_ext_cap(f, 0xff8, PCI_EXT_CAP_ID_ACS);
	d = read_dev();
	assert_int_equal(d->ext.acs, 0xff8);
	assert_int_equal(d->problems, 0);
}

static void first_of_duplicates_wins(void **state)
{
	struct pci_dev *d;

	fake_pci_msi(f, 0x50, 0, false, false);
	fake_pci_msi(f, 0x60, 3, false, false);
	d = read_dev();
	assert_int_equal(d->msi.cap, 0x50);
	assert_int_equal(d->msi.messages, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pci_fixture_setup, pci_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(msi_layouts),
		T(msi_message_counts),
		T(msi_past_end),
		T(msix_decode),
		T(msix_bad_placement),
		T(msix_bir_beyond_bridge_bars),
		T(express_and_friends),
		T(port_ari_forwarding),
		T(bridge_subsystem_ids),
		T(no_caps_without_status_bit),
		T(pointer_low_bits_ignored),
		T(cap_loop),
		T(cap_pointer_into_header),
		T(cap_reads_all_ones),
		T(express_cap_past_end),
		T(longest_list),
		T(ext_loop),
		T(ext_pointer_below_0x100),
		T(ext_past_end_and_garbage),
		T(longest_ext_list),
		T(first_of_duplicates_wins),
	};
	return cmocka_run_group_tests_name("pci-caps", tests, NULL, NULL);
}
