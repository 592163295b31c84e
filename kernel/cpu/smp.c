#include "kernel/cpu/smp.h"
#include "kernel/firmware/acpi.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/gdt.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/arch/pte.h"
#include "kernel/lib/string.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"
#include "kernel/mm/vm.h"

struct percpu percpu_area[MAX_CPUS];
unsigned cpu_count = 1;

extern char trampoline_start[], __trampoline_end[];
extern char tr_gdt_desc[], tr_far32[], tr_far64[], tr_cr3[], tr_efer[], tr_stack[];
extern char tr_entry[], tr_arg[];

/* SDM vol. 3 8.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI. */
#define INIT_DELAY_US   10000
#define SIPI_DELAY_US   200
#define AP_START_US     2000000 /* generous: TCG on a loaded host is slow */
#define CALL_TIMEOUT_US 5000000

static uint64_t tramp_pa;

/* Work handed to an idle CPU by smp_call. */
struct call {
	void (*volatile fn)(void *);
	void *arg;
	volatile bool done;
};
static struct call calls[MAX_CPUS];

void smp_set_trampoline_page(uint64_t pa) { tramp_pa = pa; }

static void patch32(uint64_t off, uint32_t v) { *(uint32_t *)phys_to_virt(tramp_pa + off) = v; }
static void patch64(uint64_t off, uint64_t v) { *(uint64_t *)phys_to_virt(tramp_pa + off) = v; }
#define OFF(sym) ((uint64_t)(sym) - (uint64_t)trampoline_start)

static void apic_error(struct trap_frame *f, void *arg)
{
	apic_write(APIC_ESR, 0);
	log_err("apic: error interrupt on cpu %u, ESR %#x", this_cpu()->index, apic_read(APIC_ESR));
}

static void wake(struct trap_frame *f, void *arg) { this_cpu()->ipis_taken++; }

void smp_local_init(void)
{
	trap_set_handler(VEC_APIC_ERROR, apic_error, 0);
	trap_set_handler(VEC_IPI_WAKE, wake, 0);
}

/* From the idle loop (kernel/guest/sched.c): run work smp_call() left for this CPU. */
void smp_poll_calls(void)
{
	struct call *c = &calls[this_cpu()->index];
	void (*fn)(void *) = c->fn;

	if (!fn)
		return;
	irq_enable();
	fn(c->arg);
	irq_disable();
	c->fn = 0;
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
}

static const struct smp_ap_ops *ap_ops;

static void __noreturn ap_entry(struct percpu *cpu)
{
	gdt_load(cpu);
	idt_load();
	ap_ops->init();
	cpu->apic_id = apic_id();
	__atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
	ap_ops->run();
}

static int start_ap(struct percpu *cpu)
{
	uint64_t bottom;
	uint64_t top = vm_alloc_stack(KSTACK_SIZE, &bottom);

	if (!top)
		return E_NOMEM;
	cpu->stack_top = top;
	cpu->stack_bottom = bottom;
	int err = gdt_prepare(cpu);
	if (err)
		return err;
	patch64(OFF(tr_stack), top - 8);   /* as if ap_entry had been called */
	patch64(OFF(tr_entry), (uint64_t)ap_entry);
	patch64(OFF(tr_arg), (uint64_t)cpu);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	log_debug("smp: starting APIC id %u through page %#llx, stack %#llx", cpu->apic_id,
		  (unsigned long long)tramp_pa, (unsigned long long)top);
	uint32_t sipi = ICR_DELIVERY_STARTUP | (uint32_t)(tramp_pa >> 12);
	if ((err = apic_send_ipi(cpu->apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT)))
		return err;
	time_delay_us(INIT_DELAY_US);
	for (int i = 0; i < 2 && !cpu->online; i++) {
		if ((err = apic_send_ipi(cpu->apic_id, sipi)))
			return err;
		time_delay_us(SIPI_DELAY_US);
	}
	uint64_t deadline = time_since_boot_us() + AP_START_US;
	while (!__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE)) {
		if (time_since_boot_us() > deadline)
			return E_TIMEOUT;
		cpu_relax();
	}
	return 0;
}

static void prepare_trampoline(void)
{
	size_t len = (size_t)(__trampoline_end - trampoline_start);

	memcpy(phys_to_virt(tramp_pa), trampoline_start, len);
	/* The linked values are offsets from trampoline_start: add the page's address. */
	patch32(OFF(tr_gdt_desc) + 2, (uint32_t)tramp_pa + *(uint32_t *)(tr_gdt_desc + 2));
	patch32(OFF(tr_far32), (uint32_t)tramp_pa + *(uint32_t *)(tr_far32));
	patch32(OFF(tr_far64), (uint32_t)tramp_pa + *(uint32_t *)(tr_far64));
	patch64(OFF(tr_cr3), vm_kernel_root());
	patch64(OFF(tr_efer), rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE));
}

unsigned smp_boot(const struct acpi_madt *madt, unsigned maxcpus, const struct smp_ap_ops *ops)
{
	struct percpu *bsp = this_cpu();
	unsigned online = 1;

	ap_ops = ops;
	if (!tramp_pa || vm_kernel_root() >> 32) {
		log_err("smp: no trampoline page below 1 MiB; running on the boot CPU only");
		return 1;
	}
	if (vm_map_identity(tramp_pa, PAGE_SIZE, PTE_P) != 0) {
		log_err("smp: cannot map the trampoline page");
		return 1;
	}
	prepare_trampoline();
	trap_set_handler(VEC_IPI_WAKE, wake, 0);

	for (unsigned i = 0; i < madt->n_cpus && cpu_count < maxcpus; i++) {
		const struct acpi_cpu *ac = &madt->cpus[i];
		if (!ac->enabled || ac->apic_id == bsp->apic_id)
			continue;
		if (apic_mode() == APIC_MODE_XAPIC && ac->apic_id > 0xfe) {
			log_err("smp: cpu with APIC id %u needs x2APIC mode; not started", ac->apic_id);
			continue;
		}
		struct percpu *cpu = cpu_at(cpu_count);
		memset(cpu, 0, sizeof(*cpu));
		cpu->self = cpu;
		cpu->index = cpu_count;
		cpu->apic_id = ac->apic_id;
		cpu->acpi_uid = ac->uid;
		int err = start_ap(cpu);
		if (err) {
			log_err("smp: cpu with APIC id %u did not start: %s", ac->apic_id,
				error_name(err));
			continue;       /* its slot is reused by the next CPU */
		}
		cpu_count++;
		online++;
	}
	return online;
}

int smp_call(unsigned index, void (*fn)(void *), void *arg)
{
	if (index >= cpu_count || !cpu_at(index)->online)
		return E_INVAL;
	if (index == this_cpu()->index) {
		fn(arg);
		return 0;
	}
	struct call *c = &calls[index];
	c->done = false;
	c->arg = arg;
	__atomic_store_n(&c->fn, fn, __ATOMIC_RELEASE);
	this_cpu()->ipis_sent++;
	int err = apic_send_ipi(cpu_at(index)->apic_id, VEC_IPI_WAKE);
	if (err)
		return err;
	uint64_t deadline = time_since_boot_us() + CALL_TIMEOUT_US;
	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		if (time_since_boot_us() > deadline)
			return E_TIMEOUT;
		cpu_relax();
	}
	return 0;
}
