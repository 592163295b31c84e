"""The framebuffer console: the report on the screen as on the serial port.

Under OVMF (GRUB hands over the GOP framebuffer of QEMU's std VGA) the hypervisor runs with
exit=never; once its boot is over the test takes a screendump over QMP, reads the text back by
matching every 8x16 cell against the font the hypervisor was built with (scripts/pf2font on the
same PF2 file), and checks that the screen is a run of consecutive rows of the serial output, as
the console wraps it, holding its `@` records. Without a VGA card (SeaBIOS, -vga none) GRUB gives
no framebuffer: the hypervisor says so and boots as before.
"""
import importlib.machinery
import os
import re
import time

from courier import BUILD, ROOT, run, scenario

FONT = os.environ.get("FONT", "/usr/share/grub/ascii.pf2")
FIRST_LINE = "Courier hypervisor, multiboot2 magic"
SETTLE_S = 2.0          # after the last boot record: the console ring drains in well under this
LIT = 0x60              # a channel above this is a lit pixel (the console draws 0xc0 on 0)


def load_font():
    path = os.path.join(ROOT, "scripts", "pf2font")
    mod = importlib.machinery.SourceFileLoader("pf2font", path).load_module()
    width, height, glyphs = mod.load(FONT)
    return width, height, {tuple(rows): chr(code) for code, rows in glyphs.items()}


