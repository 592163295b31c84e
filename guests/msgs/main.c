/*
 * msgs: asks for as many messages of its devices as it is told and binds each to a port of its
 * own, to show what a guest may take of what guests share.
 *
 *   dev=<bdf>[,<bdf>...] n=<N> [move_to=<cpu>] [delay_ms=<ms>] [hops=<M>] [hold_ms=<ms>]
 *
 * delay_ms: first waits that long (yielding), to come after another guest. hops: after binding,
 * moves itself M times between its CPU and the next (its messages follow each time).
 * For each device: allocates N messages (HC_DEV_MSG_ALLOC; at most what the device has) and
 * binds message k to a new port of its own until a bind fails, printing "msgs guest=<name>
 * dev=<bdf> alloc=<ok|ERR> bound=<k> stop=<ERR|->". With move_to it then moves itself to that
 * CPU (its bound messages must follow). With hold_ms it then stays that long, blocked,
 * holding its bindings, before it exits. Last line: "msgs guest=<name> bound=<total>
 * cpu=<its CPU> result=pass" (exit 0), or result=fail (exit 1) without devices or when the
 * move failed.
 */
#include <stdio.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

static uint64_t bind_device(const char *me, const struct courier_dev_info *dev, uint64_t n)
{
	char bdf[DEV_BDF_STR_MAX];
	const char *stop = "-";
	uint64_t bound = 0;

	if (n > dev->msi_max)
		n = dev->msi_max;
	int got = dev_msg_alloc(dev->bdf, (unsigned)n);
	for (int k = 0; got > 0 && k < got; k++) {
		int port = evt_alloc();
		int err = port < 0 ? port : dev_msg_bind(dev->bdf, (unsigned)k, start_info->guest_id,
							 (unsigned)port);
		if (err < 0) {
			stop = guest_strerror(err);
			break;
		}
		bound++;
	}
	printf("msgs guest=%s dev=%s alloc=%s bound=%llu stop=%s\n", me,
	       dev_bdf_str(dev->bdf, bdf), got > 0 ? "ok" : guest_strerror(got),
	       (unsigned long long)bound, stop);
	return bound;
}

int main(int argc, char **argv)
{
	uint64_t n = guest_arg_u64("n", 1), bound = 0, cpu = start_info->cpu;
	bool ok = start_info->ndevs > 0;
	uint64_t until = hc_time() + guest_arg_u64("delay_ms", 0) * 1000000ull;

	while (hc_time() < until)
		hc_yield();

	for (unsigned i = 0; i < start_info->ndevs; i++)
		bound += bind_device(argv[0], &start_info->devs[i], n);
	uint64_t home = start_info->cpu, hops = guest_arg_u64("hops", 0);
	for (uint64_t i = 0; ok && i < hops; i++) {
		cpu = i % 2 ? home : home + 1;
		ok = hc_sched_move(COURIER_SELF, cpu) == 0;
	}
	if (ok && guest_arg("move_to")) {
		cpu = guest_arg_u64("move_to", cpu);
		ok = hc_sched_move(COURIER_SELF, cpu) == 0;
	}
	printf("msgs guest=%s bound=%llu cpu=%llu result=%s\n", argv[0], (unsigned long long)bound,
	       (unsigned long long)cpu, ok ? "pass" : "fail");
	/* hold_ms: keep the bindings that long (the hypervisor may move us meanwhile), blocked. */
	uint64_t until_ns = hc_time() + guest_arg_u64("hold_ms", 0) * 1000000ull;
	while (hc_time() < until_ns)
		hc_block_until(until_ns);
	return ok ? 0 : 1;
}
