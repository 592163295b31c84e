/*
 * hostile: hypercalls with random and deliberately bad arguments, to show that the hypervisor
 * refuses each cleanly and stays up.
 *
 *   [seed=N] [count=N] [skip=NR[,NR...]] [mode=fault]
 *
 * count calls (default 1000000) from a fixed seed (default 1): every hypercall number,
 * out-of-range ones too (some with only the high bits wrong, which a hypervisor that
 * truncates the number to 32 bits would take for a valid call), kernel and non-canonical
 * pointers, null, unaligned and overflowing buffers, huge lengths, ports, guests, CPUs and
 * devices out of range, messages of devices it does not own. HC_EXIT and HC_BLOCK are left
 * out (they would end or stall the run); HC_CONSOLE_WRITE and HC_UPCALL_SET get only
 * arguments that must fail, so a bad hypervisor shows up as a count, not as garbage on the
 * console or a wild upcall. A call that must fail but returns >= 0 counts as unexpected
 * (the first few are printed). skip= leaves out more hypercall numbers (say, one the
 * hypervisor is known to get wrong, to see the rest). Last two lines:
 *   hostile guest=<name> einval=<n> enomem=<n> ... efault=<n>
 *   hostile guest=<name> seed=<n> calls=<n> ok=<n> other=<n> unexpected=<n> result=pass|fail
 * With mode=fault the guest then reads a hypervisor address, which must stop it.
 *
 * Targeted attacks instead of the random calls (each prints "hostile guest=<name> mode=<m>
 * ..." first):
 *   mode=send send=<guest>:<port>:<n>:<eperm|ok>[,...]  n HC_EVT_SEND to that guest's port,
 *       in order: eperm (a port never offered to us: every send must fail with EPERM; sends
 *       are retried while the port does not exist yet, ENOENT, before counting) or ok (offered:
 *       retried until the offer arrives, then every one must succeed). One line per flood:
 *       "hostile guest=<name> mode=send target=<g> port=<p> count=<n> expect=<e> ok=<n>
 *       eperm=<n> enoent=<n> other=<n> result=pass|fail"; exit code = failed floods.
 *   mode=jump addr=<a>, mode=call addr=<a>   jmp or call to a: a hypervisor or non-canonical
 *       address must stop the guest.
 *   mode=int vec=<n>   int n: every vector but the hypervisor's own are DPL 0 gates (#GP).
 *   mode=read addr=<a>, mode=write addr=<a>   an 8-byte load or store at a (write also
 *       takes "rodata": a page of our own read-only segment).
 * For jump, call, int, read, write, "... survived" and exit 1 if the guest is still alive.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define ARRAY_SIZE(a)           (sizeof(a) / sizeof((a)[0]))
#define PRINT_UNEXPECTED_MAX    8
/* Values no valid port, message or CPU argument reaches. */
#define CPU_CERTAINLY_BAD       0x10000ull
#define LEN_HUGE                (1ull << 47)
/* The hypervisor's direct map and its image (docs/architecture.md): never guest memory. */
#define HV_IMAGE                0xffffffff80000000ull

/* Pointers no guest may pass: the hypervisor's half, non-canonical, wrapping. */
static const uint64_t kernel_ptrs[] = {
	HV_DIRECT_MAP, HV_IMAGE, 0xffffc00000000000ull, 0xffffe00000000000ull,
	0xffffffffffffffffull, 0xfffffffffffff000ull, 0x8000000000000000ull,
	0x0000800000000000ull, 0x00fff00000000000ull, HV_IMAGE + 1,
};

static const uint64_t interesting[] = {
	0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 255, 256, 257, 4095, 4096, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, COURIER_SELF, (uint64_t)-2, (uint64_t)-256,
};

static const uint64_t allowed[] = {
	HC_CONSOLE_WRITE, HC_YIELD, HC_TIME, HC_UPCALL_SET, HC_UPCALL_RETURN, HC_EVT_ALLOC,
	HC_EVT_UNMASK, HC_EVT_OFFER, HC_EVT_SEND, HC_GUEST_LOOKUP, HC_DEV_MSG_ALLOC,
	HC_DEV_MSG_BIND, HC_DEV_MSG_UNBIND, HC_SCHED_MOVE,
};

struct call {
	uint64_t nr, a[5];
	bool must_fail;
};

static const char *me;
static uint64_t rng;
static uint64_t skip_mask;      /* bit n: never call number n */
static char scratch[256] __attribute__((aligned(64)));
static uint64_t tally[COURIER_EFAULT + 1], ok_count, other_count, unexpected;

