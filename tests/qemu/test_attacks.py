"""Attacks kept in the suite: a malicious device and hostile guests, each next to innocent
guests whose counts must stay exact.

- DMA sweep: a guest owning an edu (guests/edu sweep=) points its DMA, read and write, at
  memory that is not its own: low memory, the hypervisor's image (its ELF's physical load
  addresses, from 2 MiB), the pages either side of its own RAM's IOVAs, the top of RAM, and a
  stride across the RAM where other guests' frames are. A canary guest (guests/canary) fills its
  heap with a pattern before the sweep and checks it after; QEMU's physical memory, saved when
  the canary is filled, says which swept addresses were the canary's frames (at least one must
  be). Every access must be one @dmafault (read or write, its page) in the order issued, and
  QEMU's own vtd_dmar_fault trace must show the same accesses refused, in the same order; what
  the device read back is never memory's contents. A pingpong pair and hello stay exact.
- Event floods (guests/hostile mode=send): at a port never offered (a pingpong guest's, and the
  sink's port 0) every send fails with EPERM and the victims count nothing more; at a port that
  was offered (the sink's port 1) every send succeeds and the hypervisor counts each one, while
  a pingpong guest on the sink's CPU stays exact.
- Control-flow and memory attacks (guests/hostile mode=jump|call|int|read|write): jumps and
  calls into the hypervisor's text and direct map, to non-canonical and null addresses, `int n`
  at the hypervisor's own vectors, reads of its image, MMIO window and stacks, a write to the
  guest's own read-only data: each guest stopped with the exception and fault address the
  attack must give, bystanders exact. (guests/crash covers the direct map read and write, a
  non-canonical load, the start-info write and the rest.)
"""
import os
import re
import struct
import tempfile

from courier import BUILD, scenario
from test_guests import (EDU_BDF, EDU_DEV, EDU_SID, TRACE_FAULT, WARNING, boot, check_exited,
                         check_healthy, check_pingpong, elf, guest_records, kv, last_state,
                         pingpong_pair, port_stats, result_line, stat, texts)

PAGE = 0x1000
RAM_BASE = 0x400000             # kernel/guest/guest.h GUEST_RAM_BASE
EDU_DMA_LIMIT = 1 << 28         # edu's default dma_mask
QEMU_MEM = 256 << 20            # courier.Boot's default -m
SWEEP_LEN = 64
FAULT_BURST_RECORDS = 32        # iommu/fault.c: @dmafault records printed per burst
ROUNDS = 1000
MAGIC = b"CNRYPAGE"             # guests/canary: the first 8 bytes of each filled page


def hv_segments():
    """[(paddr, vaddr, memsz, flags)] of the hypervisor ELF's PT_LOAD segments."""
    path = os.environ.get("COURIER_ELF") or os.path.join(BUILD, "courier.elf")
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    out = []
    for i in range(phnum):
        ptype, flags, _, vaddr, paddr, _, memsz, _ = struct.unpack_from("<IIQQQQQQ", data,
                                                                        phoff + 56 * i)
        if ptype == 1:
            out.append((paddr, vaddr, memsz, flags))
    return out


# ---- DMA sweep ---------------------------------------------------------------------------------

def hv_targets():
    """Physical pages of the hypervisor image: the first page of each loaded segment and the
    last page of the image (the end of its bss: per-CPU areas, static tables)."""
    segs = hv_segments()
    assert segs and segs[0][0] == 0x200000, f"the image does not load at 2 MiB: {segs}"
    pages = [paddr & ~(PAGE - 1) for paddr, _, _, _ in segs]
    end = max(paddr + memsz for paddr, _, memsz, _ in segs)
    pages.append((end - 1) & ~(PAGE - 1))
    return pages


