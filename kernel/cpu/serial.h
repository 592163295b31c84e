/* The 16550 UART console on COM1 (polled; 115200 8N1). */
#ifndef COURIER_KERNEL_CPU_SERIAL_H
#define COURIER_KERNEL_CPU_SERIAL_H

#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t n);

#endif
