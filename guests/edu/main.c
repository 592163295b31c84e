/*
 * edu: a driver for QEMU's edu device (1234:11e8, QEMU docs/specs/edu.rst) that the guest owns.
 *
 *   dev=<bdf> [msi_rounds=N] [timeout_ms=T] [bad_dma=<addr>] [bad_dma_dir=read|write] [hop]
 *            [storm=N] [mask_rounds=K] [crash_at_end]
 *            [sweep=<hex>[,<hex>...] [sweep_len=L] [sweep_peer=<guest>]]
 *            [flip=N flip_a=<guest> flip_b=<guest> [flip_burst=R]]
 *
 * hop: after each MSI round the guest moves itself to the next CPU (HC_SCHED_MOVE, wrapping
 * to CPU 0 when the next one does not exist), so its message must follow it every round.
 *
 * Checks, each printed as "edu guest=<name> dev=<bdf> test=<test> ... result=pass|fail":
 * id, liveness (0x04 returns ~x), dma (RAM -> device -> RAM through the IOMMU, where the
 * guest's virtual addresses are its DMA addresses), msi (message 0 bound to our own port,
 * raised through 0x60, N times), dma_irq (a DMA that raises 0x100 when done), then bad_dma: a
 * transfer from (or to) an address outside the guest's memory, by default its first byte past
 * mem_end, which the hypervisor must block and report as a DMA fault (result=issued: the guest
 * cannot see the fault; the hypervisor's @dmafault record is the check). With storm=N, after
 * msi: N raises as fast as it can (a misbehaving device), then a wait; "test=storm raised=N
 * events=E" (the hypervisor is to hold the message at its source, @storm). With
 * mask_rounds=K, after msi: the port masked, K raises (each acknowledged), no upcall may come;
 * unmasked, the one pending event arrives, and one more raise does too ("test=port_mask"; the
 * hypervisor's @stat says how many reached it while masked). With crash_at_end it reads a
 * hypervisor address after its last line (it must be stopped; with restart=on it runs again).
 * With flip=N, after msi: message 0 is bound N times in turn to port 1 of flip_a and of flip_b
 * (guests/canary mode=sink, which offer it), raised flip_burst times (default 4) without
 * waiting and unbound at once, so messages are still on their way while it is bound to the
 * other; then port 2 of each is sent an event (done). "test=flip cycles=N raised_a=<n>
 * raised_b=<n>": the hypervisor must deliver each message to the port it was sent for or drop
 * it (@stat ... port=1 received=, msgs_dropped=).
 * Last line:
 * "edu guest=<name> dev=<bdf> tests=<n> failed=<n> result=pass|fail"; exit code = failures.
 *
 * sweep= (instead of bad_dma): a malicious device. For each address of the list (hex, no 0x,
 * each outside the guest's RAM and below the 28-bit limit) a read of sweep_len bytes (default
 * 64) into the device (filled with 0xa5 first), the device buffer copied back to RAM ("got="
 * its first 8 bytes: what the device read), then a write of sweep_len bytes of 0x5a (kept in
 * the device buffer's second half) to the address (sweep_len below 2048); each access
 * printed before it is issued ("test=sweep i=<n> addr=<a> dir=read|write len=<l>
 * result=issued"), each must become one @dmafault. With sweep_peer=<guest> (guests/canary),
 * the guest's first port is offered to that guest, the sweep waits for its event (its
 * memory is filled) and sends it one on its port 0 when done. Last: "test=sweep_done
 * accesses=<n> ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include <courier/mmio.h>

#define EDU_VENDOR              0x1234
#define EDU_DEVICE              0x11e8

/* MMIO registers (edu.rst "MMIO area spec"): 4-byte accesses below 0x80, 8-byte above. */
#define EDU_ID                  0x00    /* 0xRRrr00ed */
#define  EDU_ID_MAGIC           0xedu
#define  EDU_ID_MAGIC_MASK      0xffu
#define EDU_LIVENESS            0x04    /* reads back ~value */
#define EDU_INTR_STATUS         0x24
#define EDU_INTR_RAISE          0x60    /* OR-ed into the status; sends the MSI */
#define EDU_INTR_ACK            0x64
#define EDU_DMA_SRC             0x80
#define EDU_DMA_DST             0x88
#define EDU_DMA_COUNT           0x90
#define EDU_DMA_CMD             0x98
#define  EDU_DMA_START          0x1u
#define  EDU_DMA_TO_RAM         0x2u    /* direction: 0 RAM -> device, 1 device -> RAM */
#define  EDU_DMA_IRQ            0x4u    /* raise EDU_DMA_IRQ_VALUE when done */
#define EDU_DMA_IRQ_VALUE       0x100u
#define EDU_BAR0_MIN            0x100
/* The device's own 4 KiB buffer, at this device-side address. A transfer outside it aborts
 * QEMU, and so does one of the whole buffer: QEMU 7.2's range check wants the transfer's end
 * strictly below the buffer's end. So no transfer here is longer than EDU_DMA_MAX. */
