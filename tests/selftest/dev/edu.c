#include "tests/selftest/dev/edu.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/cpu/time.h"
#include "pci/pci.h"

/* QEMU hw/misc/edu.c: the register block in BAR0. */
#define EDU_REG_ID              0x00
#define EDU_REG_LIVENESS        0x04    /* reads back the complement of what was written */
#define EDU_REG_IRQ_RAISE       0x60
#define EDU_REG_IRQ_ACK         0x64
#define EDU_REG_DMA_SRC         0x80    /* 64-bit */
#define EDU_REG_DMA_DST         0x88
#define EDU_REG_DMA_COUNT       0x90
#define EDU_REG_DMA_CMD         0x98
#define  EDU_DMA_RUN            BIT(0)  /* cleared by the device when the copy is done */
#define  EDU_DMA_TO_RAM         BIT(1)  /* direction: buffer -> RAM */
#define EDU_ID_MAGIC_MASK       0xffff
#define EDU_ID_MAGIC            0x00ed
#define EDU_REGS_SIZE           0x1000
#define EDU_DMA_TIMEOUT_US      5000000 /* the device runs a copy 100 ms after the command */
#define EDU_LIVENESS_PROBE      0x5a5aa5a5u

bool edu_match(const struct pci_dev *d)
{
	return d->vendor == EDU_VENDOR && d->device == EDU_DEVICE;
}

int edu_open(struct edu *e, struct pci_dev *d)
{
	char s[PCI_BDF_STRLEN];

	e->dev = d;
	if (!d->bar[0].size || (d->bar[0].flags & PCI_BAR_F_IO) || !d->bar[0].addr) {
		log_err("edu %s: BAR0 is not an assigned memory BAR", pci_bdf_fmt(s, d->bdf));
		return E_INVAL;
	}
	e->regs = mmio_map(d->bar[0].addr, EDU_REGS_SIZE);
	if (!e->regs)
		return E_NOMEM;
	uint16_t cmd = pci_cfg_read16(d->bdf, PCI_COMMAND);
	pci_cfg_write16(d->bdf, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	mmio_write32(e->regs + EDU_REG_LIVENESS, EDU_LIVENESS_PROBE);
	uint32_t id = mmio_read32(e->regs + EDU_REG_ID);
	if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC ||
	    mmio_read32(e->regs + EDU_REG_LIVENESS) != ~EDU_LIVENESS_PROBE) {
		log_err("edu %s: does not answer (id 0x%x)", pci_bdf_fmt(s, d->bdf), id);
		return E_INVAL;
	}
	return 0;
}

int edu_dma(struct edu *e, uint64_t bus, uint32_t count, bool to_ram)
{
	uint64_t deadline = time_since_boot_us() + EDU_DMA_TIMEOUT_US;

	/* QEMU 7.2's range check is off by one: a transfer of the whole buffer aborts it. */
	if (count >= EDU_BUF_SIZE)
		return E_RANGE;
	mmio_write64(e->regs + EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR : bus);
	mmio_write64(e->regs + EDU_REG_DMA_DST, to_ram ? bus : EDU_BUF_ADDR);
	mmio_write64(e->regs + EDU_REG_DMA_COUNT, count);
	mmio_write64(e->regs + EDU_REG_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	while (mmio_read64(e->regs + EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		if (time_since_boot_us() > deadline) {
			char s[PCI_BDF_STRLEN];
			log_err("edu %s: DMA not done within %u ms", pci_bdf_fmt(s, e->dev->bdf),
				EDU_DMA_TIMEOUT_US / 1000);
			return E_TIMEOUT;
		}
		time_delay_us(1000);
	}
	return 0;
}

void edu_irq_raise(struct edu *e, uint32_t v)
{
	mmio_write32(e->regs + EDU_REG_IRQ_RAISE, v);
}

void edu_irq_ack(struct edu *e, uint32_t v)
{
	mmio_write32(e->regs + EDU_REG_IRQ_ACK, v);
}
