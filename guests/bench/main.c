/*
 * bench: time stamps for `make bench` (scripts/bench.py, docs/bench.md). Under QEMU's
 * `-icount shift=0` the TSC counts executed instructions, so the difference of two stamps is a
 * path length; under KVM it is cycles. The guest only stamps and prints; the harness pairs
 * the series up (across guests too: the TSC is one counter for every CPU under TCG).
 *
 *   mode=self dev=<bdf> [rounds=N]      an edu it owns raises message 0 on its own port
 *   mode=ping peer=<guest> [dev=<bdf>] [rounds=N]
 *   mode=pong peer=<guest> [rounds=N]   ping sends an event (or, with dev=, raises the edu's
 *                                       message bound to pong's port 0); pong's handler
 *                                       answers with an event; ping blocks in between
 *   mode=hc [rounds=N]                  hypercalls: null (an unknown number), HC_TIME,
 *                                       HC_YIELD alone on its CPU, evt_wait already true,
 *                                       and two stamps back to back (what a stamp costs)
 *   mode=move [n=N] [rounds=N]          binds N messages of its devices to its own ports,
 *                                       then moves itself between its CPU and the next
 *   mode=boot                           one stamp at the start of main
 *
 * Each series is printed as "bench series=<name> v=<a>,<b>,..." (at most 8 values a line,
 * continued in further lines); the last line is "bench guest=<name> result=pass|fail".
 * Rounds before warm= (default 10) are run but not stamped.
 */
#include <stdio.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include <courier/mmio.h>

#define MAX_ROUNDS              1024
#define EDU_INTR_RAISE          0x60
#define EDU_INTR_ACK            0x64
#define EDU_VALUE               0x1u
#define NULL_HYPERCALL          0x7fff  /* no such number: the dispatch's shortest path */
#define TIMEOUT_NS              5000000000ull
#define PER_LINE                8       /* a guest's console line is at most 200 bytes */

static uint64_t rounds, warm;
static volatile uint64_t events;
static uint64_t t_in[MAX_ROUNDS], t_out[MAX_ROUNDS];
static int64_t peer_id = -1;          /* pong: whom its handler answers */
static uint32_t *raise_reg;

static inline uint64_t stamp(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return (uint64_t)hi << 32 | lo;
}

/* The edu's raise, with the stamp taken right after the write: the message is taken on
 * the write's instruction boundary, so this stamp is the first instruction it resumes. */
static inline uint64_t raise_and_stamp(void)
{
	uint32_t lo, hi;
	__asm__ volatile("movl %2, (%3); lfence; rdtsc"
			 : "=a"(lo), "=d"(hi) : "r"(EDU_VALUE), "r"(raise_reg) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static void print_series(const char *name, const uint64_t *v, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += PER_LINE) {
		char line[PER_LINE * 21 + 64];
		int len = snprintf(line, sizeof(line), "bench series=%s v=", name);
		for (uint64_t j = i; j < n && j < i + PER_LINE; j++)
			len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%llu",
					j > i ? "," : "", (unsigned long long)v[j]);
		puts(line);
	}
}

static void on_event(unsigned port, void *arg)
{
	uint64_t i = events;
	uint64_t t = stamp();

	if (i >= warm && i - warm < rounds)
		t_in[i - warm] = t;
	events = i + 1;
	if (peer_id >= 0)
		evt_send((uint64_t)peer_id, 0);
	t = stamp();
	if (i >= warm && i - warm < rounds)
		t_out[i - warm] = t;
}

static bool reached(void *arg)
{
	return events >= *(uint64_t *)arg;
}