#define EDU_BUF                 0x40000ull
#define EDU_BUF_SIZE            4096u
#define EDU_DMA_MAX             (EDU_BUF_SIZE - 1)
/* edu masks DMA addresses to 28 bits by default (dma_mask). */
#define EDU_DMA_LIMIT           (1ull << 28)
#define EDU_RAISE_VALUE         0x1u

#define NS_PER_MS               1000000ull
#define PAGE_SIZE               4096u

static const char *me;
static char bdf[DEV_BDF_STR_MAX];
static void *bar;
static uint64_t timeout_ns;
static unsigned tests, failed;
static volatile uint64_t msi_events;
static uint8_t ram_src[EDU_BUF_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t ram_dst[EDU_BUF_SIZE] __attribute__((aligned(PAGE_SIZE)));

static uint32_t rd32(uint64_t reg)
{
	return mmio_read32(mmio_reg(bar, reg));
}

static void wr32(uint64_t reg, uint32_t v)
{
	mmio_write32(mmio_reg(bar, reg), v);
}

static void wr64(uint64_t reg, uint64_t v)
{
	mmio_write64(mmio_reg(bar, reg), v);
}

/* One line per check; extra is "key=value " pairs (may be empty). */
static void result(const char *test, bool ok, const char *extra)
{
	tests++;
	failed += !ok;
	printf("edu guest=%s dev=%s test=%s %sresult=%s\n", me, bdf, test, extra,
	       ok ? "pass" : "fail");
}

static bool in_my_ram(const void *p, uint64_t len)
{
	uint64_t a = (uint64_t)p;

	return a >= start_info->mem_start && a <= start_info->mem_end &&
	       len <= start_info->mem_end - a;
}

/* edu runs a transfer from a timer (about 100 ms of virtual time): poll, bounded. */
static bool dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	uint64_t deadline = guest_time_ns() + timeout_ns;

	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr64(EDU_DMA_COUNT, len);
	wr64(EDU_DMA_CMD, cmd | EDU_DMA_START);
	while (mmio_read64(mmio_reg(bar, EDU_DMA_CMD)) & EDU_DMA_START) {
		if (guest_time_ns() >= deadline)
			return false;
		hc_yield();
	}
	return true;
}

static void test_id(void)
{
	uint32_t id = rd32(EDU_ID);

	char extra[32];

	snprintf(extra, sizeof(extra), "value=0x%08x ", (unsigned)id);
	result("id", (id & EDU_ID_MAGIC_MASK) == EDU_ID_MAGIC, extra);
}

static void test_liveness(void)
{
	static const uint32_t values[] = { 0, 1, 0x12345678, 0xffffffff, 0xa5a5a5a5 };
	unsigned bad = 0;
	char extra[32];

	for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		wr32(EDU_LIVENESS, values[i]);
		bad += rd32(EDU_LIVENESS) != ~values[i];
	}
	snprintf(extra, sizeof(extra), "wrong=%u ", bad);
	result("liveness", !bad, extra);
}

