/*
 * crash: faults on purpose, to show that the hypervisor stops only this guest.
 *
 *   kind=pf|pfw|nx|wtext|wro|gp|nc|ud|de|bp|io|hlt|cli|cr3|msr|sse|x87|stack|upcall
 *
 * pf    read a hypervisor address            pfw   write a hypervisor address
 * nx    jump into data (no-execute)         wtext write to our own text
 * wro   write to the read-only start info   gp    ring-0 instruction (lgdt)
 * nc    non-canonical address (#GP)          ud    ud2
 * de    divide by zero                       bp    int3
 * io    port I/O (#GP at IOPL 0)             hlt   hlt in ring 3
 * cli   cli in ring 3                        cr3   read CR3
 * msr   rdmsr                                sse   an SSE instruction: runs, so
 *                                                  "survived" is expected (guests/fpu
 *                                                  shows its state is the guest's own)
 * x87   an x87 instruction: runs, so "survived" is expected, likewise
 * stack unbounded recursion                  upcall fault inside the upcall handler
 *
 * Prints "crash guest=<name> kind=<kind>" first; if the guest is still alive afterwards it
 * prints "crash guest=<name> kind=<kind> survived" and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NON_CANONICAL   0x8000000000000000ull
#define UPCALL_YIELDS   128
/* Far deeper than any guest stack; only there to make the recursion formally finite. */
#define RECURSE_LIMIT   (1u << 30)
#define RECURSE_FRAME   512

static const char *me;
static volatile uint64_t sink;
static uint8_t data_code[16] = { 0xc3 };        /* ret, in a non-executable page */

static void pf(void)
{
	sink = *(volatile uint64_t *)HV_DIRECT_MAP;
}

static void pfw(void)
{
	*(volatile uint64_t *)HV_DIRECT_MAP = 1;
}

static void nx(void)
{
	((void (*)(void))(uintptr_t)data_code)();
}

static void wtext(void)
{
	*(volatile uint8_t *)(uintptr_t)&pf = 0xcc;
}

static void wro(void)
{
	*(volatile uint32_t *)&start_info->abi_version = 0;
}

static void gp(void)
{
	static const struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d;

	__asm__ volatile("lgdt %0" : : "m"(d));
}

static void nc(void)
{
	sink = *(volatile uint64_t *)NON_CANONICAL;
}

static void ud(void)
{
	__asm__ volatile("ud2");
}

static void de(void)
{
	uint64_t zero = sink, q;

	__asm__ volatile("xor %%edx, %%edx; div %2" : "=a"(q) : "a"(1ull), "r"(zero) : "rdx");
	sink = q;
}

static void bp(void)
{
	__asm__ volatile("int3");
}

static void io(void)
{
	__asm__ volatile("outb %%al, $0x80" : : "a"(0));
}

static void hlt(void)
{
	__asm__ volatile("hlt");
}

static void cli(void)
{
	__asm__ volatile("cli");
}

static void cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	sink = v;
}

static void msr(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x10));
	sink = lo;
}

static void sse(void)
{
	__asm__ volatile(".byte 0x66, 0x0f, 0xef, 0xc0");       /* pxor %xmm0, %xmm0 */
}

static void x87(void)
{
	__asm__ volatile(".byte 0xd9, 0xe8, 0xdd, 0xd8");       /* fld1; fstp %st(0) */
}

static unsigned recurse(unsigned depth)
{
	volatile uint8_t frame[RECURSE_FRAME];

	frame[0] = (uint8_t)depth;
	if (depth > RECURSE_LIMIT)
		return 0;
	return recurse(depth + 1) + frame[0];
}

static void stack(void)
{
	sink = recurse(0);
}

static void upcall_fault(unsigned port, void *arg)
{
	pf();
}

/* An event to ourselves, delivered by the upcall, whose handler faults. */
static void upcall(void)
{
	int port = evt_alloc();

	if (port < 0) {
		printf("crash guest=%s kind=upcall error=%s\n", me, guest_strerror(port));
		return;
	}
	evt_bind_handler((unsigned)port, upcall_fault, NULL);
	evt_offer((unsigned)port, start_info->guest_id);
	evt_send(start_info->guest_id, (unsigned)port);
	for (unsigned i = 0; i < UPCALL_YIELDS; i++)
		hc_yield();
}

static const struct {
	const char *name;
	void (*fn)(void);
} kinds[] = {
	{ "pf", pf },   { "pfw", pfw }, { "nx", nx },   { "wtext", wtext }, { "wro", wro },
	{ "gp", gp },   { "nc", nc },   { "ud", ud },   { "de", de },       { "bp", bp },
	{ "io", io },   { "hlt", hlt }, { "cli", cli }, { "cr3", cr3 },     { "msr", msr },
	{ "sse", sse }, { "x87", x87 }, { "stack", stack }, { "upcall", upcall },
};

int main(int argc, char **argv)
{
	const char *kind = guest_arg("kind");

	me = argv[0];
	for (unsigned i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind, kinds[i].name))
			continue;
		printf("crash guest=%s kind=%s\n", me, kind);
		fflush(stdout);
		kinds[i].fn();
		printf("crash guest=%s kind=%s survived\n", me, kind);
		return 1;
	}
	printf("crash guest=%s error=unknown_kind kind=%s\n", me, kind ? kind : "-");
	return 2;
}
