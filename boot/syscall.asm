; The hypercall entry: guests execute `syscall` (SDM vol. 2, SYSCALL): RCX = return RIP,
; R11 = RFLAGS, no stack switch, interrupts off (MSR_FMASK).
;
; Two ways through. The fast one, for the hypercalls that need neither the guest's saved
; context nor a way back other than straight to it (kernel/guest/hypercall.c: hypercall_fast,
; HC_TIME, HC_EVT_SEND, an unknown number): saves only what the C handler may
; change of what the guest keeps (docs/abi.md: every register but RAX, RCX and R11), calls it
; with the arguments in place, and returns with SYSRET. The handler says when the way back
; needs more after all (an event for this guest, a switch): then the whole frame is built and
; the common path takes over. HC_UPCALL_RETURN has a path of its own (below). Every other
; hypercall builds the same frame as an interrupt from ring 3 (kernel/cpu/trap.h: struct
; trap_frame) on the CPU's kernel stack, calls hypercall_entry(frame), and returns with IRETQ.

%define PERCPU_KSTACK_TOP  8
%define PERCPU_USER_RSP    16
%define SEL_UDATA_RPL3     (0x20 | 3)
%define SEL_UCODE_RPL3     (0x28 | 3)
%define VEC_HYPERCALL      0x100           ; not an IDT vector: marks the frame as a hypercall
%define HC_COUNT           21              ; include/courier/abi.h (hypercall.c checks)
%define HC_UPCALL_RETURN   6               ; include/courier/abi.h (hypercall.c checks)
%define UPCALL_RESUME_SIZE (8 * 8)         ; struct upcall_resume (kernel/guest/hypercall.c)
%define USER_HALF_BIT      47              ; a return RIP with it set is not canonical for SYSRET

%include "frame.inc"

; struct trap_frame as an interrupt from ring 3 would leave it, from SYSCALL's registers.
%macro PUSH_HYPERCALL_FRAME 0
	push SEL_UDATA_RPL3
	push qword [gs:PERCPU_USER_RSP]
	push r11
	push SEL_UCODE_RPL3
	push rcx
	push 0
	push VEC_HYPERCALL
	PUSH_GPRS
%endmacro

; What a fast path keeps of the guest's: SYSCALL's RCX and R11, and what the C convention may
; change of the registers the ABI preserves. Popped in the reverse order.
%macro PUSH_FAST_SAVED 0
	push rcx
	push r11
	push rdi
	push rsi
	push rdx
	push r8
	push r9
	push r10
%endmacro

extern hypercall_entry, hypercall_fast, hypercall_upcall_return
extern sched_return_to_user
extern trap_exit
%ifdef BENCH
extern bench_exit_fast
%endif
global syscall_entry

section .text
syscall_entry:
	swapgs
	mov [gs:PERCPU_USER_RSP], rsp
	mov rsp, [gs:PERCPU_KSTACK_TOP]
	; SYSRET to a non-canonical RIP faults in ring 0 on the guest's stack (the SYSRET erratum
	; of Intel CPUs), and so would IRETQ: a `syscall` at the very end of the user half goes
	; the full way, where hypercall_entry stops the guest instead of returning there.
	bt rcx, USER_HALF_BIT
	jc .full
	cmp rax, HC_UPCALL_RETURN
	je .upcall_return
	cmp rax, HC_COUNT
	jae .unknown
	cmp qword [hypercall_fast + rax * 8], 0
	je .full
.fast:
	PUSH_FAST_SAVED
%ifdef BENCH
	; The entry's stamp, as BENCH_STAMP (frame.inc) does on the full path.
	push rax
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov [gs:PERCPU_BENCH_ENTRY], rax
	mov rax, [rsp]
	add rax, VEC_HYPERCALL
	mov [gs:PERCPU_BENCH_WHAT], rax
	mov rdx, [rsp + 4 * 8]                  ; the third argument again
	pop rax
%endif
	mov rcx, r10                            ; the fourth argument, in the C convention
	call [hypercall_fast + rax * 8]         ; RAX = the result, RDX != 0: the frame is needed
%ifdef BENCH
	; Only a call that leaves by SYSRET is counted here; one that needs the frame keeps its
	; entry stamp for trap_exit's bench_exit.
	test rdx, rdx
	jnz .bench_not_fast
	push rax
	push rdx
	call bench_exit_fast
	pop rdx
	pop rax
.bench_not_fast:
%endif
	pop r10
	pop r9
	pop r8
	test rdx, rdx
	pop rdx
	pop rsi
	pop rdi
	pop r11
	pop rcx
	jnz .resume_full
	mov rsp, [gs:PERCPU_USER_RSP]
	swapgs
	o64 sysret

.unknown:
	mov eax, HC_COUNT                       ; every unknown number shares the last entry
	jmp .fast

.full:
	PUSH_HYPERCALL_FRAME
	BENCH_STAMP [rsp + 14 * 8], VEC_HYPERCALL
	cld
	xor ebp, ebp                    ; backtraces stop here
	mov rdi, rsp
	call hypercall_entry
	jmp trap_exit

; A fast hypercall is done (RAX = its result) but the way back needs the frame: every register
; is the guest's again but RAX, as the full path would have it after the call.
.resume_full:
	PUSH_HYPERCALL_FRAME
	cld
	xor ebp, ebp                    ; backtraces stop here
	mov rdi, rsp
	call sched_return_to_user              ; the way back, with the frame
	jmp trap_exit

; HC_UPCALL_RETURN, the end of every upcall: the guest has put back every register but RAX,
; RCX and R11 (docs/abi.md, "Upcalls"). hypercall_upcall_return fills a struct upcall_resume
; on the stack, laid out as RAX, RCX, R11 and then an IRETQ frame, and says whether the guest
; can simply be resumed from it; when not (a refused frame, an event to enter the upcall for
; again, a switch) nothing has changed and the full path does it all.
.upcall_return:
	PUSH_FAST_SAVED                         ; RCX and R11 for the full path, should it be taken
	sub rsp, UPCALL_RESUME_SIZE
%ifdef BENCH
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov [gs:PERCPU_BENCH_ENTRY], rax
	mov qword [gs:PERCPU_BENCH_WHAT], VEC_HYPERCALL + HC_UPCALL_RETURN
%endif
	mov rdi, rsp
	call hypercall_upcall_return
	test eax, eax
	jnz .upcall_return_full
%ifdef BENCH
	call bench_exit_fast
%endif
	mov r10, [rsp + UPCALL_RESUME_SIZE]
	mov r9, [rsp + UPCALL_RESUME_SIZE + 8]
	mov r8, [rsp + UPCALL_RESUME_SIZE + 16]
	mov rdx, [rsp + UPCALL_RESUME_SIZE + 24]
	mov rsi, [rsp + UPCALL_RESUME_SIZE + 32]
	mov rdi, [rsp + UPCALL_RESUME_SIZE + 40]
	pop rax
	pop rcx
	pop r11
	swapgs
	iretq

.upcall_return_full:
	add rsp, UPCALL_RESUME_SIZE
	pop r10
	pop r9
	pop r8
	pop rdx
	pop rsi
	pop rdi
	pop r11
	pop rcx
	mov eax, HC_UPCALL_RETURN
	jmp .full
