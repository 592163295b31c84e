#include <stdlib.h>
#include <string.h>
#include "tests/fuzz/pci-space.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/fake-pci-cfg.h"
#include "tests/unit/pci-table-check.h"

#define BAR_BYTES (4 * PCI_NORMAL_BARS)

void fuzz_pci_build(struct fuzz_pci *m, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;

	fake_pci_reset();
	fake_log_reset();
	pci_table_reset();
	memset(m, 0, sizeof(*m));
	m->region.base = 0xb0000000;
	if (n >= 2) {
		m->region.bus_start = p[0];
		/* At most 32 buses: walking all 256 would take most of each run. */
		m->region.bus_end = p[1] > p[0] + FUZZ_PCI_MAX_BUSES - 1 ?
				    (uint8_t)(p[0] + FUZZ_PCI_MAX_BUSES - 1) : p[1];
		p += 2;
	}
	while (m->n < FUZZ_PCI_MAX_FNS && end - p >= 5) {
		struct pci_bdf bdf = pci_bdf(0, p[0], PCI_DEVFN_DEV(p[1]), PCI_DEVFN_FN(p[1]));
		uint8_t flags = p[2];
		size_t len = p[3] | (size_t)p[4] << 8, masks;
		struct fake_pci_fn *f;

		p += 5;
		len = len > PCI_CFG_EXT_SIZE ? PCI_CFG_EXT_SIZE : len;
		len = len > (size_t)(end - p) ? (size_t)(end - p) : len;
		masks = flags & FUZZ_PCI_WMASK ? BAR_BYTES : 0;
		masks = masks > (size_t)(end - p - len) ? (size_t)(end - p - len) : masks;
		if (fake_pci_find(bdf)) {
			p += len + masks;
			continue;
		}
		/* The header type first: the fake makes a bridge's bus numbers writable. */
		f = fake_pci_add(bdf, 0, 0, 0, len > PCI_HEADER_TYPE ? p[PCI_HEADER_TYPE] : 0);
		memset(f->cfg, 0, sizeof(f->cfg));
		memcpy(f->cfg, p, len);
		memcpy(f->wmask + PCI_BAR0, p + len, masks);
		f->size = flags & FUZZ_PCI_EXT ? PCI_CFG_EXT_SIZE : PCI_CFG_SIZE;
		p += len + masks;
		m->bdf[m->n] = bdf;
		m->cmd[m->n++] = (uint16_t)(f->cfg[PCI_COMMAND] | f->cfg[PCI_COMMAND + 1] << 8);
	}
}

void fuzz_pci_check(const struct fuzz_pci *m)
{
	if (pci_table_check() || fake_pci_misaligned)
		abort();
	for (unsigned i = 0; i < m->n; i++) {
		struct fake_pci_fn *f = fake_pci_find(m->bdf[i]);
		struct pci_dev *d = pci_find(m->bdf[i]);
		uint32_t class = fake_pci_get32(f, PCI_CLASS_REVISION) >> 8;

		if ((f->cfg[PCI_COMMAND] | f->cfg[PCI_COMMAND + 1] << 8) != m->cmd[i])
			abort();
		if (f->sized_while_decoding &&
		    (!d || (class & PCI_CLASS_BASE_SUB_MASK) != PCI_CLASS_BRIDGE_HOST))
			abort();
	}
}
