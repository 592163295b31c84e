"""Boot Courier under QEMU for a scenario test and hand back what it reported.

    from courier import run, Skip
    r = run("selftest=smp exit=idle", smp=4)
    r.check_done(0)                                    # @done status=0 and QEMU exit 33
    assert len(r.records("cpu")) == 4
    apics = {rec.int("apic") for rec in r.records("cpu")}

A boot builds the ISO (scripts/mkiso, cached), starts qemu-system-x86_64 like scripts/run.py
does, reads the console until QEMU exits (the hypervisor ends the run through isa-debug-exit
after `@done`), and kills QEMU when the time limit passes. It never sleeps a fixed time.

Environment (tests/run.py sets these): COURIER_ACCEL forces the accelerator of every boot;
COURIER_LOG is a file every boot appends its command line, console and QEMU's stderr to;
COURIER_ELF replaces build/courier.elf; COURIER_TIMEOUT_SCALE multiplies every time limit;
COURIER_KVM=0 treats KVM as unusable.
"""
import ctypes
import fnmatch
import importlib.util
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_runner():
    # scripts/run.py holds the QEMU command line shared with `make run`; load it by path (the
    # name `run` would find tests/run.py first).
    spec = importlib.util.spec_from_file_location("courier_runner",
                                                  os.path.join(ROOT, "scripts", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


runner = _load_runner()
BUILD = runner.build_dir()
DONE_GRACE = 15.0        # seconds QEMU may take to exit after @done


class Skip(Exception):
    """Raised by a scenario (or a boot) that cannot run here: counted neither passed nor failed."""


def kvm_usable():
    return runner.kvm_usable()


# ---- records ----------------------------------------------------------------------------------

def to_int(value):
    """A record value as an int: decimal or 0x hex; '-' (none) is None."""
    if value is None or value == "-":
        return None
    v = value.lower()
    return int(v, 16) if v.startswith("0x") else int(v, 10)


class Record(NamedTuple):
    """One `@type key=value...` line: unpacks as (type, fields)."""
    type: str
    fields: dict

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.fields[key]
        return tuple.__getitem__(self, key)

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def int(self, key):
        if key not in self.fields:
            raise AssertionError(f"@{self.type} has no key '{key}': {self.line()}")
        try:
            return to_int(self.fields[key])
        except ValueError:
            raise AssertionError(f"@{self.type} {key}={self.fields[key]} is not a number")

    def line(self):
        return "@" + " ".join([self.type] + [f"{k}={v}" for k, v in self.fields.items()])


_ANSI = re.compile(r"\x1b(\[[0-9;=?]*[ -/]*[@-~]|[@-Z\\-_])")
_TYPE = re.compile(r"[a-z][a-z0-9_]*\Z")


def clean_line(line):
    """A console line without carriage returns and terminal escape sequences (OVMF, GRUB)."""
    return _ANSI.sub("", line).replace("\r", "")


def parse_record(line):
    """A Record for a line that starts with `@`, else None. Malformed records raise ValueError."""
    if not line.startswith("@"):
        return None
    words = line[1:].split()
    if not words or not _TYPE.match(words[0]):
        raise ValueError(f"bad record type: {line!r}")
    fields = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise ValueError(f"bad field {word!r} in record: {line!r}")
        fields[key] = value
    return Record(words[0], fields)


def parse_console(text):
    """(clean lines, records, malformed record lines) of a console transcript."""
    lines, records, bad = [], [], []
    for raw in text.split("\n"):
        line = clean_line(raw)
        lines.append(line)
        try:
            rec = parse_record(line)
        except ValueError:
            bad.append(line)
            continue
        if rec:
            records.append(rec)
    return lines, records, bad


# ---- trace and PCI helpers ------------------------------------------------------------------

class TraceLine(NamedTuple):
    """One QEMU trace event: its name and the rest of the line."""
    event: str
    text: str


_TRACE_PREFIX = re.compile(r"^\d+@\d+\.\d+:")


def parse_trace(text):
    out = []
    for line in text.splitlines():
        line = _TRACE_PREFIX.sub("", line)
        if line.strip():
            event, _, rest = line.partition(" ")
            out.append(TraceLine(event, rest.strip()))
    return out


def pci_devices(query_pci):
    """A flat list of dicts (bdf 'bb:dd.f', vendor, device, class, ...) from query-pci's return.

    parent is the bdf of the bridge whose secondary bus the function sits on (None on a root
    bus); qdev_id is the device's id= ('' without one).
    """
    out = []

    def walk(parent, devices):
        for d in devices:
            bdf = f"{d['bus']:02x}:{d['slot']:02x}.{d['function']:x}"
            out.append({"bdf": bdf, "bus": d["bus"], "slot": d["slot"],
                        "function": d["function"], "vendor": d["id"]["vendor"],
                        "device": d["id"]["device"], "class": d["class_info"]["class"],
                        "desc": d["class_info"].get("desc", ""), "parent": parent,
                        "qdev_id": d.get("qdev_id", ""), "raw": d})
            bridge = d.get("pci_bridge")
            if bridge and bridge.get("devices"):
                walk(bdf, bridge["devices"])

    for bus in query_pci:
        walk(None, bus["devices"])
    return out


# ---- the result of a boot -------------------------------------------------------------------

class Result:
    """What one boot produced. console is the cleaned console text."""

    def __init__(self, console, exit_code, *, timed_out=False, timeout=None, stderr="",
                 trace=(), qmp=None, argv=(), elapsed=0.0, log_path=None, name="boot",
                 accel="tcg"):
        self.raw_console = console
        self.lines, self._records, self.bad_records = parse_console(console)
        self.console = "\n".join(self.lines)
        self.exit_code = exit_code
        self.timed_out = timed_out
        self.timeout = timeout
        self.stderr = stderr
        self.trace = list(trace)
        self.qmp = qmp or {}
        self.argv = list(argv)
        self.elapsed = elapsed
        self.log_path = log_path
        self.name = name
        self.accel = accel           # the accelerator the boot really ran under
        if timed_out:
            self.exit_kind = "timeout"
            self.exit_message = (f"time limit of {timeout:g} s reached: QEMU killed"
                                 + (" (no @done record)" if self.done is None else
                                    f" ({DONE_GRACE:.0f} s after @done without exiting)"))
        elif exit_code is None:
            self.exit_kind, self.exit_message = "signal", "QEMU did not run"
        else:
            self.exit_kind, self.exit_message = runner.interpret_exit(exit_code)
            if self.exit_kind == "qemu" and stderr.strip():
                self.exit_message += ": " + stderr.strip().splitlines()[-1]

    @classmethod
    def from_console(cls, console, exit_code=runner.EXIT_DONE_OK, **kw):
        """A Result for a given transcript (for checking scenario code without QEMU)."""
        return cls(console, exit_code, **kw)

    def records(self, rtype=None):
        """Every record in order, or those of one type."""
        return [r for r in self._records if rtype is None or r.type == rtype]

    def record(self, rtype):
        """The one record of a type (AssertionError unless there is exactly one)."""
        found = self.records(rtype)
        if len(found) != 1:
            raise AssertionError(f"expected one @{rtype} record, found {len(found)}")
        return found[0]

    def ints(self, rtype, key):
        return [r.int(key) for r in self.records(rtype)]

    @property
    def done(self):
        """The status of the @done record, or None when there is none."""
        found = self.records("done")
        return found[-1].int("status") if found else None

    def grep(self, pattern):
        """Console lines matching a regular expression."""
        rx = re.compile(pattern)
        return [line for line in self.lines if rx.search(line)]

    def trace_events(self, pattern):
        """Trace lines whose event name matches a glob (e.g. 'vtd_ir_remap*')."""
        return [t for t in self.trace if fnmatch.fnmatchcase(t.event, pattern)]

    def tail(self, n=20):
        return "\n".join(line for line in self.lines[-n:])

    def check_done(self, status=0):
        """Assert that the run ended through the hypervisor with this @done status.

        status=0: `@done status=0` last and QEMU exit 33. An int n > 0: `@done status=n` and exit
        35. status=None: any nonzero status and exit 35.
        """
        if self.exit_kind in ("timeout", "signal", "qemu", "debug-exit"):
            raise AssertionError(self.exit_message)
        if self.bad_records:
            raise AssertionError(f"malformed record: {self.bad_records[0]!r}")
        if self.done is None:
            raise AssertionError(f"no @done record; {self.exit_message}")
        if self._records[-1].type != "done":
            raise AssertionError(f"@done is not the last record: {self._records[-1].line()}")
        if len(self.records("done")) != 1:
            raise AssertionError(f"{len(self.records('done'))} @done records")
        got = self.done
        if status == 0 and got != 0:
            raise AssertionError(f"@done status={got}, expected 0")
        if status is None and got == 0:
            raise AssertionError("@done status=0, expected a nonzero status")
        if status not in (0, None) and got != status:
            raise AssertionError(f"@done status={got}, expected {status}")
        want = "ok" if got == 0 else "error"
        if self.exit_kind != want:
            raise AssertionError(f"@done status={got} but {self.exit_message}")
        return self


# ---- QMP ------------------------------------------------------------------------------------

class QMPError(RuntimeError):
    """The QMP connection failed."""


class QMPCommandError(QMPError):
    """QEMU answered a command with an error."""


class QMP:
    """A minimal QMP client on a connected socket; every read is bounded by a deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""
        self.events = []
        self._read()                                  # greeting
        self.command("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise QMPError("QMP: no answer before the time limit")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QMPError("QMP: QEMU closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QMPCommandError(f"QMP {name}: "
                                      f"{reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def close(self):
        self.sock.close()


# ---- one boot -------------------------------------------------------------------------------

def _die_with_parent():
    # QEMU dies with the scenario process even when that is killed with SIGKILL.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def default_timeout(accel, smp, efi):
    scale = float(os.environ.get("COURIER_TIMEOUT_SCALE") or 1)
    base = 60.0 if accel == "kvm" else 120.0 * max(1.0, smp / 4)
    return scale * (base + (60.0 if efi else 0.0))


class Boot:
    """One QEMU run of the hypervisor.

    cmdline     the hypervisor's command line; `exit=idle` is added when it has no exit=...
    smp, mem    CPUs and MiB of memory (q35)
    accel       'tcg' (default), 'kvm' (Skip when KVM is unusable) or 'auto'; COURIER_ACCEL
                overrides it
    modules     [(file, module command line)] loaded with module2
    devices     extra -device strings; qemu_args: any further QEMU arguments
    trace       QEMU trace event patterns (e.g. ['vtd_ir_remap_msi', 'vtd_inv_desc*'])
    qmp         QMP commands (names or (name, {args})) run while the machine is still paused,
                before it starts; their returns land in Result.qmp[name]. qmp=True only
                opens the socket, for on_record.
    on_record   called as on_record(boot, record) for each record as it arrives; boot.qmp is
                the QMP client when qmp was asked for
    efi         boot through OVMF instead of SeaBIOS
    machine     None for q35 with the intel-iommu (scripts/run.py), or another QEMU machine
                type such as 'pc' (i440fx), which then has no IOMMU: only q35 takes one
    iommu       another -device string for the intel-iommu (e.g. 'intel-iommu,intremap=off',
                whose DMAR then has INTR_REMAP clear); None keeps scripts/run.py's
    timeout     seconds before QEMU is killed (default: see default_timeout)
    """

    def __init__(self, cmdline="exit=idle", *, smp=1, mem=256, accel=None, modules=(),
                 devices=(), qemu_args=(), trace=(), qmp=(), on_record=None, efi=False,
                 machine=None, iommu=None, timeout=None, elf=None, name=None):
        words = cmdline.split()
        if not any(w.startswith("exit=") for w in words):
            words.append("exit=idle")
        self.cmdline = " ".join(words)
        self.smp, self.mem, self.efi, self.machine = smp, mem, efi, machine
        self.iommu = iommu
        self.modules = [tuple(m) for m in modules]
        self.devices, self.qemu_args, self.trace = list(devices), list(qemu_args), list(trace)
        self.qmp_commands = [] if qmp is True or not qmp else list(qmp)
        self.want_qmp = bool(qmp)
        self.on_record = on_record
        self.accel = self._pick_accel(accel)
        self.timeout = timeout or default_timeout(self.accel, smp, efi)
        self.elf = elf or os.environ.get("COURIER_ELF") or os.path.join(BUILD, "courier.elf")
        self.name = name or os.environ.get("COURIER_TEST_NAME") or "boot"
        self.qmp = None
        self.proc = None

    @staticmethod
    def _pick_accel(accel):
        forced = os.environ.get("COURIER_ACCEL")
        accel = forced or accel or "tcg"
        if accel == "auto":
            accel = "kvm" if kvm_usable() else "tcg"
        if accel not in ("kvm", "tcg"):
            raise ValueError(f"accel must be kvm, tcg or auto, not {accel!r}")
        if accel == "kvm" and not kvm_usable():
            raise Skip("KVM is not usable here (/dev/kvm with VMX/SVM)")
        return accel

    def run(self):
        if not os.path.exists(self.elf):
            raise RuntimeError(f"{self.elf} does not exist: build it with `make hv`")
        os.makedirs(os.path.join(BUILD, "tmp"), exist_ok=True)
        work = tempfile.mkdtemp(prefix="boot-", dir=os.path.join(BUILD, "tmp"))
        sockdir = tempfile.mkdtemp(prefix="courier-") if self.want_qmp else None
        log = _open_log()
        try:
            return self._run(work, sockdir, log)
        finally:
            self._stop()
            if log:
                log.close()
            shutil.rmtree(work, ignore_errors=True)
            if sockdir:
                shutil.rmtree(sockdir, ignore_errors=True)

    def _argv(self, work, sockdir):
        iso = runner.make_iso(os.path.join(work, "boot.iso"), self.elf, self.cmdline,
                              self.modules, cache=os.path.join(BUILD, "iso"))
        efi_vars = runner.ovmf_vars_copy(os.path.join(work, "ovmf-vars.fd")) if self.efi else None
        extra = []
        if self.trace:
            for pattern in self.trace:
                extra += ["-trace", f"enable={pattern}"]
            extra += ["-D", os.path.join(work, "trace.log")]
        if sockdir:
            extra += ["-chardev", f"socket,id=courier-qmp,path={os.path.join(sockdir, 'qmp')}",
                      "-mon", "chardev=courier-qmp,mode=control"]
            if self.qmp_commands:
                extra.append("-S")
        argv = runner.qemu_argv(iso, smp=self.smp, mem=self.mem, accel=self.accel,
                                efi_vars=efi_vars, serial="stdio", devices=self.devices,
                                extra=extra + self.qemu_args)
        if self.iommu:
            argv = [self.iommu if a.startswith("intel-iommu") else a for a in argv]
        return _on_machine(argv, self.machine) if self.machine else argv

    def _run(self, work, sockdir, log):
        argv = self._argv(work, sockdir)
        if log:
            log.write(f"=== {self.name}: cmdline '{self.cmdline}'\n=== {shlex.join(argv)}\n")
            log.flush()
        listener = None
        if sockdir:
            # QEMU connects to us: no waiting for its socket to appear.
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(os.path.join(sockdir, "qmp"))
            listener.listen(1)
        self._log, self._console, self._stderr, self._pending = log, bytearray(), bytearray(), b""
        start = time.monotonic()
        self._deadline = start + self.timeout
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ, self._console)
        sel.register(self.proc.stderr, selectors.EVENT_READ, self._stderr)
        self._open = 2
        qmp_results = {}
        state = self._qmp_start(sel, listener, qmp_results) if listener else None
        if state is None:
            state = self._pump(sel)
        timed_out = state == "timeout"
        if timed_out:
            self._stop()
        code = None if timed_out else self.proc.wait()
        trace_text = ""
        if self.trace and os.path.exists(os.path.join(work, "trace.log")):
            with open(os.path.join(work, "trace.log"), errors="replace") as f:
                trace_text = f.read()
        result = Result(self._console.decode(errors="replace"), code, timed_out=timed_out,
                        timeout=self.timeout, stderr=self._stderr.decode(errors="replace"),
                        trace=parse_trace(trace_text), qmp=qmp_results, argv=argv,
                        elapsed=time.monotonic() - start,
                        log_path=log.name if log else None, name=self.name,
                        accel=self.accel)
        if log:
            if result.stderr.strip():
                log.write("=== QEMU stderr:\n" + result.stderr.rstrip("\n") + "\n")
            log.write(f"=== {self.name}: {result.exit_message} after {result.elapsed:.1f} s\n")
        return result

    def _qmp_start(self, sel, listener, results):
        """Take QEMU's QMP connection and run the paused commands; None when that went well,
        else how the run ended first ('exit' or 'timeout')."""
        sel.register(listener, selectors.EVENT_READ, None)
        got = self._pump(sel, listener)
        sel.unregister(listener)
        listener.close()
        if isinstance(got, str):
            return got
        try:
            self.qmp = QMP(got, self._deadline)
            for cmd in self.qmp_commands:
                name, args = (cmd, {}) if isinstance(cmd, str) else cmd
                results[name] = self.qmp.command(name, **args)
            if self.qmp_commands:
                self.qmp.command("cont")
        except QMPCommandError:
            raise
        except (OSError, QMPError) as e:
            # Most often QEMU rejected its command line after opening the QMP socket: keep
            # reading until it exits, so that the result carries its error message.
            self._stderr.extend(f"courier: QMP failed: {e}\n".encode())
            if self.qmp:
                self.qmp.close()
                self.qmp = None
            return self._pump(sel)
        return None

    def _pump(self, sel, listener=None):
        """Read QEMU's output until it exits ('exit'), the time limit passes ('timeout') or, with
        listener, QEMU connects to it (the connected socket)."""
        while self._open:
            left = self._deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            for key, _ in sel.select(left):
                if listener is not None and key.fileobj is listener:
                    return listener.accept()[0]
                chunk = os.read(key.fd, 65536)
                if chunk:
                    self._take(key.data, chunk)
                else:
                    sel.unregister(key.fileobj)
                    self._open -= 1
        return "exit"

    def _take(self, stream, chunk):
        stream.extend(chunk)
        text = chunk.decode(errors="replace")
        if self._log:
            self._log.write(text if stream is self._console else "[qemu] " + text)
            self._log.flush()
        if stream is not self._console:
            return
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            self._on_line(line)

    def _on_line(self, raw):
        try:
            rec = parse_record(clean_line(raw.decode(errors="replace")))
        except ValueError:
            return
        if rec is None:
            return
        if self.on_record:
            self.on_record(self, rec)
        if rec.type == "done":
            self._deadline = min(self._deadline, time.monotonic() + DONE_GRACE)

    def _stop(self):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        proc = self.proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc:
            for pipe in (proc.stdout, proc.stderr):
                if pipe:
                    pipe.close()


def _on_machine(argv, machine):
    """QEMU's command line on another machine type, without the q35-only intel-iommu."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "-machine":
            out += ["-machine", machine]
            i += 2
        elif argv[i] == "-device" and argv[i + 1].startswith("intel-iommu"):
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _open_log():
    path = os.environ.get("COURIER_LOG")
    if not path:
        return None
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return open(path, "a", errors="replace")


def run(cmdline="exit=idle", **kwargs):
    """Boot once and return the Result (see Boot for the parameters)."""
    return Boot(cmdline, **kwargs).run()


def scenario(module_globals, name, fn, cost=1, timeout=None):
    """Register fn in a test module as the scenario test_NAME (tests/run.py runs the costliest
    first; timeout overrides the runner's limit for it)."""
    fn.__name__ = "test_" + name
    fn.cost = cost
    if timeout:
        fn.timeout = timeout
    module_globals[fn.__name__] = fn
