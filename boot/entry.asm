; Courier's first instructions: the multiboot2 header, the 32-bit entry GRUB jumps to, and the
; switch to long mode on temporary page tables that identity-map the first 4 GiB and map the
; image at KERNEL_VBASE. C code (kernel/main.c) builds the real page tables.
;
; Multiboot2 spec 1.0, 3.1 (header) and 3.3 (I386 machine state: EAX = magic, EBX = physical
; address of the boot information, protected mode, paging off, A20 on, no valid stack).

%define MB2_HEADER_MAGIC   0xe85250d6
%define MB2_ARCH_I386      0
%define MB2_BOOT_MAGIC     0x36d76289
%define MB2_TAG_END        0
%define MB2_TAG_FB         5
%define MB2_TAG_OPTIONAL   1

%define KERNEL_VBASE       0xffffffff80000000

%define CR0_PE             (1 << 0)
%define CR0_WP             (1 << 16)
%define CR0_PG             (1 << 31)
%define CR4_PAE            (1 << 5)
%define MSR_EFER           0xc0000080
%define EFER_LME           (1 << 8)
%define EFER_NXE           (1 << 11)
%define PTE_P              (1 << 0)
%define PTE_W              (1 << 1)
%define PTE_PS             (1 << 7)
%define CPUID_EXT_LM       (1 << 29)
%define CPUID_EXT_NX       (1 << 20)
%define COM1               0x3f8

extern kmain
global boot_stack_bottom, boot_stack_top
global boot_entry32
global boot_gdt64_desc

section .multiboot2 align=8
mb2_header:
	dd MB2_HEADER_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; framebuffer tag (spec 3.1.10): a linear framebuffer for the console if the loader can
	; give one; optional, so a text-mode boot still works. No preferred width, height, depth.
	dw MB2_TAG_FB
	dw MB2_TAG_OPTIONAL
	dd 20
	dd 0, 0, 0
	align 8, db 0
	; end tag
	dw MB2_TAG_END
	dw 0
	dd 8
mb2_header_end:

section .low.text progbits alloc exec nowrite align=16
bits 32
boot_entry32:
	cli
	cld
	mov esp, low_stack_top
	mov [boot_magic], eax           ; keep magic and info pointer for kmain
	mov [boot_info], ebx

	cmp eax, MB2_BOOT_MAGIC
	jne .bad_magic

	mov eax, 0x80000000             ; extended CPUID leaves present?
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, CPUID_EXT_LM
	jz .no_long_mode
	mov ebp, edx                    ; remember NX support

	; Temporary tables: PML4[0] -> identity PDPT (4 x 1 GiB of 2 MiB pages),
	; PML4[511] -> high PDPT whose entry 510 maps KERNEL_VBASE to physical 0.
	mov edi, boot_pd
	xor eax, eax
	mov ecx, 0
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P | PTE_W | PTE_PS
	mov [edi + ecx * 8], eax
	mov eax, ecx
	shr eax, 11                     ; high dword: bits 32+ of (ecx << 21)
	mov [edi + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 4 * 512
	jne .fill_pd

	; The loader need not zero our NOBITS tables: clear the PML4 and both PDPTs.
	mov edi, boot_pml4
	mov ecx, 3 * 4096 / 4
	xor eax, eax
	rep stosd

	mov ecx, 0
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd
	or eax, PTE_P | PTE_W
	mov [boot_pdpt_low + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jne .fill_pdpt
	mov eax, boot_pd
	or eax, PTE_P | PTE_W
	mov [boot_pdpt_high + 510 * 8], eax
	mov eax, boot_pdpt_low
	or eax, PTE_P | PTE_W
	mov [boot_pml4], eax
	mov eax, boot_pdpt_high
	or eax, PTE_P | PTE_W
	mov [boot_pml4 + 511 * 8], eax

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	test ebp, CPUID_EXT_NX
	jz .no_nx
	or eax, EFER_NXE
.no_nx:
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE | CR0_WP
	mov cr0, eax

	lgdt [boot_gdt64_desc32]
	jmp 0x08:.long_mode

.bad_magic:
	mov esi, msg_bad_magic
	jmp .fail
.no_long_mode:
	mov esi, msg_no_long_mode
.fail:
	mov dx, COM1
.putc:
	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .putc
.halt:
	hlt
	jmp .halt

bits 64
.long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rax, .high
	jmp rax

section .text
.high:
	mov rsp, boot_stack_top
	xor ebp, ebp                    ; terminates backtraces
	; kmain(magic, info_pa)
	mov rax, boot_magic
	mov edi, [rax]
	mov rax, boot_info
	mov esi, [rax]
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .low.data progbits alloc noexec write align=16
msg_bad_magic:    db "courier: not booted by a multiboot2 loader", 13, 10, 0
msg_no_long_mode: db "courier: this CPU has no long mode", 13, 10, 0

align 16
; Boot GDT: null, 64-bit code (0x08), data (0x10). Replaced by per-CPU GDTs in C.
boot_gdt64:
	dq 0
	dq 0x00af9a000000ffff
	dq 0x00cf92000000ffff
boot_gdt64_end:
boot_gdt64_desc32:
	dw boot_gdt64_end - boot_gdt64 - 1
	dd boot_gdt64
boot_gdt64_desc:
	dw boot_gdt64_end - boot_gdt64 - 1
	dq boot_gdt64

boot_magic: dd 0
boot_info:  dd 0

align 16
low_stack:
	times 256 db 0
low_stack_top:

section .low.bss nobits alloc noexec write align=4096
boot_pml4:       resb 4096
boot_pdpt_low:   resb 4096
boot_pdpt_high:  resb 4096
boot_pd:         resb 4 * 4096

; The BSP's first stack, until kernel/main.c moves to one with a guard page below it.
section .bss nobits alloc noexec write align=16
boot_stack_bottom: resb 16384
boot_stack_top:
