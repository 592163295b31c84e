"""One device, many guests, on the e1000e: its five MSI-X messages go to five frontends, each
straight to the CPU its frontend runs on (guests/e1000e, guests/frontend, docs/abi.md
"Granting messages").

The driver raises message k through ICS (IVAR maps cause k to entry k) once per round, and
waits for every frontend's acknowledgement before the next, so the counts are exact. Three
accounts must agree: the guests' lines, the hypervisor's (@grant, @bind, @route, @msgs,
@stat), and QEMU's `vtd_ir_remap_msi` trace (exactly one remapped message per raise, to the
APIC and vector the route named, never to the driver's CPU).

Then what grants add: the frontend binds its granted message itself; masking holds it at the
device (MSI-X pending bit) and unmasking lets it through; a revoked grant takes the frontend's
route down and tells it; a crashed frontend loses only its own route while the device's other
messages keep flowing; grants made at boot by the driver's module line.
"""
from courier import scenario
from test_guests import boot, check_exited, check_healthy, elf, port_stats, result_line, texts
from test_msi import remap_events, route_states

NIC_DEV = "e1000e,addr=0x11"
NIC_BDF = "00:11.0"
MSGS = 5
DRIVER = "nic"
FRONTEND_PORT = 0


def nic_boot(smp, cpus, rounds, driver_args="", frontend_args=None, cmdline="exit=idle",
             timeout=90):
    """Driver on CPU 0; frontend k (n<k>) on cpus[k], acknowledging on the driver's port k."""
    names = [f"n{k}" for k in range(len(cpus))]
    frontend_args = frontend_args or {}
    mods = [(elf("e1000e"), f"name={DRIVER} cpu=0 dev={NIC_BDF} frontends={','.join(names)} "
             f"rounds={rounds} {driver_args}")]
    mods += [(elf("frontend"), f"name={name} cpu={cpu} driver={DRIVER} rounds={rounds} "
              f"ack_port={k} {frontend_args.get(k, 'mode=grant')}")
             for k, (name, cpu) in enumerate(zip(names, cpus))]
    r = boot(cmdline, smp=smp, modules=mods, devices=[NIC_DEV], trace=["vtd_ir_remap_msi", "e1000e_irq_*"],
             timeout=timeout)
    r.check_done(0)
    check_healthy(r)
    return r, names


def driver_counts(r, names, rounds, expect):
    """The driver's per-message lines: raised and acknowledged as expected ({k: (raised,
    acks)}, default (rounds, rounds)); its summary passes."""
    errors = [t for t in texts(r, DRIVER) if " error=" in t]
    assert not errors, f"{DRIVER}: {errors}"
    result_line(r, DRIVER, "e1000e", has=("frontends",), result="pass")
    for k, name in enumerate(names):
        line = result_line(r, DRIVER, "e1000e", msg=k)
        raised, acks = expect.get(k, (rounds, rounds))
        assert line["frontend"] == name and line["raised"] == str(raised) and \
            line["acks"] == str(acks) and line["result"] == "pass", \
            f"driver, message {k}: {line}, expected raised={raised} acks={acks}"
    check_exited(r, DRIVER)


def frontend_line(r, name):
    return result_line(r, name, "frontend", has=("events", "revoked"))


def message_irtes(r, names):
    """{k: irte} from @bind: message k bound to frontend k's event port, once."""
    binds = [b for b in r.records("bind") if b["dev"].endswith(NIC_BDF)]
    by_msg = {}
    for b in binds:
        k = b.int("msg")
        assert k not in by_msg, f"message {k} bound twice: {b.line()}"
        assert b["guest"] == names[k] and b.int("port") == FRONTEND_PORT, \
            f"{b.line()}: expected guest={names[k]} port={FRONTEND_PORT}"
        by_msg[k] = b.int("irte")
    assert sorted(by_msg) == list(range(len(names))), f"bound messages {sorted(by_msg)}"
    return by_msg


def check_grants(r, names, after=None):
    """@grant state=granted of message k to frontend k by the driver, once each; then the
    states in `after` ({k: state}) and, at the driver's end, owner_ended for the rest."""
    after = after or {}
    for k, name in enumerate(names):
        states = [g["state"] for g in r.records("grant")
                  if g["dev"].endswith(NIC_BDF) and g.int("msg") == k]
        want = ["granted", after.get(k, "owner_ended")]
        assert states == want, f"@grant of message {k}: states {states}, expected {want}"
        g = [g for g in r.records("grant") if g.int("msg") == k][0]
        assert g["owner"] == DRIVER and g["guest"] == name, g.line()


