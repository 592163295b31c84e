/*
 * frontend: the guest a driver sends one device message to (guests/xhci and guests/e1000e give
 * message k of their function to frontend k; guests/lib/frontends.c is their side).
 *
 *   driver=<name> [rounds=N] [ack_port=P] [every=E] [mode=grant [mask_at=M]] [crash_at=C]
 *
 * Allocates its event port and then its stop port, binds their handlers, looks the driver up
 * (retrying up to 10 s while it does not exist yet) and offers it both, then waits (HC_BLOCK)
 * for N events on the first, or until the driver gives up and sends to the stop port. With
 * ack_port=P it sends to the driver's port P after each event it handled, so the driver can
 * wait before raising the next one (two raises before we look would collapse into one pending
 * bit). cpu= is start_info.cpu, the CPU it runs on (the hypervisor updates it on moves). With
 * every=E it prints "frontend guest=<name> events=<n> cpu=<cpu>" after every E-th event: a
 * live view of where its messages arrive (scripts/pictures draws it).
 *
 * mode=grant: the driver grants us the message instead of binding it. A third port is our grant
 * port (HC_GRANT_PORT); when it fires we list our grants (HC_GRANT_LIST), bind each message
 * the driver granted us to our event port ourselves ("frontend guest=<name> bound dev=<bdf>
 * msg=<k> port=<p>"), and acknowledge once. Later, a grant that is gone (the driver revoked
 * it or ended) ends the wait: "revoked=1" in the last line, and the result is pass when every
 * event until then was ours.
 * mask_at=M (mode=grant, with a device that can mask its messages, like MSI-X): after event M we
 * mask our message (HC_DEV_MSG_MASK) and acknowledge, so the driver raises the next while it
 * is held at the device; we wait 50 ms in which no event may come, unmask, and the held
 * message must arrive: "frontend guest=<name> test=mask held_events=<n> result=pass|fail".
 *
 * crash_at=C: right after acknowledging event C it reads a hypervisor address, and must be
 * stopped as crashed; the driver's other messages must keep flowing (guests/e1000e gone=).
 *
 * Last line: "frontend guest=<name> port=<p> events=<n> cpu=<cpu> acks=<n> stopped=0|1
 * revoked=0|1 result=pass|fail"; errors as "frontend guest=<name> error=<ERR> what=<call>
 * result=fail".
 */
#include <stdio.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_MS               1000000ull
#define SETUP_TIMEOUT_NS        (10000 * NS_PER_MS)
#define MASK_WINDOW_NS          (50 * NS_PER_MS)

static volatile uint64_t events;
static volatile bool stopped, grants_changed, revoked;
static int64_t drv;
static struct courier_grant mine[COURIER_GRANTS_MAX];
static int nmine;

static void on_event(unsigned port, void *arg)
{
	events++;
}

static void on_stop(unsigned port, void *arg)
{
	stopped = true;
}

static void on_grant(unsigned port, void *arg)
{
	grants_changed = true;
}

static bool reached(void *arg)
{
	return events >= *(uint64_t *)arg || stopped || grants_changed;
}

static bool changed(void *arg)
{
	return grants_changed || stopped;
}

static int fail(const char *me, const char *what, int64_t err)
{
	printf("frontend guest=%s error=%s what=%s result=fail\n", me, guest_strerror(err), what);
	return 1;
}

/* Our grants from the driver, as they are now; how many. */
static int driver_grants(const char *me)
{
	struct courier_grant all[COURIER_GRANTS_MAX];
	int n;

	grants_changed = false; /* before the list: a change after it must be seen */
	n = dev_grants(all, COURIER_GRANTS_MAX);
	if (n < 0)
		return fail(me, "dev_grants", n), n;
	nmine = 0;
	for (int i = 0; i < n && i < COURIER_GRANTS_MAX; i++)
		if (all[i].owner == (uint64_t)drv)
			mine[nmine++] = all[i];
	return nmine;
}

/* Wait for the driver's grants and bind each to port ourselves. */
static int take_grants(const char *me, int port)
{
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	char bdf[DEV_BDF_STR_MAX];
	int n;

	while ((n = driver_grants(me)) == 0 && !stopped && guest_time_ns() < deadline)
		evt_wait(changed, NULL, deadline - guest_time_ns());
	if (n <= 0)
		return n < 0 ? n : stopped ? 0 : fail(me, "no_grant", -COURIER_ENOENT);
	for (int i = 0; i < n; i++) {
		int ret = dev_msg_bind(mine[i].bdf, mine[i].msg, COURIER_SELF, (unsigned)port);
		if (ret < 0)
			return fail(me, "dev_msg_bind", ret);
		printf("frontend guest=%s bound dev=%s msg=%u port=%d\n", me,
		       dev_bdf_str(mine[i].bdf, bdf), mine[i].msg, port);
	}
	return 0;
}

