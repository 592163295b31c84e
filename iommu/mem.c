#include "iommu/mem.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/arch/spinlock.h"
#include "kernel/mm/vm.h"
#include "kernel/lib/string.h"

#define POOL_ORDER      6               /* 64 frames (256 KiB) per pool */
#define POOL_FRAMES     (1u << POOL_ORDER)
#define FRAME           0x1000ull
#define CACHE_LINE      64

static struct spinlock lock = SPINLOCK_INIT;
static struct iommu_ranges protected;
static uint64_t pool_pa;                /* the current pool ... */
static unsigned pool_used;              /* ... and the frames taken from it */
static bool noncoherent;

int iommu_protect(uint64_t start, uint64_t end)
{
	uint64_t f = spin_lock_irqsave(&lock);
	int err = iommu_ranges_add(&protected, start, end);
	spin_unlock_irqrestore(&lock, f);
	if (err)
		log_err("iommu: cannot protect 0x%llx-0x%llx: %s", (unsigned long long)start,
			(unsigned long long)end, error_name(err));
	return err;
}

const struct iommu_range *iommu_protected(uint64_t pa, uint64_t size)
{
	uint64_t f = spin_lock_irqsave(&lock);
	const struct iommu_range *r = iommu_ranges_overlap(&protected, pa, size);
	spin_unlock_irqrestore(&lock, f);
	return r;
}

/* A new pool, protected before any frame of it is handed out. */
static bool new_pool(void)
{
	uint64_t pa = mm_alloc(POOL_ORDER, 0);

	if (!pa)
		return false;
	if (iommu_ranges_add(&protected, pa, pa + POOL_FRAMES * FRAME)) {
		mm_free(pa, POOL_ORDER);
		log_err("iommu: no room to protect another table pool");
		return false;
	}
	pool_pa = pa;
	pool_used = 0;
	return true;
}

/* Frames given back (iommu_frame_free), each holding the next one's address: they stay in the
 * protected pools, for the IOMMU's tables only. */
static uint64_t free_list;

uint64_t iommu_frame_alloc(void)
{
	uint64_t f = spin_lock_irqsave(&lock);
	uint64_t pa = 0;

	if (free_list) {
		pa = free_list;
		uint64_t *link = phys_to_virt(pa);
		free_list = *link;
		*link = 0;      /* the rest was zeroed when it was given back */
	} else if ((pool_pa && pool_used < POOL_FRAMES) || new_pool()) {
		pa = pool_pa + FRAME * pool_used++;     /* mm_alloc zeroed the pool */
	}
	spin_unlock_irqrestore(&lock, f);
	if (!pa)
		log_err("iommu: out of memory for translation tables");
	return pa;
}

void iommu_frame_free(uint64_t pa)
{
	uint64_t *frame = phys_to_virt(pa);

	memset(frame, 0, FRAME);
	uint64_t f = spin_lock_irqsave(&lock);
	*frame = free_list;
	free_list = pa;
	spin_unlock_irqrestore(&lock, f);
}

void iommu_set_noncoherent(void)
{
	noncoherent = true;
}

bool iommu_noncoherent(void)
{
	return noncoherent;
}

void iommu_flush(const void *va, size_t len)
{
	if (!noncoherent || !len)
		return;
	uintptr_t p = (uintptr_t)va & ~(uintptr_t)(CACHE_LINE - 1);
	for (; p < (uintptr_t)va + len; p += CACHE_LINE)
		__asm__ volatile("clflush (%0)" :: "r"(p) : "memory");
	__asm__ volatile("mfence" ::: "memory");
}