def check_delivery(r, names, cpus, counts):
    """Message k remapped exactly counts[k] times in QEMU's trace, each to the APIC and
    vector of its route (never the driver's CPU); @msgs: frontend k's messages taken on its
    CPU only, counts[k] of them; @stat: its event port received them there."""
    apic_of = {c.int("index"): c.int("apic") for c in r.records("cpu")}
    irtes = message_irtes(r, names)
    states = route_states(r)
    want = {}
    for k, irte in irtes.items():
        live = [s for s in states.get(irte, []) if s]
        assert len(live) == 1 and live[0][0] == apic_of[cpus[k]], \
            f"IRTE {irte} (message {k}): routes {states.get(irte)}, expected one to APIC " \
            f"{apic_of[cpus[k]]} (CPU {cpus[k]})"
        want[irte] = live[0]
    seen = {irte: 0 for irte in want}
    for idx, apic, vec in remap_events(r):
        if idx not in want:
            continue
        assert apic != apic_of[0], f"IRTE {idx} remapped to the driver's CPU (APIC {apic})"
        assert (apic, vec) == want[idx], \
            f"IRTE {idx} remapped to APIC {apic} vector {vec:#x}, its route says " \
            f"{want[idx]}"
        seen[idx] += 1
    got = {k: seen[irtes[k]] for k in irtes}
    assert got == counts, f"messages remapped per message {got}, expected {counts}"
    taken = {(m.int("cpu"), m["guest"]): m.int("taken") for m in r.records("msgs")
             if m["guest"] in names}
    assert taken == {(cpus[k], names[k]): counts[k] for k in range(len(names)) if counts[k]}, \
        f"@msgs for the frontends {taken}"
    for k, name in enumerate(names):
        st = port_stats(r, name)[FRONTEND_PORT]
        assert st.int("received") == counts[k], f"{st.line()}: expected {counts[k]}"


def spread(smp, n=MSGS):
    """Frontend k's CPU: 1..smp-1 round robin (never the driver's CPU 0)."""
    return [1 + k % (smp - 1) for k in range(n)]


def grants_scenario(smp, cpus, rounds):
    def fn():
        r, names = nic_boot(smp, cpus, rounds, "mode=grant")
        driver_counts(r, names, rounds, {})
        for name, cpu in zip(names, cpus):
            fe = frontend_line(r, name)
            assert fe["result"] == "pass" and fe["events"] == str(rounds) and \
                fe["revoked"] == "0" and fe["cpu"] == str(cpu), f"{name}: {fe}"
            bound = result_line(r, name, "frontend", has=("msg",))
            assert bound["dev"] == NIC_BDF and bound["msg"] == name[1:] and \
                bound["port"] == str(FRONTEND_PORT), f"{name}: {bound}"
            check_exited(r, name)
        check_grants(r, names)
        check_delivery(r, names, cpus, {k: rounds for k in range(len(names))})
    fn.__doc__ = f"e1000e driver on CPU 0 grants its {len(cpus)} MSI-X messages to frontends " \
        f"on CPUs {cpus}, each binds its own: message k reaches frontend k's CPU {rounds} " \
        "times, nowhere else, per QEMU's trace"
    return fn


scenario(globals(), "grants_e1000e_2cpus", grants_scenario(2, spread(2), 8), cost=2,
         timeout=90)
scenario(globals(), "grants_e1000e_6cpus", grants_scenario(6, spread(6), 8), cost=3,
         timeout=120)
scenario(globals(), "grants_e1000e_uneven", grants_scenario(4, [3, 3, 1, 3, 2], 8), cost=2,
         timeout=90)


