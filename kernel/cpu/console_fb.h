/*
 * The framebuffer sink of the console (kernel/cpu/console.c, its only user): it gets the same
 * bytes as the UART, at the same time and under the same lock, so the screen shows what the
 * serial port shows. Drawing is the slow part: it happens in console_fb_render, which the
 * console calls after each line and from each drain but which draws at most every 100 ms unless
 * told to draw now.
 */
#ifndef COURIER_KERNEL_CPU_CONSOLE_FB_H
#define COURIER_KERNEL_CPU_CONSOLE_FB_H

#include <stdbool.h>
#include <stddef.h>
#include "kernel/firmware/multiboot2.h"

/* Maps and clears the framebuffer the boot information describes and shows early (what the
 * console wrote before), if it is usable; logs why not otherwise (no tag, EGA text, odd pixel
 * format, absurd size). */
bool console_fb_init(const struct mb2_info *mb, const char *early, size_t n);
/* Puts s on the screen's text (nothing before console_fb_init succeeded). */
void console_fb_write(const char *s, size_t n);
/* Draws what changed, if the last drawing is 100 ms old or `now`; nothing while held. */
void console_fb_render(bool now);
/* Hold the drawing (the text still changes; it is drawn once let go): console_hold_screen. */
void console_fb_hold(bool on);

#endif
