/*
 * Creating guests from the boot modules, their life cycle and their reports. A module that is
 * not a usable guest image is rejected by name and the other guests still start.
 */
#include "kernel/guest/guest.h"
#include "kernel/lib/cmdline.h"
#include "kernel/lib/elf.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/guest/guest_dev.h"
#include "kernel/guest/guest_dma.h"
#include "kernel/guest/guest_mm.h"
#include "kernel/guest/guest_msg.h"
#include "kernel/lib/log.h"
#include "kernel/firmware/multiboot2.h"
#include "kernel/cpu/percpu.h"
#include "kernel/arch/pte.h"
#include "kernel/guest/sched.h"
#include "kernel/lib/string.h"
#include "kernel/cpu/time.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/vm.h"

struct guest guests[MAX_GUESTS];
unsigned guest_count;

const char *guest_state_name(enum guest_state s)
{
	switch (s) {
	case GUEST_LOADED: return "loaded";
	case GUEST_RUNNING: return "running";
	case GUEST_BLOCKED: return "blocked";
	case GUEST_EXITED: return "exited";
	case GUEST_CRASHED: return "crashed";
	case GUEST_REJECTED: return "rejected";
	case GUEST_RESTARTED: return "restarted";
	}
	return "unknown";
}

static void report_guest_state(const struct guest *g, enum guest_state s)
{
	report("guest name=%s cpu=%u state=%s reason=-", g->name, g->cpu, guest_state_name(s));
}

/* A guest may make the hypervisor print GUEST_REPORT_BURST records at once and
 * GUEST_REPORT_PER_S a second after that (what a person can still read; a test still counts). */
#define GUEST_REPORT_BURST      64
#define GUEST_REPORT_PER_S      32

bool guest_may_report(struct guest *g)
{
	uint64_t now = time_since_boot_us();
	uint64_t earned = (now - g->report_filled_us) * GUEST_REPORT_PER_S / 1000000;

	if (earned) {
		g->report_tokens = MIN(g->report_tokens + earned, GUEST_REPORT_BURST);
		g->report_filled_us = now;
	}
	if (g->report_tokens) {
		g->report_tokens--;
		return true;
	}
	__atomic_fetch_add(&g->reports_dropped, 1, __ATOMIC_RELAXED);
	return false;
}

/*
 * Move records. A move only notes what its record will say, under the guest's sched_lock (a
 * few stores, guest_note_move); the `@guest ... reason=moved` record is formatted later, with
 * no scheduler lock held: at the boot CPU's next tick (guests_report_moves, with interrupts
 * on), before the guest's next state record (which must come after it: guest_set_state, under
 * the guest's report_lock with interrupts off, as that record itself; at most
 * GUEST_MOVE_NOTES lines, into the console's ring), and at the end of the run. So no move
 * formats a line on its path, and each guest's records keep the order of its changes:
 * report_lock orders whoever formats them. A move record thus comes out up to a tick after
 * the move (after the move's @route lines, and maybe after the guest's own output).
 */
#define NOTE_CPU_SHIFT          8
#define NOTE_STATE              0xffu

static uint64_t noted[MAX_GUESTS / 64];         /* bit i: guests[i] has moves to report */