/* Masked after event m: the next event is held at the device until we unmask. */
static bool mask_test(const char *me, uint64_t m, bool *acked)
{
	int ret = dev_msg_mask(mine[0].bdf, mine[0].msg, 1);
	*acked = false;
	if (ret < 0)
		return !fail(me, "dev_msg_mask", ret);
	uint64_t until = guest_time_ns() + MASK_WINDOW_NS;
	*acked = evt_send((uint64_t)drv, (unsigned)guest_arg_u64("ack_port", 0)) >= 0;
	while (guest_time_ns() < until)
		hc_yield();
	uint64_t held = events - m, want = m + 1;
	ret = dev_msg_mask(mine[0].bdf, mine[0].msg, 0);
	bool got = ret >= 0 && evt_wait(reached, &want, SETUP_TIMEOUT_NS) && events == want;
	printf("frontend guest=%s test=mask held_events=%llu result=%s\n", me,
	       (unsigned long long)held, !held && got ? "pass" : "fail");
	return !held && got;
}

int main(int argc, char **argv)
{
	const char *me = argv[0], *driver = guest_arg("driver");
	uint64_t rounds = guest_arg_u64("rounds", 10), acks = 0;
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	uint64_t every = guest_arg_u64("every", 0), mask_at = guest_arg_u64("mask_at", 0);
	uint64_t crash_at = guest_arg_u64("crash_at", 0);
	bool ack = guest_arg("ack_port") != NULL, grant = guest_arg_is("mode", "grant"), ok = true;
	unsigned ack_port = (unsigned)guest_arg_u64("ack_port", 0);
	int port, stop, gport = -1, ret;

	if (!driver || !rounds || (mask_at && (!grant || !ack))) {
		printf("frontend guest=%s error=usage (driver=<name> [rounds=N] [ack_port=P] "
		       "[every=E] [mode=grant [mask_at=M]]) result=fail\n", me);
		return 2;
	}
	port = evt_alloc();
	if (port < 0)
		return fail(me, "evt_alloc", port);
	evt_bind_handler((unsigned)port, on_event, NULL);
	stop = evt_alloc();
	if (stop < 0)
		return fail(me, "evt_alloc", stop);
	evt_bind_handler((unsigned)stop, on_stop, NULL);
	if (grant) {
		if ((gport = evt_alloc()) < 0)
			return fail(me, "evt_alloc", gport);
		evt_bind_handler((unsigned)gport, on_grant, NULL);
		if ((ret = dev_grant_port((unsigned)gport)) < 0)
			return fail(me, "dev_grant_port", ret);
	}
	while ((drv = guest_lookup(driver)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	if (drv < 0)
		return fail(me, "guest_lookup", drv);
	ret = evt_offer((unsigned)stop, (uint64_t)drv);
	if (ret >= 0)
		ret = evt_offer((unsigned)port, (uint64_t)drv);
	if (ret < 0)
		return fail(me, "evt_offer", ret);
	if (grant) {
		if (take_grants(me, port))
			return 1;
		/* The driver raises nothing before this "bound" ack (guests/lib/frontends.c). A
		 * grant made at boot may come before the driver has offered us its ack port. */
		while (ack && !stopped && ((ret = evt_send((uint64_t)drv, ack_port)) ==
					   -COURIER_ENOENT || ret == -COURIER_EPERM) &&
		       guest_time_ns() < deadline)
			hc_yield();
		if (ack && !stopped && ret < 0)
			return fail(me, "evt_send", ret);
	}

	for (uint64_t i = 1; i <= rounds && ok; i++) {
		evt_wait(reached, &i, 0);
		if (grants_changed && driver_grants(me) == 0) {
			revoked = true;
			break;
		}
		if (stopped)
			break;
		if (events < i) {       /* woken by a change that left us our grant */
			i--;
			continue;
		}
		if (every && i % every == 0)    /* the live view: where its messages come */
			printf("frontend guest=%s events=%llu cpu=%u\n", me, (unsigned long long)i,
			       start_info->cpu);
		if (ack && mask_at == i) {
			bool sent;
			ok = mask_test(me, i, &sent);
			acks += sent;
			i++;    /* the held event was this round's next */
			if (!ok || i > rounds)
				break;
		}
		if (ack) {
			/* The driver offers our ack port before it binds (or grants) our message. */
			ret = evt_send((uint64_t)drv, ack_port);
			acks += ret >= 0;
			if (ret < 0)
				ok = !fail(me, "evt_send", ret);
		}
		if (i == crash_at) {
			printf("frontend guest=%s crash_at=%llu\n", me, (unsigned long long)i);
			fflush(stdout);
			(void)*(volatile uint64_t *)HV_DIRECT_MAP;
		}
	}
	/* Revoked: every event until then was ours, and acknowledged. */
	ok = ok && (revoked ? events == acks || !ack : events == rounds && (!ack || acks == rounds));
	printf("frontend guest=%s port=%d events=%llu cpu=%u acks=%llu stopped=%d revoked=%d "
	       "result=%s\n", me, port, (unsigned long long)events, start_info->cpu,
	       (unsigned long long)acks, stopped, revoked, ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
