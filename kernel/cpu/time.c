#include "kernel/cpu/time.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/arch/io.h"
#include "kernel/arch/mmio.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"

/* 8254 PIT (channel 2, gated through port 0x61), the reference when CPUID gives no TSC rate. */
#define PIT_HZ                  1193182
#define PIT_CH2                 0x42
#define PIT_CMD                 0x43
#define PIT_CMD_CH2_LOHI_MODE0  0xb0
#define PORT_B                  0x61
#define PORT_B_GATE2            BIT(0)
#define PORT_B_SPEAKER          BIT(1)
#define PORT_B_OUT2             BIT(5)
/* Short windows: the shortest of three rounds discards a round a preempted virtual CPU
 * stretched, and 2 ms of PIT is 2386 ticks, well under 0.1% of quantisation. */
#define PIT_CAL_US              1000    /* 1193 PIT ticks: a rate to 0.1% */
#define APIC_CAL_US             500
#define CAL_ROUNDS              3
#define PIT_WAIT_SPINS          100000000ull
#define AGREE_PERMILLE          20      /* two sources further apart than 2% get a warning */

/* IA-PC HPET 1.0a, 2.3: the general registers of the event timer block. */
#define HPET_REGS_SIZE          1024
#define HPET_GCAP_ID            0x000   /* 63:32 the main counter's period, femtoseconds */
#define HPET_GEN_CONF           0x010
#define  HPET_ENABLE_CNF        BIT(0)  /* the main counter runs */
#define HPET_MAIN_COUNTER       0x0f0
#define HPET_PERIOD_MAX_FS      100000000u      /* 2.3.4: at most 100 ns a tick */
#define HPET_CAL_NS             1000000u        /* one calibration window: 1 ms */
#define FS_PER_NS               1000000u
#define NS_PER_S                1000000000ull

#define CPUID_TSC_LEAF          0x15    /* SDM vol. 2 CPUID: TSC / crystal ratio, crystal Hz */
#define CPUID_FREQ_LEAF         0x16    /* processor base frequency, MHz */
#define CPUID_APM_LEAF          0x80000007
#define CPUID_APM_INVARIANT_TSC BIT(8)  /* EDX: the TSC runs at a constant rate in every state */

static uint64_t tsc_hz, tsc_boot, apic_timer_hz;
static const char *source = "none";
static bool by_pit;             /* the rate came from the PIT (else from CPUID) */
static uint64_t hpet_pa;        /* the HPET's registers (ACPI), 0: none */

static uint64_t tsc_from_cpuid15(void)
{
	if (cpuid(0, 0).eax < CPUID_TSC_LEAF)
		return 0;
	struct cpuid_regs r = cpuid(CPUID_TSC_LEAF, 0);
	/* EAX/EBX = TSC / crystal ratio; ECX = crystal Hz (0 when not enumerated). */
	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (uint64_t)r.ecx * r.ebx / r.eax;
}

/* The base frequency (CPUID 16h), which is the TSC's rate on CPUs with an invariant TSC. */
static uint64_t tsc_from_cpuid16(void)
{
	if (cpuid(0, 0).eax < CPUID_FREQ_LEAF)
		return 0;
	return (uint64_t)(cpuid(CPUID_FREQ_LEAF, 0).eax & 0xffff) * 1000000;
}

static bool tsc_invariant(void)
{
	return cpuid(0x80000000, 0).eax >= CPUID_APM_LEAF &&
	       (cpuid(CPUID_APM_LEAF, 0).edx & CPUID_APM_INVARIANT_TSC);
}

/* TSC cycles in PIT_CAL_US of PIT time; 0 if the PIT never counts down. */
static uint64_t pit_measure(void)
{
	uint16_t count = PIT_HZ / 1000 * PIT_CAL_US / 1000;
	uint8_t b = inb(PORT_B);

	outb(PORT_B, (b & ~PORT_B_SPEAKER) & ~PORT_B_GATE2);
	outb(PIT_CMD, PIT_CMD_CH2_LOHI_MODE0);
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	outb(PORT_B, (b & ~PORT_B_SPEAKER) | PORT_B_GATE2);   /* start counting */
	uint64_t t0 = rdtsc();
	for (uint64_t spin = 0; spin < PIT_WAIT_SPINS; spin++) {
		if (inb(PORT_B) & PORT_B_OUT2) {
			uint64_t t1 = rdtsc();
			outb(PORT_B, b);
			return t1 - t0;
		}
	}
	outb(PORT_B, b);
	return 0;
}

