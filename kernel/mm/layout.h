/*
 * The hypervisor's virtual address space. Shared by C and NASM (only #define lines).
 *
 *   0x0000000000000000  identity: only the AP trampoline page stays mapped after boot
 *   0xffff800000000000  direct map of physical memory (RW, NX, write-back)
 *   0xffffc00000000000  MMIO window: mmio_map() hands out uncached mappings here
 *   0xffffe00000000000  per-CPU stacks, each with an unmapped guard page below it
 *   0xffffffff80000000  the hypervisor image (kernel code model: top 2 GiB)
 */
#ifndef COURIER_KERNEL_MM_LAYOUT_H
#define COURIER_KERNEL_MM_LAYOUT_H

#define KERNEL_VBASE    0xffffffff80000000
#define KERNEL_PHYS     0x200000
#define DIRECT_BASE     0xffff800000000000
#define MMIO_BASE       0xffffc00000000000
#define MMIO_SIZE       0x0000010000000000
#define STACK_BASE      0xffffe00000000000
/* Each CPU's stack area: slots of STACK_SLOT bytes, each slot a guard page then the stack. */
#define STACK_SLOT      0x10000
#define KSTACK_SIZE     0x8000
#define IST_STACK_SIZE  0x2000
#define BOOT_STACK_SIZE 0x4000

#define PAGE_SIZE       0x1000
#define PAGE_SHIFT      12
#define LARGE_PAGE_SIZE 0x200000

#endif
