"""Ended and rejected guests give their memory and VT-d domain back.

- A module rejected after its memory was taken (200 MiB, then a dev= that does not exist)
  gives it back at once: the next module, 200 MiB too, fits in QEMU's 256 MiB only so.
- Guests that end (exit, crash) give back once no CPU can reach them (`@reclaim guest=
  frames=`), and the allocator's free bytes at the end are those at the start plus exactly
  what they gave back (`@frames free= at=start|end`). The edu guest's domain goes back to the
  IOMMU's pools (its tables are not the frame allocator's).
"""
from courier import scenario
from test_guests import boot, check_exited, check_healthy, elf, guest_records

PAGE = 4096


def frames_free(r, at):
    recs = [f for f in r.records("frames") if f["at"] == at]
    assert len(recs) == 1, f"{len(recs)} @frames at={at} records"
    return recs[0].int("free")


def reclaimed(r):
    return {x["guest"]: x.int("frames") for x in r.records("reclaim")}


def rejected_memory_reused():
    mods = [(elf("hello"), "name=big cpu=0 mem=200 dev=00:1f.7"),
            (elf("hello"), "name=big2 cpu=1 mem=200")]
    r = boot("exit=idle", smp=2, mem=256, modules=mods, timeout=90)
    check_healthy(r)
    assert [g["state"] for g in guest_records(r, "big")] == ["rejected"]
    check_exited(r, "big2")
    got = reclaimed(r)
    assert set(got) == {"big", "big2"} and got["big"] >= 200 * 256, got


def ended_guests_give_back():
    mods = [(elf("hello"), "name=h1 cpu=0 mem=8"),
            (elf("crash"), "name=c1 cpu=1 kind=ud"),
            (elf("edu"), "name=e1 cpu=1 dev=00:10.0 msi_rounds=2")]
    r = boot("exit=idle", smp=2, modules=mods, devices=["edu,addr=0x10"], timeout=60)
    check_healthy(r)
    got = reclaimed(r)
    assert set(got) == {"h1", "c1", "e1"}, f"@reclaim for {sorted(got)}"
    assert got["h1"] >= 8 * 256 and all(n > 0 for n in got.values()), got
    start, end = frames_free(r, "start"), frames_free(r, "end")
    assert end == start + PAGE * sum(got.values()), \
        f"free bytes {start} at the start, {end} at the end; the guests gave back " \
        f"{sum(got.values())} frames"


scenario(globals(), "reclaim_rejected_memory_reused", rejected_memory_reused, cost=2,
         timeout=150)
scenario(globals(), "reclaim_ended_guests", ended_guests_give_back, cost=2, timeout=120)
