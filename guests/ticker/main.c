/*
 * ticker: how long this guest is kept from running, measured from inside. It reads the
 * hypervisor's clock in a loop for ms milliseconds and keeps the largest step between two
 * readings: what a bystander feels when another guest stalls its CPU (interrupts held off, a
 * hypercall that does not return, a console that blocks).
 *
 *   ms=<n>
 *
 * Prints "ticker guest=<name> ms=<n> samples=<n> max_gap_us=<n>" and exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull

int main(int argc, char **argv)
{
	uint64_t ms = guest_arg_u64("ms", 1000), samples = 0, max_gap = 0;
	uint64_t start = hc_time(), prev = start, now;

	do {
		now = hc_time();
		if (now - prev > max_gap)
			max_gap = now - prev;
		prev = now;
		samples++;
	} while (now - start < ms * NS_PER_MS);
	printf("ticker guest=%s ms=%llu samples=%llu max_gap_us=%llu\n", argv[0],
	       (unsigned long long)ms, (unsigned long long)samples,
	       (unsigned long long)(max_gap / NS_PER_US));
	return 0;
}