void guest_note_move(struct guest *g, unsigned cpu, enum guest_state s)
{
	uint64_t bit = 1ull << (g->id % 64);

	if (g->move_notes_n == GUEST_MOVE_NOTES) {
		/* cannot be at a tick's pace: counted, not lost silently */
		__atomic_fetch_add(&g->reports_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	g->move_notes[(g->move_notes_head + g->move_notes_n++) % GUEST_MOVE_NOTES] =
		cpu << NOTE_CPU_SHIFT | (uint32_t)s;
	/* The reporter clears the bit before it takes the notes under sched_lock: a bit seen
	 * set here is either still to be taken or taken after this note. */
	if (!(__atomic_load_n(&noted[g->id / 64], __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(&noted[g->id / 64], bit, __ATOMIC_RELEASE);
}

/* The oldest note of g, or false; under sched_lock, taken for just that. */
static bool take_note(struct guest *g, uint32_t *note, bool wait)
{
	uint64_t f = irq_save();

	if (wait)
		spin_lock(&g->sched_lock);
	else if (!spin_trylock(&g->sched_lock)) {
		irq_restore(f);
		return false;
	}
	bool any = g->move_notes_n > 0;
	if (any) {
		*note = g->move_notes[g->move_notes_head];
		g->move_notes_head = (g->move_notes_head + 1) % GUEST_MOVE_NOTES;
		g->move_notes_n--;
	}
	spin_unlock(&g->sched_lock);
	irq_restore(f);
	return any;
}

/* Under g->report_lock: g's noted moves reported, oldest first. wait: false at the end of a
 * run, where a stopped CPU may hold the lock. */
static void report_moves_locked(struct guest *g, bool wait)
{
	uint32_t note;

	while (take_note(g, &note, wait))
		report("guest name=%s cpu=%u state=%s reason=moved", g->name,
		       note >> NOTE_CPU_SHIFT, guest_state_name((enum guest_state)(note & NOTE_STATE)));
}

static bool any_noted(void)
{
	for (unsigned w = 0; w < ARRAY_SIZE(noted); w++)
		if (__atomic_load_n(&noted[w], __ATOMIC_RELAXED))
			return true;
	return false;
}

/* Never waits for a guest's report_lock: the tick that runs this has interrupts on, and a tick
 * nested in it must not wait for its holder. A guest whose lock is busy is marked again, for
 * the next time. */
static void report_moves(void)
{
	for (unsigned w = 0; w < ARRAY_SIZE(noted); w++) {
		for (uint64_t m = __atomic_exchange_n(&noted[w], 0, __ATOMIC_ACQ_REL); m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);
			struct guest *g = &guests[w * 64 + i];
			if (!spin_trylock(&g->report_lock)) {
				__atomic_fetch_or(&noted[w], 1ull << i, __ATOMIC_RELEASE);
				continue;
			}
			report_moves_locked(g, true);
			spin_unlock(&g->report_lock);
		}
	}
}

void guests_report_moves(void)
{
	static bool busy;               /* the boot CPU's tick, and a tick nested in it */
	uint64_t f = read_rflags();

	if (busy)
		return;
	busy = true;
	if (!any_noted()) {
		busy = false;
		return;                 /* nothing noted: interrupts stay as they are */
	}
	irq_enable();
	report_moves();
	if (!(f & RFLAGS_IF))
		irq_disable();
	busy = false;
}

/* The end of the run: every guest's notes, whatever the marks say (a tick interrupted while it
 * reported has cleared some). A stopped CPU may hold a lock: what cannot be reported then is
 * counted in reports_dropped, not lost silently. */
void guests_report_moves_at_end(void)
{
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		if (spin_trylock(&g->report_lock)) {
			report_moves_locked(g, false);
			spin_unlock(&g->report_lock);
		}
		unsigned left = __atomic_load_n(&g->move_notes_n, __ATOMIC_RELAXED);
		if (left)
			__atomic_fetch_add(&g->reports_dropped, left, __ATOMIC_RELAXED);
	}
}

/* The record goes out before the state changes: an idle CPU that sees the last guest end
 * starts ending the run at once, and the record must already be out by then. */
void guest_set_state(struct guest *g, enum guest_state s, const char *reason)
{
	if (reason) {
		size_t i = 0;
		for (; reason[i] && i + 1 < sizeof(g->reason); i++)
			g->reason[i] = reason[i] == ' ' ? '_' : reason[i];
		g->reason[i] = 0;
	}
	uint64_t f = spin_lock_irqsave(&g->report_lock);
	spin_lock(&g->sched_lock);
	__atomic_store_n(&g->state, s, __ATOMIC_RELEASE);
	unsigned cpu = g->cpu;
	spin_unlock(&g->sched_lock);
	/* The moves noted before this change come first (none after it ends: sched_move). */
	report_moves_locked(g, true);
	report("guest name=%s cpu=%u state=%s reason=%s", g->name[0] ? g->name : "-", cpu,
	       guest_state_name(s), g->reason[0] ? g->reason : "-");
	spin_unlock_irqrestore(&g->report_lock, f);
}

struct guest *guest_by_id(uint64_t id)
{
	if (id >= guest_count || guests[id].state == GUEST_REJECTED)
		return 0;
	return &guests[id];
}

struct guest *guest_by_name(const char *name, uint64_t len)
{
	for (unsigned i = 0; i < guest_count; i++)
		if (guests[i].state != GUEST_REJECTED && strlen(guests[i].name) == len &&
		    !strncmp(guests[i].name, name, len))
			return &guests[i];
	return 0;
}

static volatile unsigned reclaims_pending;     /* guests ended, not yet given back */
/* Guests inside guest_stop: their state says ended before their reclaim is counted, and a run
 * that ends when all are done must not end in between (it would lose their @reclaim). */
static volatile unsigned stops_in_progress;

bool guests_all_done(void)
{
	for (unsigned i = 0; i < guest_count; i++) {
		enum guest_state s = guests[i].state;
		if ((s != GUEST_EXITED && s != GUEST_CRASHED && s != GUEST_REJECTED) ||
		    guests[i].restart_pending)
			return false;
	}
	/* Read after the states: a stop counts itself before its state changes. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !__atomic_load_n(&stops_in_progress, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&reclaims_pending, __ATOMIC_ACQUIRE);
}

void guests_report_stats(void)
{
	guest_msgs_report();
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		if (g->state == GUEST_REJECTED)
			continue;
		/* Events are counted per port only (one count on a message's path), and kept
		 * across restarts. */
		uint64_t events = g->events_before;
		for (unsigned p = 0; p < COURIER_EVT_PORTS; p++)
			events += g->ports[p].received;
		report("stat guest=%s events=%llu hypercalls=%llu cpu_time=%llu state=%s "
		       "reports_dropped=%llu restarts=%u msgs_dropped=%llu moves=%llu batches=%llu",
		       g->name,
		       (unsigned long long)events, (unsigned long long)g->hypercalls,
		       (unsigned long long)g->cpu_time_us, guest_state_name(g->state),
		       (unsigned long long)g->reports_dropped, g->restarts,
		       (unsigned long long)g->msgs_dropped, (unsigned long long)g->moves,
		       (unsigned long long)g->batches);
		for (unsigned p = 0; p < COURIER_EVT_PORTS; p++)
			if (g->ports[p].allocated)
				report("stat guest=%s port=%u received=%llu cpu=%u", g->name, p,
				       (unsigned long long)g->ports[p].received, g->cpu);
	}
}

#define R(x) (unsigned long long)(x)

static void restart_later(struct guest *g);

void guest_crash(struct guest *g, struct trap_frame *f)
{
	char reason[64];

	fmt_snprintf(reason, sizeof(reason), "%s at %#llx", exception_name((unsigned)f->vector),
		     R(f->rip));
	/* CR2 is a page fault's address; after any other exception it is some earlier fault's. */
	uint64_t cr2 = f->vector == EXC_PF ? read_cr2() : 0;
	log_warn("guest %s: %s (vector %llu, error code %#llx, cr2 %#llx): stopped", g->name,
		 exception_name((unsigned)f->vector), R(f->vector), R(f->error), R(cr2));
	dump_registers(f);
	restart_later(g);       /* first: the run must not end for want of it */
	guest_stop(g, GUEST_CRASHED, reason);
}

static void reclaim_later(struct guest *g);

void guest_stop(struct guest *g, enum guest_state s, const char *reason)
{
	__atomic_add_fetch(&stops_in_progress, 1, __ATOMIC_ACQ_REL);
	guest_devices_quiesce(g);
	guest_console_flush(g);
	guest_set_state(g, s, reason);
	if (!g->restart_pending)
		reclaim_later(g);
	__atomic_sub_fetch(&stops_in_progress, 1, __ATOMIC_ACQ_REL);
}

/* ---- creation ---------------------------------------------------------------------------- */

static bool name_ok(const char *n)
{
	if (!n[0])
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == '-'))
			return false;
	return true;
}

