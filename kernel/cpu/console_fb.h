/*
 * The framebuffer sink of the console (kernel/cpu/console.c, its only user). The screen's text
 * gets the same bytes as the UART, in the same order: console.c writes both under its UART
 * lock, which therefore guards the text. Drawing the text into the pixels is the slow part
 * (tens of ms for a screen after a scroll under QEMU's TCG): it happens in console_fb_render,
 * outside that lock and under the framebuffer's own, which is only ever tried (a CPU that finds
 * another drawing leaves it to that one), and it takes the text's lock only to copy one row at
 * a time. So nobody waits for a drawing to send a line, and a drawing never holds up the UART.
 */
#ifndef COURIER_KERNEL_CPU_CONSOLE_FB_H
#define COURIER_KERNEL_CPU_CONSOLE_FB_H

#include <stdbool.h>
#include <stddef.h>
#include "kernel/arch/spinlock.h"
#include "kernel/firmware/multiboot2.h"

/* Maps and clears the framebuffer the boot information describes and shows early (what the
 * console wrote before), if it is usable; logs why not otherwise (no tag, EGA text, odd pixel
 * format, absurd size). */
bool console_fb_init(const struct mb2_info *mb, const char *early, size_t n);
/* Puts s on the screen's text (nothing before console_fb_init succeeded); under the text's
 * lock. */
void console_fb_write(const char *s, size_t n);
/* Draws what changed, if the last drawing is 100 ms old or `now`, unless another CPU (or this
 * one, interrupted) is drawing or the screen is held. `text` is the lock console_fb_write is
 * called under (taken with interrupts off for each row's copy); NULL when the caller holds it
 * for good. */
void console_fb_render(bool now, struct spinlock *text);
/* Once the console is taken over and the other CPUs are stopped: draws what changed without the
 * framebuffer's lock, which a stopped CPU, or this one's interrupted drawing, may hold for ever
 * (nothing while the screen is held). */
void console_fb_render_final(void);
/* Hold the drawing (the text still changes; it is drawn once let go): console_hold_screen.
 * Returns, when on, once no drawing is in progress. */
void console_fb_hold(bool on, struct spinlock *text);

#endif
