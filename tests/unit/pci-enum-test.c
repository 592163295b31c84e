/*
 * Enumeration over synthetic topologies: root bus, multi-function devices, a conventional PCI
 * bridge, PCIe root ports, a switch, a PCIe-to-PCI bridge, ARI, extra root buses, segments,
 * and bus numbers that do not add up. Asserts on the `@pci` records and the table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "pci/pci.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/fake-pci-cfg.h"

static const struct pci_ecam q35 = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				     .bus_end = 0xff };

static struct pci_bdf B(uint8_t bus, uint8_t dev, uint8_t fn)
{
	return pci_bdf(0, bus, dev, fn);
}

static int setup(void **state)
{
	fake_pci_reset();
	fake_log_reset();
	pci_table_reset();
	return 0;
}

/* Every test ends with no misaligned access and no BAR sized while decoding (host bridges
 * excepted), and with every command register as it was. */
static int teardown(void **state)
{
	assert_int_equal(fake_pci_misaligned, 0);
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_dev *d = pci_dev_at(i);
		struct fake_pci_fn *f = fake_pci_find(d->bdf);
		assert_non_null(f);
		if ((d->class & 0xffff00) != 0x060000)
			assert_int_equal(f->sized_while_decoding, 0);
		assert_int_equal(f->cfg[PCI_COMMAND] & 7, 7);
	}
	return 0;
}

/* True when the log holds exactly this line. */
static bool has_line(const char *line)
{
	char needle[512];
	size_t n = strlen(line);

	snprintf(needle, sizeof(needle), "\n%s\n", line);
	return strstr(fake_log_buf, needle) || (!strncmp(fake_log_buf, line, n) &&
						 fake_log_buf[n] == '\n');
}

#define assert_line(l) do { \
	if (!has_line(l)) \
		fail_msg("missing line \"%s\" in:\n%s", l, fake_log_buf); \
} while (0)

