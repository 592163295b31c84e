"""Device message storms and masked ports: a message is held at its source, not taken as
millions of interrupts.

The edu guest (guests/edu) raises its message 100,000 times as fast as it can (storm=), or
masks its port and raises it 20 times (mask_rounds=); edu has no per-vector mask, so the
hypervisor holds the message by making its IRTE not present (msi/route.c route_mask). Counted
by the hypervisor (@stat ... port= received=) and checked next to a pingpong pair that must
count every event exactly:
- storm (storm_rate=1000): `@storm ... state=held`, then `state=released`; of the 100,000 raises
  only a window's worth per hold reach the hypervisor; the guest's message works afterwards.
- storm_rate=0: no storm is looked for (the raises all arrive).
- masked port: exactly one raise reaches the hypervisor while the port is masked (the first,
  which holds the source); unmasked, its pending event and the next raise arrive.
Before this, every raise was an interrupt and an event (100,006 and 27 here).
"""
from courier import scenario
from test_guests import (boot, check_exited, check_healthy, check_pingpong, edu_tests, elf,
                         pingpong_pair, port_stats)

ROUNDS = 5
STORM = 100000
MASK_ROUNDS = 20
DEVICES = ["edu,addr=0x10"]


def edu_boot(cmdline, extra):
    mods = [(elf("edu"), f"name=edu cpu=1 dev=00:10.0 msi_rounds={ROUNDS} {extra}")]
    mods += pingpong_pair("ping", "pong", (0, 2), 1000)
    r = boot(cmdline, smp=3, modules=mods, devices=DEVICES, timeout=90)
    check_healthy(r)
    r.check_done(0)
    check_pingpong(r, "ping", "pong", 1000)
    check_exited(r, "edu")
    tests = edu_tests(r, "edu")
    failed = {t: d for t, d in tests.items() if d["result"] not in ("pass", "issued")}
    assert not failed, f"edu tests failed: {failed}"
    (port, rec), = port_stats(r, "edu").items()
    return r, tests, rec.int("received")


def storm():
    r, tests, received = edu_boot("exit=idle storm_rate=1000", f"storm={STORM}")
    assert tests["storm"]["raised"] == str(STORM), tests["storm"]
    states = [s["state"] for s in r.records("storm")]
    assert "held" in states and states[-1] == "released", \
        f"@storm states {states}: expected holds, the last one released"
    assert all(s["dev"].endswith("00:10.0") and s["guest"] == "edu" and s["msg"] == "0"
               for s in r.records("storm")), [s.line() for s in r.records("storm")]
    # Each hold lets at most about one window's worth (10 here) through, plus one in flight.
    holds = states.count("held")
    assert received <= ROUNDS + 1 + holds * 12, \
        f"{received} messages reached the hypervisor through {holds} holds of {STORM} raises"


def storm_off():
    r, tests, received = edu_boot("exit=idle storm_rate=0", "storm=2000")
    assert not r.records("storm"), [s.line() for s in r.records("storm")]
    assert received == ROUNDS + 1 + 2000, f"{received} arrived, {ROUNDS + 1 + 2000} were raised"


def masked_port():
    r, tests, received = edu_boot("exit=idle", f"mask_rounds={MASK_ROUNDS}")
    t = tests["port_mask"]
    assert t["masked_events"] == "0" and t["pending"] == "1" and t["again"] == "1", t
    # msi rounds, dma_irq, the one masked raise that held it, the raise after unmasking.
    assert received == ROUNDS + 1 + 1 + 1, \
        f"{received} messages reached the hypervisor, {ROUNDS + 3} expected: the source was " \
        f"not held while the port was masked"
    assert not r.records("storm")


scenario(globals(), "storm_held", storm, cost=2, timeout=150)
scenario(globals(), "storm_off", storm_off, cost=2, timeout=150)
scenario(globals(), "storm_masked_port", masked_port, cost=2, timeout=150)