static void test_dma(void)
{
	bool ok;

	if (!in_my_ram(ram_src, sizeof(ram_src)) || !in_my_ram(ram_dst, sizeof(ram_dst))) {
		result("dma", false, "error=buffers_outside_mem ");
		return;
	}
	for (unsigned i = 0; i < EDU_BUF_SIZE; i++)
		ram_src[i] = (uint8_t)(i * 7 + start_info->guest_id);
	memset(ram_dst, 0, sizeof(ram_dst));
	ok = dma((uint64_t)ram_src, EDU_BUF, EDU_DMA_MAX, 0) &&
	     dma(EDU_BUF, (uint64_t)ram_dst, EDU_DMA_MAX, EDU_DMA_TO_RAM);
	ok = ok && !memcmp(ram_src, ram_dst, EDU_DMA_MAX) && ram_dst[EDU_DMA_MAX] == 0;
	result("dma", ok, "bytes=4095 ");
}

static void on_msi(unsigned port, void *arg)
{
	msi_events++;
}

static bool msi_seen(void *arg)
{
	return msi_events >= *(uint64_t *)arg;
}

/* Wait for event number n, then acknowledge what the device raised. */
static bool wait_msi(uint64_t n, uint32_t expect)
{
	bool ok = evt_wait(msi_seen, &n, timeout_ns);
	uint32_t status = rd32(EDU_INTR_STATUS);

	wr32(EDU_INTR_ACK, status);
	return ok && (status & expect);
}

static int setup_msi(const struct courier_dev_info *dev, int *port)
{
	int ret = dev_msg_alloc(dev->bdf, 1);

	if (ret < 1) {
		printf("edu guest=%s dev=%s error=%s what=dev_msg_alloc\n", me, bdf,
		       guest_strerror(ret));
		return ret < 0 ? ret : -COURIER_ENOENT;
	}
	*port = evt_alloc();
	if (*port < 0)
		return *port;
	evt_bind_handler((unsigned)*port, on_msi, NULL);
	ret = dev_msg_bind(dev->bdf, 0, start_info->guest_id, (unsigned)*port);
	if (ret < 0)
		printf("edu guest=%s dev=%s error=%s what=dev_msg_bind\n", me, bdf,
		       guest_strerror(ret));
	return ret;
}

static int msi_port = -1;

static void test_msi(const struct courier_dev_info *dev, uint64_t rounds)
{
	uint64_t ok_rounds = 0;
	int port = -1;
	char extra[96];
	bool ok;

	if (setup_msi(dev, &port) < 0) {
		result("msi", false, "");
		result("dma_irq", false, "");
		return;
	}
	msi_port = port;
	bool hop = guest_arg_flag("hop");
	uint64_t cpu = start_info->cpu;

	for (uint64_t i = 1; i <= rounds; i++) {
		wr32(EDU_INTR_RAISE, EDU_RAISE_VALUE);
		ok_rounds += wait_msi(msi_events + 1, EDU_RAISE_VALUE);
		if (hop && hc_sched_move(COURIER_SELF, ++cpu) < 0 &&
		    hc_sched_move(COURIER_SELF, cpu = 0) < 0)
			hop = false;
	}
	snprintf(extra, sizeof(extra), "port=%d raised=%llu acked=%llu events=%llu ", port,
		 (unsigned long long)rounds, (unsigned long long)ok_rounds,
		 (unsigned long long)msi_events);
	result("msi", ok_rounds == rounds && msi_events == rounds, extra);

	/* The same message, raised by the device itself at the end of a transfer. */
	ok = dma((uint64_t)ram_src, EDU_BUF, EDU_DMA_MAX, EDU_DMA_IRQ) &&
	     wait_msi(rounds + 1, EDU_DMA_IRQ_VALUE);
	snprintf(extra, sizeof(extra), "events=%llu ", (unsigned long long)msi_events);
	result("dma_irq", ok, extra);
}

/* Spin (upcalls run) for ms milliseconds of the hypervisor's time. */
static void settle(uint64_t ms)
{
	uint64_t end = hc_time() + ms * NS_PER_MS;
	while (hc_time() < end)
		;
}

static void test_storm(uint64_t n)
{
	uint64_t before = msi_events;
	char extra[64];

	for (uint64_t i = 0; i < n; i++)
		wr32(EDU_INTR_RAISE, EDU_RAISE_VALUE);
	settle(300);
	wr32(EDU_INTR_ACK, rd32(EDU_INTR_STATUS));
	snprintf(extra, sizeof(extra), "raised=%llu events=%llu ", (unsigned long long)n,
		 (unsigned long long)(msi_events - before));
	result("storm", msi_events > before, extra);
	settle(2000);           /* every hold is over: msi works again for what follows */
}

