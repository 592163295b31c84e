"""Prompt delivery to a busy CPU: an event (or device message) for a guest blocked on a CPU
where another guest is running does not wait for the end of that guest's 10 ms slice.

A pingpong pair with pong sharing CPU 1 with a spinning ticker (guests/ticker, which never
blocks): each ping wakes pong, which must run at once (it is boosted to the head of its CPU's
queue and the ticker is asked to give way), answer, and block again. A round must take far
less than a slice; before the boost it took about two thirds of one (6.7 ms a round here).
The same with ping on pong's CPU too (the sender gives way), and the ticker must still run
(its own line, its samples).
"""
from courier import scenario
from test_guests import boot, check_exited, check_healthy, check_pingpong, elf, pingpong_pair
from test_guests import result_line

ROUNDS = 300
SLICE_NS = 10_000_000           # kernel/guest/sched.c TIMESLICE_US


def busy(cpus, ping_cpu):
    mods = pingpong_pair("ping", "pong", (ping_cpu, 1), ROUNDS)
    mods.append((elf("ticker"), "name=spin cpu=1 ms=2000"))
    r = boot("exit=idle", smp=cpus, modules=mods, timeout=90)
    check_healthy(r)
    r.check_done(0)
    check_pingpong(r, "ping", "pong", ROUNDS)
    ns = int(result_line(r, "ping", "pingpong", has=("ns_per_round",), guest="ping")
             ["ns_per_round"])
    assert ns < SLICE_NS // 4, \
        f"{ns} ns a round with pong's CPU busy: the woken guest waited for the slice to end"
    spin = result_line(r, "spin", "ticker", has=("samples",), guest="spin")
    assert int(spin["samples"]) > 0
    check_exited(r, "spin")


scenario(globals(), "delivery_busy_cpu", lambda: busy(2, 0), cost=2, timeout=120)
scenario(globals(), "delivery_busy_same_cpu", lambda: busy(2, 1), cost=2, timeout=120)
