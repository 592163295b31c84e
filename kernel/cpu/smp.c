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
extern char tr_gdt_desc[], tr_far32[], tr_far64[], tr_cr3[], tr_efer[];
extern char tr_entry[], tr_table[], tr_count[];

/* SDM vol. 3 8.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI. The 10 ms are for the external 82489DX
 * APICs of 32-bit-only CPUs: every CPU with long mode has its APIC on chip and is ready for
 * the SIPI at once (Linux waits for none on them either), so a token wait is left. */
#define INIT_DELAY_US   10
#define SIPI_DELAY_US   200
#define AP_START_US     2000000 /* generous: TCG on a loaded host is slow */
#define CALL_TIMEOUT_US 5000000

static uint64_t tramp_pa;

/* The APs being started, all at once: boot/trampoline.asm finds its own by its APIC id. */
struct smp_ap_slot {
	uint32_t apic_id;
	uint32_t reserved;
	uint64_t stack;                 /* first RSP, as if ap_entry had been called */
	struct percpu *cpu;             /* ap_entry's argument */
};
_Static_assert(sizeof(struct smp_ap_slot) == 24, "boot/trampoline.asm SLOT_SIZE");
_Static_assert(__builtin_offsetof(struct smp_ap_slot, stack) == 8, "SLOT_STACK");
_Static_assert(__builtin_offsetof(struct smp_ap_slot, cpu) == 16, "SLOT_ARG");
static struct smp_ap_slot ap_slots[MAX_CPUS];

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

static void ap_online(struct trap_frame *f, void *arg) { }

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
	if (apic_send_ipi(cpu_at(0)->apic_id, VEC_AP_ONLINE))
		log_warn("smp: cpu %u cannot tell the boot CPU it is up", cpu->index);
	ap_ops->run();
}

static int prepare_ap(struct percpu *cpu, struct smp_ap_slot *slot)
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
	*slot = (struct smp_ap_slot){ .apic_id = cpu->apic_id, .stack = top - 8, .cpu = cpu };
	return 0;
}

static bool all_online(unsigned first, unsigned end)
{
	for (unsigned i = first; i < end; i++)
		if (!__atomic_load_n(&cpu_at(i)->online, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* INIT to every AP of cpu_at(first..end-1), one wait, then the SIPIs to them all (the second
 * only to those not up yet), and one deadline for them all. */
static void start_aps(unsigned first, unsigned end)
{
	uint32_t sipi = ICR_DELIVERY_STARTUP | (uint32_t)(tramp_pa >> 12);

	patch64(OFF(tr_table), (uint64_t)&ap_slots[first]);
	patch64(OFF(tr_count), end - first);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	log_debug("smp: starting %u CPUs through page %#llx", end - first,
		  (unsigned long long)tramp_pa);
	time_tick_short(true);
	for (unsigned i = first; i < end; i++)
		if (apic_send_ipi(cpu_at(i)->apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT))
			log_err("smp: cannot send INIT to APIC id %u", cpu_at(i)->apic_id);
	time_delay_us(INIT_DELAY_US);
	for (int round = 0; round < 2 && !all_online(first, end); round++) {
		for (unsigned i = first; i < end; i++)
			if (!cpu_at(i)->online && apic_send_ipi(cpu_at(i)->apic_id, sipi))
				log_err("smp: cannot send SIPI to APIC id %u", cpu_at(i)->apic_id);
		time_delay_us(SIPI_DELAY_US);
	}
	/* Halted until each AP's VEC_AP_ONLINE or the short tick wakes us. (Under QEMU's icount
	 * a CPU that was sent INIT and SIPI starts only once a timer has expired somewhere: the
	 * short tick is what starts them there; on hardware it costs a few interrupts.) */
	uint64_t deadline = time_since_boot_us() + AP_START_US;
	for (;;) {
		irq_disable();
		if (all_online(first, end) || time_since_boot_us() > deadline)
			break;
		__asm__ volatile("sti; hlt" ::: "memory");       /* no wake-up lost in between */
	}
	irq_enable();
	time_tick_short(false);
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
	patch64(OFF(tr_entry), (uint64_t)ap_entry);
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
	trap_set_handler(VEC_AP_ONLINE, ap_online, 0);

	/* Every AP's stacks and descriptors first, then all of them started together. */
	unsigned end = 1;
	for (unsigned i = 0; i < madt->n_cpus && end < maxcpus; i++) {
		const struct acpi_cpu *ac = &madt->cpus[i];
		if (!ac->enabled || ac->apic_id == bsp->apic_id)
			continue;
		if (apic_mode() == APIC_MODE_XAPIC && ac->apic_id > 0xfe) {
			log_err("smp: cpu with APIC id %u needs x2APIC mode; not started", ac->apic_id);
			continue;
		}
		struct percpu *cpu = cpu_at(end);
		memset(cpu, 0, sizeof(*cpu));
		cpu->self = cpu;
		cpu->index = end;
		cpu->apic_id = ac->apic_id;
		cpu->acpi_uid = ac->uid;
		int err = prepare_ap(cpu, &ap_slots[end]);
		if (err) {
			log_err("smp: cpu with APIC id %u not started: %s", ac->apic_id,
				error_name(err));
			continue;       /* its slot goes to the next CPU */
		}
		end++;
	}
	start_aps(1, end);
	/* One that did not come up keeps its index (it may still come up late, on its own
	 * stack); it is never online, so nothing runs there. */
	cpu_count = end;
	for (unsigned i = 1; i < end; i++) {
		if (cpu_at(i)->online)
			online++;
		else
			log_err("smp: cpu with APIC id %u did not start: %s", cpu_at(i)->apic_id,
				error_name(E_TIMEOUT));
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
