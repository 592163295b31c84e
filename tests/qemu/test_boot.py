"""Boot scenarios: CPUs and APIC ids, memory, ACPI tables, LAPIC timer ticks, the IPI self-test,
forced exceptions, command-line errors and a UEFI boot.

The hypervisor's side of the contract (docs/report.md): `@cpu index apic mode` per CPU online,
`@mem usable`, `@acpi table addr len` per table, `@ipi from to ok cycles` per ordered CPU pair
with selftest=smp, `@tick cpu ticks` per CPU at the end, `@exception cpu vector name error rip
cr2` on a fault, and `@done status` last.
"""
import re

from courier import run, scenario
from test_guests import edu_tests, elf, texts

MIB = 1 << 20
# q35 always has these; DMAR because every boot has an intel-iommu.
REQUIRED_ACPI = {"APIC", "FACP", "MCFG", "DMAR"}
VECTORS = {"de": {0}, "ud": {6}, "gp": {13}, "pf": {14}, "stack": {8, 14}}
MNEMONICS = {0: "DE", 6: "UD", 8: "DF", 13: "GP", 14: "PF"}




# ---- checks -----------------------------------------------------------------------------------

def check_cpus(r, smp, machine_cpus=None):
    """smp CPUs online with indices 0..smp-1 and distinct APIC ids among the machine's."""
    machine_cpus = machine_cpus or smp
    cpus = r.records("cpu")
    assert len(cpus) == smp, f"{len(cpus)} @cpu records, expected {smp} (one per CPU online)"
    indices = sorted(c.int("index") for c in cpus)
    assert indices == list(range(smp)), f"@cpu indices {indices}, expected 0..{smp - 1}"
    apics = [c.int("apic") for c in cpus]
    assert len(set(apics)) == smp, f"duplicate APIC ids in {apics}"
    # QEMU numbers the APICs of -smp N (one thread per core) 0..N-1.
    assert set(apics) <= set(range(machine_cpus)), \
        f"APIC ids {sorted(apics)}, QEMU has 0..{machine_cpus - 1}"
    modes = {c["mode"] for c in cpus}
    assert modes <= {"xapic", "x2apic"} and len(modes) == 1, f"APIC modes {modes}"
    if r.accel == "tcg":
        assert modes == {"xapic"}, f"mode {modes.pop()} under TCG, which has no x2APIC"


def check_ticks(r, smp, low=1, high=None):
    ticks = {}
    for t in r.records("tick"):
        cpu = t.int("cpu")
        assert cpu not in ticks, f"two @tick records for CPU {cpu}"
        ticks[cpu] = t.int("ticks")
    assert sorted(ticks) == list(range(smp)), f"@tick for CPUs {sorted(ticks)}, expected " \
        f"0..{smp - 1}"
    for cpu, n in sorted(ticks.items()):
        assert n >= low, f"CPU {cpu} counted {n} LAPIC timer ticks, expected at least {low}"
        assert high is None or n <= high, f"CPU {cpu} counted {n} ticks, expected at most {high}"


def check_ipis(r, smp):
    pairs = {}
    for rec in r.records("ipi"):
        pair = (rec.int("from"), rec.int("to"))
        assert pair not in pairs, f"two @ipi records for {pair[0]} -> {pair[1]}"
        pairs[pair] = rec
    want = {(i, j) for i in range(smp) for j in range(smp) if i != j}
    missing, extra = sorted(want - set(pairs)), sorted(set(pairs) - want)
    assert not missing, f"no @ipi record for {len(missing)} pair(s), e.g. {missing[:4]}"
    assert not extra, f"@ipi records for unexpected pairs {extra[:4]}"
    failed = [p for p, rec in sorted(pairs.items()) if rec.int("ok") != 1]
    assert not failed, f"IPI round trip failed for {failed[:4]}"
    # A completed round trip takes time: cycles is 0 only for a failed one (docs/report.md).
    idle = [p for p, rec in sorted(pairs.items()) if rec.int("cycles") <= 0]
    assert not idle, f"@ipi cycles=0 for completed round trips {idle[:4]}"


def check_mem(r, mem_mib):
    usable = r.record("mem").int("usable")
    low, high = (mem_mib - 64) * MIB, mem_mib * MIB
    assert low <= usable <= high, f"@mem usable={usable} ({usable / MIB:.1f} MiB) outside " \
        f"{mem_mib - 64}..{mem_mib} MiB for -m {mem_mib}"


