/*
 * The boot sequence of the bootstrap processor, from boot/entry.asm's jump to long mode to the
 * end of the run. Each step reports what it found; bad input is reported and the boot goes on
 * with what is left wherever that is meaningful.
 */
#include "kernel/firmware/acpi.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/fpu.h"
#include "kernel/lib/error.h"
#include "kernel/mm/frame.h"
#include "kernel/guest/bench.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/sched.h"
#include "kernel/cpu/gdt.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/firmware/multiboot2.h"
#include "kernel/options.h"
#include "kernel/cpu/percpu.h"
#include "kernel/run.h"
#include "tests/selftest/selftest.h"
#include "kernel/cpu/console.h"
#include "kernel/cpu/stop.h"
#include "kernel/guest/hypercall.h"
#include "kernel/guest/guest_msg.h"
#include "kernel/cpu/smp.h"
#include "kernel/lib/string.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/mm/vm.h"
#include "iommu/dmar.h"
#include "iommu/iommu.h"
#include "iommu/ir_ioapic.h"
#include "iommu/ir_table.h"
#include "kernel/cpu/irq.h"
#include "msi/msi.h"
#include "msi/route.h"
#include "pci/cfg.h"
#include "pci/pci.h"

extern char __image_start_phys[], __image_end_phys[];

#define MB2_INFO_MAX    0x100000        /* larger boot information is not believed */
#define LOW_MEMORY_END  0x100000        /* the first MiB is never handed out */
#define TRAMPOLINE_MIN  0x1000          /* real-mode IVT/BDA live in the first page */
#define EBDA_FLOOR      0x80000         /* conventional memory above this may hold the EBDA */

static struct mb2_info mb;
static uint64_t mb_pa, mb_len;
static struct acpi_tables acpi;
static struct acpi_madt madt;
static struct acpi_mcfg mcfg;
static const struct acpi_table *dmar;   /* looked up once: a second DMAR is reported once */

static struct mem_range usable[MB2_MAX_MMAP];
static size_t n_usable;
static struct mem_range reserved[MB2_MAX_MMAP + MB2_MAX_MODULES + 8];
static size_t n_reserved;

static void reserve(uint64_t start, uint64_t end)
{
	if (n_reserved < ARRAY_SIZE(reserved) && start < end)
		reserved[n_reserved++] = (struct mem_range){ start, end };
}

static void __boot collect_memory(uint64_t *direct_top)
{
	*direct_top = 1ull << 32;
	for (unsigned i = 0; i < mb.n_mmap; i++) {
		const struct mb2_mmap_entry *e = &mb.mmap[i];
		/* Firmware maps may overlap: what any entry calls non-RAM is never handed out. */
		if (e->type == MB2_MMAP_AVAILABLE)
			usable[n_usable++] = (struct mem_range){ e->addr, e->addr + e->len };
		else
			reserve(e->addr, e->addr + e->len);
		if (e->type == MB2_MMAP_AVAILABLE || e->type == MB2_MMAP_ACPI_RECLAIMABLE ||
		    e->type == MB2_MMAP_NVS)
			*direct_top = MAX(*direct_top, e->addr + e->len);
	}
	reserve(0, LOW_MEMORY_END);
	reserve((uint64_t)__image_start_phys, (uint64_t)__image_end_phys);
	reserve(mb_pa, mb_pa + mb_len);
	for (unsigned i = 0; i < mb.n_modules; i++)
		reserve(mb.modules[i].start, ALIGN_UP((uint64_t)mb.modules[i].end, PAGE_SIZE));
}

/* A usable page below 1 MiB for the AP trampoline, clear of the boot information. */
static uint64_t __boot find_trampoline_page(void)
{
	for (uint64_t pa = EBDA_FLOOR - PAGE_SIZE; pa >= TRAMPOLINE_MIN; pa -= PAGE_SIZE) {
		bool ok = false;
		for (size_t i = 0; i < n_usable; i++)
			if (usable[i].start <= pa && pa + PAGE_SIZE <= usable[i].end)
				ok = true;
		if (pa < mb_pa + mb_len && mb_pa < pa + PAGE_SIZE)
			ok = false;
		for (unsigned i = 0; i < mb.n_modules; i++)
			if (pa < mb.modules[i].end && mb.modules[i].start < pa + PAGE_SIZE)
				ok = false;
		if (ok)
			return pa;
	}
	return 0;
}