def sweep_check(r, name, addrs):
    """Each address read and then written, each access one @dmafault of the edu in order, and
    QEMU's trace refusing the same accesses in the same order; nothing the device read was
    memory's contents."""
    issued = [kv(t) for t in texts(r, name) if "test=sweep " in t and "dir=" in t]
    want = [(a, d) for a in addrs for d in ("read", "write")]
    assert [(int(i["addr"], 16), i["dir"]) for i in issued] == want, \
        f"{name} issued {[(i['addr'], i['dir']) for i in issued]}, expected {want}"
    done = result_line(r, name, "edu", test="sweep_done")
    assert done["result"] == "pass" and done["accesses"] == str(len(want)), done
    got = [kv(t) for t in texts(r, name) if "test=sweep " in t and "got=" in t]
    assert len(got) == len(addrs), f"{len(got)} got= lines for {len(addrs)} reads"
    # A refused read leaves the device zeros (QEMU) or its own 0xa5 fill, never memory.
    leaked = [(g["addr"], g["got"]) for g in got
              if int(g["got"], 16) not in (0, 0xa5a5a5a5a5a5a5a5, (1 << 64) - 1)]
    assert not leaked, f"the device read something from memory it may not reach: {leaked}"

    faults = r.records("dmafault")
    assert not [f for f in faults if f["name"] == "overflow"], \
        f"fault overflow: {[f.line() for f in faults]}"
    assert not r.grep(r"more fault records in the last burst were not printed"), \
        "some faults were not printed (more than one burst's worth)"
    seen = [(f.int("addr"), f["type"]) for f in faults]
    pages = [(a & ~(PAGE - 1), d) for a, d in want]
    assert seen == pages, f"@dmafault (addr, type) {[(hex(a), d) for a, d in seen]}, " \
        f"expected one per access {[(hex(a), d) for a, d in pages]}"
    others = [f.line() for f in faults if f["bdf"] != EDU_BDF]
    assert not others, f"faults of other requesters: {others}"

    runs = []                   # consecutive trace events collapsed by (page, direction)
    for line in r.trace_events("vtd_dmar_fault"):
        m = TRACE_FAULT.search(line.text)
        assert m, f"unexpected vtd_dmar_fault format: {line.text}"
        sid, addr = int(m.group(1), 16), int(m.group(3), 16)
        assert sid == EDU_SID, f"QEMU traced a fault of requester {sid:#x}: {line.text}"
        key = (addr & ~(PAGE - 1), "write" if m.group(4) == "1" else "read")
        if not runs or runs[-1][0] != key:
            runs.append([key, addr, addr])
        runs[-1][2] = addr
    assert [k for k, _, _ in runs] == pages, \
        f"QEMU refused {[(hex(a), d) for (a, d), _, _ in runs]}, expected {pages}"
    for ((page, d), lo, hi), (a, _) in zip(runs, want):
        assert lo == a and hi < a + SWEEP_LEN, \
            f"QEMU's refused {d} at {lo:#x}..{hi:#x} is not the access at {a:#x}+{SWEEP_LEN}"


def canary_pages(path, size):
    """{physical page: guest-virtual address} of the canary's filled pages in a memory dump."""
    out = {}
    with open(path, "rb") as f:
        data = f.read(size)
    at = data.find(MAGIC)
    while at >= 0:
        if at % PAGE == 0:
            out[at] = struct.unpack_from("<Q", data, at + 8)[0]
        at = data.find(MAGIC, at + 1)
    return out


def dma_sweep():
    """Sixteen addresses, so 32 accesses: one burst's worth of @dmafault records."""
    mem_mib = 3                 # RAM IOVAs 0x400000-0x700000: the rest of that 2 MiB is not its
    ram_end = RAM_BASE + (mem_mib << 20)
    stride = [s << 20 for s in (16, 48, 80, 112, 144)]
    addrs = ([0x0, 0xb8000] + hv_targets() + [RAM_BASE - PAGE, ram_end, 0x7ff000] + stride
             + [EDU_DMA_LIMIT - PAGE])
    assert len(addrs) == FAULT_BURST_RECORDS // 2 and len(set(addrs)) == len(addrs), addrs
    dump = {}

    def on_record(b, rec):
        # The canary moves itself once it is filled: save physical memory then.
        if rec.type == "guest" and rec["name"] == "canary" and rec["reason"] == "moved" \
                and "pages" not in dump:
            fd, path = tempfile.mkstemp(prefix="courier-mem-", dir=os.path.join(BUILD, "tmp"))
            os.close(fd)
            try:
                b.qmp.command("pmemsave", val=0, size=QEMU_MEM, filename=path)
                dump["pages"] = canary_pages(path, QEMU_MEM)
            finally:
                os.unlink(path)

    sweep = ",".join(f"{a:x}" for a in addrs)
    mods = [(elf("edu"), f"name=edu cpu=1 mem={mem_mib} dev={EDU_BDF} msi_rounds=1 "
             f"sweep_peer=canary sweep_len={SWEEP_LEN} sweep={sweep}"),
            (elf("canary"), "name=canary cpu=2 mem=40 peer=edu move_to=0")]
    mods += pingpong_pair("ping", "pong", (0, 2), ROUNDS)
    mods.append((elf("hello"), "name=hello cpu=1"))
    r = boot("exit=idle", smp=3, modules=mods, devices=[EDU_DEV], trace=["vtd_dmar_fault"],
             qmp=True, on_record=on_record, timeout=60)
    r.check_done(0)
    check_healthy(r)
    sweep_check(r, "edu", addrs)
    check_exited(r, "edu")
    line = result_line(r, "canary", "canary", has=("changed",))
    assert line["changed"] == "0" and line["woken"] == "1" and line["result"] == "pass", \
        f"the canary's memory changed or it was never told the sweep ended: {line}"
    check_exited(r, "canary")
    # The canary was filled before the sweep began.
    order = [t for _, t in sorted((ts, t) for ts, t in timed(r)
                                  if "filled pages=" in t or "test=sweep_start" in t)]
    assert len(order) == 2 and "filled" in order[0] and "peer_ready=1" in order[1], order
    # At least one swept address was a page of the canary's (QEMU's memory says where).
    pages = dump.get("pages")
    assert pages, "no memory dump of the filled canary (its move record never came?)"
    hit = sorted(a for a in addrs if a in pages)
    assert hit, f"no swept address was the canary's: its pages span " \
        f"{min(pages):#x}..{max(pages):#x}; move the stride"
    check_pingpong(r, "ping", "pong", ROUNDS)
    check_exited(r, "hello")


