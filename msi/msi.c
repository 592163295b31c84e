#include "msi/msi.h"
#include "iommu/ir_table.h"
#include "iommu/unit.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/arch/msi_msg.h"
#include "pci/pci.h"

/* PCI LB 3.0 6.8.2: MSI-X table entry fields. */
#define MSIX_ADDR_LO            0x0
#define MSIX_ADDR_HI            0x4
#define MSIX_DATA               0x8
#define MSIX_VECTOR_CTRL        0xc
#define  MSIX_VECTOR_MASKED     BIT(0)
#define MSI_MASK_ALL            0xffffffffu
#define MSI_MME_SHIFT           4       /* Message Control: Multiple Message Enable 6:4 */

static struct msi_dev devs[PCI_MAX_DEVS];

struct msi_dev *msi_dev_of(const struct pci_dev *d)
{
	int i = pci_dev_index(d);
	return i >= 0 && i < PCI_MAX_DEVS && devs[i].kind != MSI_KIND_NONE ? &devs[i] : NULL;
}

unsigned msi_capacity(const struct pci_dev *d)
{
	return d->msix.cap ? d->msix.entries : d->msi.cap ? d->msi.messages : 0;
}

static const char *bdf(const struct msi_dev *md, char *buf)
{
	return pci_bdf_fmt(buf, md->dev->bdf);
}

static struct msi_msg message(uint16_t handle)
{
	struct msi_remap r = { .handle = handle, .shv = true, .subhandle = 0 };
	return msi_remap_encode(&r).m;
}

/* ---- MSI ---------------------------------------------------------------------------------- */

static void msi_write_msg(const struct msi_dev *md, struct msi_msg m)
{
	const struct pci_msi *c = &md->dev->msi;
	struct pci_bdf b = md->dev->bdf;

	pci_cfg_write32(b, c->cap + PCI_MSI_ADDR_LO, m.addr_lo);
	if (c->addr64)
		pci_cfg_write32(b, c->cap + PCI_MSI_ADDR_HI, m.addr_hi);
	pci_cfg_write16(b, c->data, (uint16_t)m.data);
}

static void msi_program(struct msi_dev *md, unsigned order)
{
	const struct pci_msi *c = &md->dev->msi;
	struct pci_bdf b = md->dev->bdf;
	uint16_t ctrl = pci_cfg_read16(b, c->cap + PCI_MSI_FLAGS);

	ctrl &= (uint16_t)~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_MME);
	pci_cfg_write16(b, c->cap + PCI_MSI_FLAGS, ctrl);
	if (c->maskable)
		pci_cfg_write32(b, c->mask, MSI_MASK_ALL);
	msi_write_msg(md, message((uint16_t)md->irte));
	ctrl |= (uint16_t)(order << MSI_MME_SHIFT);
	pci_cfg_write16(b, c->cap + PCI_MSI_FLAGS, ctrl);
	pci_cfg_write16(b, c->cap + PCI_MSI_FLAGS, ctrl | PCI_MSI_FLAGS_ENABLE);
}

struct msi_cap_state msi_cap_read(const struct msi_dev *md)
{
	const struct pci_msi *c = &md->dev->msi;
	struct pci_bdf b = md->dev->bdf;
	struct msi_cap_state s = { 0 };

	if (md->kind != MSI_KIND_MSI)
		return s;
	s.ctrl = pci_cfg_read16(b, c->cap + PCI_MSI_FLAGS);
	s.addr_lo = pci_cfg_read32(b, c->cap + PCI_MSI_ADDR_LO);
	s.addr_hi = c->addr64 ? pci_cfg_read32(b, c->cap + PCI_MSI_ADDR_HI) : 0;
	s.data = pci_cfg_read16(b, c->data);
	s.mask = c->maskable ? pci_cfg_read32(b, c->mask) : 0;
	return s;
}

/* ---- MSI-X -------------------------------------------------------------------------------- */

static volatile uint8_t *entry(const struct msi_dev *md, unsigned k)
{
	return md->table + k * PCI_MSIX_ENTRY_SIZE;
}

static void msix_ctrl(const struct msi_dev *md, uint16_t set, uint16_t clear)
{
	uint8_t cap = md->dev->msix.cap;
	uint16_t ctrl = pci_cfg_read16(md->dev->bdf, cap + PCI_MSIX_FLAGS);

	pci_cfg_write16(md->dev->bdf, cap + PCI_MSIX_FLAGS, (uint16_t)((ctrl | set) & ~clear));
}

static void msix_write_entries(const struct msi_dev *md, uint16_t handle)
{
	struct msi_msg m = message(handle);

	/* 6.8.2: entries change only while the function is masked. */
	msix_ctrl(md, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0);
	for (unsigned k = 0; k < md->dev->msix.entries; k++) {
		volatile uint8_t *e = entry(md, k);
		mmio_write32(e + MSIX_VECTOR_CTRL, mmio_read32(e + MSIX_VECTOR_CTRL) |
			     MSIX_VECTOR_MASKED);
		if (k >= md->n)
			continue;
		mmio_write32(e + MSIX_ADDR_LO, m.addr_lo);
		mmio_write32(e + MSIX_ADDR_HI, m.addr_hi);
		mmio_write32(e + MSIX_DATA, k);         /* subhandle: IRTE handle + k */
	}
	msix_ctrl(md, 0, PCI_MSIX_FLAGS_MASKALL);
}

