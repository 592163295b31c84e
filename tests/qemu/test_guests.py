"""Guest scenarios: paravirtual guests (guests/*/main.c) on the hypervisor under TCG.

Each boot loads guest ELFs from $BUILD/guests (built by `make all`) as multiboot2 modules and
checks two independent accounts of the run: what the guests print (`[time cN] NAME| line`, the
programs' own `key=value ... result=pass|fail` lines) and what the hypervisor reports
(docs/report.md, docs/guests.md): `@guest name cpu state reason` on every state change (and
`reason=moved` on a CPU change), `@stat guest events hypercalls cpu_time state` and
`@stat guest port received cpu` per allocated port at the end, `@dmafault` for blocked DMA, and
`@done status` (the number of `error:` lines: guest crashes and DMA faults are warnings, a
rejected module is an error). For the edu guest's DMA faults, QEMU's own `vtd_dmar_fault` trace
is the third witness.

Scenarios: hello and libtest through newlib; pingpong on two CPUs and on one, its rounds
matching the hypervisor's per-port counts, and a stress of four pairs over three CPUs (lost
wake-ups); several guests sharing one CPU; edu DMA into its own
RAM and blocked outside it (read and write), and its device message bound to its port, also
while the guest moves; every crash kind contained next to bystanders; hostile's million
hypercalls next to bystanders; hostile moving itself between CPUs; corrupt images and bad
module command lines rejected by name while good guests run; exit=<ms> ending a run with a
guest blocked forever.
"""
import os
import re
import struct
import tempfile

from courier import BUILD, run, scenario

GUESTS = os.path.join(BUILD, "guests")
PAGE = 0x1000
RAM_BASE = 0x400000             # kernel/guest/guest.h GUEST_RAM_BASE
START_INFO_VA = 0x200000        # kernel/guest/guest.h GUEST_START_INFO_VA
STACK_BYTES = 0x10000           # kernel/guest/guest.h GUEST_STACK_BYTES
HV_DIRECT_MAP = 0xffff800000000000
EDU_DMA_BYTES = 4095            # guests/edu/main.c EDU_DMA_MAX
BOOT_TIMEOUT = 25.0             # seconds per boot, times COURIER_TIMEOUT_SCALE

# A guest console line: "[   0.123456 c1] name| text".
CONSOLE = re.compile(r"^\[\s*[0-9.]+ c(\d+)\] ([A-Za-z0-9_-]+)\| (.*)$")




def boot(cmdline, **kw):
    """run() with a time limit that fits these short boots (1-3 s each under TCG), so that a
    hang costs little; a run that did not end says which guests never did."""
    scale = float(os.environ.get("COURIER_TIMEOUT_SCALE") or 1)
    r = run(cmdline, timeout=kw.pop("timeout", BOOT_TIMEOUT) * scale, **kw)
    if r.done is None:
        raise AssertionError(f"{r.exit_message}; {unfinished(r)}")
    return r


def unfinished(r):
    """Which guests had not ended, and the last line each printed."""
    last = {}
    for g in r.records("guest"):
        last[g["name"]] = g["state"]
    stuck = [n for n, state in last.items() if state == "running"]
    what = "every guest had ended" if not stuck else "guests that never ended: " + "; ".join(
        f"{n} (last printed: {(texts(r, n) or ['nothing'])[-1]!r})" for n in stuck)
    tail = r.raw_console.rsplit("\n", 1)[-1].strip()
    if tail:
        what += f"; the console stops in the middle of a line ({tail!r}): a CPU stopped " \
            "while it was printing"
    return what


def elf(name):
    path = os.path.join(GUESTS, name + ".elf")
    if not os.path.exists(path):
        raise RuntimeError(f"{path} does not exist: build the guests with `make all`")
    return path


def kv(text):
    """The key=value words of a guest line as a dict."""
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def bdf_key(text):
    """(segment, bus, dev, fn) of 'SSSS:BB:DD.F' or 'BB:DD.F'."""
    m = re.fullmatch(r"(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])", text.lower())
    assert m, f"not a device address: {text!r}"
    return (int(m.group(1) or "0", 16), int(m.group(2), 16), int(m.group(3), 16),
            int(m.group(4)))


# ---- what a run shows about one guest ----------------------------------------------------------

def output(r, name):
    """[(cpu, text)] of the console lines guest `name` printed."""
    out = []
    for line in r.lines:
        m = CONSOLE.match(line)
        if m and m.group(2) == name:
            out.append((int(m.group(1)), m.group(3)))
    return out


def texts(r, name):
    return [t for _, t in output(r, name)]


def result_line(r, name, prefix, has=(), **want):
    """The one line of `name` that starts with prefix, has every key of has and every
    key=value of want."""
    found = [t for t in texts(r, name) if t.startswith(prefix + " ") and
             all(k in kv(t) for k in has) and
             all(kv(t).get(k) == str(v) for k, v in want.items())]
    desc = " ".join([prefix] + [f"{k}=" for k in has] + [f"{k}={v}" for k, v in want.items()])
    assert len(found) == 1, f"guest {name}: {len(found)} lines like '{desc} ...', expected 1; " \
        f"it printed {texts(r, name)[-6:]}"
    return kv(found[0])


def guest_records(r, name):
    return [g for g in r.records("guest") if g["name"] == name]


def last_state(r, name):
    recs = guest_records(r, name)
    assert recs, f"no @guest record for {name}"
    return recs[-1]


def check_started(r, name, cpu=None):
    recs = guest_records(r, name)
    assert recs and recs[0]["state"] == "running", \
        f"{name}: first @guest record is {recs[0].line() if recs else 'missing'}"
    if cpu is not None:
        assert recs[0].int("cpu") == cpu, f"{recs[0].line()}: expected cpu={cpu}"


