/*
 * VT-d register block: offsets and fields against the spec's register table (11.4), the
 * dynamic IOTLB and fault-record offsets, the GCMD helper, and the width-typed hook
 * (iommu/regs_mmio.c) over a byte array: each access touches exactly its register's bytes.
 * (A wrong-width access, vtd_read32(u, VTD_CAP), is a compile error: struct types differ.)
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "iommu/regs.h"

/* The real hook (iommu/regs_mmio.c) over a plain byte array standing in for the MMIO page:
 * each access must touch exactly its own bytes. */
static uint8_t regfile[0x1000] __attribute__((aligned(8)));

/* Bytes of regfile that differ from the fill pattern, as [first, first + n). */
static void changed(uint8_t fill, unsigned *first, unsigned *n)
{
	*n = 0;
	for (unsigned i = 0; i < sizeof(regfile); i++) {
		if (regfile[i] == fill)
			continue;
		if (!*n)
			*first = i;
		*n = i - *first + 1;
	}
}

/* The register accessors' types: a 32-bit register only fits vtd_read32/vtd_write32. */
#define IS_REG32(r) _Generic((r), struct vtd_reg32: 1, default: 0)
#define IS_REG64(r) _Generic((r), struct vtd_reg64: 1, default: 0)

/* ---- tests ------------------------------------------------------------------------------ */

/* 11.4: the offsets of the register table. */
static void offsets(void **state)
{
	assert_int_equal(VTD_VER.off, 0x00);
	assert_int_equal(VTD_CAP.off, 0x08);
	assert_int_equal(VTD_ECAP.off, 0x10);
	assert_int_equal(VTD_GCMD.off, 0x18);
	assert_int_equal(VTD_GSTS.off, 0x1c);
	assert_int_equal(VTD_RTADDR.off, 0x20);
	assert_int_equal(VTD_CCMD.off, 0x28);
	assert_int_equal(VTD_FSTS.off, 0x34);
	assert_int_equal(VTD_FECTL.off, 0x38);
	assert_int_equal(VTD_FEDATA.off, 0x3c);
	assert_int_equal(VTD_FEADDR.off, 0x40);
	assert_int_equal(VTD_FEUADDR.off, 0x44);
	assert_int_equal(VTD_AFLOG.off, 0x58);
	assert_int_equal(VTD_PMEN.off, 0x64);
	assert_int_equal(VTD_PLMBASE.off, 0x68);
	assert_int_equal(VTD_PLMLIMIT.off, 0x6c);
	assert_int_equal(VTD_PHMBASE.off, 0x70);
	assert_int_equal(VTD_PHMLIMIT.off, 0x78);
	assert_int_equal(VTD_IQH.off, 0x80);
	assert_int_equal(VTD_IQT.off, 0x88);
	assert_int_equal(VTD_IQA.off, 0x90);
	assert_int_equal(VTD_ICS.off, 0x9c);
	assert_int_equal(VTD_IECTL.off, 0xa0);
	assert_int_equal(VTD_IEDATA.off, 0xa4);
	assert_int_equal(VTD_IEADDR.off, 0xa8);
	assert_int_equal(VTD_IEUADDR.off, 0xac);
	assert_int_equal(VTD_IQERCD.off, 0xb0);
	assert_int_equal(VTD_IRTA.off, 0xb8);
	/* 64-bit registers are 8-byte aligned, so a 64-bit access never straddles. */
	const struct vtd_reg64 r64[] = { VTD_CAP, VTD_ECAP, VTD_RTADDR, VTD_CCMD, VTD_AFLOG,
					 VTD_PHMBASE, VTD_PHMLIMIT, VTD_IQH, VTD_IQT, VTD_IQA,
					 VTD_IQERCD, VTD_IRTA };
	for (size_t i = 0; i < sizeof(r64) / sizeof(r64[0]); i++)
		assert_int_equal(r64[i].off % 8, 0);
}

