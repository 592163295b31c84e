/*
 * Paravirtual guests: each runs in ring 3 on its own page tables (kernel/guest/guest_mm.c), enters
 * the hypervisor through hypercalls (kernel/guest/hypercall.c) and interrupts, gets events through
 * its shared-info page (kernel/guest/event.c), and is scheduled on one CPU at a time
 * (kernel/guest/sched.c).
 */
#ifndef COURIER_KERNEL_GUEST_GUEST_H
#define COURIER_KERNEL_GUEST_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include "include/courier/abi.h"
#include "include/courier/layout.h"
#include "kernel/mm/paging.h"
#include "kernel/arch/spinlock.h"
#include "kernel/arch/fpu.h"
#include "kernel/cpu/trap.h"
#include "iommu/topology.h"

struct pci_dev;
struct binding;
struct msg_slot;

#define MAX_GUESTS              256
#define GUEST_IR_UNITS          IOMMU_MAX_UNITS
/* Moves noted and not yet reported (guest.c, "Move records"): more than a guest's burst of
 * reports (GUEST_REPORT_BURST) and a tick's worth of the hypervisor's own moves. */
#define GUEST_MOVE_NOTES        128

enum guest_state {
	GUEST_LOADED,           /* created, not yet run */
	GUEST_RUNNING,          /* runnable or on a CPU */
	GUEST_BLOCKED,          /* waiting for an event */
	GUEST_EXITED,
	GUEST_CRASHED,
	GUEST_REJECTED,         /* its module was refused; never ran */
	GUEST_RESTARTED,        /* reported once, on its way back to running (restart=on) */
};

struct guest_port {
	bool allocated;
	uint64_t offered_to[MAX_GUESTS / 64];   /* bit g: guest g may send to this port */
	uint64_t received;      /* events delivered through it */
};

struct guest {
	unsigned id;
	char name[COURIER_NAME_MAX];
	volatile enum guest_state state;
	unsigned cpu;           /* the CPU whose run queue holds it */
	bool privileged;
	int64_t exit_code;

	struct pt pt;           /* its page tables (kernel half shared) */
	uint64_t mem_mib;
	uint64_t *frames;       /* physical frame of each 4 KiB page of RAM */
	uint64_t frames_pa;     /* where that array is */
	uint64_t nframes;
	uint64_t shared_pa, start_pa;
	struct courier_shared_info *shared;     /* hypervisor's view of the page */
	struct courier_start_info *start;

	struct trap_frame ctx;  /* its user context while it is not on a CPU */
	struct fpu_state fpu;   /* its x87/SSE registers while it is not on a CPU */
	uint64_t upcall_entry, upcall_stack;
	bool in_upcall;         /* the hypervisor's own record: the shared page is the guest's */

	struct spinlock lock;   /* ports */
	struct guest_port ports[COURIER_EVT_PORTS];

	/* Scheduling (kernel/guest/sched.c). sched_lock orders the guest's state, on_rq and on_cpu; it
	 * is taken before a run-queue lock, never after. */
	struct spinlock sched_lock;
	/* Taken before sched_lock where a state change prints its @guest record: the records come
	 * in the order of the changes, and the formatting is not done under sched_lock, which
	 * every CPU raising an event for this guest may be waiting for. */
	struct spinlock report_lock;
	struct guest *rq_next;  /* run queue of its CPU */
	bool on_rq;
	bool on_cpu;            /* some CPU's current guest (running_on) */
	unsigned running_on;
	volatile bool need_resched;
	uint64_t wake_at_ns;    /* blocked until then at the latest (HC_BLOCK); 0: no deadline */