def check_exited(r, name, code=0):
    check_started(r, name)
    last = last_state(r, name)
    assert last["state"] == "exited" and last["reason"] == f"exit({code})", \
        f"{last.line()}: expected state=exited reason=exit({code})"
    st = stat(r, name)
    assert st["state"] == "exited", f"{st.line()}: expected state=exited"
    return last


def stat(r, name):
    found = [s for s in r.records("stat") if s["guest"] == name and "port" not in s.fields]
    assert len(found) == 1, f"{len(found)} @stat records for guest {name}, expected 1"
    return found[0]


def port_stats(r, name):
    """{port: @stat record} of a guest's allocated ports."""
    return {s.int("port"): s for s in r.records("stat")
            if s["guest"] == name and "port" in s.fields}


def check_healthy(r):
    """The hypervisor itself never faulted and no guest printed something it must not."""
    exc = r.records("exception")
    assert not exc, f"the hypervisor faulted: {exc[0].line()}"
    states = {g["state"] for g in r.records("guest")}
    assert states <= {"running", "blocked", "exited", "crashed", "rejected", "restarted"}, \
        f"@guest states {states}"


# ---- hello, libtest ------------------------------------------------------------------------

def test_hello_smp():
    """hello on each of 4 CPUs: one line through newlib's printf each, exit(0) each."""
    names = [f"hello{cpu}" for cpu in range(4)]
    r = boot("exit=idle", smp=4, modules=[(elf("hello"), f"name={n} cpu={c}")
                                         for c, n in enumerate(names)])
    r.check_done(0)
    check_healthy(r)
    for cpu, name in enumerate(names):
        assert output(r, name) == [(cpu, f"hello from {name} on cpu {cpu}")], \
            f"{name} printed {output(r, name)}, expected one hello line from CPU {cpu}"
        check_started(r, name, cpu)
        check_exited(r, name)
        st = stat(r, name)
        assert st.int("hypercalls") >= 2 and st.int("events") == 0, st.line()
        assert not port_stats(r, name), f"{name} allocated no port, yet has @stat port records"


test_hello_smp.cost = 2


def test_regcheck():
    """Every register but RAX, RCX and R11 survives a hypercall, on each way through the
    hypervisor: the fast path (SYSRET), the full frame (IRETQ), and a fast call whose way back
    enters the upcall (ABI 3: the upcall keeps the registers and gives them back)."""
    r = boot("exit=idle", smp=1, modules=[(elf("regcheck"), "name=rc cpu=0 rounds=200")])
    r.check_done(0)
    check_healthy(r)
    diffs = [t for t in texts(r, "rc") if t.startswith("regcheck case=")]
    assert not diffs, f"registers changed by hypercalls: {diffs[:5]}"
    summary = result_line(r, "rc", "regcheck", has=("cases", "upcalls"), result="pass")
    assert summary["cases"] == str(6 * 200) and summary["upcalls"] == "200", \
        f"regcheck summary {summary}"
    check_exited(r, "rc")


test_regcheck.cost = 1


def test_regcheck_irq():
    """Every register survives a device message taken in ring 3, on each way through the
    hypervisor: the short way into the upcall (boot/msg_entry.asm), the short way back with
    upcalls masked, and the whole frame's (its port masked) -- with the hypercalls' cases."""
    r = boot("exit=idle", smp=1, devices=["edu,addr=0x10"],
             modules=[(elf("regcheck"), "name=rc cpu=0 dev=00:10.0 rounds=100")])
    r.check_done(0)
    check_healthy(r)
    diffs = [t for t in texts(r, "rc") if t.startswith("regcheck case=")]
    assert not diffs, f"registers changed by hypercalls or device messages: {diffs[:5]}"
    summary = result_line(r, "rc", "regcheck", has=("cases", "upcalls"), result="pass")
    # Each round: one upcall for the hypercall case, one for each way of the message.
    assert summary["cases"] == str(9 * 100) and summary["upcalls"] == str(4 * 100), \
        f"regcheck summary {summary}"
    (port, rec), = port_stats(r, "rc").items()
    assert rec.int("received") == 4 * 100, rec.line()
    check_exited(r, "rc")


test_regcheck_irq.cost = 1


def test_libtest():
    """The guest runtime's own checks (args, printf, malloc, time, upcalls, masks, waits)."""
    r = boot("exit=idle", smp=2, modules=[(elf("libtest"), "name=lt cpu=1 rounds=1000")])
    r.check_done(0)
    check_healthy(r)
    checks = [kv(t) for t in texts(r, "lt") if "check" in kv(t)]
    failed = [c["check"] for c in checks if c.get("result") != "pass"]
    assert checks and not failed, f"libtest checks failed: {failed or 'none ran'}"
    summary = result_line(r, "lt", "libtest", has=("checks",), guest="lt", result="pass")
    assert summary["checks"] == str(len(checks)) and summary["failed"] == "0" \
        and summary["unhandled"] == "0", f"libtest summary {summary}"
    up = next(c for c in checks if c["check"] == "upcall")
    assert up["handled"] == "1000" and up["late"] == "0", f"upcall check {up}"
    check_exited(r, "lt")
    # Its self-events all went through one port: the hypervisor counted each of them.
    ports = port_stats(r, "lt")
    assert len(ports) == 1, f"libtest allocated one port, @stat shows {sorted(ports)}"
    got = next(iter(ports.values())).int("received")
    assert got >= 1000, f"@stat port received={got}, libtest sent itself at least 1000 events"


# ---- pingpong -----------------------------------------------------------------------------

def pingpong_pair(ping, pong, cpus, rounds, extra=""):
    return [(elf("pingpong"), f"name={ping} cpu={cpus[0]} role=ping peer={pong} "
             f"rounds={rounds} {extra}".strip()),
            (elf("pingpong"), f"name={pong} cpu={cpus[1]} role=pong peer={ping} "
             f"rounds={rounds} {extra}".strip())]