static uint64_t page_flags(const struct guest *g, uint64_t va, const void *ctx)
{
	const struct elf_image *img = ctx;
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];
		if (va + PAGE_SIZE > ALIGN_DOWN(s->vaddr, PAGE_SIZE) &&
		    va < ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE))
			return PTE_P | ((s->flags & ELF_SEG_W) ? PTE_W : 0) |
			       ((s->flags & ELF_SEG_X) ? 0 : PTE_NX);
	}
	/* An unmapped page between heap and stack: an overflowing stack faults there. */
	if (va == guest_ram_end(g) - GUEST_STACK_BYTES)
		return 0;
	return PTE_P | PTE_W | PTE_NX;     /* heap and stack */
}

struct module_args {
	char name[COURIER_NAME_MAX];
	uint64_t cpu, mem;
	char devs[128];
	bool privileged, restart;
};

static int parse_module_cmdline(struct guest *g, const char *cl, struct module_args *a,
				char *why, size_t n)
{
	char v[32];

	if (cmdline_get(cl, "name", a->name, sizeof(a->name)) < 0 || !name_ok(a->name))
		return fmt_snprintf(why, n, "needs name=<letters, digits, _ or -, up to %d>",
				    COURIER_NAME_MAX - 1), E_INVAL;
	if (guest_by_name(a->name, strlen(a->name)))
		return fmt_snprintf(why, n, "a guest named '%s' exists already", a->name), E_EXIST;
	memcpy(g->name, a->name, sizeof(g->name));     /* rejected from here on, by this name */
	a->cpu = 0;
	if (cmdline_get(cl, "cpu", v, sizeof(v)) >= 0 &&
	    (cmdline_parse_u64(v, &a->cpu) < 0 || a->cpu >= cpu_count || !cpu_at(a->cpu)->online))
		return fmt_snprintf(why, n, "cpu=%s is not an online CPU (0-%u)", v, cpu_count - 1),
		       E_INVAL;
	a->mem = GUEST_DEFAULT_MEM_MIB;
	if (cmdline_get(cl, "mem", v, sizeof(v)) >= 0 &&
	    (cmdline_parse_u64(v, &a->mem) < 0 || a->mem < 1 || a->mem > GUEST_MAX_MEM_MIB))
		return fmt_snprintf(why, n, "mem=%s is not 1-%u MiB", v, GUEST_MAX_MEM_MIB), E_INVAL;
	a->devs[0] = 0;
	if (cmdline_get(cl, "dev", a->devs, sizeof(a->devs)) == E_RANGE)
		return fmt_snprintf(why, n, "dev= list too long"), E_RANGE;
	a->privileged = cmdline_get(cl, "privileged", v, sizeof(v)) >= 0;
	a->restart = false;
	if (cmdline_get(cl, "restart", v, sizeof(v)) >= 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fmt_snprintf(why, n, "restart=%s is not on or off", v), E_INVAL;
		a->restart = !strcmp(v, "on");
	}
	return 0;
}

