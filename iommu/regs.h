/*
 * The register block of one VT-d remapping unit (VT-d spec 11.4, "Register Descriptions"),
 * with each register's offset followed by its fields, in the spec's names and bit numbers.
 *
 * The access width is part of each register's type: a 32-bit register is a struct vtd_reg32 and
 * only vtd_read32()/vtd_write32() take one, so an 8-byte access to FSTS or FECTL (which aborts
 * QEMU's model) does not compile. The accessors are a hardware hook: the runtime implements them
 * over the unit's MMIO mapping, host tests over a register-file fake.
 *
 * The IOTLB registers sit at ECAP.IRO * 16 and the fault recording registers at CAP.FRO * 16;
 * struct vtd_regs carries both offsets (iommu/caps.h fills them in from CAP and ECAP).
 */
#ifndef COURIER_IOMMU_REGS_H
#define COURIER_IOMMU_REGS_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* VT-d paging structures, tables and queues are made of 4 KiB pages. */
#define VTD_PAGE_SHIFT          12
#define VTD_PAGE_SIZE           (1ull << VTD_PAGE_SHIFT)

struct vtd_reg32 { uint32_t off; };
struct vtd_reg64 { uint32_t off; };
#define VTD_REG32(o)            ((struct vtd_reg32){ (o) })
#define VTD_REG64(o)            ((struct vtd_reg64){ (o) })

/* 11.4.1 Version */
#define VTD_VER                 VTD_REG32(0x000)
#define  VTD_VER_MAX            GENMASK(7, 4)
#define  VTD_VER_MIN            GENMASK(3, 0)

/* 11.4.2 Capability and 11.4.3 Extended Capability: fields in iommu/caps.h. */
#define VTD_CAP                 VTD_REG64(0x008)
#define VTD_ECAP                VTD_REG64(0x010)

/* 11.4.4 Global Command: one command per write, carrying the persistent bits (see below). */
#define VTD_GCMD                VTD_REG32(0x018)
#define  VTD_GCMD_TE            BIT(31) /* translation enable */
#define  VTD_GCMD_SRTP          BIT(30) /* set root table pointer */
#define  VTD_GCMD_SFL           BIT(29) /* set fault log */
#define  VTD_GCMD_EAFL          BIT(28) /* enable advanced fault logging */
#define  VTD_GCMD_WBF           BIT(27) /* write buffer flush */
#define  VTD_GCMD_QIE           BIT(26) /* queued invalidation enable */
#define  VTD_GCMD_IRE           BIT(25) /* interrupt remapping enable */
#define  VTD_GCMD_SIRTP         BIT(24) /* set interrupt remap table pointer */
#define  VTD_GCMD_CFI           BIT(23) /* compatibility format interrupts pass through */

/* 11.4.5 Global Status: each status bit is at its command bit's position. */
#define VTD_GSTS                VTD_REG32(0x01c)
#define  VTD_GSTS_TES           BIT(31)
#define  VTD_GSTS_RTPS          BIT(30)
#define  VTD_GSTS_FLS           BIT(29)
#define  VTD_GSTS_AFLS          BIT(28)
#define  VTD_GSTS_WBFS          BIT(27)
#define  VTD_GSTS_QIES          BIT(26)
#define  VTD_GSTS_IRES          BIT(25)
#define  VTD_GSTS_IRTPS         BIT(24)
#define  VTD_GSTS_CFIS          BIT(23)
/* The enables that stay on: a GCMD write must repeat them or it turns them off (11.4.4). */
#define  VTD_GSTS_PERSISTENT    (VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES | VTD_GSTS_CFIS)

/* 11.4.6 Root Table Address */
#define VTD_RTADDR              VTD_REG64(0x020)
#define  VTD_RTADDR_RTA         GENMASK(63, 12)
#define  VTD_RTADDR_TTM         GENMASK(11, 10) /* translation table mode */
#define   VTD_TTM_LEGACY        0
#define   VTD_TTM_SCALABLE      1
#define   VTD_TTM_ABORT_DMA     3               /* only with ECAP.ADMS */
#define  VTD_RTADDR_TTM_SHIFT   10

/* 11.4.7 Context Command (register-based invalidation; ignored while QI is enabled) */
#define VTD_CCMD                VTD_REG64(0x028)
#define  VTD_CCMD_ICC           BIT(63)         /* invalidate; hardware clears it when done */
#define  VTD_CCMD_CIRG          GENMASK(62, 61) /* requested granularity */
#define  VTD_CCMD_CIRG_SHIFT    61
#define  VTD_CCMD_CAIG          GENMASK(60, 59) /* actual granularity */
#define  VTD_CCMD_CAIG_SHIFT    59
#define   VTD_CC_GLOBAL         1
#define   VTD_CC_DOMAIN         2
#define   VTD_CC_DEVICE         3
#define  VTD_CCMD_FM            GENMASK(33, 32) /* function mask: low SID bits ignored */
#define  VTD_CCMD_FM_SHIFT      32
#define  VTD_CCMD_SID           GENMASK(31, 16)
#define  VTD_CCMD_SID_SHIFT     16
#define  VTD_CCMD_DID           GENMASK(15, 0)

