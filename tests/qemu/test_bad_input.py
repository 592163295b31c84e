"""Bad boot input: damaged ACPI tables, truncated guest modules, a garbled command line.

Each must give an `error:` or `warning:` line naming the problem, and the boot goes on without
the bad part (docs/report.md: `@done status` counts the `error:` lines).

ACPI tables come from QEMU's `-acpitable file=...`: QEMU appends them to the RSDT after its own
tables. QEMU 7.2 rewrites the length field of such a table to the file's size and recomputes its
checksum, so a bad checksum or length never reaches the hypervisor this way (its own checks are
in tests/unit/acpi-test.c); what does reach it is any signature and any content. For the MADT,
MCFG and DMAR the hypervisor uses the first table listed (QEMU's) and reports every further one
as an ignored error, so garbage in an extra one must change nothing else.
"""
import os
import re
import struct
import tempfile

from courier import run
from test_boot import check_acpi, check_cpus, check_ticks, error_lines
from test_guests import boot, check_exited, check_healthy, check_rejected, elf, phdrs, texts

ACPI_MAX_TABLES = 64            # kernel/firmware/acpi.h
QUOTE_MAX = 64                  # kernel/lib/cmdline.c: longest key or value quoted
MAX_TOKEN = 256                 # kernel/lib/cmdline.h CMDLINE_MAX_TOKEN (with its NUL)
# What q35 with -smp 2 and the default devices shows without extra tables.
QEMU_ECAM = "0xb0000000"
QEMU_VTD = 0xfed90000
QEMU_PCI = {"0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:1f.0", "0000:00:1f.2",
            "0000:00:1f.3"}


# ---- ACPI tables ------------------------------------------------------------------------------

def acpi_table(sig, body, *, length=None, bad_checksum=False):
    """A table: 36-byte header (sig: 4 bytes) and body, summing to 0 unless bad_checksum;
    length overrides the header's length field."""
    hdr = struct.pack("<4sIBB6s8sIII", sig, 36 + len(body) if length is None else length, 1, 0,
                      b"COURTS", b"BADINPUT", 1, 0x54534554, 1)
    t = bytearray(hdr + body)
    t[9] = (-sum(t) + (1 if bad_checksum else 0)) & 0xff
    return bytes(t)


def madt_garbage():
    """A MADT whose CPUs do not exist (APIC ids 0-15, all enabled), with a zero-length entry
    and one that runs past the table's end."""
    body = struct.pack("<II", 0xfee00000, 1)
    for i in range(16):
        body += struct.pack("<BBBBI", 0, 8, i, i, 1)            # Processor Local APIC
    body += struct.pack("<BBBBII", 1, 12, 9, 0, 0x1000, 0)       # I/O APIC in low RAM
    body += bytes([0, 0]) + bytes([9, 200]) + b"\xff" * 6
    return acpi_table(b"APIC", body)


def mcfg_garbage():
    """An MCFG: segment 0's buses again at a base in RAM, overlapping allocations, an
    unaligned base and a region that wraps."""
    allocs = [(0x10000000, 0, 0, 255), (0x10000000, 0, 0x10, 0x20), (0xb0000800, 0, 0, 1),
              (0xfffffffffff00000, 0, 0, 255), (0x20000000, 0, 5, 2)]
    body = b"\0" * 8 + b"".join(struct.pack("<QHBBI", *a, 0) for a in allocs)
    return acpi_table(b"MCFG", body)


def dmar_garbage():
    """A DMAR whose one remapping unit (INCLUDE_PCI_ALL) sits on the local APIC's page."""
    body = struct.pack("<BB10s", 38, 1, b"\0" * 10)
    body += struct.pack("<HHBBHQ", 0, 16, 1, 0, 0, 0xfee00000)
    return acpi_table(b"DMAR", body)


def acpi_boot(tables, **kw):
    """A selftest=smp boot on 2 CPUs with each of tables (bytes) added by -acpitable."""
    with tempfile.TemporaryDirectory(prefix="courier-acpi-") as tmp:
        args = []
        for i, t in enumerate(tables):
            path = os.path.join(tmp, f"t{i}.bin")
            with open(path, "wb") as f:
                f.write(t)
            args += ["-acpitable", f"file={path}"]
        return run("selftest=smp exit=idle", smp=2, qemu_args=args, **kw)


def acpi_recs(r, sig):
    return [rec for rec in r.records("acpi") if rec["table"] == sig]


