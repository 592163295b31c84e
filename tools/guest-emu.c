/*
 * guest-emu: runs Courier guests as Linux processes, for testing the guest side without the
 * hypervisor. Each guest is a forked child with the guest's memory at the guest's addresses
 * (start info, shared info, RAM: include/courier/layout.h), traced with PTRACE_SYSEMU so
 * every `syscall` it makes stops here and is answered as a hypercall (include/courier/abi.h),
 * with the hypervisor's semantics as far as a host process can have them: events, upcalls,
 * blocking, lookups across guests. No devices, so the dev_msg calls fail with ENOENT; faults
 * arrive as signals and stop the guest as "crashed". The image is checked by kernel/lib/elf.c.
 *
 *   guest-emu [-t SECONDS] ELF 'CMDLINE' [ELF 'CMDLINE']...
 *
 * Output: each guest line as "NAME| text", and "@guest name= cpu= state= reason=" records as
 * the hypervisor prints them. Exit status: the number of guests that did not exit with 0.
 * Not part of the hypervisor; host only (Linux x86-64).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "include/courier/abi.h"
#include "include/courier/layout.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/elf.h"

#define PAGE            4096ull
#define MAX_GUESTS      16
#define CPUS            4
#define SYSCALL_STOP    (SIGTRAP | 0x80)

enum state { RUNNING, BLOCKED, EXITED, CRASHED };

struct port {
	bool allocated;
	uint64_t offered_to;    /* bit g: guest g may send */
};

struct eguest {
	unsigned id, cpu;
	char name[COURIER_NAME_MAX];
	bool privileged;
	pid_t pid;
	int fd;                 /* memfd of its memory */
	enum state state;
	int64_t exit_code;
	uint8_t *mem;           /* our mapping: start page, shared page, RAM */
	uint64_t ram;
	struct courier_start_info *si;
	struct courier_shared_info *sh;
	uint64_t upcall_entry, upcall_stack;
	bool in_upcall;         /* ours, not the guest's: it may write upcall_mask itself */
	struct port ports[COURIER_EVT_PORTS];
	char line[GUEST_CONSOLE_LINE];
	unsigned line_len;
	uint64_t hypercalls, events;
};

static struct eguest guests[MAX_GUESTS];
static unsigned nguests;
static struct timespec t0;
static volatile sig_atomic_t timed_out;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("guest-emu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	for (unsigned i = 0; i < nguests; i++)
		if (guests[i].pid > 0)
			kill(guests[i].pid, SIGKILL);
	exit(125);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t.tv_nsec -
	       (uint64_t)t0.tv_nsec;
}

/* ---- module command line and loading ------------------------------------------------------ */

