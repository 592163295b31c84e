#!/usr/bin/env python3
"""Boot Courier under QEMU (q35 with an Intel IOMMU) with the console on this terminal.

usage: scripts/run.py [--scenario NAME] [--smp N] [--mem MiB] [--accel kvm|tcg] [--keep]
                      [--gdb] [--efi] [--elf FILE] [--build DIR] [--cmdline '...']
                      [--module FILE 'CMD']... [-- extra qemu args]

--scenario NAME boots scenarios/NAME.scn (its devices, hypervisor command line and guest
modules; the file says its format); --smp and --mem given explicitly win, --cmdline is added
to the scenario's, and modules and QEMU arguments are added to its own.

The exit status is 0 when the hypervisor ended the run with `@done status=0`, 1 when it ended
it with a nonzero status, and 2 when QEMU stopped for any other reason (QEMU's own exit after a
reset or triple fault, a QEMU error, a signal). With --keep the command line loses its `exit=`
option, so the hypervisor keeps running: Ctrl-A X quits QEMU (then the status is 0).

The helpers here (qemu_argv, interpret_exit, kvm_usable, ...) are shared with tests/qemu/courier.py.
"""
import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MKISO = os.path.join(ROOT, "scripts", "mkiso")
QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"

# isa-debug-exit turns a write of v to port 0xf4 into QEMU's exit status (v << 1) | 1.
DEBUG_EXIT_PORT = 0xf4
EXIT_DONE_OK = (0x10 << 1) | 1     # @done status=0
EXIT_DONE_ERR = (0x11 << 1) | 1    # @done status=n, n != 0


def build_dir():
    """$BUILD (the Makefile's variable, relative to the tree) or build/."""
    return os.path.join(ROOT, os.environ.get("BUILD") or "build")


def kvm_usable():
    """True when /dev/kvm opens read-write and the CPU has hardware virtualization.

    The second test matters: a /dev/kvm without VMX or SVM (e.g. PVM, which runs only
    paravirtualized Linux guests) opens fine but hangs SeaBIOS and OVMF. COURIER_KVM=0 turns
    KVM off.
    """
    if os.environ.get("COURIER_KVM") == "0":
        return False
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return False
    return "vmx" in flags or "svm" in flags


def default_accel():
    return "kvm" if kvm_usable() else "tcg"


def without_exit(cmdline):
    """The command line minus every exit=... option (for runs that should not end by themselves)."""
    return " ".join(w for w in cmdline.split() if not w.startswith("exit="))


def make_iso(out, elf, cmdline, modules=(), cache=None):
    """Run scripts/mkiso; modules is a list of (file, command line). Raises RuntimeError."""
    args = [MKISO, out, elf, cmdline]
    for path, modcmd in modules:
        args += [path, modcmd]
    env = dict(os.environ)
    if cache:
        env["MKISO_CACHE"] = cache
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout.strip() or f"mkiso failed (exit {proc.returncode})")
    return out


def ovmf_vars_copy(path):
    """A private, writable copy of the OVMF variable store (pflash unit 1)."""
    for f in (OVMF_CODE, OVMF_VARS):
        if not os.path.exists(f):
            raise RuntimeError(f"{f} is missing: run `make deps` (package ovmf)")
    shutil.copyfile(OVMF_VARS, path)
    return path