def check_platform(r):
    """CPUs, PCI (through QEMU's ECAM) and the IOMMU came up as without the extra tables."""
    check_cpus(r, 2)
    check_ticks(r, 2)
    ecam = [line for line in r.lines if "pci: ECAM" in line]
    assert len(ecam) == 1 and QEMU_ECAM in ecam[0], f"ECAM regions used: {ecam}"
    bdfs = {p["bdf"] for p in r.records("pci")}
    assert bdfs == QEMU_PCI, f"@pci functions {sorted(bdfs)}, expected {sorted(QEMU_PCI)}"
    units = [u.int("base") for u in r.records("iommu")]
    assert units == [QEMU_VTD], f"@iommu units at {[hex(u) for u in units]}, expected " \
        f"only {QEMU_VTD:#x}"


def test_acpi_second_tables():
    """An extra MADT, MCFG and DMAR full of garbage: each named as a second table and ignored
    (one error each); QEMU's own are used, so CPUs, PCI and the IOMMU come up unchanged."""
    extra = {b"APIC": madt_garbage(), b"MCFG": mcfg_garbage(), b"DMAR": dmar_garbage()}
    r = acpi_boot(list(extra.values()))
    r.check_done(len(extra))
    check_acpi(r)
    for sig, table in extra.items():
        sig = sig.decode()
        recs = acpi_recs(r, sig)
        assert len(recs) == 2, f"{len(recs)} @acpi table={sig} records, expected QEMU's and ours"
        first, second = recs
        assert second.int("len") == len(table), f"{second.line()}: ours has {len(table)} bytes"
        errs = [line for line in r.lines if line.startswith("[") and "error:" in line and
                f"{sig} at {second['addr']}" in line]
        assert len(errs) == 1, f"{len(errs)} error lines naming the second {sig} table " \
            f"at {second['addr']}, expected 1"
        assert "ignored" in errs[0] and first["addr"] in errs[0], \
            f"{errs[0]!r} does not say it is ignored and {sig} at {first['addr']} is used"
    check_platform(r)


test_acpi_second_tables.cost = 2


def test_acpi_odd_tables():
    """Tables the hypervisor does not parse but lists: signatures with a blank, control and
    high bytes, and headers QEMU repairs (a bad checksum, a length past the file's end, a
    length below the header's). Each is one well-formed @acpi record with the file's length;
    nothing is an error."""
    tables = {
        "A?B?": acpi_table(b"A B ", b"\0" * 4),
        "???Z": acpi_table(b"\x01\xff\x7fZ", b"\0" * 4),
        "XCSM": acpi_table(b"XCSM", b"\x55" * 8, bad_checksum=True),
        "XLNG": acpi_table(b"XLNG", b"\0" * 8, length=36 + 4096),
        "XSHT": acpi_table(b"XSHT", b"\0" * 8, length=20),
    }
    r = acpi_boot(list(tables.values()))
    r.check_done(0)              # also: no malformed record
    check_acpi(r)
    for shown, table in tables.items():
        recs = acpi_recs(r, shown)
        assert len(recs) == 1, f"{len(recs)} @acpi table={shown} records, expected 1"
        assert recs[0].int("len") == len(table), f"{recs[0].line()}: the file has {len(table)}"
    check_platform(r)


test_acpi_odd_tables.cost = 2


def test_acpi_too_many_tables():
    """70 extra tables: the list stops at 64 with a warning, QEMU's tables (listed first) are
    all among them and the platform comes up."""
    extra = [acpi_table(b"X%03d" % i, b"") for i in range(70)]
    r = acpi_boot(extra)
    r.check_done(0)
    check_acpi(r)
    tables = r.records("acpi")[1:]           # after the RSDT itself
    assert len(tables) == ACPI_MAX_TABLES, f"{len(tables)} tables listed, expected " \
        f"{ACPI_MAX_TABLES}"
    warn = [line for line in r.lines if "warning:" in line and
            f"more than {ACPI_MAX_TABLES} tables" in line]
    assert len(warn) == 1, f"{len(warn)} warnings about more than {ACPI_MAX_TABLES} tables"
    ours = [t["table"] for t in tables if t["table"].startswith("X")]
    assert ours == [f"X{i:03d}" for i in range(len(ours))], \
        f"the extra tables kept are not the first ones in order: {ours[:5]}..."
    check_platform(r)


