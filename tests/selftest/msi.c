/*
 * selftest=msi: device messages through interrupt remapping and the route table.
 *
 * - Every message of every edu (MSI, one message) and e1000e (MSI-X, five entries) is routed
 *   to each CPU in turn and raised SENDS times; arrivals are counted on whichever CPU takes
 *   them, so a message that went elsewhere is seen. One `@msitest dev msg cpu sent received
 *   elsewhere` record per (message, CPU).
 * - Source-id check: edu A programmed with edu B's handle sends nothing anywhere (the unit
 *   blocks it: B's IRTEs name B's requester id or bus range), then works again with its own.
 * - Retargeting under load: the boot CPU raises the first edu's message continuously (the
 *   next as soon as the last arrived) while its handler moves the route on to the next CPU
 *   RETARGET_MOVES times; in the end sent == received, and every message ran on the CPU its
 *   route named or, during a move, the one before.
 * - nec-usb-xhci: 16 MSI messages on one naturally aligned block of 16 IRTEs, the capability
 *   read back as programmed, every message routed (`@msiblock`).
 * - The RTC's legacy pin (GSI 8) through the I/O APIC's remapped entry to each CPU
 *   (`@ioapictest`).
 *
 * A failed check is a log_err (so `@done` counts it).
 */
#include "tests/selftest/selftest.h"
#include "tests/selftest/dev/e1000e.h"
#include "tests/selftest/dev/edu.h"
#include "tests/selftest/dev/rtc.h"
#include "iommu/ir_ioapic.h"
#include "iommu/ir_table.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/arch/io.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/time.h"
#include "msi/msi.h"
#include "kernel/arch/msi_msg.h"
#include "msi/route.h"
#include "pci/pci.h"

#define MAX_EDU                 4
#define MAX_E1000E              4
#define MAX_PROBES              16
#define SENDS                   3
#define ARRIVAL_US              500000  /* a message not there by then is lost */
#define STRAGGLER_US            2000    /* time for a message that went astray to show up */
#define SETTLE_US               1000000
#define RETARGET_MOVES          64
#define RETARGET_US             20000000
#define SID_SENDS               3


#define XHCI_VENDOR             0x1033
#define XHCI_DEVICE             0x0194
#define XHCI_MSGS               16

#define RTC_RUN_US              20000   /* at least this long... */
#define RTC_WANT                8       /* ...and until this many arrived (or ARRIVAL_US) */

enum probe_kind { PROBE_EDU, PROBE_E1000E };

struct probe {
	struct pci_dev *dev;
	char bdf[PCI_BDF_STRLEN];
	unsigned msg;
	enum probe_kind kind;
	struct edu *edu;
	struct e1000e *e1k;
	struct route *r;
	volatile uint64_t arrivals[MAX_CPUS];
	volatile uint64_t total;
	volatile uint64_t wrong;        /* ran on a CPU the route did not name */
	volatile bool retarget;         /* the handler moves the route on */
	volatile unsigned moves, move_errors;
};

static struct edu edus[MAX_EDU];
static struct e1000e e1000es[MAX_E1000E];
static struct probe probes[MAX_PROBES];
static unsigned n_edu, n_e1000e, n_probes, failures;

static void fail(const char *what, const char *bdf)
{
	failures++;
	log_err("msi selftest: %s: %s failed", bdf, what);
}

/* ---- raising and counting ----------------------------------------------------------------- */

static void raise(struct probe *p)
{
	if (p->kind == PROBE_EDU) {
		edu_irq_raise(p->edu, 1);
		return;
	}
	e1000e_raise(p->e1k, p->msg);
}