def check_acpi(r):
    tables = {}
    for rec in r.records("acpi"):
        sig = rec["table"]
        assert rec.int("addr"), f"@acpi table={sig} at address 0"
        assert rec.int("len") >= 36, f"@acpi table={sig} len={rec['len']} is shorter " \
            "than an ACPI header"
        tables.setdefault(sig, rec)
    missing = REQUIRED_ACPI - set(tables)
    assert not missing, f"no @acpi record for {sorted(missing)} (found {sorted(tables)})"


def check_nmi_gs(r, smp):
    """Every CPU took an NMI in ring 0 with the other GS base loaded and found itself."""
    got = {rec.int("cpu"): rec.int("ok") for rec in r.records("nmi_gs")}
    assert sorted(got) == list(range(smp)), f"@nmi_gs records for CPUs {sorted(got)}, want {smp}"
    failed = [c for c, ok in sorted(got.items()) if ok != 1]
    assert not failed, f"NMI in the SWAPGS window misread its CPU on {failed}"


def check_boot(r, smp, mem):
    """Everything a selftest=smp boot must show."""
    r.check_done(0)
    check_cpus(r, smp)
    check_ticks(r, smp)
    check_ipis(r, smp)
    check_nmi_gs(r, smp)
    check_mem(r, mem)
    check_acpi(r)


def error_lines(r, word, unless):
    """Human-readable (non-record) lines naming word, but not the echo of the whole cmdline."""
    return [line for line in r.lines
            if word in line and unless not in line and not line.startswith("@")]


# ---- scenarios --------------------------------------------------------------------------------

def smp_scenario(smp, accel):
    def fn():
        mem = 512 if smp >= 16 else 256
        r = run("selftest=smp exit=idle", smp=smp, mem=mem, accel=accel)
        check_boot(r, smp, mem)
    return fn


for _accel in ("tcg", "kvm"):
    for _smp in (1, 2, 4, 8, 16):
        scenario(globals(), f"smp{_smp}_{_accel}", smp_scenario(_smp, _accel),
                 cost=_smp if _accel == "tcg" else 1)


def mem_scenario(mem):
    def fn():
        r = run("exit=idle", smp=2, mem=mem)
        r.check_done(0)
        check_cpus(r, 2)
        check_mem(r, mem)
    return fn


for _mem in (128, 1024, 4096):
    scenario(globals(), f"mem{_mem}", mem_scenario(_mem), cost=2)


def fault_scenario(kind):
    def fn():
        r = run(f"fault={kind} exit=idle", smp=2)
        exc = r.records("exception")
        assert exc, f"no @exception record for fault={kind}; {r.exit_message}"
        vectors = [e.int("vector") for e in exc]
        assert set(vectors) & VECTORS[kind], f"fault={kind}: @exception vector(s) {vectors}, " \
            f"expected {sorted(VECTORS[kind])}"
        for e in exc:
            assert e.int("cpu") == 0, f"@exception on CPU {e['cpu']}, the fault was forced on 0"
            for key in ("error", "rip", "cr2"):
                e.int(key)
            name = e["name"].lstrip("#").upper()
            want = MNEMONICS.get(e.int("vector"))
            assert want is None or name.startswith(want), \
                f"@exception vector={e['vector']} name={e['name']}, expected #{want}"
        first = next(i for i, line in enumerate(r.lines) if line.startswith("@exception"))
        after = r.lines[first + 1:]
        assert any("rip" in line.lower() and not line.startswith("@") for line in after), \
            "no register dump (a line naming RIP) after @exception"
        r.check_done(None)
    return fn


for _kind in VECTORS:
    scenario(globals(), f"fault_{_kind}", fault_scenario(_kind), cost=2)


def test_bad_cmdline():
    """Unknown keys and bad values are named, counted as errors, and the boot goes on."""
    r = run("foo=1 tick_hz=abc selftest=smp exit=idle", smp=2)
    r.check_done(2)
    assert error_lines(r, "foo", "tick_hz"), "no message naming the unknown option 'foo'"
    assert error_lines(r, "tick_hz", "foo=1"), "no message naming the bad value of 'tick_hz'"
    check_cpus(r, 2)
    check_ticks(r, 2)


test_bad_cmdline.cost = 2


LOG_LINE = re.compile(r"^\[\s*[0-9.]+ c\d+\] (.*)$")


def log_lines(r):
    """The texts of the hypervisor's human-readable lines after it echoed its command line
    (the options take effect from there on)."""
    out, seen_cmdline = [], False
    for line in r.lines:
        m = LOG_LINE.match(line)
        if not m:
            continue
        if seen_cmdline:
            out.append(m.group(1))
        elif "command line '" in m.group(1):
            seen_cmdline = True
    assert seen_cmdline, "no log line echoing the command line"
    return out