/* Retries while the peer has not offered its port yet (EPERM). */
static int retry(int (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b)
{
	uint64_t end = hc_time() + TIMEOUT_NS;
	int err;

	while ((err = fn(a, b)) == -COURIER_EPERM && hc_time() < end) {
		__asm__ volatile("pause");
		hc_yield();
	}
	return err;
}

static int send_fn(uint64_t guest, uint64_t port) { return evt_send(guest, (unsigned)port); }

static const struct courier_dev_info *edu_dev;

static int bind_fn(uint64_t guest, uint64_t port)
{
	return dev_msg_bind(edu_dev->bdf, 0, guest, (unsigned)port);
}

static bool edu_setup(void)
{
	edu_dev = start_info->ndevs ? &start_info->devs[0] : NULL;
	uint8_t *bar = edu_dev ? dev_bar(edu_dev, 0) : NULL;

	if (!bar || dev_msg_alloc(edu_dev->bdf, 1) < 1)
		return false;
	raise_reg = (uint32_t *)(bar + EDU_INTR_RAISE);
	return true;
}

static void edu_ack(void)
{
	mmio_write32((uint32_t *)((uint8_t *)raise_reg - EDU_INTR_RAISE + EDU_INTR_ACK),
		     EDU_VALUE);
}

/* Our own port 0, with the handler that stamps. */
static int own_port(void)
{
	int port = evt_alloc();

	if (port >= 0)
		evt_bind_handler((unsigned)port, on_event, NULL);
	return port;
}

static bool mode_self(void)
{
	static uint64_t t_raise[MAX_ROUNDS], t_back[MAX_ROUNDS];
	int port = own_port();

	if (port < 0 || !edu_setup() || bind_fn(COURIER_SELF, (uint64_t)port) < 0)
		return false;
	for (uint64_t i = 0; i < warm + rounds; i++) {
		uint64_t t0 = stamp();
		uint64_t t1 = raise_and_stamp();
		if (!evt_wait(reached, &(uint64_t){ i + 1 }, TIMEOUT_NS))
			return false;
		edu_ack();
		if (i >= warm) {
			t_raise[i - warm] = t0;
			t_back[i - warm] = t1;
		}
	}
	print_series("raise", t_raise, rounds);
	print_series("handler_in", t_in, rounds);
	print_series("handler_out", t_out, rounds);
	print_series("resumed", t_back, rounds);
	return true;
}

static bool mode_ping(void)
{
	static uint64_t t_send[MAX_ROUNDS];
	int64_t peer = guest_lookup_wait(guest_arg("peer"), TIMEOUT_NS);
	bool via_edu = guest_arg("dev");
	int port = own_port();

	if (peer < 0 || port < 0 || evt_offer((unsigned)port, (uint64_t)peer) < 0)
		return false;
	/* Pong's first event says it has offered its port 0. Blocked, not polling: under QEMU's
	 * icount a CPU that polls can keep the others from running. */
	if (!evt_wait(reached, &(uint64_t){ 1 }, 0) ||
	    (via_edu && (!edu_setup() || bind_fn((uint64_t)peer, 0) < 0)))
		return false;
	for (uint64_t i = 0; i < warm + rounds; i++) {
		uint64_t t0 = stamp();
		if (via_edu)
			mmio_write32(raise_reg, EDU_VALUE);
		else
			evt_send((uint64_t)peer, 0);
		if (i >= warm)
			t_send[i - warm] = t0;
		while (events < i + 2)
			evt_block();
		if (via_edu)
			edu_ack();
	}
	print_series("send", t_send, rounds);
	return true;
}

static bool mode_pong(void)
{
	int64_t peer = guest_lookup_wait(guest_arg("peer"), TIMEOUT_NS);
	int port = own_port();

	if (peer < 0 || port < 0 || evt_offer((unsigned)port, (uint64_t)peer) < 0)
		return false;
	peer_id = peer;
	if (retry(send_fn, (uint64_t)peer, 0) < 0)      /* waits for its offer */
		return false;
	while (events < warm + rounds)
		evt_block();
	print_series("recv", t_in, rounds);
	return true;
}

static bool always(void *arg) { return true; }

static bool mode_hc(void)
{
	static uint64_t d[5][MAX_ROUNDS];
	static const char *const names[5] = { "hc_null", "hc_time", "hc_yield", "evt_wait_true",
					       "stamp_pair" };

	for (uint64_t i = 0; i < warm + rounds; i++) {
		uint64_t t[6];
		t[0] = stamp();
		hypercall0(NULL_HYPERCALL);
		t[1] = stamp();
		hc_time();
		t[2] = stamp();
		hc_yield();
		t[3] = stamp();
		evt_wait(always, NULL, 0);
		t[4] = stamp();
		t[5] = stamp();
		for (int k = 0; k < 5 && i >= warm; k++)
			d[k][i - warm] = t[k + 1] - t[k];
	}
	for (int k = 0; k < 5; k++)
		print_series(names[k], d[k], rounds);
	return true;
}

static bool mode_move(void)
{
	static uint64_t d[MAX_ROUNDS];
	uint64_t want = guest_arg_u64("n", 1), bound = 0, home = start_info->cpu;

	for (unsigned i = 0; i < start_info->ndevs && bound < want; i++) {
		const struct courier_dev_info *dev = &start_info->devs[i];
		int got = dev_msg_alloc(dev->bdf, (unsigned)(want - bound < dev->msi_max ? want - bound : dev->msi_max));
		for (int k = 0; k < got; k++) {
			int port = evt_alloc();
			if (port < 0 || dev_msg_bind(dev->bdf, (unsigned)k, COURIER_SELF,
						     (unsigned)port) < 0)
				return false;
			bound++;
		}
	}
	printf("bench bound=%llu\n", (unsigned long long)bound);
	for (uint64_t i = 0; i < warm + rounds; i++) {
		uint64_t t0 = stamp();
		if (hc_sched_move(COURIER_SELF, i % 2 ? home : home + 1) < 0)
			return false;
		uint64_t t1 = stamp();
		if (i >= warm)
			d[i - warm] = t1 - t0;
	}
	print_series("move", d, rounds);
	return bound == want;
}

int main(int argc, char **argv)
{
	uint64_t t = stamp();
	const char *mode = guest_arg("mode");
	bool ok = false;

	rounds = guest_arg_u64("rounds", 200);
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	warm = guest_arg_u64("warm", 10);
	if (!mode || !strcmp(mode, "boot")) {
		print_series("start", &t, 1);
		ok = true;
	} else if (!strcmp(mode, "self")) {
		ok = mode_self();
	} else if (!strcmp(mode, "ping")) {
		ok = mode_ping();
	} else if (!strcmp(mode, "pong")) {
		ok = mode_pong();
	} else if (!strcmp(mode, "hc")) {
		ok = mode_hc();
	} else if (!strcmp(mode, "move")) {
		ok = mode_move();
	}
	printf("bench guest=%s result=%s\n", argv[0], ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
