/*
 * canary: a bystander that shows whether anyone else wrote into its memory, or sent it events
 * it never allowed.
 *
 *   [mode=fill] [peer=<guest>] [move_to=<cpu>] [timeout_ms=T]
 *   mode=sink peer=<guest> [timeout_ms=T] [min_port1=N]
 *
 * fill (default): fills most of its heap, page by page, with a pattern: each page starts with
 * the 8 bytes "CNRYPAGE" and its own guest-virtual address (so a dump of physical memory tells
 * where each page is), the rest a function of the address. Prints
 * "canary guest=<name> filled pages=<n> first=<va> last=<va>". With peer= it offers its port 0
 * to that guest and sends it an event on the peer's port 0 (retrying while the peer has not
 * offered it yet), then waits for an event on its own port 0 (the peer is done) before it
 * checks; with move_to= it moves itself to that CPU once filled (the hypervisor's
 * `@guest ... reason=moved` record then marks the moment). Last line:
 * "canary guest=<name> pages=<n> changed=<n> first_changed=<va|-> woken=<0|1> result=pass|fail".
 *
 * sink: allocates ports 0, 1 and 2; offers 1 and 2 to peer (never 0); waits for an event on
 * port 2 (the peer is done), then prints "canary guest=<name> mode=sink port0=<n> port1=<n>
 * port2=<n> result=pass|fail" (events it handled per port: port 0 must have none; port 1 may
 * count fewer than were sent, since pending events collapse: the hypervisor's @stat counts
 * each one; it must count at least min_port1, default 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define PAGE_SIZE               4096u
#define NS_PER_MS               1000000ull
#define SETUP_TIMEOUT_NS        (10000ull * NS_PER_MS)
#define HEAP_SLACK              (256u * 1024u)  /* left for stdio and the library */
#define MAGIC                   "CNRYPAGE"
#define SINK_PORTS              3

static const char *me;
static volatile uint64_t events[SINK_PORTS];

static void on_event(unsigned port, void *arg)
{
	if (port < SINK_PORTS)
		events[port]++;
}

struct seen {
	unsigned port;
};

static bool seen(void *arg)
{
	return events[((struct seen *)arg)->port] >= 1;
}

static uint64_t word_for(uint64_t va)
{
	return (va ^ 0x5a17c0ffee5a17c0ull) * 0x9e3779b97f4a7c15ull;
}

static void fill_page(uint8_t *p)
{
	uint64_t va = (uint64_t)p;

	memcpy(p, MAGIC, 8);
	memcpy(p + 8, &va, 8);
	for (unsigned off = 16; off < PAGE_SIZE; off += 8) {
		uint64_t w = word_for(va + off);
		memcpy(p + off, &w, 8);
	}
}

static bool page_ok(const uint8_t *p)
{
	uint64_t va = (uint64_t)p, got;

	if (memcmp(p, MAGIC, 8) || memcmp(p + 8, &va, 8))
		return false;
	for (unsigned off = 16; off < PAGE_SIZE; off += 8) {
		memcpy(&got, p + off, 8);
		if (got != word_for(va + off))
			return false;
	}
	return true;
}