test_acpi_too_many_tables.cost = 2


# ---- guest modules ----------------------------------------------------------------------------

def truncated_images(good):
    """{name: (bytes, reason pattern)}: cuts test_guests.corrupt_images lacks (it has a cut in
    the ELF header and one in the data segment's bytes)."""
    phoff, = struct.unpack_from("<Q", good, 32)
    phentsize, phnum = struct.unpack_from("<HH", good, 54)
    text = next(p for p in phdrs(good) if p[1] == 1 and p[2] & 1)
    text_off, = struct.unpack_from("<Q", good, text[0] + 8)
    text_size, = struct.unpack_from("<Q", good, text[0] + 32)
    return {
        "empty": (b"", r"short|header"),
        "cutphdr": (good[:phoff + phentsize + phentsize // 2], r"past_the_end|program_header"),
        "nosegs": (good[:phoff + phentsize * phnum], r"past_the_end"),
        "cuttext": (good[:text_off + text_size // 2], r"past_the_end"),
    }


def test_truncated_modules():
    """Guest ELFs cut short (empty, inside the program headers, right after them, inside the
    text segment) next to a good guest: each rejected by name, the good one runs."""
    with open(elf("hello"), "rb") as f:
        good = f.read()
    with tempfile.TemporaryDirectory(prefix="courier-guests-") as tmp:
        mods, bad = [], []
        for name, (image, pattern) in truncated_images(good).items():
            path = os.path.join(tmp, f"{name}.elf")
            with open(path, "wb") as f:
                f.write(image)
            bad.append((len(mods), f"name={name} cpu=1", pattern, name))
            mods.append((path, f"name={name} cpu=1"))
        mods.append((elf("hello"), "name=good cpu=1"))
        r = boot("exit=idle", smp=2, modules=mods)
    r.check_done(len(bad))
    check_healthy(r)
    for index, cmdline, pattern, name in bad:
        check_rejected(r, index, cmdline, pattern, {name})
    assert texts(r, "good") == ["hello from good on cpu 1"], texts(r, "good")
    check_exited(r, "good")


test_truncated_modules.cost = 2


# ---- the hypervisor's command line ------------------------------------------------------------

def test_cmdline_garbage():
    """Words test_boot.test_bad_cmdline lacks: an overlong word, an overlong value, a number
    that overflows, non-ASCII bytes, an empty key, a key without its value. Each is one error
    naming it (quoting at most 64 characters), the defaults stay and the boot goes on."""
    long_word = "w" * 300
    long_value = "v" * 300
    bad = {
        # word in the command line: what its message must contain
        long_word: f"'{'w' * QUOTE_MAX}...' longer than {MAX_TOKEN - 1} characters",
        f"log={long_value}": f"'log={'v' * (QUOTE_MAX - 4)}...' longer than",
        "tick_hz=99999999999999999999999": "bad value '99999999999999999999999' for 'tick_hz'",
        "maxcpus=\u00e9\u00ff": "bad value '\u00e9\u00ff' for 'maxcpus'",
        "\u2603=1": "unknown option '\u2603'",
        "=5": "unknown option ''",
        "tick_hz": "option 'tick_hz' needs a value",
    }
    r = run(" ".join(bad) + " selftest=smp exit=idle", smp=2)
    r.check_done(len(bad))
    errs = [line for line in r.lines if "error: cmdline:" in line]
    for word, want in bad.items():
        found = [line for line in errs if want in line]
        assert len(found) == 1, f"{len(found)} error lines with {want[:80]!r} for the word " \
            f"{word[:40]!r}"
    assert len(errs) == len(bad), f"{len(errs)} cmdline errors, expected {len(bad)}"
    # No message quotes more than QUOTE_MAX characters of a word (the echo of the whole
    # command line at boot aside).
    flood = [line for line in error_lines(r, "w" * (QUOTE_MAX + 1), "command line '") +
             error_lines(r, "v" * (QUOTE_MAX + 1), "command line '")]
    assert not flood, f"a message quotes more than {QUOTE_MAX} characters: {flood[0][:100]!r}"
    # The defaults stayed: tick_hz 100 and maxcpus (every CPU) start both CPUs and tick.
    check_cpus(r, 2)
    check_ticks(r, 2)
    assert re.search(r"keeping default 100\b", "\n".join(errs)), \
        "the overflowing tick_hz does not say the default 100 is kept"


test_cmdline_garbage.cost = 2
