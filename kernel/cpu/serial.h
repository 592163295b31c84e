/* The 16550 UART console: COM1 unless console= says otherwise (polled; 8N1). */
#ifndef COURIER_KERNEL_CPU_SERIAL_H
#define COURIER_KERNEL_CPU_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1             0x3f8
#define SERIAL_BAUD_DEFAULT     115200

/* The UART at I/O port `port` (0: none) at `baud` (a divisor of 115200), if one answers there;
 * returns whether it did. Until it is called again everything goes there. */
bool serial_init(uint16_t port, uint32_t baud);
/* Every byte, waiting for the UART as long as it takes (bounded per byte). */
void serial_write(const char *s, size_t n);
/* As many bytes as the UART takes now without waiting (its FIFO when empty); returns how many
 * of s it took (all of them when there is no UART). */
size_t serial_try_write(const char *s, size_t n);

#endif