static void on_message(struct trap_frame *f, void *arg)
{
	struct route *r = arg;
	struct probe *p = ROUTE_ARG(arg);
	unsigned c = this_cpu()->index;

	if (c != r->cpu && (int)c != __atomic_load_n(&r->prev_cpu, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&p->wrong, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->arrivals[c], 1, __ATOMIC_RELAXED);
	if (p->kind == PROBE_EDU)
		edu_irq_ack(p->edu, 1);
	__atomic_add_fetch(&p->total, 1, __ATOMIC_RELEASE);
	/* The next message may be raised from here on: move while it is on its way. */
	if (p->retarget && route_settled(r)) {
		if (route_retarget(r, (r->cpu + 1) % cpu_count))
			p->move_errors++;
		else
			p->moves++;
	}
}

static bool wait_total(struct probe *p, uint64_t want, uint64_t us)
{
	uint64_t deadline = time_since_boot_us() + us;

	while (__atomic_load_n(&p->total, __ATOMIC_ACQUIRE) < want)
		if (time_since_boot_us() > deadline)
			return false;
		else
			cpu_relax();
	return true;
}

static bool wait_settled(struct route *r)
{
	uint64_t deadline = time_since_boot_us() + SETTLE_US;

	while (!route_settled(r))
		if (time_since_boot_us() > deadline)
			return false;
		else
			cpu_relax();
	return true;
}

static uint64_t sum_arrivals(const struct probe *p)
{
	uint64_t n = 0;
	for (unsigned c = 0; c < cpu_count; c++)
		n += p->arrivals[c];
	return n;
}

/* ---- each message to each CPU ------------------------------------------------------------- */

static int move(struct probe *p, unsigned cpu)
{
	if (!p->r) {
		struct route_ret rr = route_create(p->dev, p->msg, cpu, on_message, p);
		p->r = rr.r;
		return rr.err;
	}
	return route_retarget(p->r, cpu);
}

static void nothing(void *arg) { }

/*
 * Every CPU has taken every interrupt that was already posted to it: smp_call's work runs
 * from the idle loop only after the CPU has had interrupts enabled since the work's IPI
 * arrived, and that IPI was sent after the interrupts in question were posted. A fixed delay
 * cannot promise this under TCG, where a virtual CPU may not run for a long while.
 */
static void sync_all_cpus(void)
{
	for (unsigned c = 0; c < cpu_count; c++)
		if (cpu_at(c)->online && smp_call(c, nothing, 0))
			log_err("msi selftest: cpu %u does not answer", c);
}

static void to_cpu(struct probe *p, unsigned cpu)
{
	uint64_t before[MAX_CPUS];

	if (move(p, cpu) || !wait_settled(p->r)) {
		fail("route", p->bdf);
		return;
	}
	for (unsigned c = 0; c < cpu_count; c++)
		before[c] = p->arrivals[c];
	unsigned sent = 0;
	for (; sent < SENDS; sent++) {
		uint64_t want = p->total + 1;
		raise(p);
		if (!wait_total(p, want, ARRIVAL_US))
			break;
	}
	sent += sent < SENDS;   /* the one that did not arrive was sent too */
	time_delay_us(STRAGGLER_US);
	sync_all_cpus();
	uint64_t here = p->arrivals[cpu] - before[cpu], elsewhere = 0;
	for (unsigned c = 0; c < cpu_count; c++)
		if (c != cpu)
			elsewhere += p->arrivals[c] - before[c];
	/* QEMU 7.2's e1000e, once it has postponed a message (its 128 us throttle), sends a
	 * second one for each later one on that vector: more than were raised, all on the CPU
	 * named, is the device's doing (its trace shows the postponed sends). */
	uint64_t excess = p->kind == PROBE_E1000E && here > sent ? here - sent : 0;
	report("msitest dev=%s msg=%u cpu=%u sent=%u received=%llu elsewhere=%llu irte=%u "
	       "vector=0x%02x excess=%llu", p->bdf, p->msg, cpu, sent, (unsigned long long)here,
	       (unsigned long long)elsewhere, p->r->irte, p->r->vector,
	       (unsigned long long)excess);
	if (excess)
		log_warn("msi selftest: %s message %u: %llu more than raised (e1000e throttling)",
			 p->bdf, p->msg, (unsigned long long)excess);
	if (here - excess != sent || elsewhere)
		fail("delivery", p->bdf);
}

/* ---- source-id check ---------------------------------------------------------------------- */

static uint64_t all_arrivals(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < n_probes; i++)
		n += sum_arrivals(&probes[i]);
	return n;
}