static void fill_start_info(struct guest *g, const struct elf_image *img, const char *cl)
{
	struct courier_start_info *si = g->start;
	uint64_t image_end = GUEST_RAM_BASE;

	for (unsigned i = 0; i < img->nsegs; i++)
		image_end = MAX(image_end, ALIGN_UP(img->segs[i].vaddr + img->segs[i].memsz, PAGE_SIZE));
	si->abi_version = COURIER_ABI_VERSION;
	si->guest_id = g->id;
	memcpy(si->name, g->name, sizeof(si->name));
	si->cpu = g->cpu;
	si->shared_info = GUEST_SHARED_INFO_VA;
	si->mem_start = GUEST_RAM_BASE;
	si->mem_end = guest_ram_end(g);
	si->stack_top = si->mem_end - GUEST_STACK_GAP;
	si->heap_start = image_end;
	si->heap_end = si->mem_end - GUEST_STACK_BYTES;
	size_t n = MIN(strlen(cl), sizeof(si->cmdline) - 1);
	memcpy(si->cmdline, cl, n);
	si->cmdline[n] = 0;
}

/* The image's segments into the guest's (zeroed) RAM, its start info, its first context. */
static int load_image(struct guest *g, const struct elf_image *elf, const uint8_t *img,
		      const char *cl, char *why, size_t n)
{
	for (unsigned i = 0; i < elf->nsegs; i++) {
		const struct elf_segment *s = &elf->segs[i];
		if (guest_copy_to(g, s->vaddr, img + s->offset, s->filesz))
			return fmt_snprintf(why, n, "segment %u does not fit", i), E_RANGE;
	}
	fill_start_info(g, elf, cl);
	fpu_state_init(&g->fpu);
	g->report_tokens = GUEST_REPORT_BURST;
	g->ctx = (struct trap_frame){
		.rip = elf->entry, .rsp = g->start->stack_top, .rdi = GUEST_START_INFO_VA,
		.cs = SEL_UCODE | SEL_RPL3, .ss = SEL_UDATA | SEL_RPL3,
		.rflags = GUEST_RFLAGS_SET,
	};
	return 0;
}