/* xorshift64*: fast, and the same sequence for the same seed on every run. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t pick(const uint64_t *set, unsigned n)
{
	return set[rnd() % n];
}

static uint64_t kernel_ptr(void)
{
	return pick(kernel_ptrs, ARRAY_SIZE(kernel_ptrs)) + rnd() % 64;
}

/* Pointers into our own memory: aligned, unaligned, read-only, and the last bytes of RAM. */
static uint64_t own_ptr(void)
{
	switch (rnd() % 5) {
	case 0:
		return (uint64_t)scratch + rnd() % 8;
	case 1:
		return (uint64_t)start_info;
	case 2:
		return (uint64_t)shared_info + rnd() % 4096;
	case 3:
		return (uint64_t)&rnd;
	default:
		return start_info->mem_end - 1 - rnd() % 64;
	}
}

static uint64_t any_arg(void)
{
	switch (rnd() % 6) {
	case 0:
	case 1:
		return pick(interesting, ARRAY_SIZE(interesting));
	case 2:
		return rnd();
	case 3:
		return rnd() % 300;
	case 4:
		return kernel_ptr();
	default:
		return own_ptr();
	}
}

/* Bus 0 devices QEMU's q35 is likely to have, and random ones. */
static uint64_t any_bdf(void)
{
	if (rnd() % 2)
		return (rnd() % 32) << 3 | rnd() % 8;
	return rnd() % 3 ? rnd() & 0xffffff : rnd();
}

static bool owns(uint64_t bdf)
{
	for (uint32_t i = 0; i < start_info->ndevs && i < COURIER_MAX_DEVS; i++)
		if (start_info->devs[i].bdf == bdf)
			return true;
	return false;
}

/* A number no hypercall has, sometimes one whose low 32 bits are a valid call. */
static uint64_t bad_nr(void)
{
	switch (rnd() % 4) {
	case 0:
		return HC_COUNT + rnd() % 64;
	case 1:
		return rnd() | 0x100000000ull;
	case 2:
		return pick(allowed, ARRAY_SIZE(allowed)) | (rnd() | 1) << 32;
	default:
		return pick(interesting, ARRAY_SIZE(interesting)) | 0x80000000ull;
	}
}

static void gen_device_call(struct call *c)
{
	c->a[0] = any_bdf();
	c->must_fail = !owns(c->a[0]);
}

static void gen(struct call *c)
{
	for (unsigned i = 0; i < 5; i++)
		c->a[i] = any_arg();
	c->must_fail = false;
	if (rnd() % 5 == 0) {
		c->nr = bad_nr();
		c->must_fail = true;
		return;
	}
	do
		c->nr = pick(allowed, ARRAY_SIZE(allowed));
	while (skip_mask & 1ull << c->nr);
	switch (c->nr) {
	case HC_CONSOLE_WRITE:
		/* Never a readable buffer: an overflowing length from the end of RAM at most. */
		if (rnd() % 4) {
			c->a[0] = kernel_ptr();
			c->a[1] = 1 + rnd() % (rnd() % 2 ? 64 : LEN_HUGE);
		} else {
			c->a[0] = start_info->mem_end - 16;
			c->a[1] = LEN_HUGE + rnd() % LEN_HUGE;
		}
		c->must_fail = true;
		break;
	case HC_UPCALL_SET:
		c->a[rnd() % 2] = kernel_ptr();
		c->must_fail = true;
		break;
	case HC_UPCALL_RETURN:
		c->must_fail = true;    /* not inside an upcall */
		break;
	case HC_EVT_UNMASK:
		c->must_fail = c->a[0] >= COURIER_EVT_PORTS;
		break;
	case HC_EVT_OFFER:
		c->must_fail = c->a[0] >= COURIER_EVT_PORTS;
		break;
	case HC_EVT_SEND:
		c->must_fail = c->a[1] >= COURIER_EVT_PORTS;
		break;
	case HC_GUEST_LOOKUP:
		if (rnd() % 2) {
			c->a[0] = kernel_ptr();
			c->a[1] = 1 + rnd() % 64;
			c->must_fail = true;
		}
		break;
	case HC_DEV_MSG_ALLOC:
	case HC_DEV_MSG_BIND:
	case HC_DEV_MSG_UNBIND:
		gen_device_call(c);
		break;
	case HC_SCHED_MOVE:
		if (rnd() % 2)
			c->a[0] = COURIER_SELF;
		c->must_fail = c->a[1] >= CPU_CERTAINLY_BAD;
		break;
	}
}