/* The device misbehaves: its MSI (edu has one message) names another handle, as a function
 * that ignores or rewrites its MSI address would. */
static void msi_address_set(const struct pci_dev *d, uint16_t handle)
{
	struct msi_remap r = { .handle = handle, .shv = true };
	struct msi_msg m = msi_remap_encode(&r).m;

	pci_cfg_write32(d->bdf, d->msi.cap + PCI_MSI_ADDR_LO, m.addr_lo);
	if (d->msi.addr64)
		pci_cfg_write32(d->bdf, d->msi.cap + PCI_MSI_ADDR_HI, m.addr_hi);
}

/* a sends with b's handle: the unit must block every message (b's IRTE checks b's id). */
static void check_sid(struct probe *a, struct probe *b)
{
	struct msi_dev *ma = msi_dev_of(a->dev), *mb = msi_dev_of(b->dev);
	uint64_t before = all_arrivals(), mine = a->total;

	msi_address_set(a->dev, (uint16_t)mb->irte);
	for (unsigned i = 0; i < SID_SENDS; i++)
		edu_irq_raise(a->edu, 1);
	time_delay_us(STRAGGLER_US * 10);
	uint64_t stray = all_arrivals() - before;
	edu_irq_ack(a->edu, 1);
	msi_address_set(a->dev, (uint16_t)ma->irte);
	raise(a);
	bool back = wait_total(a, mine + 1, ARRIVAL_US);
	report("msitest dev=%s msg=0 cpu=- sent=%u received=%llu elsewhere=%llu check=sid "
	       "handle=%u of=%s svt=%u sid=0x%04x restored=%d", a->bdf, SID_SENDS,
	       (unsigned long long)stray, (unsigned long long)stray, mb->irte, b->bdf,
	       mb->src.svt, mb->src.sid, back);
	if (stray || !back)
		fail("source-id check", a->bdf);
}

/* ---- retargeting under load --------------------------------------------------------------- */

/*
 * The boot CPU raises the message again as soon as the last one arrived; the handler, after
 * counting it, moves the route on to the next CPU (a fresh vector on the same one with one
 * CPU) whenever the move before has settled. So the next message is on its way while the
 * IRTE changes, from interrupt context on whichever CPU the route named.
 */
static void check_retarget(struct probe *p)
{
	uint64_t wrong0 = p->wrong, recv0 = p->total, sent = 0, lost = 0;
	uint64_t deadline = time_since_boot_us() + RETARGET_US;

	p->moves = p->move_errors = 0;
	p->retarget = true;
	while (p->moves < RETARGET_MOVES && time_since_boot_us() < deadline) {
		uint64_t want = p->total + 1;
		sent++;
		raise(p);
		if (!wait_total(p, want, ARRIVAL_US))
			lost++;
	}
	p->retarget = false;
	bool settled = wait_settled(p->r);
	time_delay_us(STRAGGLER_US);
	uint64_t received = p->total - recv0, wrong = p->wrong - wrong0;
	uint64_t dup = received > sent ? received - sent : 0;
	lost = sent > received ? sent - received : 0;
	report("msitest dev=%s msg=%u cpu=- sent=%llu received=%llu elsewhere=%llu check=retarget "
	       "moves=%u lost=%llu dup=%llu errors=%u", p->bdf, p->msg, (unsigned long long)sent,
	       (unsigned long long)received, (unsigned long long)wrong, p->moves,
	       (unsigned long long)lost, (unsigned long long)dup, p->move_errors);
	if (lost || dup || wrong || p->move_errors || !settled || p->moves < RETARGET_MOVES)
		fail("retarget under load", p->bdf);
}

/* ---- multi-message MSI: one block of 16 --------------------------------------------------- */