static int64_t lookup(const char *name)
{
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	int64_t id;

	while ((id = guest_lookup(name)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	return id;
}

static int alloc_port(void)
{
	int port = evt_alloc();

	if (port >= 0)
		evt_bind_handler((unsigned)port, on_event, NULL);
	return port;
}

static int fail(const char *what, int64_t err)
{
	printf("canary guest=%s error=%s what=%s\n", me, guest_strerror(err), what);
	return 1;
}

static int fill(const char *peer, uint64_t timeout_ns)
{
	uint64_t room = start_info->heap_end - start_info->heap_start;
	uint64_t bytes = room > 2 * HEAP_SLACK ? (room - HEAP_SLACK) & ~(uint64_t)(PAGE_SIZE - 1) : 0;
	uint8_t *raw = bytes ? malloc(bytes) : NULL;
	int64_t peer_id = -1;
	int port, ret;

	if (!raw)
		return fail("malloc", -COURIER_ENOMEM);
	uint8_t *first = (uint8_t *)(((uint64_t)raw + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1));
	uint64_t pages = (bytes - (uint64_t)(first - raw)) / PAGE_SIZE;

	port = alloc_port();
	if (port < 0)
		return fail("evt_alloc", port);
	for (uint64_t i = 0; i < pages; i++)
		fill_page(first + i * PAGE_SIZE);
	printf("canary guest=%s filled pages=%llu first=0x%llx last=0x%llx\n", me,
	       (unsigned long long)pages, (unsigned long long)first,
	       (unsigned long long)(first + (pages - 1) * PAGE_SIZE));
	fflush(stdout);
	if (guest_arg("move_to") && (ret = hc_sched_move(COURIER_SELF, guest_arg_u64("move_to", 0))) < 0)
		return fail("hc_sched_move", ret);
	bool woken = false;
	if (peer) {
		uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;

		if ((peer_id = lookup(peer)) < 0)
			return fail("guest_lookup", peer_id);
		if ((ret = evt_offer((unsigned)port, (uint64_t)peer_id)) < 0)
			return fail("evt_offer", ret);
		while ((ret = evt_send((uint64_t)peer_id, 0)) < 0 && guest_time_ns() < deadline)
			hc_yield();
		if (ret < 0)
			return fail("evt_send", ret);
		woken = evt_wait(seen, &(struct seen){ (unsigned)port }, timeout_ns);
	}
	uint64_t changed = 0;
	const uint8_t *first_changed = NULL;
	for (uint64_t i = 0; i < pages; i++) {
		const uint8_t *p = first + i * PAGE_SIZE;
		if (!page_ok(p)) {
			changed++;
			if (!first_changed)
				first_changed = p;
		}
	}
	char where[24] = "-";
	if (first_changed)
		snprintf(where, sizeof(where), "0x%llx", (unsigned long long)first_changed);
	bool ok = !changed && (!peer || woken);
	printf("canary guest=%s pages=%llu changed=%llu first_changed=%s woken=%d result=%s\n", me,
	       (unsigned long long)pages, (unsigned long long)changed, where, woken,
	       ok ? "pass" : "fail");
	return !ok;
}

static int sink(const char *peer, uint64_t timeout_ns)
{
	int64_t peer_id;
	int ret;

	if (!peer)
		return fail("peer", -COURIER_EINVAL);
	for (unsigned i = 0; i < SINK_PORTS; i++)
		if ((ret = alloc_port()) != (int)i)
			return fail("evt_alloc", ret < 0 ? ret : -COURIER_EEXIST);
	if ((peer_id = lookup(peer)) < 0)
		return fail("guest_lookup", peer_id);
	for (unsigned i = 1; i < SINK_PORTS; i++)
		if ((ret = evt_offer(i, (uint64_t)peer_id)) < 0)
			return fail("evt_offer", ret);
	printf("canary guest=%s mode=sink offered=1,2 to=%s\n", me, peer);
	fflush(stdout);
	bool done = evt_wait(seen, &(struct seen){ 2 }, timeout_ns);
	uint64_t min1 = guest_arg_u64("min_port1", 1);
	bool ok = done && events[0] == 0 && events[1] >= min1 && events[2] == 1 &&
		  !evt_unhandled();
	printf("canary guest=%s mode=sink port0=%llu port1=%llu port2=%llu done=%d result=%s\n", me,
	       (unsigned long long)events[0], (unsigned long long)events[1],
	       (unsigned long long)events[2], done, ok ? "pass" : "fail");
	return !ok;
}

int main(int argc, char **argv)
{
	const char *mode = guest_arg("mode");
	uint64_t timeout_ns = guest_arg_u64("timeout_ms", 60000) * NS_PER_MS;

	me = argv[0];
	if (!mode || !strcmp(mode, "fill"))
		return fill(guest_arg("peer"), timeout_ns);
	if (!strcmp(mode, "sink"))
		return sink(guest_arg("peer"), timeout_ns);
	printf("canary guest=%s error=unknown_mode mode=%s\n", me, mode);
	return 2;
}
