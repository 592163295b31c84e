/* Built-in self-tests chosen with selftest= on the command line; they report `@` records. */
#ifndef COURIER_KERNEL_SELFTEST_H
#define COURIER_KERNEL_SELFTEST_H

void selftest_smp(void);

#endif
