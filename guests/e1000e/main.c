/*
 * e1000e: a driver for QEMU's e1000e (8086:10d3, the 82574L) that sends each of its five
 * MSI-X messages to a frontend's CPU: message k to frontend k, straight from the device.
 *
 *   dev=<bdf> frontends=<name>[,<name>...] (1 to 5) [rounds=N] [fport=P] [stop_port=S]
 *   [timeout_ms=T] [mode=bind|grant|boot] [revoke=<k>@<round>] [gone=<k>@<round>]
 *
 * Facts from the 82574 datasheet (sections below) as QEMU 7.2's hw/net/e1000e_core.c models
 * them: the five interrupt causes RxQ0, RxQ1, TxQ0, TxQ1 and Other are ICR bits 20..24; with
 * MSI-X each cause goes to the table entry its IVAR field names (10.2.4.9); writing ICS sets
 * causes as if the hardware had (10.2.4.3), so the driver can raise message k on its own. EIAC
 * clears a cause once its message is sent (with CTRL_EXT.IAME), so the next ICS write raises
 * it again. QEMU sends one message per vector at most every 128 us and holds (then doubles)
 * faster ones, so the driver spaces the raises of one vector (spacing_us=, default 20000:
 * QEMU's timer for those 128 us runs in its main loop, which a loaded host can hold up for
 * milliseconds; a raise that finds it still running is held and, in 7.2, doubled from then on,
 * as QEMU's trace shows: e1000e_irq_postponed_by_xitr, then a second message each time).
 *
 * Steps: map BAR 0, wait for the link to be up (its change raises the Other cause too), IVAR
 * entry k for cause k, EIAC and IAME, clear left-over causes, allocate
 * the five messages (HC_DEV_MSG_ALLOC), give message k to frontend k (bound to its port, or
 * with mode=grant granted to it: guests/lib/frontends.c), and unmask the causes (IMS). Each
 * round raises message k for every frontend and waits until each has acknowledged it. With
 * revoke=k@r, after round r the grant of message k is revoked (mode=grant): frontend k sees its
 * grant go and ends, the others go on, and the driver raises k no more. With gone=k@r, frontend
 * k ends after its r-th event (guests/frontend crash_at=): after round r the driver waits until
 * it has (a send to its stop port finds it ended), then goes on raising all messages, k too,
 * without waiting for k's acknowledgements: the hypervisor took k's route down with its guest,
 * and the others must keep flowing.
 *
 * Lines: per frontend "e1000e guest=<name> frontend=<f> k=<k> id=<id>
 * port=<p>|granted=<k>|granted_at_boot=<k> ack_port=<k>"; per round "e1000e guest=<name> round=<r> raised=<n> acks=<n> result=..."; per
 * message "e1000e guest=<name> msg=<k> frontend=<f> raised=<n> acks=<n> result=pass|fail";
 * last "e1000e guest=<name> dev=<bdf> rounds=<N> frontends=<n> raised=<n> failed=<n>
 * result=pass|fail". Errors: "e1000e guest=<name> dev=<bdf> error=<what> ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/frontends.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include <courier/mmio.h>

#define E1000E_VENDOR           0x8086
#define E1000E_DEVICE           0x10d3  /* 82574L */
#define E1000E_MSGS             5

/* 10.2 registers of BAR 0 */
#define REG_STATUS              0x0008
#define  STATUS_LU              (1u << 1)       /* link up */
#define REG_CTRL_EXT            0x0018
#define  CTRL_EXT_IAME          (1u << 27)      /* interrupt acknowledge auto-mask enable */
#define REG_ICR                 0x00c0          /* read, or write 1s: clears causes */
#define REG_ICS                 0x00c8          /* write 1s: sets causes */
#define REG_IMS                 0x00d0          /* write 1s: enables causes */
#define REG_IMC                 0x00d8          /* write 1s: disables causes */
#define REG_EIAC                0x00dc          /* causes cleared once their message is sent */
#define REG_IVAR                0x00e4          /* 4 bits per cause: valid | entry */
#define REG_ITR                 0x00c4          /* interrupt throttling, 256 ns units */
#define REG_EITR(k)             (0x00e8 + 4 * (k))      /* the same, per MSI-X vector */
#define  IVAR_VALID             0x8u
#define  IVAR_FIELD_BITS        4
#define CAUSE_SHIFT             20              /* RxQ0, RxQ1, TxQ0, TxQ1, Other: 20..24 */
#define CAUSE(k)                (1u << (CAUSE_SHIFT + (k)))
#define CAUSES_ALL              (((1u << E1000E_MSGS) - 1) << CAUSE_SHIFT)

