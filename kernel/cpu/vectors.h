/* Interrupt vector numbers the hypervisor reserves on every CPU. Device vectors are allocated
 * per CPU from [VEC_DYNAMIC_FIRST, VEC_DYNAMIC_LAST]; higher vectors have higher priority. */
#ifndef COURIER_KERNEL_CPU_VECTORS_H
#define COURIER_KERNEL_CPU_VECTORS_H

#define VEC_EXCEPTIONS          32      /* 0-31: architectural exceptions */
/* The lowest-priority vector: kernel/cpu/irq.c frees a device vector from it once every interrupt
 * that could still be pending on that vector has been taken. */
#define VEC_IRQ_DRAIN           0x2f
#define VEC_DYNAMIC_FIRST       0x30
#define VEC_DYNAMIC_LAST        0xdf
#define VEC_IOMMU_FAULT         0xe0    /* VT-d fault event, on the CPU chosen for it */
#define VEC_TIMER               0xf0
#define VEC_IPI_PING            0xf1
#define VEC_IPI_PONG            0xf2
#define VEC_IPI_WAKE            0xf3    /* wakes a CPU: smp_call work, and the scheduler's
                                         * kick (a guest queued or woken there, a move) */
#define VEC_AP_ONLINE           0xf4    /* an AP tells the boot CPU it is up (kernel/cpu/smp.c) */
#define VEC_APIC_ERROR          0xfe
#define VEC_SPURIOUS            0xff

#endif
