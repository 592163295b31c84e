/* The few C library string functions the freestanding hypervisor needs (the compiler may also
 * emit calls to memcpy/memset/memmove/memcmp for structure copies). */
#ifndef COURIER_KERNEL_LIB_STRING_H
#define COURIER_KERNEL_LIB_STRING_H

#include <stddef.h>

#ifdef HOST_BUILD
#include <string.h>
#else
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

#endif
