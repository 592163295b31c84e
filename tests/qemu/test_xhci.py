"""The seed scenario on the xHCI: one driver guest owns an nec-usb-xhci (msix=off: a 16-message
MSI block) and binds message k to frontend k's port, each frontend on a CPU of its own choosing
but never the driver's (guests/xhci, guests/frontend, docs/guests.md).

Every round the driver sends one control transfer per frontend with its Status TRB aimed at
interrupter k; the controller raises message k, which must reach frontend k's CPU straight
from the remapping unit. The driver waits for every frontend's acknowledgement before the next
round, so no two events of one frontend collapse into one pending bit and the counts are exact.

Three accounts must agree:
- the guests' own lines: the driver's per-interrupter events and acks, each frontend's events;
- the hypervisor's: `@stat ... port= received= cpu=` per port, `@bind`/`@route` of message k
  (IRTE = block base + k, the frontend's guest, port and CPU, the APIC of that CPU);
- QEMU's `vtd_ir_remap_msi` trace: exactly `rounds` remapped messages per IRTE of the block,
  each to the APIC and vector its route named, none to the driver's CPU, none for an IRTE of
  the block that has no frontend.

IRTEs are shared among the guests that own a device on the unit (kernel/guest/guest_msg.c,
"Shares"): the driver alone may take the unit's free entries, so the default table does.
"""
from courier import scenario
from test_guests import (boot, check_exited, check_healthy, elf, kv, port_stats, result_line,
                         texts)
from test_msi import remap_events, route_states

XHCI_DEV = "nec-usb-xhci,msix=off,addr=0x10"
XHCI_BDF = "00:10.0"
BLOCK = 16                      # the controller's MSI messages (guests/xhci MAX_INTRS)
DRIVER = "xhci"
FRONTEND_PORT = 0               # a frontend's event port: the first it allocates
STOP_PORT = 1                   # the second: the driver sends to it only when it gives up


def frontend_cpus(n, smp):
    """Frontend k's CPU: 1..smp-1 round robin (never the driver's CPU 0)."""
    return [1 + k % (smp - 1) for k in range(n)]


def xhci_boot(smp, n, rounds, timeout, cmdline="exit=idle"):
    names = [f"f{k}" for k in range(n)]
    cpus = frontend_cpus(n, smp)
    mods = [(elf("xhci"), f"name={DRIVER} cpu=0 dev={XHCI_BDF} frontends={','.join(names)} "
             f"rounds={rounds}")]
    # Frontend k acknowledges each event on the driver's port k (its ack ports come first).
    mods += [(elf("frontend"), f"name={name} cpu={cpu} driver={DRIVER} rounds={rounds} "
              f"ack_port={k}") for k, (name, cpu) in enumerate(zip(names, cpus))]
    r = boot(cmdline, smp=smp, modules=mods,
             devices=[XHCI_DEV, "usb-kbd"], trace=["vtd_ir_remap_msi"], timeout=timeout)
    return r, names, cpus


def check_guests(r, names, cpus, rounds):
    """The guests' accounts and the hypervisor's per-port counts."""
    n = len(names)
    errors = [t for t in texts(r, DRIVER) if " error=" in t]
    assert not errors, f"{DRIVER}: {errors}"
    summary = result_line(r, DRIVER, "xhci", has=("frontends",), result="pass")
    assert summary["events"] == str(rounds * n) and summary["failed"] == "0" and \
        summary["frontends"] == str(n), f"driver summary {summary}"
    rounds_seen = [kv(t) for t in texts(r, DRIVER) if "round" in kv(t)]
    assert [int(x["round"]) for x in rounds_seen] == list(range(1, rounds + 1)), \
        f"driver printed rounds {[x['round'] for x in rounds_seen]}"
    for x in rounds_seen:
        assert x["events"] == str(n) and x["result"] == "pass", f"driver round {x}"
    check_exited(r, DRIVER)
    acks = port_stats(r, DRIVER)
    assert sorted(acks) == list(range(n)), f"{DRIVER} ports {sorted(acks)}, expected 0..{n - 1}"
    for k, (name, cpu) in enumerate(zip(names, cpus)):
        intr = result_line(r, DRIVER, "xhci", intr=k)
        assert intr["frontend"] == name and intr["events"] == str(rounds) and \
            intr["bad"] == "0" and intr["other"] == "0" and intr["acks"] == str(rounds) and \
            intr["result"] == "pass", f"driver, interrupter {k}: {intr}"
        assert acks[k].int("received") == rounds, \
            f"{acks[k].line()}: frontend {name}'s acks, expected received={rounds}"
        fe = result_line(r, name, "frontend", has=("events",))
        assert fe["result"] == "pass" and fe["events"] == str(rounds) and \
            fe["acks"] == str(rounds) and fe["port"] == str(FRONTEND_PORT) and \
            fe["stopped"] == "0" and fe["cpu"] == str(cpu), \
            f"{name}: {fe}, expected {rounds} events on CPU {cpu}"
        check_exited(r, name)
        ports = port_stats(r, name)
        assert sorted(ports) == [FRONTEND_PORT, STOP_PORT], f"{name} ports {sorted(ports)}"
        st = ports[FRONTEND_PORT]
        assert st.int("received") == rounds and st.int("cpu") == cpu, \
            f"{st.line()}: expected received={rounds} cpu={cpu}"
        assert ports[STOP_PORT].int("received") == 0, \
            f"{ports[STOP_PORT].line()}: the driver gave up on {name}"


