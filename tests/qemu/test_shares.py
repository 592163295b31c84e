"""What guests share, shared out: no guest can use up the device vectors of a CPU or a remapping
unit's IRTEs that another guest needs.

A hog guest (guests/msgs) owns three virtio-rng functions with 128, 64 and 32 MSI-X entries and
asks for all of them on CPU 1; a victim owns an e1000e on CPU 2, binds its five messages after
the hog is done and then moves to CPU 1. With three guests each may bind 176/3 messages to its
ports and hold a third of the unit's free IRTEs: the hog gets ENOMEM past its share, the victim
gets everything it asks for and its messages follow it to CPU 1 (@route). Before the shares the
hog took all 224 free IRTEs and every vector of CPU 1, and the victim got ENOMEM.
"""
from courier import scenario
from test_guests import boot, check_exited, check_healthy, elf, kv, texts

DEVICES = ["virtio-rng-pci,vectors=128,addr=0x12", "virtio-rng-pci,vectors=64,addr=0x14",
           "virtio-rng-pci,vectors=32,addr=0x15", "e1000e,addr=0x13"]
VECTORS = 176                   # kernel/cpu/vectors.h: 0x30..0xdf per CPU


def lines(r, name):
    return [kv(t) for t in texts(r, name) if t.startswith("msgs ")]


def shares():
    mods = [(elf("msgs"), "name=hog cpu=1 dev=00:12.0,00:14.0,00:15.0 n=128"),
            (elf("msgs"), "name=victim cpu=2 dev=00:13.0 n=5 move_to=1 delay_ms=300"),
            (elf("hello"), "name=third cpu=0")]
    r = boot("exit=idle log_moves=on", smp=3, modules=mods, devices=DEVICES, timeout=60)
    check_healthy(r)
    r.check_done(0)
    share = VECTORS // 3
    hog = lines(r, "hog")
    total = hog[-1]
    assert total["result"] == "pass" and int(total["bound"]) == share, \
        f"the hog bound {total['bound']} messages to its ports, its share is {share}: {hog}"
    assert any(h.get("stop") == "ENOMEM" or h.get("alloc") == "ENOMEM" for h in hog[:-1]), hog
    victim = lines(r, "victim")
    assert victim[0]["alloc"] == "ok" and victim[0]["bound"] == "5" and \
        victim[0]["stop"] == "-", f"the victim did not get its five messages: {victim}"
    assert victim[-1]["result"] == "pass" and victim[-1]["cpu"] == "1", victim
    check_exited(r, "victim")
    check_exited(r, "hog")
    last = {}                   # where each message went last before the victim ended
    for rec in r.records("route"):
        if rec["dev"].endswith("00:13.0") and rec["cpu"] != "-":
            last[rec.int("msg")] = rec["cpu"]
    assert last == {k: "1" for k in range(5)}, \
        f"the victim's messages did not all follow it to CPU 1: last @route cpu per msg {last}"


scenario(globals(), "shares_hog_and_victim", shares, cost=2, timeout=120)


def shares_more_guests_than_vectors():
    """With more guests loaded than a CPU has device vectors, the share would round to 0,
    which once meant no limit at all: each guest may now bind one message."""
    n = VECTORS + 4
    mods = [(elf("msgs"), "name=hog cpu=1 dev=00:12.0 n=128")]
    mods += [(elf("hello"), f"name=h{i} cpu={i % 4} mem=1") for i in range(n - 1)]
    r = boot("exit=idle", smp=4, mem=1024, modules=mods, devices=DEVICES[:1], timeout=300)
    check_healthy(r)
    r.check_done(0)
    assert any("guests: each may bind 1 messages" in line for line in r.lines), \
        [line for line in r.lines if "guests: each may bind" in line]
    hog = lines(r, "hog")
    assert hog and int(hog[-1]["bound"]) == 1, \
        f"the hog bound {hog[-1]['bound'] if hog else '?'} messages with {n} guests loaded: {hog}"
    assert any(h.get("stop") == "ENOMEM" for h in hog[:-1]), hog
    check_exited(r, "hog")


def shares_off():
    """shares=off: the hog binds past what its share would be (experiments that need every
    vector, e.g. make bench's scale), and says so at boot."""
    mods = [(elf("msgs"), "name=hog cpu=1 dev=00:12.0,00:14.0,00:15.0 n=128"),
            (elf("hello"), "name=third cpu=0"), (elf("hello"), "name=fourth cpu=2")]
    r = boot("exit=idle shares=off", smp=3, modules=mods, devices=DEVICES, timeout=60)
    check_healthy(r)
    r.check_done(0)
    assert any("shares=off" in line for line in r.lines), "no word of shares=off at boot"
    hog = lines(r, "hog")
    assert int(hog[-1]["bound"]) > VECTORS // 3, \
        f"the hog bound {hog[-1]['bound']} with shares=off, no more than a share: {hog}"
    check_exited(r, "hog")


scenario(globals(), "shares_more_guests_than_vectors", shares_more_guests_than_vectors, cost=4,
         timeout=600)
scenario(globals(), "shares_off", shares_off, cost=2, timeout=120)
