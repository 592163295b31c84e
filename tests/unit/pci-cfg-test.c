/*
 * pci/cfg.c, the real configuration access, against a fake mmio_map() (host buffers) and
 * fake ports: ECAM address arithmetic, the port mechanism and its limits, rejected accesses,
 * and malformed MCFG regions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/arch/io.h"
#include "kernel/arch/mmio.h"
#include "pci/cfg.h"
#include "tests/unit/fake-log.h"

/* ---- fake mmio_map: every mapping is a zeroed host buffer ---- */

#define MAX_MAPS 20
static struct { uint64_t pa; size_t size; uint8_t *buf; } maps[MAX_MAPS];
static unsigned nmaps;
static bool map_fails;

void *mmio_map(uint64_t pa, size_t size)
{
	if (map_fails || nmaps == MAX_MAPS)
		return NULL;
	maps[nmaps].pa = pa;
	maps[nmaps].size = size;
	maps[nmaps].buf = calloc(1, size);
	return maps[nmaps++].buf;
}

/* ---- fake ports: one function, 0000:00:03.0, behind 0xcf8/0xcfc ---- */

static uint32_t cf8;
static unsigned port_accesses;
static uint8_t port_cfg[256];

static uint8_t *port_reg(uint16_t port)
{
	assert_true(port >= 0xcfc && port <= 0xcff);
	assert_true(cf8 & 0x80000000u);
	if (((cf8 >> 8) & 0xffff) != 0x0018)     /* bus 0, devfn 0x18 */
		return NULL;
	return &port_cfg[(cf8 & 0xfc) + (port - 0xcfc)];
}

static uint32_t port_in(uint16_t port, unsigned width)
{
	uint8_t *p = port_reg(port);
	uint32_t v = 0;

	port_accesses++;
	assert_true((port & (width - 1)) == 0);
	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)(p ? p[i] : 0xff) << (8 * i);
	return v;
}

