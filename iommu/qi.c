#include "iommu/qi.h"
#include "iommu/mem.h"
#include "iommu/unit.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/time.h"
#include "kernel/mm/vm.h"

#define QI_QS                   0       /* one page: 256 descriptors (11.4 IQA_REG.QS) */
#define QI_ENTRIES              (256u << QI_QS)
#define QI_DESC_SHIFT           4       /* IQH/IQT hold byte offsets of 16-byte descriptors */
#define QI_TIMEOUT_US           1000000
#define REG_INV_TIMEOUT_US      1000000
#define QI_ERRORS               (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE)

int __boot vtd_qi_enable(struct vtd_unit *u)
{
	struct vtd_qi *q = &u->q;

	q->pa = iommu_frame_alloc();
	q->status_pa = iommu_frame_alloc();
	if (!q->pa || !q->status_pa)
		return E_NOMEM;
	q->ring = phys_to_virt(q->pa);
	q->status = phys_to_virt(q->status_pa);
	q->entries = QI_ENTRIES;
	q->tail = 0;
	/* Firmware may have left a queue running: turn it off before moving it (6.5.2). */
	if (vtd_read32(&u->regs, VTD_GSTS) & VTD_GSTS_QIES) {
		int err = vtd_unit_gcmd(u, VTD_GCMD_QIE, false);
		if (err)
			return err;
	}
	vtd_write64(&u->regs, VTD_IQT, 0);
	vtd_write64(&u->regs, VTD_IQA, q->pa | QI_QS);
	int err = vtd_unit_gcmd(u, VTD_GCMD_QIE, true);
	if (!err)
		u->qi = true;
	q->drained = !err;
	return err;
}

/* ---- queued invalidation (6.5.2) ---------------------------------------------------------- */

static unsigned queue_head(struct vtd_unit *u)
{
	return (unsigned)((vtd_read64(&u->regs, VTD_IQH) & VTD_IQH_QH) >> QI_DESC_SHIFT);
}

static void report_head(struct vtd_unit *u, const char *what, uint32_t fsts)
{
	unsigned head = queue_head(u);
	struct vtd_qi_info i = vtd_qi_decode(u->q.ring[head % u->q.entries]);

	log_err("vt-d unit %u: %s (FSTS 0x%x); head %u tail %u, descriptor type %u g %u did %u "
		"sid 0x%x addr 0x%llx", u->index, what, fsts, head, u->q.tail, i.type, i.g, i.did,
		i.sid, (unsigned long long)i.addr);
}

/* FSTS says the queue stopped: report, drop what is left of it, clear the error. */
static int queue_error(struct vtd_unit *u, uint32_t fsts)
{
	if (fsts & VTD_FSTS_IQE)
		report_head(u, "invalidation queue error", fsts);
	if (fsts & VTD_FSTS_ITE)
		report_head(u, "invalidation time-out error", fsts);
	if (fsts & VTD_FSTS_ICE)
		report_head(u, "invalidation completion error", fsts);
	/* Hardware stops at the head: an empty queue from there lets it run again. */
	u->q.tail = queue_head(u);
	vtd_write64(&u->regs, VTD_IQT, (uint64_t)u->q.tail << QI_DESC_SHIFT);
	vtd_write32(&u->regs, VTD_FSTS, fsts & QI_ERRORS);
	return fsts & VTD_FSTS_ITE ? E_TIMEOUT : E_INVAL;
}

static int wait_space(struct vtd_unit *u, unsigned need)
{
	uint64_t deadline = 0;          /* the clock is read only once the queue is full */
	struct vtd_qi *q = &u->q;

	/* Empty since the last wait completed (it was the last descriptor, and the unit
	 * fetches in order): room for any batch without reading IQH. */
	if (q->drained && need < q->entries)
		return 0;
	for (;;) {
		unsigned head = queue_head(u);
		unsigned used = q->tail >= head ? q->tail - head : q->tail + q->entries - head;
		/* One slot stays empty: head == tail means empty. */
		if (q->entries - 1 - used >= need)
			return 0;
		uint64_t now = time_since_boot_us();
		if (!deadline)
			deadline = now + QI_TIMEOUT_US;
		else if (now > deadline)
			break;
		cpu_relax();
	}
	log_err("vt-d unit %u: invalidation queue stays full", u->index);
	return E_TIMEOUT;
}

