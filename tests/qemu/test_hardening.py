"""A guest must not be able to stall a CPU or flood the hypervisor's report.

A ticker guest (guests/ticker) reads the clock in a loop and keeps its largest gap: what a
bystander on the same CPU feels. It shares CPU 1 with a well-behaved CPU hog (a second ticker)
for the baseline, and with a flooding guest (guests/flood) in the other boots; a pingpong pair
on CPUs 0 and 2 must count every event exactly throughout.
- console flood: 64 KiB of "x\\n" in 64 KiB console writes. It used to be one hypercall with
  interrupts off for the whole of it (a 2 s gap here, minutes on a real UART); now each call
  takes a part and ends with the guest's slice, and every one of its 32,768 lines arrives.
- move flood: 20,000 self-moves. Every move used to print `@guest ... moved`; now a guest's own
  requests print at a bounded rate and the rest are counted in `@stat ... reports_dropped=`.
The gap may grow by the flooder's slices and TCG's noise, not by the flood's length: it must
stay within twice the baseline plus NOISE_US.
"""
from courier import scenario
from test_guests import (boot, check_exited, check_healthy, check_pingpong, elf, guest_records,
                         pingpong_pair, result_line, stat, texts)

TICK_MS = 1500
ROUNDS = 2000
NOISE_US = 20000                # TCG on a loaded host: a vCPU thread may wait for a core
CONSOLE_BYTES = 65536
MOVES = 20000
REPORT_BURST, REPORT_PER_S = 64, 32     # kernel/guest/guest.c guest_may_report


def ticker_boot(flooder):
    """The ticker first on CPU 1 (it is measuring when the flooder starts), then flooder."""
    mods = [(elf("ticker"), f"name=tick cpu=1 ms={TICK_MS}"), flooder]
    mods += pingpong_pair("ping", "pong", (0, 2), ROUNDS)
    r = boot("exit=idle", smp=3, modules=mods, timeout=60)
    check_healthy(r)
    r.check_done(0)
    check_pingpong(r, "ping", "pong", ROUNDS)
    line = result_line(r, "tick", "ticker", has=("max_gap_us",), guest="tick", ms=TICK_MS)
    check_exited(r, "tick")
    assert not r.records("log"), f"console lines dropped: {[x.line() for x in r.records('log')]}"
    return r, int(line["max_gap_us"])


def baseline():
    _, gap = ticker_boot((elf("ticker"), f"name=hog cpu=1 ms={TICK_MS}"))
    return gap


def check_gap(gap, quiet, what):
    assert gap <= 2 * quiet + NOISE_US, \
        f"{what}: the bystander on its CPU waited {gap} us at most, the baseline {quiet} us " \
        f"(allowed {2 * quiet + NOISE_US} us)"


def console_flood():
    quiet = baseline()
    r, gap = ticker_boot((elf("flood"), f"name=fc cpu=1 kind=console bytes={CONSOLE_BYTES}"))
    result_line(r, "fc", "flood", guest="fc", kind="console", done=CONSOLE_BYTES, result="pass")
    xs = sum(1 for t in texts(r, "fc") if t == "x")
    assert xs == CONSOLE_BYTES // 2, f"{xs} 'x' lines of the flood arrived, it wrote " \
        f"{CONSOLE_BYTES // 2}"
    check_exited(r, "fc")
    check_gap(gap, quiet, "console flood")


def move_flood():
    quiet = baseline()
    r, gap = ticker_boot((elf("flood"), f"name=fm cpu=1 kind=moves count={MOVES}"))
    result_line(r, "fm", "flood", guest="fm", kind="moves", done=MOVES, result="pass")
    check_exited(r, "fm")
    moved = [g for g in guest_records(r, "fm") if g.get("reason") == "moved"]
    dropped = stat(r, "fm").int("reports_dropped")
    assert len(moved) + dropped == MOVES, \
        f"{len(moved)} @guest moved records + {dropped} dropped != {MOVES} moves"
    # The burst, then REPORT_PER_S a second: the run is far shorter than a minute.
    assert REPORT_BURST <= len(moved) <= REPORT_BURST + REPORT_PER_S * 60, \
        f"{len(moved)} of {MOVES} self-moves were printed: not rate-limited as guest_may_report says"
    check_gap(gap, quiet, "move flood")


scenario(globals(), "console_flood", console_flood, cost=3, timeout=150)
scenario(globals(), "move_flood", move_flood, cost=3, timeout=150)