	struct pci_dev *devs[COURIER_MAX_DEVS];     /* functions it owns */
	unsigned ndevs;
	char line[GUEST_CONSOLE_LINE];  /* console output up to the next newline */
	unsigned line_len;
	uint64_t report_tokens;         /* guest_may_report's bucket, and when it was filled */
	uint64_t report_filled_us;
	uint64_t reports_dropped;       /* records its actions made that were not printed */
	/* Its moves' @guest records to come, oldest first (cpu << 8 | state), under sched_lock:
	 * noted on the move, formatted off its path (guest_report_moves). */
	uint32_t move_notes[GUEST_MOVE_NOTES];
	unsigned move_notes_head, move_notes_n;
	/* Its use of what guests share (kernel/guest/guest_msg.c, "Shares"). */
	unsigned routes_held;           /* messages bound to its ports: vectors on its CPU */
	struct binding *bound;          /* those bindings (kernel/guest/guest_msg.c) */
	struct binding *dev_bound;      /* bindings of the messages of the devices it owns */
	struct msg_slot *granted;       /* device messages granted to it (HC_DEV_MSG_GRANT) */
	struct msg_slot *msg_slots;     /* its devices' messages that are granted or bound */
	int grant_port;                 /* raised when a grant to it comes or goes; -1: none */
	uint64_t msgs_dropped;          /* device messages for its ports that came after an unbind */
	unsigned irtes_held[GUEST_IR_UNITS];    /* IRTEs its devices' messages hold, per unit */

	/* restart=on: its module, to load again after a crash (guest.c, "Restarts") */
	bool restart;
	const uint8_t *image;
	size_t image_len;
	const char *cmdline;
	volatile bool restart_pending;
	uint64_t restart_at_us;
	unsigned restarts;

	/* Giving back (guest.c): once every CPU has ticked twice since it ended. */
	volatile bool reclaim_pending;
	uint64_t ended_ticks[MAX_CPUS];

	/* statistics (@stat) */
	uint64_t events_before;         /* events of its runs before a restart (@stat events=) */
	uint64_t hypercalls, cpu_time_us, last_start_us;
	uint64_t moves;                 /* times it changed CPU (sched_move) */
	uint64_t batches;               /* moves that took bound messages along (guest_msg.c) */
	char reason[64];
};

extern struct guest guests[MAX_GUESTS];
extern unsigned guest_count;

/* Create every guest from the boot modules; a bad module is rejected by name. */
struct mb2_info;
void guests_create(const struct mb2_info *mb);
/* Put every loaded guest on its CPU's run queue. */
void guests_start(void);
struct guest *guest_by_id(uint64_t id);
struct guest *guest_by_name(const char *name, uint64_t len);
void guest_set_state(struct guest *g, enum guest_state s, const char *reason);
/* Stop a guest that faulted: report it with its registers, quiesce its devices. */
void guest_crash(struct guest *g, struct trap_frame *f);
/* End a guest (exited or crashed): quiesce its devices, flush its console, report it. */
void guest_stop(struct guest *g, enum guest_state s, const char *reason);
/* Console output of a guest: whole lines, prefixed with its name so it cannot forge records. */
/* Take len bytes of the guest's output; returns how many it took (fewer once the guest's slice
 * is over, so a long write never outlasts it). */
uint64_t guest_console_write(struct guest *g, const char *buf, uint64_t len);
void guest_console_flush(struct guest *g);
/* Move the console on (kernel/cpu/console.h), with interrupts on for the while: from an idle
 * loop, or a little from a tick (where no lock is held). */
void guest_console_drain(bool tick);
/* Per guest, what its own actions make the hypervisor print (moves it asks for) is rate
 * limited: true while g may still print one now; the rest is counted in g->reports_dropped. */
bool guest_may_report(struct guest *g);
/* Under g->sched_lock: g moved to cpu in state s; its `@guest ... reason=moved` record is
 * formatted later, in order with g's other records (a few stores: nothing is printed). */
void guest_note_move(struct guest *g, unsigned cpu, enum guest_state s);
/* The records of the moves noted so far, every guest's: from the boot CPU's tick and the end
 * of a run, with no lock held. */
void guests_report_moves(void);
/* The same at the end of a run (kernel/run.c): a lock a stopped CPU holds is not waited for. */
void guests_report_moves_at_end(void);
bool guests_all_done(void);
/* The boot CPU's tick, with interrupts on: crashed guests with restart=on whose delay is over
 * start again. */
void guests_restart_due(void);
/* The same tick: ended guests that no CPU can still reach give their memory and domain back. */
void guests_reclaim_due(void);
void guests_report_stats(void);
const char *guest_state_name(enum guest_state s);

/* Guest memory access for hypercalls: copy to/from guest-virtual RAM only; E_RANGE (the
 * hypercall's EFAULT) when [va, va + len) is not all RAM. */
int guest_copy_from(struct guest *g, void *dst, uint64_t va, uint64_t len);
int guest_copy_to(struct guest *g, uint64_t va, const void *src, uint64_t len);

#endif