static int load(struct guest *g, const uint8_t *img, size_t len, const char *cl, char *why,
		size_t n)
{
	struct module_args a;
	struct elf_image elf;
	int err = parse_module_cmdline(g, cl, &a, why, n);

	if (err)
		return err;
	g->cpu = (unsigned)a.cpu;
	g->mem_mib = a.mem;
	g->privileged = a.privileged;
	g->restart = a.restart;
	g->image = img;
	g->image_len = len;
	g->cmdline = cl;
	uint64_t ram_end = GUEST_RAM_BASE + (a.mem << 20);
	if (ram_end - GUEST_RAM_BASE <= GUEST_STACK_BYTES)
		return fmt_snprintf(why, n, "mem=%llu leaves no room", R(a.mem)), E_RANGE;
	err = elf_check(img, len, GUEST_RAM_BASE, ram_end - GUEST_STACK_BYTES, &elf, why, n);
	if (err)
		return err;
	if ((err = guest_mm_init(g)) || (err = guest_mm_map_ram(g, page_flags, &elf)))
		return fmt_snprintf(why, n, "no memory for %llu MiB: %s", R(a.mem), error_name(err)),
		       err;
	if ((err = load_image(g, &elf, img, cl, why, n)))
		return err;
	return guest_devices_assign(g, a.devs, why, n);
}

/* ---- giving back -------------------------------------------------------------------------
 *
 * A guest that has ended for good (exited, or crashed with no restart to come) gives back its
 * frames (guest_mm_release) and its VT-d domain (guest_dma_release), with `@reclaim guest=
 * frames=`. Not at once: another CPU may still be inside a handler or hypercall that looked at
 * the guest before it ended (an event being raised into its shared-info page). Those run with
 * interrupts off and end before their CPU takes another tick, so the boot CPU's tick gives the
 * guest back once every online CPU has taken two ticks since it ended and none runs it. A
 * rejected module's guest never ran: it gives back at once.
 */
static void reclaim_later(struct guest *g)
{
	for (unsigned i = 0; i < cpu_count; i++)
		g->ended_ticks[i] = __atomic_load_n(&cpu_at(i)->ticks, __ATOMIC_ACQUIRE);
	__atomic_store_n(&g->reclaim_pending, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&reclaims_pending, 1, __ATOMIC_ACQ_REL);
}

