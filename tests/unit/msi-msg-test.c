/*
 * MSI address/data: compatibility format (SDM vol. 3 11.11.1 address: 0xFEE, dest 19:12,
 * RH 3, DM 2; 11.11.2 data: vector 7:0, delivery mode 10:8, level 14, trigger 15) and
 * remappable format (VT-d 5.1.5.2: 0xFEE, handle[14:0] 19:5, IF 4, SHV 3, handle[15] 2;
 * data = subhandle): known values, every handle, refusals, the index a message selects.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/arch/msi_msg.h"

static void compat_known(void **state)
{
	struct msi_compat c = { .dest = 3, .vector = 0x41 };
	struct msi_ret r = msi_compat_encode(&c);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.m.addr_lo, 0xfee03000u);
	assert_int_equal(r.m.addr_hi, 0);
	assert_int_equal(r.m.data, 0x41);
	assert_true(msi_is_interrupt(r.m));
	assert_false(msi_is_remappable(r.m));

	c = (struct msi_compat){ .dest = 0xff, .dm_logical = true, .rh = true, .vector = 0xfe,
				 .dlm = MSI_DLM_LOWEST, .level = true };
	r = msi_compat_encode(&c);
	assert_int_equal(r.m.addr_lo, 0xfeeff00cu);
	assert_int_equal(r.m.data, 0xc1fe);
	struct msi_compat d = msi_compat_decode(r.m);
	assert_int_equal(d.dest, 0xff);
	assert_true(d.dm_logical && d.rh && d.level);
	assert_int_equal(d.vector, 0xfe);
	assert_int_equal(d.dlm, MSI_DLM_LOWEST);

	/* NMI carries no vector. */
	c = (struct msi_compat){ .dest = 0, .dlm = MSI_DLM_NMI };
	r = msi_compat_encode(&c);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.m.data, 0x400);
}

static void compat_refused(void **state)
{
	struct msi_compat c = { .dest = 1, .vector = 15 };

	assert_int_equal(msi_compat_encode(&c).err, E_INVAL);
	c.dlm = MSI_DLM_LOWEST;
	assert_int_equal(msi_compat_encode(&c).err, E_INVAL);
	c.vector = 16;
	assert_int_equal(msi_compat_encode(&c).err, 0);
	c.dlm = 3;
	assert_int_equal(msi_compat_encode(&c).err, E_INVAL);
	c.dlm = 6;
	assert_int_equal(msi_compat_encode(&c).err, E_INVAL);
	c.dlm = 8;
	assert_int_equal(msi_compat_encode(&c).err, E_INVAL);
}

static void compat_round_trip(void **state)
{
	static const uint8_t dlms[] = { 0, 1, 2, 4, 5, 7 };

	for (unsigned dest = 0; dest < 256; dest++)
		for (unsigned v = 16; v < 256; v += 7)
			for (unsigned i = 0; i < 6 * 8; i++) {
				struct msi_compat c = {
					.dest = dest, .vector = v, .dlm = dlms[i % 6],
					.dm_logical = i & 8, .rh = i & 16, .level = i & 32,
				};
				struct msi_ret r = msi_compat_encode(&c);
				assert_int_equal(r.err, 0);
				assert_true(msi_is_interrupt(r.m));
				assert_false(msi_is_remappable(r.m));
				struct msi_compat d = msi_compat_decode(r.m);
				assert_memory_equal(&d, &c, sizeof(c));
			}
}

static void remap_known(void **state)
{
	struct msi_remap m = { .handle = 0, .shv = true };
	struct msi_ret r = msi_remap_encode(&m);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.m.addr_lo, 0xfee00018u);
	assert_int_equal(r.m.data, 0);
	assert_true(msi_is_remappable(r.m));
	assert_true(msi_is_interrupt(r.m));

	/* handle 0x1234: 0x1234 << 5 = 0x24680, | IF | SHV. */
	m = (struct msi_remap){ .handle = 0x1234, .shv = true, .subhandle = 0 };
	assert_int_equal(msi_remap_encode(&m).m.addr_lo, 0xfee24698u);
	/* handle 0x8000: only bit 2 of the handle bits. */
	m = (struct msi_remap){ .handle = 0x8000 };
	assert_int_equal(msi_remap_encode(&m).m.addr_lo, 0xfee00014u);
	/* The largest handle: 0x7fff << 5 | IF | SHV | handle[15]. */
	m = (struct msi_remap){ .handle = 0xffff, .shv = true, .subhandle = 0xffff };
	r = msi_remap_encode(&m);
	assert_int_equal(r.m.addr_lo, 0xfeeffffcu);
	assert_int_equal(r.m.data, 0xffff);
	/* A subhandle without SHV would be ignored by hardware: refused. */
	m = (struct msi_remap){ .handle = 5, .subhandle = 1 };
	assert_int_equal(msi_remap_encode(&m).err, E_INVAL);
}

static void remap_every_handle(void **state)
{
	for (uint32_t h = 0; h <= 0xffff; h++) {
		bool shv = h & 1;
		struct msi_remap m = { .handle = h, .shv = shv, .subhandle = shv ? h >> 4 : 0 };
		struct msi_ret r = msi_remap_encode(&m);
		assert_int_equal(r.err, 0);
		assert_int_equal(r.m.addr_lo & MSI_ADDR_BASE_MASK, MSI_ADDR_BASE);
		assert_int_equal(r.m.addr_lo & 3, 0);
		struct msi_remap d = msi_remap_decode(r.m);
		assert_int_equal(d.handle, m.handle);
		assert_int_equal(d.shv, m.shv);
		assert_int_equal(d.subhandle, m.subhandle);
	}
}

/* 5.1.5.2: the index is handle, plus subhandle (data 15:0) when SHV is set. */
static void remap_index(void **state)
{
	struct msi_remap m = { .handle = 0x10, .shv = true };
	struct msi_msg msg = msi_remap_encode(&m).m;

	assert_int_equal(msi_remap_index(msg), 0x10);
	/* Message 3 of a multi-message MSI: the device sets the low data bits. */
	msg.data |= 3;
	assert_int_equal(msi_remap_index(msg), 0x13);
	/* Without SHV the data is not part of the index. */
	m.shv = false;
	msg = msi_remap_encode(&m).m;
	msg.data = 3;
	assert_int_equal(msi_remap_index(msg), 0x10);
	/* The sum can pass 0xffff: hardware then faults for the index (reason 21h). */
	m = (struct msi_remap){ .handle = 0xffff, .shv = true, .subhandle = 1 };
	assert_int_equal(msi_remap_index(msi_remap_encode(&m).m), 0x10000);
	/* Not an interrupt address. */
	assert_false(msi_is_interrupt((struct msi_msg){ 0xfed00000u, 0, 0 }));
	assert_false(msi_is_interrupt((struct msi_msg){ 0xfee00000u, 1, 0 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compat_known),
		cmocka_unit_test(compat_refused),
		cmocka_unit_test(compat_round_trip),
		cmocka_unit_test(remap_known),
		cmocka_unit_test(remap_every_handle),
		cmocka_unit_test(remap_index),
	};
	return cmocka_run_group_tests_name("msi-msg", tests, NULL, NULL);
}
