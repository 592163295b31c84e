/*
 * Event ports, guest side (docs/abi.md, "Events"): the upcall dispatcher and the waits.
 *
 * The hypervisor sets pending bits atomically; the guest clears each one with an atomic AND
 * before running its handler, so an event that arrives while the handler runs is seen on the
 * next pass. Upcalls are masked (shared_info->upcall_mask) whenever handlers run, so one
 * handler never interrupts another.
 */
#include <string.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include "runtime.h"

#define UPCALL_STACK_SIZE       16384
/* Passes over the pending words per dispatch: a port that keeps firing cannot hold the
 * guest in its handlers forever; what is left is delivered by the next upcall. */
#define DISPATCH_PASSES         64
/* Tries to unmask upcalls with nothing pending before leaving the rest to the hypervisor. */
#define ENABLE_PASSES           8

#define barrier()       __asm__ volatile("" ::: "memory")

struct port {
	evt_handler_t fn;
	void *arg;
	uint64_t count;
};

static struct port ports[COURIER_EVT_PORTS];
static uint64_t unhandled;
static unsigned mask_depth;
static uint8_t mask_saved;
static uint8_t upcall_stack[UPCALL_STACK_SIZE] __attribute__((aligned(16)));

static bool port_ok(unsigned port)
{
	return port < COURIER_EVT_PORTS;
}

static uint64_t port_bit(unsigned port)
{
	return 1ull << (port % 64);
}

static uint64_t ready_word(unsigned w)
{
	return shared_info->evt_pending[w] & ~shared_info->evt_mask[w];
}

static bool any_ready(void)
{
	for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
		if (ready_word(w))
			return true;
	return false;
}

/* Inlined into both callers: a call per word would cost every dispatch more than the copy. */
static inline __attribute__((always_inline)) unsigned dispatch_word(unsigned w)
{
	volatile uint64_t *pending = &shared_info->evt_pending[w];
	uint64_t ready = ready_word(w);
	unsigned n = 0;

	while (ready) {
		unsigned port = w * 64 + (unsigned)__builtin_ctzll(ready);
		uint64_t bit = port_bit(port);
		struct port *p = &ports[port];

		ready &= ~bit;
		if (!(__atomic_fetch_and(pending, ~bit, __ATOMIC_ACQ_REL) & bit))
			continue;
		n++;
		if (!p->fn) {
			unhandled++;
			continue;
		}
		p->count++;
		p->fn(port, p->arg);
	}
	return n;
}

/* Runs handlers until nothing is pending (or DISPATCH_PASSES); upcalls must be masked. */
static unsigned dispatch_all(void)
{
	unsigned total = 0;

	for (unsigned pass = 0; pass < DISPATCH_PASSES; pass++) {
		unsigned n = 0;
		for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
			n += dispatch_word(w);
		if (!n)
			break;
		total += n;
	}
	return total;
}

/* What courier_upcall_entry (crt0.S) saved, from its last push to its first. */
struct upcall_saved {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
};

_Static_assert(HC_UPCALL_RETURN == 6, "crt0.S: HC_UPCALL_RETURN_NR");

/* Called by courier_upcall_entry with upcall_mask set by the hypervisor: the handlers, then
 * the three registers HC_UPCALL_RETURN restores into the frame. */
void courier_upcall(const struct upcall_saved *saved)
{
	/* One pass: whatever becomes pending meanwhile makes HC_UPCALL_RETURN enter the upcall
	 * again at once (docs/abi.md), so looking again here would only cost every upcall. */
	for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
		dispatch_word(w);
	shared_info->frame.rax = saved->rax;
	shared_info->frame.rcx = saved->rcx;
	shared_info->frame.r11 = saved->r11;
}

/* HC_UPCALL_RETURN came back: the frame was refused. */
void courier_upcall_failed(int64_t ret)
{
	guest_puts("guest runtime: HC_UPCALL_RETURN failed: ");
	guest_puts(guest_strerror(ret));
	guest_puts("\n");
	hc_exit(126);
}

