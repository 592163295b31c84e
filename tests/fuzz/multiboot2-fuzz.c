/*
 * libFuzzer harness for mb2_parse(), built and run by `make fuzz-multiboot2`
 * (tests/fuzz/fuzz.mk); seeds: tests/fuzz/seeds.py.
 */
#include <stdlib.h>
#include <string.h>
#include "kernel/firmware/multiboot2.h"
#include "tests/unit/fake-log.h"

static struct mb2_info info;
static volatile size_t sink;    /* keeps the reads of touch() */

/* Touch every byte the result points at, so ASan sees any pointer past the input. */
static size_t touch(const char *s)
{
	return strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: a read past avail is a heap overflow. */
	uint8_t *buf = malloc(size ? size : 1);

	memcpy(buf, data, size);
	fake_log_reset();
	mb2_parse(buf, size, &info);
	sink += touch(info.cmdline) + touch(info.bootloader);
	for (unsigned i = 0; i < info.n_modules; i++)
		sink += touch(info.modules[i].cmdline);
	for (size_t i = 0; i < info.rsdp_len; i++)
		sink += ((const uint8_t *)info.rsdp)[i];
	if (info.n_mmap > MB2_MAX_MMAP || info.n_modules > MB2_MAX_MODULES)
		abort();
	free(buf);
	return 0;
}