static void on_block_message(struct trap_frame *f, void *arg) { }

static void check_block(struct pci_dev *d)
{
	char s[PCI_BDF_STRLEN];
	struct msi_dev *md;
	struct route *rs[XHCI_MSGS] = { 0 };
	bool ok = false;

	pci_bdf_fmt(s, d->bdf);
	if (msi_enable(d, XHCI_MSGS, &md) == 0) {
		struct msi_cap_state c = msi_cap_read(md);
		struct msi_remap want = { .handle = (uint16_t)md->irte, .shv = true };
		struct msi_msg m = msi_remap_encode(&want).m;
		unsigned mme = 1u << ((c.ctrl & PCI_MSI_FLAGS_MME) >> 4);
		ok = md->kind == MSI_KIND_MSI && md->block == XHCI_MSGS &&
		     md->irte % XHCI_MSGS == 0 && mme == XHCI_MSGS &&
		     (c.ctrl & PCI_MSI_FLAGS_ENABLE) && c.addr_lo == m.addr_lo &&
		     c.addr_hi == 0 && c.data == 0;
		for (unsigned k = 0; k < XHCI_MSGS; k++) {
			struct route_ret rr = route_create(d, k, k % cpu_count, on_block_message,
							   0);
			rs[k] = rr.r;
			if (rr.err) {
				ok = false;
				continue;
			}
			struct vtd_irte_fields f = vtd_irte_decode(ir_read(md->ir, md->irte + k),
								   md->ir->eim);
			ok &= f.present && f.vector == rr.r->vector && f.svt == md->src.svt &&
			      f.sid == md->src.sid && f.dst == cpu_at(k % cpu_count)->apic_id;
		}
		report("msiblock dev=%s messages=%u irte=%u block=%u mme=%u addr=0x%x data=0x%x "
		       "ok=%d", s, md->n, md->irte, md->block, mme, c.addr_lo, c.data, ok);
		for (unsigned k = 0; k < XHCI_MSGS; k++)
			if (rs[k])
				route_destroy(rs[k]);
		for (unsigned k = 0; k < XHCI_MSGS; k++)
			if (rs[k] && !wait_settled(rs[k]))
				ok = false;
		msi_disable(md);
	} else {
		report("msiblock dev=%s messages=0 irte=- ok=0", s);
	}
	if (!ok)
		fail("16-message block", s);
}

/* ---- a legacy pin: the RTC through the I/O APIC ------------------------------------------- */

static volatile uint64_t rtc_arrivals[MAX_CPUS];

static void on_rtc(struct trap_frame *f, void *arg)
{
	__atomic_add_fetch(&rtc_arrivals[this_cpu()->index], 1, __ATOMIC_RELAXED);
	rtc_ack();
}

static void check_ioapic(void)
{
	for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
		uint64_t before[MAX_CPUS];
		if (!cpu_at(cpu)->online)
			continue;
		int err = ir_ioapic_route(RTC_GSI, cpu, on_rtc, 0, false, false);
		if (err) {
			report("ioapictest gsi=%u cpu=%u received=0 elsewhere=0 ok=0 err=%s",
			       RTC_GSI, cpu, error_name(err));
			fail("I/O APIC route", "rtc");
			break;
		}
		for (unsigned c = 0; c < cpu_count; c++)
			before[c] = rtc_arrivals[c];
		rtc_periodic_start();
		/* A loaded host may not run this vCPU or QEMU's RTC timer for a while: wait for
		 * arrivals, not for a time. */
		time_delay_us(RTC_RUN_US);
		uint64_t until = time_since_boot_us() + ARRIVAL_US;
		while (rtc_arrivals[cpu] - before[cpu] < RTC_WANT && time_since_boot_us() < until)
			cpu_relax();
		rtc_periodic_stop();
		if (ir_ioapic_unroute(RTC_GSI))
			fail("I/O APIC unroute", "rtc");
		time_delay_us(STRAGGLER_US);
		sync_all_cpus();
		uint64_t here = rtc_arrivals[cpu] - before[cpu], elsewhere = 0;
		for (unsigned c = 0; c < cpu_count; c++)
			if (c != cpu)
				elsewhere += rtc_arrivals[c] - before[c];
		report("ioapictest gsi=%u cpu=%u received=%llu elsewhere=%llu ok=%d", RTC_GSI, cpu,
		       (unsigned long long)here, (unsigned long long)elsewhere,
		       here > 0 && !elsewhere);
		if (!here || elsewhere)
			fail("I/O APIC delivery", "rtc");
	}
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void add_probe(struct pci_dev *d, unsigned msg, enum probe_kind kind, struct edu *e,
		      struct e1000e *e1k)
{
	if (n_probes == MAX_PROBES)
		return;
	struct probe *p = &probes[n_probes++];
	p->dev = d;
	p->msg = msg;
	p->kind = kind;
	p->edu = e;
	p->e1k = e1k;
	pci_bdf_fmt(p->bdf, d->bdf);
}

