/*
 * The guest ABI: hypercall numbers and arguments, error codes, the start-info and shared-info
 * pages. Shared by the hypervisor and the guests (guests/lib); documented in docs/abi.md.
 * Plain C types only: this header compiles freestanding on both sides.
 *
 * A hypercall is the `syscall` instruction with the number in RAX and up to five arguments in
 * RDI, RSI, RDX, R10, R8 (RCX and R11 are clobbered by the instruction itself). The result
 * comes back in RAX: >= 0 on success, a negative COURIER_E* code on failure. Every argument is
 * validated; a bad one returns an error, never a fault in the hypervisor.
 */
#ifndef COURIER_ABI_H
#define COURIER_ABI_H

#include <stdint.h>

#define COURIER_ABI_VERSION     3

/* ---- hypercall numbers ------------------------------------------------------------------- */
enum courier_hypercall {
	HC_CONSOLE_WRITE = 0,   /* (const char *buf, uint64_t len) -> bytes written */
	HC_YIELD = 1,           /* () -> 0: give the CPU to the next runnable guest */
	HC_BLOCK = 2,           /* (deadline or 0) -> 0: sleep until an unmasked event is pending,
	                         * or until HC_TIME reaches deadline (to a tick) */
	HC_EXIT = 3,            /* (int64_t code): never returns */
	HC_TIME = 4,            /* () -> nanoseconds since the hypervisor booted */
	HC_UPCALL_SET = 5,      /* (void (*entry)(void), uint64_t stack_top) -> 0 */
	HC_UPCALL_RETURN = 6,   /* (): resume the context the upcall interrupted */
	HC_EVT_ALLOC = 7,       /* () -> a new port of this guest */
	HC_EVT_UNMASK = 8,      /* (port) -> 0: clear the mask bit; upcall if pending */
	HC_EVT_OFFER = 9,       /* (port, guest id) -> 0: let that guest send to my port */
	HC_EVT_SEND = 10,       /* (guest id or COURIER_SELF, port) -> 0: mark it pending there */
	HC_GUEST_LOOKUP = 11,   /* (const char *name, uint64_t len) -> guest id */
	HC_DEV_MSG_ALLOC = 12,  /* (bdf, n) -> messages allocated (MSI: n rounded up to a power
	                         * of two; MSI-X: n) */
	HC_DEV_MSG_BIND = 13,   /* (bdf, msg, guest id or COURIER_SELF, port) -> 0: message msg
	                         * raises that port */
	HC_DEV_MSG_UNBIND = 14, /* (bdf, msg) -> 0 */
	HC_SCHED_MOVE = 15,     /* (guest id or COURIER_SELF, cpu) -> 0 */
	HC_DEV_MSG_GRANT = 16,  /* (bdf, msg, guest id) -> 0: that guest may bind, unbind and
	                         * mask message msg, and nobody else */
	HC_DEV_MSG_REVOKE = 17, /* (bdf, msg) -> 0: the grant and the grantee's binding go */
	HC_DEV_MSG_MASK = 18,   /* (bdf, msg, 1 or 0) -> 0: hold message msg at its source, or
	                         * let it go */
	HC_GRANT_PORT = 19,     /* (port or COURIER_NO_PORT) -> 0: raised when a grant to this
	                         * guest comes or goes */
	HC_GRANT_LIST = 20,     /* (struct courier_grant *buf, max) -> grants this guest holds */
	HC_COUNT
};

/* "This guest", where HC_EVT_SEND, HC_DEV_MSG_BIND and HC_SCHED_MOVE take a guest id (not
 * HC_EVT_OFFER). */
#define COURIER_SELF            ((uint64_t)-1)

/* "No port", for HC_GRANT_PORT. */
#define COURIER_NO_PORT         ((uint64_t)-1)

/* A device message granted to this guest (HC_GRANT_LIST). */
#define COURIER_GRANTS_MAX      64      /* entries one HC_GRANT_LIST copies at most */
struct courier_grant {
	uint32_t bdf;           /* the function: segment << 16 | bus << 8 | dev << 3 | fn */
	uint32_t msg;           /* the message of it */
	uint32_t owner;         /* the guest id that owns the function */
	int32_t port;           /* the port of ours it is bound to, -1 when not bound */
};

