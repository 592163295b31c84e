/*
 * Text form of a parsed DMAR table: the line format of tests/data/acpi/dmar/README.md
 * ("haw 39", "flags 0x3", "drhd segment=0 base=0xfed90000 include_all=0 scopes=00:02.0", ...).
 * Pure, like iommu/dmar.c: the host tool dmar-dump prints it, the hypervisor can log it.
 */
#ifndef COURIER_IOMMU_DMAR_PRINT_H
#define COURIER_IOMMU_DMAR_PRINT_H

#include <stddef.h>
#include "iommu/dmar.h"

/*
 * snprintf-style result: len is the length the whole output has (it may be more than fitted),
 * err a negative E_* if formatting stopped at a malformed structure or scope.
 */
struct dmar_fmt_ret {
	int err;
	size_t len;
};

/*
 * One line for s, without a newline. Structures of reserved types, which have no line in the
 * format, come out as "unknown type=N length=L" for logs. buf is always NUL-terminated when
 * size > 0; buf may be NULL when size is 0.
 */
struct dmar_fmt_ret dmar_format_struct(char *buf, size_t size, const struct dmar_struct *s);

/*
 * The whole table, one '\n'-terminated line per record: the header lines, then every structure
 * of a known type in table order (reserved types are skipped). On a malformed structure it
 * stops there, returns the error and fills err (if not NULL).
 */
struct dmar_fmt_ret dmar_format_table(char *buf, size_t size, const struct dmar_table *t,
				      struct dmar_error *err);

#endif