def check_pingpong(r, ping, pong, rounds):
    """Both sides passed every round, and the hypervisor counted exactly rounds events on each
    side's one port (strict alternation: no two sends ever collapse into one)."""
    for name, role in ((ping, "ping"), (pong, "pong")):
        line = result_line(r, name, "pingpong", guest=name, role=role)
        want = {"rounds": rounds, "sent": rounds, "received": rounds, "result": "pass"}
        bad = {k: line.get(k) for k, v in want.items() if line.get(k) != str(v)}
        assert not bad, f"{name}: pingpong line has {bad}, expected {want}"
        check_exited(r, name)
        ports = port_stats(r, name)
        assert len(ports) == 1, f"{name} allocates one port; @stat shows {sorted(ports)}"
        (port, rec), = ports.items()
        assert rec.int("received") == rounds, \
            f"{rec.line()}: the hypervisor counted {rec['received']} events, expected {rounds}"
        assert stat(r, name).int("events") == rounds, \
            f"{stat(r, name).line()}: events, expected {rounds}"
    # Both allocate their first port, so the same number (pingpong's peer_port default).
    assert set(port_stats(r, ping)) == set(port_stats(r, pong)), "the two ports differ"


def test_pingpong_two_cpus():
    """A blocking pair across CPUs 0 and 1, and a polling pair (timeout_ms) across 1 and 0."""
    mods = (pingpong_pair("ping", "pong", (0, 1), 1000)
            + pingpong_pair("pollping", "pollpong", (1, 0), 300, "timeout_ms=5000"))
    r = boot("exit=idle", smp=2, modules=mods)
    r.check_done(0)
    check_healthy(r)
    check_pingpong(r, "ping", "pong", 1000)
    check_pingpong(r, "pollping", "pollpong", 300)
    for name, cpu in (("ping", 0), ("pong", 1)):
        cpus = {c for c, _ in output(r, name)}
        assert cpus == {cpu}, f"{name} printed from CPUs {cpus}, it was placed on {cpu}"


test_pingpong_two_cpus.cost = 2


def test_pingpong_stress():
    """Three pairs around three CPUs (0-1, 1-2, 2-0), every CPU shared by two guests, and one
    pair on a single CPU: 5000 rounds each. Each round is a block and a cross-CPU wake-up, so
    a wake-up the hypervisor can lose (an event pending in a guest left blocked, or a woken
    guest left off every run queue) shows up here as a run that never ends."""
    rounds = 5000
    pairs = [("sa", "sb", (0, 1)), ("sc", "sd", (1, 2)), ("se", "sf", (2, 0)),
             ("sg", "sh", (1, 1))]
    mods = [m for ping, pong, cpus in pairs for m in pingpong_pair(ping, pong, cpus, rounds)]
    r = boot("exit=idle", smp=3, modules=mods)
    r.check_done(0)
    check_healthy(r)
    for ping, pong, _ in pairs:
        check_pingpong(r, ping, pong, rounds)


test_pingpong_stress.cost = 4


def test_pingpong_moving():
    """move_ms=3: the hypervisor moves every guest to the next CPU every 3 ms while two pairs
    play 20000 rounds, so events are raised for guests that are being moved, blocked on one CPU
    and woken on another. Every event must still be counted exactly once on each side, the
    moves must really happen (each one is a @guest record with the new CPU), and each guest
    must have ended on the CPU its last move named."""
    rounds = 20000
    pairs = [("ma", "mb", (0, 1)), ("mc", "md", (2, 2))]
    mods = [m for ping, pong, cpus in pairs for m in pingpong_pair(ping, pong, cpus, rounds)]
    r = boot("exit=idle move_ms=3", smp=3, modules=mods, timeout=90)
    r.check_done(0)
    check_healthy(r)
    for ping, pong, _ in pairs:
        check_pingpong(r, ping, pong, rounds)
    for name in ("ma", "mb", "mc", "md"):
        moves = [rec for rec in guest_records(r, name) if rec.get("reason") == "moved"]
        assert len(moves) >= 3, f"{name} was moved {len(moves)} times, expected several"
        placed = {guest_records(r, name)[0].int("cpu")} | {m.int("cpu") for m in moves}
        assert len({m.int("cpu") for m in moves}) == 3, \
            f"{name} was moved to CPUs {sorted({m.int('cpu') for m in moves})}, expected 0-2"
        cpus = {c for c, _ in output(r, name)}
        assert cpus and cpus <= placed, f"{name} printed from CPUs {sorted(cpus)}, it was " \
            f"only ever placed on {sorted(placed)}"
        last = moves[-1].int("cpu")
        end = last_state(r, name)
        assert end.int("cpu") == last, f"{end.line()}: ended elsewhere than its last move " \
            f"to {last}"
        assert port_stats(r, name)[next(iter(port_stats(r, name)))].int("cpu") == last, \
            f"{name}: @stat cpu differs from its last move to {last}"


test_pingpong_moving.cost = 3
# Every move prints a record, thousands here: under a loaded host the run takes much longer than
# the other boots, without anything being wrong.


def test_pingpong_one_cpu():
    """Both sides on CPU 1 of 2: every round is a switch between them on one CPU."""
    r = boot("exit=idle", smp=2, modules=pingpong_pair("one_a", "one_b", (1, 1), 1000))
    r.check_done(0)
    check_healthy(r)
    check_pingpong(r, "one_a", "one_b", 1000)
    for name in ("one_a", "one_b"):
        assert {c for c, _ in output(r, name)} == {1}, f"{name} ran elsewhere than CPU 1"


def test_sched_one_cpu():
    """Three hello, a pingpong pair and libtest all on the only CPU: every one finishes."""
    mods = [(elf("hello"), f"name=h{i} cpu=0") for i in range(3)]
    mods += pingpong_pair("sp", "sq", (0, 0), 500)
    mods.append((elf("libtest"), "name=slt cpu=0 rounds=200"))
    r = boot("exit=idle", smp=1, modules=mods)
    r.check_done(0)
    check_healthy(r)
    for i in range(3):
        assert texts(r, f"h{i}") == [f"hello from h{i} on cpu 0"], texts(r, f"h{i}")
        check_exited(r, f"h{i}")
    check_pingpong(r, "sp", "sq", 500)
    result_line(r, "slt", "libtest", has=("checks",), guest="slt", failed=0, result="pass")
    check_exited(r, "slt")


