#include "tests/selftest/dev/rtc.h"
#include <stdint.h>
#include "kernel/arch/io.h"
#include "kernel/lib/compiler.h"

/* MC146818 registers through the CMOS index/data ports. */
#define RTC_INDEX               0x70
#define RTC_DATA                0x71
#define  RTC_NMI_OFF            0x80    /* index bit 7: NMIs stay masked */
#define RTC_REG_A               0x0a
#define  RTC_RATE_1024HZ        0x06
#define  RTC_RATE_MASK          0x0f
#define RTC_REG_B               0x0b
#define  RTC_PIE                BIT(6)  /* periodic interrupt enable */
#define RTC_REG_C               0x0c    /* flags; reading clears them */

static uint8_t saved_a, saved_b;

static uint8_t cmos_read(uint8_t reg)
{
	outb(RTC_INDEX, RTC_NMI_OFF | reg);
	return inb(RTC_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(RTC_INDEX, RTC_NMI_OFF | reg);
	outb(RTC_DATA, v);
}

void rtc_ack(void) { (void)cmos_read(RTC_REG_C); }

void rtc_periodic_start(void)
{
	saved_a = cmos_read(RTC_REG_A);
	saved_b = cmos_read(RTC_REG_B);
	cmos_write(RTC_REG_A, (uint8_t)((saved_a & ~RTC_RATE_MASK) | RTC_RATE_1024HZ));
	rtc_ack();
	cmos_write(RTC_REG_B, saved_b | RTC_PIE);
}

void rtc_periodic_stop(void)
{
	cmos_write(RTC_REG_B, saved_b & ~RTC_PIE);
	rtc_ack();
	cmos_write(RTC_REG_A, saved_a);
	cmos_write(RTC_REG_B, saved_b);
}
