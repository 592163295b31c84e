/*
 * xhci: a driver for QEMU's nec-usb-xhci (1033:0194, msix=off: one 16-message MSI block) that
 * sends message k of the block to frontend k's CPU, with a usb-kbd as the device that makes
 * the controller talk.
 *
 *   dev=<bdf> frontends=<name>[,<name>...] [rounds=N] [fport=P] [stop_port=S] [timeout_ms=T]
 *   [mode=bind|grant|boot]
 *
 * Facts from the xHCI specification (rev 1.2, section numbers below) and QEMU 7.2's
 * hw/usb/hcd-xhci.c (what the model insists on: one event ring segment per interrupter,
 * 16..4096 TRBs; Address Device with add flags exactly A0|A1; 32-byte contexts).
 *
 * Steps: reset the controller, DCBAA (and scratchpad buffers if asked), the command ring, and
 * every interrupter (up to 16) with its own event ring; run; reset the port the keyboard is
 * on; Enable Slot and Address Device. All of that with USBCMD.INTE off: the driver polls the
 * event rings, so interrupter 0's command completions and port changes raise no message.
 * Then it allocates the MSI block (HC_DEV_MSG_ALLOC, 16) and, for frontend k (its k-th name),
 * looks it up (retrying while it does not exist yet), offers it ack port k and binds message k
 * to the frontend's port fport (retrying until the frontend has offered it) — or, with mode=grant,
 * grants message k to frontend k, which binds it itself and acknowledges once; mode=boot: the
 * hypervisor granted it at boot (grant=) and the driver only waits for that ack
 * (guests/lib/frontends.c) — and turns
 * interrupts on (IMAN.IE everywhere, USBCMD.INTE).
 *
 * Interrupter 0 is frontend 0's too: after setup nothing but transfers targets it (a late
 * port change would, and is counted as other= on interrupter 0).
 *
 * Each round, for each k: GET_DESCRIPTOR(device) on the keyboard's endpoint 0 (Setup, Data,
 * Status TRB; every TRB's Interrupter Target = k, IOC on the Status TRB). The driver polls
 * event ring k for the Transfer Event (completion code Success, our slot, pointing at the
 * Status TRB, 18 bytes of device descriptor), then writes ERDP = dequeue | EHB, so
 * interrupter k raises its message again next time. After the round it waits until every
 * frontend has acknowledged it (frontend k sends to our port k once per event it handled), so
 * two events for one frontend never collapse into one pending bit.
 *
 * When anything fails, the driver sends to each frontend's stop port S (default P + 1, the
 * second port a frontend allocates), so the frontends end instead of blocking forever.
 *
 * Lines: "xhci guest=<name> frontend=<f> k=<k> id=<id> port=<p>|granted=<k>|granted_at_boot=<k>
 * ack_port=<k>" per frontend;
 * "xhci guest=<name> round=<r> events=<n> acks=<n> result=pass|fail" per round; per
 * interrupter "xhci guest=<name> intr=<k> frontend=<f> events=<n> bad=<n> other=<n>
 * acks=<n> result=pass|fail"; last "xhci guest=<name> dev=<bdf> rounds=<N> frontends=<n>
 * events=<n> failed=<n> result=pass|fail". Errors: "xhci guest=<name> error=<what> ...".
 */
#include <stdio.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/frontends.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include <courier/mmio.h>

#define XHCI_VENDOR             0x1033  /* NEC */
#define XHCI_DEVICE             0x0194  /* uPD720200 */

/* 5.3 Capability registers */
#define CAP_CAPLENGTH           0x00    /* 8 bits */
#define CAP_HCSPARAMS1          0x04
#define  HCS1_MAX_SLOTS(v)      ((v) & 0xff)
#define  HCS1_MAX_INTRS(v)      (((v) >> 8) & 0x7ff)
#define  HCS1_MAX_PORTS(v)      (((v) >> 24) & 0xff)
#define CAP_HCSPARAMS2          0x08
#define  HCS2_SPB_HI(v)         (((v) >> 21) & 0x1f)
#define  HCS2_SPB_LO(v)         (((v) >> 27) & 0x1f)
#define CAP_HCCPARAMS1          0x10
#define  HCC1_CSZ               (1u << 2)       /* 64-byte contexts */
#define CAP_DBOFF               0x14
#define CAP_RTSOFF              0x18

