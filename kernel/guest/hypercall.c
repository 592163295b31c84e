/*
 * Hypercall dispatch (docs/abi.md). Every argument is checked before use: guest pointers are
 * only ever read or written through guest_copy_*, which accept guest RAM and nothing else, and
 * every number is range-checked, so a hostile guest gets an error code, never a hypervisor
 * fault.
 */
#include "include/courier/abi.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/guest/event.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_msg.h"
#include "kernel/guest/guest_mm.h"
#include "kernel/guest/hypercall.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/desc.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/guest/sched.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"

#define CONSOLE_PER_CALL 512            /* bytes one HC_CONSOLE_WRITE takes (it returns how many) */

/* Kernel E_* codes to the ABI's (the negative of COURIER_E*). */
static int64_t abi_error(int err)
{
	switch (err) {
	case E_INVAL: return -COURIER_EINVAL;
	case E_NOMEM: return -COURIER_ENOMEM;
	case E_RANGE: return -COURIER_ERANGE;
	case E_NOENT: return -COURIER_ENOENT;
	case E_EXIST: return -COURIER_EEXIST;
	case E_BUSY: return -COURIER_EBUSY;
	case E_PERM: return -COURIER_EPERM;
	case E_NOSYS: return -COURIER_ENOSYS;
	case E_FAULT: return -COURIER_EFAULT;
	}
	return err < 0 ? -COURIER_EINVAL : err;
}

/* The stretch with interrupts off that began at irqoff_since ends now: the longest is kept. */
static void irqoff_end(struct percpu *c, unsigned hypercall)
{
	uint64_t d = rdtsc() - c->irqoff_since;
	if (d > c->irqoff_max) {
		c->irqoff_max = d;
		c->irqoff_hypercall = hypercall;
	}
}

/* At most CONSOLE_PER_CALL bytes a call, turned into lines with interrupts on: no lock is held
 * here, and no interrupt handler touches the guest's line buffer (guest_console.c). */
static int64_t console_write(struct guest *g, uint64_t va, uint64_t len)
{
	char buf[CONSOLE_PER_CALL];

	if (len > GUEST_CONSOLE_WRITE_MAX)
		return -COURIER_ERANGE;
	if (!guest_va_in_ram(g, va, len))
		return -COURIER_EFAULT;
	uint64_t n = MIN(len, sizeof(buf));
	if (guest_copy_from(g, buf, va, n))
		return -COURIER_EFAULT;
	irqoff_end(this_cpu(), HC_CONSOLE_WRITE);
	irq_enable();
	n = guest_console_write(g, buf, n);
	irq_disable();
	this_cpu()->irqoff_since = rdtsc();
	return (int64_t)n;
}

static int64_t upcall_set(struct guest *g, uint64_t entry, uint64_t stack)
{
	/* The entry must be guest RAM; the stack's top may be the end of RAM itself. */
	if (!guest_va_in_ram(g, entry, 1) || !guest_va_in_ram(g, stack - 64, 64) ||
	    !IS_ALIGNED(stack, 16))
		return -COURIER_EFAULT;
	g->upcall_entry = entry;
	g->upcall_stack = stack;
	return 0;
}

static int64_t guest_lookup(struct guest *g, uint64_t va, uint64_t len)
{
	char name[COURIER_NAME_MAX];

	if (len == 0 || len >= sizeof(name))
		return -COURIER_ERANGE;
	if (guest_copy_from(g, name, va, len))
		return -COURIER_EFAULT;
	struct guest *t = guest_by_name(name, len);
	return t ? (int64_t)t->id : -COURIER_ENOENT;
}

static int64_t sched_move_hc(struct guest *g, uint64_t who, uint64_t cpu)
{
	struct guest *t = who == COURIER_SELF ? g : guest_by_id(who);
	if (!t)
		return -COURIER_ENOENT;
	if (t != g && !g->privileged)
		return -COURIER_EPERM;
	if (t->state == GUEST_EXITED || t->state == GUEST_CRASHED)
		return -COURIER_ENOENT;
	unsigned from = t->cpu;
	int err = sched_move(t, (unsigned)MIN(cpu, (uint64_t)MAX_CPUS), g);
	if (!err && from != cpu)
		guest_msgs_follow(t);
	return abi_error(err);
}

