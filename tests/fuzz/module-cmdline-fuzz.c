/*
 * libFuzzer harness for the pieces of a guest module's command line that are pure
 * (kernel/guest/guest.c and guest_dev.c need the machine): cmdline_get() for the keys the
 * hypervisor reads, with the buffer sizes guest.c gives it, cmdline_parse_u64() for cpu= and
 * mem=, and pci_bdf_parse() for each address of the dev= list. Every buffer is an exact-size
 * heap block, so ASan sees a write past it. Built and run by `make fuzz-module-cmdline`
 * (tests/fuzz/fuzz.mk); seeds: tests/fuzz/seeds.py.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "include/courier/abi.h"
#include "kernel/lib/cmdline.h"
#include "kernel/lib/error.h"
#include "pci/bdf.h"

static const struct {
	const char *key;
	size_t size;            /* guest.c's buffer */
} keys[] = {
	{ "name", COURIER_NAME_MAX }, { "cpu", 32 }, { "mem", 32 }, { "dev", 128 },
	{ "privileged", 32 },
};

/* cmdline_get(cl, key) into size bytes, checked against its contract; the value or NULL. */
static char *get(const char *cl, const char *key, size_t size, int *ret)
{
	char *buf = malloc(size ? size : 1);

	memset(buf, 0x5a, size ? size : 1);
	*ret = cmdline_get(cl, key, buf, size);
	/* Found: the key is in the line; absent: it may be, in another token. */
	if (*ret != E_NOENT && !strstr(cl, key))
		abort();
	if (*ret >= 0) {
		if ((size_t)*ret >= size || strlen(buf) != (size_t)*ret || !strstr(cl, buf))
			abort();
		return buf;
	}
	if (*ret != E_RANGE && *ret != E_NOENT)
		abort();
	/* Too long leaves "", absent leaves the buffer alone. */
	if (size && buf[0] != (*ret == E_RANGE ? '\0' : 0x5a))
		abort();
	free(buf);
	return NULL;
}

/* Decimal or 0x-hex digits and nothing else, no overflow: as strtoull reads them. */
static void check_u64(const char *v)
{
	uint64_t x;
	int ret = cmdline_parse_u64(v, &x);
	int hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
	const char *digits = v + (hex ? 2 : 0);
	size_t n = strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789");
	char *end;
	unsigned long long ref;

	errno = 0;
	ref = strtoull(digits, &end, hex ? 16 : 10);
	if (n && !digits[n] && errno != ERANGE) {
		if (ret != 0 || x != ref || end != digits + n)
			abort();
	} else if (ret != E_INVAL) {
		abort();
	}
}

/* The dev= list as guest_devices_assign() splits it: what parses formats and parses back. */
static void check_devs(const char *list)
{
	char item[24];

	while (*list) {
		size_t len = strcspn(list, ",");
		struct pci_bdf b, again;
		char s[PCI_BDF_STRLEN];

		if (len == 0 || len >= sizeof(item))
			return;
		memcpy(item, list, len);
		item[len] = '\0';
		list += len + (list[len] == ',');
		if (pci_bdf_parse(item, &b) < 0)
			continue;
		if (PCI_DEVFN_DEV(b.devfn) >= PCI_DEVS_PER_BUS ||
		    pci_bdf_parse(pci_bdf_fmt(s, b), &again) < 0 || !pci_bdf_eq(b, again) ||
		    strlen(s) != PCI_BDF_STRLEN - 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cl = malloc(size + 1);

	memcpy(cl, data, size);
	cl[size] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int ret, again;
		char *v = get(cl, keys[i].key, keys[i].size, &ret);

		if (!v)
			continue;
		/* The same value fits exactly its length and a NUL, and not one byte less. */
		free(get(cl, keys[i].key, (size_t)ret + 1, &again));
		if (again != ret || (get(cl, keys[i].key, (size_t)ret, &again), again != E_RANGE))
			abort();
		if (!strcmp(keys[i].key, "cpu") || !strcmp(keys[i].key, "mem"))
			check_u64(v);
		else if (!strcmp(keys[i].key, "dev"))
			check_devs(v);
		free(v);
	}
	free(cl);
	return 0;
}