def timed(r):
    """(time, text) of every guest console line."""
    out = []
    for line in r.lines:
        m = re.match(r"^\[\s*([0-9.]+) c\d+\] [A-Za-z0-9_-]+\| (.*)$", line)
        if m:
            out.append((float(m.group(1)), m.group(2)))
    return out


scenario(globals(), "attack_dma_sweep", dma_sweep, cost=3, timeout=120)


# ---- event floods ------------------------------------------------------------------------------

FLOOD = 20000
OFFERED = 5000


def event_floods():
    """hostile on CPU 2 floods pong's port 0 and the sink's port 0 (offered to no one), then
    the sink's port 1 (offered to it), then says it is done on port 2. The sink shares CPU 1
    with pong."""
    sends = f"pong:0:{FLOOD}:eperm,sink:0:{FLOOD}:eperm,sink:1:{OFFERED}:ok,sink:2:1:ok"
    mods = [(elf("hostile"), f"name=flooder cpu=2 mode=send send={sends}"),
            (elf("canary"), "name=sink cpu=1 mode=sink peer=flooder")]
    mods += pingpong_pair("ping", "pong", (0, 1), ROUNDS)
    mods.append((elf("hello"), "name=hello cpu=0"))
    r = boot("exit=idle", smp=3, modules=mods, timeout=60)
    r.check_done(0)
    check_healthy(r)
    floods = [kv(t) for t in texts(r, "flooder") if "mode=send target=" in t]
    want = [("pong", "0", FLOOD, "0", FLOOD), ("sink", "0", FLOOD, "0", FLOOD),
            ("sink", "1", OFFERED, OFFERED, 0), ("sink", "2", 1, 1, 0)]
    got = [(f["target"], f["port"], int(f["count"]), f["ok"], int(f["eperm"])) for f in floods]
    assert got == [(t, p, n, str(ok), e) for t, p, n, ok, e in want], \
        f"floods {got}, expected (target, port, count, ok, eperm) {want}"
    assert all(f["result"] == "pass" and f["enoent"] == "0" and f["other"] == "0"
               for f in floods), floods
    check_exited(r, "flooder")
    sink = result_line(r, "sink", "canary", has=("port0",))
    assert sink["port0"] == "0" and sink["port2"] == "1" and sink["result"] == "pass", sink
    assert 1 <= int(sink["port1"]) <= OFFERED, sink
    check_exited(r, "sink")
    ports = {p: rec.int("received") for p, rec in port_stats(r, "sink").items()}
    assert ports == {0: 0, 1: OFFERED, 2: 1}, \
        f"the hypervisor counted {ports} on the sink's ports, expected " \
        f"{{0: 0, 1: {OFFERED}, 2: 1}}: every offered send once, no refused one"
    assert stat(r, "sink").int("events") == OFFERED + 1, stat(r, "sink").line()
    # pong's one port counted exactly the rounds: none of the refused sends got through.
    check_pingpong(r, "ping", "pong", ROUNDS)
    check_exited(r, "hello")


scenario(globals(), "attack_event_floods", event_floods, cost=2, timeout=120)


# ---- control-flow and memory attacks ----------------------------------------------------------

PF_P, PF_W, PF_U, PF_I = 1, 2, 4, 16
HV_DIRECT_MAP = 0xffff800000000000
HV_MMIO = 0xffffc00000000000            # kernel/mm/layout.h
HV_STACKS = 0xffffe00000000000
NON_CANONICAL = 0x8000000000000000
VECTORS = {"tick": 0xf0, "wake": 0xf3, "iommu": 0xe0, "device": 0x30, "drain": 0x2f,
           "nmi": 0x02, "legacy": 0x80}


