/*
 * Hypercall stubs (include/courier/abi.h, docs/abi.md): `syscall` with the number in RAX and
 * the arguments in RDI, RSI, RDX, R10, R8; the result in RAX, negative COURIER_E* on failure.
 * The instruction itself clobbers RCX and R11. The argument registers are declared clobbered
 * too, so the stubs stay correct whatever the hypervisor leaves in them.
 */
#ifndef COURIER_GUEST_HYPERCALL_H
#define COURIER_GUEST_HYPERCALL_H

#include <stdint.h>
#include <courier/abi.h>

static inline int64_t hypercall5(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
				 uint64_t a3, uint64_t a4)
{
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	uint64_t rax = nr;

	__asm__ volatile("syscall"
			 : "+a"(rax), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
			 :
			 : "rcx", "r11", "memory");
	return (int64_t)rax;
}

static inline int64_t hypercall0(uint64_t nr)
{
	return hypercall5(nr, 0, 0, 0, 0, 0);
}

static inline int64_t hypercall1(uint64_t nr, uint64_t a0)
{
	return hypercall5(nr, a0, 0, 0, 0, 0);
}

static inline int64_t hypercall2(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return hypercall5(nr, a0, a1, 0, 0, 0);
}

static inline int64_t hypercall3(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return hypercall5(nr, a0, a1, a2, 0, 0);
}

static inline int64_t hypercall4(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return hypercall5(nr, a0, a1, a2, a3, 0);
}

/* ---- one typed stub per call ------------------------------------------------------------- */

static inline int64_t hc_console_write(const char *buf, uint64_t len)
{
	return hypercall2(HC_CONSOLE_WRITE, (uint64_t)buf, len);
}

static inline int64_t hc_yield(void)
{
	return hypercall0(HC_YIELD);
}

static inline int64_t hc_block(void)
{
	return hypercall1(HC_BLOCK, 0);
}

/* Blocked until an event or until HC_TIME reaches deadline_ns (met to a hypervisor tick). */
static inline int64_t hc_block_until(uint64_t deadline_ns)
{
	return hypercall1(HC_BLOCK, deadline_ns);
}

static inline __attribute__((noreturn)) void hc_exit(int64_t code)
{
	hypercall1(HC_EXIT, (uint64_t)code);
	__builtin_trap();       /* HC_EXIT never returns; if it did, fault rather than run on */
}

static inline uint64_t hc_time(void)
{
	return (uint64_t)hypercall0(HC_TIME);
}

static inline int64_t hc_upcall_set(void (*entry)(void), uint64_t stack_top)
{
	return hypercall2(HC_UPCALL_SET, (uint64_t)entry, stack_top);
}

static inline int64_t hc_upcall_return(void)
{
	return hypercall0(HC_UPCALL_RETURN);
}

static inline int64_t hc_evt_alloc(void)
{
	return hypercall0(HC_EVT_ALLOC);
}

static inline int64_t hc_evt_unmask(uint64_t port)
{
	return hypercall1(HC_EVT_UNMASK, port);
}

static inline int64_t hc_evt_offer(uint64_t port, uint64_t guest)
{
	return hypercall2(HC_EVT_OFFER, port, guest);
}

static inline int64_t hc_evt_send(uint64_t guest, uint64_t port)
{
	return hypercall2(HC_EVT_SEND, guest, port);
}

static inline int64_t hc_guest_lookup(const char *name, uint64_t len)
{
	return hypercall2(HC_GUEST_LOOKUP, (uint64_t)name, len);
}

static inline int64_t hc_dev_msg_alloc(uint64_t bdf, uint64_t n)
{
	return hypercall2(HC_DEV_MSG_ALLOC, bdf, n);
}

static inline int64_t hc_dev_msg_bind(uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port)
{
	return hypercall4(HC_DEV_MSG_BIND, bdf, msg, guest, port);
}

static inline int64_t hc_dev_msg_unbind(uint64_t bdf, uint64_t msg)
{
	return hypercall2(HC_DEV_MSG_UNBIND, bdf, msg);
}

static inline int64_t hc_dev_msg_grant(uint64_t bdf, uint64_t msg, uint64_t guest)
{
	return hypercall3(HC_DEV_MSG_GRANT, bdf, msg, guest);
}

static inline int64_t hc_dev_msg_revoke(uint64_t bdf, uint64_t msg)
{
	return hypercall2(HC_DEV_MSG_REVOKE, bdf, msg);
}

static inline int64_t hc_dev_msg_mask(uint64_t bdf, uint64_t msg, uint64_t masked)
{
	return hypercall3(HC_DEV_MSG_MASK, bdf, msg, masked);
}

static inline int64_t hc_grant_port(uint64_t port)
{
	return hypercall1(HC_GRANT_PORT, port);
}

static inline int64_t hc_grant_list(struct courier_grant *buf, uint64_t max)
{
	return hypercall2(HC_GRANT_LIST, (uint64_t)buf, max);
}

static inline int64_t hc_sched_move(uint64_t guest, uint64_t cpu)
{
	return hypercall2(HC_SCHED_MOVE, guest, cpu);
}

#endif