static const struct {
	int code;
	const char *key;
} errors[] = {
	{ COURIER_EINVAL, "einval" }, { COURIER_ENOMEM, "enomem" }, { COURIER_ERANGE, "erange" },
	{ COURIER_ENOENT, "enoent" }, { COURIER_EEXIST, "eexist" }, { COURIER_EBUSY, "ebusy" },
	{ COURIER_EPERM, "eperm" },   { COURIER_ENOSYS, "enosys" }, { COURIER_EFAULT, "efault" },
};

static void count(const struct call *c, int64_t ret)
{
	if (ret >= 0)
		ok_count++;
	else if (strcmp(guest_strerror(ret), "E?"))
		tally[-ret]++;
	else
		other_count++;
	if (!c->must_fail || ret < 0)
		return;
	if (++unexpected <= PRINT_UNEXPECTED_MAX)
		printf("hostile unexpected nr=0x%" PRIx64 " a0=0x%" PRIx64 " a1=0x%" PRIx64
		       " a2=0x%" PRIx64 " a3=0x%" PRIx64 " ret=%" PRId64 "\n", c->nr, c->a[0],
		       c->a[1], c->a[2], c->a[3], ret);
}

/* Two lines, each well inside the hypervisor's 160-character console line. */
static void print_summary(uint64_t seed, uint64_t calls)
{
	printf("hostile guest=%s", me);
	for (unsigned i = 0; i < ARRAY_SIZE(errors); i++)
		printf(" %s=%" PRIu64, errors[i].key, tally[errors[i].code]);
	printf("\nhostile guest=%s seed=%" PRIu64 " calls=%" PRIu64 " ok=%" PRIu64 " other=%" PRIu64
	       " unexpected=%" PRIu64 " result=%s\n", me, seed, calls, ok_count, other_count,
	       unexpected, unexpected ? "fail" : "pass");
}

/* Reading the hypervisor's memory must stop this guest; if it does not, say so. */
static int fault(void)
{
	volatile uint64_t *p = (volatile uint64_t *)HV_DIRECT_MAP;
	uint64_t v;

	printf("hostile guest=%s mode=fault addr=0x%" PRIx64 "\n", me, (uint64_t)p);
	fflush(stdout);
	v = *p;
	printf("hostile guest=%s mode=fault survived value=0x%" PRIx64 " result=fail\n", me, v);
	return 1;
}

/* ---- targeted attacks ------------------------------------------------------------------- */

#define SEND_SETUP_NS           10000000000ull  /* 10 s for the target to appear and offer */
#define SEND_LIST_MAX           200

static const char rodata_page[4096] __attribute__((aligned(4096))) = "hostile read-only";

/* One stub per vector, 8 bytes apart: "int $n; ret". */
__asm__(".pushsection .text\n"
	".balign 8\n"
	"hostile_int_stubs:\n"
	".set .Lvec, 0\n"
	".rept 256\n"
	".balign 8\n"
	"int $.Lvec\n"
	"ret\n"
	".set .Lvec, .Lvec + 1\n"
	".endr\n"
	".popsection\n");
extern const char hostile_int_stubs[];

/* n sends to (target, port); true when each came back as expected. */
static bool flood(const char *target, unsigned port, uint64_t n, bool expect_ok)
{
	uint64_t deadline = guest_time_ns() + SEND_SETUP_NS, got_ok = 0, eperm = 0, enoent = 0,
		 other = 0;
	int64_t id;
	int ret;

	while ((id = guest_lookup(target)) < 0 && guest_time_ns() < deadline)
		hc_yield();
	/* Until the port exists (and, for ok, is offered to us): not counted. */
	do
		ret = evt_send((uint64_t)id, port);
	while ((ret == -COURIER_ENOENT || (expect_ok && ret == -COURIER_EPERM)) &&
	       guest_time_ns() < deadline && (hc_yield(), true));
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			ret = evt_send((uint64_t)id, port);
		if (ret >= 0)
			got_ok++;
		else if (ret == -COURIER_EPERM)
			eperm++;
		else if (ret == -COURIER_ENOENT)
			enoent++;
		else
			other++;
	}
	bool pass = id >= 0 && (expect_ok ? got_ok == n : eperm == n);
	printf("hostile guest=%s mode=send target=%s port=%u count=%" PRIu64 " expect=%s ok=%"
	       PRIu64 " eperm=%" PRIu64 " enoent=%" PRIu64 " other=%" PRIu64 " result=%s\n", me,
	       target, port, n, expect_ok ? "ok" : "eperm", got_ok, eperm, enoent, other,
	       pass ? "pass" : "fail");
	return pass;
}