static void give_back(struct guest *g)
{
	guest_dma_release(g);
	unsigned frames = guest_mm_release(g);
	report("reclaim guest=%s frames=%u", g->name, frames);
}

static bool quiet_since_end(const struct guest *g)
{
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpu_at(i)->online &&
		    __atomic_load_n(&cpu_at(i)->ticks, __ATOMIC_ACQUIRE) < g->ended_ticks[i] + 2)
			return false;
	return !g->on_cpu;
}

void guests_reclaim_due(void)
{
	static volatile bool reclaiming;

	if (!__atomic_load_n(&reclaims_pending, __ATOMIC_ACQUIRE) ||
	    __atomic_exchange_n(&reclaiming, true, __ATOMIC_ACQ_REL))
		return;
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		if (!g->reclaim_pending || !quiet_since_end(g))
			continue;
		uint64_t fl = read_rflags();
		irq_enable();           /* thousands of frames: with interrupts on */
		give_back(g);
		if (!(fl & RFLAGS_IF))
			irq_disable();
		__atomic_store_n(&g->reclaim_pending, false, __ATOMIC_RELEASE);
		__atomic_sub_fetch(&reclaims_pending, 1, __ATOMIC_ACQ_REL);
	}
	__atomic_store_n(&reclaiming, false, __ATOMIC_RELEASE);
}

/* ---- restarts ------------------------------------------------------------------------------
 *
 * restart=on: a guest that crashed starts again from its module, in the same frames, address
 * space and VT-d domain (nothing of it is freed, so a late write of another CPU into its pages,
 * an event raised just as it crashed, still lands in its own memory): RAM zeroed and loaded
 * again, start info and shared info as new, ports and upcall state reset, its devices attached
 * to its domain again with bus mastering on; its program asks for its messages again. The n-th
 * restart waits RESTART_DELAY_US << n (a guest that crashes at once does not spin a CPU), and
 * after RESTART_MAX restarts it stays crashed. `@guest ... state=restarted reason=restart(<n>)`.
 */
#define RESTART_MAX             8
#define RESTART_DELAY_US        5000

static volatile unsigned restarts_pending;

static void restart_later(struct guest *g)
{
	if (!g->restart)
		return;
	if (g->restarts == RESTART_MAX) {
		log_warn("guest %s: crashed %u times after restarts; it stays crashed", g->name,
			 RESTART_MAX + 1);
		return;
	}
	g->restart_at_us = time_since_boot_us() + ((uint64_t)RESTART_DELAY_US << g->restarts);
	__atomic_store_n(&g->restart_pending, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&restarts_pending, 1, __ATOMIC_ACQ_REL);
}

static int reload(struct guest *g)
{
	struct elf_image elf;
	char why[96];
	uint64_t ram_end = guest_ram_end(g);
	int err = elf_check(g->image, g->image_len, GUEST_RAM_BASE, ram_end - GUEST_STACK_BYTES,
			    &elf, why, sizeof(why));

	if (err) {
		log_err("guest %s: cannot restart: %s", g->name, why);
		return err;
	}
	for (uint64_t i = 0; i < g->nframes; i++)
		memset(phys_to_virt(g->frames[i]), 0, PAGE_SIZE);
	memset(g->shared, 0, PAGE_SIZE);       /* the start info is written again, devices kept */
	for (unsigned p = 0; p < COURIER_EVT_PORTS; p++)
		g->events_before += g->ports[p].received;
	memset(g->ports, 0, sizeof(g->ports));
	g->grant_port = -1;
	g->upcall_entry = g->upcall_stack = 0;
	g->in_upcall = false;
	g->line_len = 0;
	g->exit_code = 0;
	g->need_resched = false;
	if ((err = load_image(g, &elf, g->image, g->cmdline, why, sizeof(why)))) {
		log_err("guest %s: cannot restart: %s", g->name, why);
		return err;
	}
	if (g->ndevs && (err = guest_devices_confine(g))) {
		log_err("guest %s: cannot restart: its devices' DMA cannot be confined: %s",
			g->name, error_name(err));
		return err;
	}
	guest_msgs_boot_grants(g);      /* its grants at boot went when it crashed */
	return 0;
}