static void setup_edu(struct pci_dev *d)
{
	struct edu *e = &edus[n_edu];
	struct msi_dev *md;
	char s[PCI_BDF_STRLEN];

	if (edu_open(e, d) || msi_enable(d, 1, &md)) {
		fail("edu set-up", pci_bdf_fmt(s, d->bdf));
		return;
	}
	n_edu++;
	add_probe(d, 0, PROBE_EDU, e, 0);
}

static void setup_e1000e(struct pci_dev *d)
{
	struct e1000e *e = &e1000es[n_e1000e];
	struct msi_dev *md;
	char s[PCI_BDF_STRLEN];

	if (msi_enable(d, E1000E_MSGS, &md) || md->kind != MSI_KIND_MSIX || e1000e_open(e, d)) {
		fail("e1000e set-up", pci_bdf_fmt(s, d->bdf));
		return;
	}
	n_e1000e++;
	for (unsigned k = 0; k < E1000E_MSGS; k++)
		add_probe(d, k, PROBE_E1000E, 0, e);
}

static bool is_dev(const struct pci_dev *d, uint16_t vendor, uint16_t device)
{
	return d->vendor == vendor && d->device == device;
}

void selftest_msi(void)
{
	struct pci_dev *xhci[4];
	unsigned n_xhci = 0;

	if (!ir_enabled()) {
		log_err("msi selftest: interrupt remapping is off");
		return;
	}
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_dev *d = pci_dev_at(i);
		if (edu_match(d) && n_edu < MAX_EDU)
			setup_edu(d);
		else if (e1000e_match(d) && n_e1000e < MAX_E1000E)
			setup_e1000e(d);
		else if (is_dev(d, XHCI_VENDOR, XHCI_DEVICE) && d->msi.cap && n_xhci < 4)
			xhci[n_xhci++] = d;
	}
	log_info("msi selftest: %u messages of %u edu and e1000e functions, %u CPUs", n_probes,
		 n_edu, cpu_count);
	for (unsigned i = 0; i < n_probes; i++)
		for (unsigned cpu = 0; cpu < cpu_count; cpu++)
			if (cpu_at(cpu)->online)
				to_cpu(&probes[i], cpu);
	struct probe *e[2] = { 0 };
	for (unsigned i = 0, k = 0; i < n_probes && k < 2; i++)
		if (probes[i].kind == PROBE_EDU && probes[i].r)
			e[k++] = &probes[i];
	if (e[1]) {
		check_sid(e[0], e[1]);
		check_sid(e[1], e[0]);
	}
	if (e[0])
		check_retarget(e[0]);
	for (unsigned i = 0; i < n_xhci; i++)
		check_block(xhci[i]);
	check_ioapic();
	for (unsigned i = 0; i < n_probes; i++)
		if (probes[i].r && route_destroy(probes[i].r))
			fail("route destroy", probes[i].bdf);
	log_info("msi selftest: %u failed checks", failures);
}