/* 5.4 Operational registers (at CAPLENGTH) */
#define OP_USBCMD               0x00
#define  USBCMD_RS              (1u << 0)
#define  USBCMD_HCRST           (1u << 1)
#define  USBCMD_INTE            (1u << 2)
#define OP_USBSTS               0x04
#define  USBSTS_HCH             (1u << 0)
#define  USBSTS_HSE             (1u << 2)
#define  USBSTS_CNR             (1u << 11)
#define  USBSTS_HCE             (1u << 12)
#define OP_CRCR                 0x18    /* 64 bits */
#define  CRCR_RCS               (1u << 0)
#define OP_DCBAAP               0x30    /* 64 bits */
#define OP_CONFIG               0x38
#define OP_PORTSC(n)            (0x400 + 0x10 * ((n) - 1))      /* 5.4.8, ports from 1 */
#define  PORTSC_CCS             (1u << 0)
#define  PORTSC_PED             (1u << 1)       /* RW1C: writing 1 disables the port */
#define  PORTSC_PR              (1u << 4)
#define  PORTSC_PP              (1u << 9)
#define  PORTSC_SPEED(v)        (((v) >> 10) & 0xf)
#define  PORTSC_CHANGES         (0x7fu << 17)   /* CSC PEC WRC OCC PRC PLC CEC, RW1C */
#define  PORTSC_PRC             (1u << 21)

/* 5.5 Runtime registers (at RTSOFF): interrupter register set i at 0x20 + 32 i */
#define RT_IR(i)                (0x20 + 0x20 * (i))
#define IR_IMAN                 0x00
#define  IMAN_IP                (1u << 0)       /* RW1C */
#define  IMAN_IE                (1u << 1)
#define IR_IMOD                 0x04
#define IR_ERSTSZ               0x08
#define IR_ERSTBA               0x10    /* 64 bits; writing the high half arms the ring */
#define IR_ERDP                 0x18    /* 64 bits */
#define  ERDP_EHB               (1u << 3)       /* RW1C: event handler busy */

/* 5.6 Doorbells (at DBOFF): 0 is the command ring; a slot's doorbell takes the DCI */
#define DB(slot)                (4 * (slot))
#define DCI_EP0                 1

/* 6.4 TRBs: parameter (64), status (32), control (32) */
struct trb {
	uint64_t param;
	uint32_t status;
	uint32_t control;
};
#define TRB_CYCLE               (1u << 0)
#define TRB_LINK_TC             (1u << 1)       /* 6.4.4.1 Link: toggle cycle */
#define TRB_IOC                 (1u << 5)
#define TRB_IDT                 (1u << 6)
#define TRB_TYPE(t)             ((uint32_t)(t) << 10)
#define TRB_TYPE_OF(c)          (((c) >> 10) & 0x3f)
#define TRB_SLOT(s)             ((uint32_t)(s) << 24)
#define TRB_SLOT_OF(c)          ((c) >> 24)
#define TRB_EP_OF(c)            (((c) >> 16) & 0x1f)
#define TRB_DIR_IN              (1u << 16)      /* 6.4.1.2.2 Data, 6.4.1.2.3 Status */
#define TRB_TRT_IN              (3u << 16)      /* 6.4.1.2.1 Setup: IN data stage */
#define TRB_INTR_TARGET(k)      ((uint32_t)(k) << 22)
#define TRB_CC_OF(s)            ((s) >> 24)
/* 6.4.6 TRB types */
#define TRB_SETUP               2
#define TRB_DATA                3
#define TRB_STATUS              4
#define TRB_LINK                6
#define TRB_ENABLE_SLOT         9
#define TRB_ADDRESS_DEVICE      11
#define TRB_EV_TRANSFER         32
#define TRB_EV_COMMAND          33
#define TRB_EV_PORT             34
/* 6.4.5 completion codes */
#define CC_SUCCESS              1