static const void *acpi_map(void *ctx, uint64_t pa, size_t len)
{
	/* The direct map covers every RAM and ACPI range of the memory map. */
	return phys_to_virt(pa);
}

static void __boot acpi_setup(void)
{
	struct acpi_mem m = { acpi_map, 0 };
	struct acpi_rsdp_info rsdp;
	uint64_t rsdp_pa;
	int err = E_NOENT;

	if (mb.rsdp)
		err = acpi_rsdp_validate(mb.rsdp, mb.rsdp_len, &rsdp);
	if (err && acpi_rsdp_scan(&m, &rsdp_pa) == 0)
		err = acpi_rsdp_validate(phys_to_virt(rsdp_pa), 36, &rsdp);
	if (err) {
		log_err("acpi: no valid RSDP (boot information or BIOS area)");
		return;
	}
	if (acpi_load_tables(&m, &rsdp, &acpi) < 0)
		return;
	acpi_report_tables(&acpi);

	const struct acpi_table *t = acpi_find_one(&acpi, "APIC");
	if (!t || acpi_parse_madt(phys_to_virt(t->pa), t->len, &madt) < 0)
		log_err("acpi: no usable MADT; only the boot CPU will run");
	t = acpi_find_one(&acpi, "MCFG");
	if (t && acpi_parse_mcfg(phys_to_virt(t->pa), t->len, &mcfg) < 0)
		log_err("acpi: MCFG unusable; PCI falls back to port I/O");
	dmar = acpi_find_one(&acpi, "DMAR");
	uint64_t hpet;
	t = acpi_find(&acpi, "HPET", 0);
	if (t && acpi_parse_hpet(phys_to_virt(t->pa), t->len, &hpet) == 0)
		time_set_hpet(hpet);
}

/*
 * The local APIC mode asked for: apic=, unless it is auto and the DMAR opts out of x2APIC.
 * VT-d 8.1: firmware sets X2APIC_OPT_OUT (meaningful only with INTR_REMAP) to ask system
 * software not to enable x2APIC mode; apic=x2apic overrides it, as Linux's
 * intremap=no_x2apic_optout does.
 */
static enum apic_pref __boot apic_preference(bool *opted_out)
{
	const uint8_t both = DMAR_F_INTR_REMAP | DMAR_F_X2APIC_OPT_OUT;
	enum apic_pref pref = (enum apic_pref)options.apic;
	struct dmar_table d;
	struct dmar_error e;

	*opted_out = dmar && dmar_parse_header(&d, phys_to_virt(dmar->pa), dmar->len, &e) == 0 &&
		     (d.flags & both) == both;
	if (!*opted_out || pref == APIC_PREF_XAPIC)
		return pref;
	if (pref == APIC_PREF_X2APIC) {
		log_warn("apic: the DMAR asks the OS not to enable x2APIC (X2APIC_OPT_OUT); "
			 "apic=x2apic overrides it");
		return pref;
	}
	return APIC_PREF_XAPIC;
}

/* PCI from the MCFG's ECAM regions; none (or no MCFG) means port I/O on segment 0. */
static void __boot pci_setup(void)
{
	struct pci_ecam r[ACPI_MAX_MCFG];

	for (unsigned i = 0; i < mcfg.n; i++)
		r[i] = (struct pci_ecam){ .base = mcfg.alloc[i].base, .segment = mcfg.alloc[i].segment,
					  .bus_start = mcfg.alloc[i].bus_start,
					  .bus_end = mcfg.alloc[i].bus_end };
	int n = pci_init(r, mcfg.n);
	if (n < 0)
		log_err("pci: enumeration failed: %s", error_name(n));
}

/* DMA remapping from the DMAR table: after PCI (scopes name bridges) and SMP (the fault event
 * goes to a chosen CPU). */
static void __boot iommu_setup(void)
{
	iommu_init(dmar ? phys_to_virt(dmar->pa) : NULL, dmar ? dmar->len : 0,
		   (unsigned)options.iommu_fault_cpu, options.iommu_qi);
}

