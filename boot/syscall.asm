; The hypercall entry: guests execute `syscall` (SDM vol. 2, SYSCALL): RCX = return RIP,
; R11 = RFLAGS, no stack switch. This builds the same frame as an interrupt from ring 3
; (kernel/cpu/trap.h: struct trap_frame) on the CPU's kernel stack, calls hypercall_entry(frame),
; and returns through the common exit path with IRETQ, which (unlike SYSRET) cannot be tricked
; by a non-canonical return address.

%define PERCPU_KSTACK_TOP  8
%define PERCPU_USER_RSP    16
%define SEL_UDATA_RPL3     (0x20 | 3)
%define SEL_UCODE_RPL3     (0x28 | 3)
%define VEC_HYPERCALL      0x100           ; not an IDT vector: marks the frame as a hypercall

%include "frame.inc"

extern hypercall_entry
extern trap_exit
global syscall_entry

section .text
syscall_entry:
	swapgs
	mov [gs:PERCPU_USER_RSP], rsp
	mov rsp, [gs:PERCPU_KSTACK_TOP]
	push SEL_UDATA_RPL3
	push qword [gs:PERCPU_USER_RSP]
	push r11
	push SEL_UCODE_RPL3
	push rcx
	push 0
	push VEC_HYPERCALL
	PUSH_GPRS
	BENCH_STAMP [rsp + 14 * 8], VEC_HYPERCALL
	cld
	xor ebp, ebp                    ; backtraces stop here
	mov rdi, rsp
	call hypercall_entry
	jmp trap_exit