/* Bind message 0 to port 1 of guest id, waiting for it to be offered (EPERM until then), and
 * for what a binding needs while the last ones' vectors still drain (ENOMEM, EBUSY). */
static uint64_t bind_waits;
static int bind_error;

static int bind_peer(const struct courier_dev_info *dev, int64_t id)
{
	uint64_t end = hc_time() + timeout_ns;
	int err;

	while (((err = dev_msg_bind(dev->bdf, 0, (uint64_t)id, 1)) == -COURIER_EPERM ||
		err == -COURIER_ENOMEM || err == -COURIER_EBUSY) && hc_time() < end) {
		bind_waits++;
		hc_yield();
	}
	if (err < 0)
		bind_error = err;
	return err;
}

static void test_flip(const struct courier_dev_info *dev, uint64_t cycles)
{
	uint64_t burst = guest_arg_u64("flip_burst", 4), raised[2] = { 0, 0 };
	int64_t peer[2] = { guest_lookup_wait(guest_arg("flip_a"), timeout_ns),
			     guest_lookup_wait(guest_arg("flip_b"), timeout_ns) };
	bool ok = peer[0] >= 0 && peer[1] >= 0 && dev_msg_unbind(dev->bdf, 0) == 0;
	char extra[128];

	for (uint64_t i = 0; ok && i < cycles; i++) {
		unsigned t = (unsigned)(i % 2);
		if (bind_peer(dev, peer[t]) < 0) {
			ok = false;
			break;
		}
		for (uint64_t k = 0; k < burst; k++)
			wr32(EDU_INTR_RAISE, EDU_RAISE_VALUE);
		raised[t] += burst;
		ok = dev_msg_unbind(dev->bdf, 0) == 0;
		wr32(EDU_INTR_ACK, rd32(EDU_INTR_STATUS));
	}
	for (unsigned t = 0; t < 2; t++)
		if (peer[t] >= 0)
			evt_send((uint64_t)peer[t], 2);
	snprintf(extra, sizeof(extra), "cycles=%llu raised_a=%llu raised_b=%llu bind_waits=%llu "
		 "bind_error=%s ", (unsigned long long)cycles, (unsigned long long)raised[0],
		 (unsigned long long)raised[1], (unsigned long long)bind_waits,
		 bind_error ? guest_strerror(bind_error) : "-");
	result("flip", ok, extra);
}

static void test_port_mask(uint64_t k)
{
	uint64_t before = msi_events;
	char extra[96];

	evt_mask((unsigned)msi_port);
	for (uint64_t i = 0; i < k; i++) {
		wr32(EDU_INTR_RAISE, EDU_RAISE_VALUE);
		settle(1);
		wr32(EDU_INTR_ACK, rd32(EDU_INTR_STATUS));
	}
	uint64_t masked = msi_events - before;
	evt_unmask((unsigned)msi_port);
	bool pending = evt_wait(msi_seen, &(uint64_t){ before + 1 }, timeout_ns);
	wr32(EDU_INTR_RAISE, EDU_RAISE_VALUE);
	bool again = wait_msi(before + 2, EDU_RAISE_VALUE);
	snprintf(extra, sizeof(extra), "raised=%llu masked_events=%llu pending=%d again=%d ",
		 (unsigned long long)k + 1, (unsigned long long)masked, pending, again);
	result("port_mask", masked == 0 && pending && again && msi_events == before + 2, extra);
}

/*
 * A transfer the IOMMU must refuse. A read first fills the device buffer with a known pattern
 * so the guest can say whether the refused read changed it (QEMU may fill refused reads with
 * zeros or leave the buffer alone; either is fine, the @dmafault record is the check).
 */
