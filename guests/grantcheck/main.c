/*
 * grantcheck: every rule of message grants (docs/abi.md, "Granting messages") asked of the
 * hypervisor by two guests, each call's result compared with what the ABI says.
 *
 *   role=owner peer=<name>          owns a function with at least two messages (dev=)
 *   role=peer owner=<name>
 *
 * The two take turns through one port each (the owner's port 0, offered to the peer; the
 * peer's port 0, offered to the owner): a step's "go" is an event on the other's port.
 *   owner 1: allocates 2 messages; granting message 9999 (ERANGE), to itself (EINVAL), to no
 *            guest (ENOENT), revoking an ungranted one (ENOENT) fail; message 0 is granted
 *            to the peer, then again (EBUSY); the owner's own bind (EBUSY), unbind and mask
 *            (EPERM) of it fail; go.
 *   peer 1:  its grant list holds (bdf, 0, owner, port -1); binding message 1 (ENOENT: not
 *            granted), message 0 to the owner's port (EPERM) fail; bound to its own port,
 *            then again (EBUSY); the list shows the port; mask 2 (EINVAL), mask 1 and 0,
 *            unbind, unbind again (ENOENT), bind again; a list into memory not its own
 *            (EFAULT) and of 65 entries (ERANGE) fail; go.
 *   owner 2: revokes message 0, then again (ENOENT); go.
 *   peer 2:  its grant port fired; its list is empty and unbinding message 0 is ENOENT; go.
 * Each call: "grantcheck guest=<name> step=<what> got=<result> want=<result> result=..."; last
 * "grantcheck guest=<name> checks=<n> failed=<n> result=pass|fail".
 */
#include <stdio.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_MS       1000000ull
#define WAIT_NS         (10000 * NS_PER_MS)
#define NO_GUEST        1000u

static const char *me;
static unsigned checks, failed;
static volatile uint64_t goes, grant_events;
static int64_t other;

static void expect(const char *what, int64_t got, int64_t want)
{
	checks++;
	failed += got != want;
	printf("grantcheck guest=%s step=%s got=%s want=%s result=%s\n", me, what,
	       got < 0 ? guest_strerror(got) : got == 0 ? "0" : "value",
	       want < 0 ? guest_strerror(want) : want == 0 ? "0" : "value",
	       got == want ? "pass" : "fail");
}

static void on_go(unsigned port, void *arg) { goes++; }
static void on_grant(unsigned port, void *arg) { grant_events++; }

static bool reached(void *arg)
{
	return goes >= *(uint64_t *)arg;
}

