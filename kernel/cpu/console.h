/*
 * The console the log writes to: a UART (COM1, or the port console= names) and the framebuffer
 * the boot loader set up, if any (kernel/cpu/console_fb.h): every byte goes to both, the UART
 * and the screen's text under one lock, the drawing outside it. Until console_async() every
 * line goes to the UART at once, under that lock. From then on (the guests run) a line is
 * copied into a ring, whole and under a short lock, and the ring goes to the UART from
 * console_drain(), which the tick and idle loops call with interrupts on: no log line, record
 * or guest output keeps interrupts off for the time a UART needs. A line that finds the ring full is dropped and counted, and the
 * count is reported (`@log dropped=`). A CPU reporting a fatal error, and the end of a run,
 * write synchronously again, after what the ring holds (console_take_over).
 */
#ifndef COURIER_KERNEL_CPU_CONSOLE_H
#define COURIER_KERNEL_CPU_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/firmware/multiboot2.h"

#define CONSOLE_RING_BYTES      (256 * 1024)

/* Once GS points at the boot CPU's per-CPU area: the UART, then the log's console. */
void console_init(void);
/* The boot settles the sinks, once each, before the other CPUs start; the first 8 KiB the
 * console wrote before are shown again on each. The UART at I/O port `port` (0: none) at
 * `baud`, unless that is COM1 at 115200 (already in use): */
void console_set_serial(uint16_t port, uint32_t baud);
/* The framebuffer the boot information describes, if it is usable (logged either way). */
void console_set_fb(const struct mb2_info *mb);
/* Lines go through the ring from now on. */
void console_async(void);
/* The end of a run (or a fatal error) on this CPU: drains stop at their next chunk; it takes
 * the UART (waiting at most a chunk, bounded for a wedged CPU) and keeps it, so stopping the
 * other CPUs cannot leave half a line behind and the line in flight is finished; from then on
 * every line of this CPU is written at once, after what the ring holds, and the other CPUs'
 * lines wait in the ring. */
void console_take_over(void);
/* Send what the ring holds, up to max bytes and only as fast as the UART takes it without
 * waiting; one CPU at a time (others return at once). Returns whether bytes are left. */
bool console_drain(size_t max);
/*
 * No CPU draws on the screen while held: PCI enumeration turns the decoding of each device's
 * BARs off while it sizes them, the framebuffer's among them, and another CPU draining the
 * console must not write there meanwhile (on hardware the pixels go nowhere; QEMU's TCG was
 * seen to crash on such writes racing the memory map's change). Returns once no drawing is in
 * progress. The screen catches up when let go.
 */
void console_hold_screen(bool on);
/* After console_take_over and stopping the other CPUs (the end of a run, a fatal error): draw
 * on the screen what it does not show yet (the screen is drawn at most every 100 ms
 * otherwise), even if a stopped CPU was drawing. */
void console_show_all(void);
/* After console_take_over: `@log dropped=` if lines were dropped since the last report. */
void console_report_dropped(void);
/* Room in the ring now, for producers that would rather wait than lose a line. */
size_t console_room(void);

#endif