test_sched_one_cpu.cost = 2


def test_exit_ms_blocked_guest():
    """exit=<ms> ends a run that exit=idle never would: pong waits for 1000 rounds, ping
    stops after 5, so pong blocks in HC_BLOCK for good."""
    mods = [(elf("pingpong"), "name=quitter cpu=0 role=ping peer=waiter rounds=5"),
            (elf("pingpong"), "name=waiter cpu=1 role=pong peer=quitter rounds=1000"),
            (elf("hello"), "name=hx cpu=1")]
    r = boot("exit=1000", smp=2, modules=mods)
    r.check_done(0)
    check_healthy(r)
    result_line(r, "quitter", "pingpong", guest="quitter", received=5, result="pass")
    check_exited(r, "quitter")
    check_exited(r, "hx")
    assert not [t for t in texts(r, "waiter") if t.startswith("pingpong guest=waiter role=")], \
        "the waiting pong printed a result: it should still be waiting"
    assert last_state(r, "waiter")["state"] == "running", \
        f"{last_state(r, 'waiter').line()}: expected no end for the waiter"
    st = stat(r, "waiter")
    assert st["state"] == "blocked", f"{st.line()}: expected state=blocked at the end"
    (port, rec), = port_stats(r, "waiter").items()
    assert rec.int("received") == 5, f"{rec.line()}: expected the 5 events ping sent"
    ticks = r.records("tick")
    assert len(ticks) == 2, f"{len(ticks)} @tick records, expected one per CPU at the end"


# ---- edu: DMA inside and outside the guest's memory ------------------------------------------

EDU_DEV = "edu,addr=0x10"       # 00:10.0, requester id 0x80
EDU_BDF = "00:10.0"
EDU_SID = 0x10 << 3
TRACE_FAULT = re.compile(r"sid 0x([0-9a-f]+) fault (\d+) addr 0x([0-9a-f]+) write (\d)")


def edu_tests(r, name):
    """{test: key=value dict} of the edu guest's test lines (bad_dma: the 'issued' one)."""
    out = {}
    for t in texts(r, name):
        d = kv(t)
        if t.startswith("edu ") and "test" in d and "result" in d:
            assert d["test"] not in out, f"{name}: two test={d['test']} lines"
            out[d["test"]] = d
    return out


def check_edu_basics(r, name, bdf, msi_rounds):
    """Every test before bad_dma passes: id, liveness, DMA through its own memory, and its
    device message (msi: msi_rounds raised by hand, dma_irq: one more at the end of a DMA),
    each counted once on the guest's port by the hypervisor; exit(0)."""
    tests = edu_tests(r, name)
    for t in ("id", "liveness", "dma", "msi", "dma_irq"):
        assert t in tests, f"{name}: no test={t} line in {texts(r, name)}"
        assert tests[t]["result"] == "pass", f"{name}: test={t} {tests[t]}"
        assert bdf_key(tests[t]["dev"]) == bdf_key(bdf), f"{name}: dev={tests[t]['dev']}"
    msi = tests["msi"]
    assert msi["raised"] == msi["acked"] == msi["events"] == str(msi_rounds), \
        f"{name}: test=msi {msi}"
    assert tests["dma_irq"]["events"] == str(msi_rounds + 1), f"{name}: test=dma_irq " \
        f"{tests['dma_irq']}"
    summary = result_line(r, name, "edu", has=("tests",), guest=name, dev=tests["id"]["dev"])
    assert summary["failed"] == "0" and summary["result"] == "pass", f"{name}: summary {summary}"
    check_exited(r, name, 0)
    port = int(msi["port"])
    ports = port_stats(r, name)
    assert port in ports and ports[port].int("received") == msi_rounds + 1, \
        f"{name}: @stat for port {port}: {ports.get(port) and ports[port].line()}, expected " \
        f"received={msi_rounds + 1}"
    return tests


def check_bad_dma(r, name, bdf, sid, direction):
    """The blocked transfer: one @dmafault with the edu's bdf, the page the guest printed and
    its direction, and QEMU's trace agreeing that every access of it was refused."""
    issued = edu_tests(r, name).get("bad_dma")
    assert issued and issued["result"] == "issued", f"{name}: no bad_dma ... result=issued line"
    assert issued["dir"] == direction, f"{name}: bad_dma dir={issued['dir']}"
    addr = int(issued["addr"], 16)
    faults = [f for f in r.records("dmafault") if f["name"] != "overflow"]
    mine = [f for f in faults if bdf_key(f["bdf"]) == bdf_key(bdf)]
    assert mine, f"no @dmafault for {bdf} (the guest's bad {direction} of {addr:#x}); " \
        f"@dmafault records: {[f.line() for f in r.records('dmafault')]}"
    f = mine[0]
    assert f.int("addr") == addr & ~(PAGE - 1), f"{f.line()}: expected addr={addr:#x} (page)"
    assert f["type"] == direction, f"{f.line()}: expected type={direction}"
    assert f["name"] not in ("-", ""), f"{f.line()}: the reason is not decoded"
    others = [x.line() for x in faults if bdf_key(x["bdf"]) != bdf_key(bdf)]
    assert not others, f"DMA faults from other devices: {others}"

    traced = []
    for line in r.trace_events("vtd_dmar_fault"):
        m = TRACE_FAULT.search(line.text)
        assert m, f"unexpected vtd_dmar_fault format: {line.text}"
        traced.append((int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16),
                       "write" if m.group(4) == "1" else "read"))
    assert traced, "QEMU traced no vtd_dmar_fault"
    assert all(t[0] == sid for t in traced), \
        f"QEMU traced faults of other requesters: {[t for t in traced if t[0] != sid][:3]}"
    assert traced[0][2] == addr, f"QEMU's first fault is at {traced[0][2]:#x}, the guest " \
        f"aimed at {addr:#x}"
    wrong = [t for t in traced if t[3] != direction or t[1] != f.int("reason")
             or not addr <= t[2] < addr + EDU_DMA_BYTES]
    assert not wrong, f"QEMU traced faults that disagree with @dmafault {f.line()}: {wrong[:3]}"