/* Interrupt remapping on the units iommu_init set up (their queues run), the device vectors
 * of every CPU online, and the I/O APICs' pins in remappable format. */
static void __boot ir_setup(void)
{
	irq_init();
	if (ir_init((unsigned)options.ir_entries) > 0)
		ir_ioapic_init(&madt);
}

static void force_fault(enum fault_kind kind);

/* Every CPU, once on its own stack: its PAT, its FPU for guests, APIC, hypercall entry, stop
 * and wake vectors, tick. */
static void cpu_local_init(void)
{
	vm_cpu_init();
	fpu_cpu_init();
	apic_cpu_init();
	hypercall_cpu_init();
	stop_install_handler();
	smp_local_init();
	time_start_tick((unsigned)options.tick_hz, sched_tick);
}

static const struct smp_ap_ops ap_ops = { .init = cpu_local_init, .run = sched_idle };

/* Ring 3 is where guests run: an exception there stops that guest only. */
static void guest_fault(struct trap_frame *frame) { guest_crash(this_cpu()->current, frame); }

static const struct trap_user_ops guest_trap_ops = {
	.fault = guest_fault,
	.resume = sched_return_to_user,
};

static void __noreturn kmain_on_stack(void)
{
	struct percpu *bsp = this_cpu();

	/* Now on the final page tables: the boot information through the direct map. */
	if (mb2_parse(phys_to_virt(mb_pa), mb_len, &mb) < 0)
		log_warn("boot: boot information partly unusable (see above)");
	if (gdt_prepare(bsp))
		panic("cannot allocate the boot CPU's exception stacks");
	gdt_load(bsp);
	report("mem usable=%llu", (unsigned long long)mm_usable_bytes());

	acpi_setup();
	bool x2apic_opt_out;
	if (apic_global_init(apic_preference(&x2apic_opt_out)))
		panic("no usable local APIC");
	if (x2apic_opt_out && options.apic == APIC_PREF_AUTO)
		log_info("apic: the DMAR asks the OS not to enable x2APIC (X2APIC_OPT_OUT): %s",
			 apic_mode() == APIC_MODE_XAPIC ? "staying in xAPIC mode" :
			 "but firmware handed over in x2APIC mode, which only a reset leaves");
	apic_cpu_init();
	bsp->apic_id = apic_id();
	if (time_calibrate())
		panic("no time reference");
	bench_mark(BENCH_CALIBRATED);
	cpu_local_init();
	bsp->online = true;
	irq_enable();

	unsigned online = smp_boot(&madt, (unsigned)options.maxcpus, &ap_ops);
	bench_mark(BENCH_SMP_DONE);
	log_info("smp: %u CPUs online, local APIC in %s mode", online, apic_mode_name());
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpu_at(i)->online)
			report("cpu index=%u apic=%u mode=%s", i, cpu_at(i)->apic_id, apic_mode_name());

	console_hold_screen(true);      /* BAR sizing turns the framebuffer's decoding off */
	pci_setup();
	console_hold_screen(false);
	iommu_setup();
	ir_setup();
	guest_msg_set_storm_rate(options.storm_rate);
	guest_msg_set_forward(options.route == ROUTE_FORWARD);
	route_set_log_moves(options.log_moves);
	route_set_shared_vectors(options.shares && options.shared_vectors);
	guest_msg_set_shares(options.shares);
	guests_create(&mb);

	if (options.selftests & SELFTEST_SMP)
		selftest_smp();
	if (options.selftests & SELFTEST_DMA)
		selftest_dma();
	if (options.selftests & SELFTEST_MSI)
		selftest_msi();
	if (options.fault != FAULT_NONE)
		force_fault((enum fault_kind)options.fault);

	/* From here the console is a ring drained with interrupts on (kernel/cpu/console.h). */
	console_async();
	bench_mark(BENCH_GUESTS_START);
	guests_start();
	/* From here the idle loop ends the run: exit=idle once every guest has ended, exit=<ms>
	 * from the tick. */
	struct sched_policy policy = {
		.move_ms = options.move_ms,
		.end_when_idle = options.exit_mode == EXIT_IDLE,
		.end_after_ms = options.exit_mode == EXIT_AFTER_MS ? options.exit_ms : 0,
		.end_run = run_end,
	};
	sched_boot_done(&policy);
	if (options.exit_mode == EXIT_NEVER)
		log_info("boot complete (exit=idle or exit=<ms> would end the run)");
	sched_idle();
}

