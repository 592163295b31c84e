/*
 * The ACPI DMAR table as laid out in memory: byte offsets, sizes, type codes and flags from
 * the Intel VT-d specification, chapter 8 ("BIOS Considerations"). All fields are little
 * endian and unaligned; iommu/dmar.c reads them byte by byte, never through a C struct.
 */
#ifndef COURIER_IOMMU_DMAR_SPEC_H
#define COURIER_IOMMU_DMAR_SPEC_H

#include "kernel/lib/compiler.h"

/* 8.1 DMA Remapping Reporting Structure: the 36-byte ACPI header, then HAW and flags. */
#define DMAR_HDR_SIGNATURE	0	/* 4 bytes, "DMAR" */
#define DMAR_HDR_LENGTH		4	/* u32, whole table in bytes */
#define DMAR_HDR_REVISION	8	/* u8 */
#define DMAR_HDR_CHECKSUM	9	/* u8, all bytes of the table sum to 0 */
#define DMAR_HDR_ACPI_SIZE	36	/* end of the common ACPI header */
#define DMAR_HDR_HAW		36	/* u8, host address width minus 1 */
#define DMAR_HDR_FLAGS		37	/* u8 */
#define DMAR_HDR_SIZE		48	/* 10 reserved bytes follow; structures start here */
#define DMAR_SIGNATURE		"DMAR"

/* 8.1 DMAR Flags. */
#define DMAR_F_INTR_REMAP		BIT(0)
#define DMAR_F_X2APIC_OPT_OUT		BIT(1)
#define DMAR_F_DMA_CTRL_PLATFORM_OPT_IN	BIT(2)

/* 8.2 Remapping structure types; every structure starts with type u16 and length u16. */
enum dmar_type {
	DMAR_TYPE_DRHD = 0,	/* 8.3 DMA remapping hardware unit definition */
	DMAR_TYPE_RMRR = 1,	/* 8.4 reserved memory region */
	DMAR_TYPE_ATSR = 2,	/* 8.5 root port ATS capability */
	DMAR_TYPE_RHSA = 3,	/* 8.6 remapping hardware static affinity */
	DMAR_TYPE_ANDD = 4,	/* 8.7 ACPI name-space device declaration */
	DMAR_TYPE_SATC = 5,	/* 8.8 SoC integrated address translation cache */
	DMAR_TYPE_SIDP = 6,	/* 8.9 SoC integrated device property */
	DMAR_TYPE_COUNT
};
#define DMAR_ST_TYPE		0	/* u16 */
#define DMAR_ST_LENGTH		2	/* u16, includes this header and the device scopes */
#define DMAR_ST_HDR_SIZE	4

/* 8.3 DRHD. */
#define DMAR_DRHD_FLAGS		4	/* u8 */
#define DMAR_DRHD_SIZE		5	/* u8, bits 3:0: 2^N 4 KiB register pages; was reserved */
#define DMAR_DRHD_SEGMENT	6	/* u16 */
#define DMAR_DRHD_BASE		8	/* u64, register base address */
#define DMAR_DRHD_SCOPES	16	/* device scopes to the end of the structure */
#define DMAR_DRHD_F_INCLUDE_PCI_ALL	BIT(0)

/* 8.4 RMRR. */
#define DMAR_RMRR_SEGMENT	6	/* u16; bytes 4-5 reserved */
#define DMAR_RMRR_BASE		8	/* u64, 4 KiB aligned */
#define DMAR_RMRR_LIMIT		16	/* u64, last byte of the region (inclusive) */
#define DMAR_RMRR_SCOPES	24

/* 8.5 ATSR. */
#define DMAR_ATSR_FLAGS		4	/* u8; byte 5 reserved */
#define DMAR_ATSR_SEGMENT	6	/* u16 */
#define DMAR_ATSR_SCOPES	8
#define DMAR_ATSR_F_ALL_PORTS	BIT(0)

