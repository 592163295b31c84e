/* printf-style formatting into a buffer. Pure: used by the console and by host tests. */
#ifndef COURIER_KERNEL_LIB_FMT_H
#define COURIER_KERNEL_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include "kernel/lib/compiler.h"

/*
 * Supports %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#', width and precision
 * (also as '*'), length modifiers hh h l ll z t j. Always NUL-terminates when size > 0 and
 * returns the length the full output would have had (like C99 vsnprintf). An unknown
 * conversion is copied through literally so a bad format is visible, never undefined.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