def attacks():
    """{name: (hostile keys, exception, error bits that must be set, bits that must be clear,
    cr2 or None, the error codes it may have or None)}."""
    segs = hv_segments()
    text = next(v for _, v, _, fl in segs if fl & 1 and v >> 63)
    data = next(v for _, v, _, fl in segs if fl & 2 and v >> 63)
    out = {
        "call_hvtext": (f"mode=call addr={text:#x}", "#PF", PF_P | PF_U | PF_I, 0, text, None),
        "jump_direct": (f"mode=jump addr={HV_DIRECT_MAP + 0x200000:#x}", "#PF",
                        PF_P | PF_U | PF_I, 0, HV_DIRECT_MAP + 0x200000, None),
        "jump_nc": (f"mode=jump addr={NON_CANONICAL:#x}", "#GP", 0, 0, None, (0,)),
        "call_null": ("mode=call addr=0", "#PF", PF_U | PF_I, PF_P, 0, None),
        "read_hvdata": (f"mode=read addr={data:#x}", "#PF", PF_P | PF_U, PF_W, data, None),
        "read_mmio": (f"mode=read addr={HV_MMIO:#x}", "#PF", PF_U, PF_W, HV_MMIO, None),
        "read_stacks": (f"mode=read addr={HV_STACKS:#x}", "#PF", PF_U, PF_W, HV_STACKS, None),
        "write_rodata": ("mode=write addr=rodata", "#PF", PF_P | PF_W | PF_U, 0, "printed",
                         None),
    }
    for name, vec in VECTORS.items():
        # The IDT entry's index with the IDT bit: vector * 8 + 2 (SDM 6.13); QEMU before 8.x
        # (its do_interrupt64) reports vector * 16 + 2.
        out[f"int_{name}"] = (f"mode=int vec={vec}", "#GP", 0, 0, None,
                              (vec * 8 + 2, vec * 16 + 2))
    return out


def check_attack(r, name, exc, must, must_not, cr2, code):
    lines = texts(r, name)
    assert lines and lines[0].startswith(f"hostile guest={name} mode="), \
        f"{name} printed {lines}"
    assert not any("survived" in t for t in lines), f"{name} survived: {lines}"
    last = last_state(r, name)
    assert last["state"] == "crashed", f"{last.line()}: the attack must stop it"
    m = re.fullmatch(r"(#\w+)_at_(0x[0-9a-f]+|0)", last["reason"])
    assert m and m.group(1) == exc, f"{last.line()}: expected {exc}"
    rip, first = int(m.group(2), 16), kv(lines[0])
    if "stub" in first:         # int n faults on the int instruction itself
        assert rip == int(first["stub"], 16), f"{last.line()}: not at the stub {first['stub']}"
    elif first["mode"] in ("jump", "call") and exc == "#PF":
        assert rip == int(first["addr"], 16), f"{last.line()}: the fetch did not fault at " \
            f"its target {first['addr']}"
    warn = [w for w in map(WARNING.search, r.lines) if w and w.group(1) == name]
    assert len(warn) == 1 and warn[0].group(2) == exc, \
        f"{name}: warnings {[w.group(0) for w in warn]}, expected one {exc}"
    error, fault = int(warn[0].group(4), 16), int(warn[0].group(5), 16)
    assert error & must == must and not error & must_not, \
        f"{name}: error code {error:#x}, must have {must:#x} and not {must_not:#x}"
    if code is not None:
        assert error in code, f"{name}: error code {error:#x}, expected one of " \
            f"{[hex(c) for c in code]}"
    if cr2 == "printed":
        cr2 = int(kv(lines[0])["addr"], 16)
    if cr2 is not None:
        assert fault == cr2, f"{name}: cr2 {fault:#x}, expected {cr2:#x}"
    assert stat(r, name)["state"] == "crashed", stat(r, name).line()


def control_attacks():
    table = attacks()
    mods = [(elf("hostile"), f"name={n} cpu={i % 3} {keys}")
            for i, (n, (keys, *_)) in enumerate(table.items())]
    mods += pingpong_pair("ping", "pong", (1, 2), ROUNDS)
    mods.append((elf("hello"), "name=hello cpu=0"))
    r = boot("exit=idle", smp=3, modules=mods, timeout=60)
    r.check_done(0)             # guest crashes are warnings
    check_healthy(r)
    for n, (_, exc, must, must_not, cr2, code) in table.items():
        check_attack(r, n, exc, must, must_not, cr2, code)
    check_pingpong(r, "ping", "pong", ROUNDS)
    check_exited(r, "hello")


scenario(globals(), "attack_control_flow", control_attacks, cost=2, timeout=120)
