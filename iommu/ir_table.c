#include "iommu/ir_table.h"
#include "iommu/iommu.h"
#include "iommu/topology.h"
#include "iommu/mem.h"
#include "iommu/qi.h"
#include "iommu/unit.h"
#include "kernel/cpu/apic.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/vm.h"

#define IR_ENTRIES_MIN  2u      /* IRTA.S = 0 */
#define IRTE_BYTES      16u
#define PAGE            4096u

static struct ir_table tables[IOMMU_MAX_UNITS];
static bool any_on;

bool ir_enabled(void) { return any_on; }

struct ir_table *ir_table_at(unsigned unit)
{
	return unit < IOMMU_MAX_UNITS && tables[unit].on ? &tables[unit] : NULL;
}

struct ir_table *ir_table_for(const struct pci_dev *d)
{
	struct vtd_unit *u = iommu_unit_for(d);
	return u ? ir_table_at(u->index) : NULL;
}

static unsigned log2u(unsigned n)
{
	unsigned k = 0;
	while ((1u << k) < n)
		k++;
	return k;
}

/* ---- enabling (6.5.2, 11.4.4, 11.4 IRTA_REG) ----------------------------------------------- */

static int __boot table_alloc(struct ir_table *t, unsigned entries)
{
	unsigned pages = entries * IRTE_BYTES / PAGE, order = 0;

	if (!pages)
		pages = 1;
	while ((1u << order) < pages)
		order++;
	t->pa = mm_alloc(order, 0);
	if (!t->pa)
		return E_NOMEM;
	/* The table is the hardware's: no domain may map it. */
	int err = iommu_protect(t->pa, t->pa + ((uint64_t)PAGE << order));
	if (err)
		return err;
	t->e = phys_to_virt(t->pa);
	for (unsigned i = 0; i < entries; i++) {
		t->e[i].lo = 0;
		t->e[i].hi = 0;
	}
	iommu_flush((const void *)t->e, (size_t)entries * IRTE_BYTES);
	t->entries = entries;
	return irte_alloc_init(&t->alloc, t->bits, entries);
}

static int __boot enable(struct ir_table *t)
{
	struct vtd_unit *u = t->u;
	uint32_t gsts = vtd_read32(&u->regs, VTD_GSTS);
	int err = 0;

	if (gsts & VTD_GSTS_IRES) {
		log_warn("vt-d unit %u: interrupt remapping was left on; turning it off to move "
			 "the table", u->index);
		if ((err = vtd_unit_gcmd(u, VTD_GCMD_IRE, false)))
			return err;
	}
	vtd_write64(&u->regs, VTD_IRTA, t->pa | (t->eim ? VTD_IRTA_EIME : 0) |
		    (log2u(t->entries) - 1));
	if ((err = vtd_unit_gcmd(u, VTD_GCMD_SIRTP, true)))
		return err;
	/* 6.5.2.7: the unit may hold entries of whatever table it used before. */
	struct vtd_inv_batch b;
	vtd_inv_begin(&b, u);
	vtd_inv_add(&b, vtd_qi_iec_global());
	if ((err = vtd_inv_run(&b)))
		return err;
	if ((err = vtd_unit_gcmd(u, VTD_GCMD_IRE, true)))
		return err;
	/* 5.1.2: with CFI clear, compatibility-format interrupts are blocked. */
	if (vtd_read32(&u->regs, VTD_GSTS) & VTD_GSTS_CFIS)
		err = vtd_unit_gcmd(u, VTD_GCMD_CFI, false);
	return err;
}