static void port_out(uint16_t port, unsigned width, uint32_t v)
{
	uint8_t *p;

	port_accesses++;
	if (port == 0xcf8) {
		assert_int_equal(width, 4);
		cf8 = v;
		return;
	}
	p = port_reg(port);
	assert_true((port & (width - 1)) == 0);
	for (unsigned i = 0; p && i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t inb(uint16_t port) { return (uint8_t)port_in(port, 1); }
uint16_t inw(uint16_t port) { return (uint16_t)port_in(port, 2); }
uint32_t inl(uint16_t port) { return port_in(port, 4); }
void outb(uint16_t port, uint8_t v) { port_out(port, 1, v); }
void outw(uint16_t port, uint16_t v) { port_out(port, 2, v); }
void outl(uint16_t port, uint32_t v) { port_out(port, 4, v); }

static int setup(void **state)
{
	for (unsigned i = 0; i < nmaps; i++)
		free(maps[i].buf);
	nmaps = 0;
	map_fails = false;
	cf8 = 0;
	port_accesses = 0;
	for (unsigned i = 0; i < sizeof(port_cfg); i++)
		port_cfg[i] = (uint8_t)i;
	fake_log_reset();
	return 0;
}

static void ecam_address_math(void **state)
{
	const struct pci_ecam r = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				    .bus_end = 1 };
	struct pci_bdf b = pci_bdf(0, 1, 2, 3);
	uint8_t *p;

	assert_int_equal(pci_cfg_init(&r, 1), 1);
	assert_int_equal(maps[0].pa, 0xb0000000);
	assert_int_equal(maps[0].size, 2 << 20);
	p = maps[0].buf + (1 << 20) + (0x13 << 12);

	pci_cfg_write32(b, 0x40, 0xdeadbeef);
	assert_memory_equal(p + 0x40, "\xef\xbe\xad\xde", 4);
	assert_int_equal(pci_cfg_read16(b, 0x42), 0xdead);
	assert_int_equal(pci_cfg_read8(b, 0x43), 0xde);
	pci_cfg_write16(b, 0x44, 0x1234);
	pci_cfg_write8(b, 0x47, 0x56);
	assert_int_equal(pci_cfg_read32(b, 0x44), 0x56001234);
	pci_cfg_write32(b, 0xffc, 0xcafef00d);                /* extended space */
	assert_int_equal(pci_cfg_read32(b, 0xffc), 0xcafef00d);
	assert_int_equal(port_accesses, 0);
	assert_true(fake_log_contains("I: pci: ECAM segment 0000 buses 00-01 at 0xb0000000"));
}

/* MCFG's base is bus 0's address even when the range starts higher. */
static void range_not_from_bus0(void **state)
{
	const struct pci_ecam r = { .base = 0xc0000000, .segment = 2, .bus_start = 0x10,
				    .bus_end = 0x11 };

	assert_int_equal(pci_cfg_init(&r, 1), 1);
	assert_int_equal(maps[0].pa, 0xc1000000);
	assert_int_equal(maps[0].size, 2 << 20);
	maps[0].buf[(1 << 20) + (0x08 << 12)] = 0x86;
	assert_int_equal(pci_cfg_read8(pci_bdf(2, 0x11, 1, 0), 0), 0x86);
	/* Outside the range, and another segment: nothing reaches them. */
	assert_int_equal(pci_cfg_read32(pci_bdf(2, 0x12, 0, 0), 0), 0xffffffff);
	assert_int_equal(pci_cfg_read16(pci_bdf(2, 0x0f, 0, 0), 0), 0xffff);
	assert_int_equal(port_accesses, 0);
}

static void rejected_accesses(void **state)
{
	const struct pci_ecam r = { .base = 0xb0000000, .segment = 0, .bus_start = 0,
				    .bus_end = 0 };
	struct pci_bdf b = pci_bdf(0, 0, 0, 0);

	pci_cfg_init(&r, 1);
	memset(maps[0].buf, 0x11, 0x1000);
	assert_int_equal(pci_cfg_read32(b, 0x41), 0xffffffff);
	assert_int_equal(pci_cfg_read32(b, 0x42), 0xffffffff);
	assert_int_equal(pci_cfg_read16(b, 0x43), 0xffff);
	assert_int_equal(pci_cfg_read(b, 0x40, 3), 0xffffff);
	assert_int_equal(pci_cfg_read8(b, 0x1000), 0xff);
	pci_cfg_write32(b, 0x02, 0);
	pci_cfg_write16(b, 0xfff, 0);
	pci_cfg_write8(b, 0x1000, 0);
	for (unsigned i = 0; i < 0x1000; i++)
		assert_int_equal(maps[0].buf[i], 0x11);
	assert_true(fake_log_contains("W: pci: read of width 4 at 0000:00:00.0+0x41 rejected"));
	assert_true(fake_log_contains("W: pci: write of width 2 at 0000:00:00.0+0xfff rejected"));
	assert_int_equal(pci_cfg_read8(b, 0x43), 0x11);
}

static void ports_when_no_mcfg(void **state)
{
	struct pci_bdf b = pci_bdf(0, 0, 3, 0);

	assert_int_equal(pci_cfg_init(NULL, 0), 0);
	assert_true(fake_log_contains("no ECAM, using ports 0xcf8/0xcfc"));
	assert_int_equal(pci_cfg_read32(b, 0x08), 0x0b0a0908);
	assert_int_equal(cf8, 0x80001808);
	assert_int_equal(pci_cfg_read8(b, 0x0e), 0x0e);
	assert_int_equal(cf8, 0x8000180c);
	assert_int_equal(pci_cfg_read16(b, 0x32), 0x3332);
	pci_cfg_write16(b, 0x06, 0xbeef);
	assert_int_equal(cf8, 0x80001804);
	assert_int_equal(port_cfg[6], 0xef);
	assert_int_equal(port_cfg[7], 0xbe);
	pci_cfg_write8(b, 0xff, 0x5a);
	assert_int_equal(port_cfg[0xff], 0x5a);
	assert_int_equal(pci_cfg_read32(pci_bdf(0, 0, 4, 0), 0), 0xffffffff);
	assert_int_equal(cf8, 0x80002000);

	/* The ports reach neither other segments nor the extended space. */
	port_accesses = 0;
	assert_int_equal(pci_cfg_read32(pci_bdf(1, 0, 3, 0), 0), 0xffffffff);
	assert_int_equal(pci_cfg_read32(b, 0x100), 0xffffffff);
	pci_cfg_write32(b, 0x100, 0);
	assert_int_equal(port_accesses, 0);
}

/* Segment 0 buses no region covers fall back to the ports. */
static void ports_for_uncovered_buses(void **state)
{
	const struct pci_ecam r = { .base = 0xb0000000, .segment = 0, .bus_start = 1,
				    .bus_end = 1 };

	pci_cfg_init(&r, 1);
	assert_int_equal(pci_cfg_read16(pci_bdf(0, 0, 3, 0), 0x02), 0x0302);
	assert_int_equal(port_accesses, 2);
	assert_int_equal(pci_cfg_read16(pci_bdf(0, 1, 3, 0), 0x02), 0);
	assert_int_equal(port_accesses, 2);
}

static void malformed_regions(void **state)
{
	struct pci_ecam r[20] = {
		{ .base = 0xb0000000, .segment = 0, .bus_start = 0, .bus_end = 0 },
		{ .base = 0xb0000000, .segment = 1, .bus_start = 5, .bus_end = 4 },
		{ .base = 0xb0080000, .segment = 2, .bus_start = 0, .bus_end = 0 },
		{ .base = 0xc0000000, .segment = 0, .bus_start = 0, .bus_end = 1 },
	};

	for (unsigned i = 4; i < 20; i++)
		r[i] = (struct pci_ecam){ .base = 0xd0000000, .segment = (uint16_t)(i + 10),
					  .bus_start = 0, .bus_end = 0 };
	assert_int_equal(pci_cfg_init(r, 20), 16);
	assert_true(fake_log_contains("MCFG segment 0001 buses 05-04 at 0xb0000000 is malformed"));
	assert_true(fake_log_contains("MCFG segment 0002 buses 00-00 at 0xb0080000 is malformed"));
	assert_true(fake_log_contains("MCFG segment 0000 buses 00-01 overlaps another region"));
	assert_true(fake_log_contains("more than 16 MCFG regions, segment 001d buses 00-00 ignored"));
	assert_int_equal(fake_log_errors, 0);

	setup(state);
	map_fails = true;
	assert_int_equal(pci_cfg_init(r, 1), 0);
	assert_true(fake_log_contains("W: pci: cannot map ECAM 0xb0000000+0x100000 (segment 0000)"));
	assert_true(fake_log_contains("no ECAM, using ports"));
}

static void bdf_parse(void **state)
{
	struct pci_bdf b;

	assert_int_equal(pci_bdf_parse("0001:0a:1f.7", &b), 0);
	assert_true(pci_bdf_eq(b, pci_bdf(1, 0x0a, 0x1f, 7)));
	assert_int_equal(pci_bdf_parse("00:02.0", &b), 0);
	assert_true(pci_bdf_eq(b, pci_bdf(0, 0, 2, 0)));
	assert_int_equal(pci_bdf_parse("FFFF:FF:1F.7", &b), 0);
	assert_true(pci_bdf_eq(b, pci_bdf(0xffff, 0xff, 0x1f, 7)));
	assert_int_equal(pci_bdf_parse("00:20.0", &b), -1);
	assert_int_equal(pci_bdf_parse("00:02.8", &b), -1);
	assert_int_equal(pci_bdf_parse("00:02", &b), -1);
	assert_int_equal(pci_bdf_parse("100:02.0", &b), -1);
	assert_int_equal(pci_bdf_parse("10000:00:02.0", &b), -1);
	assert_int_equal(pci_bdf_parse("0:0:0:0.0", &b), -1);
	assert_int_equal(pci_bdf_parse("00:02.0x", &b), -1);
	assert_int_equal(pci_bdf_parse(":02.0", &b), -1);
	assert_int_equal(pci_bdf_parse("", &b), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(ecam_address_math),
		T(range_not_from_bus0),
		T(rejected_accesses),
		T(ports_when_no_mcfg),
		T(ports_for_uncovered_buses),
		T(malformed_regions),
		T(bdf_parse),
	};
	return cmocka_run_group_tests_name("pci-cfg", tests, NULL, setup);
}
