; Interrupt and exception entry stubs. Each of the 256 vectors pushes a uniform frame
; (kernel/cpu/trap.h: struct trap_frame) and calls trap_entry(frame). The CPU pushes an error code
; only for vectors 8, 10-14, 17, 21, 29 and 30 (SDM vol. 3 6.13); the other stubs push 0 so the
; frame has one shape.
;
; NMI, #DF and #MC (the vectors with IST stacks) go to isr_paranoid: they may come at any
; instruction, also between a SWAPGS and the IRETQ or SYSRET that follows it, where the frame's
; CS says ring 0 but the GS base is the guest's; they look at the GS base itself.
;
; Device vectors go to isr_device (boot/msg_entry.asm) first: the common case of a bound
; message from ring 3 is done there without the whole frame; everything else comes back here
; (isr_whole_frame).

%include "frame.inc"

extern trap_entry, isr_device
%ifdef BENCH
extern bench_exit
%endif
global isr_stub_table, trap_exit, trap_enter_frame, isr_whole_frame

%define KERNEL_CS 0x08
%define VEC_DYNAMIC_FIRST 0x30  ; kernel/cpu/vectors.h (trap.c checks)
%define VEC_DYNAMIC_LAST  0xdf
%define IST_VECTOR(v)     ((v) == 2 || (v) == 8 || (v) == 18)   ; trap.c checks
%define IST_PERCPU_SLOT   16            ; kernel/cpu/trap.h (trap.c checks)
%define MSR_GS_BASE       0xc0000101
%define TRAP_FRAME_SIZE   (22 * 8)      ; struct trap_frame (trap.h checks)

%macro STUB 1
align 16
isr_stub_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push 0
%endif
	push %1
%if (%1 >= VEC_DYNAMIC_FIRST) && (%1 <= VEC_DYNAMIC_LAST)
	jmp isr_device
%elif IST_VECTOR(%1)
	jmp isr_paranoid
%else
	jmp isr_common
%endif
%endmacro

section .text
%assign i 0
%rep 256
	STUB i
%assign i i + 1
%endrep

isr_common:
	; From ring 3 the GS base is the guest's: swap in the per-CPU one (and back on exit).
	test qword [rsp + 24], 3
	jz isr_whole_frame
	swapgs
; The whole frame, with the GS base the hypervisor's (boot/msg_entry.asm comes here too).
isr_whole_frame:
	PUSH_GPRS
	BENCH_STAMP [rsp + 15 * 8], 0
	cld
	mov rdi, rsp
	; A frame-pointer link to the interrupted code, so backtraces cross the trap.
	push qword [rsp + 17 * 8]
	push rbp
	mov rbp, rsp
	call trap_entry
	add rsp, 16
; Restore the frame at RSP and return through it (to ring 3 or to the interrupted kernel code).
trap_exit:
%ifdef BENCH
	test qword [rsp + 15 * 8 + 24], 3
	jz .no_bench
	lea rdi, [rsp + 17 * 8]                 ; the CPU's frame
	call bench_exit
.no_bench:
%endif
	POP_GPRS
	test qword [rsp + 24], 3
	jz .kernel_exit
	swapgs
.kernel_exit:
	add rsp, 16
	iretq

; The IST vectors: the frame's CS cannot say which GS base is loaded (see the top), the GS base
; MSR can. The stack this vector switched to has its CPU's percpu address just above the
; frame (kernel/cpu/gdt.c): swap when the GS base is not it, and swap back on the way out.
isr_paranoid:
	PUSH_GPRS
	cld
	mov ecx, MSR_GS_BASE
	rdmsr
	shl rdx, 32
	or rax, rdx
	xor ebx, ebx                            ; callee-saved: whether to swap back
	cmp rax, [rsp + TRAP_FRAME_SIZE]
	je .gs_ok
	swapgs
	inc ebx
.gs_ok:
	mov rdi, rsp
	push qword [rsp + 17 * 8]
	push rbp
	mov rbp, rsp
	call trap_entry
	add rsp, 16
	test ebx, ebx
	jz .no_swap
	swapgs
.no_swap:
	POP_GPRS
	add rsp, 16
	iretq

; trap_enter_frame(frame): leave the current stack for the frame's context (entering a guest).
trap_enter_frame:
	mov rsp, rdi
	jmp trap_exit

section .rodata
align 8
isr_stub_table:
%assign i 0
%rep 256
	dq isr_stub_%[i]
%assign i i + 1
%endrep
