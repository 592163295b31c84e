#!/usr/bin/env python3
"""`make bench`: boot the bench scenarios and write what they measured (docs/bench.md).

usage: scripts/bench.py [--out DIR] [--only PATTERN] [--rounds N] [--cpus 1,4,16,64]
                        [--routes 1,2,4,8,16,32] [--scale MSGS:FRONTENDS,...]
                        [--fronts 1,2,4,8,16] [--move-rounds N]

Every scenario boots under TCG with `-icount shift=0`, where the TSC counts executed
instructions (one a nanosecond of virtual time), with guests/bench stamping the guest's side on
the ordinary hypervisor ($BUILD/courier.elf); the hypervisor's own segments come from a second
boot of the bench build ($BUILD/bench-hv/courier.elf: entry and exit stamps,
kernel/guest/bench.h), whose stamps would lengthen what the guest sees. Numbers are instructions, not cycles; under TCG all CPUs share one counter and
run in turn, so a path that crosses CPUs counts what every CPU executed on the way. The
latency scenario needs KVM and is skipped, with the reason printed, where it is not usable.

Writes into DIR (default $BUILD/bench): one CSV per scenario, paths.csv and paths.md (the
table: path, target, measured), and PNG plots (gnuplot) of the series that grow.
"""
import argparse
import csv
import fnmatch
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import courier  # noqa: E402  (tests/qemu/courier.py: the boot and record machinery)

ICOUNT = ["-icount", "shift=0"]
EDU = "edu,addr=0x10"
EDU_BDF = "00:10.0"
TRACE_ROUNDS = 9        # messages single-stepped for the whole path (a few seconds each)
# nec-usb-xhci with MSI (16 messages) at 00:11.0, 00:12.0, ...: for many bound messages.
XHCI_MSGS = 16
# QEMU's trace of the VT-d unit's invalidation queue (the descriptors it fetched and ran).
VTD_INV = ["vtd_inv_desc*"]
# Scale: MSI-X entries of each virtio-rng function the routes come from (at most 2048: QEMU's
# and HC_DEV_MSG_ALLOC's limit), and an interrupt remapping table large enough for them (the
# default 256 entries would stop at ~220).
VIRTIO_VECTORS = 2048
SCALE_ROUTES_PER_CPU = 144      # of the 176 device vectors a CPU has, room for a mover's
IR_ENTRIES = 8192
GUEST_DEVS = 8          # functions a guest may own (the hypervisor rejects a module with more)


def xhci(k):
    return f"nec-usb-xhci,msix=off,addr={0x11 + k:#x}", f"00:{0x11 + k:02x}.0"


def hc_count():
    """HC_COUNT of include/courier/abi.h: the enum's last number plus one."""
    with open(os.path.join(ROOT, "include", "courier", "abi.h")) as f:
        text = f.read()
    body = text[text.index("enum courier_hypercall"):]
    body = body[:body.index("HC_COUNT")]
    return max(int(n, 0) for n in re.findall(r"\bHC_\w+\s*=\s*(\w+)", body)) + 1