static void __boot setup_unit(struct ir_table *t, struct vtd_unit *u, unsigned entries)
{
	bool x2apic = apic_mode() == APIC_MODE_X2APIC;

	*t = (struct ir_table){ .u = u };
	if (!u->caps.ir) {
		log_info("vt-d unit %u: no interrupt remapping (ECAP.IR = 0)", u->index);
		return;
	}
	if (!u->qi) {
		log_warn("vt-d unit %u: interrupt remapping needs the invalidation queue; left off",
			 u->index);
		return;
	}
	t->eim = u->caps.eim && x2apic;
	if (x2apic && !u->caps.eim)
		log_warn("vt-d unit %u: no EIM: only CPUs with APIC ids up to 255 can take its "
			 "interrupts", u->index);
	int err = table_alloc(t, entries);
	if (!err)
		err = enable(t);
	if (err) {
		log_err("vt-d unit %u: interrupt remapping not enabled: %s", u->index,
			error_name(err));
		return;
	}
	t->on = true;
	any_on = true;
	uint32_t gsts = vtd_read32(&u->regs, VTD_GSTS);
	report("irtable unit=%u entries=%u base=0x%llx eim=%d ire=%d cfi=%d", u->index, entries,
	       (unsigned long long)t->pa, t->eim, !!(gsts & VTD_GSTS_IRES),
	       !!(gsts & VTD_GSTS_CFIS));
}

int __boot ir_init(unsigned entries)
{
	int on = 0;

	if (entries < IR_ENTRIES_MIN || entries > IRTE_ALLOC_MAX || (entries & (entries - 1))) {
		log_err("ir: ir_entries=%u is not a power of two from %u to %u; using %u", entries,
			IR_ENTRIES_MIN, IRTE_ALLOC_MAX, IR_ENTRIES_DEFAULT);
		entries = IR_ENTRIES_DEFAULT;
	}
	/* 8.1: INTR_REMAP clear means the platform does not support it, whatever ECAP.IR says. */
	if (iommu_unit_count() && !iommu_intr_remap_allowed()) {
		log_warn("ir: interrupt remapping is off (the DMAR's INTR_REMAP flag is clear): "
			 "device messages cannot be routed");
		return 0;
	}
	for (unsigned i = 0; i < iommu_unit_count() && i < IOMMU_MAX_UNITS; i++) {
		struct vtd_unit *u = iommu_unit_at(i);
		if (!u || !u->regs.base)
			continue;
		setup_unit(&tables[i], u, entries);
		on += tables[i].on;
	}
	if (!on)
		log_warn("ir: interrupt remapping is off: device messages cannot be routed");
	return on;
}

/* ---- entries ------------------------------------------------------------------------------ */

int ir_alloc(struct ir_table *t, unsigned n)
{
	uint64_t f = spin_lock_irqsave(&t->lock);
	int i = irte_alloc_block(&t->alloc, irte_block_size(n));
	spin_unlock_irqrestore(&t->lock, f);
	if (i < 0)
		log_warn("vt-d unit %u: no free block of %u interrupt-remapping entries (of %u)",
			 t->u->index, irte_block_size(n), t->entries);
	return i;
}

struct vtd_irte ir_read(const struct ir_table *t, unsigned index)
{
	return (struct vtd_irte){ t->e[index].lo, t->e[index].hi };
}

/* The planned stores of one entry (iommu/irte.h): each one 64-bit store, in order. */
static void store(struct ir_table *t, unsigned index, struct vtd_irte to)
{
	volatile struct vtd_irte *slot = &t->e[index];
	struct vtd_irte_plan p = vtd_irte_update_plan(ir_read(t, index), to);

	for (unsigned s = 0; s < p.n; s++) {
		if (p.step[s].half == VTD_IRTE_LO)
			__atomic_store_n(&slot->lo, p.step[s].value, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&slot->hi, p.step[s].value, __ATOMIC_RELEASE);
		iommu_flush((const void *)slot, sizeof(*slot));
	}
}

static void report_write(struct ir_table *t, unsigned index, unsigned n, int err)
{
	struct vtd_irte e = ir_read(t, index);

	report("irte unit=%u index=%u count=%u lo=0x%llx hi=0x%llx inv=%s", t->u->index, index, n,
	       (unsigned long long)e.lo, (unsigned long long)e.hi, err ? error_name(err) : "ok");
}