static int send_mode(const char *list)
{
	char copy[SEND_LIST_MAX + 1], *save, *item;
	int failures = 0;

	if (!list || strlen(list) > SEND_LIST_MAX) {
		printf("hostile guest=%s mode=send error=bad_send_list\n", me);
		return 2;
	}
	strcpy(copy, list);
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char target[COURIER_NAME_MAX + 1], expect[8];
		unsigned port;
		unsigned long long n;

		if (sscanf(item, "%31[^:]:%u:%llu:%7s", target, &port, &n, expect) != 4 ||
		    (strcmp(expect, "ok") && strcmp(expect, "eperm"))) {
			printf("hostile guest=%s mode=send error=bad_item item=%s\n", me, item);
			return 2;
		}
		failures += !flood(target, port, n, !strcmp(expect, "ok"));
	}
	return failures;
}

static uint64_t attack_addr(const char *mode)
{
	const char *a = guest_arg("addr");

	if (a && !strcmp(a, "rodata"))
		return (uint64_t)rodata_page;
	return guest_arg_u64("addr", 0);
}

/* An attack that must stop this guest; returns only if it did not. */
static int attack(const char *mode)
{
	uint64_t addr = attack_addr(mode), v = 0;

	if (!strcmp(mode, "int")) {
		uint64_t vec = guest_arg_u64("vec", 0x80);
		if (vec > 255) {
			printf("hostile guest=%s mode=int error=bad_vector\n", me);
			return 2;
		}
		addr = (uint64_t)hostile_int_stubs + 8 * vec;
		printf("hostile guest=%s mode=int vec=%" PRIu64 " stub=0x%" PRIx64 "\n", me, vec,
		       addr);
	} else {
		printf("hostile guest=%s mode=%s addr=0x%" PRIx64 "\n", me, mode, addr);
	}
	fflush(stdout);
	if (!strcmp(mode, "int") || !strcmp(mode, "call"))
		((void (*)(void))addr)();
	else if (!strcmp(mode, "jump"))
		__asm__ volatile("jmp *%0" : : "r"(addr) : "memory");
	else if (!strcmp(mode, "read"))
		v = *(volatile uint64_t *)addr;
	else if (!strcmp(mode, "write"))
		*(volatile uint64_t *)addr = 0x686f7374696c65ull;
	printf("hostile guest=%s mode=%s survived value=0x%" PRIx64 " result=fail\n", me, mode, v);
	return 1;
}

/* skip=NR,NR...: numbers of the allowed set; at least one must stay. */
static bool parse_skip(const char *list)
{
	uint64_t all = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(allowed); i++)
		all |= 1ull << allowed[i];
	while (list && *list) {
		char *end;
		unsigned long nr = strtoul(list, &end, 0);
		if (end == list || nr >= 64 || (*end && *end != ','))
			return false;
		skip_mask |= 1ull << nr;
		list = *end ? end + 1 : end;
	}
	return (all & ~skip_mask) != 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = guest_arg_u64("seed", 1), calls = guest_arg_u64("count", 1000000);
	const char *mode = guest_arg("mode");
	struct call c;

	me = argv[0];
	if (mode && !strcmp(mode, "send"))
		return send_mode(guest_arg("send"));
	if (mode && (!strcmp(mode, "jump") || !strcmp(mode, "call") || !strcmp(mode, "int") ||
		     !strcmp(mode, "read") || !strcmp(mode, "write")))
		return attack(mode);
	if (!parse_skip(guest_arg("skip"))) {
		printf("hostile guest=%s error=bad_skip_list\n", me);
		return 2;
	}
	strcpy(scratch, me);
	rng = seed * 0x9e3779b97f4a7c15ull | 1;         /* never zero */
	for (uint64_t i = 0; i < calls; i++) {
		gen(&c);
		count(&c, hypercall5(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]));
	}
	evt_init();     /* in case some HC_UPCALL_SET got through */
	print_summary(seed, calls);
	if (mode && !strcmp(mode, "fault"))
		return fault();
	return unexpected ? 1 : 0;
}
