"""Every scenario file in scenarios/ (what `make run SCENARIO=name` boots) boots here too, read
by the same code (scripts/run.py load_scenario), and ends with `@done status=0`.

The seed scenario (`make run`) is checked in full: the xHCI driver and its 16 frontends and the
e1000e driver and its 5 all pass, each frontend was granted its message (@grant), every
frontend's message was taken 'rounds' times in all and only for it (@msgs), the
hypervisor moved the guests during the run (@guest ... reason=moved) and the messages followed:
no message was taken on the driver's CPU for a frontend that was not there, which the
per-CPU counts cannot show alone, so QEMU's trace is compared with the route records.

The pictures `make run` draws from the seed scenario's console (scripts/pictures): the routes
graph names every message with the CPU its last route pointed at, and the timeline has every
frontend's live view; both PNGs are written.
"""
import os
import subprocess
import tempfile

from courier import BUILD, ROOT, runner, scenario
from test_guests import boot, check_healthy, kv, result_line, texts
from test_msi import remap_events, route_states

SCENARIOS = os.path.join(ROOT, "scenarios")


def boot_file(name, trace=()):
    sc = runner.load_scenario(name, BUILD)
    return boot(sc["cmdline"], smp=sc["smp"] or 4, mem=sc["mem"] or 512,
                modules=sc["modules"], devices=sc["devices"], trace=list(trace), timeout=120)


def plain(name):
    def fn():
        r = boot_file(name)
        check_healthy(r)
        r.check_done(0)
    return fn


# (guest name, line prefix, frontend name prefix) of each driver in the seed scenario
SEED_DRIVERS = (("xhci", "xhci", "f"), ("nic", "e1000e", "n"))


def seed():
    r = boot_file("seed", trace=["vtd_ir_remap_msi"])
    check_healthy(r)
    r.check_done(0)
    want = {}
    for driver, prefix, fe in SEED_DRIVERS:
        summary = result_line(r, driver, prefix, has=("frontends",), result="pass")
        n, rounds = int(summary["frontends"]), int(summary["rounds"])
        for name in (f"{fe}{k}" for k in range(n)):
            line = [kv(t) for t in texts(r, name) if t.startswith("frontend ")][-1]
            assert line["result"] == "pass" and line["events"] == str(rounds), \
                f"{name}: {line}"
            want[name] = rounds
    taken = {}
    for m in r.records("msgs"):
        taken[m["guest"]] = taken.get(m["guest"], 0) + m.int("taken")
    assert taken == want, f"messages taken per guest {taken}, expected {want}"
    granted = {(g["guest"], g["state"]) for g in r.records("grant")}
    assert {(name, "granted") for name in want} <= granted, \
        f"not every frontend was granted its message: {sorted(granted)}"
    moved = [g for g in r.records("guest") if g.get("reason") == "moved" and g["name"] in want]
    assert moved, "the seed scenario's move_ms= moved no frontend during the run"
    # Every remapped message (remappable format: an IRTE index) went to an (APIC, vector) that
    # a @route record named for its IRTE.
    named = route_states(r)
    stray = [(i, a, v) for i, a, v in remap_events(r)
             if i is not None and (a, v) not in set(named.get(i, []))]
    assert not stray, f"messages remapped where no route pointed: {stray[:5]}"
    check_pictures(r, len(want))


def check_pictures(r, n):
    last = {}
    for rec in r.records("route"):
        if rec["cpu"] != "-":
            last[(rec["dev"], rec.int("msg"))] = rec["cpu"]
    with tempfile.TemporaryDirectory(dir=os.path.join(BUILD, "tmp")) as out:
        log = os.path.join(out, "console.log")
        with open(log, "w") as f:
            f.write("\n".join(r.lines) + "\n")
        done = subprocess.run([os.path.join(ROOT, "scripts", "pictures"), log, out],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"scripts/pictures failed: {done.stderr}"
        for png in ("routes.png", "timeline.png"):
            with open(os.path.join(out, png), "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
        dot = open(os.path.join(out, "routes.dot")).read()
        assert len(last) == n, f"{len(last)} messages routed, {n} frontends"
        for (dev, k), cpu in last.items():
            assert f'"{dev} msg {k}" -> "IRTE' in dot, \
                f"message {k} of {dev} is not in the routes picture"
            assert f'"{dev} msg {k}" -> "IRTE' in dot and f'-> "CPU {cpu}\\n' in dot, \
                f"message {k} of {dev}: its CPU {cpu} is not drawn"
        series = open(os.path.join(out, "timeline.dat")).read().count("# ")
        assert series == n, f"{series} frontends in the timeline, {n} printed a live view"


for _f in sorted(os.listdir(SCENARIOS)):
    if _f.endswith(".scn"):
        _name = _f[:-4]
        scenario(globals(), f"scenario_{_name}", seed if _name == "seed" else plain(_name),
                 cost=3, timeout=200)
