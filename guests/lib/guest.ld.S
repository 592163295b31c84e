/*
 * Guests are static ELF64 executables loaded at GUEST_RAM_BASE (docs/guests.md): three
 * page-aligned PT_LOAD segments, text R+X, rodata R, data and bss R+W (W^X), no interpreter, no
 * dynamic section, no relocations, no TLS. kernel/lib/elf.c checks the same rules when it loads
 * them. The C preprocessor makes $(BUILD)/guests/guest.ld of this file (guests/guests.mk).
 */
#include <courier/layout.h>

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(_start)

PHDRS
{
	text PT_LOAD FLAGS(5);          /* PF_R | PF_X */
	rodata PT_LOAD FLAGS(4);        /* PF_R */
	data PT_LOAD FLAGS(6);          /* PF_R | PF_W */
}

SECTIONS
{
	. = GUEST_RAM_BASE;
	__guest_start = .;

	.text : {
		*(.text.start)
		*(.text.unlikely .text.unlikely.*)
		*(.text.startup .text.startup.*)
		*(.text.hot .text.hot.*)
		*(.text .text.*)
	} :text

	. = ALIGN(4096);
	.rodata : {
		*(.rodata .rodata.*)
	} :rodata
	.eh_frame : {
		KEEP(*(.eh_frame))
	} :rodata

	. = ALIGN(4096);
	.init_array : {
		PROVIDE_HIDDEN(__init_array_start = .);
		KEEP(*(SORT_BY_INIT_PRIORITY(.init_array.*)))
		KEEP(*(.init_array))
		PROVIDE_HIDDEN(__init_array_end = .);
	} :data
	.fini_array : {
		KEEP(*(SORT_BY_INIT_PRIORITY(.fini_array.*)))
		KEEP(*(.fini_array))
	} :data
	.data : {
		*(.data .data.*)
		*(.got .got.plt)
	} :data
	.bss : {
		*(.bss .bss.*)
		*(COMMON)
	} :data
	. = ALIGN(4096);
	_end = .;
	__guest_end = .;

	/* Must stay empty: the hypervisor neither relocates guests nor gives them TLS. */
	.rela.dyn : { *(.rela.*) }
	.tdata : { *(.tdata .tdata.*) }
	.tbss : { *(.tbss .tbss.*) }

	/DISCARD/ : {
		*(.interp) *(.dynamic) *(.dynsym) *(.dynstr) *(.hash) *(.gnu.hash)
		*(.note.GNU-stack) *(.note.gnu.property) *(.note.gnu.build-id)
	}
}

ASSERT(SIZEOF(.rela.dyn) == 0, "guests cannot have relocations (link static, non-PIE)")
ASSERT(SIZEOF(.tdata) + SIZEOF(.tbss) == 0, "guests have no thread-local storage")