/* 11.4.4/11.4.5 and the other fields, bit by bit. */
static void fields(void **state)
{
	assert_int_equal(VTD_GCMD_TE, 0x80000000u);
	assert_int_equal(VTD_GCMD_SRTP, 0x40000000u);
	assert_int_equal(VTD_GCMD_SFL, 0x20000000u);
	assert_int_equal(VTD_GCMD_EAFL, 0x10000000u);
	assert_int_equal(VTD_GCMD_WBF, 0x08000000u);
	assert_int_equal(VTD_GCMD_QIE, 0x04000000u);
	assert_int_equal(VTD_GCMD_IRE, 0x02000000u);
	assert_int_equal(VTD_GCMD_SIRTP, 0x01000000u);
	assert_int_equal(VTD_GCMD_CFI, 0x00800000u);
	assert_int_equal(VTD_GSTS_TES, VTD_GCMD_TE);
	assert_int_equal(VTD_GSTS_IRTPS, VTD_GCMD_SIRTP);
	assert_int_equal(VTD_GSTS_CFIS, VTD_GCMD_CFI);
	assert_int_equal(VTD_FSTS_PFO | VTD_FSTS_PPF | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE,
			 0x73);
	assert_int_equal(VTD_FSTS_FRI, 0xff00);
	assert_int_equal(VTD_FECTL_IM | VTD_FECTL_IP, 0xc0000000u);
	assert_int_equal(VTD_IQA_DW, 0x800);
	assert_int_equal(VTD_IQA_QS, 0x7);
	assert_int_equal(VTD_IQT_QT, 0x7fff0);
	assert_int_equal(VTD_IRTA_EIME, 0x800);
	assert_int_equal(VTD_IRTA_S, 0xf);
	assert_int_equal(VTD_RTADDR_TTM, 0xc00);
	assert_int_equal(VTD_CCMD_ICC, 1ull << 63);
	assert_int_equal((uint64_t)VTD_CC_DEVICE << VTD_CCMD_CIRG_SHIFT, 3ull << 61);
	assert_int_equal(VTD_CCMD_FM, 3ull << 32);
	assert_int_equal(VTD_CCMD_SID, 0xffff0000ull);
	assert_int_equal(VTD_IOTLB_IVT, 1ull << 63);
	assert_int_equal((uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT, 3ull << 60);
	assert_int_equal(VTD_IOTLB_DR | VTD_IOTLB_DW, 3ull << 48);
	assert_int_equal(VTD_IOTLB_DID, 0xffffull << 32);
	assert_int_equal(VTD_IVA_IH, 0x40);
	assert_int_equal(VTD_IVA_AM, 0x3f);
}

/* IOTLB registers at ECAP.IRO * 16, fault records at CAP.FRO * 16 (QEMU: 0xf0 and 0x220). */
static void dynamic_offsets(void **state)
{
	struct vtd_regs u = { .base = regfile, .iotlb = 0xf0, .frcd = 0x220, .nfr = 4 };

	assert_int_equal(vtd_reg_iva(&u).off, 0xf0);
	assert_int_equal(vtd_reg_iotlb(&u).off, 0xf8);
	assert_int_equal(vtd_reg_frcd_lo(&u, 0).off, 0x220);
	assert_int_equal(vtd_reg_frcd_hi(&u, 0).off, 0x228);
	assert_int_equal(vtd_reg_frcd_f(&u, 0).off, 0x22c);
	assert_int_equal(vtd_reg_frcd_lo(&u, 3).off, 0x250);
	assert_int_equal(vtd_reg_frcd_f(&u, 3).off, 0x25c);
}

/* Through the hook, a 32-bit register is accessed with 4 bytes, a 64-bit one with 8, at the
 * register's own offset and nowhere else. */
static void widths(void **state)
{
	struct vtd_regs u = { .base = regfile, .iotlb = 0xf0, .frcd = 0x220, .nfr = 1 };
	unsigned first, n;

	assert_true(IS_REG32(VTD_FECTL) && IS_REG32(VTD_GCMD) && IS_REG32(VTD_GSTS) &&
		    IS_REG32(VTD_FSTS) && IS_REG32(VTD_ICS) && IS_REG32(vtd_reg_frcd_f(&u, 0)));
	assert_true(IS_REG64(VTD_CAP) && IS_REG64(VTD_IQT) && IS_REG64(VTD_IRTA) &&
		    IS_REG64(vtd_reg_iotlb(&u)) && IS_REG64(vtd_reg_frcd_hi(&u, 0)));

	memset(regfile, 0xa5, sizeof(regfile));
	vtd_write32(&u, VTD_FECTL, 0x11223344);
	changed(0xa5, &first, &n);
	assert_int_equal(first, 0x38);
	assert_int_equal(n, 4);
	assert_int_equal(vtd_read32(&u, VTD_FECTL), 0x11223344);

	memset(regfile, 0xa5, sizeof(regfile));
	vtd_write64(&u, VTD_IQT, 0x0102030405060708ull);
	changed(0xa5, &first, &n);
	assert_int_equal(first, 0x88);
	assert_int_equal(n, 8);
	assert_int_equal(vtd_read64(&u, VTD_IQT), 0x0102030405060708ull);
	assert_int_equal(vtd_read32(&u, VTD_REG32(0x88)), 0x05060708);  /* little endian */

	/* Clearing F (bit 127 of the record, write 1 to clear) writes the last dword of the
	 * record only ... */
	static uint8_t before[sizeof(regfile)];
	assert_int_equal(VTD_FRCD_F32, 0x80000000u);
	memset(regfile, 0xa5, sizeof(regfile));
	vtd_write64(&u, vtd_reg_frcd_hi(&u, 0), 0x8000000600000018ull);
	assert_int_equal(vtd_read32(&u, vtd_reg_frcd_f(&u, 0)), 0x80000006);
	memcpy(before, regfile, sizeof(regfile));
	vtd_write32(&u, vtd_reg_frcd_f(&u, 0), VTD_FRCD_F32);
	assert_int_equal(vtd_read32(&u, VTD_REG32(0x22c)), VTD_FRCD_F32);
	/* ... and leaves the SID dword below it, and everything else, alone. */
	assert_int_equal(vtd_read32(&u, VTD_REG32(0x228)), 0x18);
	assert_memory_equal(regfile, before, 0x22c);
	assert_memory_equal(regfile + 0x230, before + 0x230, sizeof(regfile) - 0x230);
}

/* 11.4.4: a GCMD write carries TE/QIE/IRE/CFI as GSTS has them, never one-shot commands. */
static void gcmd_value(void **state)
{
	uint32_t gsts = VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES | VTD_GSTS_IRTPS |
			VTD_GSTS_WBFS;

	assert_int_equal(vtd_gcmd_value(gsts, VTD_GCMD_IRE, true),
			 VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE);
	assert_int_equal(vtd_gcmd_value(gsts, VTD_GCMD_SIRTP, true),
			 VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_SIRTP);
	assert_int_equal(vtd_gcmd_value(gsts, VTD_GCMD_TE, false), VTD_GCMD_QIE);
	assert_int_equal(vtd_gcmd_value(0, VTD_GCMD_SRTP, true), VTD_GCMD_SRTP);
	assert_int_equal(vtd_gcmd_value(0xffffffffu, VTD_GCMD_CFI, false),
			 VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offsets),
		cmocka_unit_test(fields),
		cmocka_unit_test(dynamic_offsets),
		cmocka_unit_test(widths),
		cmocka_unit_test(gcmd_value),
	};
	return cmocka_run_group_tests_name("vtd-regs", tests, NULL, NULL);
}