/* ---- error codes (the negative of these is returned) ------------------------------------- */
enum courier_error {
	COURIER_EINVAL = 1,     /* malformed argument */
	COURIER_ENOMEM = 2,
	COURIER_ERANGE = 3,     /* a value or buffer outside what is allowed */
	COURIER_ENOENT = 4,     /* no such guest, port, device or message */
	COURIER_EEXIST = 5,     /* no hypercall returns it at present */
	COURIER_EBUSY = 7,      /* already in use (a message allocated or bound twice) */
	COURIER_EPERM = 8,      /* not allowed for this guest */
	COURIER_ENOSYS = 9,     /* no such hypercall */
	COURIER_EFAULT = 12,    /* a pointer outside the guest's memory */
};

/* ---- events ------------------------------------------------------------------------------ */
#define COURIER_EVT_PORTS       256
#define COURIER_EVT_WORDS       (COURIER_EVT_PORTS / 64)

/*
 * The interrupted context's share that neither side can keep in registers (docs/abi.md,
 * "Upcalls"). The hypervisor enters the upcall with every general register as the interrupted
 * code left it and writes here only what entering changes: RIP, RSP, RFLAGS. The upcall saves
 * the registers it uses and restores them, except the three that `syscall` and the call
 * number take: it writes RAX, RCX and R11 here, and HC_UPCALL_RETURN loads those six.
 */
struct courier_upcall_frame {
	uint64_t rip, rsp, rflags;      /* written by the hypervisor on upcall entry */
	uint64_t rax, rcx, r11;         /* written by the guest before HC_UPCALL_RETURN */
};

/*
 * The shared-info page, mapped read-write in the guest at start_info.shared_info. The
 * hypervisor sets pending bits atomically; the guest clears them. An event is delivered when
 * its pending bit is set and its mask bit clear: a running guest with upcall_mask clear and an
 * upcall registered enters its upcall on the way back to ring 3, a blocked guest wakes.
 */
struct courier_shared_info {
	volatile uint64_t evt_pending[COURIER_EVT_WORDS];
	volatile uint64_t evt_mask[COURIER_EVT_WORDS];
	volatile uint8_t upcall_mask;   /* 1: no upcalls (set by the hypervisor when it enters the
	                                 * upcall, cleared by HC_UPCALL_RETURN) */
	volatile uint8_t upcall_pending;/* a hint that an unmasked port became pending; the
	                                 * hypervisor only ever sets it */
	uint8_t pad[6];
	struct courier_upcall_frame frame;      /* the interrupted context of the current upcall */
	volatile uint64_t time_ns;      /* reserved: not written by the hypervisor (stays 0);
	                                 * use HC_TIME */
};

/* ---- start info --------------------------------------------------------------------------- */
#define COURIER_NAME_MAX        32
#define COURIER_MAX_DEVS        8
#define COURIER_MAX_BARS        6
#define COURIER_CMDLINE_MAX     256

struct courier_dev_info {
	uint32_t bdf;           /* segment << 16 | bus << 8 | dev << 3 | fn */
	uint16_t vendor, device;
	uint32_t msi_max;       /* messages the function can send (MSI or MSI-X) */
	uint32_t pad;
	uint64_t bar_va[COURIER_MAX_BARS];      /* where each memory BAR is mapped, 0 if none */
	uint64_t bar_size[COURIER_MAX_BARS];
};

/* Read-only page; its address is in RDI at the guest's entry point. */
struct courier_start_info {
	uint32_t abi_version;
	uint32_t guest_id;
	char name[COURIER_NAME_MAX];
	uint32_t cpu;           /* where it starts; the hypervisor updates it on every move */
	uint32_t ndevs;
	uint64_t shared_info;   /* virtual address of the shared-info page */
	uint64_t heap_start, heap_end;  /* free guest memory for sbrk */
	uint64_t stack_top;     /* the initial RSP */
	uint64_t mem_start, mem_end;    /* all of the guest's RAM (guest-virtual = DMA address) */
	char cmdline[COURIER_CMDLINE_MAX];
	struct courier_dev_info devs[COURIER_MAX_DEVS];
};

#endif
