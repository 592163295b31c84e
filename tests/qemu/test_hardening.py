"""A guest must not be able to stall a CPU or flood the hypervisor's report.

- console flood: 64 KiB of "x\\n" in 64 KiB console writes. It used to be one hypercall with
  interrupts off for the whole of it (a 2 s gap for a bystander on its CPU here, minutes on a
  real UART); now each call takes at most 512 bytes and ends with the guest's slice, and every
  one of its 32,768 lines still arrives.
- move flood: 20,000 self-moves. Every move used to print `@guest ... moved`; now a guest's own
  requests print at a bounded rate and the rest are counted in `@stat ... reports_dropped=`.
Both next to a pingpong pair on other CPUs that must count every event exactly.
- the numbers, where they are exact: with `-icount shift=0` the clock counts instructions, so
  on one CPU the longest stretch any hypercall keeps interrupts off (`@tick irqoff_max_us=`) and
  the longest a bystander ticker (guests/ticker) waits are figures of the code, not of the
  host's load. With both floods and 200,000 hostile hypercalls on its CPU, no hypercall may
  keep interrupts off longer than 50 us, and the ticker waits at most the others' slices.
"""
from courier import scenario
from test_guests import (boot, check_exited, check_healthy, check_pingpong, elf, guest_records,
                         pingpong_pair, result_line, stat, texts)

TICK_MS = 1500
ROUNDS = 2000
CONSOLE_BYTES = 65536
MOVES = 20000
REPORT_BURST, REPORT_PER_S = 64, 32     # kernel/guest/guest.c guest_may_report


def flood_boot(flooder):
    """A ticker first on CPU 1 (a bystander sharing the flooder's CPU), then the flooder."""
    mods = [(elf("ticker"), f"name=tick cpu=1 ms={TICK_MS}"), flooder]
    mods += pingpong_pair("ping", "pong", (0, 2), ROUNDS)
    r = boot("exit=idle", smp=3, modules=mods, timeout=60)
    check_healthy(r)
    r.check_done(0)
    check_pingpong(r, "ping", "pong", ROUNDS)
    result_line(r, "tick", "ticker", has=("max_gap_us",), guest="tick", ms=TICK_MS)
    check_exited(r, "tick")
    assert not r.records("log"), f"console lines dropped: {[x.line() for x in r.records('log')]}"
    return r


def console_flood():
    r = flood_boot((elf("flood"), f"name=fc cpu=1 kind=console bytes={CONSOLE_BYTES}"))
    result_line(r, "fc", "flood", guest="fc", kind="console", done=CONSOLE_BYTES, result="pass")
    xs = sum(1 for t in texts(r, "fc") if t == "x")
    assert xs == CONSOLE_BYTES // 2, f"{xs} 'x' lines of the flood arrived, it wrote " \
        f"{CONSOLE_BYTES // 2}"
    check_exited(r, "fc")


def move_flood():
    r = flood_boot((elf("flood"), f"name=fm cpu=1 kind=moves count={MOVES}"))
    result_line(r, "fm", "flood", guest="fm", kind="moves", done=MOVES, result="pass")
    check_exited(r, "fm")
    moved = [g for g in guest_records(r, "fm") if g.get("reason") == "moved"]
    dropped = stat(r, "fm").int("reports_dropped")
    assert len(moved) + dropped == MOVES, \
        f"{len(moved)} @guest moved records + {dropped} dropped != {MOVES} moves"
    # The burst, then REPORT_PER_S a second: the run is far shorter than a minute.
    assert REPORT_BURST <= len(moved) <= REPORT_BURST + REPORT_PER_S * 60, \
        f"{len(moved)} of {MOVES} self-moves were printed: not rate-limited as guest_may_report says"


IRQOFF_MAX_US = 50              # the hardening issue's target
TIMESLICE_MS = 10               # kernel/guest/sched.c


def irqoff_icount():
    """One CPU, icount: the ticker, both floods and a hostile guest take turns."""
    mods = [(elf("ticker"), "name=tick ms=1000"),
            (elf("flood"), f"name=fc kind=console bytes={CONSOLE_BYTES}"),
            (elf("flood"), "name=fm kind=moves count=2000"),
            (elf("hostile"), "name=host count=200000")]
    r = boot("exit=idle", smp=1, modules=mods, qemu_args=["-icount", "shift=0"], timeout=120)
    check_healthy(r)
    r.check_done(0)
    for n in ("tick", "fc", "fm", "host"):
        check_exited(r, n)
    result_line(r, "host", "hostile", has=("calls",), guest="host", unexpected=0, result="pass")
    (tick,) = r.records("tick")
    off = tick.int("irqoff_max_us")
    assert off <= IRQOFF_MAX_US, f"a hypercall kept interrupts off {off} us (hypercall " \
        f"{tick['irqoff_hypercall']}); at most {IRQOFF_MAX_US} us allowed"
    gap = int(result_line(r, "tick", "ticker", has=("max_gap_us",), guest="tick")["max_gap_us"])
    others = len(mods) - 1
    assert gap <= (others * TIMESLICE_MS + 5) * 1000, \
        f"the ticker waited {gap} us: more than the {others} others' slices"



scenario(globals(), "console_flood", console_flood, cost=3, timeout=150)
scenario(globals(), "move_flood", move_flood, cost=3, timeout=150)
scenario(globals(), "irqoff_icount", irqoff_icount, cost=4, timeout=240)
