#include "kernel/mm/vm.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/mm/frame.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/arch/mmio.h"
#include "kernel/arch/pte.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/string.h"

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];

#define EARLY_LIMIT     0x100000000ull  /* the boot page tables identity-map 4 GiB */
#define EARLY_MAX_BYTES 0x800000ull     /* page tables for a direct map of up to ~4 TiB */

static bool direct_map_ready;
static struct pt kernel_pt;
static struct spinlock vm_lock = SPINLOCK_INIT;

/* ---- early bump allocator: frames below 4 GiB, before the frame allocator exists ---------- */

static uint64_t early_start, early_next, early_end;

static bool overlaps(uint64_t s, uint64_t e, const struct mem_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s < r[i].end && r[i].start < e)
			return true;
	return false;
}

/* The largest usable run below 4 GiB that no reserved range touches, capped at the limit. */
static int early_find(const struct vm_boot_params *p)
{
	uint64_t best_s = 0, best_len = 0;

	for (size_t i = 0; i < p->n_usable; i++) {
		uint64_t s = ALIGN_UP(p->usable[i].start, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(MIN(p->usable[i].end, EARLY_LIMIT), PAGE_SIZE);
		/* Walk the range page-block by page-block, skipping reserved pieces. */
		while (s < e) {
			uint64_t run_e = s;
			while (run_e < e && !overlaps(run_e, run_e + PAGE_SIZE, p->reserved, p->n_reserved)
			       && run_e - s < EARLY_MAX_BYTES)
				run_e += PAGE_SIZE;
			if (run_e - s > best_len) {
				best_s = s;
				best_len = run_e - s;
			}
			if (best_len >= EARLY_MAX_BYTES)
				break;
			s = run_e + PAGE_SIZE;
		}
	}
	if (best_len < 16 * PAGE_SIZE)
		return E_NOMEM;
	early_start = early_next = best_s;
	early_end = best_s + best_len;
	return 0;
}

static uint64_t early_alloc_table(void *ctx)
{
	if (early_next >= early_end)
		return 0;
	uint64_t pa = early_next;
	early_next += PAGE_SIZE;
	memset((void *)pa, 0, PAGE_SIZE); /* identity-mapped until the switch */
	return pa;
}

static void *early_phys_to_virt(void *ctx, uint64_t pa) { return (void *)pa; }

static uint64_t late_alloc_table(void *ctx) { return mm_alloc(0, 0); }
static void *late_phys_to_virt(void *ctx, uint64_t pa) { return phys_to_virt(pa); }

static const struct pt_ops early_ops = { early_alloc_table, early_phys_to_virt, 0 };
static const struct pt_ops late_ops = { late_alloc_table, late_phys_to_virt, 0 };

/* ---- the address space ------------------------------------------------------------------- */

void *phys_to_virt(uint64_t pa)
{
	return (void *)(direct_map_ready ? DIRECT_BASE + pa : pa);
}

uint64_t vm_kernel_root(void) { return kernel_pt.root_pa; }

static int map_image_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)start;
	return pt_map(&kernel_pt, va, va - KERNEL_VBASE, ALIGN_UP((uint64_t)end - va, PAGE_SIZE),
		      flags | PTE_G, 0);
}

static int prealloc_top(uint64_t start, uint64_t end)
{
	uint64_t *pml4 = (uint64_t *)kernel_pt.root_pa;     /* identity-mapped until the switch */
	for (uint64_t va = start; va < end; va += 1ull << PT_SHIFT(3)) {
		uint64_t *e = &pml4[PT_INDEX(va, 3)];
		if (pte_present(*e))
			continue;
		uint64_t pa = early_alloc_table(0);
		if (!pa)
			return E_NOMEM;
		*e = pte_make(pa, PTE_P | PTE_W);
	}
	return 0;
}

struct vm_init_ret vm_init(const struct vm_boot_params *p)
{
	struct vm_init_ret r = { 0 };
	bool gbpages = cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PDPE1GB;

	r.err = early_find(p);
	if (r.err)
		return r;
	kernel_pt.ops = &early_ops;
	kernel_pt.root_pa = early_alloc_table(0);