static void test_bad_dma(uint64_t addr, bool write)
{
	bool changed;

	if (in_my_ram((void *)addr, PAGE_SIZE) || addr >= EDU_DMA_LIMIT) {
		printf("edu guest=%s dev=%s test=bad_dma addr=0x%llx error=not_a_bad_address\n",
		       me, bdf, (unsigned long long)addr);
		failed++;
		return;
	}
	memset(ram_src, 0x5a, EDU_DMA_MAX);
	dma((uint64_t)ram_src, EDU_BUF, EDU_DMA_MAX, 0);
	printf("edu guest=%s dev=%s test=bad_dma addr=0x%llx dir=%s result=issued\n", me, bdf,
	       (unsigned long long)addr, write ? "write" : "read");
	fflush(stdout);
	if (write) {
		dma(EDU_BUF, addr, EDU_DMA_MAX, EDU_DMA_TO_RAM);
		return;
	}
	dma(addr, EDU_BUF, EDU_DMA_MAX, 0);
	memset(ram_dst, 0, EDU_DMA_MAX);
	dma(EDU_BUF, (uint64_t)ram_dst, EDU_DMA_MAX, EDU_DMA_TO_RAM);
	changed = memcmp(ram_src, ram_dst, EDU_DMA_MAX) != 0;
	printf("edu guest=%s dev=%s test=bad_dma buffer=%s\n", me, bdf,
	       changed ? "changed" : "unchanged");
}

#define SWEEP_MAX               24
#define SWEEP_PATTERN           0xa5u
#define SWEEP_WRITE_PATTERN     0x5au
#define SWEEP_WRITE_OFF         2048u
#define SETUP_TIMEOUT_NS        (10000ull * NS_PER_MS)

static volatile uint64_t peer_events;
static int peer_port = -1;

static void on_peer(unsigned port, void *arg)
{
	peer_events++;
}

static bool peer_seen(void *arg)
{
	return peer_events >= 1;
}