class BenchError(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = courier.BUILD
        self.elf = os.path.join(self.build, "courier.elf")
        self.bench_elf = os.path.join(self.build, "bench-hv", "courier.elf")
        self.guest = os.path.join(self.build, "guests", "bench.elf")
        self.out = args.out
        self.rows = []              # the table: dicts of path, target, measured, unit, how
        self.stamp = None           # what one guest stamp costs (instructions)

    # ---- booting and reading -----------------------------------------------------------

    def boot(self, name, guests, smp=1, devices=(), cmdline="", accel="tcg", timeout=None,
             stamps=False, qemu=(), screen=False, trace=(), mem=None):
        """guests: [(name, cpu, 'args...')]; returns the Result, or raises BenchError. stamps:
        boot the bench build (hypervisor stamps, @bench records). Headless unless screen: with
        a VGA the framebuffer console redraws lines on whichever CPU, and under TCG those
        instructions count into any path that crosses CPUs (thousands per move)."""
        mods = [(self.guest, f"name={g} cpu={cpu} {a}") for g, cpu, a in guests]
        extra = (ICOUNT if accel == "tcg" else []) + ([] if screen else ["-vga", "none"]) + \
            list(qemu)
        r = courier.Boot(f"exit=idle {cmdline}", smp=smp, mem=mem or max(512, 64 * len(guests)),
                         accel=accel, modules=mods, devices=list(devices), qemu_args=extra,
                         elf=self.bench_elf if stamps else self.elf, name=f"bench-{name}",
                         trace=list(trace),
                         timeout=timeout or 300 + 10 * smp).run()
        log = os.path.join(self.out, "logs", name + ("-stamps" if stamps else "") + ".log")
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write(r.console)
        try:
            r.check_done(0)
        except AssertionError as e:
            raise BenchError(f"{name}: {e} (console: {log})")
        failed = r.grep(r"\| bench guest=\S+ result=fail")
        if failed:
            raise BenchError(f"{name}: {failed[0]} (console: {log})")
        return r

    @staticmethod
    def series(r):
        """{guest: {series: [values]}} from the guests' `bench series=` lines."""
        out = {}
        for line in r.lines:
            head, sep, rest = line.partition("| bench series=")
            if not sep:
                continue
            guest = head.split("]")[-1].strip()
            name, _, vals = rest.partition(" v=")
            out.setdefault(guest, {}).setdefault(name, []).extend(
                int(v) for v in vals.split(",") if v)
        return out

    @staticmethod
    def hv(r, kind, hc="-"):
        """The @bench record of a kind (and hypercall number), or None."""
        for rec in r.records("bench"):
            if rec["kind"] == kind and rec.get("hc", "-") == str(hc):
                return rec
        return None

    @staticmethod
    def marks(r):
        return {rec["what"]: rec.int("tsc") for rec in r.records("bench")
                if rec["kind"] == "mark"}

    @staticmethod
    def ipis(r):
        return sum(rec.int("ipis_sent") for rec in r.records("tick"))

    def row(self, path, measured, target="", unit="instructions", how=""):
        self.rows.append({"path": path, "target": target, "measured": measured, "unit": unit,
                          "how": how})

    def diffs(self, a, b, less_stamp=True):
        """b[i] - a[i] for each round, less one stamp's own cost."""
        k = self.stamp if less_stamp else 0
        return [y - x - k for x, y in zip(a, b)]

    def write_csv(self, name, header, rows):
        with open(os.path.join(self.out, name + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    @staticmethod
    def med(v):
        return int(statistics.median(v)) if v else None

    def hv_med(self, r, kind, hc="-"):
        rec = self.hv(r, kind, hc)
        return rec.int("med") if rec else None

    # ---- scenarios ----------------------------------------------------------------------

    def hypercalls(self):
        guests = [("h", 0, f"mode=hc rounds={self.args.rounds}")]
        s = self.series(self.boot("hypercalls", guests))["h"]
        r = self.boot("hypercalls", guests, stamps=True)
        self.stamp = self.med(s["stamp_pair"])
        k = self.stamp
        self.row("one guest stamp (lfence; rdtsc; shift; or), taken off every guest-side figure",
                 k, how="two stamps back to back")
        self.row("null hypercall, round trip in the guest (an unknown number: ENOSYS)",
                 self.med(s["hc_null"]) - k, "≤ 60", how="guest: stamp, syscall, stamp")
        # bench_exit files every number at or above HC_COUNT under hc=HC_COUNT (kernel/guest/
        # bench.c), so NULL_HYPERCALL's record is that one.
        self.row("null hypercall, hypervisor: entry stub → exit to the guest",
                 self.hv_med(r, "hc_resume", hc_count()), how="hypervisor stamps")
        self.row("HC_TIME, round trip in the guest", self.med(s["hc_time"]) - k)
        self.row("HC_YIELD alone on its CPU, round trip", self.med(s["hc_yield"]) - k)
        self.row("evt_wait with its condition already true (no timeout)",
                 self.med(s["evt_wait_true"]) - k, how="guests/lib/events.c")
        self.write_csv("hypercalls", ["round"] + list(s), zip(range(len(s["hc_null"])),
                                                               *s.values()))

    def direct(self):
        guests = [("b", 0, f"mode=self dev={EDU_BDF} rounds={self.args.rounds}")]
        s = self.series(self.boot("direct", guests, devices=[EDU]))["b"]
        r = self.boot("direct", guests, devices=[EDU], stamps=True)
        trig = self.diffs(s["raise"], s["handler_in"])
        back = self.diffs(s["handler_out"], s["resumed"])
        self.row("device trigger → guest handler (edu MSI raised by the guest it is for, "
                 "running)", self.med(trig), "≤ 200",
                 how="guest: stamp before the MMIO write, stamp first in the handler")
        self.row("hypervisor interrupt entry → the guest's upcall: every instruction, the "
                 "vector's stub to IRETQ", self.traced(), "≤ 100",
                 how="single-stepped through QEMU's gdb stub (scripts/pathtrace.py), median of "
                 f"{TRACE_ROUNDS} messages")
        self.row("the same between the bench build's stamps (after the register save → "
                 "before the restore)", self.hv_med(r, "dev_upcall"), how="hypervisor stamps")
        self.row("handler → resume (end of handler → the instruction after the write)",
                 self.med(back), "≤ 200", how="guest stamps")
        self.row("HC_UPCALL_RETURN, hypervisor: entry stub → exit to the guest",
                 self.hv_med(r, "hc_resume", 6), how="hypervisor stamps")
        self.write_csv("direct", ["round", "trigger_to_handler", "handler_to_resume"],
                       zip(range(len(trig)), trig, back))

    def traced(self):
        """The median whole path of a message into the upcall, from scripts/pathtrace.py (the
        ordinary build, every instruction counted); None without gdb."""
        if not shutil.which("gdb"):
            print("bench: no gdb: the traced path is not measured (scripts/deps installs it)")
            return None
        out = os.path.join(self.out, "pathtrace.json")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "pathtrace.py"),
                        "--rounds", str(TRACE_ROUNDS), "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            paths = json.load(f)
        # Whole paths only; the first message of each storm window takes the whole frame's
        # way (guest_msg.c opens the window), so the median is the common case's.
        return self.med([p["instructions"] for p in paths if not p["cut"]])

    def _pingpong(self, name, smp, ping_cpu, pong_cpu, edu, cmdline="", stamps=False):
        a = f"rounds={self.args.rounds}"
        guests = [("ping", ping_cpu, f"mode=ping peer=pong {a}" + (f" dev={EDU_BDF}" if edu
                                                                     else "")),
                  ("pong", pong_cpu, f"mode=pong peer=ping {a}")]
        r = self.boot(name, guests, smp=smp, devices=[EDU] if edu else [], cmdline=cmdline,
                      stamps=stamps)
        s = self.series(r)
        d = self.diffs(s["ping"]["send"], s["pong"]["recv"])
        self.write_csv(name, ["round", "one_way"], zip(range(len(d)), d))
        return r, d

    def delivery(self):
        rounds = self.args.rounds + 10            # warm-up rounds send messages too
        r, d = self._pingpong("other_guest_running", 1, 0, 0, edu=True)
        self.row("device trigger → handler, another guest running on the target's CPU "
                 "(it blocks right after the write)", self.med(d),
                 how="both guests on CPU 0; includes the sender's HC_BLOCK and the switch")
        res = {}
        for mode in ("direct", "forward"):
            r, d = self._pingpong(f"blocked_{mode}", 2, 0, 1, edu=True,
                                  cmdline="route=forward" if mode == "forward" else "")
            res[mode] = (self.med(d), self.ipis(r) / rounds)
            self.row(f"device trigger → handler, target blocked on another CPU, "
                     f"route={mode}", self.med(d),
                     "one CPU, 0 IPIs" if mode == "direct" else "",
                     how="all CPUs' instructions together (TCG runs them in turn)")
            self.row(f"IPIs per round trip (message there, event back), route={mode}",
                     f"{res[mode][1]:.2f}", "1 (the answer)" if mode == "direct" else "",
                     unit="IPIs", how="@tick ipis_sent over all rounds")
            r, _ = self._pingpong(f"blocked_{mode}", 2, 0, 1, edu=True, stamps=True,
                                  cmdline="route=forward" if mode == "forward" else "")
            up = self.hv_med(r, "dev_resume") if mode == "direct" else \
                self.hv_med(r, "wake_resume")
            self.row(f"hypervisor entry on the target CPU → the blocked guest resumes, "
                     f"route={mode}", up,
                     how="device vector (direct) or wake-up IPI (forward) taken in idle")

    def events(self):
        for name, smp, cpu in (("event_same_cpu", 1, 0), ("event_other_cpu", 2, 1)):
            r, d = self._pingpong(name, smp, 0, cpu, edu=False)
            self.row(f"event to a guest on {'the same' if smp == 1 else 'another'} CPU, "
                     "one way", self.med(d),
                     how="HC_EVT_SEND → the peer's handler" +
                     ("; the sender blocks first" if smp == 1 else "; all CPUs together"))

    def _move(self, n, extra_guests=(), rounds=16, trace=False, stamps=False):
        devs, bdfs = [], []
        if n == 1:
            devs, bdfs = [EDU], [EDU_BDF]
        else:
            for k in range((n + XHCI_MSGS - 1) // XHCI_MSGS):
                d, b = xhci(k)
                devs.append(d)
                bdfs.append(b)
        # Each move prints an @irte and an @route record per message: 18 moves of 32 fill half
        # the console's ring (256 KiB), and a full ring would drop the guest's lines.
        warm = 2 if rounds else 0
        guests = [("mover", 0, f"mode=move n={n} warm={warm} rounds={rounds} "
                               f"dev={','.join(bdfs)}")]
        r = self.boot(f"move_{n}" + ("" if rounds else "_binds"), guests + list(extra_guests),
                      smp=3, devices=devs + [EDU] if extra_guests else devs,
                      trace=VTD_INV if trace else (), stamps=stamps)
        s = self.series(r)
        moves = [v - self.stamp for v in s.get("mover", {}).get("move", [])]
        return r, s, moves

    @staticmethod
    def invalidations(r):
        """The invalidation queue's work in a run, from QEMU's own trace of the unit:
        descriptors fetched, interrupt-entry-cache ones among them, and wait descriptors."""
        return {"descriptors": len(r.trace_events("vtd_inv_desc")),
                "iec": len(r.trace_events("vtd_inv_desc_iec")),
                "waits": len(r.trace_events("vtd_inv_desc_wait_*"))}

    def moves(self):
        """Instructions per move from the guest's stamps; invalidation descriptors, waits and
        IPIs per move from a second boot that binds the same messages but does not move: the
        difference of the two runs is what the moves did (the binds and the exit's unbinds
        are in both), divided by the moves the hypervisor counted (@stat moves=)."""
        rows = []
        for n in (1, 16, 32):
            r, s, m = self._move(n, trace=True)
            base, _, _ = self._move(n, rounds=0, trace=True)
            stat = next(x for x in r.records("stat") if x.get("guest") == "mover" and
                        x.get("moves") is not None)
            k = stat.int("moves")
            if not k:
                raise BenchError(f"move_{n}: the hypervisor counted no moves")
            inv, inv0 = self.invalidations(r), self.invalidations(base)
            per = {w: (inv[w] - inv0[w]) / k for w in inv}
            ipis = (self.ipis(r) - self.ipis(base)) / k
            batches = stat.int("batches") / k
            stamped, _, _ = self._move(n, stamps=True)
            follow = self.hv(stamped, "follow")
            if not follow:
                raise BenchError(f"move_{n}: no @bench kind=follow record")
            rows.append((n, self.med(m), max(m), round(per["descriptors"], 2),
                         round(per["iec"], 2), round(per["waits"], 2), round(ipis, 2),
                         round(batches, 2), follow.int("med"), follow.int("max")))
            name = f"HC_SCHED_MOVE of a guest with {n} bound message{'s' * (n > 1)}"
            self.row(f"{name}: its messages retargeted (the routing work: collect, IRTEs, "
                     "invalidation and wait, settle)", follow.int("med"),
                     "≤ 2,000" if n == 32 else "",
                     how="hypervisor stamps around guest_msgs_follow (bench build)")
            self.row(f"{name}, round trip", self.med(m),
                     how="guest stamps around the hypercall; all CPUs together: the move, "
                         "both CPUs' scheduler switches and the new CPU's wake-up")
            self.row(f"{name}: invalidation descriptors (interrupt entry cache) per move",
                     f"{per['descriptors']:.2f} ({per['iec']:.2f})", unit="descriptors",
                     how="QEMU trace vtd_inv_desc*, less a run without moves")
            self.row(f"{name}: invalidation waits per move", f"{per['waits']:.2f}",
                     "1 per unit" if n == 32 else "", unit="waits",
                     how="QEMU trace vtd_inv_desc_wait_*, less a run without moves")
            self.row(f"{name}: IPIs per move", f"{ipis:.2f}", unit="IPIs",
                     how="@tick ipis_sent, less a run without moves")
            self.progress(f"  {n} message(s): {self.med(m)} instructions, "
                          f"{per['descriptors']:.1f} descriptors, {per['waits']:.1f} waits, "
                          f"{ipis:.1f} IPIs, {batches:.1f} batches per move")
        self.write_csv("moves", ["messages", "instructions_median", "instructions_max",
                                 "inv_descriptors", "inv_iec", "inv_waits", "ipis",
                                 "batches", "retarget_median", "retarget_max"], rows)

    def routes(self):
        """Route operations and delivery as the number of bound messages grows."""
        rows = []
        for n in self.args.routes:
            extra = [("b", 2, f"mode=self dev={EDU_BDF} rounds={self.args.rounds}")]
            if n == 1:
                extra = []
            r, s, m = self._move(n, extra)
            deliver = self.med(self.diffs(s["b"]["raise"], s["b"]["handler_in"])) if extra \
                else None
            rows.append((n, self.med(m), round(self.med(m) / n), deliver))
            self.progress(f"  routes={n}: move {self.med(m)}, delivery {deliver}")
        self.write_csv("routes", ["routes", "move", "move_per_route", "trigger_to_handler"], rows)
        self.plot("routes", "bound messages (routes)", "instructions",
                  [(2, "HC_SCHED_MOVE round trip"), (4, "trigger → handler, a guest on CPU 2")],
                  logx=True, logy=True)

    # ---- scale and throughput: one owner of the devices, many frontends --------------------

    def _owned(self, name, fronts, edus, place, routes=0, smp=4, mover=None, rounds=None,
               route_devs=(), cmdline=""):
        """Boots guest `own` (CPU 0), the owner of every device, and frontends f0..f<fronts-1>:
        the first `edus` of them get an edu's message on port 0 and answer each one; the
        others hold the routes (on their ports 1..) until the owner's stop; the mover moves
        between its CPU and the next after the binding. place(k): frontend k's CPU. Returns
        the Result, the series and the owner's `bound=` line."""
        rounds = self.args.rounds if rounds is None else rounds
        edu_devs = [(f"edu,addr={0x03 + k:#x}", f"00:{0x03 + k:02x}.0") for k in range(edus)]
        # A guest owns at most GUEST_DEVS functions: beyond, edus and their frontends are
        # split among further owners own1, own2, ... (only where no routes are asked for).
        owners = max(1, (edus + GUEST_DEVS - 1) // GUEST_DEVS)
        if owners > 1 and (routes or fronts != edus):
            raise BenchError(f"{name}: more than {GUEST_DEVS} edus only as frontends alone")
        # The routes go round the frontends that have no edu; a mover holds just one.
        holders = max(fronts - edus - (mover is not None), 1)
        ports = 1 + max(mover is not None, -(-(routes - (mover is not None)) // holders))
        guests, devs = [], []
        for j in range(owners):
            mine = edu_devs[j * GUEST_DEVS:(j + 1) * GUEST_DEVS]
            if j == 0:
                mine += list(route_devs)
            devs += mine
            first = j * GUEST_DEVS
            n = fronts if owners == 1 else len(mine)
            own = (f"mode=own fronts={n} first={first} edus={min(edus - first, GUEST_DEVS)} "
                   f"routes={routes} rounds={rounds} dev={','.join(b for _, b in mine)}" +
                   (f" mover={mover}" if mover is not None else ""))
            guests.append(("own" + (str(j) if j else ""), place(first) if j else 0, own))
        for k in range(fronts):
            j = k // GUEST_DEVS if owners > 1 else 0
            a = (f"mode=front peer=own{j or ''} idx={k - j * GUEST_DEVS if owners > 1 else k} "
                 f"ports={ports}")
            if k < edus:
                a += f" answer expect={10 + rounds} rounds={rounds}"
            elif k == mover:
                a += f" expect=2 moves={self.args.move_rounds}"
            else:
                a += " expect=1"
            guests.append((f"f{k}", place(k), a))
        r = self.boot(name, guests, smp=smp, devices=[d for d, _ in devs],
                      cmdline=f"ir_entries={IR_ENTRIES} {cmdline}", mem=512 + 8 * len(guests),
                      timeout=300 + 4 * len(guests) + 20 * smp)
        got = r.grep(r"\| bench bound=")
        return r, self.series(r), got[0].split("bench ")[-1] if got else ""

    def scale(self):
        """Route operations and delivery as bound messages grow (docs/bench.md: how far the
        hypervisor's shares let them grow). A size the hypervisor refuses is reported and the
        others still run: the table and plot show the largest that worked."""
        rows, failed = [], []
        for routes, fronts in self.args.scale:
            # The routes come from virtio-rng functions with `vectors=` MSI-X entries each.
            vectors = min(routes, VIRTIO_VECTORS)
            vdevs = [(f"virtio-rng-pci,vectors={vectors},addr={0x18 + k:#x}",
                      f"00:{0x18 + k:02x}.0")
                     for k in range(-(-routes // VIRTIO_VECTORS))]
            mover = 1 if fronts > 1 and routes else None
            # The edu's frontend alone on CPU 1 (blocked, on another CPU than the owner: the
            # direct path of the delivery rows), the mover alone on CPU 2 (it moves to 3),
            # the others from CPU 3 on: as many CPUs as keep each under its 176 device
            # vectors with room for the mover's.
            smp = 3 + max(1, -(-routes // SCALE_ROUTES_PER_CPU))
            try:
                r, s, bound = self._owned(
                    f"scale_{routes}_{fronts}", fronts, 1,
                    lambda k: 1 if k == 0 else 2 if k == mover else 3 + k % (smp - 3),
                    routes, smp=smp, mover=mover, route_devs=vdevs, cmdline="shares=off")
            except BenchError as e:
                failed.append(f"{routes} routes, {fronts + 1} guests")
                self.progress(f"  {routes} routes, {fronts + 1} guests: FAILED: {e}")
                continue
            # What the hypervisor let each guest bind ("guests: each may bind N messages",
            # kernel/guest/guest_msg.c); the scale runs boot with shares=off: they measure
            # what a route costs as the tables fill, not what a guest may take.
            share = r.grep(r"guests: each may bind \d+ messages")
            share = int(re.search(r"bind (\d+) messages", share[0]).group(1)) if share else \
                "off" if r.grep(r"guests: shares=off") else None
            binds = s["own"].get("bind", [])
            trig = self.diffs(s["own"]["raise"], s["f0"]["recv"])
            mine = 1 if mover else 0            # guests/bench: the mover holds one message
            move = self.med([v - self.stamp for v in s.get("f1", {}).get("move", [])]) \
                if mover else None
            per = round(move / mine) if move and mine else None
            # Routes in all: the frontends' messages and the edu's.
            rows.append((routes + 1, fronts + 1, smp, share,
                         self.med(binds) - self.stamp if binds else None,
                         max(binds) - self.stamp if binds else None, move, mine, per,
                         self.med(trig)))
            self.progress(f"  {routes + 1} routes, {fronts + 1} guests, {smp} CPUs, share "
                          f"{share}: bind {rows[-1][4]}, move {move} ({mine} messages, {per} "
                          f"each), trigger → handler {self.med(trig)} [{bound}]")
        self.write_csv("scale", ["routes", "guests", "cpus", "share_per_guest", "bind_median",
                                 "bind_max", "move", "mover_messages", "move_per_message",
                                 "trigger_to_handler"], rows)
        if rows:
            last = rows[-1]
            self.row(f"HC_DEV_MSG_BIND with up to {last[0]} routes bound, {last[1]} guests "
                     "(median)", last[4],
                     how="owner's stamps around each bind; scale.csv for every size")
            self.row(f"HC_SCHED_MOVE of a guest with {last[7]} bound message, {last[0]} routes "
                     "bound", last[8], how="the mover's stamps; all CPUs together")
            self.row(f"device trigger → handler with {last[0]} routes bound", last[9],
                     how="edu message to a blocked frontend on another CPU; all CPUs")
            self.plot("scale", "routes bound", "instructions",
                      [(5, "HC_DEV_MSG_BIND (median)"), (9, "HC_SCHED_MOVE of a guest with one message"),
                       (10, "edu trigger → handler")], logx=True, yzero=True)
        if failed:
            raise BenchError("failed at " + "; ".join(failed) + " (logs/scale_*.log)")

    def throughput(self):
        """Messages delivered per second of virtual time, one edu per frontend, frontends
        spread over as many CPUs. Under TCG the CPUs run in turn on one thread and the TSC
        counts every CPU's instructions, so this is the inverse of the instructions per
        delivered message and its answer, not a parallel speed-up."""
        rows = []
        for n in self.args.fronts:
            rounds = max(self.args.rounds // 2, 20)
            r, s, _ = self._owned(f"throughput_{n}", n, n, lambda k: k % n, smp=n,
                                  rounds=rounds)
            owners = ["own" + (str(j) if j else "") for j in range((n + GUEST_DEVS - 1) //
                                                                   GUEST_DEVS)]
            raise_ = [s[g]["raise"] for g in owners]
            done = [s[g]["done"] for g in owners]
            # From the first raise of any owner to the last answer any owner saw; each round
            # of owner j is one message to each of its frontends.
            span = max(d[-1] for d in done) - min(v[0] for v in raise_)
            msgs = sum(len(v) * min(GUEST_DEVS, n - j * GUEST_DEVS)
                       for j, v in enumerate(raise_))
            rate = msgs * 1e9 / span
            rows.append((n, msgs, span, round(rate), round(span / msgs)))
            self.progress(f"  {n} frontends on {n} CPUs: {rate:,.0f} messages/s "
                          f"({span // msgs} instructions each)")
            self.row(f"throughput, {n} frontend{'s' * (n > 1)} on {n} CPU{'s' * (n > 1)}",
                     round(rate), unit="messages/s (virtual)",
                     how="owner raises one edu message per frontend, waits for every answer")
        self.write_csv("throughput", ["frontends_and_cpus", "messages", "instructions",
                                      "messages_per_s", "instructions_per_message"], rows)
        self.plot("throughput", "frontends and CPUs", "messages per second (virtual time)",
                  [(4, "messages delivered and answered")], logx=True, yzero=True)

    def boot_time(self):
        """Headless (-vga none: a serial console only, as on a test machine without a
        screen), and once with QEMU's standard VGA, whose framebuffer console is drawn during
        the boot (fbcon: every pixel a store, so under icount it costs instructions)."""
        rows = []
        runs = [(c, False) for c in self.args.cpus] + [(4, True)]
        for cpus, screen in runs:
            n = min(cpus, 32)
            guests = [(f"g{k}", k * cpus // n, "mode=boot") for k in range(n)]
            r = self.boot(f"boot_{cpus}" + ("_vga" if screen else ""), guests, smp=cpus,
                          timeout=600 + 20 * cpus, stamps=True, screen=screen)
            m = self.marks(r)
            start = max(v[0] for v in (g["start"] for g in self.series(r).values()))
            ms = (start - m["kmain"]) / 1e6
            cal = (m["calibrated"] - m["kmain"]) / 1e6
            smp = (m["smp_done"] - m["calibrated"]) / 1e6
            if not screen:
                rows.append((cpus, round(ms, 2), round(cal, 2), round(smp, 2)))
            target = {4: "≤ 20", 64: "≤ 60"}.get(cpus, "") if not screen else ""
            self.row(f"boot: kmain → every guest running, {cpus} CPU{'s' * (cpus > 1)}" +
                     (", framebuffer console drawn (std VGA)" if screen else ", headless"),
                     f"{ms:.1f}", target, unit="ms (virtual)",
                     how=f"calibration {cal:.1f} ms, starting CPUs {smp:.1f} ms")
            self.progress(f"  {cpus} CPUs: {ms:.1f} ms")
        self.write_csv("boot", ["cpus", "ms", "calibration_ms", "smp_ms"], rows)
        self.plot("boot", "CPUs", "ms of virtual time to every guest running",
                  [(2, "kmain → guests running"), (3, "TSC calibration"),
                   (4, "starting the other CPUs")], logx=True)

    def latency(self):
        if not courier.kvm_usable():
            self.progress("  skipped: KVM is not usable here (/dev/kvm with VMX or SVM); "
                          "TCG cannot give real-time latency")
            return
        res = {}
        for mode in ("direct", "forward"):
            guests = [("ping", 0, f"mode=ping peer=pong rounds=1000 dev={EDU_BDF}"),
                      ("pong", 1, "mode=pong peer=ping rounds=1000")]
            r = self.boot(f"latency_{mode}", guests, smp=2, devices=[EDU], accel="kvm",
                          cmdline="route=forward" if mode == "forward" else "")
            s = self.series(r)
            res[mode] = sorted(self.diffs(s["ping"]["send"], s["pong"]["recv"], False))
        rows = []
        for mode, v in res.items():
            p = lambda q: v[min(len(v) - 1, int(q * len(v)))]   # noqa: E731
            for q, name in ((0.5, "median"), (0.99, "p99")):
                self.row(f"KVM: device trigger → handler, route={mode}, {name}", p(q),
                         "≤ 0.5× forward" if mode == "direct" else "", unit="TSC cycles")
            self.row(f"KVM: device trigger → handler, route={mode}, max", v[-1],
                     unit="TSC cycles")
        for i in range(len(res["direct"])):
            rows.append(((i + 1) / len(res["direct"]), res["direct"][i], res["forward"][i]))
        self.write_csv("latency", ["fraction", "direct", "forward"], rows)
        self.plot("latency", "TSC cycles", "fraction of messages", [(2, "direct"),
                                                                      (3, "forward")],
                  xcol=True)

    # ---- output ---------------------------------------------------------------------------

    def plot(self, name, xlabel, ylabel, cols, logx=False, xcol=False, logy=False,
             yzero=False):
        if not shutil.which("gnuplot"):
            self.progress(f"  no gnuplot: {name}.csv not plotted")
            return
        data = os.path.join(self.out, name + ".csv")
        png = os.path.join(self.out, name + ".png")
        if xcol:        # a CDF: the value on x, the fraction on y
            lines = ", ".join(f"'{data}' using {c}:1 with steps title '{t}'" for c, t in cols)
        else:
            lines = ", ".join(f"'{data}' using 1:{c} with linespoints title '{t}'"
                              for c, t in cols)
        script = (f"set terminal png size 800,500 noenhanced; set output '{png}'; "
                  f"set datafile separator ','; "
                  f"set key autotitle columnhead; set key top left; set grid; "
                  f"set xlabel '{xlabel}'; set ylabel '{ylabel}'; "
                  + ("set logscale x 2; " if logx else "") + ("set logscale y; " if logy else "")
                  + ("set yrange [0:*]; " if yzero else "")
                  + f"plot {lines}")
        subprocess.run(["gnuplot", "-e", script], check=True)

    def write_table(self):
        self.write_csv("paths", ["path", "target", "measured", "unit", "how"],
                       [(r["path"], r["target"], r["measured"], r["unit"], r["how"])
                        for r in self.rows])
        with open(os.path.join(self.out, "paths.md"), "w") as f:
            f.write("| path | target | measured | unit |\n|---|---|---|---|\n")
            for r in self.rows:
                m = r["measured"]
                f.write(f"| {r['path']} | {r['target']} | "
                        f"{'n/a' if m is None else m} | {r['unit']} |\n")

    def progress(self, text):
        print(text, flush=True)


SCENARIOS = ["hypercalls", "direct", "delivery", "events", "moves", "routes", "scale",
             "throughput", "boot_time", "latency"]


def numbers(text):
    return [int(x) for x in text.split(",") if x]


def pairs(text):
    return [tuple(int(x) for x in p.split(":")) for p in text.split(",") if p]


def main(argv):
    p = argparse.ArgumentParser(prog="scripts/bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(courier.BUILD, "bench"))
    p.add_argument("--only", help="run the scenarios whose name matches (glob or substring)")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--cpus", type=numbers, default=[1, 4, 16, 64])
    p.add_argument("--routes", type=numbers, default=[1, 2, 4, 8, 16, 32])
    # 165 on 44 guests and 173 on 175 are the most the shares allow (docs/bench.md); the
    # larger sizes run because with more than 176 guests the share is 0, which is no share.
    p.add_argument("--scale", type=pairs, default=[(1, 43), (15, 43), (63, 43), (127, 43),
                                                   (165, 43), (173, 174), (1023, 255),
                                                   (4095, 255)],
                   help="frontends' messages:frontends of each scale boot (plus one edu "
                        "route and the owner)")
    p.add_argument("--fronts", type=numbers, default=[1, 2, 4, 8, 16])
    p.add_argument("--move-rounds", type=int, default=16)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    b = Bench(args)
    for f in (b.elf, b.bench_elf, b.guest):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} is missing: run `make bench`")
    pick = [s for s in SCENARIOS if not args.only or args.only in s or
            fnmatch.fnmatch(s, args.only)]
    if "hypercalls" not in pick:
        pick.insert(0, "hypercalls")            # every guest-side figure needs the stamp cost
    failed = 0
    for i, name in enumerate(pick, 1):
        t0 = time.monotonic()
        b.progress(f"bench: [{i}/{len(pick)}] {name} ...")
        try:
            getattr(b, name)()
            b.progress(f"bench: [{i}/{len(pick)}] {name} done in {time.monotonic() - t0:.0f} s")
        except BenchError as e:
            failed += 1
            b.progress(f"bench: [{i}/{len(pick)}] {name} FAILED: {e}")
    b.write_table()
    print(f"bench: table in {os.path.join(args.out, 'paths.md')}; CSV files and plots in "
          f"{args.out}/")
    with open(os.path.join(args.out, "paths.md")) as f:
        print(f.read(), end="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