	/* W^X: text is the only executable part, and it is read-only. */
	if ((r.err = map_image_section(__text_start, __text_end, PTE_P)) ||
	    (r.err = map_image_section(__rodata_start, __rodata_end, PTE_P | PTE_NX)) ||
	    (r.err = map_image_section(__data_start, __data_end, PTE_P | PTE_W | PTE_NX)))
		return r;
	uint64_t top = ALIGN_UP(p->direct_map_top, LARGE_PAGE_SIZE);
	r.err = pt_map(&kernel_pt, DIRECT_BASE, 0, top, PTE_P | PTE_W | PTE_NX | PTE_G,
		       gbpages ? 2 : 1);
	if (r.err)
		return r;

	/*
	 * Guests' page tables copy the kernel half of the PML4 once, when they are made: every
	 * kernel region must have its PML4 entries now, so later mappings (MMIO, stacks) that
	 * only fill lower levels are seen by every address space.
	 */
	if ((r.err = prealloc_top(MMIO_BASE, MMIO_BASE + MMIO_SIZE)) ||
	    (r.err = prealloc_top(STACK_BASE, STACK_BASE + 1)))
		return r;

	write_cr4(read_cr4() | CR4_PGE);
	write_cr3(kernel_pt.root_pa);
	direct_map_ready = true;
	kernel_pt.ops = &late_ops;
	r.early_start = early_start;
	r.early_end = early_next;
	return r;
}

int vm_map_identity(uint64_t pa, uint64_t size, uint64_t flags)
{
	uint64_t f = spin_lock_irqsave(&vm_lock);
	int err = pt_map(&kernel_pt, pa, pa, size, flags, 0);
	spin_unlock_irqrestore(&vm_lock, f);
	return err;
}

/* ---- MMIO window and stacks: bump allocated, never freed ---------------------------------- */

static uint64_t mmio_next = MMIO_BASE;
static uint64_t stack_next = STACK_BASE;

static void *map_window(uint64_t pa, size_t size, uint64_t flags)
{
	uint64_t base = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t len = ALIGN_UP(pa + size, PAGE_SIZE) - base;
	/* Keep 2 MiB alignment between va and pa so large regions (ECAM) use large pages. */
	uint64_t f = spin_lock_irqsave(&vm_lock);
	uint64_t va = ALIGN_UP(mmio_next, LARGE_PAGE_SIZE) + (base & (LARGE_PAGE_SIZE - 1));
	void *ret = 0;

	if (va + len <= MMIO_BASE + MMIO_SIZE && !pt_map(&kernel_pt, va, base, len, flags, 1)) {
		mmio_next = va + len;
		ret = (void *)(va + (pa - base));
	}
	spin_unlock_irqrestore(&vm_lock, f);
	if (!ret)
		log_err("mmio: cannot map %#llx+%#zx", (unsigned long long)pa, size);
	return ret;
}

void *mmio_map(uint64_t pa, size_t size) { return map_window(pa, size, PTE_MMIO); }
void *mmio_map_wc(uint64_t pa, size_t size) { return map_window(pa, size, PTE_WC); }

/* The power-on PAT (SDM vol. 3 table 13-12) with entry 1 WT -> WC. Entry 1 is selected by PWT
 * alone, which only PTE_WC uses, so no mapping changes type under a running CPU. */
#define PAT_POWER_ON    0x0007040600070406ull
#define PAT_ENTRY1_MASK (0xffull << 8)
#define PAT_WC          0x01ull

void vm_cpu_init(void)
{
	wrmsr(MSR_PAT, (PAT_POWER_ON & ~PAT_ENTRY1_MASK) | (PAT_WC << 8));
}

uint64_t vm_alloc_stack(size_t size, uint64_t *bottom)
{
	size = ALIGN_UP(size, PAGE_SIZE);
	if (size + PAGE_SIZE > STACK_SLOT)
		return 0;
	uint64_t f = spin_lock_irqsave(&vm_lock);
	uint64_t va = stack_next + PAGE_SIZE; /* the slot's first page stays unmapped: the guard */
	stack_next += STACK_SLOT;
	spin_unlock_irqrestore(&vm_lock, f);

	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint64_t pa = mm_alloc(0, 0);
		if (!pa)
			return 0;
		f = spin_lock_irqsave(&vm_lock);
		int err = pt_map(&kernel_pt, va + off, pa, PAGE_SIZE, PTE_P | PTE_W | PTE_NX | PTE_G, 0);
		spin_unlock_irqrestore(&vm_lock, f);
		if (err)
			return 0;
	}
	if (bottom)
		*bottom = va;
	return va + size;
}
