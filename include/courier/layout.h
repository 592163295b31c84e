/*
 * Where a guest's memory is and the limits the hypervisor puts on a guest: the one copy of
 * these numbers for the hypervisor (kernel/guest), the guest runtime (its linker script
 * guests/lib/guest.ld.S) and tools/guest-emu.c. Not part of the ABI (include/courier/abi.h):
 * a guest uses the pointers of its start info, not these addresses (docs/guests.md, "Memory
 * layout"). Plain #defines only.
 *
 * The linker script is run through the C preprocessor with __ASSEMBLER__ defined, and ld takes
 * no integer suffixes: GUEST_U64(x) is x there and x as unsigned long long in C.
 */
#ifndef COURIER_LAYOUT_H
#define COURIER_LAYOUT_H

#ifdef __ASSEMBLER__
#define GUEST_U64(x)            x
#else
#define GUEST_U64(x)            x##ull
#endif

/* ---- guest-virtual addresses ------------------------------------------------------------- */
#define GUEST_START_INFO_VA     GUEST_U64(0x200000)     /* struct courier_start_info, read-only */
#define GUEST_SHARED_INFO_VA    GUEST_U64(0x201000)     /* struct courier_shared_info */
/* RAM (mem_start): the ELF image is linked here, then the heap, then the stack. RAM is also the
 * guest's DMA (IOVA) space: guest-virtual address = IOVA. */
#define GUEST_RAM_BASE          GUEST_U64(0x400000)
#define GUEST_BAR_BASE          GUEST_U64(0x100000000000)       /* its devices' BARs */
#define GUEST_DEV_STRIDE        GUEST_U64(0x40000000)   /* each device's BARs: 1 GiB apart */
#define GUEST_BAR_STRIDE        GUEST_U64(0x08000000)   /* each BAR: up to 128 MiB */
/* The end of the lower (user) half: an upcall frame's RIP and RSP must lie below it. */
#define GUEST_USER_VA_END       GUEST_U64(0x0000800000000000)

/* ---- RAM ----------------------------------------------------------------------------------- */
#define GUEST_DEFAULT_MEM_MIB   4                       /* without mem= on its command line */
#define GUEST_MAX_MEM_MIB       1024
/* The stack: the top GUEST_STACK_BYTES of RAM, not heap (heap_end = mem_end - this); its lowest
 * page is left unmapped as a guard. The initial RSP (stack_top) is GUEST_STACK_GAP bytes below
 * the end of RAM. */
#define GUEST_STACK_BYTES       GUEST_U64(0x10000)
#define GUEST_STACK_GAP         16

/* ---- console ------------------------------------------------------------------------------- */
#define GUEST_CONSOLE_LINE      160     /* characters per line; longer lines are split */
#define GUEST_CONSOLE_WRITE_MAX 0x10000 /* bytes per HC_CONSOLE_WRITE; more is COURIER_ERANGE */

/* ---- RFLAGS -------------------------------------------------------------------------------- */
/* What a guest may set in the RFLAGS it resumes with on HC_UPCALL_RETURN (SDM vol. 1 3.4.3):
 * the status flags CF PF AF ZF SF OF, TF and DF (bits 0 2 4 6 7 8 10 11). */
#define GUEST_RFLAGS_USER_MASK  GUEST_U64(0xdd5)
/* Always set while a guest runs: IF (bit 9) and the reserved bit 1. */
#define GUEST_RFLAGS_SET        GUEST_U64(0x202)

#endif