/* The value of key=value in cl (copied into v), or NULL. */
static const char *arg(const char *cl, const char *key, char *v, size_t n)
{
	size_t k = strlen(key);

	for (const char *p = cl; p && *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t");
		if (len > k && !strncmp(p, key, k) && p[k] == '=') {
			snprintf(v, n, "%.*s", (int)(len - k - 1), p + k + 1);
			return v;
		}
		if (len == k && !strncmp(p, key, k)) {
			snprintf(v, n, "%s", "");
			return v;
		}
		p += len;
	}
	return NULL;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *b;

	if (!f || fstat(fileno(f), &st) || !(b = malloc((size_t)st.st_size + 1)))
		die("%s: %s", path, strerror(errno));
	*len = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

static void setup_guest(struct eguest *g, const char *path, const char *cl, struct elf_image *e)
{
	char v[64], why[160];
	size_t len;
	uint8_t *img = read_file(path, &len);
	uint64_t mib = GUEST_DEFAULT_MEM_MIB, image_end = GUEST_RAM_BASE;

	if (!arg(cl, "name", g->name, sizeof(g->name)) || !g->name[0])
		die("%s: needs name=", path);
	g->cpu = arg(cl, "cpu", v, sizeof(v)) ? (unsigned)strtoul(v, NULL, 0) : 0;
	if (arg(cl, "mem", v, sizeof(v)))
		mib = strtoull(v, NULL, 0);
	if (mib < 1 || mib > GUEST_MAX_MEM_MIB)
		die("%s: mem=%llu", path, (unsigned long long)mib);
	g->privileged = arg(cl, "privileged", v, sizeof(v)) != NULL;
	g->ram = mib << 20;
	if (elf_check(img, len, GUEST_RAM_BASE, GUEST_RAM_BASE + g->ram - GUEST_STACK_BYTES, e, why,
		      sizeof(why)))
		die("%s: rejected: %s", path, why);

	g->fd = memfd_create(g->name, 0);
	if (g->fd < 0 || ftruncate(g->fd, (off_t)(2 * PAGE + g->ram)))
		die("memfd: %s", strerror(errno));
	g->mem = mmap(NULL, 2 * PAGE + g->ram, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (g->mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	g->si = (struct courier_start_info *)g->mem;
	g->sh = (struct courier_shared_info *)(g->mem + PAGE);
	for (unsigned i = 0; i < e->nsegs; i++) {
		const struct elf_segment *s = &e->segs[i];
		memcpy(g->mem + 2 * PAGE + (s->vaddr - GUEST_RAM_BASE), img + s->offset, s->filesz);
		if (ALIGN_UP(s->vaddr + s->memsz, PAGE) > image_end)
			image_end = ALIGN_UP(s->vaddr + s->memsz, PAGE);
	}
	free(img);
	*g->si = (struct courier_start_info){
		.abi_version = COURIER_ABI_VERSION, .guest_id = g->id, .cpu = g->cpu,
		.shared_info = GUEST_SHARED_INFO_VA, .mem_start = GUEST_RAM_BASE,
		.mem_end = GUEST_RAM_BASE + g->ram,
		.stack_top = GUEST_RAM_BASE + g->ram - GUEST_STACK_GAP, .heap_start = image_end,
		.heap_end = GUEST_RAM_BASE + g->ram - GUEST_STACK_BYTES,
	};
	memcpy(g->si->name, g->name, sizeof(g->name));
	snprintf(g->si->cmdline, sizeof(g->si->cmdline), "%s", cl);
}

static int seg_prot(uint32_t flags)
{
	return (flags & ELF_SEG_R ? PROT_READ : 0) | (flags & ELF_SEG_W ? PROT_WRITE : 0) |
	       (flags & ELF_SEG_X ? PROT_EXEC : 0);
}

static void map_or_die(uint64_t va, uint64_t len, int prot, int fd, uint64_t off)
{
	if (mmap((void *)va, len, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, (off_t)off) !=
	    (void *)va)
		_exit(126);
}

/*
 * In the child: the guest's memory at its addresses with its permissions (the rest of RAM,
 * heap and stack, read-write), then stop for the tracer and jump to the entry point with
 * RDI = start info and RSP = stack_top. Nothing after the stop may make a system call.
 */
static void __attribute__((noreturn)) child_run(struct eguest *g, const struct elf_image *e)
{
	uint64_t entry = e->entry, rsp = g->si->stack_top;

	map_or_die(GUEST_START_INFO_VA, PAGE, PROT_READ, g->fd, 0);
	map_or_die(GUEST_SHARED_INFO_VA, PAGE, PROT_READ | PROT_WRITE, g->fd, PAGE);
	map_or_die(GUEST_RAM_BASE, g->ram, PROT_READ | PROT_WRITE, g->fd, 2 * PAGE);
	for (unsigned i = 0; i < e->nsegs; i++) {
		uint64_t lo = ALIGN_DOWN(e->segs[i].vaddr, PAGE);
		uint64_t hi = ALIGN_UP(e->segs[i].vaddr + e->segs[i].memsz, PAGE);
		if (mprotect((void *)lo, hi - lo, seg_prot(e->segs[i].flags)))
			_exit(126);
	}
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) || raise(SIGSTOP))
		_exit(126);
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "jmp *%1"
			 : : "r"(rsp), "r"(entry), "D"(GUEST_START_INFO_VA) : "memory");
	__builtin_unreachable();
}

/* ---- output ----------------------------------------------------------------------------- */

static void report_state(struct eguest *g, const char *reason)
{
	static const char *const names[] = { "running", "blocked", "exited", "crashed" };

	printf("@guest name=%s cpu=%u state=%s reason=%s\n", g->name, g->cpu, names[g->state],
	       reason);
}

static void flush_line(struct eguest *g)
{
	if (g->line_len)
		printf("%s| %.*s\n", g->name, (int)g->line_len, g->line);
	g->line_len = 0;
}

static void console_put(struct eguest *g, const char *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\n') {
			flush_line(g);
			continue;
		}
		g->line[g->line_len++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
		if (g->line_len == sizeof(g->line))
			flush_line(g);
	}
}

static void stop_guest(struct eguest *g, enum state s, const char *reason)
{
	flush_line(g);
	g->state = s;
	report_state(g, reason);
	kill(g->pid, SIGKILL);
	waitpid(g->pid, NULL, __WALL);
	g->pid = -1;
}

/* ---- hypercalls ------------------------------------------------------------------------- */

