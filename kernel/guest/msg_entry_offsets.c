/*
 * The offsets and constants boot/msg_entry.asm reads, from the compiler: the Makefile compiles
 * this file to assembly and turns each OFFSET line into a NASM %define
 * ($(BUILD)/.../gen/msg_entry_offsets.inc). No number is kept by hand; a changed structure
 * changes the include. Not linked.
 */
#include <stddef.h>
#include "include/courier/abi.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/percpu.h"
#include "kernel/guest/binding.h"
#include "kernel/guest/guest.h"
#include "msi/route.h"

#define OFFSET(name, value) __asm__ volatile("\n# @@OFFSET " #name " %c0" :: "i"(value))

/* The widths boot/msg_entry.asm reads and writes these fields with. */
#define WIDTH(type, field, bytes) \
	_Static_assert(sizeof(((type *)0)->field) == (bytes), #type "." #field " is read as " #bytes)
WIDTH(struct percpu, index, 4);
WIDTH(struct binding, used, 1);
WIDTH(struct binding, port, 4);
WIDTH(struct binding, window_n, 4);
WIDTH(struct binding, window_tsc, 8);
WIDTH(struct binding, storm_held, 1);
WIDTH(struct guest, id, 4);
WIDTH(struct guest, state, 4);
WIDTH(struct guest, cpu, 4);
WIDTH(struct guest, need_resched, 1);
WIDTH(struct guest, wake_at_ns, 8);
WIDTH(struct guest, in_upcall, 1);
WIDTH(struct guest_port, received, 8);
WIDTH(struct courier_shared_info, upcall_mask, 1);
WIDTH(struct courier_shared_info, upcall_pending, 1);
WIDTH(struct apic_eoi_reg, x2apic, 1);

void msg_entry_offsets(void);
void msg_entry_offsets(void)
{
	OFFSET(PERCPU_CURRENT, offsetof(struct percpu, current));
	OFFSET(PERCPU_INDEX, offsetof(struct percpu, index));
	OFFSET(PERCPU_VECTORS, offsetof(struct percpu, vectors));
	OFFSET(VECTOR_SLOT_SIZE, sizeof(struct vector_slot));
	OFFSET(VECTOR_SLOT_FN, offsetof(struct vector_slot, fn));
	OFFSET(VECTOR_SLOT_ARG, offsetof(struct vector_slot, arg));
	OFFSET(ROUTE_ARG, offsetof(struct route, arg));
	OFFSET(BINDING_USED, offsetof(struct binding, used));
	OFFSET(BINDING_TARGET, offsetof(struct binding, target));
	OFFSET(BINDING_PORT, offsetof(struct binding, port));
	OFFSET(BINDING_WINDOW_N, offsetof(struct binding, window_n));
	OFFSET(BINDING_WINDOW_TSC, offsetof(struct binding, window_tsc));
	OFFSET(BINDING_STORM_HELD, offsetof(struct binding, storm_held));
	OFFSET(GUEST_ID, offsetof(struct guest, id));
	OFFSET(GUEST_STATE, offsetof(struct guest, state));
	OFFSET(GUEST_CPU, offsetof(struct guest, cpu));
	OFFSET(GUEST_NEED_RESCHED, offsetof(struct guest, need_resched));
	OFFSET(GUEST_WAKE_AT_NS, offsetof(struct guest, wake_at_ns));
	OFFSET(GUEST_SHARED, offsetof(struct guest, shared));
	OFFSET(GUEST_PORTS, offsetof(struct guest, ports));
	OFFSET(GUEST_PORT_SIZE, sizeof(struct guest_port));
	OFFSET(GUEST_PORT_RECEIVED, offsetof(struct guest_port, received));
	OFFSET(GUEST_UPCALL_ENTRY, offsetof(struct guest, upcall_entry));
	OFFSET(GUEST_UPCALL_STACK, offsetof(struct guest, upcall_stack));
	OFFSET(GUEST_IN_UPCALL, offsetof(struct guest, in_upcall));
	OFFSET(GUEST_RUNNING, GUEST_RUNNING);
	OFFSET(GUEST_RFLAGS_SET, GUEST_RFLAGS_SET);
	OFFSET(MAX_GUESTS, MAX_GUESTS);
	OFFSET(SHARED_EVT_PENDING, offsetof(struct courier_shared_info, evt_pending));
	OFFSET(SHARED_EVT_MASK, offsetof(struct courier_shared_info, evt_mask));
	OFFSET(SHARED_UPCALL_MASK, offsetof(struct courier_shared_info, upcall_mask));
	OFFSET(SHARED_UPCALL_PENDING, offsetof(struct courier_shared_info, upcall_pending));
	OFFSET(SHARED_FRAME_RIP, offsetof(struct courier_shared_info, frame.rip));
	OFFSET(SHARED_FRAME_RSP, offsetof(struct courier_shared_info, frame.rsp));
	OFFSET(SHARED_FRAME_RFLAGS, offsetof(struct courier_shared_info, frame.rflags));
	OFFSET(COURIER_EVT_PORTS, COURIER_EVT_PORTS);
	OFFSET(APIC_EOI_X2APIC, offsetof(struct apic_eoi_reg, x2apic));
	OFFSET(APIC_EOI_MMIO, offsetof(struct apic_eoi_reg, mmio));
	OFFSET(X2APIC_MSR_EOI, X2APIC_MSR_BASE + (APIC_EOI >> X2APIC_MSR_SHIFT));
}
