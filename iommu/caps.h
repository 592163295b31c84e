/*
 * The Capability and Extended Capability registers of a remapping unit (VT-d spec 11.4.2 and
 * 11.4.3), decoded once into a struct the rest of the driver reads. Pure.
 */
#ifndef COURIER_IOMMU_CAPS_H
#define COURIER_IOMMU_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/regs.h"

/* 11.4.2 CAP_REG fields */
#define VTD_CAP_ND              GENMASK(2, 0)   /* domain-id bits: 4 + 2 * ND; 7 reserved */
#define VTD_CAP_AFL             BIT(3)          /* advanced fault logging */
#define VTD_CAP_RWBF            BIT(4)          /* write buffer flush required */
#define VTD_CAP_PLMR            BIT(5)          /* protected low-memory region */
#define VTD_CAP_PHMR            BIT(6)          /* protected high-memory region */
#define VTD_CAP_CM              BIT(7)          /* caching mode: not-present entries cached */
#define VTD_CAP_SAGAW           GENMASK(12, 8)  /* supported adjusted guest address widths */
#define VTD_CAP_SAGAW_SHIFT     8
#define  VTD_SAGAW_39           BIT(1)          /* 3-level tables */
#define  VTD_SAGAW_48           BIT(2)          /* 4-level tables */
#define  VTD_SAGAW_57           BIT(3)          /* 5-level tables */
#define VTD_CAP_MGAW            GENMASK(21, 16) /* maximum guest address width - 1 */
#define VTD_CAP_MGAW_SHIFT      16
#define VTD_CAP_ZLR             BIT(22)         /* zero-length reads */
#define VTD_CAP_FRO             GENMASK(33, 24) /* fault recording offset / 16 */
#define VTD_CAP_FRO_SHIFT       24
#define VTD_CAP_SLLPS           GENMASK(37, 34) /* second-level large page sizes */
#define VTD_CAP_SLLPS_SHIFT     34
#define  VTD_SLLPS_2M           BIT(0)
#define  VTD_SLLPS_1G           BIT(1)
#define VTD_CAP_PSI             BIT(39)         /* page-selective invalidation */
#define VTD_CAP_NFR             GENMASK(47, 40) /* number of fault recording registers - 1 */
#define VTD_CAP_NFR_SHIFT       40
#define VTD_CAP_MAMV            GENMASK(53, 48) /* maximum address mask value */
#define VTD_CAP_MAMV_SHIFT      48
#define VTD_CAP_DWD             BIT(54)         /* write draining */
#define VTD_CAP_DRD             BIT(55)         /* read draining */
#define VTD_CAP_FL1GP           BIT(56)         /* first-level 1 GiB pages */
#define VTD_CAP_PI              BIT(59)         /* posted interrupts */
#define VTD_CAP_FL5LP           BIT(60)         /* first-level 5-level paging */
#define VTD_CAP_ECMDS           BIT(61)         /* enhanced command interface */
#define VTD_CAP_ESIRTPS         BIT(62)         /* SIRTP also invalidates the IEC */
#define VTD_CAP_ESRTPS          BIT(63)         /* SRTP also invalidates caches */

/* 11.4.3 ECAP_REG fields */
#define VTD_ECAP_C              BIT(0)          /* page-walk coherency */
#define VTD_ECAP_QI             BIT(1)          /* queued invalidation */
#define VTD_ECAP_DT             BIT(2)          /* device-TLBs (ATS) */
#define VTD_ECAP_IR             BIT(3)          /* interrupt remapping */
#define VTD_ECAP_EIM            BIT(4)          /* extended interrupt mode (x2APIC) */
#define VTD_ECAP_PT             BIT(6)          /* pass-through */
#define VTD_ECAP_SC             BIT(7)          /* snoop control */
#define VTD_ECAP_IRO            GENMASK(17, 8)  /* IOTLB register offset / 16 */
#define VTD_ECAP_IRO_SHIFT      8
#define VTD_ECAP_MHMV           GENMASK(23, 20) /* maximum handle mask value */
#define VTD_ECAP_MHMV_SHIFT     20
#define VTD_ECAP_MTS            BIT(25)         /* memory type */
#define VTD_ECAP_NEST           BIT(26)         /* nested translation */
#define VTD_ECAP_PRS            BIT(29)         /* page requests */
#define VTD_ECAP_ERS            BIT(30)         /* execute requests */
#define VTD_ECAP_SRS            BIT(31)         /* supervisor requests */
#define VTD_ECAP_NWFS           BIT(33)         /* no-write flag */
#define VTD_ECAP_EAFS           BIT(34)         /* extended accessed flag */
#define VTD_ECAP_PSS            GENMASK(39, 35) /* PASID size - 1 */
#define VTD_ECAP_PSS_SHIFT      35
#define VTD_ECAP_PASID          BIT(40)
#define VTD_ECAP_DIT            BIT(41)         /* device-TLB invalidation throttle */
#define VTD_ECAP_PDS            BIT(42)         /* page-request drain */
#define VTD_ECAP_SMTS           BIT(43)         /* scalable mode */
#define VTD_ECAP_VCS            BIT(44)         /* virtual command */
#define VTD_ECAP_SLADS          BIT(45)         /* second-level accessed/dirty */
#define VTD_ECAP_SLTS           BIT(46)         /* second-level translation (scalable mode) */
#define VTD_ECAP_FLTS           BIT(47)         /* first-level translation */
#define VTD_ECAP_SMPWCS         BIT(48)         /* scalable-mode page-walk coherency */
#define VTD_ECAP_RPS            BIT(49)         /* RID_PASID */
#define VTD_ECAP_PMS            BIT(51)         /* performance monitoring */
#define VTD_ECAP_ADMS           BIT(52)         /* abort DMA mode */

