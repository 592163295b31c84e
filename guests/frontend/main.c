/*
 * frontend: the guest a driver sends one device message to (guests/xhci binds message k of
 * its controller to frontend k's port).
 *
 *   driver=<name> [rounds=N] [ack_port=P] [every=E]
 *
 * Allocates its event port and then its stop port, binds their handlers, looks the driver up
 * (retrying up to 10 s while it does not exist yet) and offers it both, then waits (HC_BLOCK)
 * for N events on the first, or until the driver gives up and sends to the stop port. With
 * ack_port=P it sends to the driver's port P after each event it handled, so the driver can
 * wait before raising the next one (two raises before we look would collapse into one pending
 * bit). cpu= is start_info.cpu, the CPU it runs on (the hypervisor updates it on moves). With
 * every=E it prints "frontend guest=<name> events=<n> cpu=<cpu>" after every E-th event: a
 * live view of where its messages arrive (scripts/pictures draws it).
 * Last line: "frontend guest=<name> port=<p> events=<n> cpu=<cpu> acks=<n> stopped=0|1
 * result=pass|fail";
 * errors as "frontend guest=<name> error=<ERR> what=<call> result=fail".
 */
#include <stdio.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_MS               1000000ull
#define SETUP_TIMEOUT_NS        (10000 * NS_PER_MS)

static volatile uint64_t events;
static volatile bool stopped;

static void on_event(unsigned port, void *arg)
{
	events++;
}

static void on_stop(unsigned port, void *arg)
{
	stopped = true;
}

static bool reached(void *arg)
{
	return events >= *(uint64_t *)arg || stopped;
}

static int fail(const char *me, const char *what, int64_t err)
{
	printf("frontend guest=%s error=%s what=%s result=fail\n", me, guest_strerror(err), what);
	return 1;
}

int main(int argc, char **argv)
{
	const char *me = argv[0], *driver = guest_arg("driver");
	uint64_t rounds = guest_arg_u64("rounds", 10), acks = 0;
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	bool ack = guest_arg("ack_port") != NULL, ok = true;
	unsigned ack_port = (unsigned)guest_arg_u64("ack_port", 0);
	int64_t drv;
	int port, stop, ret;

	if (!driver || !rounds) {
		printf("frontend guest=%s error=usage (driver=<name> [rounds=N] [ack_port=P]) "
		       "result=fail\n", me);
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
	while ((drv = guest_lookup(driver)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	if (drv < 0)
		return fail(me, "guest_lookup", drv);
	ret = evt_offer((unsigned)stop, (uint64_t)drv);
	if (ret >= 0)
		ret = evt_offer((unsigned)port, (uint64_t)drv);
	if (ret < 0)
		return fail(me, "evt_offer", ret);

	uint64_t every = guest_arg_u64("every", 0);

	for (uint64_t i = 1; i <= rounds && ok; i++) {
		ok = evt_wait(reached, &i, 0) && events >= i;
		if (ok && every && i % every == 0)      /* the live view: where its messages come */
			printf("frontend guest=%s events=%llu cpu=%u\n", me, (unsigned long long)i,
			       start_info->cpu);
		if (ok && ack) {
			/* The driver offers our ack port before it binds our message. */
			ret = evt_send((uint64_t)drv, ack_port);
			acks += ret >= 0;
			if (ret < 0)
				ok = !fail(me, "evt_send", ret);
		}
	}
	ok = ok && events == rounds && (!ack || acks == rounds);
	printf("frontend guest=%s port=%d events=%llu cpu=%u acks=%llu stopped=%d result=%s\n",
	       me, port, (unsigned long long)events, start_info->cpu, (unsigned long long)acks,
	       stopped, ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