/* 6.5 Event ring segment table entry */
struct erst_entry {
	uint64_t base;
	uint32_t size;          /* TRBs */
	uint32_t rsvd;
};

/* 6.2 contexts, dword indexes (6.2.2 slot, 6.2.3 endpoint, 6.2.5.1 input control) */
#define ICC_ADD                 1
#define SLOT_DW0(speed)         ((uint32_t)(speed) << 20 | 1u << 27)    /* entries = 1 */
#define SLOT_DW1(port)          ((uint32_t)(port) << 16)
#define EP_DW1_CONTROL(mps)     (3u << 1 | 4u << 3 | (uint32_t)(mps) << 16)  /* CErr, type */
#define EP_AVG_TRB_LEN          8

/* USB 2.0 9.4.3 GET_DESCRIPTOR(DEVICE), 18 bytes */
#define USB_DESC_DEVICE_LEN     18
#define SETUP_GET_DEVICE_DESC   (0x80ull | 6ull << 8 | 0x0100ull << 16 | \
				 (uint64_t)USB_DESC_DEVICE_LEN << 48)
#define USB_DT_DEVICE           1
/* 7.2.2.1.1 PORTSC speeds */
#define SPEED_FULL              1
#define SPEED_LOW               2
#define SPEED_HIGH              3

#define MAX_INTRS               16
#define EVT_TRBS                64
#define CMD_TRBS                16
#define XFER_TRBS               256
#define MAX_SCRATCH             8
#define PAGE_SIZE               4096
#define NS_PER_MS               1000000ull

static const char *me;
static char bdf[DEV_BDF_STR_MAX];
static void *bar;
static volatile uint8_t *op, *rt, *db;
static uint64_t timeout_ns;
static unsigned nintrs, ctx_size;

