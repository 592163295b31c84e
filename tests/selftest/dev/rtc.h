/* The CMOS real-time clock's periodic interrupt (MC146818), a legacy pin for self-tests. */
#ifndef COURIER_TESTS_SELFTEST_DEV_RTC_H
#define COURIER_TESTS_SELFTEST_DEV_RTC_H

#define RTC_GSI                 8       /* its I/O APIC input on PC platforms */

/* Periodic interrupts at 1024 Hz on (start) and off (stop, which restores rates and enables
 * as start found them). */
void rtc_periodic_start(void);
void rtc_periodic_stop(void);
/* From the handler: read register C, so the next period raises the pin again. */
void rtc_ack(void);

#endif
