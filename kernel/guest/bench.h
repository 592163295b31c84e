/*
 * Path lengths for `make bench` (docs/bench.md). In a bench build (-DBENCH, $(BUILD)/bench-hv/)
 * every entry stub stamps the TSC into its CPU's percpu (boot/isr.asm, boot/syscall.asm), the
 * exit to a guest takes a second stamp (bench_exit), and the end of the run prints one
 * `@bench` record per kind of path. In other builds none of this is compiled in.
 */
#ifndef COURIER_KERNEL_GUEST_BENCH_H
#define COURIER_KERNEL_GUEST_BENCH_H

#include <stdint.h>

struct trap_frame;

/* Spans of hypervisor work inside one path, from bench_now() to bench_span(). */
enum {
	BENCH_SPAN_FOLLOW,      /* guest_msgs_follow: a moved guest's messages retargeted */
	BENCH_SPANS
};

#ifdef BENCH
void bench_mark(unsigned what);
void bench_report(void);
void bench_exit_fast(void);     /* boot/syscall.asm's fast path */
static inline uint64_t bench_now(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
void bench_span(unsigned what, uint64_t since);
#else
static inline void bench_mark(unsigned what) { }
static inline void bench_report(void) { }
static inline uint64_t bench_now(void) { return 0; }
static inline void bench_span(unsigned what, uint64_t since) { }
#endif

/* bench_mark's points of the boot: the TSC when each was passed is reported. */
enum { BENCH_KMAIN, BENCH_CALIBRATED, BENCH_SMP_DONE, BENCH_GUESTS_START, BENCH_MARKS };

#endif
