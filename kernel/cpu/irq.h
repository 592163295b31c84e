/*
 * Device vectors: a vector allocator per CPU (kernel/cpu/vector_alloc.h) and the per-CPU table
 * from vector to handler (percpu.vectors[], the one trap_entry reads), so that one vector
 * number means different things on different CPUs.
 *
 * Handlers are installed on any CPU from any CPU: a slot is written only while its vector is
 * free (no interrupt can name it yet), argument first, function last.
 *
 * Giving a vector back is the delicate part. Once nothing will send a new interrupt on (cpu,
 * v) — the IRTE that named it was rewritten, invalidated and waited for, which also drains
 * every request remapped with the old entry into its CPU's local APIC (VT-d 6.5.2.7) — an
 * interrupt may still sit in cpu's IRR, or be taken later than that if cpu runs with
 * interrupts off. irq_vector_release() therefore sends cpu an IPI on VEC_IRQ_DRAIN, the
 * lowest-priority vector there is. The local APIC hands a CPU its pending interrupts highest
 * priority first (SDM vol. 3 10.8.3.1), and handlers run with interrupts off to the end, so
 * when cpu runs the drain handler every earlier interrupt on v has been handled by v's
 * handler; the drain handler checks v's IRR bit as well (an interrupt that arrived while it
 * ran) and tries again later if it is set. Only then is the slot cleared and v freed: a late
 * interrupt always reaches the handler it was meant for, never a later owner of v. One drain
 * takes every released vector of its CPU that has nothing pending in one pass (the IRR read
 * once per 64 vectors), so a move of n messages costs O(n), not O(n x vectors); the done
 * calls run after the lock is dropped.
 */
#ifndef COURIER_KERNEL_CPU_IRQ_H
#define COURIER_KERNEL_CPU_IRQ_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/cpu/percpu.h"

/* Boot, after SMP start: the drain handler on every CPU online. */
void irq_init(void);

/* A free vector of CPU cpu with fn(frame, arg) installed: the vector, or E_NOMEM/E_INVAL. */
int irq_vector_alloc(unsigned cpu, vector_handler_t fn, void *arg) __must_check;
/* n vectors of cpu under one hold of its lock, vector i with fns[i](frame, args[i]), numbers
 * in out[0..): how many it got (fewer than n when cpu runs out), or E_INVAL. */
int irq_vector_alloc_many(unsigned cpu, const vector_handler_t *fns, void *const *args, unsigned n,
			  uint8_t *out) __must_check;

/*
 * Free vector v of cpu once no interrupt on it can still arrive (above); done(arg), arg the
 * handler's argument, then runs on cpu in interrupt context. Returns at once; E_INVAL for a
 * vector not allocated or already being released.
 */
int irq_vector_release(unsigned cpu, unsigned v, void (*done)(void *arg)) __must_check;
/* The same in two steps, so that several vectors of one CPU drain with one IPI: mark them
 * (irq_vector_release_many), then kick the CPU once. */
int irq_drain_kick(unsigned cpu) __must_check;
/* n vectors of cpu marked under one hold of its lock, no IPI (kick once after): how many were
 * marked (the others were outside the device range, or, logged, not allocated or already
 * being released), or E_INVAL. */
int irq_vector_release_many(unsigned cpu, const uint8_t *vs, unsigned n,
			    void (*done)(void *arg)) __must_check;

/*
 * Settling (for shared vectors, below): vector v of cpu stays allocated, but something that
 * used it there has moved on (a route whose IRTE now names another CPU, rewritten, invalidated
 * and waited for). irq_vector_settle_many marks each of vs[0..n) of cpu under one hold of its
 * lock, with no IPI (kick once after, irq_drain_kick; the same kick drains released vectors
 * too). When cpu runs the drain handler with v's IRR bit clear, every interrupt on v that was
 * pending there has been handled, and settled(args[i], k) runs on cpu, k the settles counted
 * on v since the last (one, unless v was settled again before the drain ran). v is not freed.
 * A vector both settling and released is taken in one go, the settle reported first. How
 * many were marked (the others, logged, were outside the device range or not allocated), or
 * E_INVAL.
 */
int irq_vector_settle_many(unsigned cpu, const uint8_t *vs, void *const *args, unsigned n,
			   void (*settled)(void *arg, unsigned n)) __must_check;
/*
 * The cheap settle: the vectors of mask[0..4) (bit v of word v / 64) as one batch of cpu, a
 * bit each and no callback. Returns the batch's number (0: cpu is not online), then kick
 * cpu once. irq_settle_over(cpu, seq) becomes true once cpu's drain handler has seen each
 * vector of the batch with its IRR bit clear (every interrupt on them pending before was
 * handled); batches of one CPU are over in order. Nothing is freed.
 */
uint64_t irq_settle_batch(unsigned cpu, const uint64_t *mask) __must_check;
bool irq_settle_over(unsigned cpu, uint64_t seq);
/*
 * Whether an interrupt on any vector of mask[0..4) is pending in this CPU's IRR, with
 * interrupts off: what the drain handler would look at, read now. A move that runs on the CPU
 * it leaves settles on the spot when nothing is (route.c), since after the invalidation wait
 * every message remapped with the old entries is in this local APIC (VT-d 6.5.2.7).
 */
bool irq_pending_here(const uint64_t *mask);
/* Whether any interrupt is pending in this CPU's IRR in the registers that hold the device
 * vectors (interrupts off): when none is, no vector of theirs is (irq_pending_here), and
 * nothing needs to be gathered first. */
bool irq_device_pending_here(void);

/*
 * Shared vectors: one vector number taken on every CPU, with the same handler and argument
 * on each, for something that moves between CPUs (a route that follows its guest): a move
 * then keeps its vector, and a late interrupt on the CPU it left finds the same handler
 * there, so nothing is freed on a move (who needs to know when the CPU it left has taken
 * every late interrupt settles it there: irq_vector_settle_many). irq_vector_alloc_shared
 * gives the vector, or E_NOMEM when no vector is free on every CPU or taking one would leave
 * some CPU fewer than IRQ_SHARED_KEEP of its own. irq_vector_release_shared releases it on
 * every CPU as above (one drain IPI each) and calls done(arg) once, on the last CPU to drain it; E_INVAL for a
 * vector that is not shared.
 */
#define IRQ_SHARED_KEEP         16
int irq_vector_alloc_shared(vector_handler_t fn, void *arg) __must_check;
int irq_vector_release_shared(unsigned v, void (*done)(void *arg)) __must_check;

#endif
