/*
 * A guest's address space: its RAM at GUEST_RAM_BASE (one frame per page, mapped with the ELF
 * segment's permissions, NX unless executable), the start-info page (read-only), the shared-info
 * page, and its devices' memory BARs (uncached), all user pages; the kernel half of the page
 * tables is shared with the hypervisor's, supervisor-only.
 */
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_mm.h"
#include "kernel/lib/error.h"
#include "kernel/mm/layout.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/arch/pte.h"
#include "kernel/lib/string.h"
#include "kernel/mm/vm.h"

#define KERNEL_HALF_FIRST 256   /* PML4 entries 256-511 map the hypervisor */

static uint64_t alloc_table(void *ctx) { return mm_alloc(0, 0); }

/* The order of the block holding the array of a guest's n frame addresses. */
static unsigned frames_order(uint64_t n)
{
	unsigned order = 0;
	while (((uint64_t)PAGE_SIZE << order) < n * sizeof(uint64_t))
		order++;
	return order;
}
static void *table_va(void *ctx, uint64_t pa) { return phys_to_virt(pa); }
static const struct pt_ops guest_pt_ops = { alloc_table, table_va, 0 };

int guest_mm_init(struct guest *g)
{
	uint64_t root = mm_alloc(0, 0);
	if (!root)
		return E_NOMEM;
	uint64_t *pml4 = phys_to_virt(root);
	const uint64_t *kpml4 = phys_to_virt(vm_kernel_root());
	for (unsigned i = KERNEL_HALF_FIRST; i < PT_ENTRIES; i++)
		pml4[i] = kpml4[i];
	g->pt = (struct pt){ .root_pa = root, .ops = &guest_pt_ops };

	g->nframes = g->mem_mib << (20 - PAGE_SHIFT);
	uint64_t pa = mm_alloc(frames_order(g->nframes), 0);
	if (!pa)
		return E_NOMEM;
	g->frames_pa = pa;
	g->frames = phys_to_virt(pa);
	for (uint64_t i = 0; i < g->nframes; i++)
		if (!(g->frames[i] = mm_alloc(0, 0)))
			return E_NOMEM;

	g->start_pa = mm_alloc(0, 0);
	g->shared_pa = mm_alloc(0, 0);
	if (!g->start_pa || !g->shared_pa)
		return E_NOMEM;
	g->start = phys_to_virt(g->start_pa);
	g->shared = phys_to_virt(g->shared_pa);
	int err = pt_map(&g->pt, GUEST_START_INFO_VA, g->start_pa, PAGE_SIZE, PTE_P | PTE_U | PTE_NX, 0);
	if (!err)
		err = pt_map(&g->pt, GUEST_SHARED_INFO_VA, g->shared_pa, PAGE_SIZE,
			     PTE_P | PTE_W | PTE_U | PTE_NX, 0);
	return err;
}

static void free_table(void *ctx, uint64_t pa) { mm_free(pa, 0); }

unsigned guest_mm_release(struct guest *g)
{
	unsigned n = 0;

	if (g->pt.root_pa) {
		n += pt_free_tables(&g->pt, 0, KERNEL_HALF_FIRST, free_table);
		mm_free(g->pt.root_pa, 0);
		g->pt.root_pa = 0;
		n++;
	}
	if (g->frames) {
		for (uint64_t i = 0; i < g->nframes; i++)
			if (g->frames[i]) {
				mm_free(g->frames[i], 0);
				n++;
			}
		unsigned order = frames_order(g->nframes);
		mm_free(g->frames_pa, order);
		g->frames = 0;
		n += 1u << order;
	}
	uint64_t *pages[] = { &g->start_pa, &g->shared_pa };
	for (unsigned i = 0; i < 2; i++)
		if (*pages[i]) {
			mm_free(*pages[i], 0);
			*pages[i] = 0;
			n++;
		}
	g->start = 0;
	g->shared = 0;
	return n;
}

/* Map RAM page by page with the flags the caller computes for each page. */
int guest_mm_map_ram(struct guest *g, uint64_t (*flags_for)(const struct guest *, uint64_t va,
							    const void *ctx), const void *ctx)
{
	for (uint64_t i = 0; i < g->nframes; i++) {
		uint64_t va = GUEST_RAM_BASE + i * PAGE_SIZE;
		uint64_t flags = flags_for(g, va, ctx);
		if (!flags)
			continue;       /* a guard page */
		int err = pt_map(&g->pt, va, g->frames[i], PAGE_SIZE, flags | PTE_U, 0);
		if (err)
			return err;
	}
	return 0;
}

int guest_mm_map_mmio(struct guest *g, uint64_t va, uint64_t pa, uint64_t size)
{
	return pt_map(&g->pt, va, pa, size, PTE_P | PTE_W | PTE_U | PTE_NX | PTE_PCD | PTE_PWT, 0);
}

uint64_t guest_ram_end(const struct guest *g)
{
	return GUEST_RAM_BASE + g->nframes * PAGE_SIZE;
}

/* [va, va+len) inside the guest's RAM, without overflow. */
static bool in_ram(const struct guest *g, uint64_t va, uint64_t len)
{
	return va >= GUEST_RAM_BASE && len <= guest_ram_end(g) - GUEST_RAM_BASE &&
	       va - GUEST_RAM_BASE <= guest_ram_end(g) - GUEST_RAM_BASE - len;
}

/* Guest memory is reached through the direct map of its frames, never through its pointers. */
static int copy(struct guest *g, uint64_t va, void *buf, uint64_t len, bool to_guest)
{
	if (!in_ram(g, va, len))
		return E_RANGE;
	uint8_t *b = buf;
	while (len) {
		uint64_t i = (va - GUEST_RAM_BASE) >> PAGE_SHIFT;
		uint64_t off = va & (PAGE_SIZE - 1);
		uint64_t n = MIN(len, PAGE_SIZE - off);
		uint8_t *p = (uint8_t *)phys_to_virt(g->frames[i]) + off;
		if (to_guest)
			memcpy(p, b, n);
		else
			memcpy(b, p, n);
		b += n;
		va += n;
		len -= n;
	}
	return 0;
}

int guest_copy_from(struct guest *g, void *dst, uint64_t va, uint64_t len)
{
	return copy(g, va, dst, len, false);
}

int guest_copy_to(struct guest *g, uint64_t va, const void *src, uint64_t len)
{
	return copy(g, va, (void *)src, len, true);
}

bool guest_va_in_ram(const struct guest *g, uint64_t va, uint64_t len)
{
	return in_ram(g, va, len);
}
