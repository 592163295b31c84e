/*
 * Memory-mapped I/O. mmio_map() gives an uncached kernel mapping of a physical register range;
 * the accessors carry their width in their name so a wrong-width access (which aborts QEMU's
 * VT-d model) cannot be written by accident. Host tests provide their own implementation.
 */
#ifndef COURIER_KERNEL_ARCH_MMIO_H
#define COURIER_KERNEL_ARCH_MMIO_H

#include <stddef.h>
#include <stdint.h>

/* Uncached mapping of [pa, pa+size); NULL when out of mapping space. Never unmapped. */
void *mmio_map(uint64_t pa, size_t size);

static inline uint8_t mmio_read8(const volatile void *p) { return *(const volatile uint8_t *)p; }
static inline uint16_t mmio_read16(const volatile void *p) { return *(const volatile uint16_t *)p; }
static inline uint32_t mmio_read32(const volatile void *p) { return *(const volatile uint32_t *)p; }
static inline uint64_t mmio_read64(const volatile void *p) { return *(const volatile uint64_t *)p; }
static inline void mmio_write8(volatile void *p, uint8_t v) { *(volatile uint8_t *)p = v; }
static inline void mmio_write16(volatile void *p, uint16_t v) { *(volatile uint16_t *)p = v; }
static inline void mmio_write32(volatile void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
static inline void mmio_write64(volatile void *p, uint64_t v) { *(volatile uint64_t *)p = v; }

#endif
