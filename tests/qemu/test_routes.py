"""A device message reaches only the port it was sent for, or is dropped and counted.

The edu guest binds its message to port 1 of sink A, raises it a few times without waiting,
unbinds it at once, binds it to port 1 of sink B, and so on, 2,000 times: messages are still
on their way (pending in the target CPU's local APIC) when the binding they were sent through
is gone and another takes its place. A late message must not reach the new binding's port: a
binding's slot is not used again until its route's vectors are drained, and a message that
finds its binding gone is dropped and counted against the guest it was for (@stat ...
msgs_dropped=). The local APIC keeps one pending interrupt per vector, so back-to-back raises
may merge: what each sink's port received plus what was dropped for it can only be at most
what was raised for it, never more (and a sink may get none at all when every one of its
messages came after its unbind: they are then all counted dropped). The same with both sinks on one CPU (a late message for A
and B's messages on the same CPU's vectors) and on two.
"""
import re
from collections import Counter

from courier import scenario
from test_guests import boot, check_exited, check_healthy, edu_tests, elf, port_stats, stat

CYCLES = 2000


def flip(cpus, sink_cpus):
    mods = [(elf("edu"), f"name=drv cpu=0 dev=00:10.0 msi_rounds=2 flip={CYCLES} "
             "flip_a=sa flip_b=sb"),
            (elf("canary"), f"name=sa cpu={sink_cpus[0]} mode=sink peer=drv timeout_ms=60000 "
             "min_port1=0"),
            (elf("canary"), f"name=sb cpu={sink_cpus[1]} mode=sink peer=drv timeout_ms=60000 "
             "min_port1=0")]
    r = boot("exit=idle", smp=cpus, modules=mods, devices=["edu,addr=0x10"], timeout=120)
    check_healthy(r)
    t = edu_tests(r, "drv")["flip"]
    assert t["result"] == "pass" and t["cycles"] == str(CYCLES), t
    raised = {"sa": int(t["raised_a"]), "sb": int(t["raised_b"])}
    for name in ("sa", "sb"):
        check_exited(r, name)
        ports = port_stats(r, name)
        got, dropped = ports[1].int("received"), stat(r, name).int("msgs_dropped")
        assert ports[0].int("received") == 0, f"{name}'s unoffered port 0 got messages"
        # Each of its messages reached the hypervisor's handler before or after its unbind
        # (all of them after, some runs): at least one was dealt with, none went elsewhere.
        assert 0 < got + dropped <= raised[name], \
            f"{name}: port 1 received {got}, {dropped} dropped for it, {raised[name]} " \
            f"were raised for it: a message reached a port it was not sent for"
    own = port_stats(r, "drv")[0].int("received")
    assert own == 2 + 1, f"the driver's own port got {own} messages, 3 were its own"


scenario(globals(), "routes_flip_two_cpus", lambda: flip(3, (1, 2)), cost=2, timeout=200)
scenario(globals(), "routes_flip_one_cpu", lambda: flip(2, (1, 1)), cost=2, timeout=200)


# ---- moves in one batch -----------------------------------------------------------------------

HOPS = 6
WAIT, IEC = "vtd_inv_desc_wait_sw", "vtd_inv_desc_iec"
IEC_FIELDS = re.compile(r"granularity 0x([0-9a-f]+) index 0x([0-9a-f]+) mask 0x([0-9a-f]+)")


def hop_boot(n, hops, log_moves=True):
    """A guest binds n messages of a virtio-rng (MSI-X) to its own ports and moves hops times."""
    mods = [(elf("msgs"), f"name=mover cpu=1 dev=00:12.0 n={n} hops={hops}"),
            (elf("hello"), "name=other cpu=0")]
    r = boot("exit=idle" + (" log_moves=on" if log_moves else ""), smp=3, modules=mods,
             devices=["virtio-rng-pci,vectors=32,addr=0x12"], trace=[WAIT, IEC], timeout=90)
    check_healthy(r)
    r.check_done(0)
    check_exited(r, "mover")
    return r


def iec_descriptors(r):
    """(granularity, index, mask) of every IEC invalidation in QEMU's trace, counted."""
    out = Counter()
    for e in r.trace_events(IEC):
        m = IEC_FIELDS.search(e.text)
        assert m, f"unexpected {IEC} format: {e.text}"
        out[tuple(int(x, 16) for x in m.groups())] += 1
    return out


def moves_in_one_batch(n):
    """Every move of a guest with n bound messages costs one invalidation wait on the unit and
    one IEC invalidation: index-selective over the smallest naturally aligned block that holds
    the n entries (counted in QEMU's trace against the same boot without the moves); and after
    the last move every message is routed to the guest's CPU."""
    still, moving = hop_boot(n, 0), hop_boot(n, HOPS)
    waits = len(moving.trace_events(WAIT)) - len(still.trace_events(WAIT))
    assert waits == HOPS, f"{HOPS} moves of a guest with {n} messages took {waits} waits"
    irtes = {rec.int("irte") for rec in moving.records("route") if rec["dev"].endswith("00:12.0")}
    assert len(irtes) == n, f"the {n} messages' @route records name IRTEs {sorted(irtes)}"
    first, last = min(irtes), max(irtes)
    im = (first ^ last).bit_length()
    block = (1, first & ~((1 << im) - 1), im)
    extra = iec_descriptors(moving) - iec_descriptors(still)
    assert extra == Counter({block: HOPS}), \
        f"{HOPS} moves of {n} messages (IRTEs {first}..{last}): IEC invalidations beyond the " \
        f"boot without moves {dict(extra)}, expected {HOPS} of (g, index, mask) {block}"
    final = 1 if HOPS % 2 == 0 else 2
    last = {}
    for rec in moving.records("route"):
        if rec["dev"].endswith("00:12.0") and rec["cpu"] != "-":
            last[rec.int("msg")] = rec["cpu"]
    assert last == {k: str(final) for k in range(n)}, f"last @route cpu per message: {last}"


scenario(globals(), "routes_move_batch_16", lambda: moves_in_one_batch(16), cost=2, timeout=200)
scenario(globals(), "routes_move_batch_32", lambda: moves_in_one_batch(32), cost=2, timeout=200)


def moves_the_quick_way(n):
    """Without log_moves, a guest's messages move the quick way (route_move_add: only each
    IRTE's destination, docs/architecture.md "Moving a guest's messages"): still one wait and
    one IEC invalidation per move, index-selective over the function's IRTE block (n messages
    allocated: the block of n), in QEMU's trace against the same boot without the moves; the
    hypervisor counted every move (@stat moves=)."""
    still, moving = hop_boot(n, 0, log_moves=False), hop_boot(n, HOPS, log_moves=False)
    waits = len(moving.trace_events(WAIT)) - len(still.trace_events(WAIT))
    assert waits == HOPS, f"{HOPS} moves of a guest with {n} messages took {waits} waits"
    extra = iec_descriptors(moving) - iec_descriptors(still)
    assert sum(extra.values()) == HOPS and len(extra) == 1, \
        f"{HOPS} moves of {n} messages: IEC invalidations beyond the boot without moves " \
        f"{dict(extra)}, expected {HOPS} of one block"
    (g, index, mask), = extra
    assert g == 1 and index % (1 << mask) == 0 and 1 << mask == n, \
        f"the IEC invalidation (g {g}, index {index}, mask {mask}) is not over a block of {n}"
    assert stat(moving, "mover").int("moves") == HOPS


scenario(globals(), "routes_move_quick_32", lambda: moves_the_quick_way(32), cost=2, timeout=200)