#define NS_PER_US               1000ull
#define NS_PER_MS               1000000ull
#define END_QUIET_NS            (20 * NS_PER_MS)

static struct frontends fs = { .kind = "e1000e" };
static char bdf[DEV_BDF_STR_MAX] = "-";
static volatile uint8_t *regs;
static uint64_t last_raise_ns[E1000E_MSGS], spacing_ns;

static void wr(uint32_t off, uint32_t v)
{
	mmio_write32(regs + off, v);
}

static uint32_t rd(uint32_t off)
{
	return mmio_read32(regs + off);
}

/* The Other cause (message 4) is also raised by the link coming up, which QEMU's model does
 * some 500 ms after reset: wait for it, so that every later message 4 is one we raised. */
static bool link_up(uint64_t timeout_ns)
{
	uint64_t deadline = guest_time_ns() + timeout_ns;
	while (!(rd(REG_STATUS) & STATUS_LU)) {
		if (guest_time_ns() >= deadline)
			return false;
		hc_yield();
	}
	return true;
}

static void setup(void)
{
	uint32_t ivar = 0;

	wr(REG_IMC, ~0u);
	/* As little throttling as there can be: a message held back by it is sent later from a
	 * timer, and QEMU 7.2's model then sends extra ones (seen as acks beyond the raises).
	 * QEMU 7.2 keeps at least 128 us per vector whatever is written here, hence the
	 * spacing of raise_msg. */
	wr(REG_ITR, 0);
	for (unsigned k = 0; k < E1000E_MSGS; k++) {
		wr(REG_EITR(k), 0);
		ivar |= (IVAR_VALID | k) << (IVAR_FIELD_BITS * k);
	}
	wr(REG_IVAR, ivar);
	wr(REG_EIAC, CAUSES_ALL);
	wr(REG_CTRL_EXT, rd(REG_CTRL_EXT) | CTRL_EXT_IAME);
	/* Causes left over from reset would be sent once unmasked. */
	wr(REG_ICR, ~0u);
	(void)rd(REG_ICR);
}

/* Cause k, so message k, spaced from its last raise (QEMU's throttle, above). */
static void raise_msg(unsigned k)
{
	while (guest_time_ns() - last_raise_ns[k] < spacing_ns)
		hc_block_until(last_raise_ns[k] + spacing_ns);
	wr(REG_ICS, CAUSE(k));
	last_raise_ns[k] = guest_time_ns();
}

/* key=k@r: after round r, something happens to message k; r 0 when absent or malformed. */
static uint64_t parse_at(const char *key, unsigned *k)
{
	const char *v = guest_arg(key);
	const char *at = v ? strchr(v, '@') : NULL;
	if (!at || at == v)
		return 0;
	*k = (unsigned)strtoul(v, NULL, 10);
	return strtoull(at + 1, NULL, 10);
}

/* Until f has ended: a send to its stop port finds it gone (ENOENT). */
static bool wait_gone(struct frontend *f, unsigned stop_port, uint64_t timeout_ns)
{
	uint64_t deadline = guest_time_ns() + timeout_ns;
	while (hc_evt_send((uint64_t)f->id, stop_port) != -COURIER_ENOENT) {
		if (guest_time_ns() >= deadline)
			return false;
		hc_yield();
	}
	f->gone = true;
	printf("e1000e guest=%s frontend=%s gone=1\n", fs.me, f->name);
	return true;
}

