"""restart=on: a guest that crashes starts again, its devices attached again and its messages
bound again by its program, while the others go on.

phoenix (guests/edu with crash_at_end) runs its edu checks (DMA through its domain, its message
bound and raised, a DMA-done interrupt) and then reads a hypervisor address; loop (guests/crash
kind=ud) faults at once. Both have restart=on: each is started again from its module after
every crash, RESTART_MAX (8) times (kernel/guest/guest.c, "Restarts"), and then stays crashed
with a warning. Every one of phoenix's nine runs must pass every edu check; a pingpong pair on
the other CPUs counts exactly throughout.
"""
from courier import scenario
from test_guests import (boot, check_healthy, check_pingpong, elf, guest_records,
                         pingpong_pair, stat, texts)

RESTARTS = 8
RUNS = RESTARTS + 1


def states(r, name):
    return [(g["state"], g["reason"]) for g in guest_records(r, name)]


def check_restarts(r, name, fault):
    want = [("running", "-")]
    for n in range(1, RESTARTS + 1):
        want += [("crashed", None), ("restarted", f"restart({n})")]
    want.append(("crashed", None))
    got = states(r, name)
    assert len(got) == len(want) and all(
        g[0] == w[0] and (w[1] is None or g[1] == w[1]) for g, w in zip(got, want)), \
        f"{name}: @guest states {got}"
    assert all(reason.startswith(fault) for state, reason in got if state == "crashed"), got
    st = stat(r, name)
    assert st["state"] == "crashed" and st.int("restarts") == RESTARTS, st.line()
    stays = [l for l in r.lines if f"guest {name}: crashed {RUNS} times" in l]
    assert len(stays) == 1, f"no 'stays crashed' warning for {name}"


def restart():
    mods = [(elf("edu"), "name=phoenix cpu=1 dev=00:10.0 msi_rounds=2 crash_at_end restart=on"),
            (elf("crash"), "name=loop cpu=2 kind=ud restart=on")]
    mods += pingpong_pair("ping", "pong", (0, 2), 500)
    r = boot("exit=idle", smp=3, modules=mods, devices=["edu,addr=0x10"], timeout=120)
    check_healthy(r)
    r.check_done(0)
    check_pingpong(r, "ping", "pong", 500)
    passes = [t for t in texts(r, "phoenix") if t.startswith("edu ") and "tests=" in t]
    assert len(passes) == RUNS and all("failed=0 result=pass" in t for t in passes), \
        f"phoenix's runs: {passes}"
    for name in ("id", "dma", "msi", "dma_irq"):
        ok = [t for t in texts(r, "phoenix") if f"test={name} " in t and "result=pass" in t]
        assert len(ok) == RUNS, f"test={name} passed {len(ok)} times in {RUNS} runs"
    check_restarts(r, "phoenix", "#PF")
    check_restarts(r, "loop", "#UD")
    binds = [b for b in r.records("bind") if b["guest"] == "phoenix"]
    assert len(binds) == RUNS, f"phoenix bound its message {len(binds)} times in {RUNS} runs"


scenario(globals(), "restart_devices_and_crash_loop", restart, cost=4, timeout=240)
