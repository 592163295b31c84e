/* Ticket spinlocks: fair, so no CPU starves under contention. */
#ifndef COURIER_KERNEL_ARCH_SPINLOCK_H
#define COURIER_KERNEL_ARCH_SPINLOCK_H

#include <stdint.h>
#include "kernel/arch/cpu.h"

struct spinlock {
	volatile uint16_t next;
	volatile uint16_t owner;
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *l)
{
	uint16_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

/* Gives up after `spins` attempts; used only where a dead CPU may hold the lock (panic). */
static inline bool spin_lock_bounded(struct spinlock *l, uint64_t spins)
{
	uint16_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	while (spins--) {
		uint16_t expect = owner;
		if (__atomic_compare_exchange_n(&l->next, &expect, (uint16_t)(owner + 1), false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
		cpu_relax();
		owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	}
	return false;
}

/* Takes the lock only if it is free now. */
static inline bool spin_trylock(struct spinlock *l)
{
	return spin_lock_bounded(l, 1);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, (uint16_t)(l->owner + 1), __ATOMIC_RELEASE);
}

static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t f = irq_save();
	spin_lock(l);
	return f;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	spin_unlock(l);
	irq_restore(flags);
}

#endif
