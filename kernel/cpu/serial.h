/* The 16550 UART console on COM1 (polled; 115200 8N1). */
#ifndef COURIER_KERNEL_CPU_SERIAL_H
#define COURIER_KERNEL_CPU_SERIAL_H

#include <stddef.h>

void serial_init(void);
/* Every byte, waiting for the UART as long as it takes (bounded per byte). */
void serial_write(const char *s, size_t n);
/* As many bytes as the UART takes now without waiting (its FIFO when empty); returns how many
 * of s it took (all of them when there is no UART). */
size_t serial_try_write(const char *s, size_t n);

#endif
