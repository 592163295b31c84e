/*
 * flood: an unprivileged guest that tries to drown the hypervisor in its own output.
 *
 *   kind=console [bytes=<n>]   writes n bytes (default 65536) of "x\n" in 64 KiB console
 *                              writes straight through the hypercall, each resumed where the
 *                              hypervisor stopped taking
 *   kind=moves [count=<n>]     moves itself between its CPU and the next count times
 *                              (default 20000)
 *
 * Last line: "flood guest=<name> kind=<kind> done=<n> result=pass" (n: bytes taken, or moves
 * that succeeded); exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define CHUNK 65536

static char buf[CHUNK + 2];     /* the pattern resumes at an odd offset too */

static uint64_t console(uint64_t bytes)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < sizeof(buf); i += 2)
		memcpy(buf + i, "x\n", 2);
	while (done < bytes) {
		uint64_t want = bytes - done < CHUNK ? bytes - done : CHUNK;
		int64_t n = hc_console_write(buf + done % 2, want);
		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	return done;
}

static uint64_t moves(uint64_t count)
{
	uint64_t home = start_info->cpu, done = 0;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t to = i % 2 ? home : home + 1;
		if (hc_sched_move(COURIER_SELF, to) < 0 && hc_sched_move(COURIER_SELF, 0) < 0)
			break;
		done++;
	}
	return done;
}

int main(int argc, char **argv)
{
	const char *kind = guest_arg("kind");
	uint64_t done;

	if (kind && !strcmp(kind, "console"))
		done = console(guest_arg_u64("bytes", CHUNK));
	else if (kind && !strcmp(kind, "moves"))
		done = moves(guest_arg_u64("count", 20000));
	else {
		printf("flood guest=%s error=kind_is_console_or_moves\n", argv[0]);
		return 2;
	}
	printf("flood guest=%s kind=%s done=%llu result=pass\n", argv[0], kind,
	       (unsigned long long)done);
	return 0;
}
