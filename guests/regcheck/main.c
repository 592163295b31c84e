/*
 * regcheck: what a hypercall leaves in the registers (docs/abi.md: every register but RAX, RCX
 * and R11 is preserved). Each case loads every general register with a distinct value (the
 * call's number and arguments where the call takes them), executes `syscall`, and compares
 * what comes back, on each way through the hypervisor: the fast path (boot/syscall.asm:
 * HC_TIME, an unknown number, HC_EVT_SEND), the full frame (HC_YIELD, HC_EVT_ALLOC, a bad
 * HC_UPCALL_RETURN), and a fast call whose way back enters the upcall (HC_EVT_SEND to its own
 * port: the upcall runs its handler with the interrupted registers in place and
 * HC_UPCALL_RETURN must give every one of them back).
 *
 * With dev= (an edu it owns, its message bound to its own port), the same for a device
 * message taken in ring 3, where every register must come back (RAX, RCX and R11 too): its
 * edu raises the message while every register holds a pattern, on each way through the
 * hypervisor: the short one into the upcall (boot/msg_entry.asm), the short one back with
 * upcalls masked (the event stays pending), and the whole frame's (the port masked).
 *
 *   regcheck [rounds=N] [dev=<bdf>]
 *
 * Prints "regcheck case=<name> reg=<r> want=<x> got=<y>" for each difference and ends with
 * "regcheck result=pass|fail cases=<n> upcalls=<n>".
 */
#include <stdio.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include <courier/mmio.h>

enum { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13,
       R_R14, R_R15, NREGS };

static const char *const names[NREGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
	"r14", "r15",
};

/*
 * A case's two halves, as assembler macros: regs_in keeps what the C convention preserves and
 * the out pointer (RSI), then loads every register from in[] (RDI); regs_out stores every
 * register into out[], restores the kept ones and returns.
 */
