/*
 * One DMA-remapping hardware unit (a DRHD, VT-d spec 8.3): its registers, decoded
 * capabilities, global commands (11.4.4-11.4.5), root and context tables (9.1-9.3), and the
 * invalidation queue (iommu/qi.h) and fault state (iommu/fault.h) it owns.
 */
#ifndef COURIER_IOMMU_UNIT_H
#define COURIER_IOMMU_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/arch/spinlock.h"
#include "iommu/caps.h"
#include "iommu/context.h"
#include "iommu/dmar.h"
#include "iommu/regs.h"

/* The invalidation queue of a unit (iommu/qi.c). */
struct vtd_qi {
	struct spinlock lock;           /* the queue and the invalidation registers */
	struct vtd_qi_desc *ring;
	uint64_t pa;
	unsigned entries;
	unsigned tail;                  /* next free slot */
	volatile uint32_t *status;      /* where wait descriptors write their sequence number */
	uint64_t status_pa;
	uint32_t seq;
	bool drained;                   /* the last wait completed: the queue is empty (head ==
					 * tail), no need to read IQH for room */
};

/* Fault reporting state of a unit (iommu/fault.c). */
struct vtd_fault_state {
	struct spinlock lock;           /* fault registers and the state below */
	uint64_t last_us;               /* time of the last fault seen */
	unsigned burst;                 /* faults in the current burst */
	unsigned suppressed;            /* records left out of the current burst */
	bool overflow_reported;         /* PFO already reported in this burst */
	int cpu;                        /* CPU that takes the fault event; -1: none */
};

struct vtd_unit {
	unsigned index;
	uint64_t base;                  /* register base address */
	uint32_t mapped;                /* bytes of registers mapped */
	uint16_t segment;
	bool include_all;
	struct vtd_regs regs;
	struct vtd_caps caps;
	struct spinlock cmd_lock;       /* GCMD: one command at a time */
	unsigned levels;                /* second-level table depth every domain uses */
	bool qi;                        /* queued invalidation enabled (else register-based) */
	bool te;                        /* translation enabled */
	uint64_t root_pa;
	struct vtd_root_entry *root;
	struct vtd_qi q;
	struct vtd_fault_state f;
};

/* Map the unit's registers (at least what CAP/ECAP say it uses), decode and check its
 * capabilities. Returns 0, or a negative E_* with the reason logged. */
int vtd_unit_init(struct vtd_unit *u, unsigned index, const struct dmar_drhd *d) __must_check;

/*
 * Issue one global command (11.4.4): GCMD gets the persistent enables GSTS reports plus `cmd`
 * set (on) or cleared, then GSTS is polled, bounded, until the command's status says it is
 * done. E_TIMEOUT is logged with the unit and the command.
 */
int vtd_unit_gcmd(struct vtd_unit *u, uint32_t cmd, bool on) __must_check;

/* Flush the write buffer where CAP.RWBF asks for it (6.8); 0 otherwise. */
int vtd_unit_flush_wb(struct vtd_unit *u) __must_check;

/* Allocate an empty root table, point RTADDR at it (legacy mode) and latch it (SRTP). */
int vtd_unit_set_root(struct vtd_unit *u) __must_check;

/* The context entry of requester sid; a zero entry when its bus has no context table. */
struct vtd_ctx_entry vtd_unit_ctx_get(const struct vtd_unit *u, uint16_t sid);
/* Write a present context entry for sid (allocating the bus's context table); the caller
 * invalidates. E_NOMEM. */
int vtd_unit_ctx_set(struct vtd_unit *u, uint16_t sid, struct vtd_ctx_entry e) __must_check;
/* Make sid's context entry not present; the caller invalidates. */
void vtd_unit_ctx_clear(struct vtd_unit *u, uint16_t sid);

/* The `@iommu` record (docs/report.md). */
void vtd_unit_report(const struct vtd_unit *u);

#endif
