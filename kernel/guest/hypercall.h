/* The hypercall entry (boot/syscall.asm, kernel/guest/hypercall.c). */
#ifndef COURIER_KERNEL_GUEST_HYPERCALL_H
#define COURIER_KERNEL_GUEST_HYPERCALL_H

struct trap_frame;

/* Every CPU: SYSCALL enabled, entering boot/syscall.asm with interrupts off. */
void hypercall_cpu_init(void);
void hypercall_entry(struct trap_frame *f);
/* boot/syscall.asm: HC_UPCALL_RETURN's fast path; 0 when the guest resumes from *out. */
struct upcall_resume;
int hypercall_upcall_return(struct upcall_resume *out);

#endif