static unsigned count_lines(const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = fake_log_buf; *p; p = strchr(p, '\n') + 1) {
		n += !strncmp(p, prefix, len);
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

static struct fake_pci_fn *add(struct pci_bdf b, uint16_t v, uint16_t d, uint32_t class,
			       uint8_t hdr)
{
	return fake_pci_add(b, v, d, class, hdr);
}

static struct fake_pci_fn *root_port(struct pci_bdf b, uint8_t sec, uint8_t sub)
{
	struct fake_pci_fn *f = add(b, 0x1b36, 0x000c, 0x060400, 1);

	fake_pci_bridge(f, b.bus, sec, sub);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	fake_pci_msix(f, 0x80, 1, 0, 0, 0, 0x800);
	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	return f;
}

/*
 * A q35-like machine:
 *   00:00.0 host bridge          00:01.0 VGA            00:02.0 edu (MSI)
 *   00:03.0 pci-bridge -> 01: e1000 at 01:00.0, 01:01.0
 *   00:04.0 root port -> 02: nvme (MSI-X, ATS, SR-IOV, ACS)
 *   00:05.0 root port -> 03: switch up port -> 04: down port -> 05: endpoint (MSI x8)
 *   00:06.0 pcie-pci bridge -> 06: 06:02.0, pci-bridge 06:03.0 -> 07: 07:00.0
 *   00:1f.0/.2/.3 ICH9 LPC, SATA (MSI 64), SMBus
 */
static void build_q35(void)
{
	struct fake_pci_fn *f;

	add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);

	f = add(B(0, 1, 0), 0x1234, 0x1111, 0x030000, 0);
	fake_pci_bar(f, 0, 0xfd000000, 16 << 20, FAKE_BAR_PREF);
	fake_pci_bar(f, 2, 0xfebf0000, 0x1000, 0);

	f = add(B(0, 2, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	fake_pci_bar(f, 0, 0xfea00000, 1 << 20, 0);
	fake_pci_msi(f, 0x40, 0, false, false);

	f = add(B(0, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);
	fake_pci_bar(f, 0, 0xfeb00000, 0x100, 0);
	fake_pci_msi(f, 0x4c, 0, true, true);
	f = add(B(1, 0, 0), 0x8086, 0x100e, 0x020000, 0);
	fake_pci_bar(f, 0, 0xfe800000, 0x20000, 0);
	fake_pci_bar(f, 1, 0xc000, 0x40, FAKE_BAR_IO);
	add(B(1, 1, 0), 0x8086, 0x100e, 0x020000, 0);

	root_port(B(0, 4, 0), 2, 2);
	f = add(B(2, 0, 0), 0x1b36, 0x0010, 0x010802, 0);
	fake_pci_bar(f, 0, 0x800000000ull, 0x4000, FAKE_BAR_64);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_msix(f, 0x80, 65, 0, 0x2000, 0, 0x3000);
	fake_pci_cap(f, 0x90, PCI_CAP_ID_PM);
	fake_pci_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ATS);
	fake_pci_set16(f, 0x100 + PCI_ATS_CAP, 0);
	fake_pci_ext_cap(f, 0x140, PCI_EXT_CAP_ID_SRIOV);
	fake_pci_set16(f, 0x140 + PCI_SRIOV_TOTAL_VF, 7);
	fake_pci_set16(f, 0x140 + PCI_SRIOV_VF_OFFSET, 0x80);
	fake_pci_set16(f, 0x140 + PCI_SRIOV_VF_STRIDE, 1);
	fake_pci_set16(f, 0x140 + PCI_SRIOV_VF_DID, 0x0011);
	fake_pci_ext_cap(f, 0x200, PCI_EXT_CAP_ID_ACS);
	fake_pci_set16(f, 0x200 + PCI_ACS_CAP, 0x5f);
	add(B(2, 1, 0), 0x1b36, 0x0010, 0x010802, 0);   /* a second device below a port (QEMU) */

	root_port(B(0, 5, 0), 3, 5);
	f = add(B(3, 0, 0), 0x10b5, 0x8725, 0x060400, 1);
	fake_pci_bridge(f, 3, 4, 5);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_UPSTREAM);
	f = add(B(4, 0, 0), 0x10b5, 0x8725, 0x060400, 1);
	fake_pci_bridge(f, 4, 5, 5);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_DOWNSTREAM);
	f = add(B(5, 0, 0), 0x8086, 0x1533, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_msi(f, 0x50, 3, true, true);
	fake_pci_bar(f, 0, 0xfe400000, 0x100000, 0);

	f = add(B(0, 6, 0), 0x1b36, 0x000e, 0x060400, 1);
	fake_pci_bridge(f, 0, 6, 7);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_PCI_BRIDGE);
	add(B(6, 2, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	f = add(B(6, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 6, 7, 7);
	add(B(7, 0, 0), 0x8086, 0x100e, 0x020000, 0);

	add(B(0, 0x1f, 0), 0x8086, 0x2918, 0x060100, 0x80);
	f = add(B(0, 0x1f, 2), 0x8086, 0x2922, 0x010601, 0);
	fake_pci_bar(f, 4, 0xc040, 0x20, FAKE_BAR_IO);
	fake_pci_bar(f, 5, 0xfebf1000, 0x1000, 0);
	fake_pci_msi(f, 0x80, 0, true, false);
	f = add(B(0, 0x1f, 3), 0x8086, 0x2930, 0x0c0500, 0);
	fake_pci_bar(f, 4, 0x700, 0x40, FAKE_BAR_IO);
}

static void q35_records(void **state)
{
	build_q35();
	assert_int_equal(pci_init(&q35, 1), 20);
	assert_int_equal(fake_pci_init_regions, 1);
	assert_line("@pci bdf=0000:00:00.0 id=8086:29c0 class=060000 sid=0x0000 msi=0 msix=0 bridge=-");
	assert_line("@pci bdf=0000:00:02.0 id=1234:11e8 class=00ff00 sid=0x0010 msi=1 msix=0 bridge=-");
	assert_line("@pci bdf=0000:00:03.0 id=1b36:0001 class=060400 sid=0x0018 msi=1 msix=0 bridge=-");
	assert_line("@pci bdf=0000:01:00.0 id=8086:100e class=020000 sid=0x0100 msi=0 msix=0 bridge=0000:00:03.0");
	assert_line("@pci bdf=0000:01:01.0 id=8086:100e class=020000 sid=0x0108 msi=0 msix=0 bridge=0000:00:03.0");
	assert_line("@pci bdf=0000:00:04.0 id=1b36:000c class=060400 sid=0x0020 msi=0 msix=1 bridge=-");
	assert_line("@pci bdf=0000:02:00.0 id=1b36:0010 class=010802 sid=0x0200 msi=0 msix=65 bridge=0000:00:04.0");
	assert_line("@pci bdf=0000:03:00.0 id=10b5:8725 class=060400 sid=0x0300 msi=0 msix=0 bridge=0000:00:05.0");
	assert_line("@pci bdf=0000:04:00.0 id=10b5:8725 class=060400 sid=0x0400 msi=0 msix=0 bridge=0000:03:00.0");
	assert_line("@pci bdf=0000:05:00.0 id=8086:1533 class=020000 sid=0x0500 msi=8 msix=0 bridge=0000:04:00.0");
	assert_line("@pci bdf=0000:06:02.0 id=1234:11e8 class=00ff00 sid=0x0610 msi=0 msix=0 bridge=0000:00:06.0");
	assert_line("@pci bdf=0000:07:00.0 id=8086:100e class=020000 sid=0x0700 msi=0 msix=0 bridge=0000:06:03.0");
	assert_line("@pci bdf=0000:00:1f.0 id=8086:2918 class=060100 sid=0x00f8 msi=0 msix=0 bridge=-");
	assert_line("@pci bdf=0000:00:1f.2 id=8086:2922 class=010601 sid=0x00fa msi=1 msix=0 bridge=-");
	assert_line("@pci bdf=0000:00:1f.3 id=8086:2930 class=0c0500 sid=0x00fb msi=0 msix=0 bridge=-");
	assert_int_equal(count_lines("@pci "), 20);
	assert_non_null(pci_find(B(2, 1, 0)));
	assert_null(pci_find(B(0, 0x1f, 1)));
	assert_int_equal(fake_log_errors, 0);
	assert_false(fake_log_contains("W: "));
	assert_true(fake_log_contains("I: pci: 20 functions, 0 with problems"));
}

static void q35_console_table(void **state)
{
	build_q35();
	pci_init(&q35, 1);
	assert_true(fake_log_contains("I: pci 0000:00:01.0 1234:1111 030000 pci        "
				      "bar0=m32p:0xfd000000/16M bar2=m32:0xfebf0000/4K\n"));
	assert_true(fake_log_contains("I: pci 0000:02:00.0 1b36:0010 010802 pcie-ep    "
				      "msix=65@bar0+0x2000,pba@bar0+0x3000 "
				      "bar0=m64:0x800000000/16K\n"));
	assert_true(fake_log_contains("I: pci 0000:00:05.0 1b36:000c 060400 root-port  "
				      "bus=03-05 msix=1@bar0+0,pba@bar0+0x800 "
				      "bar0=m32:0xfe000000/4K\n"));
	assert_true(fake_log_contains("I: pci 0000:07:00.0 8086:100e 020000 pci        "
				      "alias=0600\n"));
	assert_true(fake_log_contains("I: pci 0000:00:1f.2 8086:2922 010601 pci        "
				      "msi=1/64 bar4=io:0xc040/32 bar5=m32:0xfebf1000/4K\n"));
	/* Table lines come before the records. */
	assert_true(strstr(fake_log_buf, "I: pci 0000:00:1f.3") < strstr(fake_log_buf, "@pci "));
}

static void q35_structs(void **state)
{
	struct pci_dev *d, *u;

	build_q35();
	pci_init(&q35, 1);

	d = pci_find(B(1, 0, 0));
	assert_non_null(d);
	u = pci_dev_upstream(d);
	assert_true(pci_bdf_eq(u->bdf, B(0, 3, 0)));
	assert_int_equal(d->depth, 1);
	/* Behind a conventional PCI bridge the bridge's own id reaches the IOMMU. */
	assert_int_equal(d->sid, 0x0100);
	assert_int_equal(d->dma_alias, 0x0018);
	assert_int_equal(d->alias_bridge, pci_dev_index(u));
	assert_int_equal(d->bar[0].size, 0x20000);
	assert_int_equal(d->bar[0].addr, 0xfe800000);
	assert_int_equal(d->bar[1].flags, PCI_BAR_F_IO);
	assert_int_equal(d->bar[1].addr, 0xc000);
	assert_int_equal(d->bar[1].size, 0x40);
	assert_int_equal(d->subsys_vendor, 0x1af4);

	/* Behind a PCIe-to-PCI bridge: its secondary bus with devfn 0, for every level below. */
	d = pci_find(B(6, 2, 0));
	assert_int_equal(d->dma_alias, 0x0600);
	assert_true(pci_bdf_eq(pci_dev_at(d->alias_bridge)->bdf, B(0, 6, 0)));
	d = pci_find(B(7, 0, 0));
	assert_int_equal(d->dma_alias, 0x0600);
	assert_true(pci_bdf_eq(pci_dev_at(d->alias_bridge)->bdf, B(0, 6, 0)));
	assert_int_equal(d->depth, 2);
	d = pci_find(B(6, 3, 0));
	assert_int_equal(d->dma_alias, 0x0600);
	assert_int_equal(d->sec_bus, 7);
	/* PCIe ports do not alias. */
	d = pci_find(B(5, 0, 0));
	assert_int_equal(d->dma_alias, 0x0500);
	assert_int_equal(d->alias_bridge, PCI_NONE);
	assert_int_equal(d->depth, 3);
	assert_int_equal(d->msi.messages, 8);
	assert_true(d->msi.addr64);
	assert_true(d->msi.maskable);
	assert_int_equal(d->msi.cap, 0x50);
	assert_int_equal(d->msi.data, 0x50 + 0x0c);
	assert_int_equal(d->msi.mask, 0x50 + 0x10);
	assert_int_equal(d->msi.pending, 0x50 + 0x14);
	assert_int_equal(d->exp.type, PCI_EXP_TYPE_ENDPOINT);

	d = pci_find(B(2, 0, 0));
	assert_int_equal(d->bar[0].flags, PCI_BAR_F_MEM64);
	assert_int_equal(d->bar[0].addr, 0x800000000ull);
	assert_int_equal(d->bar[0].size, 0x4000);
	assert_int_equal(d->bar[1].flags, PCI_BAR_F_UPPER);
	assert_int_equal(d->bar[1].size, 0);
	assert_int_equal(d->msix.entries, 65);
	assert_int_equal(d->msix.table_off, 0x2000);
	assert_int_equal(d->pm_cap, 0x90);
	assert_int_equal(d->ext.ats, 0x100);
	assert_int_equal(d->ext.ats_qdepth, 32);
	assert_int_equal(d->ext.sriov, 0x140);
	assert_int_equal(d->ext.sriov_total_vfs, 7);
	assert_int_equal(d->ext.sriov_vf_offset, 0x80);
	assert_int_equal(d->ext.sriov_vf_device, 0x0011);
	assert_int_equal(d->ext.acs, 0x200);
	assert_int_equal(d->ext.acs_caps, 0x5f);

	d = pci_find(B(0, 0x1f, 0));
	assert_true(d->multifn);
	d = pci_find(B(0, 3, 0));
	assert_true(pci_dev_is_bridge(d));
	assert_int_equal(d->nbars, 2);
	assert_int_equal(d->bar[0].size, 0x100);
	assert_int_equal(d->upstream, PCI_NONE);
	assert_null(pci_dev_upstream(d));
	assert_null(pci_dev_at(pci_dev_count()));
	assert_int_equal(pci_dev_index(pci_dev_at(3)), 3);
}

/* The table is depth first: a bridge's subtree follows it before its next sibling's. */
static void depth_first_order(void **state)
{
	int rp4, rp5, nvme, sw;

	build_q35();
	pci_init(&q35, 1);
	rp4 = pci_dev_index(pci_find(B(0, 4, 0)));
	rp5 = pci_dev_index(pci_find(B(0, 5, 0)));
	nvme = pci_dev_index(pci_find(B(2, 0, 0)));
	sw = pci_dev_index(pci_find(B(3, 0, 0)));
	assert_true(rp4 < rp5);
	assert_true(nvme < sw);
	assert_true(rp5 < nvme);    /* the root bus is scanned whole first */
}

static void port_fallback_walks_all_of_segment0(void **state)
{
	add(B(0, 0, 0), 0x8086, 0x1237, 0x060000, 0);
	add(B(0, 2, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	assert_int_equal(pci_init(NULL, 0), 2);
	assert_int_equal(fake_pci_init_regions, 0);
	assert_line("@pci bdf=0000:00:02.0 id=1234:11e8 class=00ff00 sid=0x0010 msi=0 msix=0 bridge=-");
}

static void segments_and_partial_ranges(void **state)
{
	const struct pci_ecam r[] = {
		{ .base = 0xb0000000, .segment = 0, .bus_start = 0, .bus_end = 0x3f },
		{ .base = 0xc0000000, .segment = 1, .bus_start = 0x40, .bus_end = 0x7f },
	};
	struct fake_pci_fn *f;

	add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	add(pci_bdf(1, 0x40, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	f = add(pci_bdf(1, 0x40, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0x40, 0x41, 0x41);
	add(pci_bdf(1, 0x41, 3, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	add(pci_bdf(1, 0, 3, 0), 0x1234, 0x11e8, 0x00ff00, 0);     /* outside segment 1's range */

	assert_int_equal(pci_init(r, 2), 4);
	assert_line("@pci bdf=0001:41:03.0 id=1234:11e8 class=00ff00 sid=0x4118 msi=0 msix=0 bridge=0001:40:01.0");
	assert_null(pci_find(pci_bdf(1, 0, 3, 0)));
}

/* A second host bridge's root bus (bus 0x80 here) hangs under no bridge of bus 0. */
static void extra_root_bus(void **state)
{
	struct fake_pci_fn *f;

	add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 0x7f);
	add(B(0x20, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);   /* in 00:01.0's range, unreachable */
	add(B(0x80, 0, 0), 0x1b36, 0x000b, 0x060000, 0);
	f = add(B(0x80, 1, 0), 0x1b36, 0x000c, 0x060400, 1);
	fake_pci_bridge(f, 0x80, 0x81, 0x81);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ROOT_PORT);
	add(B(0x81, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);

	assert_int_equal(pci_init(&q35, 1), 5);
	assert_true(fake_log_contains("bus 0000:80 is under no bridge"));
	assert_line("@pci bdf=0000:80:00.0 id=1b36:000b class=060000 sid=0x8000 msi=0 msix=0 bridge=-");
	assert_line("@pci bdf=0000:81:00.0 id=1234:11e8 class=00ff00 sid=0x8100 msi=0 msix=0 bridge=0000:80:01.0");
	assert_null(pci_find(B(0x20, 0, 0)));
}

static void ari_chain(void **state)
{
	struct fake_pci_fn *rp, *f;

	rp = root_port(B(0, 1, 0), 1, 1);
	fake_pci_set16(rp, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = add(B(1, 0, 0), 0x8086, 0x10fb, 0x020000, 0);    /* no multi-function bit */
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 1);
	f = add(B(1, 0, 1), 0x8086, 0x10fb, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 9);
	f = add(pci_bdf(0, 1, 1, 1), 0x8086, 0x10fb, 0x020000, 0);   /* function 9 */
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_msi(f, 0x60, 2, true, false);
	fake_pci_ari(f, 0x100, 0);
	add(B(1, 0, 2), 0x8086, 0x10fb, 0x020000, 0);         /* not in the chain */

	assert_int_equal(pci_init(&q35, 1), 4);
	assert_true(pci_find(B(0, 1, 0))->exp.ari_fwd);
	assert_line("@pci bdf=0000:01:01.1 id=8086:10fb class=020000 sid=0x0109 msi=4 msix=0 bridge=0000:00:01.0");
	assert_null(pci_find(B(1, 0, 2)));
	assert_int_equal(pci_find(B(1, 0, 1))->ext.ari_next_fn, 9);
}

/* A next function without an ARI capability of its own ends the chain with a warning. */
static void ari_chain_next_without_ari(void **state)
{
	struct fake_pci_fn *rp, *f;

	rp = root_port(B(0, 1, 0), 1, 1);
	fake_pci_set16(rp, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = add(B(1, 0, 0), 0x8086, 0x10fb, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 2);
	f = add(B(1, 0, 2), 0x8086, 0x10fb, 0x020000, 0);       /* no ARI capability */
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	f = add(B(1, 0, 3), 0x8086, 0x10fb, 0x020000, 0);       /* after the cut */
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 0);

	assert_int_equal(pci_init(&q35, 1), 3);
	assert_true(fake_log_contains("W: pci 0000:01:00.2: no ARI capability in an ARI chain, "
				      "chain cut"));
	assert_int_equal(pci_find(B(1, 0, 2))->problems, PCI_PROB_ARI);
	assert_int_equal(pci_find(B(1, 0, 0))->problems, 0);
	assert_null(pci_find(B(1, 0, 3)));
}

static void ari_chain_malformed(void **state)
{
	struct fake_pci_fn *rp, *f;

	rp = root_port(B(0, 1, 0), 1, 1);
	fake_pci_set16(rp, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = add(B(1, 0, 0), 0x8086, 0x10fb, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 4);
	f = add(B(1, 0, 4), 0x8086, 0x10fb, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 0);         /* back to 0 would loop: 0 ends the chain */
	fake_pci_set16(f, 0x100 + PCI_ARI_CAP, 2 << 8);   /* backwards: cut */

	rp = root_port(B(0, 2, 0), 2, 2);
	fake_pci_set16(rp, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = add(B(2, 0, 0), 0x8086, 0x10fb, 0x020000, 0);
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	fake_pci_ari(f, 0x100, 0x30);      /* absent */

	rp = root_port(B(0, 3, 0), 3, 3);
	fake_pci_set16(rp, 0x40 + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	f = add(B(3, 0, 0), 0x8086, 0x10fb, 0x020000, 0x80);    /* no ARI: functions 0-7 */
	fake_pci_exp(f, 0x40, PCI_EXP_TYPE_ENDPOINT);
	add(B(3, 0, 5), 0x8086, 0x10fb, 0x020000, 0);

	assert_int_equal(pci_init(&q35, 1), 8);
	assert_true(fake_log_contains("pci 0000:01:00.4: ARI next function 2 does not follow 4"));
	assert_true(pci_find(B(1, 0, 4))->problems & PCI_PROB_ARI);
	assert_true(fake_log_contains("I: pci 0000:02:00.0: ARI next function 48 is absent, "
				      "chain ends"));
	assert_int_equal(pci_find(B(2, 0, 0))->problems, 0);
	assert_non_null(pci_find(B(3, 0, 5)));
}

/* A device below a port that ignores the device number answers at every number: one record. */
static void port_phantom_devices(void **state)
{
	add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	root_port(B(0, 1, 0), 1, 1);
	for (uint8_t dev = 0; dev < 32; dev++) {
		struct fake_pci_fn *f = add(B(1, dev, 0), 0x1234, 0x11e8, 0x00ff00, 0);
		fake_pci_bar(f, 0, 0xfe000000, 0x100000, 0);
	}
	assert_int_equal(pci_init(&q35, 1), 3);
	assert_non_null(pci_find(B(1, 0, 0)));
	assert_null(pci_find(B(1, 5, 0)));
}

static void function0_decides_when_present(void **state)
{
	add(B(0, 0, 0), 0x8086, 0x29c0, 0x060000, 0);
	add(B(0, 3, 1), 0x8086, 0x2922, 0x010601, 0);     /* no function 0: probed anyway */
	add(B(0, 4, 0), 0x8086, 0x2922, 0x010601, 0);     /* single function ... */
	add(B(0, 4, 1), 0x8086, 0x2922, 0x010601, 0);     /* ... so a phantom, never looked at */
	assert_int_equal(pci_init(&q35, 1), 3);
	assert_non_null(pci_find(B(0, 3, 1)));
	assert_null(pci_find(B(0, 4, 1)));
}

/* ---- bus numbers that do not add up ---- */

static void bridge_secondary_out_of_range(void **state)
{
	struct fake_pci_fn *f;

	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 2);
	f = add(B(1, 0, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 1, 5, 5);        /* outside 02-02 */
	f = add(B(1, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 1, 1, 1);        /* its own bus */
	f = add(B(1, 2, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 1, 0, 0);        /* never configured */
	f = add(B(1, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 1, 2, 9);        /* subordinate beyond its parent's: cut to 02 */
	add(B(2, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);

	assert_int_equal(pci_init(&q35, 1), 6);
	assert_true(fake_log_contains("W: pci 0000:01:00.0: secondary bus 05 is beyond 02, the end of the range"));
	assert_true(fake_log_contains("W: pci 0000:01:01.0: secondary bus 01 is not above its own bus 01"));
	assert_true(fake_log_contains("W: pci 0000:01:02.0: bridge has no bus numbers"));
	assert_true(fake_log_contains("W: pci 0000:01:03.0: subordinate bus 09 is beyond 02"));
	assert_true(pci_find(B(1, 0, 0))->problems & PCI_PROB_BUS);
	assert_line("@pci bdf=0000:02:00.0 id=1234:11e8 class=00ff00 sid=0x0200 msi=0 msix=0 bridge=0000:01:03.0");
	assert_true(fake_log_contains("I: pci: 6 functions, 4 with problems"));
	assert_int_equal(fake_log_errors, 0);
}

/* A bridge outside its parent's range whose bus has devices: they are found as a root bus,
 * and the report says so. */
static void bridge_out_of_range_bus_found_as_root(void **state)
{
	struct fake_pci_fn *f;

	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);
	f = add(B(1, 0, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 1, 5, 5);
	add(B(5, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);

	assert_int_equal(pci_init(&q35, 1), 3);
	assert_true(fake_log_contains("pci 0000:01:00.0: secondary bus 05 is beyond 01"));
	assert_true(fake_log_contains("bus 0000:05 is under no bridge"));
	assert_line("@pci bdf=0000:05:00.0 id=1234:11e8 class=00ff00 sid=0x0500 msi=0 msix=0 bridge=-");
}

static void bridge_below_own_bus(void **state)
{
	struct fake_pci_fn *f;

	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 2, 3);
	f = add(B(2, 0, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 2, 0, 3);        /* back to the root bus: would loop */
	assert_int_equal(pci_init(&q35, 1), 2);
	assert_true(fake_log_contains("pci 0000:02:00.0: secondary bus 00 is not above its own bus 02"));
}

static void bus_reached_twice(void **state)
{
	struct fake_pci_fn *f;

	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);
	f = add(B(0, 2, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);
	f = add(B(0, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 2, 4);
	f = add(B(0, 4, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 4, 4);        /* inside 00:03.0's range */
	add(B(1, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);

	assert_int_equal(pci_init(&q35, 1), 5);
	assert_true(fake_log_contains("pci 0000:00:02.0: secondary bus 01 was reached before"));
	assert_true(fake_log_contains("pci 0000:00:04.0: buses 04-04 overlap the range of another "
				      "bridge"));
	assert_int_equal(count_lines("@pci bdf=0000:01:00.0 "), 1);
	assert_line("@pci bdf=0000:01:00.0 id=1234:11e8 class=00ff00 sid=0x0100 msi=0 msix=0 bridge=0000:00:01.0");
}

/* A chain of 256 bridges, each one bus deeper, ends at bus ff without recursion trouble. */
static void deep_chain(void **state)
{
	struct fake_pci_fn *f;

	for (unsigned b = 0; b < 0xff; b++) {
		f = add(B((uint8_t)b, 0, 0), 0x1b36, 0x0001, 0x060400, 1);
		fake_pci_bridge(f, (uint8_t)b, (uint8_t)(b + 1), 0xff);
	}
	f = add(B(0xff, 0, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0xff, 0xff, 0xff);
	assert_int_equal(pci_init(&q35, 1), 256);
	assert_int_equal(pci_find(B(0xff, 0, 0))->depth, 255);
	assert_true(fake_log_contains("pci 0000:ff:00.0: secondary bus ff is not above its own bus ff"));
}

static void table_full(void **state)
{
	for (unsigned b = 0; b < 9; b++)
		for (unsigned dev = 0; dev < 32; dev++)
			add(B((uint8_t)b, (uint8_t)dev, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	assert_int_equal(pci_init(&q35, 1), PCI_MAX_DEVS);
	assert_true(fake_log_contains("more than 256 functions, 0000:08:00.0 and later ones ignored"));
	assert_int_equal(count_lines("W: pci: more than"), 1);
}

/* What read_header takes from each header type: revision, subsystem ids (normal at 0x2c,
 * CardBus at 0x40), BAR count, and the bridge's bus numbers. */
static void header_fields(void **state)
{
	struct fake_pci_fn *f;
	struct pci_dev *d;

	f = add(B(0, 1, 0), 0x1234, 0x5678, 0x020000, 0);
	fake_pci_set8(f, PCI_CLASS_REVISION, 0x5a);
	fake_pci_set16(f, PCI_SUBSYS_VENDOR_ID, 0x17aa);
	fake_pci_set16(f, PCI_SUBSYS_ID, 0xbeef);
	f = add(B(0, 2, 0), 0x104c, 0xac56, 0x060700, 2);         /* CardBus bridge */
	fake_pci_set16(f, PCI_CARDBUS_SUBSYS_VENDOR_ID, 0x1028);
	fake_pci_set16(f, PCI_CARDBUS_SUBSYS_ID, 0x0123);
	f = add(B(0, 3, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 1, 1);

	assert_int_equal(pci_init(&q35, 1), 3);
	d = pci_find(B(0, 1, 0));
	assert_int_equal(d->revision, 0x5a);
	assert_int_equal(d->hdr_type, PCI_HEADER_NORMAL);
	assert_int_equal(d->nbars, PCI_NORMAL_BARS);
	assert_int_equal(d->subsys_vendor, 0x17aa);
	assert_int_equal(d->subsys_device, 0xbeef);
	d = pci_find(B(0, 2, 0));
	assert_int_equal(d->hdr_type, PCI_HEADER_CARDBUS);
	assert_int_equal(d->nbars, PCI_CARDBUS_BARS);
	assert_int_equal(d->subsys_vendor, 0x1028);
	assert_int_equal(d->subsys_device, 0x0123);
	assert_int_equal(d->problems, 0);
	d = pci_find(B(0, 3, 0));
	assert_int_equal(d->hdr_type, PCI_HEADER_BRIDGE);
	assert_int_equal(d->nbars, PCI_BRIDGE_BARS);
	assert_int_equal(d->pri_bus, 0);
	assert_int_equal(d->sec_bus, 1);
	assert_int_equal(d->sub_bus, 1);
	assert_int_equal(fake_log_errors, 0);
	assert_false(fake_log_contains("W: "));
}

/* A wrong primary bus is reported but the bridge is still walked; a subordinate below the
 * secondary bus is not walked. */
static void bridge_primary_and_subordinate(void **state)
{
	struct fake_pci_fn *f;

	f = add(B(0, 1, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 5, 1, 1);        /* primary says 05, it sits on 00 */
	add(B(1, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);
	f = add(B(0, 2, 0), 0x1b36, 0x0001, 0x060400, 1);
	fake_pci_bridge(f, 0, 3, 2);        /* subordinate below secondary */
	add(B(3, 0, 0), 0x1234, 0x11e8, 0x00ff00, 0);

	assert_int_equal(pci_init(&q35, 1), 4);
	assert_true(fake_log_contains("W: pci 0000:00:01.0: primary bus 05, but it sits on bus 00"));
	assert_int_equal(pci_find(B(0, 1, 0))->problems, PCI_PROB_BUS);
	assert_line("@pci bdf=0000:01:00.0 id=1234:11e8 class=00ff00 sid=0x0100 msi=0 msix=0 bridge=0000:00:01.0");
	assert_true(fake_log_contains("W: pci 0000:00:02.0: subordinate bus 02 is below secondary "
				      "bus 03, not walked"));
	assert_int_equal(pci_find(B(0, 2, 0))->problems, PCI_PROB_BUS);
	/* Bus 03 is then found only as a root bus of its own. */
	assert_true(fake_log_contains("bus 0000:03 is under no bridge"));
	assert_line("@pci bdf=0000:03:00.0 id=1234:11e8 class=00ff00 sid=0x0300 msi=0 msix=0 bridge=-");
}

static void unknown_header_type(void **state)
{
	struct fake_pci_fn *f = add(B(0, 1, 0), 0x1234, 0x5678, 0xff0000, 0x05);

	fake_pci_bar(f, 0, 0xfe000000, 0x1000, 0);
	assert_int_equal(pci_init(&q35, 1), 1);
	assert_true(fake_log_contains("pci 0000:00:01.0: unknown header type 5"));
	assert_int_equal(pci_find(B(0, 1, 0))->bar[0].size, 0);
	assert_line("@pci bdf=0000:00:01.0 id=1234:5678 class=ff0000 sid=0x0008 msi=0 msix=0 bridge=-");
}

static void bdf_format(void **state)
{
	char b[PCI_BDF_STRLEN];

	assert_string_equal(pci_bdf_fmt(b, pci_bdf(0x1a, 0xb, 0x1f, 7)), "001a:0b:1f.7");
	assert_string_equal(pci_bdf_fmt(b, pci_bdf(0xffff, 0xff, 0, 0)), "ffff:ff:00.0");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(q35_records),
		T(q35_console_table),
		T(q35_structs),
		T(depth_first_order),
		T(port_fallback_walks_all_of_segment0),
		T(segments_and_partial_ranges),
		T(extra_root_bus),
		T(ari_chain),
		T(ari_chain_malformed),
		T(ari_chain_next_without_ari),
		T(function0_decides_when_present),
		T(port_phantom_devices),
		T(bridge_secondary_out_of_range),
		T(bridge_out_of_range_bus_found_as_root),
		T(bridge_below_own_bus),
		T(bus_reached_twice),
		T(deep_chain),
		T(table_full),
		T(header_fields),
		T(bridge_primary_and_subordinate),
		T(unknown_header_type),
		T(bdf_format),
	};
	return cmocka_run_group_tests_name("pci-enum", tests, NULL, NULL);
}