/* 8.6 RHSA: no device scopes. */
#define DMAR_RHSA_BASE		8	/* u64, base of the DRHD it describes; 4-7 reserved */
#define DMAR_RHSA_DOMAIN	16	/* u32, proximity domain */
#define DMAR_RHSA_SIZE		20

/* 8.7 ANDD: no device scopes. */
#define DMAR_ANDD_DEVICE	7	/* u8, ACPI device number; bytes 4-6 reserved */
#define DMAR_ANDD_NAME		8	/* NUL-terminated ACPI object name, to the end */

/* 8.8 SATC. */
#define DMAR_SATC_FLAGS		4	/* u8; byte 5 reserved */
#define DMAR_SATC_SEGMENT	6	/* u16 */
#define DMAR_SATC_SCOPES	8
#define DMAR_SATC_F_ATC_REQUIRED	BIT(0)

/* 8.9 SIDP. */
#define DMAR_SIDP_SEGMENT	6	/* u16; bytes 4-5 reserved */
#define DMAR_SIDP_SCOPES	8

/* 8.3.1 Device Scope entry: a 6-byte header, then a PCI path of 2-byte (device, function) hops. */
enum dmar_scope_type {
	DMAR_SCOPE_ENDPOINT = 1,	/* PCI endpoint device */
	DMAR_SCOPE_BRIDGE = 2,		/* PCI sub-hierarchy: the bridge and everything below it */
	DMAR_SCOPE_IOAPIC = 3,
	DMAR_SCOPE_HPET = 4,		/* MSI-capable HPET */
	DMAR_SCOPE_ACPI = 5,		/* ACPI name-space device (ID = ANDD number) */
};
#define DMAR_SCOPE_TYPE		0	/* u8 */
#define DMAR_SCOPE_LENGTH	1	/* u8, whole entry */
#define DMAR_SCOPE_FLAGS	2	/* u8, was reserved (SIDP uses it); byte 3 reserved */
#define DMAR_SCOPE_ENUM_ID	4	/* u8: IOAPIC ID, HPET number or ANDD device number */
#define DMAR_SCOPE_START_BUS	5	/* u8 */
#define DMAR_SCOPE_PATH		6	/* hops to the end of the entry */
#define DMAR_SCOPE_HOP_SIZE	2	/* u8 device, u8 function */
#define DMAR_SCOPE_MIN_SIZE	(DMAR_SCOPE_PATH + DMAR_SCOPE_HOP_SIZE)
/* The entry length is one byte and even, so a path has at most this many hops. */
#define DMAR_SCOPE_MAX_HOPS	((254 - DMAR_SCOPE_PATH) / DMAR_SCOPE_HOP_SIZE)
/* PCI limits on a hop (PCI Local Bus 3.0: 32 devices of 8 functions on a bus). */
#define DMAR_PCI_MAX_DEVICE	31
#define DMAR_PCI_MAX_FUNCTION	7

_Static_assert(DMAR_HDR_FLAGS + 1 + 10 == DMAR_HDR_SIZE, "8.1: 10 reserved bytes end the header");
_Static_assert(DMAR_DRHD_BASE + 8 == DMAR_DRHD_SCOPES, "8.3: scopes follow the base address");
_Static_assert(DMAR_RMRR_LIMIT + 8 == DMAR_RMRR_SCOPES, "8.4: scopes follow the limit");
_Static_assert(DMAR_ATSR_SEGMENT + 2 == DMAR_ATSR_SCOPES, "8.5: scopes follow the segment");
_Static_assert(DMAR_RHSA_DOMAIN + 4 == DMAR_RHSA_SIZE, "8.6: RHSA is 20 bytes");
_Static_assert(DMAR_SATC_SEGMENT + 2 == DMAR_SATC_SCOPES, "8.8: scopes follow the segment");
_Static_assert(DMAR_SIDP_SEGMENT + 2 == DMAR_SIDP_SCOPES, "8.9: scopes follow the segment");
_Static_assert(DMAR_SCOPE_MAX_HOPS == 124, "8.3.1: an 8-bit even length holds 124 hops");

#endif
