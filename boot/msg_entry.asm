; A device message's way into the guest it is for, when that guest is the one this CPU runs:
; the common case of a bound message (kernel/guest/guest_msg.c), taken in ring 3, without the
; whole frame and without C.
;
; boot/isr.asm sends every device vector (VEC_DYNAMIC_FIRST..LAST) here. Everything is decided
; first, reading only: a bound message's vector (its route handler is guest_msg_deliver), the
; binding in use, its guest this CPU's current one and running with nothing to switch to, the
; port unmasked, the storm window not full. Anything else — an interrupt of the hypervisor
; itself, another handler, a guest to wake or switch to, a masked port — goes to the whole
; frame's way (isr_whole_frame: trap_entry, guest_msg_deliver, sched_return_to_user) with
; nothing changed. Otherwise it does what those would: the storm window's count, the per-CPU
; count, the pending bit (the one atomic), the port's count, the upcall-pending hint, the upcall's entry when it is open
; (evt_upcall_enter_now, kernel/guest/event.h), the EOI.
;
; No lock is needed and the order of the reads does not matter: the guest runs on this CPU,
; which is here with interrupts off, so nothing else changes its mask bits or upcall state
; meanwhile; other CPUs may only set its pending bits (atomically, as here) or stop it (its
; state is read once, as evt_raise does). The C code this stands in for must change with it:
; guest_msg.c message_in, event.h evt_raise and evt_upcall_enter_now, sched.h sched_must_switch.
; Offsets and constants come from the compiler (kernel/guest/msg_entry_offsets.c).

%include "frame.inc"
%include "msg_entry_offsets.inc"

extern isr_whole_frame, guest_msg_deliver, guest_msg_taken
extern guest_msg_storm_per_window, guest_msg_storm_window_cycles
extern apic_eoi_reg
%ifdef BENCH
extern bench_exit
%endif
global isr_device

; What this path saves of the guest's registers: the ones it uses.
%macro PUSH_USED 0
	push rax
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
%endmacro

%macro POP_USED 0
	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
%endmacro

; The stack after PUSH_USED: the stub's vector and 0, then the CPU's frame.
%define F_VECTOR        (6 * 8)
%define F_RIP           (8 * 8)
%define F_RFLAGS        (10 * 8)
%define F_RSP           (11 * 8)

section .text
isr_device:
	test qword [rsp + 24], 3                ; the CPU's CS: from the hypervisor itself?
	jz isr_whole_frame
	swapgs
	PUSH_USED
	BENCH_STAMP [rsp + F_VECTOR], 0
	; rdi: this CPU; rax: its vector's slot, then the route; r8: the binding; rsi: the guest;
	; rdx: its shared-info page; rcx: the port
	mov rdi, [gs:0]
	mov eax, [rsp + F_VECTOR]
	imul eax, eax, VECTOR_SLOT_SIZE
	add rax, rdi
	; (a 32-bit immediate, sign-extended: the hypervisor is linked in the top 2 GiB)
	cmp qword [rax + PERCPU_VECTORS + VECTOR_SLOT_FN], guest_msg_deliver
	jne .whole
	mov rax, [rax + PERCPU_VECTORS + VECTOR_SLOT_ARG]
	mov r8, [rax + ROUTE_ARG]
	cmp byte [r8 + BINDING_USED], 0
	je .whole
	mov rsi, [r8 + BINDING_TARGET]
	cmp rsi, [rdi + PERCPU_CURRENT]
	jne .whole
	cmp dword [rsi + GUEST_STATE], GUEST_RUNNING
	jne .whole
	cmp byte [rsi + GUEST_NEED_RESCHED], 0
	jne .whole
	mov ecx, [rdi + PERCPU_INDEX]
	cmp [rsi + GUEST_CPU], ecx
	jne .whole
	cmp qword [rsi + GUEST_WAKE_AT_NS], 0
	jne .whole
	mov ecx, [r8 + BINDING_PORT]
	cmp ecx, COURIER_EVT_PORTS
	jae .whole
	mov rdx, [rsi + GUEST_SHARED]
	bt [rdx + SHARED_EVT_MASK], rcx         ; a bit string: the port's word and bit
	jc .whole
	; Storms, when looked for: this message neither opens a new window nor goes over the one
	; that is open (either is guest_msg_deliver's); it is counted in it.
	mov rax, [guest_msg_storm_per_window]
	test rax, rax
	jz .deliver
	cmp byte [r8 + BINDING_STORM_HELD], 0
	jne .whole
	cmp [r8 + BINDING_WINDOW_N], eax        ; storm_per_window fits 32 bits (binding.h)
	jae .whole
	push rdx
	rdtsc
	shl rdx, 32
	or rax, rdx
	pop rdx
	sub rax, [r8 + BINDING_WINDOW_TSC]
	cmp rax, [guest_msg_storm_window_cycles]
	jae .whole
	inc dword [r8 + BINDING_WINDOW_N]

.deliver:
	; Delivered from here on.
	lock bts [rdx + SHARED_EVT_PENDING], rcx
	imul ecx, ecx, GUEST_PORT_SIZE
	lock inc qword [rsi + rcx + GUEST_PORTS + GUEST_PORT_RECEIVED]
	imul ecx, [rdi + PERCPU_INDEX], MAX_GUESTS
	add ecx, [rsi + GUEST_ID]
	inc qword [guest_msg_taken + rcx * 8]   ; this CPU's row: no other writer
	mov byte [rdx + SHARED_UPCALL_PENDING], 1
	; The upcall, if open: registered, not in it, not masked by the guest.
	mov rax, [rsi + GUEST_UPCALL_ENTRY]
	test rax, rax
	jz .eoi
	cmp byte [rsi + GUEST_IN_UPCALL], 0
	jne .eoi
	cmp byte [rdx + SHARED_UPCALL_MASK], 0
	jne .eoi
	mov rcx, [rsp + F_RIP]
	mov [rdx + SHARED_FRAME_RIP], rcx
	mov rcx, [rsp + F_RSP]
	mov [rdx + SHARED_FRAME_RSP], rcx
	mov rcx, [rsp + F_RFLAGS]
	mov [rdx + SHARED_FRAME_RFLAGS], rcx
	mov byte [rsi + GUEST_IN_UPCALL], 1
	mov byte [rdx + SHARED_UPCALL_MASK], 1
	mov [rsp + F_RIP], rax
	mov rax, [rsi + GUEST_UPCALL_STACK]
	sub rax, 8                              ; as if called: the ABI's alignment at entry
	mov [rsp + F_RSP], rax
	mov qword [rsp + F_RFLAGS], GUEST_RFLAGS_SET
.eoi:
	cmp byte [apic_eoi_reg + APIC_EOI_X2APIC], 0
	je .eoi_xapic
	mov ecx, X2APIC_MSR_EOI
	xor eax, eax
	xor edx, edx
	wrmsr
.out:
%ifdef BENCH
	cld                                     ; C from here: the guest's DF is not ours
	push r9
	push r10
	push r11
	lea rdi, [rsp + 3 * 8 + F_RIP]
	call bench_exit
	pop r11
	pop r10
	pop r9
%endif
	POP_USED
	swapgs
	add rsp, 16                             ; the vector and 0
	iretq
.eoi_xapic:
	mov rax, [apic_eoi_reg + APIC_EOI_MMIO]
	mov dword [rax], 0
	jmp .out

; Not the common case: nothing is changed; the whole frame's way does it all (GS is the
; hypervisor's already; trap_exit swaps back on the way to ring 3).
.whole:
	POP_USED
	jmp isr_whole_frame