def qemu_argv(iso, *, smp=1, mem=256, accel="tcg", efi_vars=None, serial="stdio", gdb=False,
              devices=(), extra=()):
    """QEMU's command line: q35, intel-iommu with interrupt remapping, isa-debug-exit, no display.

    efi_vars, when given, is the writable OVMF variable store and boots through OVMF (UEFI)
    instead of SeaBIOS. devices are -device strings, added after the IOMMU (which QEMU wants
    before every other PCI device).
    """
    # KVM's in-kernel IOAPIC cannot be remapped: interrupt remapping needs the split irqchip.
    machine = "q35,kernel-irqchip=split" if accel == "kvm" else "q35"
    argv = [QEMU, "-machine", machine, "-accel", accel,
            "-device", "intel-iommu,intremap=on",
            "-smp", str(smp), "-m", str(mem),
            "-display", "none", "-serial", serial, "-no-reboot",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=4"]
    for dev in devices:
        argv += ["-device", dev]
    if efi_vars:
        argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={efi_vars}"]
    argv += ["-cdrom", iso]
    if gdb:
        argv += ["-s", "-S"]
    return argv + list(extra)


def interpret_exit(code):
    """(kind, message) for QEMU's exit status.

    kind is 'ok' (the hypervisor wrote 0x10: @done status=0), 'error' (it wrote 0x11: @done
    with a nonzero status), 'debug-exit' (some other value written to the port), 'qemu' (QEMU
    exited by itself: never a result of the hypervisor) or 'signal'.
    """
    if code == EXIT_DONE_OK:
        return "ok", f"the hypervisor ended the run with status 0 (QEMU exit {code})"
    if code == EXIT_DONE_ERR:
        return "error", f"the hypervisor ended the run with a nonzero status (QEMU exit {code})"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return "signal", f"QEMU was killed by {name}"
    if code in (0, 1):
        return "qemu", (f"QEMU exited by itself with status {code} (reset or triple fault? "
                        "or a QEMU error, see its stderr)")
    if code & 1:
        return "debug-exit", (f"the hypervisor wrote {code >> 1:#x} to isa-debug-exit "
                              f"(QEMU exit {code}), expected 0x10 or 0x11")
    return "qemu", f"QEMU exited with status {code}"


def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    else:
        extra = []
    p = argparse.ArgumentParser(
        prog="scripts/run.py", description=__doc__.split("\n\n")[0],
        usage="scripts/run.py [options] --cmdline '...' [--module FILE 'CMD']... "
              "[-- extra qemu args]",
        epilog="\n\n".join(__doc__.split("\n\n")[2:3]))
    p.add_argument("--scenario", help="boot scenarios/NAME.scn (see above)")
    p.add_argument("--smp", type=int, default=None, help="CPUs (default 4, or the scenario's)")
    p.add_argument("--mem", type=int, default=None,
                   help="memory in MiB (default 512, or the scenario's)")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="default: kvm when /dev/kvm is usable")
    p.add_argument("--keep", action="store_true",
                   help="drop exit=... from the command line; quit QEMU with Ctrl-A X")
    p.add_argument("--gdb", action="store_true", help="wait for GDB on :1234 (-s -S)")
    p.add_argument("--efi", action="store_true", help="boot through OVMF (UEFI) instead of BIOS")
    p.add_argument("--build", default=None, help="build directory (default $BUILD or build)")
    p.add_argument("--elf", default=None, help="hypervisor ELF (default BUILD/courier.elf)")
    p.add_argument("--cmdline", default=None,
                   help="hypervisor command line (default exit=idle; with --scenario, added)")
    p.add_argument("--log", default=None,
                   help="also write the console to this file (what scripts/pictures reads)")
    p.add_argument("--module", nargs=2, action="append", default=[], metavar=("FILE", "CMD"),
                   help="a multiboot2 module and its command line (repeatable)")
    args = p.parse_args(argv)
    args.extra = extra
    return args


SCENARIOS = os.path.join(ROOT, "scenarios")


