/* Fatal exceptions and panics in the hypervisor: report everything, then end the run. */
#include "kernel/cpu/trap.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/fmt.h"
#include "kernel/mm/layout.h"
#include "kernel/lib/log.h"
#include "kernel/mm/paging.h"
#include "kernel/cpu/stop.h"

#define BACKTRACE_MAX 32

extern char __text_start[], __text_end[];

static bool in_text(uint64_t a)
{
	return a >= (uint64_t)__text_start && a < (uint64_t)__text_end;
}

/* Frame pointers only inside this CPU's stack (or the boot stack) are followed. */
static bool frame_ok(uint64_t fp, uint64_t lo, uint64_t hi)
{
	return IS_ALIGNED(fp, 8) && fp >= lo && fp + 16 <= hi;
}

extern char boot_stack_bottom[], boot_stack_top[];

static void backtrace(uint64_t rip, uint64_t fp)
{
	struct percpu *cpu = this_cpu();
	uint64_t lo = cpu->stack_bottom, hi = cpu->stack_top;

	if (!lo || fp < lo || fp >= hi) {
		lo = (uint64_t)boot_stack_bottom;
		hi = (uint64_t)boot_stack_top;
	}
	log_detail("backtrace (addr2line -e build/courier.elf ADDR):");
	log_detail("#0 %#llx", (unsigned long long)rip);
	uint64_t prev = rip;
	unsigned repeats = 0;
	for (int i = 1; i < BACKTRACE_MAX && frame_ok(fp, lo, hi); i++) {
		uint64_t ret = ((uint64_t *)fp)[1];
		if (!in_text(ret))
			break;
		fp = ((uint64_t *)fp)[0];
		if (ret == prev) {      /* deep recursion: one line, not a screenful */
			repeats++;
			continue;
		}
		if (repeats)
			log_detail("   (the frame above repeats %u more times)", repeats);
		repeats = 0;
		log_detail("#%d %#llx", i, (unsigned long long)ret);
		prev = ret;
	}
	if (repeats)
		log_detail("   (the frame above repeats %u more times, and more not shown)", repeats);
}

#define R(x) (unsigned long long)(x)

void dump_registers(const struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();

	log_detail("rip %016llx  cs %04llx  rflags %016llx", R(f->rip), R(f->cs), R(f->rflags));
	log_detail("rsp %016llx  ss %04llx  cr2 %016llx  cr3 %016llx", R(f->rsp), R(f->ss), R(cr2),
		R(read_cr3()));
	log_detail("rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx", R(f->rax), R(f->rbx),
		R(f->rcx), R(f->rdx));
	log_detail("rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx", R(f->rsi), R(f->rdi),
		R(f->rbp), R(f->r8));
	log_detail("r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx", R(f->r9), R(f->r10),
		R(f->r11), R(f->r12));
	log_detail("r13 %016llx  r14 %016llx  r15 %016llx", R(f->r13), R(f->r14), R(f->r15));
	if (f->vector == EXC_PF)
		log_detail("page fault: %s %s %s %s access at %#llx",
			   f->error & 1 ? "protection" : "not-present", f->error & 4 ? "user" : "kernel",
			   f->error & 2 ? "write" : "read", f->error & 16 ? "instruction-fetch" : "data",
			   R(cr2));
}

void fatal_exception(struct trap_frame *f)
{
	struct percpu *cpu = this_cpu();
	uint64_t cr2 = read_cr2();

	if (cpu->in_fatal)
		stop_abort();    /* faulted while reporting: just leave */
	cpu->in_fatal = true;
	log_err("fatal exception %s (vector %llu) in the hypervisor on cpu %u, error code %#llx",
		exception_name((unsigned)f->vector), R(f->vector), cpu->index, R(f->error));
	report("exception cpu=%u vector=%llu name=%s error=%#llx rip=%#llx cr2=%#llx", cpu->index,
	       R(f->vector), exception_name((unsigned)f->vector), R(f->error), R(f->rip), R(cr2));
	dump_registers(f);
	if (f->vector == EXC_DF)
		log_detail("double fault: likely a stack overflow into a guard page (cr2 %#llx)", R(cr2));
	backtrace(f->rip, f->rbp);
	stop_abort();
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	irq_disable();
	this_cpu()->in_fatal = true;
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("panic: %s", msg);
	backtrace((uint64_t)__builtin_return_address(0), (uint64_t)__builtin_frame_address(0));
	stop_abort();
}