/* Our port 0 for the other's "go", offered to it; the other found by name. */
static bool pair(const char *name)
{
	uint64_t deadline = guest_time_ns() + WAIT_NS;
	int port = evt_alloc();
	if (port != 0)
		return false;
	evt_bind_handler(0, on_go, NULL);
	while ((other = guest_lookup(name)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	return other >= 0 && evt_offer(0, (uint64_t)other) >= 0;
}

/* Tell the other to go on (its port 0, once it has offered it), then wait for its go n. */
static bool turn(uint64_t n)
{
	uint64_t deadline = guest_time_ns() + WAIT_NS;
	int ret;
	while ((ret = evt_send((uint64_t)other, 0)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	return ret >= 0 && (!n || evt_wait(reached, &n, WAIT_NS));
}

static bool wait_go(uint64_t n)
{
	return evt_wait(reached, &n, WAIT_NS);
}

static int owner(void)
{
	const struct courier_dev_info *d = start_info->ndevs ? &start_info->devs[0] : NULL;
	if (!d || d->msi_max < 2 || !pair(guest_arg("peer") ? guest_arg("peer") : "-"))
		return printf("grantcheck guest=%s error=setup result=fail\n", me), 1;
	uint32_t bdf = d->bdf;
	expect("alloc", dev_msg_alloc(bdf, 2) >= 2 ? 0 : -1, 0);
	expect("grant_out_of_range", dev_msg_grant(bdf, 9999, (uint64_t)other), -COURIER_ERANGE);
	expect("grant_to_self", dev_msg_grant(bdf, 0, start_info->guest_id), -COURIER_EINVAL);
	expect("grant_to_nobody", dev_msg_grant(bdf, 0, NO_GUEST), -COURIER_ENOENT);
	expect("revoke_ungranted", dev_msg_revoke(bdf, 1), -COURIER_ENOENT);
	expect("grant", dev_msg_grant(bdf, 0, (uint64_t)other), 0);
	expect("grant_again", dev_msg_grant(bdf, 0, (uint64_t)other), -COURIER_EBUSY);
	expect("owner_bind_granted", dev_msg_bind(bdf, 0, COURIER_SELF, 0), -COURIER_EBUSY);
	expect("owner_unbind_granted", dev_msg_unbind(bdf, 0), -COURIER_EPERM);
	expect("owner_mask_granted", dev_msg_mask(bdf, 0, 1), -COURIER_EPERM);
	if (!turn(1))
		return printf("grantcheck guest=%s error=peer_step_1 result=fail\n", me), 1;
	expect("revoke", dev_msg_revoke(bdf, 0), 0);
	expect("revoke_again", dev_msg_revoke(bdf, 0), -COURIER_ENOENT);
	if (!turn(2))
		return printf("grantcheck guest=%s error=peer_step_2 result=fail\n", me), 1;
	return 0;
}

static int peer(void)
{
	struct courier_grant g[COURIER_GRANTS_MAX];
	int gport, port, n;

	if (!pair(guest_arg("owner") ? guest_arg("owner") : "-") || (gport = evt_alloc()) < 0 ||
	    (port = evt_alloc()) < 0)
		return printf("grantcheck guest=%s error=setup result=fail\n", me), 1;
	evt_bind_handler((unsigned)gport, on_grant, NULL);
	expect("grant_port", dev_grant_port((unsigned)gport), 0);
	if (!wait_go(1))
		return printf("grantcheck guest=%s error=owner_step_1 result=fail\n", me), 1;
	n = dev_grants(g, COURIER_GRANTS_MAX);
	expect("list_one", n == 1 && g[0].msg == 0 && g[0].owner == (uint64_t)other &&
	       g[0].port == -1 ? 0 : -1, 0);
	uint32_t bdf = g[0].bdf;
	expect("bind_ungranted", dev_msg_bind(bdf, 1, COURIER_SELF, (unsigned)port),
	       -COURIER_ENOENT);
	expect("bind_to_owner_port", dev_msg_bind(bdf, 0, (uint64_t)other, 0), -COURIER_EPERM);
	expect("bind", dev_msg_bind(bdf, 0, COURIER_SELF, (unsigned)port), 0);
	expect("bind_again", dev_msg_bind(bdf, 0, COURIER_SELF, (unsigned)port), -COURIER_EBUSY);
	n = dev_grants(g, COURIER_GRANTS_MAX);
	expect("list_bound", n == 1 && g[0].port == port ? 0 : -1, 0);
	expect("mask_bad_value", dev_msg_mask(bdf, 0, 2), -COURIER_EINVAL);
	expect("mask", dev_msg_mask(bdf, 0, 1), 0);
	expect("unmask", dev_msg_mask(bdf, 0, 0), 0);
	expect("unbind", dev_msg_unbind(bdf, 0), 0);
	expect("unbind_again", dev_msg_unbind(bdf, 0), -COURIER_ENOENT);
	expect("bind_after_unbind", dev_msg_bind(bdf, 0, COURIER_SELF, (unsigned)port), 0);
	expect("list_bad_pointer", dev_grants((struct courier_grant *)HV_DIRECT_MAP, 1),
	       -COURIER_EFAULT);
	expect("list_too_many", dev_grants(g, COURIER_GRANTS_MAX + 1), -COURIER_ERANGE);
	uint64_t before = grant_events;
	if (!turn(2))
		return printf("grantcheck guest=%s error=owner_step_2 result=fail\n", me), 1;
	expect("told_of_revoke", grant_events > before ? 0 : -1, 0);
	expect("list_empty", dev_grants(g, COURIER_GRANTS_MAX), 0);
	expect("unbind_revoked", dev_msg_unbind(bdf, 0), -COURIER_ENOENT);
	turn(0);
	return 0;
}

int main(int argc, char **argv)
{
	me = argv[0];
	int err = guest_arg_is("role", "owner") ? owner() : guest_arg_is("role", "peer") ? peer() :
		  (printf("grantcheck guest=%s error=usage result=fail\n", me), 1);
	printf("grantcheck guest=%s checks=%u failed=%u result=%s\n", me, checks, failed,
	       !err && !failed ? "pass" : "fail");
	return err || failed;
}
