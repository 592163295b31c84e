/* For the harnesses that feed DMAR tables (dmar, dmar-topology). */
#ifndef COURIER_TESTS_FUZZ_DMAR_CHECKSUM_H
#define COURIER_TESTS_FUZZ_DMAR_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include "iommu/dmar_spec.h"

/*
 * Random mutations almost never keep the checksum right, which would leave the structure
 * parser unexplored: repair it, unless the revision byte's top bit asks to test the check.
 */
static inline void fuzz_dmar_fix_checksum(uint8_t *buf, size_t size)
{
	uint32_t len;
	uint8_t sum = 0;

	if (size < DMAR_HDR_SIZE || buf[DMAR_HDR_REVISION] & 0x80)
		return;
	len = buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24;
	if (len > size)
		return;
	buf[DMAR_HDR_CHECKSUM] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += buf[i];
	buf[DMAR_HDR_CHECKSUM] = (uint8_t)-sum;
}

#endif
