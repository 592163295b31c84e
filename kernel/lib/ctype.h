/* Character helpers shared by the command-line and device-address parsers. */
#ifndef COURIER_KERNEL_LIB_CTYPE_H
#define COURIER_KERNEL_LIB_CTYPE_H

/* The value of a hexadecimal digit (either case), or -1 for any other character. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
