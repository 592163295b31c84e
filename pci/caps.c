/*
 * Capability lists: the conventional list from the header's pointer (PCI LB 3.0 §6.7) and the
 * PCI Express extended list from 0x100 (PCIe Base 3.0 §7.9). Both walks are bounded: every
 * pointer is checked against the space it must stay in and against the entries already seen,
 * so a list that loops or points outside is reported and cut, never followed forever.
 */
#include "pci/pci.h"

/* One bit per dword of the conventional (64) and the extended (1024) space. */
#define STD_DWORDS (PCI_CFG_SIZE / 4)
#define EXT_DWORDS (PCI_CFG_EXT_SIZE / 4)

static bool seen_test_and_set(uint64_t *seen, uint16_t off)
{
	unsigned dw = off / 4;
	bool was = seen[dw / 64] & BIT(dw % 64);

	seen[dw / 64] |= BIT(dw % 64);
	return was;
}

/* Does a capability of size bytes at off fit below end? If not, report and skip it. */
static bool fits(struct pci_dev *d, uint16_t prob, const char *name, uint16_t off,
		 uint16_t size, uint16_t end)
{
	if (off + size <= end)
		return true;
	pci_dev_warn(d, prob, "%s capability at %#x runs past %#x, ignored", name, off, end - 1);
	return false;
}

