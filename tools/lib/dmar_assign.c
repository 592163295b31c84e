#include <stdlib.h>
#include <string.h>
#include "tools/lib/dmar_assign.h"
#include "iommu/topology.h"
#include "kernel/lib/error.h"
#include "pci/pci.h"

#define LINE_MAX_CHARS 120

/* One bus number: 1 or 2 hex digits ending at end (0: end of string). */
static const char *bus_field(const char *s, char end, unsigned *out)
{
	char *stop;

	if (!strchr("0123456789abcdefABCDEF", *s) || !*s)
		return NULL;
	unsigned long v = strtoul(s, &stop, 16);
	if (stop - s > 2 || *stop != end)
		return NULL;
	*out = (unsigned)v;
	return end ? stop + 1 : stop;
}

/* Parses "SEC-SUB" for the bridge at bdf; returns NULL or a reason it is wrong. */
static const char *bus_range(const char *s, struct pci_bdf bdf, unsigned *sec, unsigned *sub)
{
	if (!(s = bus_field(s, '-', sec)) || !bus_field(s, 0, sub))
		return "bus range is not SEC-SUB in hex (e.g. 01-03)";
	/* A secondary bus is numbered after the bus its bridge sits on (PCI Bridge 1.2, 3.2.5.3). */
	if (*sec <= bdf.bus)
		return "secondary bus is not above the bridge's own bus";
	if (*sub < *sec)
		return "subordinate bus is below the secondary bus";
	return NULL;
}

/* Adds one line's function to the PCI table; NULL or the reason the line is malformed. */
static const char *add_line(char *line)
{
	char *save, *tok[3];
	unsigned n = 0, sec = 0, sub = 0;
	struct pci_bdf bdf;

	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
		if (n < 3)
			tok[n++] = t;
		else
			return "too many fields";
	if (n != 1 && n != 3)
		return "expected SSSS:BB:DD.F or SSSS:BB:DD.F bridge SEC-SUB";
	if (strlen(tok[0]) != PCI_BDF_STRLEN - 1 || pci_bdf_parse(tok[0], &bdf) < 0)
		return "function is not SSSS:BB:DD.F in hex";
	if (n == 3) {
		if (strcmp(tok[1], "bridge"))
			return "second field is not 'bridge'";
		const char *why = bus_range(tok[2], bdf, &sec, &sub);
		if (why)
			return why;
	}
	if (pci_find(bdf))
		return "function listed twice";
	struct pci_dev *d = pci_dev_new(bdf);
	if (!d)
		return "more functions than the PCI table holds";
	if (n == 3) {
		d->hdr_type = PCI_HEADER_BRIDGE;
		d->pri_bus = bdf.bus;
		d->sec_bus = (uint8_t)sec;
		d->sub_bus = (uint8_t)sub;
	}
	return NULL;
}

/* Fills the PCI table from the text; 0, or 1 after naming the first bad line on err. */
static int load_topology(const char *topo, const char *name, FILE *err)
{
	unsigned lineno = 0;

	pci_table_reset();
	while (*topo) {
		const char *nl = strchr(topo, '\n');
		size_t len = nl ? (size_t)(nl - topo) : strlen(topo);
		char line[LINE_MAX_CHARS + 1];
		const char *why = NULL;

		lineno++;
		if (len > LINE_MAX_CHARS)
			why = "line too long";
		else {
			memcpy(line, topo, len);
			line[len] = 0;
			if (line[strspn(line, " \t\r")] && line[0] != '#')
				why = add_line(line);
		}
		if (why) {
			fprintf(err, "%s:%u: %s\n", name, lineno, why);
			return 1;
		}
		topo += len + (nl != NULL);
	}
	return 0;
}

int dmar_assign(const void *dmar, size_t len, const char *dmar_name, const char *topo,
		const char *topo_name, FILE *out, FILE *err)
{
	static struct iommu_topology t;
	char s[PCI_BDF_STRLEN];

	if (load_topology(topo, topo_name, err))
		return 1;
	int units = iommu_topology_build(dmar, len, &t);
	if (units == E_INVAL) {
		fprintf(err, "%s: rejected: not a valid DMAR table\n", dmar_name);
		return 1;
	}
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_bdf bdf = pci_dev_at(i)->bdf;
		int u = iommu_topology_unit_for(&t, bdf);
		if (u < 0)
			fprintf(out, "%s unit=-\n", pci_bdf_fmt(s, bdf));
		else
			fprintf(out, "%s unit=%d base=0x%llx\n", pci_bdf_fmt(s, bdf), u,
				(unsigned long long)t.unit[u].drhd.base);
	}
	return 0;
}
