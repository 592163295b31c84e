/*
 * Bench builds only (kernel/guest/bench.h): what each entry into the hypervisor cost, from the
 * entry stub's stamp (taken after its register save) to the exit to a guest (taken here,
 * before the register restore and IRETQ: 20 more instructions). Samples are kept per kind;
 * the report gives count, min, median, 99th percentile and max of each.
 */
#ifdef BENCH
#include "include/courier/abi.h"
#include "kernel/arch/cpu.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"
#include "kernel/guest/bench.h"
#include "kernel/guest/guest.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"

#define SAMPLES         1024
#define WHAT_HYPERCALL  0x100           /* boot/syscall.asm: 0x100 + the hypercall's number */

struct series {
	uint32_t n;
	uint32_t v[SAMPLES];
};

/* A device vector or the wake-up IPI (an event from elsewhere) into the guest's upcall, or
 * back into a guest that was blocked with upcalls masked (it dispatches the event itself);
 * a hypercall (per number) back where the guest was, or into its upcall. */
static struct series dev_upcall, wake_upcall, dev_resume, wake_resume;
static struct series hc_resume[HC_COUNT + 1], hc_upcall[HC_COUNT + 1];
static struct series spans[BENCH_SPANS];
static uint64_t marks[BENCH_MARKS];

void bench_mark(unsigned what)
{
	if (what < BENCH_MARKS)
		marks[what] = rdtsc();
}

static void add(struct series *s, uint64_t d)
{
	uint32_t i = __atomic_fetch_add(&s->n, 1, __ATOMIC_RELAXED);
	if (i < SAMPLES)
		s->v[i] = (uint32_t)MIN(d, (uint64_t)UINT32_MAX);
}

void bench_span(unsigned what, uint64_t since)
{
	uint64_t t = rdtsc();

	if (what < BENCH_SPANS)
		add(&spans[what], t - since);
}

/* Called by boot/isr.asm's trap_exit and isr_device on the way to ring 3 (f: the CPU's frame),
 * in bench builds only. */
void bench_exit(const struct iret_frame *f)
{
	uint64_t t = rdtsc();
	struct percpu *c = this_cpu();
	struct guest *g = c->current;
	uint64_t what = c->bench_what, d = t - c->bench_entry;
	bool upcall = g && f->rip == g->upcall_entry;

	if (what >= WHAT_HYPERCALL) {
		unsigned nr = (unsigned)MIN(what - WHAT_HYPERCALL, (uint64_t)HC_COUNT);
		add(upcall ? &hc_upcall[nr] : &hc_resume[nr], d);
	} else if (what >= VEC_DYNAMIC_FIRST && what <= VEC_DYNAMIC_LAST) {
		add(upcall ? &dev_upcall : &dev_resume, d);
	} else if (what == VEC_IPI_WAKE) {
		add(upcall ? &wake_upcall : &wake_resume, d);
	}
	c->bench_what = 0;      /* an exit without a new entry (a guest switch) is not counted */
}

/* Called by boot/syscall.asm's fast paths when they leave by SYSRET or their own IRETQ, in
 * bench builds only; a fast call that needs the frame after all keeps its entry stamp and is
 * counted by bench_exit on the common exit. */
void bench_exit_fast(void)
{
	uint64_t t = rdtsc();
	struct percpu *c = this_cpu();
	uint64_t what = c->bench_what;

	if (what >= WHAT_HYPERCALL)
		add(&hc_resume[MIN(what - WHAT_HYPERCALL, (uint64_t)HC_COUNT)], t - c->bench_entry);
	c->bench_what = 0;
}

static void sort(uint32_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = v[i], j = i;
		for (; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void report_series(const char *kind, int hc, struct series *s)
{
	uint32_t n = MIN(s->n, (uint32_t)SAMPLES);

	if (!n)
		return;
	sort(s->v, n);
	char hcs[8] = "-";
	if (hc >= 0)
		fmt_snprintf(hcs, sizeof(hcs), "%d", hc);
	report("bench kind=%s hc=%s n=%u min=%u med=%u p99=%u max=%u", kind, hcs, s->n, s->v[0],
	       s->v[n / 2], s->v[n * 99 / 100], s->v[n - 1]);
}

void bench_report(void)
{
	static const char *const mark_names[BENCH_MARKS] = {
		"kmain", "calibrated", "smp_done", "guests_start" };
	static const char *const span_names[BENCH_SPANS] = { "follow" };

	for (unsigned i = 0; i < BENCH_MARKS; i++)
		report("bench kind=mark what=%s tsc=%llu", mark_names[i],
		       (unsigned long long)marks[i]);
	for (unsigned i = 0; i < BENCH_SPANS; i++)
		report_series(span_names[i], -1, &spans[i]);
	report_series("dev_upcall", -1, &dev_upcall);
	report_series("wake_upcall", -1, &wake_upcall);
	report_series("dev_resume", -1, &dev_resume);
	report_series("wake_resume", -1, &wake_resume);
	for (int nr = 0; nr <= HC_COUNT; nr++) {
		report_series("hc_resume", nr, &hc_resume[nr]);
		report_series("hc_upcall", nr, &hc_upcall[nr]);
	}
}
#endif