int evt_init(void)
{
	uint64_t top = (uint64_t)(upcall_stack + sizeof(upcall_stack));
	int64_t ret = hc_upcall_set(courier_upcall_entry, top);

	return ret < 0 ? (int)ret : 0;
}

void upcalls_disable(void)
{
	if (mask_depth++)
		return;
	mask_saved = shared_info->upcall_mask;
	shared_info->upcall_mask = 1;
	barrier();
}

void upcalls_enable(void)
{
	if (!mask_depth || --mask_depth || mask_saved)
		return;
	/* Whatever became pending while masked is run here, or by the next upcall. */
	for (unsigned i = 0; i < ENABLE_PASSES; i++) {
		dispatch_all();
		barrier();
		shared_info->upcall_mask = 0;
		barrier();
		if (!any_ready())
			return;
		shared_info->upcall_mask = 1;
		barrier();
	}
	shared_info->upcall_mask = 0;
}

unsigned evt_dispatch(void)
{
	unsigned n;

	upcalls_disable();
	n = dispatch_all();
	upcalls_enable();
	return n;
}

unsigned evt_block(void)
{
	unsigned n;

	upcalls_disable();
	n = dispatch_all();
	if (!n) {
		hc_block();
		n = dispatch_all();
	}
	upcalls_enable();
	return n;
}

bool evt_wait(bool (*done)(void *arg), void *arg, uint64_t timeout_ns)
{
	uint64_t deadline = UINT64_MAX;
	bool ok;

	if (timeout_ns) {       /* without one, no HC_TIME: a wait already over costs no hypercall */
		uint64_t now = hc_time();
		deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
	}

	upcalls_disable();
	for (;;) {
		dispatch_all();
		ok = done(arg);
		if (ok || (timeout_ns && hc_time() >= deadline))
			break;
		/* HC_BLOCK returns at once if an unmasked port is pending, masked upcalls or not;
		 * with a deadline, the CPU idles until then instead of this guest spinning. */
		if (hc_block_until(timeout_ns ? deadline : 0) < 0)
			hc_yield();
	}
	upcalls_enable();
	return ok;
}

int evt_alloc(void)
{
	int64_t port = hc_evt_alloc();

	if (port < 0)
		return (int)port;
	return port_ok((unsigned)port) ? (int)port : -COURIER_ERANGE;
}

int evt_bind_handler(unsigned port, evt_handler_t fn, void *arg)
{
	if (!port_ok(port))
		return -COURIER_ERANGE;
	upcalls_disable();
	ports[port].fn = fn;
	ports[port].arg = arg;
	upcalls_enable();
	return 0;
}

void evt_mask(unsigned port)
{
	if (port_ok(port))
		__atomic_fetch_or(&shared_info->evt_mask[port / 64], port_bit(port),
				  __ATOMIC_SEQ_CST);
}

int evt_unmask(unsigned port)
{
	return (int)hc_evt_unmask(port);
}

int evt_send(uint64_t guest, unsigned port)
{
	return (int)hc_evt_send(guest, port);
}

int evt_offer(unsigned port, uint64_t guest)
{
	return (int)hc_evt_offer(port, guest);
}

int64_t guest_lookup(const char *name)
{
	return hc_guest_lookup(name, strlen(name));
}

int64_t guest_lookup_wait(const char *name, uint64_t timeout_ns)
{
	uint64_t end = hc_time() + timeout_ns;
	int64_t id = -COURIER_ENOENT;

	while (name && (id = guest_lookup(name)) < 0 && hc_time() < end)
		hc_yield();
	return id;
}

uint64_t evt_count(unsigned port)
{
	return port_ok(port) ? ports[port].count : 0;
}

uint64_t evt_unhandled(void)
{
	return unhandled;
}
