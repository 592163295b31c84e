"""Thousands of moves while device messages stream (issue 11's stress).

The hypervisor moves every guest to the next CPU every millisecond (`move_ms=1 tick_hz=1000`)
while the xHCI driver streams control transfers to four frontends (message k to frontend k,
granted), and a fifth guest holds 16 MSI-X messages of a virtio-rng bound to its own ports.
Every move of a guest with bound messages rewrites them in one batch: one invalidation wait
per move on the unit, however many messages (kernel/guest/guest_msg.c guest_msgs_follow).

Checked: the frontends and the driver count every event exactly once (their ack protocol makes
a lost or doubled message a failure), the hypervisor's @msgs agree, the guests with bound
messages moved at least MOVES times in all while they had them (@stat batches=), and QEMU's
trace holds exactly one invalidation wait per such move beyond what the same boot without
moves needs.
"""
from test_guests import boot, check_exited, check_healthy, elf, kv, result_line, stat, texts

XHCI = ["nec-usb-xhci,msix=off,addr=0x10", "usb-kbd"]
RNG = "virtio-rng-pci,vectors=17,addr=0x12"
WAIT = "vtd_inv_desc_wait_sw"
FRONTENDS = 4
ROUNDS = 5000
HOLD_MS = 5000
HOLDER_MSGS = 16
MOVES = 10000


def stress_boot(moving):
    names = [f"f{k}" for k in range(FRONTENDS)]
    mods = [(elf("xhci"), f"name=xhci cpu=0 dev=00:10.0 mode=grant frontends={','.join(names)} "
             f"rounds={ROUNDS} timeout_ms=20000")]
    mods += [(elf("frontend"), f"name={n} cpu={1 + k % 3} driver=xhci rounds={ROUNDS} "
              f"mode=grant ack_port={k}") for k, n in enumerate(names)]
    # The holder binds its messages and keeps them, blocked, for HOLD_MS.
    mods += [(elf("msgs"), f"name=holder cpu=1 dev=00:12.0 n={HOLDER_MSGS} hold_ms={HOLD_MS}")]
    cmdline = "exit=idle tick_hz=1000" + (" move_ms=1" if moving else "")
    r = boot(cmdline, smp=4, modules=mods, devices=XHCI + [RNG], trace=[WAIT], timeout=600)
    r.check_done(0)
    check_healthy(r)
    return r, names


def check_counts(r, names):
    summary = result_line(r, "xhci", "xhci", has=("frontends",), result="pass")
    assert summary["events"] == str(ROUNDS * FRONTENDS), f"driver: {summary}"
    for name in names:
        fe = [kv(t) for t in texts(r, name) if t.startswith("frontend ") and "events" in t][-1]
        assert fe["result"] == "pass" and fe["events"] == str(ROUNDS) and \
            fe["acks"] == str(ROUNDS), f"{name}: {fe}"
        check_exited(r, name)
    taken = {}
    for m in r.records("msgs"):
        if m["guest"] in names:
            taken[m["guest"]] = taken.get(m["guest"], 0) + m.int("taken")
    assert taken == {n: ROUNDS for n in names}, f"@msgs per frontend {taken}"
    holder = result_line(r, "holder", "msgs", has=("bound",), result="pass")
    assert holder["bound"] == str(HOLDER_MSGS), f"holder: {holder}"
    check_exited(r, "holder")


def test_stress_moves_while_streaming():
    """10,000 moves or more of guests with bound messages while the xHCI streams to four
    frontends: every event counted once, one invalidation wait per move."""
    still, names = stress_boot(False)
    check_counts(still, names)
    moving, _ = stress_boot(True)
    check_counts(moving, names)
    movers = names + ["holder"]
    # batches: the moves that found bound messages to take along (a frontend also moves
    # before its driver has granted it its message); each must be one wait, whatever the
    # number of messages (the holder's 16).
    moves = sum(stat(moving, n).int("moves") for n in movers)
    batches = sum(stat(moving, n).int("batches") for n in movers)
    assert batches >= MOVES and batches <= moves, \
        f"the guests moved {moves} times, {batches} of them with bound messages: fewer " \
        f"than {MOVES}, the scenario did not stress what it is for"
    assert sum(stat(still, n).int("moves") for n in movers) == 0
    extra = len(moving.trace_events(WAIT)) - len(still.trace_events(WAIT))
    assert extra == batches, \
        f"{batches} moves of guests with bound messages took {extra} invalidation waits " \
        "beyond the boot without moves; one each was expected"


test_stress_moves_while_streaming.cost = 6
test_stress_moves_while_streaming.timeout = 1200