static bool in_ram(const struct eguest *g, uint64_t va, uint64_t len)
{
	return va >= GUEST_RAM_BASE && len <= g->ram && va - GUEST_RAM_BASE <= g->ram - len;
}

static void *ram_ptr(struct eguest *g, uint64_t va)
{
	return g->mem + 2 * PAGE + (va - GUEST_RAM_BASE);
}

static struct eguest *by_id(uint64_t id)
{
	return id < nguests && guests[id].state != EXITED && guests[id].state != CRASHED ?
	       &guests[id] : NULL;
}

static bool deliverable(const struct eguest *g)
{
	for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
		if (g->sh->evt_pending[w] & ~g->sh->evt_mask[w])
			return true;
	return false;
}

static void deliver_upcall(struct eguest *g, struct user_regs_struct *r)
{
	struct courier_shared_info *s = g->sh;

	if (!g->upcall_entry || s->upcall_mask || !deliverable(g))
		return;
	/* The general registers stay as they are: the upcall saves what it uses. */
	s->frame.rip = r->rip;
	s->frame.rsp = r->rsp;
	s->frame.rflags = r->eflags;
	s->upcall_mask = 1;
	s->upcall_pending = 1;
	g->in_upcall = true;
	r->rip = g->upcall_entry;
	r->rsp = g->upcall_stack - 8;
	r->eflags = GUEST_RFLAGS_SET;
}

static void resume(struct eguest *g, struct user_regs_struct *r)
{
	deliver_upcall(g, r);
	if (ptrace(PTRACE_SETREGS, g->pid, 0, r) || ptrace(PTRACE_SYSEMU, g->pid, 0, 0))
		die("%s: ptrace: %s", g->name, strerror(errno));
}