static void __noreturn run_on_stack(uint64_t top, void (*fn)(void))
{
	__asm__ volatile("mov %0, %%rsp\n\txor %%ebp, %%ebp\n\tcall *%1\n\tud2"
			 :: "r"(top), "r"(fn) : "memory");
	__builtin_unreachable();
}

void __noreturn kmain(uint32_t magic, uint32_t info_pa)
{
	struct percpu *bsp = &percpu_area[0];

	bench_mark(BENCH_KMAIN);
	bsp->self = bsp;
	wrmsr(MSR_GS_BASE, (uint64_t)bsp);
	console_init();
	idt_init();
	trap_set_user_ops(&guest_trap_ops);
	idt_load();
	log_info("Courier hypervisor, multiboot2 magic %#x, boot information at %#x", magic, info_pa);

	/* Still on the boot page tables: the first 4 GiB are identity mapped. */
	mb_pa = info_pa;
	mb_len = MIN(*(const uint32_t *)(uint64_t)info_pa, MB2_INFO_MAX);
	if (mb2_parse((const void *)(uint64_t)info_pa, mb_len, &mb) < 0)
		log_err("boot: malformed boot information; using what was valid");
	if (!mb.have_mmap || !mb.n_mmap)
		panic("boot: the boot loader gave no memory map");
	log_info("boot: loader '%s', command line '%s'", mb.bootloader, mb.cmdline);
	options_parse(mb.cmdline);
	console_set_serial((uint16_t)options.console_port, (uint32_t)options.console_baud);

	uint64_t direct_top;
	collect_memory(&direct_top);
	smp_set_trampoline_page(find_trampoline_page());
	struct vm_boot_params vp = { usable, n_usable, reserved, n_reserved, direct_top };
	struct vm_init_ret v = vm_init(&vp);
	if (v.err)
		panic("vm: cannot build the page tables: %s", error_name(v.err));
	reserve(v.early_start, v.early_end);
	/* The page tables vm_init built: no device may ever reach them. */
	iommu_protect_early(v.early_start, v.early_end);
	if (mm_init(usable, n_usable, reserved, n_reserved) < 0)
		panic("mm: cannot set up the frame allocator");
	vm_cpu_init();
	console_set_fb(&mb);

	uint64_t bottom;
	bsp->stack_top = vm_alloc_stack(KSTACK_SIZE, &bottom);
	bsp->stack_bottom = bottom;
	if (!bsp->stack_top)
		panic("mm: no memory for the boot CPU's stack");
	run_on_stack(bsp->stack_top, kmain_on_stack);
}

/* ---- fault=: test-only forced exceptions ---------------------------------------------------- */

#define NONCANONICAL_ADDR 0x8000000000000000ull
#define STACK_EATER_BYTES 1024

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
/* Recurses until it runs into the guard page below the stack: that is the point. */
static unsigned __attribute__((noinline)) eat_stack(volatile unsigned depth)
{
	volatile char pad[STACK_EATER_BYTES];
	pad[0] = (char)depth;
	return eat_stack(depth + 1) + pad[0];
}
#pragma GCC diagnostic pop

static void force_fault(enum fault_kind kind)
{
	log_info("fault: forcing a %s exception as the command line asked", kind == FAULT_STACK ?
		 "stack overflow" : "test");
	switch (kind) {
	case FAULT_DE:
		__asm__ volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" ::: "eax", "ecx", "edx");
		break;
	case FAULT_UD:
		__asm__ volatile("ud2");
		break;
	case FAULT_GP:
		(void)*(volatile uint64_t *)NONCANONICAL_ADDR;
		break;
	case FAULT_PF: {
		/* Nothing is mapped at 0 after boot; the asm hides the null pointer from the
		 * optimiser, which would otherwise turn the store into a trap instruction. */
		volatile uint64_t *p;
		__asm__ volatile("xor %k0, %k0" : "=r"(p));
		*p = 0;
		break;
	}
	case FAULT_STACK:
		eat_stack(0);
		break;
	case FAULT_NONE:
		break;
	}
	log_err("fault: the forced exception did not happen");
}