def check_routes(r, names, cpus):
    """@bind and @route of message k: IRTE base + k, to frontend k's port on its CPU. Returns
    ({irte: (apic, vector)}, base)."""
    apic_of = {c.int("index"): c.int("apic") for c in r.records("cpu")}
    binds = [b for b in r.records("bind") if b["dev"].endswith(XHCI_BDF)]
    assert len(binds) == len(names), \
        f"{len(binds)} @bind records for {XHCI_BDF}, expected {len(names)}: " \
        f"{[b.line() for b in binds][:4]}"
    by_msg = {b.int("msg"): b for b in binds}
    assert sorted(by_msg) == list(range(len(names))), f"bound messages {sorted(by_msg)}"
    base = by_msg[0].int("irte")
    assert base % BLOCK == 0, f"{by_msg[0].line()}: a {BLOCK}-message block must be aligned"
    states = route_states(r)
    want = {}
    for k, (name, cpu) in enumerate(zip(names, cpus)):
        b = by_msg[k]
        assert b.int("irte") == base + k and b["guest"] == name and \
            b.int("port") == FRONTEND_PORT and b.int("cpu") == cpu, \
            f"{b.line()}: expected irte={base + k} guest={name} port={FRONTEND_PORT} cpu={cpu}"
        live = [s for s in states.get(base + k, []) if s]
        assert len(live) == 1 and live[0][0] == apic_of[cpu], \
            f"IRTE {base + k}: routes {states.get(base + k)}, expected one to APIC " \
            f"{apic_of[cpu]} (CPU {cpu})"
        want[base + k] = live[0]
    return want, base, apic_of[0]


def check_trace(r, want, base, driver_apic, rounds):
    """QEMU remapped exactly `rounds` messages per IRTE, each where its route said."""
    seen = [e for e in remap_events(r) if e[0] is not None and base <= e[0] < base + BLOCK]
    counts = {irte: 0 for irte in want}
    for idx, apic, vec in seen:
        assert idx in want, f"QEMU remapped a message of IRTE {idx}, which no frontend has"
        assert apic != driver_apic, \
            f"message {idx - base} (IRTE {idx}) went to the driver's CPU (APIC {apic})"
        assert (apic, vec) == want[idx], \
            f"IRTE {idx} (message {idx - base}) remapped to APIC {apic} vector {vec:#x}, " \
            f"its route says APIC {want[idx][0]} vector {want[idx][1]:#x}"
        counts[idx] += 1
    wrong = {i - base: c for i, c in counts.items() if c != rounds}
    assert not wrong, f"messages remapped per message number {wrong}, expected {rounds} each"


def xhci_scenario(smp, n, rounds, timeout):
    def fn():
        r, names, cpus = xhci_boot(smp, n, rounds, timeout)
        r.check_done(0)
        check_healthy(r)
        check_guests(r, names, cpus, rounds)
        want, base, driver_apic = check_routes(r, names, cpus)
        check_trace(r, want, base, driver_apic, rounds)
    fn.__doc__ = f"xhci driver on CPU 0, {n} frontends over CPUs 1..{smp - 1}, {rounds} " \
        "rounds: message k reaches frontend k's CPU, exactly once per round"
    return fn