def read_ppm(path):
    """(width, height, RGB bytes) of a binary PPM (P6, maxval 255), as QEMU's screendump writes."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", f"not a P6 PPM: {fields}"
    return int(fields[1]), int(fields[2]), data[pos + 1:]


def decode_screen(path, font):
    """The screen's text rows; a cell no glyph matches reads as U+FFFD."""
    cw, ch, glyphs = font
    width, height, rgb = read_ppm(path)
    rows = []
    for r in range(height // ch):
        text = []
        for c in range(width // cw):
            bits = []
            for y in range(ch):
                at = ((r * ch + y) * width + c * cw) * 3
                byte = 0
                for x in range(cw):
                    if max(rgb[at + 3 * x:at + 3 * x + 3]) > LIT:
                        byte |= 0x80 >> x
                bits.append(byte)
            text.append(glyphs.get(tuple(bits), "\ufffd"))
        rows.append("".join(text).rstrip())
    return rows


def console_rows(console, cols):
    """The hypervisor's serial output wrapped as the console wraps it at cols characters."""
    text = console.replace("\r", "")
    start = text.find(FIRST_LINE)
    assert start >= 0, "no first line of the hypervisor on serial"
    text = text[text.rfind("\n", 0, start) + 1:]
    rows = []
    for line in text.split("\n"):
        line = line.expandtabs(8)
        rows += [line[i:i + cols] for i in range(0, max(len(line), 1), cols)]
    return [row.rstrip() for row in rows]


def screen_scenario():
    font = load_font()
    shot = os.path.join(BUILD, "tmp", f"fbcon-{os.getpid()}.ppm")
    taken = {}

    def on_record(boot, rec):
        # The last record before the guests would start: the boot is over, the ring drains.
        if rec.type == "frames" and rec.get("at") == "start" and not taken:
            time.sleep(SETTLE_S)
            boot.qmp.command("screendump", filename=shot)
            taken["shot"] = True
            boot.qmp.command("quit")

    r = run("selftest=smp log=debug exit=never", smp=4, efi=True, qmp=True, on_record=on_record,
            qemu_args=["-vga", "std"])
    assert taken, f"no screendump taken; console tail:\n{r.tail()}"
    assert r.grep(r"console: framebuffer \d+x\d+, 32 bits"), "no framebuffer console line"
    try:
        screen = decode_screen(shot, font)
    finally:
        if os.path.exists(shot):
            os.unlink(shot)
    bad = [row for row in screen if "\ufffd" in row]
    assert not bad, f"cells no glyph matches, first in: {bad[0]!r}"
    serial = console_rows(r.console, console_cols(r))
    while screen and not screen[-1]:
        screen.pop()
    n = len(screen)
    assert n >= 10, f"only {n} rows on screen"
    windows = [k for k in range(len(serial) - n + 1) if serial[k:k + n] == screen]
    assert windows, "the screen is not a run of serial rows; screen:\n" + "\n".join(screen)
    records = [row for row in screen if row.startswith("@")]
    assert len(records) >= 5, f"{len(records)} @ records on screen, expected a screenful"
    assert any(row.startswith("@frames ") for row in records), "@frames not on screen"
    print(f"fbcon: {n} rows, {len(records)} records on screen match serial rows "
          f"{windows[0]}..{windows[0] + n - 1}")


def console_cols(r):
    """Characters a row, from the console's own line about the framebuffer."""
    found = r.grep(r"console: framebuffer .*: \d+x\d+ characters")
    assert found, "no framebuffer console line"
    return int(re.search(r": (\d+)x\d+ characters", found[0]).group(1))


scenario(globals(), "efi_screen", screen_scenario, cost=10)


def test_no_framebuffer():
    """SeaBIOS without a VGA card: GRUB has no video mode, the boot says there is no
    framebuffer and runs as before on serial."""
    r = run("selftest=smp exit=idle", smp=2, qemu_args=["-vga", "none"])
    r.check_done(0)
    assert r.grep("console: no framebuffer from the boot loader"), \
        "no line saying there is no framebuffer"


test_no_framebuffer.cost = 2


def test_console_com2():
    """console=com2,57600: the lines before the command line was read stay on COM1 and are
    written again on COM2, which has everything from then on (the report ends there)."""
    com2 = os.path.join(BUILD, "tmp", f"com2-{os.getpid()}.log")
    os.makedirs(os.path.dirname(com2), exist_ok=True)
    try:
        r = run("console=com2,57600 selftest=smp exit=idle", smp=2,
                qemu_args=["-serial", f"file:{com2}"])
        with open(com2, errors="replace") as f:
            text = f.read().replace("\r", "")
    finally:
        if os.path.exists(com2):
            os.unlink(com2)
    assert r.exit_code == 33, f"QEMU exit {r.exit_code}, expected 33 (@done status=0)"
    assert FIRST_LINE in r.console, "COM1 lost the first line"
    assert "@done" not in r.console, "the report went on on COM1"
    lines = text.split("\n")
    assert FIRST_LINE in lines[0], f"COM2 starts with {lines[0]!r}, not the first line"
    assert any("console: serial on port 0x2f8 at 57600 baud" in line for line in lines), \
        "no line about the switch on COM2"
    assert "@done status=0" in lines, "COM2 has no @done status=0"


test_console_com2.cost = 2


# ---- the end of a run while the console drains ----------------------------------------------

# A console line of the hypervisor: "[   0.123456 c0] ..." (guests' lines too), or a record.
WHOLE_LINE = re.compile(r"\[\s*\d+\.\d{6} c\d+\] |@[a-z]")
FLOOD = "name=fl cpu=0 kind=console bytes=1000000000"


def check_whole_lines(r, guest):
    """Every line from the hypervisor's first one to @done is whole: a log line or a record,
    not empty (a take-over that gave up on the UART's lock starts a fresh line); the flooding
    guest's lines are all "x" (a cut line leaves a fragment or a longer one)."""
    lines = r.lines
    first = next((k for k, line in enumerate(lines) if FIRST_LINE in line), None)
    assert first is not None, "no first line of the hypervisor"
    done = max(k for k, line in enumerate(lines) if line.startswith("@done "))
    cut = [line for line in lines[first + 1:done] if not WHOLE_LINE.match(line)]
    assert not cut, f"{len(cut)} cut lines, first {cut[0]!r}"
    odd = [line for line in lines if f" {guest}| " in line and not line.endswith(f" {guest}| x")]
    assert not odd, f"{len(odd)} lines of {guest} not whole, first {odd[0]!r}"
    assert r.grep(f" {guest}\\| x$"), f"{guest} printed nothing"


def end_while_flooding(efi):
    """One CPU, a guest flooding the console: the run ends (exit=<ms>, from the tick) while that
    CPU is most likely inside a drain of the ring, sending to the UART or drawing the screen.
    The end takes the console over: it must finish the line in flight, not cut it (it used to
    wait for the UART's lock that the interrupted drain on the same CPU held, give up, start a
    fresh line and send the rest of the ring from where the drain was)."""
    from test_guests import elf
    args = ["-vga", "std"] if efi else ["-vga", "none"]
    r = run("exit=1500", smp=1, efi=efi, modules=[(elf("flood"), FLOOD)], qemu_args=args)
    r.check_done(0)
    if efi:
        assert r.grep(r"console: framebuffer \d+x\d+"), "no framebuffer console line"
    check_whole_lines(r, "fl")


def test_end_while_flooding():
    end_while_flooding(efi=False)


test_end_while_flooding.cost = 2


def test_efi_end_while_flooding():
    """The same with the framebuffer console drawing (OVMF's GOP)."""
    end_while_flooding(efi=True)


test_efi_end_while_flooding.cost = 10