/* Index-selective invalidations covering [index, index + n), n a power of two. */
static int invalidate(struct ir_table *t, unsigned index, unsigned n)
{
	unsigned im = log2u(n), step;
	struct vtd_inv_batch b;

	if (im > t->u->caps.mhmv)
		im = t->u->caps.mhmv;
	step = 1u << im;
	vtd_inv_begin(&b, t->u);
	for (unsigned i = index; i < index + n; i += step) {
		struct vtd_qi_ret d = vtd_qi_iec_index((uint16_t)i, im);
		if (d.err)
			return d.err;
		vtd_inv_add(&b, d.d);
	}
	int err = vtd_inv_run(&b);
	if (err)
		log_err("vt-d unit %u: interrupt entry cache invalidation of %u entries at %u "
			"failed: %s", t->u->index, n, index, error_name(err));
	return err;
}

int ir_write_logged(struct ir_table *t, unsigned index, struct vtd_irte e, bool logged)
{
	if (index >= t->entries)
		return E_RANGE;
	store(t, index, e);
	int err = invalidate(t, index, 1);
	if (logged)
		report_write(t, index, 1, err);
	return err;
}

int ir_write(struct ir_table *t, unsigned index, struct vtd_irte e)
{
	return ir_write_logged(t, index, e, true);
}

void ir_batch_begin(struct ir_batch *b, struct ir_table *t)
{
	b->t = t;
	b->n = 0;
	b->err = 0;
	b->first = UINT16_MAX;
	b->last = 0;
	b->logged = true;
}

static bool batch_add(struct ir_batch *b, unsigned index)
{
	if (index >= b->t->entries || b->n == IR_BATCH_MAX) {
		b->err = b->err ? b->err : E_RANGE;
		return false;
	}
	b->index[b->n++] = index;
	b->first = MIN(b->first, (uint16_t)index);
	b->last = MAX(b->last, (uint16_t)index);
	return true;
}

void ir_batch_write(struct ir_batch *b, unsigned index, struct vtd_irte e)
{
	if (batch_add(b, index))
		store(b->t, index, e);
}

int ir_batch_retarget_prepare(struct ir_batch *b, const uint16_t *index, unsigned n,
			      uint32_t dst)
{
	struct vtd_irte_dst_ret d = vtd_irte_dst(dst, b->t->eim);
	unsigned lo = UINT16_MAX, hi = 0;

	if (d.err)
		return d.err;
	if (n > IR_BATCH_MAX - b->n)
		return E_RANGE;
	for (unsigned i = 0; i < n; i++) {
		lo = MIN(lo, index[i]);
		hi = MAX(hi, index[i]);
	}
	if (n && hi >= b->t->entries)
		return E_RANGE;
	b->dst = d.dst;
	b->next_first = (uint16_t)lo;
	b->next_last = (uint16_t)hi;
	return 0;
}

void ir_batch_retarget_store(struct ir_batch *b, const uint16_t *index, const uint8_t *vector,
			     unsigned n)
{
	volatile struct vtd_irte *e = b->t->e;
	unsigned lo = b->next_first, hi = b->next_last;

	if (!n)
		return;
	/* Present: the high half stays and so does P, so one 64-bit store of the low half is
	 * the whole update (irte.h). Not present (the route is masked there): nothing to
	 * rewrite; whoever makes it present writes it whole. */
	for (unsigned i = 0; i < n; i++) {
		volatile struct vtd_irte *x = &e[index[i]];
		uint64_t v = x->lo;
		if (v & VTD_IRTE_P)
			__atomic_store_n(&x->lo, vtd_irte_lo_retarget(v, vector[i], b->dst),
					 __ATOMIC_RELEASE);
	}
	/* Before the invalidation, which is what makes the unit read them: until then it may
	 * use the old entries, whose vectors are still handled. A dense batch (a function's
	 * block) in one pass over its cache lines. */
	if (iommu_noncoherent()) {
		if (hi - lo < 4 * n)
			iommu_flush((const void *)&e[lo], (size_t)(hi - lo + 1) * sizeof(e[0]));
		else
			for (unsigned i = 0; i < n; i++)
				iommu_flush((const void *)&e[index[i]], sizeof(e[0]));
	}
	if (b->logged)
		for (unsigned i = 0; i < n; i++)
			b->index[b->n + i] = index[i];
	b->n += n;
	b->first = (uint16_t)MIN(b->first, lo);
	b->last = (uint16_t)MAX(b->last, hi);
}

