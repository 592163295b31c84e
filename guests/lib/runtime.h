/* Internal to the guest runtime (guests/lib): what its files share. */
#ifndef COURIER_GUEST_RUNTIME_H
#define COURIER_GUEST_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <courier/abi.h>

/* The C side of the entry points in crt0.S. */
__attribute__((noreturn)) void courier_start(const struct courier_start_info *si);
struct upcall_saved;
void courier_upcall(const struct upcall_saved *saved);
__attribute__((noreturn)) void courier_upcall_failed(int64_t ret);
void courier_upcall_entry(void);

/* Splits start_info->cmdline into main()'s argv (args.c). */
void args_init(int *argc, char ***argv);
/* Sets the program break to start_info->heap_start (syscalls.c). */
void heap_init(void);

#endif