static int msix_map(struct msi_dev *md)
{
	const struct pci_dev *d = md->dev;
	const struct pci_msix *x = &d->msix;
	char s[PCI_BDF_STRLEN];

	if ((d->problems & PCI_PROB_MSIX) || !d->bar[x->table_bir].addr ||
	    !d->bar[x->pba_bir].addr) {
		log_warn("msi %s: MSI-X table or PBA is not in an assigned BAR", bdf(md, s));
		return E_INVAL;
	}
	md->table = mmio_map(d->bar[x->table_bir].addr + x->table_off,
			     (size_t)x->entries * PCI_MSIX_ENTRY_SIZE);
	md->pba = mmio_map(d->bar[x->pba_bir].addr + x->pba_off,
			   (size_t)(x->entries + 63) / 64 * 8);
	return md->table && md->pba ? 0 : E_NOMEM;
}

/* ---- both --------------------------------------------------------------------------------- */

bool msi_can_mask(const struct msi_dev *md)
{
	return md->kind == MSI_KIND_MSIX || (md->kind == MSI_KIND_MSI && md->dev->msi.maskable);
}

bool msi_mask(struct msi_dev *md, unsigned k, bool masked)
{
	if (k >= md->n || !msi_can_mask(md))
		return false;
	if (md->kind == MSI_KIND_MSIX) {
		volatile uint8_t *e = entry(md, k);
		uint32_t v = mmio_read32(e + MSIX_VECTOR_CTRL);
		mmio_write32(e + MSIX_VECTOR_CTRL, masked ? v | MSIX_VECTOR_MASKED :
			     v & ~MSIX_VECTOR_MASKED);
		(void)mmio_read32(e + MSIX_VECTOR_CTRL);        /* the write has landed */
		return true;
	}
	const struct pci_msi *c = &md->dev->msi;
	uint32_t v = pci_cfg_read32(md->dev->bdf, c->mask);
	pci_cfg_write32(md->dev->bdf, c->mask, masked ? v | BIT(k) : v & ~BIT(k));
	return true;
}

/* Messages instead of INTx. Bus Master Enable, without which a function sends no message, is
 * not ours to set: it is DMA too, and goes on only where DMA is confined (the guest side). */
static void command_on(struct pci_dev *d)
{
	uint16_t cmd = pci_cfg_read16(d->bdf, PCI_COMMAND);
	pci_cfg_write16(d->bdf, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
}

int msi_enable(struct pci_dev *d, unsigned n, struct msi_dev **out)
{
	int i = pci_dev_index(d);
	char s[PCI_BDF_STRLEN];
	struct ir_table *ir = ir_table_for(d);

	pci_bdf_fmt(s, d->bdf);
	if (i < 0 || i >= PCI_MAX_DEVS || !ir || (!d->msi.cap && !d->msix.cap)) {
		log_warn("msi %s: %s", s, !ir ? "no interrupt remapping covers it" :
			 "no MSI or MSI-X capability");
		return E_NOSYS;
	}
	struct msi_dev *md = &devs[i];
	if (md->kind != MSI_KIND_NONE)
		return E_BUSY;
	enum msi_kind kind = d->msix.cap ? MSI_KIND_MSIX : MSI_KIND_MSI;
	unsigned max = kind == MSI_KIND_MSIX ? d->msix.entries : d->msi.messages;
	if (!n || n > max) {
		log_warn("msi %s: %u messages asked for, it has %u", s, n, max);
		return E_RANGE;
	}
	struct pci_dev *br = d->alias_bridge != PCI_NONE ? pci_dev_at((size_t)d->alias_bridge)
							   : NULL;
	*md = (struct msi_dev){ .dev = d, .ir = ir, .kind = kind, .n = n,
				.block = irte_block_size(n), .src = ir_source_of(d, br) };
	int index = ir_alloc(ir, md->block);
	int err = index < 0 ? index : kind == MSI_KIND_MSIX ? msix_map(md) : 0;
	if (err) {
		if (index >= 0 && ir_free(ir, (unsigned)index, md->block))
			log_warn("msi %s: IRTE block not freed", s);
		md->kind = MSI_KIND_NONE;
		return err;
	}
	md->irte = (unsigned)index;
	command_on(d);
	if (kind == MSI_KIND_MSIX) {
		msix_write_entries(md, (uint16_t)md->irte);
	} else {
		/* A multi-message block must be all the device may use: MME = log2(block). */
		md->n = md->block;
		msi_program(md, irte_block_order(md->block));
	}
	log_info("msi %s: %s, %u message(s) on IRTEs %u..%u of unit %u (svt %u sid 0x%x)", s,
		 kind == MSI_KIND_MSIX ? "MSI-X" : "MSI", md->n, md->irte,
		 md->irte + md->block - 1, ir->u->index, md->src.svt, md->src.sid);
	*out = md;
	return 0;
}

void msi_disable(struct msi_dev *md)
{
	char s[PCI_BDF_STRLEN];

	if (md->kind == MSI_KIND_MSIX) {
		msix_ctrl(md, PCI_MSIX_FLAGS_MASKALL, 0);
		msix_ctrl(md, 0, PCI_MSIX_FLAGS_ENABLE);
	} else if (md->kind == MSI_KIND_MSI) {
		uint8_t cap = md->dev->msi.cap;
		uint16_t ctrl = pci_cfg_read16(md->dev->bdf, cap + PCI_MSI_FLAGS);
		pci_cfg_write16(md->dev->bdf, cap + PCI_MSI_FLAGS,
				(uint16_t)(ctrl & ~PCI_MSI_FLAGS_ENABLE));
	} else {
		return;
	}
	if (ir_free(md->ir, md->irte, md->block))
		log_warn("msi %s: its IRTE block was not cleanly freed", bdf(md, s));
	md->kind = MSI_KIND_NONE;
}