def edu_scenario(bad_args, direction, dev_arg):
    def fn():
        mods = [(elf("edu"), f"name=edu cpu=1 dev={dev_arg} msi_rounds=2 {bad_args}".strip()),
                (elf("hello"), "name=bystander cpu=0")]
        r = boot("exit=idle", smp=2, modules=mods, devices=[EDU_DEV], trace=["vtd_dmar_fault"])
        r.check_done(0)         # a blocked DMA is a warning, not an error
        check_healthy(r)
        check_edu_basics(r, "edu", EDU_BDF, 2)
        check_bad_dma(r, "edu", EDU_BDF, EDU_SID, direction)
        check_exited(r, "bystander")
    return fn


# Read from the first byte past its RAM (the default), in the short bdf form; write into the
# start-info page (guest-virtual, never DMA-mapped), in the long form.
scenario(globals(), "edu_dma_read", edu_scenario("", "read", EDU_BDF), cost=2)
scenario(globals(), "edu_dma_write", edu_scenario(f"bad_dma={START_INFO_VA:#x} bad_dma_dir=write", "write",
                                       "0000:00:10.0"), cost=2)


def test_edu_msi():
    """The edu's message 0 bound to the guest's port: raised by hand and by a finished DMA."""
    rounds = 5
    mods = [(elf("edu"), f"name=edumsi cpu=1 dev={EDU_BDF} msi_rounds={rounds} "
             "timeout_ms=2000")]
    r = boot("exit=idle", smp=2, modules=mods, devices=[EDU_DEV])
    r.check_done(0)
    check_healthy(r)
    errors = [t for t in texts(r, "edumsi") if " error=" in t]
    assert not errors, f"edumsi: {errors}"
    check_edu_basics(r, "edumsi", EDU_BDF, rounds)


def test_edu_msi_follows_guest():
    """The key idea end to end: the edu guest's message is bound to its own port and the guest
    moves itself to the next CPU after every round (hop). Every round must still
    arrive as exactly one event; the route must have followed the guest (@route records on
    several CPUs, each a retarget the guest's move caused); and QEMU's own vtd_ir_remap_msi
    trace must show the message remapped to more than one CPU and only where a route said,
    with each destination/vector pair one that a @route record named for that IRTE."""
    import test_msi
    rounds = 60
    mods = [(elf("edu"), f"name=edumove cpu=0 dev={EDU_BDF} msi_rounds={rounds} "
             "timeout_ms=5000 hop"), (elf("hello"), "name=bystander cpu=1")]
    r = boot("exit=idle log_moves=on", smp=3, modules=mods, devices=[EDU_DEV],
             trace=["vtd_ir_remap_msi"])
    r.check_done(0)
    check_healthy(r)
    msi = edu_tests(r, "edumove").get("msi")
    assert msi and msi["result"] == "pass", f"test=msi: {msi}; printed {texts(r, 'edumove')}"
    assert msi["raised"] == msi["acked"] == msi["events"] == str(rounds), f"test=msi {msi}"
    binds = [rec for rec in r.records("bind") if rec["guest"] == "edumove"]
    assert binds, "no @bind record for the edu's message"
    irte = binds[0].int("irte")
    states = [s for s in test_msi.route_states(r).get(irte, []) if s]
    cpus_apic = {apic for apic, _ in states}
    assert cpus_apic == {0, 1, 2}, f"the route did not follow the guest to every CPU: {states}"
    moves = [rec for rec in guest_records(r, "edumove") if rec.get("reason") == "moved"]
    assert len(moves) >= 2, f"the guest was moved {len(moves)} times"
    seen = [(idx, apic, vec) for idx, apic, vec in test_msi.remap_events(r) if idx == irte]
    assert len(seen) >= rounds, f"QEMU remapped {len(seen)} messages of IRTE {irte}, " \
        f"the guest raised at least {rounds}"
    named = set(states)
    stray = {(a, v) for _, a, v in seen} - named
    assert not stray, f"messages went to (apic, vector) pairs no @route named: {sorted(stray)}"
    # The guest may be moved before its first message: every APIC the trace shows is one a
    # route named, and the message really went to more than one CPU.
    assert {a for _, a, _ in seen} == {0, 1, 2}, \
        f"every message went to APIC {sorted({a for _, a, _ in seen})}: it never followed"



test_edu_msi_follows_guest.cost = 2


# ---- crash: every way to fault, contained -------------------------------------------------

# kind: (exception names the reason may give, page-fault error code bits that must be set)
PF_P, PF_W, PF_U, PF_I = 1, 2, 4, 16
CRASHES = {
    "pf": ({"#PF"}, PF_P | PF_U), "pfw": ({"#PF"}, PF_P | PF_W | PF_U),
    "nx": ({"#PF"}, PF_P | PF_U | PF_I), "wtext": ({"#PF"}, PF_P | PF_W | PF_U),
    "wro": ({"#PF"}, PF_P | PF_W | PF_U), "stack": ({"#PF"}, PF_W | PF_U),
    "upcall": ({"#PF"}, PF_P | PF_U),
    "gp": ({"#GP"}, 0), "nc": ({"#GP"}, 0), "io": ({"#GP"}, 0), "hlt": ({"#GP"}, 0),
    "cli": ({"#GP"}, 0), "cr3": ({"#GP"}, 0), "msr": ({"#GP"}, 0),
    "ud": ({"#UD"}, 0), "de": ({"#DE"}, 0),
    # int3 through a gate of DPL 0 is #GP (SDM vol. 3 6.12.1.1); a DPL 3 gate would give #BP.
    "bp": ({"#BP", "#GP"}, 0),
}
# The fault address (CR2) each page-fault kind must report; stack: inside the guard page.
CR2 = {"pf": HV_DIRECT_MAP, "pfw": HV_DIRECT_MAP, "upcall": HV_DIRECT_MAP,
       "wro": START_INFO_VA}
