/*
 * A function's interrupt messages, programmed by the hypervisor in remappable format (VT-d
 * spec 5.1.5.2): one naturally aligned block of IRTEs per function, message k selecting
 * IRTE base + k through the subhandle.
 *
 * MSI (PCI Local Bus 3.0 6.8.1): address = handle base with SHV, data = 0; with Multiple
 * Message Enable = 2^m the device puts the message number in the low m bits of the data, so
 * message k selects base + k and the block is exactly 2^m entries. MSI-X (6.8.2): entry k gets
 * the same address and data = k, written while the function is masked; each entry stays
 * masked until a route unmasks it. MSI-X is used where a function has both. INTx goes off.
 * Bus Master Enable, without which a function sends no messages, is left as it is: it also
 * lets the function DMA, so only the owner that confined its DMA turns it on.
 *
 * The IRTEs stay not present until msi/route.c fills them in; unrouted messages of a function
 * that cannot mask them fault at the IOMMU.
 */
#ifndef COURIER_MSI_MSI_H
#define COURIER_MSI_MSI_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/ir_source.h"

struct pci_dev;
struct ir_table;

enum msi_kind { MSI_KIND_NONE, MSI_KIND_MSI, MSI_KIND_MSIX };

#define MSI_MAX_MESSAGES        32      /* MSI: Multiple Message Capable 5 */

struct msi_dev {
	struct pci_dev *dev;
	struct ir_table *ir;
	enum msi_kind kind;
	unsigned n;                     /* messages enabled: 0..n-1 */
	unsigned block;                 /* IRTEs in the block: irte_block_size(n) */
	unsigned irte;                  /* the block's first index: message k uses irte + k */
	struct ir_source src;           /* source-id check of every entry of the block */
	volatile uint8_t *table;        /* MSI-X table and PBA */
	volatile uint8_t *pba;
};

/* The capability as read back (MSI only). */
struct msi_cap_state {
	uint16_t ctrl;
	uint32_t addr_lo, addr_hi, data;
	uint32_t mask;                  /* 0 without per-vector masking */
};

/*
 * Enable n messages of d (MSI-X where it has it, else MSI with n rounded up to a power of
 * two): allocate the IRTE block on d's unit and program the capability. E_NOSYS (no
 * interrupt remapping for d or no capability), E_RANGE (more than the capability offers),
 * E_BUSY (already enabled), E_NOMEM.
 */
int msi_enable(struct pci_dev *d, unsigned n, struct msi_dev **out) __must_check;
/* Turn the capability off and free the block. Routes of it must be gone. */
void msi_disable(struct msi_dev *md);
struct msi_dev *msi_dev_of(const struct pci_dev *d);
/* The messages d can send: its MSI-X table's entries, else its MSI capability's; 0 without. */
unsigned msi_capacity(const struct pci_dev *d);

/* Mask or unmask message k where the function can (MSI-X, MSI with per-vector masking);
 * returns whether it could. */
bool msi_mask(struct msi_dev *md, unsigned k, bool masked);
bool msi_can_mask(const struct msi_dev *md);

struct msi_cap_state msi_cap_read(const struct msi_dev *md);


#endif
