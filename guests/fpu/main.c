/*
 * fpu: a guest's x87 and SSE registers are its own. The hypervisor saves and restores them
 * around every switch, so what another guest on the same CPU leaves in them, or a move to
 * another CPU, must never show.
 *
 *   value=<n> [rounds=<r>] [hop]
 *
 * Loads n into x87 st(0) and into xmm0 and xmm15, and a rounding mode derived from n into
 * MXCSR; then each round gives the CPU away (yield, or with hop a move to the next CPU) and
 * reads all four back. Prints "fpu guest=<name> value=<n> rounds=<r> mismatches=<m>
 * result=pass|fail" and exits with 1 if anything differed.
 */
#include <stdint.h>
#include <stdio.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define MXCSR_RC_SHIFT  13      /* SDM vol. 1 10.2.3: rounding control, bits 14:13 */
#define MXCSR_RC        (3u << MXCSR_RC_SHIFT)

static void load(int64_t v, uint32_t mxcsr)
{
	__asm__ volatile("fninit\n\tfildq %0" :: "m"(v));
	/* No clobbers: guests are compiled without SSE, so nothing else uses these registers. */
	__asm__ volatile("movq %0, %%xmm0\n\tmovq %0, %%xmm15" :: "r"(v));
	__asm__ volatile("ldmxcsr %0" :: "m"(mxcsr));
}

/* How many of st(0), xmm0, xmm15 and MXCSR's rounding mode differ from what load() set. */
static unsigned differences(int64_t v, uint32_t mxcsr)
{
	int64_t st0, x0, x15;
	uint32_t now;

	__asm__ volatile("fld %%st(0)\n\tfistpq %0" : "=m"(st0));       /* st(0) stays */
	__asm__ volatile("movq %%xmm0, %0" : "=r"(x0));
	__asm__ volatile("movq %%xmm15, %0" : "=r"(x15));
	__asm__ volatile("stmxcsr %0" : "=m"(now));
	return (st0 != v) + (x0 != v) + (x15 != v) + ((now & MXCSR_RC) != (mxcsr & MXCSR_RC));
}

int main(int argc, char **argv)
{
	int64_t v = (int64_t)guest_arg_u64("value", 1);
	uint64_t rounds = guest_arg_u64("rounds", 1000), mismatches = 0, cpu = start_info->cpu;
	bool hop = guest_arg_flag("hop");
	uint32_t mxcsr = 0x1f80u | ((uint32_t)v & 3) << MXCSR_RC_SHIFT;

	load(v, mxcsr);
	for (uint64_t i = 0; i < rounds; i++) {
		if (hop) {
			if (hc_sched_move(COURIER_SELF, ++cpu) < 0 &&
			    hc_sched_move(COURIER_SELF, cpu = 0) < 0)
				break;
		} else {
			hc_yield();
		}
		mismatches += differences(v, mxcsr) != 0;
	}
	printf("fpu guest=%s value=%lld rounds=%llu mismatches=%llu result=%s\n", argv[0],
	       (long long)v, (unsigned long long)rounds, (unsigned long long)mismatches,
	       mismatches ? "fail" : "pass");
	return mismatches != 0;
}