def load_scenario(name, build):
    """scenarios/NAME.scn as {smp, mem, cmdline, devices, modules}; SystemExit if bad."""
    path = os.path.join(SCENARIOS, name + ".scn")
    if not os.path.exists(path):
        known = sorted(f[:-4] for f in os.listdir(SCENARIOS) if f.endswith(".scn"))
        sys.exit(f"run.py: no scenario '{name}' (scenarios/: {', '.join(known)})")
    sc = {"smp": None, "mem": None, "cmdline": "", "devices": [], "modules": []}
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, _, rest = line.partition(" ")
            rest = rest.strip()
            if key in ("smp", "mem") and rest.isdigit():
                sc[key] = int(rest)
            elif key == "cmdline":
                sc["cmdline"] = rest
            elif key == "device" and rest:
                sc["devices"].append(rest)
            elif key == "module" and rest:
                guest, _, cmd = rest.partition(" ")
                sc["modules"].append((os.path.join(build, "guests", guest + ".elf"), cmd))
            else:
                sys.exit(f"run.py: {path}:{n}: cannot read '{line}'")
    for elf, _ in sc["modules"]:
        if not os.path.exists(elf):
            sys.exit(f"run.py: {elf} does not exist: build the guests with `make all`")
    return sc


def main(argv):
    args = parse_args(argv)
    build = os.path.abspath(args.build) if args.build else build_dir()
    elf = args.elf or os.path.join(build, "courier.elf")
    if not os.path.exists(elf):
        sys.exit(f"run.py: {elf} does not exist: build it with `make hv`")
    accel = args.accel or default_accel()
    if accel == "kvm" and not kvm_usable():
        sys.exit("run.py: --accel kvm, but /dev/kvm cannot be opened read-write")
    sc = load_scenario(args.scenario, build) if args.scenario else None
    if sc:
        args.cmdline = " ".join(filter(None, (sc["cmdline"], args.cmdline)))
        args.module = sc["modules"] + [tuple(m) for m in args.module]
        args.extra = [a for d in sc["devices"] for a in ("-device", d)] + list(args.extra)
    args.smp = args.smp or (sc and sc["smp"]) or 4
    args.mem = args.mem or (sc and sc["mem"]) or 512
    if args.cmdline is None:
        args.cmdline = "exit=idle"
    cmdline = without_exit(args.cmdline) if args.keep else " ".join(args.cmdline.split())

    os.makedirs(build, exist_ok=True)
    try:
        iso = make_iso(os.path.join(build, "run.iso"), elf, cmdline,
                       [tuple(m) for m in args.module], cache=os.path.join(build, "iso"))
        efi_vars = ovmf_vars_copy(os.path.join(build, "run-ovmf-vars.fd")) if args.efi else None
    except RuntimeError as e:
        sys.exit(f"run.py: {e}")
    # mon:stdio puts QEMU's monitor behind Ctrl-A C and quitting behind Ctrl-A X; with --log
    # the same multiplexed stdio is a chardev that also copies what it writes to the file.
    serial, extra = "mon:stdio", list(args.extra)
    if args.log:
        os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
        serial = "chardev:console"
        extra = ["-chardev", f"stdio,id=console,mux=on,logfile={os.path.abspath(args.log)}",
                 "-mon", "chardev=console,mode=readline"] + extra
    argv = qemu_argv(iso, smp=args.smp, mem=args.mem, accel=accel, efi_vars=efi_vars,
                     serial=serial, gdb=args.gdb, extra=extra)

    print(f"run.py: cmdline: {cmdline}", file=sys.stderr)
    print("run.py: " + shlex.join(argv), file=sys.stderr)
    if args.gdb:
        print("run.py: QEMU waits for GDB on :1234; in another terminal: "
              "gdb -x scripts/gdbinit", file=sys.stderr)
    if args.keep:
        print("run.py: the hypervisor keeps running; Ctrl-A X quits QEMU", file=sys.stderr)
    sys.stderr.flush()

    try:
        qemu = subprocess.Popen(argv)
    except FileNotFoundError:
        sys.exit(f"run.py: {QEMU} not found: run `make deps`")
    # QEMU gets the terminal's Ctrl-C itself and exits; we only wait for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = qemu.wait()
    kind, message = interpret_exit(code)
    if args.keep and code == 0:
        message = "QEMU quit (Ctrl-A X; or the machine reset or triple-faulted)"
    print(f"run.py: {message}", file=sys.stderr)
    if kind == "ok" or (args.keep and code == 0):
        return 0
    return 1 if kind == "error" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
