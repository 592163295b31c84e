/*
 * Register access for the devices a guest owns (their BARs are mapped uncached at the
 * addresses start_info.devs[i].bar_va gives). The width is part of the name, so a wrong-width
 * access cannot be written by accident; volatile keeps the compiler from merging or dropping
 * accesses, and x86 keeps uncached accesses in program order.
 */
#ifndef COURIER_GUEST_MMIO_H
#define COURIER_GUEST_MMIO_H

#include <stdint.h>

static inline uint8_t mmio_read8(const volatile void *p)
{
	return *(const volatile uint8_t *)p;
}

static inline uint16_t mmio_read16(const volatile void *p)
{
	return *(const volatile uint16_t *)p;
}

static inline uint32_t mmio_read32(const volatile void *p)
{
	return *(const volatile uint32_t *)p;
}

static inline uint64_t mmio_read64(const volatile void *p)
{
	return *(const volatile uint64_t *)p;
}

static inline void mmio_write8(volatile void *p, uint8_t v)
{
	*(volatile uint8_t *)p = v;
}

static inline void mmio_write16(volatile void *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}

static inline void mmio_write32(volatile void *p, uint32_t v)
{
	*(volatile uint32_t *)p = v;
}

static inline void mmio_write64(volatile void *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

/* A register at byte offset off of a mapped BAR. */
static inline volatile void *mmio_reg(void *bar, uint64_t off)
{
	return (volatile uint8_t *)bar + off;
}

#endif
