#!/usr/bin/env python3
"""Run every Courier test and print one line per test, then `N passed, N failed`.

usage: tests/run.py [--only PATTERN] [--accel kvm|tcg] [--jobs N] [--timeout S] [--list]

Kinds of test:
- unit: every cmocka binary build/host/tests/NAME-test; each test case is one test
  (unit.NAME.CASE). A binary that crashes fails the case it was in (and the rest did not run).
- dmar: for each tests/data/acpi/dmar/NAME.bin, `build/host/dmar-dump NAME.bin` must print
  exactly NAME.expect (dmar.NAME); skipped while the tool is not built.
- dmar-assign: for each tests/data/acpi/dmar/assign/NAME.topology, `build/host/dmar-dump
  --assign NAME.topology NAME.bin` must print exactly assign/NAME.assign (dmar-assign.NAME).
- guest-emu: tools/guest-emu-check runs the guests under build/host/guest-emu; each of its
  scenarios is one test (guest-emu.NAME); skipped while the tool is not built.
- fuzz: each libFuzzer harness build/fuzz/NAME-fuzz (tests/fuzz/fuzz.mk) runs for a few
  seconds from its seeds (fuzz.NAME): it passes when libFuzzer finds no crash, leak or hang.
  Skipped while the harness is not built.
- layers: scripts/check-layers finds no #include that points up the hypervisor's layers.
- QEMU scenarios: every function test_* in tests/qemu/test_FILE.py (FILE.NAME), each run in a
  process of its own, --jobs at a time, with a time limit (--timeout, or the function's
  `timeout` attribute). A scenario raising courier.Skip is skipped: counted neither passed nor
  failed.

PATTERN selects tests by name: a glob when it has * ? or [, else a substring. --accel forces the
accelerator of every QEMU boot. Logs go to build/test-logs/NAME.log; a failure prints the tail
of its log and the log's path. The exit status is 1 when a test failed.
"""
import argparse
import concurrent.futures
import difflib
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU_DIR = os.path.join(ROOT, "tests", "qemu")
DMAR_DIR = os.path.join(ROOT, "tests", "data", "acpi", "dmar")
DMAR_ASSIGN_DIR = os.path.join(DMAR_DIR, "assign")
TAIL_LINES = 25
UNIT_TIMEOUT = 300
DMAR_TIMEOUT = 30
GUEST_EMU_CHECK = os.path.join(ROOT, "tools", "guest-emu-check")
GUEST_EMU_TIMEOUT = 300
FUZZ_DIR = os.path.join(ROOT, "tests", "fuzz")
FUZZ_SECONDS = 4                # each harness's round; make fuzz runs longer ones
FUZZ_INPUT_TIMEOUT = 10         # one input taking longer is a hang

sys.dont_write_bytecode = True


def build_dir():
    return os.path.join(ROOT, os.environ.get("BUILD") or "build")


