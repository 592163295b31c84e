; Application-processor start-up (SDM vol. 3 8.4.4: INIT-SIPI-SIPI). The BSP copies this code to
; a free page below 1 MiB, patches the fields at its end, and sends SIPIs whose vector is that
; page. The AP starts in real mode at page:0, goes to protected mode, then long mode on the
; hypervisor's page tables (which map this page 1:1), finds its own entry in the table of APs
; by its APIC id, and jumps to its C entry on its own stack. All APs start together: the
; fields are shared, and only the table (tr_table, tr_count entries) tells them apart.

%define CR0_PE             (1 << 0)
%define CR0_WP             (1 << 16)
%define CR0_PG             (1 << 31)
%define CR4_PAE            (1 << 5)
%define MSR_EFER           0xc0000080

global trampoline_start, tr_gdt_desc, tr_far32, tr_far64, tr_cr3, tr_efer
global tr_entry, tr_table, tr_count

; struct smp_ap_slot (kernel/cpu/smp.c): one entry of the table.
%define SLOT_APIC_ID       0
%define SLOT_STACK         8
%define SLOT_ARG           16
%define SLOT_SIZE          24

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
	mov r12d, ebx                   ; upper halves are undefined after leaving 32-bit mode
	xor eax, eax
	mov ds, ax
	mov es, ax
	mov ss, ax
	; This CPU's APIC id: CPUID 0Bh EDX (the x2APIC id) where the leaf is there and valid
	; (EBX nonzero), else CPUID 1 EBX[31:24] (SDM vol. 3 10.4.6, 10.12.8.1).
	cpuid                           ; EAX = 0: the highest basic leaf
	cmp eax, 0xb
	jb .leaf1
	mov eax, 0xb
	xor ecx, ecx
	cpuid
	test ebx, ebx
	jz .leaf1
	mov r13d, edx
	jmp .find
.leaf1:
	mov eax, 1
	cpuid
	shr ebx, 24
	mov r13d, ebx
.find:
	mov rsi, [r12 + tr_table - trampoline_start]
	mov ecx, [r12 + tr_count - trampoline_start]
.next:
	test ecx, ecx
	jz .lost
	cmp r13d, [rsi + SLOT_APIC_ID]
	je .found
	add rsi, SLOT_SIZE
	dec ecx
	jmp .next
.found:
	mov rsp, [rsi + SLOT_STACK]
	mov rdi, [rsi + SLOT_ARG]
	mov rax, [r12 + tr_entry - trampoline_start]
	xor ebp, ebp
	jmp rax
.lost:                                  ; a CPU nobody asked for: stays halted
	cli
	hlt
	jmp .lost

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
tr_entry: dq 0
tr_table: dq 0
tr_count: dq 0