static void raise_event(struct eguest *t, unsigned port)
{
	struct user_regs_struct r;

	__atomic_fetch_or(&t->sh->evt_pending[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
	t->events++;
	if (t->sh->evt_mask[port / 64] & 1ull << (port % 64))
		return;
	t->sh->upcall_pending = 1;
	if (t->state != BLOCKED)
		return;
	t->state = RUNNING;
	if (ptrace(PTRACE_GETREGS, t->pid, 0, &r))
		die("%s: ptrace: %s", t->name, strerror(errno));
	resume(t, &r);
}

static int64_t hc_console_write(struct eguest *g, uint64_t va, uint64_t len)
{
	if (len > GUEST_CONSOLE_WRITE_MAX)
		return -COURIER_ERANGE;
	if (!in_ram(g, va, len))
		return -COURIER_EFAULT;
	console_put(g, ram_ptr(g, va), len);
	return (int64_t)len;
}

static int64_t hc_upcall_set(struct eguest *g, uint64_t entry, uint64_t stack)
{
	if (!in_ram(g, entry, 1) || stack < 64 || !in_ram(g, stack - 64, 64) || stack % 16)
		return -COURIER_EFAULT;
	g->upcall_entry = entry;
	g->upcall_stack = stack;
	return 0;
}

/* Only from inside an upcall, which we track ourselves (the guest can write upcall_mask). */
static int64_t hc_upcall_return(struct eguest *g, struct user_regs_struct *r, bool *restored)
{
	struct courier_upcall_frame u = g->sh->frame;

	if (!g->in_upcall || u.rip >= GUEST_USER_VA_END || u.rsp >= GUEST_USER_VA_END)
		return -COURIER_EINVAL;
	/* The upcall restored the other registers before the call. */
	r->rax = u.rax; r->rcx = u.rcx; r->r11 = u.r11;
	r->rsp = u.rsp;
	r->rip = u.rip;
	r->eflags = (u.rflags & GUEST_RFLAGS_USER_MASK) | GUEST_RFLAGS_SET;
	g->sh->upcall_mask = 0;
	g->in_upcall = false;
	*restored = true;
	return 0;
}

static int64_t hc_evt_alloc(struct eguest *g)
{
	for (unsigned p = 0; p < COURIER_EVT_PORTS; p++) {
		if (!g->ports[p].allocated) {
			g->ports[p] = (struct port){ .allocated = true };
			return p;
		}
	}
	return -COURIER_ENOMEM;
}

static bool port_ok(const struct eguest *g, uint64_t port)
{
	return port < COURIER_EVT_PORTS && g->ports[port].allocated;
}

static int64_t hc_evt_unmask(struct eguest *g, uint64_t port)
{
	if (!port_ok(g, port))
		return -COURIER_ENOENT;
	__atomic_fetch_and(&g->sh->evt_mask[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
	return 0;
}

static int64_t hc_evt_offer(struct eguest *g, uint64_t port, uint64_t to)
{
	struct eguest *t = by_id(to);

	if (!t)
		return -COURIER_ENOENT;
	if (!port_ok(g, port))
		return -COURIER_ENOENT;
	g->ports[port].offered_to |= 1ull << t->id;
	return 0;
}

static int64_t hc_evt_send(struct eguest *g, uint64_t to, uint64_t port)
{
	struct eguest *t = to == COURIER_SELF ? g : by_id(to);

	if (!t || !port_ok(t, port))
		return -COURIER_ENOENT;
	if (t != g && !(t->ports[port].offered_to & 1ull << g->id))
		return -COURIER_EPERM;
	raise_event(t, (unsigned)port);
	return 0;
}

static int64_t hc_guest_lookup(struct eguest *g, uint64_t va, uint64_t len)
{
	if (len == 0 || len >= COURIER_NAME_MAX)
		return -COURIER_ERANGE;
	if (!in_ram(g, va, len))
		return -COURIER_EFAULT;
	for (unsigned i = 0; i < nguests; i++)
		if (strlen(guests[i].name) == len && !memcmp(guests[i].name, ram_ptr(g, va), len))
			return i;
	return -COURIER_ENOENT;
}

static int64_t hc_sched_move(struct eguest *g, uint64_t who, uint64_t cpu)
{
	struct eguest *t = who == COURIER_SELF ? g : by_id(who);

	if (!t)
		return -COURIER_ENOENT;
	if (t != g && !g->privileged)
		return -COURIER_EPERM;
	if (cpu >= CPUS)
		return -COURIER_EINVAL;
	t->cpu = (unsigned)cpu;
	return 0;
}

/* Answers one hypercall of a stopped guest and resumes it (unless it blocks or ends). */
static void hypercall(struct eguest *g)
{
	struct user_regs_struct r;
	uint64_t nr, a0, a1, a2;
	bool restored = false;
	int64_t ret;
	char why[48];

	if (ptrace(PTRACE_GETREGS, g->pid, 0, &r))
		die("%s: ptrace: %s", g->name, strerror(errno));
	nr = r.orig_rax, a0 = r.rdi, a1 = r.rsi, a2 = r.rdx;
	g->hypercalls++;
	switch (nr) {
	case HC_CONSOLE_WRITE: ret = hc_console_write(g, a0, a1); break;
	case HC_YIELD: ret = 0; break;
	case HC_BLOCK:
		r.rax = 0;
		/* With a deadline it returns at once, as a yield: an early return is allowed (the
		 * caller looks at the time and blocks again), and this emulator has no timer. */
		if (!deliverable(g) && !a0) {
			g->state = BLOCKED;
			if (ptrace(PTRACE_SETREGS, g->pid, 0, &r))
				die("%s: ptrace: %s", g->name, strerror(errno));
			return;
		}
		ret = 0;
		break;
	case HC_EXIT:
		g->exit_code = (int64_t)a0;
		snprintf(why, sizeof(why), "exit(%lld)", (long long)a0);
		stop_guest(g, EXITED, why);
		return;
	case HC_TIME: ret = (int64_t)now_ns(); break;
	case HC_UPCALL_SET: ret = hc_upcall_set(g, a0, a1); break;
	case HC_UPCALL_RETURN: ret = hc_upcall_return(g, &r, &restored); break;
	case HC_EVT_ALLOC: ret = hc_evt_alloc(g); break;
	case HC_EVT_UNMASK: ret = hc_evt_unmask(g, a0); break;
	case HC_EVT_OFFER: ret = hc_evt_offer(g, a0, a1); break;
	case HC_EVT_SEND: ret = hc_evt_send(g, a0, a1); break;
	case HC_GUEST_LOOKUP: ret = hc_guest_lookup(g, a0, a1); break;
	case HC_DEV_MSG_ALLOC:
	case HC_DEV_MSG_BIND:
	case HC_DEV_MSG_UNBIND: ret = -COURIER_ENOENT; break;      /* owns no devices here */
	case HC_SCHED_MOVE: ret = hc_sched_move(g, a0, a1); break;
	default: ret = -COURIER_ENOSYS; break;
	}
	(void)a2;
	if (!restored)
		r.rax = (uint64_t)ret;
	resume(g, &r);
}

/* ---- the run ------------------------------------------------------------------------------ */

static const char *signal_name(int sig)
{
	static char buf[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGTRAP: return "SIGTRAP";
	}
	snprintf(buf, sizeof(buf), "signal%d", sig);
	return buf;
}

static void crashed(struct eguest *g, int sig)
{
	struct user_regs_struct r;
	siginfo_t si = { 0 };
	char why[96];

	ptrace(PTRACE_GETREGS, g->pid, 0, &r);
	ptrace(PTRACE_GETSIGINFO, g->pid, 0, &si);
	snprintf(why, sizeof(why), "%s_at_%#llx_addr_%#llx", signal_name(sig),
		 (unsigned long long)r.rip, (unsigned long long)(uintptr_t)si.si_addr);
	stop_guest(g, CRASHED, why);
}

static struct eguest *by_pid(pid_t pid)
{
	for (unsigned i = 0; i < nguests; i++)
		if (guests[i].pid == pid)
			return &guests[i];
	return NULL;
}

static unsigned live(unsigned *blocked)
{
	unsigned n = 0;

	*blocked = 0;
	for (unsigned i = 0; i < nguests; i++) {
		n += guests[i].state == RUNNING || guests[i].state == BLOCKED;
		*blocked += guests[i].state == BLOCKED;
	}
	return n;
}

static void on_alarm(int sig)
{
	timed_out = 1;
}

static void run(void)
{
	unsigned n, blocked;

	while ((n = live(&blocked)) > 0) {
		int st;
		pid_t pid;
		struct eguest *g;

		if (blocked == n) {
			for (unsigned i = 0; i < nguests; i++)
				if (guests[i].state == BLOCKED)
					stop_guest(&guests[i], CRASHED, "blocked_forever");
			return;
		}
		pid = waitpid(-1, &st, __WALL);
		if (pid < 0 && errno == EINTR && timed_out) {
			for (unsigned i = 0; i < nguests; i++)
				if (guests[i].state == RUNNING || guests[i].state == BLOCKED)
					stop_guest(&guests[i], CRASHED, "timeout");
			return;
		}
		if (pid < 0 || !(g = by_pid(pid)))
			continue;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			g->pid = -1;
			g->state = CRASHED;
			report_state(g, "process_died");
		} else if (WIFSTOPPED(st) && WSTOPSIG(st) == SYSCALL_STOP) {
			hypercall(g);
		} else if (WIFSTOPPED(st)) {
			crashed(g, WSTOPSIG(st));
		}
	}
}

int main(int argc, char **argv)
{
	struct elf_image elfs[MAX_GUESTS];
	unsigned timeout = 60;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			die("usage: guest-emu [-t SECONDS] ELF 'CMDLINE' [ELF 'CMDLINE']...");
		timeout = (unsigned)strtoul(optarg, NULL, 0);
	}
	if (optind >= argc || (argc - optind) % 2 || (argc - optind) / 2 > MAX_GUESTS)
		die("usage: guest-emu [-t SECONDS] ELF 'CMDLINE' [ELF 'CMDLINE']... (at most %u)",
		    MAX_GUESTS);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = optind; i < argc; i += 2) {
		struct eguest *g = &guests[nguests];
		g->id = nguests;
		setup_guest(g, argv[i], argv[i + 1], &elfs[nguests]);
		nguests++;
	}
	/* Fork once all exist, so each child sees only its own memory mapped where it runs. */
	for (unsigned i = 0; i < nguests; i++) {
		struct eguest *g = &guests[i];
		int st;

		g->pid = fork();
		if (g->pid < 0)
			die("fork: %s", strerror(errno));
		if (g->pid == 0)
			child_run(g, &elfs[i]);
		if (waitpid(g->pid, &st, __WALL) != g->pid || !WIFSTOPPED(st))
			die("%s: the child did not start (could not map its memory)", g->name);
		if (ptrace(PTRACE_SETOPTIONS, g->pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
			die("ptrace: %s", strerror(errno));
		g->state = RUNNING;
		report_state(g, "-");
	}
	for (unsigned i = 0; i < nguests; i++)
		if (ptrace(PTRACE_SYSEMU, guests[i].pid, 0, 0))
			die("ptrace: %s", strerror(errno));
	/* No SA_RESTART: the alarm interrupts waitpid(). */
	sigaction(SIGALRM, &(struct sigaction){ .sa_handler = on_alarm }, NULL);
	alarm(timeout);
	run();
	for (unsigned i = 0; i < nguests; i++) {
		printf("@stat guest=%s events=%llu hypercalls=%llu state=%s\n", guests[i].name,
		       (unsigned long long)guests[i].events,
		       (unsigned long long)guests[i].hypercalls,
		       guests[i].state == EXITED ? "exited" : "crashed");
		status += guests[i].state != EXITED || guests[i].exit_code != 0;
	}
	return status;
}