/* Everything the controller reads or writes: in our RAM, so IOVA = address. */
static uint64_t dcbaa[256] __attribute__((aligned(PAGE_SIZE)));
static uint64_t scratch_array[MAX_SCRATCH] __attribute__((aligned(64)));
static uint8_t scratch_pages[MAX_SCRATCH][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct trb cmd_ring[CMD_TRBS] __attribute__((aligned(64)));
static struct trb xfer_ring[XFER_TRBS] __attribute__((aligned(64)));
static struct trb evt_ring[MAX_INTRS][EVT_TRBS] __attribute__((aligned(64)));
static struct erst_entry erst[MAX_INTRS][4] __attribute__((aligned(64)));   /* 64 B apart */
static uint8_t in_ctx[33 * 64] __attribute__((aligned(64)));
static uint8_t dev_ctx[32 * 64] __attribute__((aligned(64)));
static uint8_t desc_buf[64] __attribute__((aligned(64)));

/* A producer ring (command or transfer) with a Link TRB at its end. */
struct ring {
	struct trb *trbs;
	unsigned n, idx;
	uint32_t cycle;
};
static struct ring cmd = { cmd_ring, CMD_TRBS, 0, 1 };
static struct ring xfer = { xfer_ring, XFER_TRBS, 0, 1 };

/* The consumer side of event ring i. */
static struct { unsigned idx; uint32_t cycle; } evq[MAX_INTRS];

static struct frontends fs = { .kind = "xhci", .bdf = bdf };
static struct frontend *const fe = fs.fe;

static uint32_t rd(volatile uint8_t *base, uint32_t off)
{
	return mmio_read32(base + off);
}

static void wr(volatile uint8_t *base, uint32_t off, uint32_t v)
{
	mmio_write32(base + off, v);
}

/* 64-bit registers as two 32-bit writes, low half first (5.1: and what QEMU expects). */
static void wr64(volatile uint8_t *base, uint32_t off, uint64_t v)
{
	wr(base, off, (uint32_t)v);
	wr(base, off + 4, (uint32_t)(v >> 32));
}

static bool wait_reg(volatile uint8_t *base, uint32_t off, uint32_t mask, uint32_t want)
{
	uint64_t deadline = guest_time_ns() + timeout_ns;

	while ((rd(base, off) & mask) != want) {
		if (guest_time_ns() >= deadline)
			return false;
		hc_yield();
	}
	return true;
}

static int fail(const char *what, int64_t detail)
{
	return frontends_fail(&fs, what, detail);
}

/* Queue one TRB (4.9.2), following the Link TRB at the end of the ring. */
static struct trb *ring_put(struct ring *r, uint64_t param, uint32_t status, uint32_t control)
{
	struct trb *t = &r->trbs[r->idx];

	t->param = param;
	t->status = status;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	t->control = control | r->cycle;
	if (++r->idx == r->n - 1) {
		struct trb *link = &r->trbs[r->n - 1];
		link->param = (uint64_t)r->trbs;
		link->status = 0;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		link->control = TRB_TYPE(TRB_LINK) | TRB_LINK_TC | r->cycle;
		r->idx = 0;
		r->cycle ^= 1;
	}
	return t;
}

/* The next event on ring i, or false when there is none yet (4.9.4). */
static bool evt_next(unsigned i, struct trb *out)
{
	volatile struct trb *t = &evt_ring[i][evq[i].idx];

	if ((t->control & TRB_CYCLE) != evq[i].cycle)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	out->param = t->param;
	out->status = t->status;
	out->control = t->control;
	if (++evq[i].idx == EVT_TRBS) {
		evq[i].idx = 0;
		evq[i].cycle ^= 1;
	}
	return true;
}

/* Tell interrupter i how far we consumed and clear EHB (5.5.2.3.3). */
static void evt_done(unsigned i)
{
	uint64_t deq = (uint64_t)&evt_ring[i][evq[i].idx];

	wr(rt, RT_IR(i) + IR_ERDP + 4, (uint32_t)(deq >> 32));
	wr(rt, RT_IR(i) + IR_ERDP, (uint32_t)deq | ERDP_EHB);
}

/* Poll ring i for an event of type want; others are counted in *other. */
static bool evt_poll(unsigned i, unsigned want, struct trb *out, uint64_t *other)
{
	uint64_t deadline = guest_time_ns() + timeout_ns;

	for (;;) {
		while (evt_next(i, out)) {
			if (TRB_TYPE_OF(out->control) == want) {
				evt_done(i);
				return true;
			}
			(*other)++;
		}
		evt_done(i);
		if (guest_time_ns() >= deadline)
			return false;
		hc_yield();
	}
}

/* Run one command (4.6), its completion on interrupter 0: the completion code, or -1. */
static int command(uint64_t param, uint32_t control, uint32_t *slot)
{
	struct trb *t = ring_put(&cmd, param, 0, control), ev;
	uint64_t other = 0;

	wr(db, DB(0), 0);
	do {
		if (!evt_poll(0, TRB_EV_COMMAND, &ev, &other))
			return -1;
	} while (ev.param != (uint64_t)t);
	if (slot)
		*slot = TRB_SLOT_OF(ev.control);
	return (int)TRB_CC_OF(ev.status);
}

static int reset_and_start(void)
{
	uint32_t hcs1 = rd(bar, CAP_HCSPARAMS1), hcs2 = rd(bar, CAP_HCSPARAMS2);
	unsigned spb = HCS2_SPB_HI(hcs2) << 5 | HCS2_SPB_LO(hcs2);

	op = (uint8_t *)bar + mmio_read8(bar);
	rt = (uint8_t *)bar + (rd(bar, CAP_RTSOFF) & ~0x1fu);
	db = (uint8_t *)bar + (rd(bar, CAP_DBOFF) & ~0x3u);
	ctx_size = rd(bar, CAP_HCCPARAMS1) & HCC1_CSZ ? 64 : 32;
	nintrs = HCS1_MAX_INTRS(hcs1) < MAX_INTRS ? HCS1_MAX_INTRS(hcs1) : MAX_INTRS;
	printf("xhci guest=%s dev=%s slots=%u intrs=%u ports=%u scratchpads=%u ctx=%u\n", me,
	       bdf, HCS1_MAX_SLOTS(hcs1), HCS1_MAX_INTRS(hcs1), HCS1_MAX_PORTS(hcs1), spb,
	       ctx_size);
	if (nintrs < fs.n)
		return fail("too_few_interrupters", nintrs);
	if (spb > MAX_SCRATCH)
		return fail("too_many_scratchpads", spb);

	/* 4.2: halt, reset, wait until ready. */
	wr(op, OP_USBCMD, 0);
	if (!wait_reg(op, OP_USBSTS, USBSTS_HCH, USBSTS_HCH))
		return fail("halt_timeout", rd(op, OP_USBSTS));
	wr(op, OP_USBCMD, USBCMD_HCRST);
	if (!wait_reg(op, OP_USBCMD, USBCMD_HCRST, 0) || !wait_reg(op, OP_USBSTS, USBSTS_CNR, 0))
		return fail("reset_timeout", rd(op, OP_USBSTS));

	wr(op, OP_CONFIG, HCS1_MAX_SLOTS(hcs1));
	for (unsigned i = 0; i < spb; i++)
		scratch_array[i] = (uint64_t)scratch_pages[i];
	dcbaa[0] = spb ? (uint64_t)scratch_array : 0;   /* 6.1 */
	wr64(op, OP_DCBAAP, (uint64_t)dcbaa);
	wr64(op, OP_CRCR, (uint64_t)cmd_ring | CRCR_RCS);

	/* 4.9.4 / 5.5.2: each interrupter its own one-segment event ring, messages off. */
	for (unsigned i = 0; i < nintrs; i++) {
		erst[i][0] = (struct erst_entry){ (uint64_t)evt_ring[i], EVT_TRBS, 0 };
		evq[i].idx = 0;
		evq[i].cycle = 1;
		wr(rt, RT_IR(i) + IR_IMAN, IMAN_IP);
		wr(rt, RT_IR(i) + IR_IMOD, 0);
		wr(rt, RT_IR(i) + IR_ERSTSZ, 1);
		wr64(rt, RT_IR(i) + IR_ERDP, (uint64_t)evt_ring[i]);
		wr64(rt, RT_IR(i) + IR_ERSTBA, (uint64_t)erst[i]);
	}
	wr(op, OP_USBCMD, USBCMD_RS);
	if (!wait_reg(op, OP_USBSTS, USBSTS_HCH, 0))
		return fail("run_timeout", rd(op, OP_USBSTS));
	return 0;
}

/* 4.3: the first port with a device, reset; its number and speed. */
static int reset_port(unsigned *port, unsigned *speed)
{
	unsigned nports = HCS1_MAX_PORTS(rd(bar, CAP_HCSPARAMS1));
	uint32_t sc;

	for (*port = 1; *port <= nports; (*port)++)
		if (rd(op, OP_PORTSC(*port)) & PORTSC_CCS)
			break;
	if (*port > nports)
		return fail("no_device", nports);
	wr(op, OP_PORTSC(*port), PORTSC_PP | PORTSC_PR);
	if (!wait_reg(op, OP_PORTSC(*port), PORTSC_PRC, PORTSC_PRC))
		return fail("port_reset_timeout", rd(op, OP_PORTSC(*port)));
	sc = rd(op, OP_PORTSC(*port));
	wr(op, OP_PORTSC(*port), PORTSC_PP | (sc & PORTSC_CHANGES));
	if (!(sc & PORTSC_PED))
		return fail("port_not_enabled", sc);
	*speed = PORTSC_SPEED(sc);
	return 0;
}

/* 4.3.2, 4.3.3: Enable Slot, then Address Device with slot and endpoint 0 contexts. */
static int address_device(unsigned port, unsigned speed, uint32_t *slot)
{
	uint32_t *icc = (uint32_t *)in_ctx, *sctx = (uint32_t *)(in_ctx + ctx_size);
	uint32_t *ep0 = (uint32_t *)(in_ctx + 2 * ctx_size);
	unsigned mps = speed == SPEED_HIGH ? 64 : speed == SPEED_LOW || speed == SPEED_FULL ? 8
									    : 512;
	int cc = command(0, TRB_TYPE(TRB_ENABLE_SLOT), slot);

	if (cc != CC_SUCCESS || !*slot || *slot > 255)
		return fail("enable_slot", cc);
	memset(in_ctx, 0, sizeof(in_ctx));
	memset(dev_ctx, 0, sizeof(dev_ctx));
	icc[ICC_ADD] = 0x3;                     /* A0 (slot) | A1 (endpoint 0) */
	sctx[0] = SLOT_DW0(speed);
	sctx[1] = SLOT_DW1(port);
	ep0[1] = EP_DW1_CONTROL(mps);
	ep0[2] = (uint32_t)(uint64_t)xfer_ring | xfer.cycle;   /* TR dequeue | DCS */
	ep0[3] = (uint32_t)((uint64_t)xfer_ring >> 32);
	ep0[4] = EP_AVG_TRB_LEN;
	dcbaa[*slot] = (uint64_t)dev_ctx;
	cc = command((uint64_t)in_ctx, TRB_TYPE(TRB_ADDRESS_DEVICE) | TRB_SLOT(*slot), NULL);
	if (cc != CC_SUCCESS)
		return fail("address_device", cc);
	return 0;
}

/* One GET_DESCRIPTOR on endpoint 0, every TRB aimed at interrupter k (4.11.2.2). */
static bool transfer(uint32_t slot, unsigned k)
{
	struct trb *st, ev;
	uint32_t it = TRB_INTR_TARGET(k);

	memset(desc_buf, 0, sizeof(desc_buf));
	ring_put(&xfer, SETUP_GET_DEVICE_DESC, 8 | it,
		 TRB_TYPE(TRB_SETUP) | TRB_IDT | TRB_TRT_IN);
	ring_put(&xfer, (uint64_t)desc_buf, USB_DESC_DEVICE_LEN | it,
		 TRB_TYPE(TRB_DATA) | TRB_DIR_IN);
	st = ring_put(&xfer, 0, it, TRB_TYPE(TRB_STATUS) | TRB_IOC);
	wr(db, DB(slot), DCI_EP0);
	if (!evt_poll(k, TRB_EV_TRANSFER, &ev, &fe[k].other))
		return false;
	fe[k].events++;
	return TRB_CC_OF(ev.status) == CC_SUCCESS && ev.param == (uint64_t)st &&
	       TRB_SLOT_OF(ev.control) == slot && TRB_EP_OF(ev.control) == DCI_EP0 &&
	       desc_buf[0] == USB_DESC_DEVICE_LEN && desc_buf[1] == USB_DT_DEVICE;
}

int main(int argc, char **argv)
{
	static char list[256];
	const char *dev_arg = guest_arg("dev"), *fl = guest_arg("frontends");
	uint64_t rounds = guest_arg_u64("rounds", 10), total = 0, failed = 0, start;
	unsigned fport = (unsigned)guest_arg_u64("fport", 0), port = 0, speed = 0;
	const struct courier_dev_info *dev;
	uint32_t slot;
	unsigned nfe;

	me = fs.me = argv[0];
	fs.fport = fport;
	fs.stop_port = (unsigned)guest_arg_u64("stop_port", fport + 1);
	if (!frontends_mode(&fs, guest_arg("mode")))
		return fail("usage_mode", 0);
	timeout_ns = guest_arg_u64("timeout_ms", 5000) * NS_PER_MS;
	snprintf(bdf, sizeof(bdf), "%s", dev_arg ? dev_arg : "-");
	if (fl)
		snprintf(list, sizeof(list), "%s", fl);
	nfe = frontends_parse(&fs, list);
	dev = dev_find(XHCI_VENDOR, XHCI_DEVICE, 0);
	if (!nfe || nfe > MAX_INTRS || !rounds)
		return fail("usage_frontends_rounds", nfe);
	if (!dev || !(bar = dev_bar(dev, 0))) {
		fail("no_xhci", 0);
		return frontends_stop(&fs);
	}
	dev_bdf_str(dev->bdf, bdf);
	fs.dbdf = dev->bdf;

	if (reset_and_start() || reset_port(&port, &speed) || address_device(port, speed, &slot))
		return frontends_stop(&fs);
	printf("xhci guest=%s dev=%s port=%u speed=%u slot=%u\n", me, bdf, port, speed,
	       (unsigned)slot);
	int got = dev_msg_alloc(dev->bdf, MAX_INTRS);
	printf("xhci guest=%s dev=%s msg_alloc=%d\n", me, bdf, got);
	if (got < (int)nfe) {
		fail("dev_msg_alloc", got);
		return frontends_stop(&fs);
	}
	if (frontends_connect(&fs))
		return frontends_stop(&fs);
	/* Messages on: IP cleared as IE goes on, so enabling raises nothing (5.5.2.1). */
	for (unsigned i = 0; i < nintrs; i++)
		wr(rt, RT_IR(i) + IR_IMAN, IMAN_IP | IMAN_IE);
	wr(op, OP_USBCMD, USBCMD_RS | USBCMD_INTE);

	start = guest_time_ns();
	for (unsigned r = 1; r <= rounds; r++) {
		unsigned ok = 0;
		uint64_t acks = 0;
		bool acked;

		for (unsigned k = 0; k < nfe; k++) {
			bool good = transfer(slot, k);
			ok += good;
			fe[k].bad += !good;
		}
		acked = frontends_acked(&fs, r, timeout_ns);
		for (unsigned k = 0; k < nfe; k++)
			acks += fe[k].acks - fs.base;
		total += ok;
		failed += ok != nfe || !acked;
		printf("xhci guest=%s round=%u events=%u acks=%llu result=%s\n", me, r, ok,
		       (unsigned long long)acks, ok == nfe && acked ? "pass" : "fail");
		if (rd(op, OP_USBSTS) & (USBSTS_HCE | USBSTS_HSE)) {
			fail("controller_error", rd(op, OP_USBSTS));
			failed++;
		}
		if (failed)
			break;          /* the rest would only wait out their time-outs */
	}
	printf("xhci guest=%s rounds=%llu ns=%llu\n", me, (unsigned long long)rounds,
	       (unsigned long long)(guest_time_ns() - start));
	for (unsigned k = 0; k < nfe; k++) {
		uint64_t acks = fe[k].acks - fs.base;
		bool ok = fe[k].events == rounds && !fe[k].bad && !fe[k].other && acks == rounds;
		failed += !ok;
		printf("xhci guest=%s intr=%u frontend=%s events=%llu bad=%llu other=%llu "
		       "acks=%llu result=%s\n", me, k, fe[k].name,
		       (unsigned long long)fe[k].events, (unsigned long long)fe[k].bad,
		       (unsigned long long)fe[k].other, (unsigned long long)acks,
		       ok ? "pass" : "fail");
	}
	printf("xhci guest=%s dev=%s rounds=%llu frontends=%u events=%llu failed=%llu "
	       "result=%s\n", me, bdf, (unsigned long long)rounds, nfe,
	       (unsigned long long)total, (unsigned long long)failed, failed ? "fail" : "pass");
	return failed ? frontends_stop(&fs) : 0;
}