static int64_t dispatch(struct guest *g, struct trap_frame *f)
{
	uint64_t a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10;

	switch (f->rax) {
	case HC_CONSOLE_WRITE:
		return console_write(g, a0, a1);
	case HC_YIELD:
		g->need_resched = true;
		return 0;
	case HC_BLOCK:
		sched_block(g, a0);
		return 0;
	case HC_EXIT: {
		char why[32];
		fmt_snprintf(why, sizeof(why), "exit(%lld)", (long long)a0);
		g->exit_code = (int64_t)a0;
		guest_stop(g, GUEST_EXITED, why);
		return 0;
	}
	case HC_TIME:
		return (int64_t)time_since_boot_ns();
	case HC_UPCALL_SET:
		return upcall_set(g, a0, a1);
	case HC_UPCALL_RETURN:
		return evt_upcall_return(g, f) ? -COURIER_EINVAL : 0;
	case HC_EVT_ALLOC:
		return abi_error(evt_alloc(g));
	case HC_EVT_UNMASK: {
		int err = evt_unmask(g, a0);
		if (!err)
			guest_msgs_port_unmasked(g, (unsigned)a0);
		return abi_error(err);
	}
	case HC_EVT_OFFER:
		return abi_error(evt_offer(g, a0, a1));
	case HC_EVT_SEND:
		return abi_error(evt_send(g, a0, a1));
	case HC_GUEST_LOOKUP:
		return guest_lookup(g, a0, a1);
	case HC_DEV_MSG_ALLOC:
		return abi_error(guest_msg_alloc(g, a0, a1));
	case HC_DEV_MSG_BIND:
		return abi_error(guest_msg_bind(g, a0, a1, a2, a3));
	case HC_DEV_MSG_UNBIND:
		return abi_error(guest_msg_unbind(g, a0, a1));
	case HC_SCHED_MOVE:
		return sched_move_hc(g, a0, a1);
	case HC_DEV_MSG_GRANT:
		return abi_error(guest_msg_grant(g, a0, a1, a2));
	case HC_DEV_MSG_REVOKE:
		return abi_error(guest_msg_revoke(g, a0, a1));
	case HC_DEV_MSG_MASK:
		return abi_error(guest_msg_mask(g, a0, a1, a2));
	case HC_GRANT_PORT:
		return abi_error(guest_msg_grant_port(g, a0));
	case HC_GRANT_LIST:
		return abi_error(guest_msg_grants(g, a0, a1));
	}
	return -COURIER_ENOSYS;
}

void hypercall_entry(struct trap_frame *f)
{
	struct percpu *c = this_cpu();
	struct guest *g = c->current;
	uint64_t nr = f->rax;

	c->irqoff_since = rdtsc();
	/* A `syscall` ending at the top of the user half has nowhere to return to (its RIP is
	 * not canonical, and SYSRET or IRETQ there would fault in ring 0): the guest's own
	 * fault, as executing on would be. boot/syscall.asm sends it here. */
	if (f->rip >= GUEST_USER_VA_END) {
		guest_stop(g, GUEST_CRASHED, "syscall_at_end_of_user_half");
		sched_return_to_user(f);
		return;
	}
	c->in_hypercall = true;
	g->hypercalls++;
	int64_t ret = dispatch(g, f);
	c->in_hypercall = false;
	/* A successful HC_UPCALL_RETURN restored the whole context, RAX included: leave it. */
	if (nr != HC_UPCALL_RETURN || ret < 0)
		f->rax = (uint64_t)ret;
	sched_return_to_user(f);
	irqoff_end(c, (unsigned)MIN(nr, (uint64_t)HC_COUNT));
}

/*
 * The fast hypercalls (boot/syscall.asm): entered with only the registers the C convention
 * may change saved, interrupts off, and left by SYSRET unless the second half of the result
 * says the way back needs the frame (sched_resume_plain: an event for this guest to enter
 * its upcall for, a switch). Only calls that need no saved context and take no long path go
 * here. HC_TIME and an unknown number take no lock, so they are left out of the interrupts-off
 * accounting (irqoff_end); HC_EVT_SEND may wait for a guest's locks, so it is in.
 */
struct hc_fast_ret {
	int64_t ret;
	uint64_t needs_frame;
};