def test_log_err():
    """log=err prints no info or warning line, yet keeps every record."""
    r = run("log=err selftest=smp exit=idle", smp=2)
    check_boot(r, 2, 256)
    shown = [t for t in log_lines(r) if not t.startswith("error:")]
    assert not shown, f"log=err printed {len(shown)} lines below error, first: {shown[0]!r}"
    # The same boot at the default level does print info lines: the option had an effect.
    assert [t for t in log_lines(run("selftest=smp exit=idle", smp=2))
            if not t.startswith(("error:", "warning:", "debug:"))], "no info lines by default"


test_log_err.cost = 2


def test_exit_ms():
    """exit=<ms> ends the run after that time: at 100 Hz, 400 ms is about 40 ticks per CPU."""
    r = run("tick_hz=100 exit=400", smp=2)
    r.check_done(0)
    check_cpus(r, 2)
    # Generous bounds: TCG under load loses timer interrupts, but never gains them. The low
    # bound must still tell exit=400 from exit=idle, which ends this boot after about 6 ticks.
    check_ticks(r, 2, low=15, high=80)


test_exit_ms.cost = 2


def test_tick_hz():
    """tick_hz=1000 for 300 ms: about 300 ticks per CPU (TCG loses some, never gains). At the
    default 100 Hz the same run counts at most about 30, so at least 60 shows the option
    took effect."""
    r = run("tick_hz=1000 exit=300", smp=2)
    r.check_done(0)
    check_ticks(r, 2, low=60, high=600)


test_tick_hz.cost = 2


def efi_scenario(accel):
    def fn():
        r = run("selftest=smp exit=idle", smp=2, mem=256, efi=True, accel=accel)
        check_boot(r, 2, 256)
    return fn


scenario(globals(), "efi_tcg", efi_scenario("tcg"), cost=10)
scenario(globals(), "efi_kvm", efi_scenario("kvm"), cost=1)


def test_maxcpus():
    """maxcpus=2 on a 4-CPU machine starts the boot CPU and one more."""
    r = run("maxcpus=2 selftest=smp exit=idle", smp=4)
    r.check_done(0)
    check_cpus(r, 2, machine_cpus=4)
    check_ticks(r, 2)
    check_ipis(r, 2)


test_maxcpus.cost = 4


def test_smp255_tcg():
    """255 CPUs, the most xAPIC can address (APIC id 255 is the broadcast): every one comes
    online and ticks, a guest runs on the last, and its edu message is remapped to that CPU's
    APIC. No selftest=smp: its IPI round trip per ordered pair would be 64,770 of them."""
    smp, last = 255, 254
    mods = [(elf("edu"), f"name=far cpu={last} dev=00:10.0 msi_rounds=5"),
            (elf("hello"), "name=middle cpu=128")]
    r = run("exit=idle", smp=smp, mem=1024, modules=mods, devices=["edu,addr=0x10"],
            timeout=600)
    r.check_done(0)
    check_cpus(r, smp)
    check_ticks(r, smp)
    apic = {c.int("index"): c.int("apic") for c in r.records("cpu")}[last]
    binds = [b for b in r.records("bind") if b["guest"] == "far"]
    assert binds and binds[0].int("cpu") == last, f"edu's message is not bound to CPU {last}"
    routes = [x for x in r.records("route") if x.int("irte") == binds[0].int("irte") and
              x["cpu"] != "-"]
    assert routes and routes[-1].int("apic") == apic, \
        f"edu's route names APIC {routes[-1]['apic'] if routes else '-'}, CPU {last} has {apic}"
    msi = edu_tests(r, "far").get("msi")
    assert msi and msi["result"] == "pass", f"edu on CPU {last}: test=msi {msi}"
    assert any(t.startswith("hello from middle on cpu 128") for t in texts(r, "middle")), \
        texts(r, "middle")


test_smp255_tcg.cost = 8
test_smp255_tcg.timeout = 900


def test_tsc_sources():
    """The TSC's rate comes from the HPET's main counter when the machine has one (QEMU's
    CPUs enumerate neither CPUID 15h nor 16h) and is checked against the PIT; without an
    HPET (-machine hpet=off) from the PIT. Each boot says which (docs/hardware.md)."""
    with_hpet = run("exit=idle", smp=1)
    with_hpet.check_done(0)
    lines = "\n".join(with_hpet.lines)
    assert "(from hpet)" in lines, "with an HPET, the TSC was not calibrated from it"
    assert "time: pit agrees" in lines or "by hpet but" in lines, \
        "the HPET's figure was not checked against the PIT"
    no_hpet = run("exit=idle", smp=1, qemu_args=["-machine", "hpet=off"])
    no_hpet.check_done(0)
    assert "(from pit)" in "\n".join(no_hpet.lines), "without an HPET, not calibrated by the PIT"
