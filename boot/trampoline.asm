; Application-processor start-up (SDM vol. 3 8.4.4: INIT-SIPI-SIPI). The BSP copies this code to
; a free page below 1 MiB, patches the fields at its end, and sends SIPIs whose vector is that
; page. The AP starts in real mode at page:0, goes to protected mode, then long mode on the
; hypervisor's page tables (which map this page 1:1), and jumps to its C entry on its own stack.
; APs start one at a time, so the fields serve one AP at a time.

%define CR0_PE             (1 << 0)
%define CR0_WP             (1 << 16)
%define CR0_PG             (1 << 31)
%define CR4_PAE            (1 << 5)
%define MSR_EFER           0xc0000080

global trampoline_start, tr_gdt_desc, tr_far32, tr_far64, tr_cr3, tr_efer, tr_stack
global tr_entry, tr_arg

section .trampoline progbits alloc exec nowrite align=16
bits 16
trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                      ; EBX = linear base of this page, kept to long mode
	lgdt [tr_gdt_desc - trampoline_start]
	mov eax, cr0
	or eax, CR0_PE
	mov cr0, eax
	jmp dword far [tr_far32 - trampoline_start]

bits 32
tr_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [ebx + tr_cr3 - trampoline_start]
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, [ebx + tr_efer - trampoline_start]
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE | CR0_WP
	mov cr0, eax
	jmp far [ebx + tr_far64 - trampoline_start]

bits 64
tr_lm64:
	mov ebx, ebx                    ; upper halves are undefined after leaving 32-bit mode
	xor eax, eax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, [rbx + tr_stack - trampoline_start]
	mov rdi, [rbx + tr_arg - trampoline_start]
	mov rax, [rbx + tr_entry - trampoline_start]
	xor ebp, ebp
	jmp rax

; The accessed bits are preset: this page is mapped read-only once paging is on, and a CPU
; that had to set one while loading CS would take a page fault with no IDT (a triple fault).
align 16
tr_gdt:
	dq 0
	dq 0x00cf9b000000ffff           ; 0x08: 32-bit code
	dq 0x00cf93000000ffff           ; 0x10: data
	dq 0x00af9b000000ffff           ; 0x18: 64-bit code
tr_gdt_end:
; Fields patched by kernel/cpu/smp.c (offsets from trampoline_start):
tr_gdt_desc:
	dw tr_gdt_end - tr_gdt - 1
	dd tr_gdt - trampoline_start    ; + page base
tr_far32:
	dd tr_pm32 - trampoline_start   ; + page base
	dw 0x08
tr_far64:
	dd tr_lm64 - trampoline_start   ; + page base
	dw 0x18
align 8
tr_cr3:   dq 0
tr_efer:  dq 0
tr_stack: dq 0
tr_entry: dq 0
tr_arg:   dq 0