typedef struct hc_fast_ret (*hc_fast_fn)(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
					  uint64_t a4);

#define HYPERCALL_ASM_COUNT 21          /* boot/syscall.asm's HC_COUNT */
_Static_assert(HC_COUNT == HYPERCALL_ASM_COUNT, "boot/syscall.asm: HC_COUNT");

static struct hc_fast_ret fast_time(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
				    uint64_t a4)
{
	this_cpu()->current->hypercalls++;
	return (struct hc_fast_ret){ (int64_t)time_since_boot_ns(), 0 };
}

static struct hc_fast_ret fast_unknown(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
				       uint64_t a4)
{
	this_cpu()->current->hypercalls++;
	return (struct hc_fast_ret){ -COURIER_ENOSYS, 0 };
}

static struct hc_fast_ret fast_evt_send(uint64_t to, uint64_t port, uint64_t a2, uint64_t a3,
					uint64_t a4)
{
	struct percpu *c = this_cpu();
	struct guest *g = c->current;

	c->irqoff_since = rdtsc();
	c->in_hypercall = true;
	g->hypercalls++;
	int64_t ret = abi_error(evt_send(g, to, port));
	c->in_hypercall = false;
	irqoff_end(c, HC_EVT_SEND);
	return (struct hc_fast_ret){ ret, !sched_resume_plain(c) };
}

/* Indexed by the number; HC_COUNT stands for every unknown one (boot/syscall.asm). */
const hc_fast_fn hypercall_fast[HC_COUNT + 1] = {
	[HC_TIME] = fast_time,
	[HC_EVT_SEND] = fast_evt_send,
	[HC_COUNT] = fast_unknown,
};

/*
 * HC_UPCALL_RETURN's own fast path (boot/syscall.asm): what it resumes, as RAX, RCX, R11 and
 * an IRETQ frame (IRETQ, not SYSRET: RCX and R11 are the interrupted code's).
 */
struct upcall_resume {
	uint64_t rax, rcx, r11;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define UPCALL_RESUME_ASM_SIZE  64      /* boot/syscall.asm's UPCALL_RESUME_SIZE */
#define HC_UPCALL_RETURN_ASM    6       /* boot/syscall.asm's HC_UPCALL_RETURN */
_Static_assert(sizeof(struct upcall_resume) == UPCALL_RESUME_ASM_SIZE, "boot/syscall.asm");
_Static_assert(HC_UPCALL_RETURN == HC_UPCALL_RETURN_ASM, "boot/syscall.asm");

/*
 * 0: the upcall is over and the guest resumes straight from *out. Otherwise nothing has
 * changed and the full path does the call: a refused frame (its EINVAL), an event that would
 * enter the upcall again at once, or a switch. An event raised from another CPU after the
 * look comes with an IPI, taken right after IRETQ: the upcall is entered then.
 */
int hypercall_upcall_return(struct upcall_resume *out)
{
	struct percpu *c = this_cpu();
	struct guest *g = c->current;
	struct evt_resume r;

	if (!evt_upcall_frame(g, &r) || !sched_resume_plain(c) || evt_deliverable_all(g))
		return 1;
	g->hypercalls++;
	evt_upcall_done(g);
	*out = (struct upcall_resume){
		.rax = r.rax, .rcx = r.rcx, .r11 = r.r11, .rip = r.rip, .cs = SEL_UCODE | SEL_RPL3,
		.rflags = r.rflags, .rsp = r.rsp, .ss = SEL_UDATA | SEL_RPL3,
	};
	return 0;
}

extern char syscall_entry[];

void hypercall_cpu_init(void)
{
	struct percpu *c = this_cpu();

	c->kstack_top = c->stack_top;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* STAR: SYSCALL loads CS/SS from 47:32; SYSRET (the fast hypercalls' way back) CS from
	 * 63:48 + 16 and SS from 63:48 + 8, with RPL 3: SEL_UCODE and SEL_UDATA. */
	wrmsr(MSR_STAR, (uint64_t)SEL_UCODE32 << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Entered with interrupts off, no single-stepping, DF and AC clear. */
	wrmsr(MSR_FMASK, RFLAGS_IF | BIT(8) | BIT(10) | BIT(18) | BIT(14));
}