def rel(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


class Outcome:
    def __init__(self, name, status, reason="", detail="", log=None):
        self.name, self.status, self.reason, self.detail, self.log = (name, status, reason,
                                                                       detail, log)


def tail(path, n=TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().replace("\r", "").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# ---- children: started in their own process group so that a timeout or Ctrl-C ends them whole -

class Children:
    def __init__(self):
        self.lock = threading.Lock()
        self.procs = set()
        self.stopping = False

    def run(self, argv, *, timeout, **kwargs):
        """(exit status or None on timeout, stdout bytes) of a child process group."""
        with self.lock:
            if self.stopping:
                raise KeyboardInterrupt
            proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                                    **kwargs)
            self.procs.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
            return proc.returncode, out
        except subprocess.TimeoutExpired:
            self.kill(proc)
            out, _ = proc.communicate()
            return None, out
        finally:
            with self.lock:
                self.procs.discard(proc)

    @staticmethod
    def kill(proc):
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                # The group may outlive its leader (QEMU); make sure it is gone too.
                os.killpg(proc.pid, signal.SIGKILL)
                return
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue

    def kill_all(self):
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            self.kill(proc)


CHILDREN = Children()


# ---- unit tests (cmocka) ----------------------------------------------------------------------

_RUN = re.compile(r"^\[ RUN      \] (.+)$")
_RESULT = re.compile(r"^\[ *(OK|FAILED|SKIPPED|ERROR) *\] (.+)$")
_GROUP_START = re.compile(r"^\[==========\] Running (\d+) test")
_GROUP_END = re.compile(r"^\[==========\] (\d+) test\(s\) run")


def parse_cmocka(text):
    """[(case, 'PASS'|'FAIL'|'SKIP'|'CRASH', message lines)] in run order, and the planned count."""
    cases, planned, current, in_group, messages = [], 0, None, False, []
    for line in text.splitlines():
        m = _GROUP_START.match(line)
        if m:
            planned += int(m.group(1))
            in_group = True
            continue
        if _GROUP_END.match(line):
            in_group = False
            continue
        if not in_group:
            continue
        m = _RUN.match(line)
        if m:
            current, messages = m.group(1).strip(), []
            continue
        m = _RESULT.match(line)
        if m and current is not None and m.group(2).strip() == current:
            status = {"OK": "PASS", "SKIPPED": "SKIP"}.get(m.group(1), "FAIL")
            cases.append((current, status, messages))
            current = None
            continue
        if current is not None:
            messages.append(line)
    if current is not None:
        cases.append((current, "CRASH", messages))
    return cases, planned


def run_unit(binary, logdir):
    base = os.path.basename(binary)[:-len("-test")]
    log = os.path.join(logdir, f"unit.{base}.log")
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="STDOUT")
    env.pop("CMOCKA_XML_FILE", None)
    code, out = CHILDREN.run([binary], timeout=UNIT_TIMEOUT, cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = out.decode(errors="replace")
    with open(log, "w") as f:
        f.write(text)
    cases, planned = parse_cmocka(text)
    outcomes = []
    for case, status, messages in cases:
        name = f"unit.{base}.{case}"
        if status == "CRASH":
            how = "timed out" if code is None else describe_status(code)
            why = next((m.strip() for m in messages
                        if "Sanitizer" in m or "runtime error:" in m), "")
            # A sanitizer report starts with what happened and ends with a legend: show its top.
            outcomes.append(Outcome(name, "FAIL", f"the test binary {how} in this case"
                                    + (f": {why}" if why else ""),
                                    "\n".join(messages[:TAIL_LINES]), log))
        elif status == "FAIL":
            outcomes.append(Outcome(name, "FAIL", first_error(messages),
                                    "\n".join(messages[-TAIL_LINES:]), log))
        else:
            outcomes.append(Outcome(name, status))
    missing = planned - len(cases)
    crashed = any(s == "CRASH" for _, s, _ in cases)
    if not cases and code != 0:
        how = "timed out" if code is None else describe_status(code)
        outcomes.append(Outcome(f"unit.{base}", "FAIL", f"the test binary {how} before any case "
                                "ran", tail(log), log))
    elif missing > 0:
        outcomes.append(Outcome(f"unit.{base}", "FAIL", f"{missing} case(s) did not run"
                                + (" after the crash" if crashed else ""), tail(log), log))
    elif code not in (0, None) and all(o.status != "FAIL" for o in outcomes):
        # Every case passed but the binary still failed: a leak report, a late sanitizer error.
        outcomes.append(Outcome(f"unit.{base}", "FAIL", f"the test binary {describe_status(code)} "
                                "after all its cases passed", tail(log), log))
    return outcomes


def first_error(messages):
    for line in messages:
        if line.startswith("[  ERROR   ] --- "):
            return line[len("[  ERROR   ] --- "):].strip()
    for line in messages:
        if line.strip():
            return line.strip()
    return "failed"


def describe_status(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


# ---- host-tool checks: DMAR tables -----------------------------------------------------------

def data_tests(directory, ext, kind, only):
    """NAME of each NAME.ext in directory whose test kind.NAME --only selects."""
    if not os.path.isdir(directory):
        return []
    names = sorted(f[:-len(ext)] for f in os.listdir(directory) if f.endswith(ext))
    return [n for n in names if selected(f"{kind}.{n}", only)]


def run_dmar(name, tool, logdir):
    return check_tool_output(f"dmar.{name}", tool, [os.path.join(DMAR_DIR, name + ".bin")],
                             os.path.join(DMAR_DIR, name + ".expect"), logdir)


def run_dmar_assign(name, tool, logdir):
    """`dmar-dump --assign assign/NAME.topology NAME.bin` must print assign/NAME.assign."""
    args = ["--assign", os.path.join(DMAR_ASSIGN_DIR, name + ".topology"),
            os.path.join(DMAR_DIR, name + ".bin")]
    return check_tool_output(f"dmar-assign.{name}", tool, args,
                             os.path.join(DMAR_ASSIGN_DIR, name + ".assign"), logdir)


def check_tool_output(test, tool, args, expect_path, logdir):
    """The test passes when tool exits 0 having printed exactly the file expect_path."""
    if not os.access(tool, os.X_OK):
        return [Outcome(test, "SKIP", f"{rel(tool)} is not built yet")]
    if not os.path.exists(expect_path):
        return [Outcome(test, "FAIL", f"{rel(expect_path)} is missing")]
    code, out = CHILDREN.run([tool] + args, timeout=DMAR_TIMEOUT,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = out.decode(errors="replace")
    with open(expect_path, errors="replace") as f:
        want = f.read()
    if code == 0 and got == want:
        return [Outcome(test, "PASS")]
    log = os.path.join(logdir, f"{test}.log")
    name = os.path.basename(tool)
    diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                        "expected", name))
    with open(log, "w") as f:
        f.write(f"$ {rel(tool)} {' '.join(a if a.startswith('-') else rel(a) for a in args)}"
                f"\n{diff}")
    if code != 0:
        reason = "timed out" if code is None else f"{name} {describe_status(code)}"
    else:
        reason = "output differs from " + rel(expect_path)
    return [Outcome(test, "FAIL", reason, "\n".join(diff.splitlines()[:TAIL_LINES]), log)]


# ---- host-tool checks: the guests under guest-emu --------------------------------------------

_EMU_RESULT = re.compile(r"^(ok|FAIL)\s+([^\s:]+):?\s*(.*)$")


def guest_emu_tests(only):
    """The names of tools/guest-emu-check's scenarios that --only selects, and list errors."""
    if not os.access(GUEST_EMU_CHECK, os.X_OK):
        return [], []
    code, out = CHILDREN.run([GUEST_EMU_CHECK, "--list", build_dir()], timeout=DMAR_TIMEOUT,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = out.decode(errors="replace")
    if code != 0:
        how = "timed out" if code is None else describe_status(code)
        return [], [Outcome("guest-emu", "FAIL", f"{rel(GUEST_EMU_CHECK)} --list {how}",
                            "\n".join(text.splitlines()[-TAIL_LINES:]))]
    return [n for n in text.split() if selected(f"guest-emu.{n}", only)], []


def run_guest_emu(names, logdir):
    """Runs every scenario at once (the Printer keeps those --only selects)."""
    tool = os.path.join(build_dir(), "host", "guest-emu")
    if not os.access(tool, os.X_OK):
        return [Outcome(f"guest-emu.{n}", "SKIP", f"{rel(tool)} is not built yet")
                for n in names]
    log = os.path.join(logdir, "guest-emu.log")
    code, out = CHILDREN.run([GUEST_EMU_CHECK, build_dir()], timeout=GUEST_EMU_TIMEOUT, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = out.decode(errors="replace")
    with open(log, "w") as f:
        f.write(text)
    outcomes, seen, current = [], set(), None
    for line in text.splitlines():
        m = _EMU_RESULT.match(line)
        if m:
            name = f"guest-emu.{m.group(2)}"
            seen.add(m.group(2))
            current = (Outcome(name, "PASS") if m.group(1) == "ok" else
                       Outcome(name, "FAIL", m.group(3) or "failed", "", log))
            outcomes.append(current)
        elif line.startswith("    ") and current is not None and current.status == "FAIL":
            current.detail += ("\n" if current.detail else "") + line[4:]
    how = "timed out" if code is None else describe_status(code)
    missing = [n for n in names if n not in seen]
    for i, n in enumerate(missing):
        # The log's tail once, with the first of them.
        outcomes.append(Outcome(f"guest-emu.{n}", "FAIL", f"no result: guest-emu-check {how}",
                                "" if i else tail(log), log))
    if code != 0 and all(o.status != "FAIL" for o in outcomes):
        outcomes.append(Outcome("guest-emu", "FAIL", f"guest-emu-check {how} with no scenario "
                                "failed", tail(log), log))
    return outcomes


# ---- the layer check --------------------------------------------------------------------------

CHECK_LAYERS = os.path.join(ROOT, "scripts", "check-layers")


def run_check_layers(logdir):
    """scripts/check-layers: no #include points up the hypervisor's layers (one test)."""
    proc = subprocess.run([sys.executable, CHECK_LAYERS], capture_output=True, text=True,
                          timeout=60)
    out = proc.stdout + proc.stderr
    log = os.path.join(logdir, "check-layers.log")
    with open(log, "w") as f:
        f.write(out)
    if proc.returncode == 0:
        return [Outcome("layers", "PASS")]
    first = next((l for l in out.splitlines() if l.strip()), "no output")
    return [Outcome("layers", "FAIL", first, out, log)]


# ---- fuzz harnesses: a short round each ------------------------------------------------------

_FUZZ_FINDING = re.compile(r"^==\d+== ?ERROR|runtime error:|^ERROR: libFuzzer|^ALARM: working on")


def fuzz_tests(only):
    names = sorted(f[:-len("-fuzz.c")] for f in (os.listdir(FUZZ_DIR) if os.path.isdir(FUZZ_DIR)
                                                 else []) if f.endswith("-fuzz.c"))
    return [n for n in names if selected(f"fuzz.{n}", only)]


def run_fuzz(name, logdir):
    """libFuzzer from a fresh corpus and the seeds of make fuzzers, for FUZZ_SECONDS."""
    test = f"fuzz.{name}"
    fuzz = os.path.join(build_dir(), "fuzz")
    binary = os.path.join(fuzz, f"{name}-fuzz")
    if not os.access(binary, os.X_OK):
        return [Outcome(test, "SKIP", f"{rel(binary)} is not built yet (make fuzzers)")]
    corpus = os.path.join(fuzz, "test-corpus", name)
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    seeds = os.path.join(fuzz, "seeds", name)
    log = os.path.join(logdir, f"{test}.log")
    argv = [binary, f"-max_total_time={FUZZ_SECONDS}", f"-timeout={FUZZ_INPUT_TIMEOUT}",
            f"-artifact_prefix={rel(os.path.join(logdir, test))}-", corpus]
    argv += [seeds] if os.path.isdir(seeds) else []
    code, out = CHILDREN.run(argv, timeout=FUZZ_SECONDS + 60, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    text = out.decode(errors="replace")
    with open(log, "w") as f:
        f.write("$ " + " ".join(rel(a) for a in argv) + "\n" + text)
    if code == 0:
        return [Outcome(test, "PASS")]
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _FUZZ_FINDING.search(line)), None)
    how = "timed out" if code is None else describe_status(code)
    if start is None:
        return [Outcome(test, "FAIL", f"libFuzzer {how}", tail(log), log)]
    # The report from its first line: what happened and where, then the input and its file.
    return [Outcome(test, "FAIL", f"libFuzzer {how}: {lines[start].strip()}",
                    "\n".join(lines[start:start + 40]), log)]


# ---- QEMU scenarios ---------------------------------------------------------------------------

def load_module(path):
    sys.path.insert(0, QEMU_DIR)
    name = "scenario_" + os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def scenarios(only):
    """[(name, file, function name, timeout, cost)] and load errors as Outcomes."""
    found, errors = [], []
    for fname in sorted(os.listdir(QEMU_DIR)) if os.path.isdir(QEMU_DIR) else []:
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        path = os.path.join(QEMU_DIR, fname)
        stem = fname[len("test_"):-3]
        try:
            mod = load_module(path)
        except Exception as e:
            errors.append(Outcome(f"{stem}", "FAIL", f"cannot load {rel(path)}: "
                                  f"{type(e).__name__}: {e}", traceback.format_exc()))
            continue
        for attr, fn in vars(mod).items():
            if attr.startswith("test_") and callable(fn):
                name = f"{stem}.{attr[len('test_'):]}"
                if selected(name, only):
                    found.append((name, path, attr, getattr(fn, "timeout", None),
                                  getattr(fn, "cost", 1)))
    # The longest first, so that the pool's last minutes are not one slow boot alone.
    found.sort(key=lambda s: -s[4])
    return found, [e for e in errors if selected(e.name, only)]


def run_scenario(name, path, func, timeout, logdir, accel):
    log = os.path.join(logdir, f"{name}.log")
    result_file = os.path.join(logdir, f".{name}.result")
    for f in (log, result_file):
        if os.path.exists(f):
            os.unlink(f)
    env = dict(os.environ, COURIER_LOG=log, COURIER_TEST_NAME=name, PYTHONUNBUFFERED="1",
               PYTHONDONTWRITEBYTECODE="1")
    if accel:
        env["COURIER_ACCEL"] = accel
    start = time.monotonic()
    with open(log, "a") as logf:
        code, _ = CHILDREN.run([sys.executable, os.path.abspath(__file__), "--scenario", path,
                                func, "--result", result_file], timeout=timeout, cwd=ROOT,
                               env=env, stdout=logf, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - start
    try:
        with open(result_file) as f:
            res = json.load(f)
        os.unlink(result_file)
    except (OSError, ValueError):
        res = None
    if code is None:
        reason = f"scenario time limit of {timeout:.0f} s reached (killed)"
        return [Outcome(name, "FAIL", reason, tail(log), log)]
    if res is None:
        return [Outcome(name, "FAIL", f"scenario process {describe_status(code)} without a "
                        "result", tail(log), log)]
    with open(log, "a") as logf:
        logf.write(f"=== {res['status']} after {elapsed:.1f} s\n")
    if res["status"] == "FAIL":
        detail = console_tail(log)
        if res.get("where") and res["where"] not in res["reason"]:
            detail = f"at {res['where']}\n{detail}"
        return [Outcome(name, "FAIL", res["reason"], detail, log)]
    return [Outcome(name, res["status"], res.get("reason", ""))]


TRACEBACK_MARK = "=== scenario traceback:"


def scenario_child(path, func, result_file):
    """Child mode: run one scenario function and write its outcome as JSON."""
    # The parent ends a scenario with SIGTERM: unwind, so that QEMU is stopped and temporary
    # files are removed by the library's cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.path.insert(0, QEMU_DIR)
    status, reason, where = "PASS", "", ""
    try:
        mod = load_module(path)
        skip = getattr(sys.modules.get("courier"), "Skip", ())
        try:
            getattr(mod, func)()
        except skip as e:
            status, reason = "SKIP", str(e) or "skipped"
    except SystemExit:
        raise
    except BaseException as e:
        status, where = "FAIL", scenario_line(e)
        if isinstance(e, AssertionError):
            reason = str(e).strip() or f"assertion failed: {where}"
        else:
            reason = f"{type(e).__name__}: {e}"
        sys.stdout.flush()
        print(TRACEBACK_MARK, file=sys.stderr)
        traceback.print_exc()
    with open(result_file, "w") as f:
        json.dump({"status": status, "reason": reason, "where": where}, f)


def scenario_line(e):
    """'file:line: source' of the innermost frame in a scenario file (tests/qemu/test_*.py)."""
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith(os.path.join(QEMU_DIR, "test_")):
            return f"{rel(frame.filename)}:{frame.lineno}: {(frame.line or '').strip()}"
    return ""


def console_tail(log, n=TAIL_LINES):
    """The end of a scenario log before its traceback (which the FAIL line already sums up)."""
    text = tail(log, 100000)
    cut = text.find(TRACEBACK_MARK)
    lines = (text if cut < 0 else text[:cut]).splitlines()
    return "\n".join(lines[-n:])


# ---- the driver -------------------------------------------------------------------------------

def selected(name, only):
    if not only:
        return True
    if any(c in only for c in "*?["):
        return fnmatch.fnmatchcase(name, only)
    return only in name


class Printer:
    def __init__(self, only):
        self.only = only
        self.lock = threading.Lock()
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        self.failed = []

    def report(self, outcomes):
        with self.lock:
            for o in outcomes:
                if not selected(o.name, self.only):
                    continue
                self.counts[o.status] += 1
                if o.status == "PASS":
                    print(f"PASS {o.name}")
                    continue
                print(f"{o.status} {o.name}: {o.reason}".rstrip())
                if o.status == "FAIL":
                    self.failed.append(o.name)
                    for line in o.detail.splitlines():
                        print(f"    | {line}")
                    if o.log:
                        print(f"    log: {rel(o.log)}")
            sys.stdout.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="tests/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="run the tests whose name matches (substring or glob)")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="accelerator of every QEMU boot")
    p.add_argument("--jobs", type=int, help="parallel tests (default: CPUs; 2 under CI)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="time limit of one QEMU scenario in seconds (default 600)")
    p.add_argument("--list", action="store_true",
                   help="list the QEMU scenarios, DMAR, guest-emu and fuzz tests")
    p.add_argument("--scenario", nargs=2, metavar=("FILE", "FUNC"), help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def remove_stale(tmp, age=3600):
    """Work directories of boots that were killed hard (an hour old: no live boot uses them)."""
    if not os.path.isdir(tmp):
        return
    for name in os.listdir(tmp):
        path = os.path.join(tmp, name)
        try:
            if name.startswith("boot-") and time.time() - os.stat(path).st_mtime > age:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv):
    args = parse_args(argv)
    if args.scenario:
        scenario_child(args.scenario[0], args.scenario[1], args.result)
        return 0

    build = build_dir()
    logdir = os.path.join(build, "test-logs")
    os.makedirs(logdir, exist_ok=True)
    remove_stale(os.path.join(build, "tmp"))
    if args.accel == "kvm":
        sys.path.insert(0, QEMU_DIR)
        import courier
        if not courier.kvm_usable():
            print("tests/run.py: --accel kvm, but KVM is not usable here", file=sys.stderr)
            return 2
    jobs = args.jobs or (2 if os.environ.get("CI") else os.cpu_count() or 1)

    units = sorted(os.path.join(build, "host", "tests", f)
                   for f in (os.listdir(os.path.join(build, "host", "tests"))
                             if os.path.isdir(os.path.join(build, "host", "tests")) else [])
                   if f.endswith("-test"))
    dmars = data_tests(DMAR_DIR, ".bin", "dmar", args.only)
    assigns = data_tests(DMAR_ASSIGN_DIR, ".topology", "dmar-assign", args.only)
    emus, emu_errors = guest_emu_tests(args.only)
    fuzzers = fuzz_tests(args.only)
    qemus, load_errors = scenarios(args.only)
    load_errors += emu_errors
    if args.list:
        for name in ([f"dmar.{n}" for n in dmars] + [f"dmar-assign.{n}" for n in assigns]
                     + [f"guest-emu.{n}" for n in emus]
                     + [f"fuzz.{n}" for n in fuzzers] + sorted(s[0] for s in qemus)):
            print(name)
        return 0

    printer = Printer(args.only)
    printer.report(load_errors)
    tool = os.path.join(build, "host", "dmar-dump")
    work = ([(run_unit, (u, logdir)) for u in units]
            + ([(run_check_layers, (logdir,))] if selected("layers", args.only) else [])
            + ([(run_guest_emu, (emus, logdir))] if emus else [])
            + [(run_fuzz, (n, logdir)) for n in fuzzers]
            + [(run_dmar, (n, tool, logdir)) for n in dmars]
            + [(run_dmar_assign, (n, tool, logdir)) for n in assigns]
            + [(run_scenario, (name, path, func, timeout or args.timeout, logdir, args.accel))
               for name, path, func, timeout, _ in qemus])

    signal.signal(signal.SIGTERM, on_sigterm)
    start = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(fn, *fargs) for fn, fargs in work]
        for fut in concurrent.futures.as_completed(futures):
            try:
                printer.report(fut.result())
            except KeyboardInterrupt:
                raise
            except Exception as e:
                printer.report([Outcome("run.py", "FAIL", f"{type(e).__name__}: {e}",
                                        traceback.format_exc())])
    except KeyboardInterrupt:
        CHILDREN.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print("tests/run.py: interrupted; QEMU and test processes stopped", file=sys.stderr)
        return 130
    pool.shutdown()

    c = printer.counts
    if args.only and not (c["PASS"] or c["FAIL"] or c["SKIP"]):
        print(f"tests/run.py: no test matches '{args.only}'", file=sys.stderr)
        print("0 passed, 0 failed")
        return 1
    if printer.failed:
        print("failed: " + " ".join(printer.failed))
    if c["SKIP"]:
        print(f"{c['SKIP']} skipped")
    print(f"took {time.monotonic() - start:.1f} s with {jobs} job(s)")
    print(f"{c['PASS']} passed, {c['FAIL']} failed")
    return 1 if c["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