void time_set_hpet(uint64_t pa)
{
	hpet_pa = pa;
}

/*
 * TSC cycles a second by the HPET's main counter: three 1 ms windows, each read back to back
 * with the TSC at both ends, the median kept (a window stretched by a preempted virtual CPU
 * is dropped). 0 without an HPET, with a period outside the specification's, or a counter
 * that does not run.
 */
static uint64_t tsc_from_hpet(void)
{
	volatile uint8_t *r = hpet_pa ? mmio_map(hpet_pa, HPET_REGS_SIZE) : 0;
	if (!r)
		return 0;
	uint32_t period = (uint32_t)(mmio_read64(r + HPET_GCAP_ID) >> 32);
	if (!period || period > HPET_PERIOD_MAX_FS) {
		log_warn("time: HPET period %u fs is outside the specification's; not used", period);
		return 0;
	}
	uint64_t conf = mmio_read64(r + HPET_GEN_CONF);
	if (!(conf & HPET_ENABLE_CNF))
		mmio_write64(r + HPET_GEN_CONF, conf | HPET_ENABLE_CNF);
	uint64_t window = (uint64_t)HPET_CAL_NS * FS_PER_NS / period, hz[CAL_ROUNDS];
	for (int i = 0; i < CAL_ROUNDS; i++) {
		uint64_t c0 = mmio_read64(r + HPET_MAIN_COUNTER), t0 = rdtsc(), c1 = c0, t1 = t0;
		for (uint64_t spin = 0; c1 - c0 < window && spin < PIT_WAIT_SPINS; spin++) {
			c1 = mmio_read64(r + HPET_MAIN_COUNTER);
			t1 = rdtsc();
		}
		uint64_t ns = (c1 - c0) * period / FS_PER_NS;
		hz[i] = c1 - c0 >= window && ns ? (t1 - t0) * NS_PER_S / ns : 0;
	}
	uint64_t a = hz[0], b = hz[1], c = hz[2];
	return MAX(MIN(a, b), MIN(MAX(a, b), c));
}

static uint64_t tsc_from_pit(void)
{
	uint64_t best = 0;
	for (int i = 0; i < CAL_ROUNDS; i++) {
		uint64_t c = pit_measure();
		if (c && (!best || c < best))
			best = c;
	}
	return best * (1000000 / PIT_CAL_US);
}

/*
 * The APIC timer against the TSC. Each round reads the counter and the TSC back to back at
 * both ends, so only those two short windows can be stretched by a preempted virtual CPU (a
 * busy host under TCG stalls a vCPU for many milliseconds); the median of the rounds discards
 * a round that was stretched anyway.
 */