struct vtd_caps {
	uint64_t cap, ecap;             /* as read */
	/* CAP */
	unsigned did_bits;              /* domain-id width; 0 when ND is the reserved value 7 */
	uint32_t num_domains;           /* 2^did_bits */
	bool afl, rwbf, plmr, phmr, cm, zlr, psi, dwd, drd, fl1gp, pi, fl5lp, ecmds;
	bool esirtps, esrtps;
	uint8_t sagaw;                  /* VTD_SAGAW_* bits */
	unsigned mgaw;                  /* maximum guest address width in bits */
	uint32_t fro;                   /* byte offset of fault record 0 */
	unsigned nfr;                   /* number of fault recording registers, 1..256 */
	uint8_t sllps;                  /* VTD_SLLPS_* bits */
	unsigned mamv;                  /* largest address mask (2^mamv pages) per invalidation */
	/* ECAP */
	bool c, qi, dt, ir, eim, pt, sc, mts, nest, prs, ers, srs, nwfs, eafs, pasid, dit, pds;
	bool smts, vcs, slads, slts, flts, smpwcs, rps, pms, adms;
	uint32_t iro;                   /* byte offset of the IOTLB registers */
	unsigned mhmv;                  /* largest handle mask of an IEC invalidation */
	unsigned pss;                   /* PASID bits - 1 */
};

struct vtd_caps vtd_caps_decode(uint64_t cap, uint64_t ecap);

/*
 * Reject what Courier cannot drive, with a warning naming `unit` and the field: reserved ND
 * (also what an all-ones read of an absent unit gives), no 3/4/5-level tables in SAGAW, IOTLB
 * or fault registers at offset 0. Returns 0, E_INVAL or E_NOSYS.
 */
int vtd_caps_check(const struct vtd_caps *c, const char *unit) __must_check;

/* Adjusted guest address width in bits of a table with `levels` levels (3 -> 39 ...). */
static inline unsigned vtd_levels_to_agaw(unsigned levels)
{
	return VTD_PAGE_SHIFT + 9 * levels;
}

/*
 * The number of second-level table levels to use for IOVAs of `haw_bits` bits: the fewest
 * levels SAGAW offers whose width covers MIN(haw_bits, MGAW) (addresses past MGAW fault in
 * hardware whatever the tables say). E_NOSYS when SAGAW offers none of 3/4/5 levels; E_RANGE
 * when none is wide enough.
 */
int vtd_agaw_levels(const struct vtd_caps *c, unsigned haw_bits);

/* Is did usable as a domain id: below 2^ND bits, and not 0 when CM reserves it (9.3)? */
bool vtd_did_valid(const struct vtd_caps *c, uint32_t did);

/* Register offsets of a unit whose registers are mapped at base. */
struct vtd_regs vtd_regs_make(volatile void *base, const struct vtd_caps *c);
/* Bytes of register space the unit uses, including IOTLB and fault recording registers,
 * rounded up to whole pages. */
uint32_t vtd_regs_span(const struct vtd_caps *c);

/*
 * A one-line summary, space-separated key=value words without spaces inside a value, e.g.
 * "dom=65536 agaw=39,48 mgaw=48 sp=2M,1G nfr=1 fro=0x220 iro=0xf0 mamv=18 psi qi ir eim pt".
 * Returns the length the whole summary needs (like snprintf).
 */
int vtd_caps_format(const struct vtd_caps *c, char *buf, size_t size);

#endif