WARNING = re.compile(r"warning: guest (\S+): (#\w+) \(vector (\d+), error code (0x[0-9a-f]+|0), "
                     r"cr2 (0x[0-9a-f]+|0)\): stopped")


def text_range():
    """[start, end) of crash.elf's executable segment (where a faulting RIP must lie)."""
    with open(elf("crash"), "rb") as f:
        data = f.read()
    for _, ptype, flags, vaddr, memsz in phdrs(data):
        if ptype == 1 and flags & 1:
            return vaddr, vaddr + memsz
    raise AssertionError("crash.elf has no executable segment")


def check_crash(r, name, kind, mem_mib=4):
    lines = texts(r, name)
    assert lines and lines[0] == f"crash guest={name} kind={kind}", \
        f"{name}: printed {lines}, expected 'crash guest={name} kind={kind}' first"
    assert not any("survived" in t for t in lines), f"{name} (kind={kind}) survived: {lines}"
    last = last_state(r, name)
    assert last["state"] == "crashed", f"{last.line()}: kind={kind} must be stopped"
    names, pf_bits = CRASHES[kind]
    m = re.fullmatch(r"(#\w+)_at_(0x[0-9a-f]+)", last["reason"])
    assert m, f"{last.line()}: reason is not '<exception>_at_<rip>'"
    assert m.group(1) in names, f"{last.line()}: kind={kind} should be {sorted(names)}"
    rip = int(m.group(2), 16)
    lo, hi = text_range()
    if kind == "nx":
        assert not lo <= rip < hi, f"{last.line()}: nx must fault fetching outside the text"
    else:
        assert lo <= rip < hi, f"{last.line()}: RIP outside the guest's text [{lo:#x}, {hi:#x})"
    warn = [w for w in map(WARNING.search, r.lines) if w and w.group(1) == name]
    assert len(warn) == 1, f"{name}: {len(warn)} 'warning: guest {name}: ... stopped' lines"
    w = warn[0]
    assert w.group(2) == m.group(1), f"warning says {w.group(2)}, @guest says {m.group(1)}"
    error, cr2 = int(w.group(4), 16), int(w.group(5), 16)
    if m.group(1) == "#PF":
        assert error & pf_bits == pf_bits, f"{name}: #PF error code {error:#x} lacks " \
            f"{pf_bits:#x} for kind={kind}"
        if kind in CR2:
            assert cr2 == CR2[kind], f"{name}: cr2 {cr2:#x}, expected {CR2[kind]:#x}"
        if kind == "nx":
            assert cr2 == rip, f"{name}: nx cr2 {cr2:#x} is not the RIP {rip:#x}"
        if kind == "wtext":
            assert lo <= cr2 < hi, f"{name}: wtext cr2 {cr2:#x} is not in the text"
        if kind == "stack":
            guard = RAM_BASE + (mem_mib << 20) - STACK_BYTES
            assert guard <= cr2 < guard + PAGE, \
                f"{name}: stack overflow faulted at {cr2:#x}, not in the guard page {guard:#x}"
    st = stat(r, name)
    assert st["state"] == "crashed", f"{st.line()}: expected state=crashed"


# x87 and SSE instructions run: each guest's FPU state is its own (kernel/arch/fpu.h;
# tests/qemu/test_fpu.py shows it stays its own).
SURVIVORS = {"x87", "sse"}

CRASH_GROUPS = [
    ["pf", "pfw", "nx", "wtext", "wro"],
    ["gp", "nc", "io", "hlt", "cli"],
    ["cr3", "msr", "ud", "sse", "de"],
    ["bp", "stack", "upcall", "x87"],
]


def crash_scenario(kinds, smp=3):
    """The kinds spread over CPUs 0..smp-1, each sharing its CPU with others and with a
    pingpong pair (CPUs 1 and 2) and a hello (CPU 0) that must finish normally."""
    def fn():
        mods = [(elf("crash"), f"name=crash_{k} cpu={i % smp} kind={k}")
                for i, k in enumerate(kinds)]
        mods += pingpong_pair("cping", "cpong", (1, 2 % smp), 300)
        mods.append((elf("hello"), "name=chello cpu=0"))
        r = boot("exit=idle", smp=smp, modules=mods)
        r.check_done(0)         # guest crashes are not hypervisor errors
        check_healthy(r)
        for k in kinds:
            if k in SURVIVORS:
                lines = texts(r, f"crash_{k}")
                assert lines == [f"crash guest=crash_{k} kind={k}",
                                 f"crash guest=crash_{k} kind={k} survived"], lines
                check_exited(r, f"crash_{k}", 1)
            else:
                check_crash(r, f"crash_{k}", k)
        check_pingpong(r, "cping", "cpong", 300)
        check_exited(r, "chello")
    return fn


for _kinds in CRASH_GROUPS:
    scenario(globals(), f"crash_{'_'.join(_kinds)}", crash_scenario(_kinds), cost=3)
assert {k for g in CRASH_GROUPS for k in g} == set(CRASHES) | SURVIVORS


# ---- hostile ------------------------------------------------------------------------------

