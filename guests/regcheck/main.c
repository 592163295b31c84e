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
 *   regcheck [rounds=N]
 *
 * Prints "regcheck case=<name> reg=<r> want=<x> got=<y>" for each difference and ends with
 * "regcheck result=pass|fail cases=<n> upcalls=<n>".
 */
#include <stdio.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

enum { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13,
       R_R14, R_R15, NREGS };

static const char *const names[NREGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
	"r14", "r15",
};

/*
 * regcheck_call(in, out): every register from in[] (RAX = the number), `syscall`, every
 * register into out[]. The callee-saved ones are kept for the caller around it.
 */
void regcheck_call(const uint64_t *in, uint64_t *out);
__asm__(
	".text\n"
	".globl regcheck_call\n"
	"regcheck_call:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rsi\n"                            /* out */
	"	mov 0*8(%rdi), %rax\n	mov 1*8(%rdi), %rbx\n	mov 2*8(%rdi), %rcx\n"
	"	mov 3*8(%rdi), %rdx\n	mov 4*8(%rdi), %rsi\n	mov 6*8(%rdi), %rbp\n"
	"	mov 7*8(%rdi), %r8\n	mov 8*8(%rdi), %r9\n	mov 9*8(%rdi), %r10\n"
	"	mov 10*8(%rdi), %r11\n	mov 11*8(%rdi), %r12\n	mov 12*8(%rdi), %r13\n"
	"	mov 13*8(%rdi), %r14\n	mov 14*8(%rdi), %r15\n	mov 5*8(%rdi), %rdi\n"
	"	syscall\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"                    /* out */
	"	pop 0*8(%rax)\n"
	"	mov %rbx, 1*8(%rax)\n	mov %rcx, 2*8(%rax)\n	mov %rdx, 3*8(%rax)\n"
	"	mov %rsi, 4*8(%rax)\n	mov %rdi, 5*8(%rax)\n	mov %rbp, 6*8(%rax)\n"
	"	mov %r8, 7*8(%rax)\n	mov %r9, 8*8(%rax)\n	mov %r10, 9*8(%rax)\n"
	"	mov %r11, 10*8(%rax)\n	mov %r12, 11*8(%rax)\n	mov %r13, 12*8(%rax)\n"
	"	mov %r14, 13*8(%rax)\n	mov %r15, 14*8(%rax)\n"
	"	add $8, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n");

#define UNKNOWN_HYPERCALL       0x7fff
#define NO_SUCH_PORT            COURIER_EVT_PORTS

static volatile uint64_t upcalls;
static unsigned failures;

static void on_event(unsigned port, void *arg)
{
	upcalls++;
}

/* One case: nr with arguments a0..a2 (RDI, RSI, RDX); every other register a pattern. */
static bool check(const char *name, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		  uint64_t round, int64_t *ret)
{
	uint64_t in[NREGS], out[NREGS];
	bool ok = true;

	for (unsigned r = 0; r < NREGS; r++)
		in[r] = 0x0101010101010101ull * (r + 1) ^ round << 32;
	in[R_RAX] = nr;
	in[R_RDI] = a0;
	in[R_RSI] = a1;
	in[R_RDX] = a2;
	regcheck_call(in, out);
	for (unsigned r = 0; r < NREGS; r++) {
		/* RAX is the result; RCX and R11 are the instruction's (return RIP, RFLAGS). */
		if (r == R_RAX || r == R_RCX || r == R_R11 || out[r] == in[r])
			continue;
		ok = false;
		if (failures++ < 20)
			printf("regcheck case=%s reg=%s want=%#llx got=%#llx\n", name, names[r],
			       (unsigned long long)in[r], (unsigned long long)out[r]);
	}
	*ret = (int64_t)out[R_RAX];
	return ok;
}

int main(int argc, char **argv)
{
	uint64_t rounds = guest_arg_u64("rounds", 100), cases = 0;
	int port = evt_alloc();
	bool ok = port >= 0 && evt_bind_handler((unsigned)port, on_event, NULL) == 0;

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
	}
	printf("regcheck result=%s cases=%llu upcalls=%llu\n", ok ? "pass" : "fail",
	       (unsigned long long)cases, (unsigned long long)upcalls);
	return ok ? 0 : 1;
}
