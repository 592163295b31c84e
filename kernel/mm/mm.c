#include "kernel/mm/mm.h"
#include "kernel/mm/frame.h"
#include "kernel/mm/layout.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/string.h"
#include "kernel/mm/vm.h"

static struct frame_alloc frames;
static struct spinlock lock = SPINLOCK_INIT;

static void *frame_phys_to_virt(uint64_t pa) { return phys_to_virt(pa); }

int mm_init(const struct mem_range *usable, size_t n_usable, const struct mem_range *reserved,
	    size_t n_reserved)
{
	return frame_init(&frames, usable, n_usable, reserved, n_reserved, frame_phys_to_virt);
}

uint64_t mm_alloc(unsigned order, uint64_t max_pa)
{
	uint64_t f = spin_lock_irqsave(&lock);
	uint64_t pa = frame_alloc(&frames, order, max_pa);
	spin_unlock_irqrestore(&lock, f);
	if (pa)
		memset(phys_to_virt(pa), 0, (size_t)PAGE_SIZE << order);
	return pa;
}

void mm_free(uint64_t pa, unsigned order)
{
	uint64_t f = spin_lock_irqsave(&lock);
	frame_free(&frames, pa, order);
	spin_unlock_irqrestore(&lock, f);
}

struct frame_reserve_ret mm_reserve(uint64_t start, uint64_t end)
{
	uint64_t f = spin_lock_irqsave(&lock);
	struct frame_reserve_ret r = frame_reserve(&frames, start, end);
	spin_unlock_irqrestore(&lock, f);
	return r;
}

uint64_t mm_free_bytes(void) { return frame_free_bytes(&frames); }
uint64_t mm_usable_bytes(void) { return frame_usable_bytes(&frames); }
