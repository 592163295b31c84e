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
 *   mode=own fronts=N [first=F] [edus=E] [routes=R] [mover=K] [rounds=N]
 *                                       the owner of every device: binds the message of
 *                                       each of its first E devices (edus) to port 0 of
 *                                       frontend f<F>..f<F+E-1>, then R messages of the others
 *                                       to the other frontends' ports 1.. in turn (each bind
 *                                       stamped; frontend K=E, the mover, gets exactly one),
 *                                       lets the mover move (go, then its answer),
 *                                       then in each round raises every edu and waits for
 *                                       each of those frontends to answer; at the end it
 *                                       sends every other frontend its stop
 *   mode=front peer=<owner> idx=K [ports=P] [expect=X] [answer] [moves=M]
 *                                       (K: its place among the owner's frontends)
 *                                       offers P ports to the owner; port 0's handler
 *                                       stamps and, with answer, answers on the owner's
 *                                       port K; with moves, moves itself M times after the
 *                                       owner's go, then answers; ends after X events on
 *                                       port 0
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
static int64_t peer_id = -1;          /* pong, front: whom its handler answers */
static unsigned answer_port;            /* and on which of its ports */
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
		evt_send((uint64_t)peer_id, answer_port);
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

/* ---- scale and throughput: one owner of the devices, many frontends (scripts/bench.py) ---- */

#define MAX_FRONTS      256
#define MAX_EDUS        32

static volatile uint64_t answers[MAX_FRONTS];  /* own: answers per frontend (its port) */
static volatile uint64_t counted;               /* front: events on its further ports */

static void on_answer(unsigned port, void *arg)
{
	if (port < MAX_FRONTS)
		answers[port]++;
}

static void on_count(unsigned port, void *arg) { counted++; }

struct answered { unsigned n; uint64_t want; };

static bool all_answered(void *arg)
{
	const struct answered *a = arg;
	for (unsigned k = 0; k < a->n; k++)
		if (answers[k] < a->want)
			return false;
	return true;
}

static bool one_answered(void *arg) { return answers[*(uint64_t *)arg] > 0; }

static uint64_t front_id[MAX_FRONTS];

/* *cost (if asked): the stamps around the last attempt, the one that counted. */
static int bind_retry(uint32_t bdf, unsigned msg, uint64_t guest, unsigned port,
		      uint64_t *cost)
{
	uint64_t end = hc_time() + TIMEOUT_NS, t0, t1;
	int err;

	/* ENOENT until the frontend has allocated the port, EPERM until it has offered it: it
	 * starts when it starts. Blocked in between, not yielding: under icount a CPU that
	 * polls keeps the frontend's CPU from running at all. */
	for (;;) {
		t0 = stamp();
		err = dev_msg_bind(bdf, msg, guest, port);
		t1 = stamp();
		if ((err != -COURIER_EPERM && err != -COURIER_ENOENT) || hc_time() >= end)
			break;
		hc_block_until(hc_time() + 100000);
	}
	if (cost)
		*cost = t1 - t0;
	return err;
}

static bool mode_own(void)
{
	static uint64_t t_bind[MAX_ROUNDS * 4], t_raise[MAX_ROUNDS], t_done[MAX_ROUNDS];
	static uint32_t *raise[MAX_EDUS];
	unsigned n = (unsigned)guest_arg_u64("fronts", 1), e = (unsigned)guest_arg_u64("edus", 0);
	unsigned first = (unsigned)guest_arg_u64("first", 0);
	uint64_t routes = guest_arg_u64("routes", 0), mover = guest_arg_u64("mover", ~0ull);
	uint64_t bound = 0, nbind = 0;
	int err = 0;

	uint64_t has_mover = mover < n;

	/* The routes go to the frontends after the edus', the mover (if any) first of them. */
	if (n > MAX_FRONTS || e > MAX_EDUS || e > n || e > start_info->ndevs ||
	    (has_mover && mover != e) || (routes > has_mover && n <= e + has_mover))
		return false;
	for (unsigned k = 0; k < n; k++) {
		char name[16];
		snprintf(name, sizeof(name), "f%u", first + k);
		int64_t id = guest_lookup_wait(name, TIMEOUT_NS);
		int port = evt_alloc();
		/* Port k is frontend k's to answer on: ports come in order from 0. */
		if (id < 0 || port != (int)k || evt_bind_handler((unsigned)port, on_answer, NULL) < 0 ||
		    evt_offer((unsigned)port, (uint64_t)id) < 0)
			return false;
		front_id[k] = (uint64_t)id;
	}
	for (unsigned k = 0; k < e; k++) {
		const struct courier_dev_info *d = &start_info->devs[k];
		uint8_t *bar = dev_bar(d, 0);
		if (!bar || dev_msg_alloc(d->bdf, 1) < 1)
			return false;
		if ((err = bind_retry(d->bdf, 0, front_id[k], 0, NULL)) < 0) {
			printf("bench edu=%u bind: %s\n", k, guest_strerror(err));
			return false;
		}
		raise[k] = (uint32_t *)(bar + EDU_INTR_RAISE);
	}
	/* The routes, to the frontends' ports 1.. in turn; the first refusal ends the binding
	 * (a share used up, say) and is printed for the harness. */
	for (unsigned i = e; i < start_info->ndevs && bound < routes && !err; i++) {
		const struct courier_dev_info *d = &start_info->devs[i];
		uint64_t want = routes - bound;
		int got = dev_msg_alloc(d->bdf, (unsigned)(want < d->msi_max ? want : d->msi_max));
		if (got < 0) {
			err = got;
			break;
		}
		for (int m = 0; m < got && bound < routes; m++) {
			/* The mover holds one message whatever the size, so that its move
			 * costs the same work at every size but for the routes around it. */
			uint64_t j = bound - has_mover, h = n - e - has_mover;
			unsigned k = has_mover && !bound ? (unsigned)mover : (unsigned)(e + has_mover + j % h);
			uint64_t cost;
			err = bind_retry(d->bdf, (unsigned)m, front_id[k],
					 (unsigned)(has_mover && !bound ? 1 : 1 + j / h), &cost);
			if (err < 0)
				break;
			if (nbind < MAX_ROUNDS * 4)
				t_bind[nbind++] = cost;
			bound++;
		}
	}
	printf("bench bound=%llu err=%d\n", (unsigned long long)bound, err);
	print_series("bind", t_bind, nbind);
	if (mover < n) {
		evt_send(front_id[mover], 0);                   /* go */
		if (!evt_wait(one_answered, &(uint64_t){ mover }, 0))
			return false;
	}
	for (uint64_t i = 0; i < warm + rounds; i++) {
		uint64_t t0 = stamp();
		for (unsigned k = 0; k < e; k++)
			mmio_write32(raise[k], EDU_VALUE);
		if (!evt_wait(all_answered, &(struct answered){ e, i + 1 }, TIMEOUT_NS))
			return false;
		uint64_t t1 = stamp();
		if (i >= warm) {
			t_raise[i - warm] = t0;
			t_done[i - warm] = t1;
		}
	}
	print_series("raise", t_raise, rounds);
	print_series("done", t_done, rounds);
	for (unsigned k = e; k < n; k++)                        /* the others' stop */
		evt_send(front_id[k], 0);
	return bound == routes;
}

static bool mode_front(void)
{
	static uint64_t d[MAX_ROUNDS];
	int64_t owner = guest_lookup_wait(guest_arg("peer"), TIMEOUT_NS);
	unsigned ports = (unsigned)guest_arg_u64("ports", 1);
	uint64_t expect = guest_arg_u64("expect", 1), moves = guest_arg_u64("moves", 0);
	uint64_t home = start_info->cpu;
	int port = own_port();

	if (owner < 0 || port != 0 || evt_offer(0, (uint64_t)owner) < 0)
		return false;
	for (unsigned p = 1; p < ports; p++) {
		int q = evt_alloc();
		if (q < 0 || evt_bind_handler((unsigned)q, on_count, NULL) < 0 ||
		    evt_offer((unsigned)q, (uint64_t)owner) < 0)
			return false;
	}
	answer_port = (unsigned)guest_arg_u64("idx", 0);
	if (moves) {
		if (!evt_wait(reached, &(uint64_t){ 1 }, 0))     /* the owner's go */
			return false;
		for (uint64_t i = 0; i < moves && i < MAX_ROUNDS; i++) {
			uint64_t t0 = stamp();
			if (hc_sched_move(COURIER_SELF, i % 2 ? home : home + 1) < 0)
				return false;
			d[i] = stamp() - t0;
		}
		print_series("move", d, moves < MAX_ROUNDS ? moves : MAX_ROUNDS);
		evt_send((uint64_t)owner, answer_port);
	}
	if (guest_arg_flag("answer"))
		peer_id = owner;
	/* Bounded: an owner that failed sends no stop, and the run must still end. */
	if (!evt_wait(reached, &expect, 4 * TIMEOUT_NS))
		return false;
	if (peer_id >= 0)
		print_series("recv", t_in, rounds);
	return true;
}

static const struct {
	const char *name;
	bool (*run)(void);
} modes[] = {
	{ "self", mode_self }, { "ping", mode_ping }, { "pong", mode_pong }, { "hc", mode_hc },
	{ "move", mode_move }, { "own", mode_own }, { "front", mode_front },
};

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
	}
	for (unsigned i = 0; mode && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i].name))
			ok = modes[i].run();
	printf("bench guest=%s result=%s\n", argv[0], ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
