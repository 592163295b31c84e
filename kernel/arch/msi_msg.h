/*
 * MSI address/data pairs in the two formats Courier writes into devices. Pure.
 *
 * Compatibility format (Intel SDM vol. 3, 11.11 "Message Signalled Interrupts"): the message
 * names its destination APIC and vector itself. Remappable format (VT-d spec 5.1.5.2): the
 * message names an interrupt remapping table entry, handle (+ subhandle in the data when SHV
 * is set), and the IRTE says the rest. The upper address (64-bit MSI) is 0 in both.
 */
#ifndef COURIER_KERNEL_ARCH_MSI_MSG_H
#define COURIER_KERNEL_ARCH_MSI_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* Address bits 31:20 of every interrupt message. */
#define MSI_ADDR_BASE           0xfee00000u
#define MSI_ADDR_BASE_MASK      GENMASK(31, 20)

/* SDM 11.11.1, compatibility-format address. */
#define MSI_ADDR_DEST           GENMASK(19, 12) /* destination APIC id */
#define MSI_ADDR_DEST_SHIFT     12
#define MSI_ADDR_RH             BIT(3)          /* redirection hint */
#define MSI_ADDR_DM             BIT(2)          /* destination mode: 1 logical */
/* SDM 11.11.2, compatibility-format data. */
#define MSI_DATA_VECTOR         GENMASK(7, 0)
#define MSI_DATA_DLM            GENMASK(10, 8)  /* delivery mode */
#define MSI_DATA_DLM_SHIFT      8
#define MSI_DATA_LEVEL_ASSERT   BIT(14)         /* level for level-triggered messages */
#define MSI_DATA_TRIGGER_LEVEL  BIT(15)         /* trigger mode: 1 level */
#define MSI_DATA_COMPAT_MASK    (MSI_DATA_VECTOR | MSI_DATA_DLM | MSI_DATA_LEVEL_ASSERT | \
				 MSI_DATA_TRIGGER_LEVEL)

/* VT-d 5.1.5.2, remappable-format address; the data carries the subhandle. */
#define MSI_ADDR_HANDLE_LO      GENMASK(19, 5)  /* handle[14:0] */
#define MSI_ADDR_HANDLE_LO_SHIFT 5
#define MSI_ADDR_IF             BIT(4)          /* interrupt format: 1 remappable */
#define MSI_ADDR_SHV            BIT(3)          /* subhandle valid */
#define MSI_ADDR_HANDLE_15      BIT(2)          /* handle[15] */
#define MSI_DATA_SUBHANDLE      GENMASK(15, 0)

/* Delivery modes. */
#define MSI_DLM_FIXED           0
#define MSI_DLM_LOWEST          1
#define MSI_DLM_SMI             2
#define MSI_DLM_NMI             4
#define MSI_DLM_INIT            5
#define MSI_DLM_EXTINT          7
#define MSI_DLM_RESERVED        (BIT(3) | BIT(6))       /* modes 3 and 6 */

/* Vectors 0-15 are reserved: the local APIC rejects them as illegal (SDM 10.5.2). */
#define MSI_VECTOR_MIN          16

struct msi_msg {
	uint32_t addr_lo, addr_hi;
	uint32_t data;
};

struct msi_compat {
	uint8_t dest;           /* xAPIC id: 8 bits in this format */
	bool dm_logical, rh;
	uint8_t vector;
	uint8_t dlm;
	bool level;             /* level-triggered (asserting); else edge */
};

struct msi_remap {
	uint16_t handle;
	bool shv;
	uint16_t subhandle;     /* with shv: the first index is handle + subhandle */
};

struct msi_ret {
	int err;
	struct msi_msg m;
};

/* E_INVAL for a reserved delivery mode (3, 6) or a fixed/lowest-priority vector below 16. */
struct msi_ret msi_compat_encode(const struct msi_compat *c);
/* A remappable message; subhandle must be 0 without shv (E_INVAL). */
struct msi_ret msi_remap_encode(const struct msi_remap *r);

static inline bool msi_is_remappable(struct msi_msg m) { return m.addr_lo & MSI_ADDR_IF; }
/* Is this an interrupt message at all (address 0xFEExxxxx, upper address 0)? */
static inline bool msi_is_interrupt(struct msi_msg m)
{
	return m.addr_hi == 0 && (m.addr_lo & MSI_ADDR_BASE_MASK) == MSI_ADDR_BASE;
}

/* Decoders, for whatever format the message says it is. */
struct msi_compat msi_compat_decode(struct msi_msg m);
struct msi_remap msi_remap_decode(struct msi_msg m);
/* The IRTE a remappable message selects (5.1.5.2): handle, plus subhandle (data 15:0) when
 * SHV is set. A device sending message k of a multi-message MSI sets the low bits of the data,
 * so with SHV message k selects handle + k. May exceed 0xffff; the unit faults (21h) then. */
uint32_t msi_remap_index(struct msi_msg m);

#endif