/* Our first port, offered to the peer: it says through it that its memory is filled. */
static int64_t sweep_peer_setup(const char *peer)
{
	uint64_t deadline = guest_time_ns() + SETUP_TIMEOUT_NS;
	int64_t id;

	while ((id = guest_lookup(peer)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	if (id < 0)
		return id;
	peer_port = evt_alloc();
	if (peer_port < 0)
		return peer_port;
	evt_bind_handler((unsigned)peer_port, on_peer, NULL);
	int ret = evt_offer((unsigned)peer_port, (uint64_t)id);
	return ret < 0 ? ret : id;
}

/* Parse "a,b,c" (hex) into addrs; the count, or -1 when the list is malformed. */
static int parse_sweep(const char *list, uint64_t *addrs)
{
	int n = 0;

	while (*list) {
		char *end;
		unsigned long long a = strtoull(list, &end, 16);
		if (end == list || (*end && *end != ',') || n == SWEEP_MAX)
			return -1;
		addrs[n++] = a;
		list = *end ? end + 1 : end;
	}
	return n;
}

static void sweep_line(unsigned i, uint64_t addr, const char *dir, uint32_t len)
{
	printf("edu guest=%s dev=%s test=sweep i=%u addr=0x%llx dir=%s len=%u result=issued\n", me,
	       bdf, i, (unsigned long long)addr, dir, (unsigned)len);
	fflush(stdout);
}

static void test_sweep(const char *list, int64_t peer)
{
	uint64_t addrs[SWEEP_MAX];
	uint32_t len = (uint32_t)guest_arg_u64("sweep_len", 64);
	int n = parse_sweep(list, addrs);
	unsigned accesses = 0, incomplete = 0;
	bool synced = true;

	if (n <= 0 || len == 0 || len >= SWEEP_WRITE_OFF) {
		printf("edu guest=%s dev=%s test=sweep error=bad_list_or_len\n", me, bdf);
		failed++;
		return;
	}
	for (int i = 0; i < n; i++) {
		if (in_my_ram((void *)addrs[i], len) || addrs[i] + len > EDU_DMA_LIMIT) {
			printf("edu guest=%s dev=%s test=sweep addr=0x%llx error=not_a_bad_address\n",
			       me, bdf, (unsigned long long)addrs[i]);
			failed++;
			return;
		}
	}
	if (peer >= 0)
		synced = evt_wait(peer_seen, NULL, SETUP_TIMEOUT_NS);
	/* What every write sends: its own pattern, in the second half of the device buffer. */
	memset(ram_src, SWEEP_WRITE_PATTERN, len);
	incomplete += !dma((uint64_t)ram_src, EDU_BUF + SWEEP_WRITE_OFF, len, 0);
	printf("edu guest=%s dev=%s test=sweep_start addresses=%d len=%u peer_ready=%d\n", me, bdf,
	       n, (unsigned)len, synced);
	for (int i = 0; i < n; i++) {
		uint64_t got = 0;

		/* Known contents in the device first, so a read that reaches memory shows. */
		memset(ram_src, SWEEP_PATTERN, len);
		incomplete += !dma((uint64_t)ram_src, EDU_BUF, len, 0);
		sweep_line((unsigned)i, addrs[i], "read", len);
		incomplete += !dma(addrs[i], EDU_BUF, len, 0);
		accesses++;
		memset(ram_dst, 0, len);
		incomplete += !dma(EDU_BUF, (uint64_t)ram_dst, len, EDU_DMA_TO_RAM);
		memcpy(&got, ram_dst, sizeof(got));
		printf("edu guest=%s dev=%s test=sweep i=%d addr=0x%llx got=0x%016llx\n", me, bdf, i,
		       (unsigned long long)addrs[i], (unsigned long long)got);
		sweep_line((unsigned)i, addrs[i], "write", len);
		incomplete += !dma(EDU_BUF + SWEEP_WRITE_OFF, addrs[i], len, EDU_DMA_TO_RAM);
		accesses++;
	}
	int sent = peer >= 0 ? evt_send((uint64_t)peer, 0) : 0;
	char extra[96];
	snprintf(extra, sizeof(extra), "accesses=%u incomplete=%u peer_ready=%d peer_told=%s ",
		 accesses, incomplete, synced, peer < 0 ? "-" : sent < 0 ? guest_strerror(sent) : "ok");
	result("sweep_done", synced && !incomplete && sent >= 0, extra);
}

int main(int argc, char **argv)
{
	const struct courier_dev_info *dev = dev_find(EDU_VENDOR, EDU_DEVICE, 0);
	uint64_t bad_default = start_info->mem_end;
	const char *dir = guest_arg("bad_dma_dir");

	me = argv[0];
	timeout_ns = guest_arg_u64("timeout_ms", 2000) * NS_PER_MS;
	if (!dev) {
		printf("edu guest=%s error=no_edu_device (give it one with dev=<bdf>)\n", me);
		return 1;
	}
	dev_bdf_str(dev->bdf, bdf);
	bar = dev_bar(dev, 0);
	if (!bar || dev_bar_size(dev, 0) < EDU_BAR0_MIN) {
		printf("edu guest=%s dev=%s error=bar0_not_mapped\n", me, bdf);
		return 1;
	}
	const char *sweep = guest_arg("sweep"), *sweep_peer = guest_arg("sweep_peer");
	int64_t peer = -1;

	if (sweep && sweep_peer && (peer = sweep_peer_setup(sweep_peer)) < 0) {
		printf("edu guest=%s dev=%s error=%s what=sweep_peer\n", me, bdf,
		       guest_strerror(peer));
		return 1;
	}
	test_id();
	test_liveness();
	test_dma();
	test_msi(dev, guest_arg_u64("msi_rounds", 10));
	if (msi_port >= 0 && guest_arg("storm"))
		test_storm(guest_arg_u64("storm", 0));
	if (msi_port >= 0 && guest_arg("mask_rounds"))
		test_port_mask(guest_arg_u64("mask_rounds", 0));
	if (msi_port >= 0 && guest_arg("flip"))
		test_flip(dev, guest_arg_u64("flip", 0));
	if (bad_default + PAGE_SIZE > EDU_DMA_LIMIT)
		bad_default = PAGE_SIZE;
	if (sweep)
		test_sweep(sweep, peer);
	else
		test_bad_dma(guest_arg_u64("bad_dma", bad_default), dir && !strcmp(dir, "write"));
	printf("edu guest=%s dev=%s tests=%u failed=%u result=%s\n", me, bdf, tests, failed,
	       failed ? "fail" : "pass");
	if (guest_arg_flag("crash_at_end")) {
		fflush(stdout);
		(void)*(volatile uint64_t *)HV_DIRECT_MAP;
	}
	return (int)failed;
}