def test_grants_mask_and_revoke():
    """Frontend n1 masks its message after event 5 (HC_DEV_MSG_MASK): the driver's next raise
    is held at the device (no event for 50 ms) and arrives on unmask. The driver revokes
    message 2 after round 10: n2 hears it on its grant port and ends (revoked=1, 10 events), its
    route goes, the driver raises message 2 no more, and the other four keep flowing."""
    rounds, cpus = 16, spread(4)
    r, names = nic_boot(4, cpus, rounds, "mode=grant revoke=2@10",
                        {1: "mode=grant mask_at=5"})
    driver_counts(r, names, rounds, {2: (10, 10)})
    mask = result_line(r, "n1", "frontend", test="mask")
    assert mask["held_events"] == "0" and mask["result"] == "pass", f"n1: {mask}"
    for k, name in enumerate(names):
        fe = frontend_line(r, name)
        events, revoked = (10, "1") if k == 2 else (rounds, "0")
        assert fe["result"] == "pass" and fe["events"] == str(events) and \
            fe["revoked"] == revoked, f"{name}: {fe}, expected events={events} revoked={revoked}"
        check_exited(r, name)
    check_grants(r, names, {2: "revoked"})
    irte2 = message_irtes(r, names)[2]
    assert route_states(r)[irte2][-1] is None, f"IRTE {irte2}: the revoked route is not gone"
    check_delivery(r, names, cpus, {k: 10 if k == 2 else rounds for k in range(MSGS)})


def test_grants_at_boot_and_crash():
    """grant= on the driver's module makes the five grants before any guest runs (mode=boot:
    the driver grants nothing itself). Frontend n2 crashes after its 4th event: its route goes
    with it, the driver goes on raising all five, and the other four get every one."""
    rounds, cpus = 10, spread(3)
    grants = ",".join(f"{NIC_BDF}/{k}@n{k}" for k in range(MSGS))
    r, names = nic_boot(3, cpus, rounds, f"mode=boot gone=2@4 grant={grants}",
                        {2: "mode=grant crash_at=4"})
    driver_counts(r, names, rounds, {2: (rounds, 4)})
    first_guest = next(i for i, rec in enumerate(r.records()) if rec.type == "guest")
    first_grant = next(i for i, rec in enumerate(r.records()) if rec.type == "grant")
    assert first_grant < first_guest, "the boot grants came after a guest started"
    crashed = [g for g in r.records("guest") if g["name"] == "n2"][-1]
    assert crashed["state"] == "crashed", f"n2: {crashed.line()}"
    for k, name in enumerate(names):
        if k != 2:
            fe = frontend_line(r, name)
            assert fe["result"] == "pass" and fe["events"] == str(rounds), f"{name}: {fe}"
    check_grants(r, names)
    irte2 = message_irtes(r, names)[2]
    assert route_states(r)[irte2][-1] is None, f"IRTE {irte2}: the crashed guest's route stays"
    check_delivery(r, names, cpus, {k: 4 if k == 2 else rounds for k in range(MSGS)})


def test_grants_forward_baseline():
    """route=forward with grants: the same counts, but every message is taken on the driver's
    CPU and forwarded (@msgs cpu=0), the path grants exist to remove."""
    rounds, cpus = 6, spread(3)
    r, names = nic_boot(3, cpus, rounds, "mode=grant", cmdline="exit=idle route=forward")
    driver_counts(r, names, rounds, {})
    for name in names:
        fe = frontend_line(r, name)
        assert fe["result"] == "pass" and fe["events"] == str(rounds), f"{name}: {fe}"
    taken = {(m.int("cpu"), m["guest"]): m.int("taken") for m in r.records("msgs")
             if m["guest"] in names}
    assert taken == {(0, name): rounds for name in names}, f"forward: @msgs {taken}"


def test_grants_abi_rules():
    """Every rule of grants asked by an owner and a peer in turn (guests/grantcheck): who may
    grant, bind, unbind, mask and list what, with which error otherwise, and that a revoke
    tears down the peer's binding and raises its grant port."""
    mods = [(elf("grantcheck"), f"name=owner cpu=0 dev={NIC_BDF} role=owner peer=peer"),
            (elf("grantcheck"), "name=peer cpu=1 role=peer owner=owner")]
    r = boot("exit=idle", smp=2, modules=mods, devices=[NIC_DEV], timeout=60)
    r.check_done(0)
    check_healthy(r)
    for name, n in (("owner", 12), ("peer", 18)):
        bad = [t for t in texts(r, name) if "result=fail" in t]
        assert not bad, f"{name}: {bad}"
        summary = result_line(r, name, "grantcheck", has=("checks",))
        assert summary["checks"] == str(n) and summary["failed"] == "0", f"{name}: {summary}"
        check_exited(r, name)
    states = [g["state"] for g in r.records("grant")]
    assert states == ["granted", "revoked"], f"@grant states {states}"
    binds = [b for b in r.records("bind") if b["guest"] == "peer"]
    assert len(binds) == 2, f"the peer bound message 0 twice: {[b.line() for b in binds]}"