int main(int argc, char **argv)
{
	static char list[256];
	const char *fl = guest_arg("frontends");
	uint64_t rounds = guest_arg_u64("rounds", 10), raised_total = 0, failed = 0;
	uint64_t timeout_ns = guest_arg_u64("timeout_ms", 5000) * NS_PER_MS;
	uint64_t raised[E1000E_MSGS] = { 0 };
	unsigned revoke_k = 0;
	uint64_t revoke_after = parse_at("revoke", &revoke_k);
	unsigned gone_k = 0;
	uint64_t gone_after = parse_at("gone", &gone_k);
	const struct courier_dev_info *dev;

	fs.me = argv[0];
	fs.bdf = bdf;
	fs.fport = (unsigned)guest_arg_u64("fport", 0);
	fs.stop_port = (unsigned)guest_arg_u64("stop_port", fs.fport + 1);
	bool mode_ok = frontends_mode(&fs, guest_arg("mode"));
	spacing_ns = guest_arg_u64("spacing_us", 20000) * NS_PER_US;
	if (fl)
		snprintf(list, sizeof(list), "%s", fl);
	unsigned n = frontends_parse(&fs, list);
	if (!mode_ok || !n || n > E1000E_MSGS || !rounds ||
	    (revoke_after && (fs.mode == FRONTENDS_BIND || revoke_k >= n)) ||
	    (gone_after && gone_k >= n))
		return frontends_fail(&fs, "usage", n);
	dev = dev_find(E1000E_VENDOR, E1000E_DEVICE, 0);
	if (!dev || !(regs = dev_bar(dev, 0))) {
		frontends_fail(&fs, "no_e1000e", 0);
		return frontends_stop(&fs);
	}
	dev_bdf_str(dev->bdf, bdf);
	fs.dbdf = dev->bdf;
	if (!link_up(timeout_ns)) {
		frontends_fail(&fs, "link_down", rd(REG_STATUS));
		return frontends_stop(&fs);
	}
	setup();
	int got = dev_msg_alloc(dev->bdf, E1000E_MSGS);
	printf("e1000e guest=%s dev=%s msg_alloc=%d\n", fs.me, bdf, got);
	if (got < (int)n) {
		frontends_fail(&fs, "dev_msg_alloc", got);
		return frontends_stop(&fs);
	}
	if (frontends_connect(&fs))
		return frontends_stop(&fs);
	wr(REG_IMS, CAUSES_ALL);

	for (uint64_t r = 1; r <= rounds && !failed; r++) {
		unsigned sent = 0;
		uint64_t acks = 0;
		for (unsigned k = 0; k < n; k++) {
			if (fs.fe[k].revoked)
				continue;
			raise_msg(k);
			raised[k]++;
			sent++;
		}
		raised_total += sent;
		bool acked = frontends_acked(&fs, r, timeout_ns);
		/* Every message of the round was taken: acknowledge the causes, as a driver's
		 * handler would. A cause whose message was held (its entry masked by its
		 * frontend) stays set after its held message went, and would be sent again
		 * with the next ICS write. */
		wr(REG_ICR, CAUSES_ALL);
		for (unsigned k = 0; k < n; k++)
			acks += fs.fe[k].acks - fs.base;
		failed += !acked;
		printf("e1000e guest=%s round=%llu raised=%u acks=%llu result=%s\n", fs.me,
		       (unsigned long long)r, sent, (unsigned long long)acks, acked ? "pass" : "fail");
		if (r == revoke_after && frontends_revoke(&fs, revoke_k) < 0)
			failed++;
		if (r == gone_after && !wait_gone(&fs.fe[gone_k], fs.stop_port, timeout_ns))
			failed += !frontends_fail(&fs, "frontend_not_gone", gone_k);
	}
	/* QEMU 7.2 arms a throttling timer per vector with each message and asserts, when it
	 * fires, that MSI-X is still on; the hypervisor turns it off when we end. So end only
	 * once every timer the last accesses may have armed is over. */
	wr(REG_IMC, ~0u);
	uint64_t quiet = guest_time_ns() + END_QUIET_NS;
	while (guest_time_ns() < quiet)
		hc_block_until(quiet);
	for (unsigned k = 0; k < n; k++) {
		uint64_t acks = fs.fe[k].acks - fs.base;
		bool ok = fs.fe[k].gone ? acks == gone_after :
			  acks == raised[k] && raised[k] == (fs.fe[k].revoked ? revoke_after : rounds);
		failed += !ok;
		printf("e1000e guest=%s msg=%u frontend=%s raised=%llu acks=%llu result=%s\n",
		       fs.me, k, fs.fe[k].name, (unsigned long long)raised[k],
		       (unsigned long long)acks, ok ? "pass" : "fail");
	}
	printf("e1000e guest=%s dev=%s rounds=%llu frontends=%u raised=%llu failed=%llu "
	       "result=%s\n", fs.me, bdf, (unsigned long long)rounds, n,
	       (unsigned long long)raised_total, (unsigned long long)failed,
	       failed ? "fail" : "pass");
	return failed ? frontends_stop(&fs) : 0;
}
