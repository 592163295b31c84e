#include <stdbool.h>
#include "kernel/cpu/serial.h"
#include "kernel/lib/compiler.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/io.h"

/* 16550 registers (offsets from the base port) and bits. */
#define UART_THR        0       /* transmit holding (DLAB=0) */
#define UART_DLL        0       /* divisor low (DLAB=1) */
#define UART_IER        1
#define UART_DLM        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_SCR        7
#define LCR_8N1         0x03
#define LCR_DLAB        BIT(7)
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS     0x03
#define LSR_THRE        BIT(5)
#define UART_FIFO_BYTES 16      /* FCR enabled: THRE set means the whole FIFO is free */
#define UART_CLOCK      115200
/* A missing or stuck UART must not hang the hypervisor: give up on a byte after this. */
#define TX_SPIN_LIMIT   1000000

static bool present;
static uint16_t base;

bool serial_init(uint16_t port, uint32_t baud)
{
	uint32_t divisor = baud ? UART_CLOCK / baud : 0;

	present = false;
	base = port;
	if (!port || !divisor || divisor > 0xffff)
		return false;
	outb(base + UART_SCR, 0x5a);
	if (inb(base + UART_SCR) != 0x5a)
		return false;
	outb(base + UART_IER, 0);
	outb(base + UART_LCR, LCR_DLAB);
	outb(base + UART_DLL, (uint8_t)divisor);
	outb(base + UART_DLM, (uint8_t)(divisor >> 8));
	outb(base + UART_LCR, LCR_8N1);
	outb(base + UART_FCR, FCR_ENABLE_CLEAR);
	outb(base + UART_MCR, MCR_DTR_RTS);
	present = true;
	return true;
}

static void putc_raw(char c)
{
	for (unsigned spin = 0; spin < TX_SPIN_LIMIT; spin++) {
		if (inb(base + UART_LSR) & LSR_THRE) {
			outb(base + UART_THR, (uint8_t)c);
			return;
		}
		cpu_relax();
	}
}

void serial_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			putc_raw('\r');
		putc_raw(s[i]);
	}
}

size_t serial_try_write(const char *s, size_t n)
{
	size_t i = 0;

	if (!present)
		return n;
	if (!(inb(base + UART_LSR) & LSR_THRE))
		return 0;
	for (unsigned room = UART_FIFO_BYTES; i < n && room >= 2; i++, room--) {
		if (s[i] == '\n') {
			outb(base + UART_THR, '\r');
			room--;
		}
		outb(base + UART_THR, (uint8_t)s[i]);
	}
	return i;
}