static uint64_t apic_timer_measure(void)
{
	uint64_t hz[CAL_ROUNDS];

	apic_write(APIC_TIMER_DIV, APIC_TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	for (int i = 0; i < CAL_ROUNDS; i++) {
		apic_write(APIC_TIMER_INIT, 0xffffffff);
		uint32_t c0 = apic_read(APIC_TIMER_CUR);
		uint64_t t0 = rdtsc();
		time_delay_us(APIC_CAL_US);
		uint32_t c1 = apic_read(APIC_TIMER_CUR);
		uint64_t t1 = rdtsc();
		hz[i] = t1 > t0 ? (uint64_t)(c0 - c1) * tsc_hz / (t1 - t0) : 0;
	}
	apic_write(APIC_TIMER_INIT, 0);
	/* Median of three. */
	uint64_t a = hz[0], b = hz[1], c = hz[2];
	return MAX(MIN(a, b), MIN(MAX(a, b), c));
}

/* A second source where there is one: the HPET, else the PIT, against CPUID; the PIT against
 * the HPET; CPUID 16h against the PIT. */
static void tsc_check(void)
{
	bool by_hpet = !strcmp(source, "hpet");
	const char *other = by_pit ? "cpuid16" : by_hpet ? "pit" : hpet_pa ? "hpet" : "pit";
	uint64_t hz = by_pit ? tsc_from_cpuid16() : by_hpet || !hpet_pa ? tsc_from_pit() :
		      tsc_from_hpet();

	if (!hz) {
		log_info("time: no second source to check the TSC rate against");
		return;
	}
	uint64_t diff = hz > tsc_hz ? hz - tsc_hz : tsc_hz - hz;
	if (diff * 1000 > tsc_hz * AGREE_PERMILLE)
		log_warn("time: the TSC runs at %llu kHz by %s but %llu kHz by %s",
			 (unsigned long long)(tsc_hz / 1000), source,
			 (unsigned long long)(hz / 1000), other);
	else
		log_info("time: %s agrees: %llu kHz", other, (unsigned long long)(hz / 1000));
}

int time_calibrate(void)
{
	tsc_boot = rdtsc();
	if ((tsc_hz = tsc_from_cpuid15()))
		source = "cpuid15";
	else if ((tsc_hz = tsc_from_cpuid16()))
		source = "cpuid16";
	else if ((tsc_hz = tsc_from_hpet()))
		source = "hpet";
	else if ((tsc_hz = tsc_from_pit()))
		source = "pit", by_pit = true;
	if (!tsc_hz) {
		log_err("time: cannot calibrate the TSC (no CPUID leaf 0x15 or 0x16, no HPET, PIT "
			"does not count)");
		return E_NOSYS;
	}
	tsc_check();
	if (!tsc_invariant())
		log_info("time: the TSC is not invariant (CPUID 80000007h EDX bit 8 clear): its rate "
			 "may change with power states");

	apic_timer_hz = apic_timer_measure();
	if (!apic_timer_hz) {
		log_err("time: the local APIC timer does not count");
		return E_NOSYS;
	}
	log_info("time: TSC %llu kHz (from %s), APIC timer %llu kHz after divide-by-16",
		 (unsigned long long)(tsc_hz / 1000), source,
		 (unsigned long long)(apic_timer_hz / 1000));
	return 0;
}

uint64_t time_us_to_cycles(uint64_t us)
{
	return us / 1000000 * tsc_hz + us % 1000000 * tsc_hz / 1000000;
}

uint64_t time_since_boot_us(void)
{
	if (!tsc_hz)
		return 0;
	uint64_t d = rdtsc() - tsc_boot;
	return d / tsc_hz * 1000000 + d % tsc_hz * 1000000 / tsc_hz;
}

uint64_t time_since_boot_ns(void)
{
	if (!tsc_hz)
		return 0;
	uint64_t d = rdtsc() - tsc_boot;
	return d / tsc_hz * 1000000000ull + d % tsc_hz * 1000000000ull / tsc_hz;
}

uint64_t time_cycles_to_ns(uint64_t cycles)
{
	return tsc_hz ? cycles / tsc_hz * 1000000000ull + cycles % tsc_hz * 1000000000ull / tsc_hz
		      : 0;
}

void time_delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + tsc_hz / 1000000 * us + (tsc_hz % 1000000) * us / 1000000;
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

/* What a tick drives (the scheduler's clock), given by the boot sequence: the same on every CPU;
 * and the APIC timer's count for one tick. */
static void (*tick_fn)(void);
static uint32_t tick_count;

#define SHORT_TICK_HZ           10000

static void tick(struct trap_frame *frame, void *arg)
{
	this_cpu()->ticks++;
	tick_fn();
}

void time_start_tick(unsigned hz, void (*on_tick)(void))
{
	tick_fn = on_tick;
	trap_set_handler(VEC_TIMER, tick, 0);
	apic_write(APIC_TIMER_DIV, APIC_TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_TIMER);
	uint64_t count = apic_timer_hz / hz;
	tick_count = count ? (uint32_t)MIN(count, 0xffffffffull) : 1;
	apic_write(APIC_TIMER_INIT, tick_count);
}

void time_tick_short(bool on)
{
	uint32_t short_count = (uint32_t)MAX(apic_timer_hz / SHORT_TICK_HZ, 1ull);

	apic_write(APIC_TIMER_INIT, on ? MIN(short_count, tick_count) : tick_count);
}
