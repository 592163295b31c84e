/*
 * The I/O APICs' pins through the interrupt-remapping table (VT-d spec 5.1.5.1): at boot every
 * redirection entry of every I/O APIC the MADT lists becomes a masked remappable-format entry
 * naming an IRTE of its own (one naturally aligned block per I/O APIC, pin p at base + p) on
 * the unit whose DRHD lists the I/O APIC, with the I/O APIC's requester id from that device
 * scope (SVT = 1). With CFI clear, compatibility-format entries would be blocked anyway; this
 * way a legacy pin is routed like a device message. QEMU's I/O APIC sends no requester id
 * (its SID check is skipped), so only real hardware exercises that part.
 */
#ifndef COURIER_IOMMU_IR_IOAPIC_H
#define COURIER_IOMMU_IR_IOAPIC_H

#include <stdbool.h>
#include "kernel/lib/compiler.h"
#include "kernel/cpu/percpu.h"

struct acpi_madt;

/* Boot, after ir_init. One `@ioapic` record per I/O APIC. */
void ir_ioapic_init(const struct acpi_madt *madt);

/* Send GSI gsi to CPU cpu, which runs fn(frame, arg): a vector there, the IRTE, the entry
 * unmasked (vector = the IRTE's, for EOI broadcasts of level-triggered pins). E_NOENT (no
 * remapped I/O APIC has the GSI), E_BUSY (already routed). */
int ir_ioapic_route(unsigned gsi, unsigned cpu, vector_handler_t fn, void *arg, bool level,
		    bool active_low) __must_check;
/* Mask the pin, clear its IRTE and give its vector back. */
int ir_ioapic_unroute(unsigned gsi);

#endif
