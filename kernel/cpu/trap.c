#include "kernel/cpu/trap.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/desc.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/vectors.h"

extern const uint64_t isr_stub_table[IDT_ENTRIES];

static struct idt_gate idt[IDT_ENTRIES] __aligned(16);

static const char *const exc_names[32] = {
	[EXC_DE] = "#DE", [EXC_DB] = "#DB", [EXC_NMI] = "NMI", [EXC_BP] = "#BP",
	[EXC_OF] = "#OF", [EXC_BR] = "#BR", [EXC_UD] = "#UD", [EXC_NM] = "#NM",
	[EXC_DF] = "#DF", [9] = "#CSO", [EXC_TS] = "#TS", [EXC_NP] = "#NP",
	[EXC_SS] = "#SS", [EXC_GP] = "#GP", [EXC_PF] = "#PF", [EXC_MF] = "#MF",
	[EXC_AC] = "#AC", [EXC_MC] = "#MC", [EXC_XM] = "#XM", [EXC_VE] = "#VE",
	[EXC_CP] = "#CP",
};

const char *exception_name(unsigned vector)
{
	if (vector < 32)
		return exc_names[vector] ? exc_names[vector] : "reserved";
	return "interrupt";
}

static unsigned ist_for(unsigned vector)
{
	switch (vector) {
	case EXC_DF: return IST_DF;
	case EXC_NMI: return IST_NMI;
	case EXC_MC: return IST_MC;
	}
	return 0;
}

void idt_init(void)
{
	for (unsigned v = 0; v < IDT_ENTRIES; v++)
		idt[v] = idt_gate_make(isr_stub_table[v], SEL_KCODE, ist_for(v), 0);
}

void idt_load(void)
{
	struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" :: "m"(p));
}

void trap_set_handler(unsigned vector, vector_handler_t fn, void *arg)
{
	struct vector_slot *s = &this_cpu()->vectors[vector];
	s->arg = arg;
	__atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
}

static const struct trap_user_ops *user_ops;

void trap_set_user_ops(const struct trap_user_ops *ops) { user_ops = ops; }

_Static_assert(VEC_DYNAMIC_FIRST == 0x30 && VEC_DYNAMIC_LAST == 0xdf,
	       "boot/isr.asm sends these vectors from ring 3 to isr_device");
_Static_assert(EXC_NMI == 2 && EXC_DF == 8 && EXC_MC == 18 && IST_PERCPU_SLOT == 16 &&
	       MSR_GS_BASE == 0xc0000101,
	       "boot/isr.asm sends the IST vectors to isr_paranoid, which reads the slot and MSR");

/* Exceptions, NMIs and the spurious vector: off the interrupts' path (trap_entry). */
static __attribute__((noinline)) void trap_other(struct trap_frame *frame)
{
	unsigned v = (unsigned)frame->vector;
	struct percpu *cpu = this_cpu();
	bool from_guest = frame->cs & SEL_RPL3;

	if (v < VEC_EXCEPTIONS) {
		/* NMIs are only sent by the hypervisor to stop a CPU (fatal path). */
		if (v == EXC_NMI && cpu->vectors[v].fn) {
			cpu->vectors[v].fn(frame, cpu->vectors[v].arg);
			return;
		}
		if (!from_guest || !cpu->current || !user_ops)
			fatal_exception(frame);
		/* A guest's fault stops that guest only. */
		user_ops->fault(frame);
	}
	/* No EOI for the spurious vector (SDM vol. 3 10.9). */
	if (from_guest && user_ops)
		user_ops->resume(frame);
}

static __attribute__((noinline)) void unexpected(unsigned v)
{
	log_warn("trap: unexpected vector %#x on cpu %u", v, this_cpu()->index);
}

/*
 * Every interrupt and exception. A device message's way into its guest's upcall starts here,
 * so the interrupts' path is kept short: nothing but the EOI, the vector's handler and the way
 * back to the guest.
 */
void trap_entry(struct trap_frame *frame)
{
	if (__builtin_expect(frame->vector < VEC_EXCEPTIONS || frame->vector == VEC_SPURIOUS, 0)) {
		trap_other(frame);
		return;
	}
	apic_eoi();
	/* Only the frame lives across the calls: the vector is read again from it. */
	struct vector_slot *s = &this_cpu()->vectors[frame->vector];
	vector_handler_t fn = __atomic_load_n(&s->fn, __ATOMIC_ACQUIRE);
	if (__builtin_expect(fn != 0, 1))
		fn(frame, s->arg);
	else
		unexpected((unsigned)frame->vector);
	if ((frame->cs & SEL_RPL3) && user_ops)
		user_ops->resume(frame);
}
