#include "kernel/lib/ctype.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "pci/bdf.h"

char *pci_bdf_fmt(char *buf, struct pci_bdf bdf)
{
	fmt_snprintf(buf, PCI_BDF_STRLEN, "%04x:%02x:%02x.%x", bdf.seg, bdf.bus,
		     PCI_DEVFN_DEV(bdf.devfn), PCI_DEVFN_FN(bdf.devfn));
	return buf;
}

/* Reads 1..max hex digits ending at the delimiter end (0: end of string). */
static const char *hex_field(const char *s, unsigned max, char end, unsigned *out)
{
	unsigned v = 0, n = 0;
	int d;

	while ((d = hex_digit(*s)) >= 0 && n < max) {
		v = v << 4 | (unsigned)d;
		s++;
		n++;
	}
	if (n == 0 || *s != end)
		return NULL;
	*out = v;
	return end ? s + 1 : s;
}

int pci_bdf_parse(const char *s, struct pci_bdf *out)
{
	unsigned seg = 0, bus, dev, fn;
	const char *p;
	size_t colons = 0;

	for (p = s; *p; p++)
		colons += *p == ':';
	if (colons == 2 && !(s = hex_field(s, 4, ':', &seg)))
		return E_INVAL;
	if (colons < 1 || colons > 2)
		return E_INVAL;
	if (!(s = hex_field(s, 2, ':', &bus)) || !(s = hex_field(s, 2, '.', &dev)) ||
	    !hex_field(s, 1, 0, &fn))
		return E_INVAL;
	if (dev >= PCI_DEVS_PER_BUS || fn >= PCI_FNS_PER_DEV)
		return E_INVAL;
	*out = pci_bdf((uint16_t)seg, (uint8_t)bus, (uint8_t)dev, (uint8_t)fn);
	return 0;
}