void guests_restart_due(void)
{
	static volatile bool restarting;        /* one CPU, one pass at a time */

	if (!__atomic_load_n(&restarts_pending, __ATOMIC_ACQUIRE) ||
	    __atomic_exchange_n(&restarting, true, __ATOMIC_ACQ_REL))
		return;
	uint64_t now = time_since_boot_us();
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		/* Not before the CPU it crashed on has switched away from it. */
		if (!g->restart_pending || now < g->restart_at_us || g->on_cpu || g->on_rq)
			continue;
		/* Zeroing and loading its RAM takes a while: with interrupts on (no lock is held,
		 * and nothing runs g meanwhile). */
		uint64_t fl = read_rflags();
		irq_enable();
		int err = reload(g);
		if (!(fl & RFLAGS_IF))
			irq_disable();
		if (!err) {
			char reason[24];
			fmt_snprintf(reason, sizeof(reason), "restart(%u)", ++g->restarts);
			guest_set_state(g, GUEST_RESTARTED, reason);
		}
		/* Only once it is no longer crashed (or stays so): the run must not end for want
		 * of it; and before it runs, as it may crash (and ask for this again) at once. */
		__atomic_store_n(&g->restart_pending, false, __ATOMIC_RELEASE);
		__atomic_sub_fetch(&restarts_pending, 1, __ATOMIC_ACQ_REL);
		if (!err)
			sched_start(g);
	}
	__atomic_store_n(&restarting, false, __ATOMIC_RELEASE);
}

void guests_create(const struct mb2_info *mb)
{
	for (unsigned i = 0; i < mb->n_modules && guest_count < MAX_GUESTS; i++) {
		const struct mb2_module *m = &mb->modules[i];
		struct guest *g = &guests[guest_count];
		char why[128] = "";

		memset(g, 0, sizeof(*g));
		g->id = guest_count++;
		g->grant_port = -1;
		g->cpu = 0;
		int err = load(g, phys_to_virt(m->start), m->end - m->start, m->cmdline, why,
			       sizeof(why));
		if (err) {
			log_err("guest module %u ('%s'): rejected: %s", i, m->cmdline, why);
			if (!g->name[0])
				fmt_snprintf(g->name, sizeof(g->name), "module%u", i);
			guest_devices_release(g);
			guest_set_state(g, GUEST_REJECTED, why);
			give_back(g);
			continue;
		}
		log_info("guest %s: %llu MiB on cpu %u, entry %#llx", g->name, R(g->mem_mib), g->cpu,
			 R(g->ctx.rip));
		g->state = GUEST_LOADED;
	}
	if (mb->n_modules > MAX_GUESTS)
		log_err("guests: only %u of %u modules loaded", MAX_GUESTS, mb->n_modules);
}

void guests_start(void)
{
	unsigned loaded = 0;
	for (unsigned i = 0; i < guest_count; i++)
		loaded += guests[i].state == GUEST_LOADED;
	guest_msg_shares(loaded);
	for (unsigned i = 0; i < guest_count; i++)
		if (guests[i].state == GUEST_LOADED)
			guest_msgs_boot_grants(&guests[i]);
	report("frames free=%llu at=start", (unsigned long long)mm_free_bytes());
	for (unsigned i = 0; i < guest_count; i++) {
		if (guests[i].state == GUEST_LOADED) {
			report_guest_state(&guests[i], GUEST_RUNNING);
			sched_start(&guests[i]);
		}
	}
}
