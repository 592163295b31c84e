/*
 * pingpong: two guests bounce one event back and forth through event ports.
 *
 *   role=ping peer=<name> [rounds=N] [timeout_ms=T] [peer_port=P]
 *   role=pong peer=<name> [rounds=N] [timeout_ms=T] [peer_port=P]
 *
 * Each guest allocates a port, binds its handler, offers the port to its peer, then ping
 * sends and waits for the answer, N times; pong answers each event. The peer's port number is
 * peer_port, by default the same number as our own (both allocate exactly one port). Waits
 * block in HC_BLOCK unless timeout_ms is given (then they poll with HC_YIELD up to T ms each).
 * Last line: "pingpong guest=<name> role=<role> rounds=<N> sent=<n> received=<n>
 * ns_per_round=<n> result=pass|fail".
 */
#include <stdio.h>
#include <string.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_MS               1000000ull
/* How long to wait for the peer to appear and to offer its port. */
#define SETUP_TIMEOUT_NS        (10000 * NS_PER_MS)

static volatile uint64_t received;
static uint64_t timeout_ns;
static const char *me;

struct target {
	uint64_t count;
};

static void on_event(unsigned port, void *arg)
{
	received++;
}

static bool reached(void *arg)
{
	return received >= ((struct target *)arg)->count;
}

static bool wait_for(uint64_t count)
{
	struct target t = { count };

	return evt_wait(reached, &t, timeout_ns);
}

/* The peer may not exist yet, or not have offered its port yet: retry until the deadline. */
static int64_t lookup_peer(const char *peer)
{
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	int64_t id;

	while ((id = guest_lookup(peer)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	return id;
}

static int send_first(uint64_t peer_id, unsigned port)
{
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	int ret;

	while ((ret = evt_send(peer_id, port)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	return ret;
}

static int fail(const char *what, int64_t err)
{
	printf("pingpong guest=%s error=%s what=%s\n", me, guest_strerror(err), what);
	return 1;
}

int main(int argc, char **argv)
{
	const char *role = guest_arg("role"), *peer = guest_arg("peer");
	uint64_t rounds = guest_arg_u64("rounds", 1000), sent = 0, start_ns, elapsed;
	bool ping, ok = true;
	int64_t peer_id;
	int port, ret;
	unsigned peer_port;

	me = argv[0];
	timeout_ns = guest_arg_u64("timeout_ms", 0) * NS_PER_MS;
	if (!role || (strcmp(role, "ping") && strcmp(role, "pong")) || !peer || !rounds) {
		printf("pingpong guest=%s error=usage (role=ping|pong peer=<name> [rounds=N])\n",
		       me);
		return 2;
	}
	ping = !strcmp(role, "ping");

	port = evt_alloc();
	if (port < 0)
		return fail("evt_alloc", port);
	evt_bind_handler((unsigned)port, on_event, NULL);
	peer_port = (unsigned)guest_arg_u64("peer_port", (uint64_t)port);
	peer_id = lookup_peer(peer);
	if (peer_id < 0)
		return fail("guest_lookup", peer_id);
	ret = evt_offer((unsigned)port, (uint64_t)peer_id);
	if (ret < 0)
		return fail("evt_offer", ret);

	start_ns = guest_time_ns();
	for (uint64_t i = 1; i <= rounds && ok; i++) {
		if (ping) {
			ret = i == 1 ? send_first(peer_id, peer_port)
				     : evt_send(peer_id, peer_port);
			sent += ret >= 0;
			ok = ret >= 0 && wait_for(i);
		} else {
			ok = wait_for(i);
			ret = ok ? evt_send(peer_id, peer_port) : 0;
			sent += ret >= 0 && ok;
			ok = ok && ret >= 0;
		}
		if (ret < 0)
			fail("evt_send", ret);
		else if (!ok)
			printf("pingpong guest=%s error=timeout round=%llu\n", me,
			       (unsigned long long)i);
	}
	elapsed = guest_time_ns() - start_ns;
	ok = ok && received == rounds && sent == rounds;
	printf("pingpong guest=%s role=%s rounds=%llu sent=%llu received=%llu "
	       "ns_per_round=%llu result=%s\n", me, role,
	       (unsigned long long)rounds, (unsigned long long)sent,
	       (unsigned long long)received, (unsigned long long)(elapsed / rounds),
	       ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
