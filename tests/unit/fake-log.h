/* Host fake of kernel/lib/log.c: captures log lines and report records so tests can assert them. */
#ifndef COURIER_TESTS_UNIT_FAKE_LOG_H
#define COURIER_TESTS_UNIT_FAKE_LOG_H

#include <stddef.h>
#include "kernel/lib/log.h"

/* Everything logged since the last reset, one line each, "E: msg\n" / "@type ...\n". */
extern char fake_log_buf[65536];
extern unsigned fake_log_errors;
void fake_log_reset(void);
/* True when some captured line contains needle. */
int fake_log_contains(const char *needle);

#endif