__asm__(
	".macro regs_in\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rsi\n"
	"	mov 0*8(%rdi), %rax\n	mov 1*8(%rdi), %rbx\n	mov 2*8(%rdi), %rcx\n"
	"	mov 3*8(%rdi), %rdx\n	mov 4*8(%rdi), %rsi\n	mov 6*8(%rdi), %rbp\n"
	"	mov 7*8(%rdi), %r8\n	mov 8*8(%rdi), %r9\n	mov 9*8(%rdi), %r10\n"
	"	mov 10*8(%rdi), %r11\n	mov 11*8(%rdi), %r12\n	mov 12*8(%rdi), %r13\n"
	"	mov 13*8(%rdi), %r14\n	mov 14*8(%rdi), %r15\n	mov 5*8(%rdi), %rdi\n"
	".endm\n"
	".macro regs_out\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	pop 0*8(%rax)\n"
	"	mov %rbx, 1*8(%rax)\n	mov %rcx, 2*8(%rax)\n	mov %rdx, 3*8(%rax)\n"
	"	mov %rsi, 4*8(%rax)\n	mov %rdi, 5*8(%rax)\n	mov %rbp, 6*8(%rax)\n"
	"	mov %r8, 7*8(%rax)\n	mov %r9, 8*8(%rax)\n	mov %r10, 9*8(%rax)\n"
	"	mov %r11, 10*8(%rax)\n	mov %r12, 11*8(%rax)\n	mov %r13, 12*8(%rax)\n"
	"	mov %r14, 13*8(%rax)\n	mov %r15, 14*8(%rax)\n"
	"	add $8, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	".endm\n");

/* regcheck_call(in, out): every register from in[] (RAX = the number), `syscall`, every
 * register into out[]. */
void regcheck_call(const uint64_t *in, uint64_t *out);
__asm__(
	".text\n"
	".globl regcheck_call\n"
	"regcheck_call:\n"
	"	regs_in\n"
	"	syscall\n"
	"	regs_out\n");

/*
 * regcheck_irq(in, out): every register from in[] (RAX = the edu's raise register), raise the
 * edu's message, wait for it touching no register (until irq_seen is set or irq_spins runs
 * out), every register into out[].
 */
void regcheck_irq(const uint64_t *in, uint64_t *out);
volatile uint32_t irq_seen, irq_spins;
#define EDU_INTR_RAISE          0x60
#define EDU_INTR_ACK            0x64
#define EDU_VALUE               0x1
#define STR(x)                  #x
#define XSTR(x)                 STR(x)
__asm__(
	".text\n"
	".globl regcheck_irq\n"
	"regcheck_irq:\n"
	"	regs_in\n"
	"	movl $" XSTR(EDU_VALUE) ", (%rax)\n"
	"1:	pause\n"
	"	cmpl $0, irq_seen(%rip)\n"
	"	jne 2f\n"
	"	decl irq_spins(%rip)\n"
	"	jnz 1b\n"
	"2:	regs_out\n");

#define UNKNOWN_HYPERCALL       0x7fff
#define NO_SUCH_PORT            COURIER_EVT_PORTS

static volatile uint64_t upcalls;
static unsigned failures;

static void on_event(unsigned port, void *arg)
{
	upcalls++;
	irq_seen = 1;
}

static bool compare(const char *name, const uint64_t *in, const uint64_t *out, bool all)
{
	bool ok = true;

	for (unsigned r = 0; r < NREGS; r++) {
		/* A hypercall's RAX is its result; RCX and R11 are SYSCALL's (return RIP,
		 * RFLAGS). An interrupt keeps them all. */
		if (out[r] == in[r] || (!all && (r == R_RAX || r == R_RCX || r == R_R11)))
			continue;
		ok = false;
		if (failures++ < 20)
			printf("regcheck case=%s reg=%s want=%#llx got=%#llx\n", name, names[r],
			       (unsigned long long)in[r], (unsigned long long)out[r]);
	}
	return ok;
}

static void pattern(uint64_t *in, uint64_t round)
{
	for (unsigned r = 0; r < NREGS; r++)
		in[r] = 0x0101010101010101ull * (r + 1) ^ round << 32;
}

/* One case: nr with arguments a0..a2 (RDI, RSI, RDX); every other register a pattern. */
static bool check(const char *name, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		  uint64_t round, int64_t *ret)
{
	uint64_t in[NREGS], out[NREGS];

	pattern(in, round);
	in[R_RAX] = nr;
	in[R_RDI] = a0;
	in[R_RSI] = a1;
	in[R_RDX] = a2;
	regcheck_call(in, out);
	*ret = (int64_t)out[R_RAX];
	return compare(name, in, out, false);
}

/*
 * The edu's message comes in while the registers hold the pattern: it enters the upcall
 * (which must have run before the registers are read back), or, with upcalls or its port
 * masked, stays pending (delivered once unmasked, after the registers are read back).
 */
enum irq_way { IRQ_UPCALL, IRQ_UPCALLS_MASKED, IRQ_PORT_MASKED, IRQ_WAYS };
static const char *const irq_names[IRQ_WAYS] = {
	"irq_upcall", "irq_upcalls_masked", "irq_port_masked",
};
#define SPINS_UPCALL    10000000u       /* a bound, never reached: the message comes at once */
#define SPINS_MASKED    20000u          /* long enough for the message to be taken */

static bool check_irq(enum irq_way way, volatile uint32_t *raise, unsigned port, uint64_t round)
{
	const char *name = irq_names[way];
	uint64_t in[NREGS], out[NREGS], before = upcalls;
	bool upcall = way == IRQ_UPCALL, ok;

	pattern(in, round);
	in[R_RAX] = (uint64_t)(uintptr_t)raise;
	irq_seen = 0;
	irq_spins = upcall ? SPINS_UPCALL : SPINS_MASKED;
	if (way == IRQ_UPCALLS_MASKED)
		upcalls_disable();
	else if (way == IRQ_PORT_MASKED)
		evt_mask(port);
	regcheck_irq(in, out);
	ok = compare(name, in, out, true);
	bool pending = shared_info->evt_pending[port / 64] >> (port % 64) & 1;
	if (upcall ? !irq_seen || upcalls != before + 1 : irq_seen || !pending) {
		printf("regcheck case=%s seen=%u pending=%d upcalls=%llu want=%llu\n", name,
		       irq_seen, pending, (unsigned long long)upcalls,
		       (unsigned long long)before + upcall);
		ok = false;
	}
	if (way == IRQ_UPCALLS_MASKED)
		upcalls_enable();
	else if (way == IRQ_PORT_MASKED)
		evt_unmask(port);
	/* Now it has been handled, whichever way it came. */
	if (upcalls != before + 1) {
		printf("regcheck case=%s upcalls=%llu want=%llu after unmasking\n", name,
		       (unsigned long long)upcalls, (unsigned long long)before + 1);
		ok = false;
	}
	mmio_write32((volatile uint8_t *)raise - EDU_INTR_RAISE + EDU_INTR_ACK, EDU_VALUE);
	return ok;
}

/* dev=: the edu's message 0, bound to port; its raise register, or NULL. */
static volatile uint32_t *edu_setup(unsigned port)
{
	const struct courier_dev_info *d = start_info->ndevs ? &start_info->devs[0] : NULL;
	uint8_t *bar = d ? dev_bar(d, 0) : NULL;

	if (!bar || dev_msg_alloc(d->bdf, 1) < 1 || dev_msg_bind(d->bdf, 0, COURIER_SELF, port))
		return NULL;
	return (volatile uint32_t *)(bar + EDU_INTR_RAISE);
}

int main(int argc, char **argv)
{
	uint64_t rounds = guest_arg_u64("rounds", 100), cases = 0;
	int port = evt_alloc();
	bool ok = port >= 0 && evt_bind_handler((unsigned)port, on_event, NULL) == 0;
	volatile uint32_t *raise = NULL;

	if (ok && start_info->ndevs && !(raise = edu_setup((unsigned)port))) {
		printf("regcheck case=edu_setup failed\n");
		ok = false;
	}

	for (uint64_t i = 0; ok && i < rounds; i++) {
		int64_t ret;
		uint64_t before = upcalls;

		ok &= check("time", HC_TIME, 0, 0, 0, i, &ret) && ret > 0;
		ok &= check("unknown", UNKNOWN_HYPERCALL, 1, 2, 3, i, &ret) &&
		      ret == -COURIER_ENOSYS;
		ok &= check("send_bad_port", HC_EVT_SEND, COURIER_SELF, NO_SUCH_PORT, 0, i, &ret) &&
		      ret == -COURIER_ENOENT;
		ok &= check("yield", HC_YIELD, 0, 0, 0, i, &ret) && ret == 0;
		ok &= check("upcall_return_outside", HC_UPCALL_RETURN, 0, 0, 0, i, &ret) &&
		      ret == -COURIER_EINVAL;
		ok &= check("send_self_upcall", HC_EVT_SEND, COURIER_SELF, (uint64_t)port, 0, i,
			    &ret) && ret == 0;
		/* The event was for this guest, unmasked: the upcall ran before the call returned. */
		if (upcalls != before + 1) {
			printf("regcheck case=send_self_upcall upcalls=%llu want=%llu\n",
			       (unsigned long long)upcalls, (unsigned long long)before + 1);
			ok = false;
		}
		cases += 6;
		if (raise) {
			for (enum irq_way w = 0; w < IRQ_WAYS; w++)
				ok &= check_irq(w, raise, (unsigned)port, i);
			cases += IRQ_WAYS;
		}
	}
	printf("regcheck result=%s cases=%llu upcalls=%llu\n", ok ? "pass" : "fail",
	       (unsigned long long)cases, (unsigned long long)upcalls);
	return ok ? 0 : 1;
}