def check_hostile(r, name, calls):
    summary = result_line(r, name, "hostile", guest=name, calls=calls)
    assert summary["result"] == "pass" and summary["unexpected"] == "0", \
        f"{name}: {summary}; unexpected: {[t for t in texts(r, name) if 'unexpected nr' in t]}"
    tally = [kv(t) for t in texts(r, name) if t.startswith(f"hostile guest={name} einval=")]
    assert len(tally) == 1, f"{name}: no error tally line"
    refused = sum(int(v) for k, v in tally[0].items() if k != "guest")
    total = refused + int(summary["ok"]) + int(summary["other"])
    assert total == calls, f"{name}: {refused} refused + {summary['ok']} ok + " \
        f"{summary['other']} other = {total}, not {calls} calls"
    assert int(summary["other"]) == 0, f"{name}: {summary['other']} calls returned an error " \
        "code the ABI does not have"
    check_exited(r, name)
    st = stat(r, name)
    assert st.int("hypercalls") >= calls, f"{st.line()}: fewer hypercalls than {calls}"


def test_hostile_million():
    """A million hostile hypercalls on CPU 0 next to a pingpong pair and hello elsewhere."""
    calls = 1000000
    mods = [(elf("hostile"), f"name=hostile cpu=0 seed=1 count={calls}")]
    mods += pingpong_pair("hping", "hpong", (1, 2), 2000)
    mods.append((elf("hello"), "name=hhello cpu=2"))
    r = boot("exit=idle", smp=3, modules=mods)
    r.check_done(0)
    check_healthy(r)
    check_hostile(r, "hostile", calls)
    check_pingpong(r, "hping", "hpong", 2000)
    check_exited(r, "hhello")


test_hostile_million.cost = 5


def test_hostile_moves():
    """hostile moves itself with HC_SCHED_MOVE(SELF, cpu): each move is reported, it really
    runs on its last CPU afterwards, and moves of other guests are refused (not privileged)."""
    calls = 30000
    mods = [(elf("hostile"), f"name=mover cpu=0 seed=7 count={calls}"),
            (elf("hello"), "name=stay cpu=3")]
    r = boot("exit=idle", smp=4, modules=mods)
    r.check_done(0)
    check_healthy(r)
    check_hostile(r, "mover", calls)
    moves = [g for g in guest_records(r, "mover") if g["reason"] == "moved"]
    if not moves:
        raise AssertionError("hostile never moved itself (no @guest name=mover reason=moved); "
                             "its random HC_SCHED_MOVE calls should reach CPUs 0-3")
    cpus = {m.int("cpu") for m in moves}
    assert cpus <= set(range(4)), f"moved to CPUs {sorted(cpus)}, only 0-3 are online"
    assert cpus - {0}, "hostile never moved off CPU 0"
    # The summary lines come from the CPU it was on when it printed them: its last move's.
    final_cpu = moves[-1].int("cpu")
    summary_cpus = {c for c, t in output(r, "mover") if t.startswith("hostile guest=mover")}
    assert summary_cpus == {final_cpu}, \
        f"hostile printed its summary on CPUs {summary_cpus}, its last move was to {final_cpu}"
    assert not [g for g in r.records("guest") if g["name"] == "stay" and g["reason"] == "moved"], \
        "hello was moved by an unprivileged guest"
    assert texts(r, "stay") == ["hello from stay on cpu 3"], texts(r, "stay")
    check_exited(r, "stay")
    # Last: `reason=moved` is for a change of CPU, not for a move to the CPU it is on.
    cpu, same = guest_records(r, "mover")[0].int("cpu"), []
    for m in moves:
        if m.int("cpu") == cpu:
            same.append(m.line())
        cpu = m.int("cpu")
    assert not same, f"{len(same)} of {len(moves)} moved records name the CPU the guest " \
        f"was already on, e.g. {same[0]}"


test_hostile_moves.cost = 3


# ---- rejected modules ------------------------------------------------------------------------

