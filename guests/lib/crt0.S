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
 * RSP = the upcall stack registered with HC_UPCALL_SET; the interrupted context is saved in
 * shared_info->frame and upcalls are masked until HC_UPCALL_RETURN.
 */
courier_upcall_entry:
	.cfi_startproc
	.cfi_undefined rip
	xor %ebp, %ebp
	and $-16, %rsp
	cld
	call courier_upcall
	ud2
	.cfi_endproc
	.size courier_upcall_entry, . - courier_upcall_entry

	.section .note.GNU-stack, "", @progbits