static int qi_run(struct vtd_unit *u, const struct vtd_qi_desc *d, unsigned n)
{
	struct vtd_qi *q = &u->q;
	int err = wait_space(u, n + 1);

	if (err)
		return err;
	if (++q->seq == 0)
		q->seq = 1;
	struct vtd_qi_ret w = vtd_qi_wait(VTD_QI_WAIT_SW, q->seq, q->status_pa);
	if (w.err)
		return w.err;
	for (unsigned i = 0; i <= n; i++) {
		q->ring[q->tail] = i < n ? d[i] : w.d;
		if (++q->tail == q->entries)
			q->tail = 0;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->drained = false;
	vtd_write64(&u->regs, VTD_IQT, (uint64_t)q->tail << QI_DESC_SHIFT);

	/* The clock is read only if the wait is not done at once (QEMU's unit runs the queue
	 * on the IQT write). */
	uint64_t deadline = 0;
	while (__atomic_load_n(q->status, __ATOMIC_ACQUIRE) != q->seq) {
		uint32_t fsts = vtd_read32(&u->regs, VTD_FSTS);
		if (fsts & QI_ERRORS)
			return queue_error(u, fsts);
		uint64_t now = time_since_boot_us();
		if (!deadline) {
			deadline = now + QI_TIMEOUT_US;
		} else if (now > deadline) {
			report_head(u, "invalidation wait timed out", fsts);
			return E_TIMEOUT;
		}
		cpu_relax();
	}
	q->drained = true;
	return 0;
}

/* ---- register-based invalidation (6.5.1), for units without a queue ----------------------- */

static int reg_poll(struct vtd_unit *u, struct vtd_reg64 r, uint64_t busy, const char *name,
		    uint64_t *val)
{
	uint64_t deadline = time_since_boot_us() + REG_INV_TIMEOUT_US;

	while ((*val = vtd_read64(&u->regs, r)) & busy) {
		if (time_since_boot_us() > deadline) {
			log_err("vt-d unit %u: %s invalidation not done within %u ms (0x%llx)",
				u->index, name, REG_INV_TIMEOUT_US / 1000, (unsigned long long)*val);
			return E_TIMEOUT;
		}
		cpu_relax();
	}
	return 0;
}

static int reg_context(struct vtd_unit *u, const struct vtd_qi_info *i)
{
	uint64_t v = VTD_CCMD_ICC | (uint64_t)i->g << VTD_CCMD_CIRG_SHIFT |
		     (uint64_t)i->fm << VTD_CCMD_FM_SHIFT | (uint64_t)i->sid << VTD_CCMD_SID_SHIFT |
		     i->did;
	vtd_write64(&u->regs, VTD_CCMD, v);
	int err = reg_poll(u, VTD_CCMD, VTD_CCMD_ICC, "context-cache", &v);
	if (!err && !(v & VTD_CCMD_CAIG)) {
		log_err("vt-d unit %u: context-cache invalidation refused (CCMD 0x%llx)", u->index,
			(unsigned long long)v);
		err = E_INVAL;
	}
	return err;
}

static int reg_iotlb(struct vtd_unit *u, const struct vtd_qi_info *i)
{
	uint64_t v = VTD_IOTLB_IVT | (uint64_t)i->g << VTD_IOTLB_IIRG_SHIFT |
		     (uint64_t)i->did << VTD_IOTLB_DID_SHIFT | (i->dr ? VTD_IOTLB_DR : 0) |
		     (i->dw ? VTD_IOTLB_DW : 0);

	if (i->g == VTD_IOTLB_PAGE)
		vtd_write64(&u->regs, vtd_reg_iva(&u->regs),
			    i->addr | (i->ih ? VTD_IVA_IH : 0) | i->am);
	vtd_write64(&u->regs, vtd_reg_iotlb(&u->regs), v);
	int err = reg_poll(u, vtd_reg_iotlb(&u->regs), VTD_IOTLB_IVT, "IOTLB", &v);
	if (!err && !(v & VTD_IOTLB_IAIG)) {
		log_err("vt-d unit %u: IOTLB invalidation refused (0x%llx)", u->index,
			(unsigned long long)v);
		err = E_INVAL;
	}
	return err;
}

static int reg_run(struct vtd_unit *u, const struct vtd_qi_desc *d, unsigned n)
{
	int err = vtd_unit_flush_wb(u);

	for (unsigned k = 0; k < n && !err; k++) {
		struct vtd_qi_info i = vtd_qi_decode(d[k]);
		switch (i.type) {
		case VTD_QI_TYPE_CC:
			err = reg_context(u, &i);
			break;
		case VTD_QI_TYPE_IOTLB:
			err = reg_iotlb(u, &i);
			break;
		case VTD_QI_TYPE_WAIT:
			break;          /* register invalidations complete before we go on */
		default:
			log_err("vt-d unit %u: descriptor type %u needs the invalidation queue",
				u->index, i.type);
			err = E_NOSYS;
		}
	}
	return err;
}

/* ---- batches ------------------------------------------------------------------------------ */

void vtd_inv_begin(struct vtd_inv_batch *b, struct vtd_unit *u)
{
	b->u = u;
	b->err = 0;
	b->n = 0;
}

static int run_now(struct vtd_inv_batch *b)
{
	struct vtd_unit *u = b->u;

	if (!b->n)
		return 0;
	uint64_t f = spin_lock_irqsave(&u->q.lock);
	int err = u->qi ? qi_run(u, b->d, b->n) : reg_run(u, b->d, b->n);
	spin_unlock_irqrestore(&u->q.lock, f);
	b->n = 0;
	return err;
}

void vtd_inv_add(struct vtd_inv_batch *b, struct vtd_qi_desc d)
{
	if (b->n == VTD_INV_BATCH_MAX) {
		int err = run_now(b);
		if (!b->err)
			b->err = err;
	}
	b->d[b->n++] = d;
}

int vtd_inv_run(struct vtd_inv_batch *b)
{
	int err = run_now(b);
	return b->err ? b->err : err;
}

int vtd_inv_global(struct vtd_unit *u)
{
	struct vtd_inv_batch b;

	vtd_inv_begin(&b, u);
	vtd_inv_add(&b, vtd_qi_cc_global());
	vtd_inv_add(&b, vtd_qi_iotlb_global(u->caps.drd, u->caps.dwd));
	/* Firmware may have used interrupt remapping: its cached entries go too (needs the
	 * queue, 6.5.2.7). */
	if (u->qi && u->caps.ir)
		vtd_inv_add(&b, vtd_qi_iec_global());
	return vtd_inv_run(&b);
}
