#include "pci/group.h"

/* ACS that keeps a function's peer-to-peer traffic from another function of its device. */
#define ACS_ISOLATED (PCI_ACS_RR | PCI_ACS_CR)

/* One device: the same device number, or with ARI (its port forwards ARI) the whole bus. */
static bool same_device(const struct pci_dev *a, const struct pci_dev *b)
{
	const struct pci_dev *port = pci_dev_upstream(a);
	bool ari = port && port->exp.ari_fwd;

	return a->bdf.seg == b->bdf.seg && a->bdf.bus == b->bdf.bus &&
	       (ari || PCI_DEVFN_DEV(a->bdf.devfn) == PCI_DEVFN_DEV(b->bdf.devfn));
}

static bool isolated_in_slot(const struct pci_dev *d)
{
	return !d->exp.phantom && d->ext.acs && (d->ext.acs_ctrl & ACS_ISOLATED) == ACS_ISOLATED;
}

/* A multi-function device whose functions are not all isolated from each other, or a function
 * with phantom functions: the slot's first function in the table stands for the group. */
static int slot_group(const struct pci_dev *d)
{
	int first = -1;
	unsigned n = 0;
	bool all_isolated = true;

	for (size_t i = 0; i < pci_dev_count(); i++) {
		const struct pci_dev *o = pci_dev_at(i);
		if (!same_device(o, d) || pci_dev_is_bridge(o))
			continue;
		if (first < 0)
			first = (int)i;
		n++;
		all_isolated &= isolated_in_slot(o);
	}
	return d->exp.phantom || (n > 1 && !all_isolated) ? first : -1;
}

struct pci_group pci_group_of(const struct pci_dev *d)
{
	if (d->alias_bridge != PCI_NONE)
		return (struct pci_group){ PCI_GROUP_BRIDGE, d->alias_bridge };
	int slot = slot_group(d);
	if (slot >= 0)
		return (struct pci_group){ PCI_GROUP_SLOT, slot };
	return (struct pci_group){ PCI_GROUP_SELF, pci_dev_index(d) };
}

bool pci_group_same(const struct pci_dev *a, const struct pci_dev *b)
{
	struct pci_group ga = pci_group_of(a), gb = pci_group_of(b);
	return ga.kind == gb.kind && ga.index == gb.index;
}

static bool listed(struct pci_dev *const *devs, unsigned n, const struct pci_dev *d)
{
	for (unsigned i = 0; i < n; i++)
		if (devs[i] == d)
			return true;
	return false;
}

struct pci_dev *pci_group_split(struct pci_dev *const *devs, unsigned n,
				struct pci_dev **member)
{
	for (unsigned i = 0; i < n; i++) {
		if (pci_group_of(devs[i]).kind == PCI_GROUP_SELF)
			continue;
		for (size_t j = 0; j < pci_dev_count(); j++) {
			struct pci_dev *o = pci_dev_at(j);
			if (o != devs[i] && !pci_dev_is_bridge(o) && pci_group_same(o, devs[i]) &&
			    !listed(devs, n, o)) {
				*member = devs[i];
				return o;
			}
		}
	}
	return NULL;
}