static void decode_msi(struct pci_dev *d, uint8_t off)
{
	uint16_t ctl = pci_cfg_read16(d->bdf, off + PCI_MSI_FLAGS);
	unsigned mmc = (ctl & PCI_MSI_FLAGS_MMC) >> PCI_MSI_FLAGS_MMC_SHIFT;
	bool is64 = ctl & PCI_MSI_FLAGS_64BIT, mask = ctl & PCI_MSI_FLAGS_MASKBIT;
	uint16_t size = mask ? (is64 ? PCI_MSI_SIZE_64_MASK : PCI_MSI_SIZE_32_MASK)
			     : (is64 ? PCI_MSI_SIZE_64 : PCI_MSI_SIZE_32);
	struct pci_msi *m = &d->msi;

	if (!fits(d, PCI_PROB_MSI, "MSI", off, size, PCI_CFG_SIZE))
		return;
	if (mmc > PCI_MSI_MMC_MAX) {
		/* Reserved encodings: rely only on the one message every MSI function has. */
		pci_dev_warn(d, PCI_PROB_MSI, "MSI at %#x has reserved Multiple Message Capable %u, "
			     "using 1 message", off, mmc);
		mmc = 0;
	}
	m->cap = off;
	m->messages = (uint8_t)(1u << mmc);
	m->addr64 = is64;
	m->maskable = mask;
	m->data = off + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
	if (mask) {
		m->mask = off + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
		m->pending = off + (is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
	}
}

static void decode_msix(struct pci_dev *d, uint8_t off)
{
	uint32_t table, pba;

	if (!fits(d, PCI_PROB_MSIX, "MSI-X", off, PCI_MSIX_SIZE, PCI_CFG_SIZE))
		return;
	table = pci_cfg_read32(d->bdf, off + PCI_MSIX_TABLE);
	pba = pci_cfg_read32(d->bdf, off + PCI_MSIX_PBA);
	d->msix.cap = off;
	d->msix.entries = (pci_cfg_read16(d->bdf, off + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
	d->msix.table_bir = table & PCI_MSIX_BIR;
	d->msix.table_off = table & PCI_MSIX_OFFSET;
	d->msix.pba_bir = pba & PCI_MSIX_BIR;
	d->msix.pba_off = pba & PCI_MSIX_OFFSET;
}

static bool is_downstream_port(uint8_t type)
{
	return type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM;
}

static void decode_exp(struct pci_dev *d, uint8_t off)
{
	uint16_t flags;

	if (!fits(d, PCI_PROB_CAPS, "PCI Express", off, PCI_EXP_SIZE_MIN, PCI_CFG_SIZE))
		return;
	flags = pci_cfg_read16(d->bdf, off + PCI_EXP_FLAGS);
	d->exp.cap = off;
	d->exp.version = flags & PCI_EXP_FLAGS_VERS;
	d->exp.type = (flags & PCI_EXP_FLAGS_TYPE) >> PCI_EXP_FLAGS_TYPE_SHIFT;
	d->exp.phantom = (pci_cfg_read32(d->bdf, off + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_PHANTOM) &&
			 (pci_cfg_read16(d->bdf, off + PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_PHANTOM);
	/* Device Control 2 exists from capability version 2 on (PCIe §7.8). */
	if (d->exp.version < 2 || !is_downstream_port(d->exp.type))
		return;
	if (fits(d, PCI_PROB_CAPS, "PCI Express (Device Control 2)", off, PCI_EXP_DEVCTL2 + 2,
		 PCI_CFG_SIZE))
		d->exp.ari_fwd = pci_cfg_read16(d->bdf, off + PCI_EXP_DEVCTL2) & PCI_EXP_DEVCTL2_ARI;
}

static void decode_ssvid(struct pci_dev *d, uint8_t off)
{
	/* Bridges have no subsystem ids in the header; this capability carries them. */
	if (d->hdr_type != PCI_HEADER_BRIDGE || !fits(d, PCI_PROB_CAPS, "SSVID", off,
						       PCI_SSVID_SIZE, PCI_CFG_SIZE))
		return;
	d->subsys_vendor = pci_cfg_read16(d->bdf, off + PCI_SSVID_VENDOR);
	d->subsys_device = pci_cfg_read16(d->bdf, off + PCI_SSVID_DEVICE);
}

static void decode_std(struct pci_dev *d, uint8_t id, uint8_t off)
{
	switch (id) {
	case PCI_CAP_ID_PM:
		if (!d->pm_cap && fits(d, PCI_PROB_CAPS, "power management", off, PCI_PM_SIZE,
				       PCI_CFG_SIZE))
			d->pm_cap = off;
		break;
	case PCI_CAP_ID_MSI:
		if (!d->msi.cap)
			decode_msi(d, off);
		break;
	case PCI_CAP_ID_MSIX:
		if (!d->msix.cap)
			decode_msix(d, off);
		break;
	case PCI_CAP_ID_EXP:
		if (!d->exp.cap)
			decode_exp(d, off);
		break;
	case PCI_CAP_ID_SSVID:
		decode_ssvid(d, off);
		break;
	}
}

static void walk_std(struct pci_dev *d)
{
	uint64_t seen[STD_DWORDS / 64] = { 0 };
	uint16_t status = pci_cfg_read16(d->bdf, PCI_STATUS);
	uint8_t reg = d->hdr_type == PCI_HEADER_CARDBUS ? PCI_CARDBUS_CAP_PTR : PCI_CAP_PTR;
	uint8_t off, id;

	if (status == 0xffff || !(status & PCI_STATUS_CAP_LIST))
		return;
	off = pci_cfg_read8(d->bdf, reg) & PCI_CAP_PTR_MASK;
	while (off) {
		if (off < PCI_CAP_FIRST) {
			pci_dev_warn(d, PCI_PROB_CAPS, "capability pointer %#x is inside the header, "
				     "list cut", off);
			return;
		}
		if (seen_test_and_set(seen, off)) {
			pci_dev_warn(d, PCI_PROB_CAPS, "capability list loops back to %#x, list cut",
				     off);
			return;
		}
		id = pci_cfg_read8(d->bdf, off + PCI_CAP_ID);
		if (id == 0xff) {
			pci_dev_warn(d, PCI_PROB_CAPS, "capability at %#x reads all ones, list cut",
				     off);
			return;
		}
		decode_std(d, id, off);
		off = pci_cfg_read8(d->bdf, off + PCI_CAP_NEXT) & PCI_CAP_PTR_MASK;
	}
}

static void decode_ext(struct pci_dev *d, uint16_t id, uint16_t off)
{
	struct pci_ext_caps *e = &d->ext;
	struct pci_bdf b = d->bdf;

	switch (id) {
	case PCI_EXT_CAP_ID_ACS:
		if (!e->acs && fits(d, PCI_PROB_EXTCAPS, "ACS", off, PCI_ACS_SIZE, PCI_CFG_EXT_SIZE)) {
			e->acs = off;
			e->acs_caps = pci_cfg_read16(b, off + PCI_ACS_CAP);
			e->acs_ctrl = pci_cfg_read16(b, off + PCI_ACS_CTRL);
		}
		break;
	case PCI_EXT_CAP_ID_ARI:
		if (!e->ari && fits(d, PCI_PROB_EXTCAPS, "ARI", off, PCI_ARI_SIZE, PCI_CFG_EXT_SIZE)) {
			e->ari = off;
			e->ari_next_fn = (pci_cfg_read16(b, off + PCI_ARI_CAP) & PCI_ARI_CAP_NFN) >>
					 PCI_ARI_CAP_NFN_SHIFT;
		}
		break;
	case PCI_EXT_CAP_ID_ATS:
		if (!e->ats && fits(d, PCI_PROB_EXTCAPS, "ATS", off, PCI_ATS_SIZE, PCI_CFG_EXT_SIZE)) {
			unsigned q = pci_cfg_read16(b, off + PCI_ATS_CAP) & PCI_ATS_CAP_QDEP;
			e->ats = off;
			e->ats_qdepth = q ? q : 32;     /* ATS 1.1 §5.1: 0 encodes 32 */
		}
		break;
	case PCI_EXT_CAP_ID_SRIOV:
		if (!e->sriov && fits(d, PCI_PROB_EXTCAPS, "SR-IOV", off, PCI_SRIOV_SIZE,
				      PCI_CFG_EXT_SIZE)) {
			e->sriov = off;
			e->sriov_total_vfs = pci_cfg_read16(b, off + PCI_SRIOV_TOTAL_VF);
			e->sriov_vf_offset = pci_cfg_read16(b, off + PCI_SRIOV_VF_OFFSET);
			e->sriov_vf_stride = pci_cfg_read16(b, off + PCI_SRIOV_VF_STRIDE);
			e->sriov_vf_device = pci_cfg_read16(b, off + PCI_SRIOV_VF_DID);
		}
		break;
	}
}

static void walk_ext(struct pci_dev *d)
{
	uint64_t seen[EXT_DWORDS / 64] = { 0 };
	uint16_t off = PCI_EXT_CAP_FIRST;
	uint32_t hdr;

	while (off) {
		if (off < PCI_EXT_CAP_FIRST) {
			pci_dev_warn(d, PCI_PROB_EXTCAPS, "extended capability pointer %#x is below "
				     "%#x, list cut", off, PCI_EXT_CAP_FIRST);
			return;
		}
		if (seen_test_and_set(seen, off)) {
			pci_dev_warn(d, PCI_PROB_EXTCAPS, "extended capability list loops back to "
				     "%#x, list cut", off);
			return;
		}
		hdr = pci_cfg_read32(d->bdf, off);
		/* 0 at 0x100 means no extended capabilities; all ones: none reachable. */
		if (hdr == 0 || hdr == 0xffffffff) {
			if (off != PCI_EXT_CAP_FIRST)
				pci_dev_warn(d, PCI_PROB_EXTCAPS, "extended capability at %#x reads "
					     "%#x, list cut", off, hdr);
			return;
		}
		decode_ext(d, hdr & PCI_EXT_CAP_ID, off);
		off = (hdr >> PCI_EXT_CAP_NEXT_SHIFT) & PCI_EXT_CAP_PTR_MASK;
	}
}

void pci_caps_read(struct pci_dev *d)
{
	walk_std(d);
	/* Only PCI Express functions have the extended space (PCIe §7.2.2). */
	if (d->exp.cap)
		walk_ext(d);
}

/* Does [off, off+len) lie inside an implemented memory BAR bir of d? */
static bool in_bar(struct pci_dev *d, const char *what, uint8_t bir, uint32_t off, uint32_t len)
{
	const struct pci_bar *bar;

	if (bir > PCI_MSIX_BIR_MAX || bir >= d->nbars) {
		pci_dev_warn(d, PCI_PROB_MSIX, "MSI-X %s BIR %u is not a BAR of this header", what,
			     bir);
		return false;
	}
	bar = &d->bar[bir];
	if (!bar->size || (bar->flags & (PCI_BAR_F_IO | PCI_BAR_F_UPPER))) {
		pci_dev_warn(d, PCI_PROB_MSIX, "MSI-X %s is in BAR%u, not an implemented memory "
			     "BAR", what, bir);
		return false;
	}
	if ((uint64_t)off + len > bar->size) {
		pci_dev_warn(d, PCI_PROB_MSIX, "MSI-X %s %#x+%#x runs past BAR%u (size %#llx)",
			     what, off, len, bir, (unsigned long long)bar->size);
		return false;
	}
	return true;
}

void pci_msix_check(struct pci_dev *d)
{
	const struct pci_msix *m = &d->msix;
	/* One pending bit per entry, in whole qwords (PCI LB §6.8.2). */
	uint32_t pba_len = ALIGN_UP((uint32_t)m->entries, 64u) / 8;

	if (!m->cap)
		return;
	in_bar(d, "table", m->table_bir, m->table_off, m->entries * PCI_MSIX_ENTRY_SIZE);
	in_bar(d, "PBA", m->pba_bir, m->pba_off, pba_len);
}
