; Interrupt and exception entry stubs. Each of the 256 vectors pushes a uniform frame
; (kernel/cpu/trap.h: struct trap_frame) and calls trap_entry(frame). The CPU pushes an error code
; only for vectors 8, 10-14, 17, 21, 29 and 30 (SDM vol. 3 6.13); the other stubs push 0 so the
; frame has one shape.
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
