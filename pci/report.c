/*
 * The boot report: an lspci-like line per function on the console, then one `@pci` record per
 * function (docs/report.md): bdf id class sid msi msix bridge.
 */
#include <stdarg.h>
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"
#include "pci/pci.h"

#define LINE_MAX 320

struct line {
	char buf[LINE_MAX];
	size_t len;
};

static void add(struct line *l, const char *fmt, ...) __printf(2, 3);

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	n = fmt_vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = MIN(l->len + (size_t)n, sizeof(l->buf) - 1);
}

static const char *kind(const struct pci_dev *d)
{
	static const char *const exp_types[] = {
		[PCI_EXP_TYPE_ENDPOINT] = "pcie-ep", [PCI_EXP_TYPE_LEG_END] = "legacy-ep",
		[PCI_EXP_TYPE_ROOT_PORT] = "root-port", [PCI_EXP_TYPE_UPSTREAM] = "up-port",
		[PCI_EXP_TYPE_DOWNSTREAM] = "down-port", [PCI_EXP_TYPE_PCI_BRIDGE] = "pcie-pci",
		[PCI_EXP_TYPE_PCIE_BRIDGE] = "pci-pcie", [PCI_EXP_TYPE_RC_END] = "rc-ep",
		[PCI_EXP_TYPE_RC_EC] = "rc-ec",
	};

	if (d->exp.cap)
		return d->exp.type < ARRAY_SIZE(exp_types) && exp_types[d->exp.type]
		       ? exp_types[d->exp.type] : "pcie-?";
	switch (d->hdr_type) {
	case PCI_HEADER_NORMAL: return "pci";
	case PCI_HEADER_BRIDGE: return "pci-bridge";
	case PCI_HEADER_CARDBUS: return "cardbus";
	}
	return "?";
}

/* 4096 -> "4K": the largest unit that divides the size. */
static void add_size(struct line *l, uint64_t size)
{
	static const char units[] = "KMGTP";
	unsigned u = 0;

	if (size & 0x3ff) {
		add(l, "%llu", (unsigned long long)size);
		return;
	}
	size >>= 10;
	while (!(size & 0x3ff) && u + 1 < sizeof(units) - 1) {
		size >>= 10;
		u++;
	}
	add(l, "%llu%c", (unsigned long long)size, units[u]);
}

static void add_bars(struct line *l, const struct pci_dev *d)
{
	for (unsigned i = 0; i < d->nbars; i++) {
		const struct pci_bar *b = &d->bar[i];

		if (!b->size)
			continue;
		add(l, " bar%u=%s%s:%#llx/", i, b->flags & PCI_BAR_F_IO ? "io"
			: b->flags & PCI_BAR_F_MEM64 ? "m64" : "m32",
			b->flags & PCI_BAR_F_PREFETCH ? "p" : "", (unsigned long long)b->addr);
		add_size(l, b->size);
	}
}

static void add_msi(struct line *l, const struct pci_dev *d)
{
	const struct pci_msi *m = &d->msi;
	const struct pci_msix *x = &d->msix;

	if (m->cap)
		add(l, " msi=%u%s%s", m->messages, m->addr64 ? "/64" : "/32",
		    m->maskable ? "/mask" : "");
	if (x->cap)
		add(l, " msix=%u@bar%u+%#x,pba@bar%u+%#x", x->entries, x->table_bir, x->table_off,
		    x->pba_bir, x->pba_off);
}

static void print_line(const struct pci_dev *d)
{
	struct line l = { .len = 0 };
	char b[PCI_BDF_STRLEN];

	add(&l, "pci %s %04x:%04x %06x %-10s", pci_bdf_fmt(b, d->bdf), d->vendor, d->device,
	    d->class, kind(d));
	if (pci_dev_is_bridge(d))
		add(&l, " bus=%02x-%02x", d->sec_bus, d->sub_bus);
	if (d->dma_alias != d->sid)
		add(&l, " alias=%04x", d->dma_alias);
	add_msi(&l, d);
	add_bars(&l, d);
	if (d->problems)
		add(&l, " problems=%#x", d->problems);
	while (l.len && l.buf[l.len - 1] == ' ')
		l.buf[--l.len] = 0;
	log_info("%s", l.buf);
}

static void print_record(const struct pci_dev *d)
{
	const struct pci_dev *u = pci_dev_upstream(d);
	char b[PCI_BDF_STRLEN], ub[PCI_BDF_STRLEN];

	report("pci bdf=%s id=%04x:%04x class=%06x sid=0x%04x msi=%u msix=%u bridge=%s",
	       pci_bdf_fmt(b, d->bdf), d->vendor, d->device, d->class, d->sid,
	       d->msi.cap ? d->msi.messages : 0, d->msix.cap ? d->msix.entries : 0,
	       u ? pci_bdf_fmt(ub, u->bdf) : "-");
}

void pci_report(void)
{
	size_t n = pci_dev_count(), bad = 0;

	for (size_t i = 0; i < n; i++) {
		print_line(pci_dev_at(i));
		bad += pci_dev_at(i)->problems != 0;
	}
	for (size_t i = 0; i < n; i++)
		print_record(pci_dev_at(i));
	log_info("pci: %zu functions, %zu with problems", n, bad);
}