def _patch(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def phdrs(data):
    """[(offset of the program header, p_type, p_flags, p_vaddr, p_memsz)]."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    out = []
    for i in range(phnum):
        off = phoff + 56 * i
        ptype, flags, _, vaddr, _, _, memsz, _ = struct.unpack_from("<IIQQQQQQ", data, off)
        out.append((off, ptype, flags, vaddr, memsz))
    return out


def corrupt_images(good):
    """{name: (bytes, reason pattern)}: hello.elf broken one way each (ELF-64 field offsets)."""
    loads = [p for p in phdrs(good) if p[1] == 1]
    text = next(p for p in loads if p[2] & 1)
    data = next(p for p in loads if p[2] & 2)
    ro = next(p for p in loads if not p[2] & 3)
    window_hi = RAM_BASE + (4 << 20) - STACK_BYTES      # default mem=4: below the stack
    return {
        "badmagic": (b"\x7fELG" + good[4:], r"magic"),
        "short": (good[:48], r"short|header"),
        # Cut inside the data segment's file bytes.
        "truncated": (good[:struct.unpack_from("<Q", good, data[0] + 8)[0] + 16],
                      r"past_the_end"),
        "entryout": (_patch(good, 24, "<Q", 0x300000), r"entry"),
        "entrydata": (_patch(good, 24, "<Q", data[3]), r"entry"),
        # The data segment's end reaches into the stack area (inside RAM, outside the window).
        "pastwindow": (_patch(good, data[0] + 40, "<Q", window_hi + PAGE - data[3]),
                       r"outside"),
        "farseg": (_patch(_patch(good, data[0] + 16, "<Q", data[3] + (64 << 20)),
                          data[0] + 24, "<Q", data[3] + (64 << 20)), r"outside"),
        "wx": (_patch(good, text[0] + 4, "<I", 7), r"W\^X|writable_and_executable"),
        "dyn": (_patch(good, 16, "<H", 3), r"ET_EXEC|executable"),
        "i386": (_patch(good, 18, "<H", 3), r"machine"),
        "interp": (_patch(good, ro[0], "<I", 3), r"PT_INTERP|dynamic"),
        "phoff": (_patch(good, 32, "<Q", len(good) - 8), r"past_the_end|program_header"),
    }


def check_rejected(r, index, cmdline, pattern, names):
    """Module `index` was refused: an error: line naming it, and its @guest state=rejected
    record (under one of names) with a reason matching pattern."""
    errs = [line for line in r.lines if re.search(rf"error: guest module {index}\b", line)]
    assert len(errs) == 1, f"module {index} ({cmdline!r}): {len(errs)} 'error: guest module " \
        f"{index}' lines, expected 1"
    assert cmdline in errs[0] and "rejected" in errs[0], f"{errs[0]!r} does not name {cmdline!r}"
    recs = [g for g in r.records("guest") if g["state"] == "rejected" and g["name"] in names]
    assert len(recs) == 1, f"module {index} ({cmdline!r}): {len(recs)} @guest state=rejected " \
        f"records named {sorted(names)}"
    rec = recs[0]
    assert re.search(pattern, rec["reason"], re.I), \
        f"{rec.line()}: reason does not match /{pattern}/"
    assert len(guest_records(r, rec["name"])) == 1, \
        f"rejected {rec['name']} has more @guest records than its rejection"
    assert not texts(r, rec["name"]), f"rejected {rec['name']} printed something"
    assert not [s for s in r.records("stat") if s["guest"] == rec["name"]], \
        f"rejected {rec['name']} has @stat records"
    return rec


def test_reject_images():
    """Corrupt ELF images next to good guests: each refused by name, the good ones run."""
    with open(elf("hello"), "rb") as f:
        good = f.read()
    with tempfile.TemporaryDirectory(prefix="courier-guests-") as tmp:
        mods, bad = [(elf("hello"), "name=good_first cpu=0")], []
        for name, (image, pattern) in corrupt_images(good).items():
            path = os.path.join(tmp, f"{name}.elf")
            with open(path, "wb") as f:
                f.write(image)
            bad.append((len(mods), f"name={name} cpu=1", pattern, name))
            mods.append((path, f"name={name} cpu=1"))
        mods += pingpong_pair("rping", "rpong", (1, 0), 200)
        r = boot("exit=idle", smp=2, modules=mods)
    r.check_done(len(bad))      # each rejected module is one error: line
    check_healthy(r)
    for index, cmdline, pattern, name in bad:
        check_rejected(r, index, cmdline, pattern, {name})
    assert texts(r, "good_first") == ["hello from good_first on cpu 0"], texts(r, "good_first")
    check_exited(r, "good_first")
    check_pingpong(r, "rping", "rpong", 200)


test_reject_images.cost = 2

LONG_NAME = "n" * 31            # the longest name: accepted


def test_reject_cmdlines():
    """Bad module command lines next to good guests: each refused with a reason and an
    error: line naming the module; the good guests (one with a 31-character name, one owning
    the edu) run. A module whose own name= is valid and unused is reported under that name."""
    h = elf("hello")
    good = [("owner", "name=owner cpu=1 dev=00:10.0"), (LONG_NAME, f"name={LONG_NAME} cpu=0")]
    # (command line, reason pattern, the name its record should carry or None: module<i>)
    bad = [
        ("cpu=0", r"name", None),
        ("name=bad.name", r"name", None),
        (f"name={'m' * 32}", r"name", None),
        ("name=owner cpu=0", r"exists", None),
        ("name=cpu2 cpu=2", r"cpu=2", "cpu2"),
        ("name=cpux cpu=x1", r"cpu=x1", "cpux"),
        ("name=mem0 mem=0", r"mem=0", "mem0"),
        ("name=mem1025 mem=1025", r"mem=1025", "mem1025"),
        ("name=nodev dev=00:1e.0", r"no_such_function", "nodev"),
        ("name=junkdev dev=zz", r"not_a_device_address", "junkdev"),
        ("name=bridge dev=00:12.0", r"bridge", "bridge"),
        ("name=thief dev=0000:00:10.0", r"belongs_to_guest_owner", "thief"),
    ]
    mods = [(h, c) for _, c in good] + [(h, c) for c, _, _ in bad]
    r = boot("exit=idle", smp=2, modules=mods,
            devices=[EDU_DEV, "pcie-pci-bridge,id=br,addr=0x12"])
    r.check_done(len(bad))
    check_healthy(r)
    for name, cmdline in good:
        cpu = kv(cmdline)["cpu"]
        assert texts(r, name) == [f"hello from {name} on cpu {cpu}"], texts(r, name)
        check_exited(r, name)
    recs = {}
    for i, (cmdline, pattern, name) in enumerate(bad):
        index = len(good) + i
        names = {f"module{index}"} | ({name} if name else set())
        recs[cmdline] = (check_rejected(r, index, cmdline, pattern, names), name)
    # Last, so that it does not hide the checks above: a valid name= is the record's name.
    unnamed = [f"{rec.line()} (module named {name})" for rec, name in recs.values()
               if name and rec["name"] != name]
    assert not unnamed, f"{len(unnamed)} rejected modules with a valid name= are reported " \
        f"under module<i>: {unnamed[:3]}"


test_reject_cmdlines.cost = 2


def test_guests_256():
    """256 guests, the most there may be (MAX_GUESTS), over 4 CPUs: each prints its line and
    exits, and each has its record; a 257th module is refused by name."""
    n = 256
    mods = [(elf("hello"), f"name=h{i} cpu={i % 4} mem=1") for i in range(n + 1)]
    r = boot("exit=idle", smp=4, mem=1024, modules=mods, timeout=300)
    r.check_done(1)
    for i in range(n):
        assert f"hello from h{i} on cpu {i % 4}" in texts(r, f"h{i}"), f"h{i}: {texts(r, f'h{i}')}"
        check_exited(r, f"h{i}")
    assert any(f"only {n} of {n + 1} modules loaded" in line for line in r.lines), \
        "the 257th module was not refused by name"


test_guests_256.cost = 6
test_guests_256.timeout = 600