/* 11.4 FSTS_REG: fault status */
#define VTD_FSTS                VTD_REG32(0x034)
#define  VTD_FSTS_PFO           BIT(0)          /* primary fault overflow, RW1C */
#define  VTD_FSTS_PPF           BIT(1)          /* primary pending fault: some FRCD has F */
#define  VTD_FSTS_AFO           BIT(2)          /* advanced fault overflow, RW1C */
#define  VTD_FSTS_APF           BIT(3)          /* advanced pending fault, RW1C */
#define  VTD_FSTS_IQE           BIT(4)          /* invalidation queue error, RW1C */
#define  VTD_FSTS_ICE           BIT(5)          /* invalidation completion error, RW1C */
#define  VTD_FSTS_ITE           BIT(6)          /* invalidation time-out error, RW1C */
#define  VTD_FSTS_FRI           GENMASK(15, 8)  /* fault record index, valid with PPF */
#define  VTD_FSTS_FRI_SHIFT     8
/* The bits software clears by writing 1. */
#define  VTD_FSTS_RW1C          (VTD_FSTS_PFO | VTD_FSTS_AFO | VTD_FSTS_APF | VTD_FSTS_IQE | \
				 VTD_FSTS_ICE | VTD_FSTS_ITE)

/* 11.4 FECTL_REG, FEDATA_REG, FEADDR_REG, FEUADDR_REG: the fault event interrupt is a
 * compatibility-format MSI, masked (IM) at reset. */
#define VTD_FECTL               VTD_REG32(0x038)
#define  VTD_FECTL_IM           BIT(31)         /* interrupt mask */
#define  VTD_FECTL_IP           BIT(30)         /* interrupt pending */
#define VTD_FEDATA              VTD_REG32(0x03c)
#define  VTD_FEDATA_IMD         GENMASK(15, 0)
#define VTD_FEADDR              VTD_REG32(0x040)
#define  VTD_FEADDR_MA          GENMASK(31, 2)
#define VTD_FEUADDR             VTD_REG32(0x044)

/* 11.4 AFLOG_REG: advanced fault log */
#define VTD_AFLOG               VTD_REG64(0x058)
#define  VTD_AFLOG_FLA          GENMASK(63, 12)
#define  VTD_AFLOG_FLS          GENMASK(11, 9)

/* 11.4 PMEN_REG, PLMBASE_REG ... PHMLIMIT_REG: protected memory regions */
#define VTD_PMEN                VTD_REG32(0x064)
#define  VTD_PMEN_EPM           BIT(31)         /* enable protected memory */
#define  VTD_PMEN_PRS           BIT(0)          /* protected region status */
#define VTD_PLMBASE             VTD_REG32(0x068)
#define VTD_PLMLIMIT            VTD_REG32(0x06c)
#define VTD_PHMBASE             VTD_REG64(0x070)
#define VTD_PHMLIMIT            VTD_REG64(0x078)

/* 11.4 IQH_REG ... IEUADDR_REG: the invalidation queue. Head and tail are byte offsets. */
#define VTD_IQH                 VTD_REG64(0x080)
#define  VTD_IQH_QH             GENMASK(18, 4)
#define VTD_IQT                 VTD_REG64(0x088)
#define  VTD_IQT_QT             GENMASK(18, 4)
#define VTD_IQA                 VTD_REG64(0x090)
#define  VTD_IQA_IQA            GENMASK(63, 12)
#define  VTD_IQA_DW             BIT(11)         /* 0: 128-bit descriptors, 1: 256-bit */
#define  VTD_IQA_QS             GENMASK(2, 0)   /* 2^QS pages, 2^(QS+8) 128-bit descriptors */
#define VTD_ICS                 VTD_REG32(0x09c)
#define  VTD_ICS_IWC            BIT(0)          /* wait descriptor with IF completed, RW1C */
#define VTD_IECTL               VTD_REG32(0x0a0)
#define  VTD_IECTL_IM           BIT(31)
#define  VTD_IECTL_IP           BIT(30)
#define VTD_IEDATA              VTD_REG32(0x0a4)
#define VTD_IEADDR              VTD_REG32(0x0a8)
#define VTD_IEUADDR             VTD_REG32(0x0ac)
#define VTD_IQERCD              VTD_REG64(0x0b0) /* IQERCD_REG: invalidation queue error record */
#define  VTD_IQERCD_ICESID      GENMASK(63, 48)
#define  VTD_IQERCD_ITESID      GENMASK(47, 32)
#define  VTD_IQERCD_IQEI        GENMASK(3, 0)

