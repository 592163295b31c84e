#!/usr/bin/env python3
"""Where a device message's instructions go: the hypervisor's path, instruction by instruction.

usage: scripts/pathtrace.py [--rounds N] [--vector-from ring3|any] [--out FILE]

Boots guests/bench (mode=self: an edu message raised by the guest it is bound to) under QEMU
TCG with `-icount shift=0` and QEMU's gdb stub, breaks at boot/msg_entry.asm's isr_device when a
device vector (kernel/cpu/vectors.h: VEC_DYNAMIC_FIRST..LAST) comes in from ring 3, and
single-steps to the IRETQ that leaves the hypervisor, N times; the vector's stub (boot/isr.asm),
which ran before the break, is counted from its code. Prints, for each message, the
functions in the order the path runs through them with the instructions spent in each stretch
and the total; --out writes the same as JSON. Needs gdb; `make bench` gives the figures, this
says where they come from (docs/bench.md).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import courier  # noqa: E402

VEC_DYNAMIC_FIRST, VEC_DYNAMIC_LAST = 0x30, 0xdf      # kernel/cpu/vectors.h
STEP_LIMIT = 20000      # a path longer than this is reported cut, not followed for ever

GDB_SCRIPT = r'''
import gdb, json
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("target remote :%(port)d")
# At isr_device the stub has pushed the vector ([rsp]), the error code, then the CPU's frame
# (RIP, CS at [rsp + 24]).
gdb.execute("break isr_device if *(unsigned long*)$rsp >= %(first)d && "
            "*(unsigned long*)$rsp <= %(last)d%(ring3)s")
paths = []
for rnd in range(%(rounds)d):
    gdb.execute("continue")
    arch = gdb.selected_frame().architecture()
    # The vector's stub ran first (boot/isr.asm: its pushes and the jump here): counted from
    # its code, up to and including that jump.
    vector = int(gdb.parse_and_eval("*(unsigned long*)$rsp"))
    stub = int(gdb.parse_and_eval("(unsigned long)&isr_stub_%%d" %% vector))
    stub_n = 0
    for ins in arch.disassemble(stub, count=8):
        stub_n += 1
        if ins["asm"].startswith("jmp"):
            break
    seq, n, cut = [["isr_stub_%%d" %% vector, stub_n]], stub_n, True
    while n < %(limit)d:
        pc = int(gdb.parse_and_eval("$pc"))
        sym = gdb.execute("info symbol %%d" %% pc, to_string=True)
        sym = sym.split(" in ")[0].split(" + ")[0].strip() if "No symbol" not in sym else hex(pc)
        if not seq or seq[-1][0] != sym:
            seq.append([sym, 0])
        seq[-1][1] += 1
        n += 1
        if arch.disassemble(pc)[0]["asm"].startswith("iretq"):
            cut = False
            break
        gdb.execute("stepi", to_string=True)
    paths.append({"instructions": n, "cut": cut, "stretches": seq})
with open(%(out)r, "w") as f:
    json.dump(paths, f)
gdb.execute("kill")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv):
    p = argparse.ArgumentParser(prog="scripts/pathtrace.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--vector-from", choices=("ring3", "any"), default="ring3")
    p.add_argument("--out")
    args = p.parse_args(argv)
    gdb = subprocess.run(["which", "gdb"], capture_output=True, text=True).stdout.strip()
    if not gdb:
        sys.exit("pathtrace: needs gdb (apt-get install gdb)")
    elf = os.path.join(courier.BUILD, "courier.elf")
    guest = os.path.join(courier.BUILD, "guests", "bench.elf")
    for f in (elf, guest):
        if not os.path.exists(f):
            sys.exit(f"pathtrace: {f} is missing: run `make`")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "paths.json")
        script = os.path.join(tmp, "trace.py")
        with open(script, "w") as f:
            f.write(GDB_SCRIPT % {
                "port": port, "first": VEC_DYNAMIC_FIRST, "last": VEC_DYNAMIC_LAST,
                "ring3": " && (*(unsigned long*)($rsp + 24) & 3) == 3"
                if args.vector_from == "ring3" else "",
                "rounds": args.rounds, "limit": STEP_LIMIT, "out": out})
        result = {}

        def boot():
            # More rounds than traced: the guest must still be raising when gdb lets go.
            mods = [(guest, f"name=b cpu=0 mode=self dev=00:10.0 rounds={args.rounds + 20}")]
            result["r"] = courier.Boot(
                "exit=idle", smp=1, mem=512, modules=mods, devices=["edu,addr=0x10"],
                qemu_args=["-icount", "shift=0", "-gdb", f"tcp:127.0.0.1:{port}"],
                name="pathtrace", timeout=900).run()

        t = threading.Thread(target=boot)
        t.start()
        g = subprocess.run([gdb, "-q", "-batch", "-ex", "set tcp connect-timeout 60",
                            "-x", script, elf], capture_output=True, text=True)
        t.join()
        if not os.path.exists(out):
            sys.exit(f"pathtrace: gdb traced nothing:\n{g.stdout[-2000:]}{g.stderr[-2000:]}")
        with open(out) as f:
            paths = json.load(f)
    for i, path in enumerate(paths):
        print(f"message {i}: {path['instructions']} instructions, the vector's stub to IRETQ"
              + (" (cut: no IRETQ within the step limit)" if path["cut"] else ""))
        for sym, n in path["stretches"]:
            print(f"  {n:6d}  {sym}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(paths, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
