#include "tests/selftest/dev/e1000e.h"
#include "kernel/arch/mmio.h"
#include "kernel/cpu/time.h"
#include "kernel/lib/error.h"
#include "pci/pci.h"

/* 82574 datasheet 10.2: registers of BAR0. */
#define E1000E_CTRL_EXT         0x18
#define  E1000E_CTRL_EXT_IAME   BIT(27)         /* interrupt acknowledge auto-mask */
#define E1000E_ICR              0xc0            /* read or write 1s: clears causes */
#define E1000E_ICS              0xc8
#define E1000E_IMS              0xd0
#define E1000E_EIAC             0xdc
#define E1000E_IVAR             0xe4
#define  E1000E_IVAR_VALID      0x8             /* per 4-bit field: entry in bits 2:0 */
#define E1000E_CAUSE_SHIFT      20              /* ICS bits 20..24: RxQ0, RxQ1, TxQ0, TxQ1, Other */
#define E1000E_CAUSES           GENMASK(24, 20)
#define E1000E_REGS_SIZE        0x1000
#define E1000E_SPACING_US       5000            /* QEMU throttles each vector to one per 128 us */

bool e1000e_match(const struct pci_dev *d)
{
	return d->vendor == E1000E_VENDOR && d->device == E1000E_DEVICE;
}

int e1000e_open(struct e1000e *e, struct pci_dev *d)
{
	if (!d->bar[0].addr || (d->bar[0].flags & PCI_BAR_F_IO))
		return E_NOENT;
	volatile uint8_t *regs = mmio_map(d->bar[0].addr, E1000E_REGS_SIZE);
	if (!regs)
		return E_NOMEM;
	*e = (struct e1000e){ .dev = d, .regs = regs };
	/* Messages need Bus Master Enable; its DMA is not used (and, without a domain, faults). */
	uint16_t cmd = pci_cfg_read16(d->bdf, PCI_COMMAND);
	pci_cfg_write16(d->bdf, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	uint32_t ivar = 0;
	for (unsigned k = 0; k < E1000E_MSGS; k++)
		ivar |= (E1000E_IVAR_VALID | k) << (4 * k);
	mmio_write32(regs + E1000E_IVAR, ivar);
	mmio_write32(regs + E1000E_EIAC, E1000E_CAUSES);
	mmio_write32(regs + E1000E_CTRL_EXT, mmio_read32(regs + E1000E_CTRL_EXT) |
		     E1000E_CTRL_EXT_IAME);
	/* Causes left over from reset would be sent (or left pending) once unmasked. */
	mmio_write32(regs + E1000E_ICR, ~0u);
	(void)mmio_read32(regs + E1000E_ICR);
	mmio_write32(regs + E1000E_IMS, E1000E_CAUSES);
	return 0;
}

void e1000e_raise(struct e1000e *e, unsigned k)
{
	/* One write per vector per 128 us of guest time, or QEMU postpones and then doubles. */
	uint64_t since = time_since_boot_us() - e->last_raise_us[k];
	if (since < E1000E_SPACING_US)
		time_delay_us(E1000E_SPACING_US - since);
	mmio_write32(e->regs + E1000E_ICS, BIT(E1000E_CAUSE_SHIFT + k));
	e->last_raise_us[k] = time_since_boot_us();
}