/* 11.4 IRTA_REG: interrupt remapping table address */
#define VTD_IRTA                VTD_REG64(0x0b8)
#define  VTD_IRTA_IRTA          GENMASK(63, 12)
#define  VTD_IRTA_EIME          BIT(11)         /* x2APIC: 32-bit IRTE destinations */
#define  VTD_IRTA_S             GENMASK(3, 0)   /* 2^(S+1) entries */
#define  VTD_IRTA_S_MAX         15

/* 11.4.8 IOTLB registers, at ECAP.IRO * 16: Invalidate Address, then IOTLB Invalidate. */
#define VTD_IVA_OFF             0x0
#define  VTD_IVA_ADDR           GENMASK(63, 12)
#define  VTD_IVA_IH             BIT(6)          /* invalidation hint: only leaves changed */
#define  VTD_IVA_AM             GENMASK(5, 0)   /* address mask: 2^AM pages */
#define VTD_IOTLB_OFF           0x8
#define  VTD_IOTLB_IVT          BIT(63)         /* invalidate; hardware clears it when done */
#define  VTD_IOTLB_IIRG         GENMASK(61, 60)
#define  VTD_IOTLB_IIRG_SHIFT   60
#define  VTD_IOTLB_IAIG         GENMASK(58, 57)
#define  VTD_IOTLB_IAIG_SHIFT   57
#define   VTD_IOTLB_GLOBAL      1
#define   VTD_IOTLB_DOMAIN      2
#define   VTD_IOTLB_PAGE        3
#define  VTD_IOTLB_DR           BIT(49)         /* drain reads */
#define  VTD_IOTLB_DW           BIT(48)         /* drain writes */
#define  VTD_IOTLB_DID          GENMASK(47, 32)
#define  VTD_IOTLB_DID_SHIFT    32

/* 11.4.14 FRCD_REG: fault recording registers, 16 bytes each at CAP.FRO * 16 (fields in
 * iommu/fault_record.h). F is bit 31 of the last dword, cleared by writing it back. */
#define VTD_FRCD_SIZE           16
#define VTD_FRCD_F_OFF          12
#define  VTD_FRCD_F32           BIT(31)

/* A unit: its mapped registers and where its IOTLB and fault recording registers are. */
struct vtd_regs {
	volatile uint8_t *base;
	uint32_t iotlb;         /* byte offset of IVA (ECAP.IRO * 16) */
	uint32_t frcd;          /* byte offset of fault record 0 (CAP.FRO * 16) */
	unsigned nfr;           /* number of fault recording registers (CAP.NFR + 1) */
};

static inline struct vtd_reg64 vtd_reg_iva(const struct vtd_regs *u)
{
	return VTD_REG64(u->iotlb + VTD_IVA_OFF);
}

static inline struct vtd_reg64 vtd_reg_iotlb(const struct vtd_regs *u)
{
	return VTD_REG64(u->iotlb + VTD_IOTLB_OFF);
}

/* Fault record i: low and high 64 bits, and the dword holding F (clear it with a 4-byte
 * write of VTD_FRCD_F32). i must be below u->nfr. */
static inline struct vtd_reg64 vtd_reg_frcd_lo(const struct vtd_regs *u, unsigned i)
{
	return VTD_REG64(u->frcd + i * VTD_FRCD_SIZE);
}

static inline struct vtd_reg64 vtd_reg_frcd_hi(const struct vtd_regs *u, unsigned i)
{
	return VTD_REG64(u->frcd + i * VTD_FRCD_SIZE + 8);
}

static inline struct vtd_reg32 vtd_reg_frcd_f(const struct vtd_regs *u, unsigned i)
{
	return VTD_REG32(u->frcd + i * VTD_FRCD_SIZE + VTD_FRCD_F_OFF);
}

/*
 * The GCMD value that changes one command bit: the persistent enables as GSTS reports them,
 * with `cmd` set or cleared. One-shot commands (SRTP, SFL, WBF, SIRTP) are never carried over,
 * so writing the result never repeats an earlier command by accident (11.4.4).
 */
static inline uint32_t vtd_gcmd_value(uint32_t gsts, uint32_t cmd, bool on)
{
	uint32_t keep = gsts & (uint32_t)VTD_GSTS_PERSISTENT;
	return on ? keep | cmd : keep & ~cmd;
}

/* The hardware hook: implemented by the runtime over MMIO, by host tests over a fake. */
uint32_t vtd_read32(const struct vtd_regs *u, struct vtd_reg32 r);
uint64_t vtd_read64(const struct vtd_regs *u, struct vtd_reg64 r);
void vtd_write32(const struct vtd_regs *u, struct vtd_reg32 r, uint32_t v);
void vtd_write64(const struct vtd_regs *u, struct vtd_reg64 r, uint64_t v);

#endif
