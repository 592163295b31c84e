/* Built-in self-tests chosen with selftest= on the command line; they report `@` records. */
#ifndef COURIER_TESTS_SELFTEST_SELFTEST_H
#define COURIER_TESTS_SELFTEST_SELFTEST_H

/* selftest=smp: every CPU online, every ordered pair of CPUs exchanges an IPI (smp.c). */
void selftest_smp(void);
/* selftest=dma: DMA through the IOMMU with every edu device (dma.c). */
void selftest_dma(void);
/* selftest=msi: every edu, e1000e and nec-usb-xhci message through the route table, the I/O
 * APIC's RTC pin, source-id checks (msi.c). */
void selftest_msi(void);

#endif
