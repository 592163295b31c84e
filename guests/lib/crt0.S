/*
 * The guest's two entry points from the hypervisor (docs/abi.md). Neither returns: both call
 * into C, which ends with HC_EXIT or HC_UPCALL_RETURN.
 */
	.section .text.start, "ax", @progbits
	.globl _start
	.type _start, @function
/* RDI = the start-info page, RSP = start_info.stack_top; bss is already zero. */
_start:
	.cfi_startproc
	.cfi_undefined rip
	xor %ebp, %ebp
	and $-16, %rsp
	cld
	call courier_start
	ud2
	.cfi_endproc
	.size _start, . - _start

	.text
	.globl courier_upcall_entry
	.type courier_upcall_entry, @function
/*
 * Entered with RSP = the upcall stack's top - 8 (16-byte aligned as if called), RIP, RSP and
 * RFLAGS of the interrupted code in shared_info->frame, upcalls masked, and every other
 * register as the interrupted code left it (docs/abi.md, "Upcalls"). The C code keeps the
 * callee-saved registers; the others are saved here, and put back before HC_UPCALL_RETURN,
 * except RAX, RCX and R11 (the call's number and what `syscall` takes), which
 * courier_upcall(saved) copies into shared_info->frame for the hypervisor to restore.
 */
#define HC_UPCALL_RETURN_NR 6  /* include/courier/abi.h's HC_UPCALL_RETURN (events.c checks) */
courier_upcall_entry:
	.cfi_startproc
	.cfi_undefined rip
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11               /* nine pushes: RSP is 16-byte aligned again for the call */
	mov %rsp, %rdi
	call courier_upcall
	add $8, %rsp            /* R11, RCX and RAX: the hypervisor restores them from the frame */
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	add $16, %rsp
	mov $HC_UPCALL_RETURN_NR, %eax
	syscall
	mov %rax, %rdi          /* it returns only on failure */
	call courier_upcall_failed
	ud2
	.cfi_endproc
	.size courier_upcall_entry, . - courier_upcall_entry

	.section .note.GNU-stack, "", @progbits
