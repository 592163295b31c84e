/*
 * libtest: checks the guest runtime against the hypervisor it runs on: arguments, newlib's
 * printf and malloc over our sbrk, time, and events through the upcall (delivery on the way
 * back from the hypercall that raised them, masking, the saved context surviving the upcall,
 * waits with a timeout). One line per check,
 *   libtest guest=<name> check=<check> ... result=pass|fail
 * then "libtest guest=<name> checks=<n> failed=<n> result=pass|fail"; exit code = failures.
 * Keys: [rounds=N] (self-events through the upcall, default 1000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define MALLOC_CHUNK    (64 * 1024)
#define MALLOC_MAX      4096
#define TIME_SAMPLES    1000
#define WAIT_NS         50000000ull         /* 50 ms */
#define NS_PER_USEC     1000ull

static const char *me;
static unsigned checks, failed;
static volatile uint64_t handled;

static void result(const char *check, bool ok, const char *extra)
{
	checks++;
	failed += !ok;
	printf("libtest guest=%s check=%s %sresult=%s\n", me, check, extra, ok ? "pass" : "fail");
}

static void check_args(int argc, char **argv)
{
	const char *name = guest_arg("name");

	result("args", argc >= 1 && !strcmp(argv[0], start_info->name) && name &&
		       !strcmp(name, argv[0]) && !guest_arg("no_such_key"), "");
}

static void check_printf(void)
{
	char buf[96];
	unsigned long long big = 0xfedcba9876543210ull;

	snprintf(buf, sizeof(buf), "%llx %zu %hhu|%5s|%-3d|%+d %p %%", big, sizeof(buf),
		 (unsigned char)300, "ab", 7, 5, (void *)0x1000);
	result("printf", !strcmp(buf, "fedcba9876543210 96 44|   ab|7  |+5 0x1000 %"), "");
}

/* malloc until the heap is exhausted: every block inside [heap_start, heap_end), then reuse. */
static void check_malloc(void)
{
	static void *blocks[MALLOC_MAX];
	unsigned n = 0;
	bool ok = true;
	char extra[48];

	while (n < MALLOC_MAX && (blocks[n] = malloc(MALLOC_CHUNK))) {
		uint64_t a = (uint64_t)blocks[n];
		ok &= a >= start_info->heap_start && a + MALLOC_CHUNK <= start_info->heap_end;
		memset(blocks[n], (int)n, MALLOC_CHUNK);
		n++;
	}
	for (unsigned i = 0; i < n; i++) {
		ok &= ((unsigned char *)blocks[i])[MALLOC_CHUNK - 1] == (unsigned char)i;
		free(blocks[i]);
	}
	void *again = malloc(MALLOC_CHUNK);
	ok &= n > 0 && n < MALLOC_MAX && again != NULL;
	free(again);
	snprintf(extra, sizeof(extra), "blocks=%u ", n);
	result("malloc", ok, extra);
}

static void check_time(void)
{
	uint64_t prev = guest_time_ns(), t;
	struct timeval tv;
	bool ok = true;

	for (unsigned i = 0; i < TIME_SAMPLES; i++) {
		t = guest_time_ns();
		ok &= t >= prev;
		prev = t;
	}
	gettimeofday(&tv, NULL);
	t = (uint64_t)tv.tv_sec * 1000000ull + (uint64_t)tv.tv_usec;
	ok &= t >= prev / NS_PER_USEC && t <= guest_time_ns() / NS_PER_USEC + 1;
	result("time", ok, "");
}

static void on_self(unsigned port, void *arg)
{
	handled++;
}

/*
 * Events to ourselves with upcalls on: the upcall must have run by the time HC_EVT_SEND
 * returns, and the context it interrupted (many live values) must come back intact.
 */
static void check_upcall(unsigned port, uint64_t rounds)
{
	uint64_t a = 1, b = 2, c = 3, d = 5, e = 8, late = 0, start = handled;
	char extra[64];

	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t before = handled;
		evt_send(COURIER_SELF, port);
		late += handled != before + 1;
		a += b ^ i; b += c * 3; c ^= d + i; d += e; e = e * 5 + a;
	}
	uint64_t x = 1, y = 2, z = 3, v = 5, w = 8;
	for (uint64_t i = 0; i < rounds; i++) {
		x += y ^ i; y += z * 3; z ^= v + i; v += w; w = w * 5 + x;
	}
	snprintf(extra, sizeof(extra), "rounds=%llu handled=%llu late=%llu ",
		 (unsigned long long)rounds, (unsigned long long)(handled - start),
		 (unsigned long long)late);
	result("upcall", handled - start == rounds && !late &&
			 a == x && b == y && c == z && d == v && e == w, extra);
}

static void check_mask(unsigned port)
{
	uint64_t before = handled;
	bool ok;

	evt_mask(port);
	evt_send(COURIER_SELF, port);
	ok = handled == before && (shared_info->evt_pending[port / 64] & 1ull << (port % 64));
	evt_unmask(port);
	evt_dispatch();         /* in case the hypervisor leaves it to the next entry */
	ok &= handled == before + 1;
	result("mask", ok, "");

	before = handled;
	upcalls_disable();
	evt_send(COURIER_SELF, port);
	ok = handled == before;
	upcalls_enable();
	ok &= handled == before + 1;
	result("upcall_mask", ok, "");
}

static bool never(void *arg)
{
	return false;
}

static bool got_one(void *arg)
{
	return handled > *(uint64_t *)arg;
}

static void check_wait(unsigned port)
{
	uint64_t t0 = guest_time_ns(), before = handled;
	bool timed_out = !evt_wait(never, NULL, WAIT_NS);
	uint64_t waited = guest_time_ns() - t0;
	char extra[48];

	snprintf(extra, sizeof(extra), "waited_us=%llu ", (unsigned long long)(waited / 1000));
	result("wait_timeout", timed_out && waited >= WAIT_NS, extra);

	/* Pending before the wait: evt_wait() must see it without blocking. */
	upcalls_disable();
	evt_send(COURIER_SELF, port);
	result("wait_pending", evt_wait(got_one, &before, 0) && handled == before + 1, "");
	upcalls_enable();
}

int main(int argc, char **argv)
{
	uint64_t rounds = guest_arg_u64("rounds", 1000);
	int port;

	me = argv[0];
	check_args(argc, argv);
	check_printf();
	check_malloc();
	check_time();
	port = evt_alloc();
	if (port < 0 || evt_bind_handler((unsigned)port, on_self, NULL) < 0) {
		result("evt_alloc", false, "");
	} else {
		check_upcall((unsigned)port, rounds);
		check_mask((unsigned)port);
		check_wait((unsigned)port);
	}
	printf("libtest guest=%s checks=%u failed=%u unhandled=%llu result=%s\n", me, checks,
	       failed, (unsigned long long)evt_unhandled(), failed ? "fail" : "pass");
	return (int)failed;
}