/* One descriptor over entries first..last (vtd_qi_iec_cover), then one wait (6.5.2.7). */
static int invalidate_cover(struct ir_table *t, unsigned first, unsigned last)
{
	struct vtd_inv_batch inv;

	vtd_inv_begin(&inv, t->u);
	vtd_inv_add(&inv, vtd_qi_iec_cover((uint16_t)first, (uint16_t)last, t->u->caps.mhmv));
	int err = vtd_inv_run(&inv);
	if (err)
		log_err("vt-d unit %u: interrupt entry cache invalidation of entries %u..%u failed: "
			"%s", t->u->index, first, last, error_name(err));
	return err;
}

int ir_batch_run(struct ir_batch *b)
{
	int err = 0;

	if (b->n)
		err = invalidate_cover(b->t, b->first, b->last);
	if (!err)
		err = b->err;
	for (unsigned i = 0; b->logged && i < b->n; i++)
		report_write(b->t, b->index[i], 1, err);
	return err;
}

int ir_write_block(struct ir_table *t, unsigned index, unsigned n, const struct vtd_irte *e)
{
	if (!n || (n & (n - 1)) || index % n || index >= t->entries || n > t->entries - index)
		return E_INVAL;
	for (unsigned i = 0; i < n; i++)
		store(t, index + i, e[i]);
	int err = invalidate(t, index, n);
	report_write(t, index, n, err);
	return err;
}

int ir_free(struct ir_table *t, unsigned index, unsigned n)
{
	unsigned size = irte_block_size(n);
	int err = 0;

	/* Not present, low half first (the plan), one invalidation for the block. */
	for (unsigned i = 0; i < size; i++)
		store(t, index + i, (struct vtd_irte){ 0, 0 });
	err = invalidate(t, index, size);
	report_write(t, index, size, err);
	uint64_t f = spin_lock_irqsave(&t->lock);
	int ferr = irte_alloc_free(&t->alloc, index, size);
	spin_unlock_irqrestore(&t->lock, f);
	if (ferr)
		log_err("vt-d unit %u: freeing %u entries at %u that are not allocated",
			t->u->index, size, index);
	return err ? err : ferr;
}

struct ir_retarget ir_retarget_begin(struct ir_table *t, uint32_t apic_id)
{
	struct vtd_irte_dst_ret d = vtd_irte_dst(apic_id, t->eim);

	return (struct ir_retarget){ .err = d.err, .flush = iommu_noncoherent(),
				     .first = UINT16_MAX, .entries = t->entries, .e = t->e,
				     .dst = d.dst, .t = t };
}

void ir_retarget_flush(struct ir_retarget p, unsigned index)
{
	if (index < p.entries)
		iommu_flush((const void *)&p.e[index], sizeof(p.e[0]));
}

int ir_retarget_run(struct ir_retarget p, unsigned n)
{
	if (!n)
		return p.err;
	if (p.first > p.last) {
		log_err("vt-d unit %u: %u entries rewritten, none covered", p.t->u->index, n);
		return E_INVAL;
	}
	/* Before the invalidation, which is what makes the unit read them. */
	if (p.flush && ir_retarget_dense(p, n))
		iommu_flush((const void *)&p.e[p.first], (size_t)(p.last - p.first + 1) * sizeof(p.e[0]));
	int err = invalidate_cover(p.t, p.first, p.last);
	return p.err ? p.err : err;
}
