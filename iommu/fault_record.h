/*
 * Primary fault logging: the 128-bit fault recording registers (VT-d spec 11.4.14, FRCD_REG),
 * the fault status register's summary, and the fault reason codes (appendix A). Pure: the
 * runtime reads the registers (iommu/regs.h) and hands the values here.
 */
#ifndef COURIER_IOMMU_FAULT_RECORD_H
#define COURIER_IOMMU_FAULT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* FRCD_REG low 64 bits. */
#define VTD_FRCD_FI             GENMASK(63, 12) /* DMA faults: page address of the request */
#define VTD_FRCD_FI_IRTE        GENMASK(63, 48) /* interrupt faults: the interrupt index */
#define VTD_FRCD_FI_IRTE_SHIFT  48
/* FRCD_REG high 64 bits (bits 127:64 of the record). */
#define VTD_FRCD_SID            GENMASK(15, 0)  /* source id (requester id) */
#define VTD_FRCD_PRIV           BIT(29)         /* privileged-mode request (with PP) */
#define VTD_FRCD_EXE            BIT(30)         /* execute request (with PP) */
#define VTD_FRCD_PP             BIT(31)         /* PASID present */
#define VTD_FRCD_FR             GENMASK(39, 32) /* fault reason */
#define VTD_FRCD_FR_SHIFT       32
#define VTD_FRCD_PV             GENMASK(59, 40) /* PASID value (with PP) */
#define VTD_FRCD_PV_SHIFT       40
#define VTD_FRCD_AT             GENMASK(61, 60) /* address type of the request */
#define VTD_FRCD_AT_SHIFT       60
#define VTD_FRCD_T              BIT(62)         /* 0: write, 1: read or AtomicOp */
#define VTD_FRCD_F              BIT(63)         /* a fault is recorded here; RW1C */

/* Appendix A: interrupt-remapping faults have the reasons from 20h (20h-26h are assigned)
 * up to the scalable-mode DMA reasons at 30h; everything else is a DMA-remapping fault. */
#define VTD_FR_IR_FIRST         0x20
#define VTD_FR_IR_LAST          0x2f

struct vtd_frcd {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_frcd) == 16, "11.4.14: a fault record is 128 bits");

struct vtd_fault {
	bool f;                 /* valid: nothing below means anything when clear */
	uint8_t reason;
	uint16_t sid;
	bool ir;                /* an interrupt-remapping fault (reason 20h-2Fh) */
	uint64_t addr;          /* DMA faults: the page address */
	uint16_t index;         /* interrupt faults: the IRTE index */
	bool read;              /* DMA faults: T = 1, read (or AtomicOp); else write */
	uint8_t at;             /* DMA faults: address type */
	bool pp;                /* PASID present: pasid, exe and priv are valid */
	uint32_t pasid;
	bool exe, priv;
};

struct vtd_fault vtd_fault_decode(struct vtd_frcd r);

/* FSTS_REG in fields (iommu/regs.h has the bits). */
struct vtd_fsts {
	bool pfo, ppf, afo, apf, iqe, ice, ite;
	uint8_t fri;            /* first fault record to read, valid with ppf */
};
struct vtd_fsts vtd_fsts_decode(uint32_t fsts);

/* A short name for a fault reason, one word with dashes, fit for a report record value
 * ("write-denied"); "unknown" for a code the specification does not list. */
const char *vtd_fault_reason_name(uint8_t reason);
/* A sentence describing it; "unknown fault reason" likewise. */
const char *vtd_fault_reason_desc(uint8_t reason);

/*
 * Format a decoded fault of PCI segment `seg` as report-record fields (docs/report.md):
 *   "bdf=00:03.0 addr=0x7000 type=read reason=0x6 name=read-denied"     (DMA)
 *   "bdf=00:03.0 index=0x12 reason=0x22 name=irte-not-present"          (interrupt)
 * with "bdf=0001:00:03.0" outside segment 0. Returns the length it needs, like snprintf.
 */
int vtd_fault_format(const struct vtd_fault *f, uint16_t seg, char *buf, size_t size);

#endif