def taken(r):
    """{(cpu, guest): device messages that CPU took for that guest} (@msgs)."""
    return {(m.int("cpu"), m["guest"]): m.int("taken") for m in r.records("msgs")}


def ipis(r):
    return {t.int("cpu"): t.int("ipis_taken") for t in r.records("tick")}


def direct_and_forward(smp, n, rounds):
    """The same seed scenario with route=direct (the default) and route=forward (the
    baseline: every message to the driver's CPU, forwarded to the frontend by IPI). Both
    deliver every event. Direct: frontend k's messages are taken on frontend k's CPU, none on
    the driver's, and the frontends' CPUs take no IPI beyond the one that started each of
    their guests. Forward: every message is taken on the driver's CPU, and the frontends'
    CPUs take IPIs for them."""
    runs = {}
    for mode in ("direct", "forward"):
        r, names, cpus = xhci_boot(smp, n, rounds, 60, f"exit=idle route={mode}")
        r.check_done(0)
        check_healthy(r)
        check_guests(r, names, cpus, rounds)
        runs[mode] = r
    started = {c: cpus.count(c) for c in set(cpus)}     # sched_start kicks each guest's CPU
    d, f = taken(runs["direct"]), taken(runs["forward"])
    assert d == {(cpu, name): rounds for name, cpu in zip(names, cpus)}, \
        f"direct: messages taken per (cpu, guest) {d}"
    assert f == {(0, name): rounds for name in names}, f"forward: {f}"
    # A wake-up IPI that finds the last one still pending merges with it, so these are upper
    # bounds: direct, the frontends' CPUs take at most their guests' start kicks; forward, they
    # take more than those and one for each frontend.
    di, fi = ipis(runs["direct"]), ipis(runs["forward"])
    assert all(di[c] <= started[c] for c in started), \
        f"direct: the frontends' CPUs took IPIs {di}, beyond their guests' start kicks {started}"
    forwarded = sum(fi[c] for c in started) - sum(started.values())
    assert n <= forwarded <= n * rounds, \
        f"forward: the frontends' CPUs took {forwarded} IPIs beyond the start kicks for " \
        f"{n * rounds} forwarded messages"


scenario(globals(), "xhci_direct_vs_forward", lambda: direct_and_forward(4, 6, 10), cost=4,
         timeout=200)
scenario(globals(), "xhci_seed_4cpus", xhci_scenario(4, 16, 10, 40), cost=3, timeout=90)
scenario(globals(), "xhci_seed_8cpus", xhci_scenario(8, 16, 10, 60), cost=4, timeout=120)
scenario(globals(), "xhci_four_frontends", xhci_scenario(4, 4, 10, 30), cost=2, timeout=60)


def test_xhci_driver_gives_up():
    """A driver without its controller (no dev=) fails at once and must stop its frontends
    through their stop ports, so the run ends instead of leaving them blocked."""
    names = ["g0", "g1", "g2"]
    mods = [(elf("xhci"), f"name={DRIVER} cpu=0 frontends={','.join(names)} rounds=3")]
    mods += [(elf("frontend"), f"name={n} cpu=1 driver={DRIVER} rounds=3 ack_port={k}")
             for k, n in enumerate(names)]
    r = boot("exit=idle", smp=2, modules=mods)
    r.check_done(0)
    check_healthy(r)
    err = result_line(r, DRIVER, "xhci", has=("error",))
    assert err["error"] == "no_xhci" and err["result"] == "fail", f"{DRIVER}: {err}"
    stopped = result_line(r, DRIVER, "xhci", has=("stopped",))
    assert stopped["stopped"] == stopped["of"] == str(len(names)), f"{DRIVER}: {stopped}"
    check_exited(r, DRIVER, 1)
    for name in names:
        fe = result_line(r, name, "frontend", has=("events",))
        assert fe["stopped"] == "1" and fe["events"] == "0" and fe["result"] == "fail", \
            f"{name}: {fe}"
        check_exited(r, name, 1)
        ports = port_stats(r, name)
        assert ports[FRONTEND_PORT].int("received") == 0 and \
            ports[STOP_PORT].int("received") == 1, \
            f"{name}: {[p.line() for p in ports.values()]}"
