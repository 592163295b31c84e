/*
 * The PCI function table: what enumeration found about every function, for the layers above
 * (IOMMU context entries and source-id checks, MSI/MSI-X programming, guests' BAR mappings).
 *
 * pci_init() fills it once at boot; afterwards it is read-only, so lookups need no lock.
 */
#ifndef COURIER_PCI_PCI_H
#define COURIER_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pci/bdf.h"
#include "pci/cfg.h"
#include "pci/regs.h"

#define PCI_MAX_DEVS 256
#define PCI_NONE     (-1)       /* no table index: no bridge above, no alias */

/* struct pci_bar.flags */
#define PCI_BAR_F_IO       BIT(0)
#define PCI_BAR_F_MEM64    BIT(1)       /* this slot and the next form one BAR */
#define PCI_BAR_F_PREFETCH BIT(2)
#define PCI_BAR_F_UPPER    BIT(3)       /* the upper half of the 64-bit BAR before it */

struct pci_bar {
	uint64_t addr;          /* as firmware assigned it */
	uint64_t size;          /* 0: slot not implemented (or unusable, see problems) */
	uint8_t flags;
};

struct pci_msi {
	uint8_t cap;            /* config offset of the capability; 0: none */
	uint8_t messages;       /* Multiple Message Capable: 1, 2, 4, ... 32 */
	bool addr64;
	bool maskable;          /* per-vector masking */
	uint8_t data;           /* config offsets of Message Data, Mask and Pending bits */
	uint8_t mask;           /* 0 unless maskable */
	uint8_t pending;
};

struct pci_msix {
	uint8_t cap;            /* config offset of the capability; 0: none */
	uint16_t entries;       /* table size, 1..2048 */
	uint8_t table_bir;      /* BAR index holding the table ... */
	uint8_t pba_bir;
	uint32_t table_off;     /* ... and the offset in it */
	uint32_t pba_off;
};

struct pci_exp {
	uint8_t cap;            /* config offset of the PCI Express capability; 0: conventional */
	uint8_t version;
	uint8_t type;           /* device/port type, PCI_EXP_TYPE_* */
	bool ari_fwd;           /* a downstream/root port with ARI Forwarding Enable set */
	bool phantom;           /* Phantom Functions Enable set: it may send with other
				 * function numbers of its device */
};

struct pci_ext_caps {           /* extended capabilities; offsets 0 when absent */
	uint16_t acs;
	uint16_t acs_caps;      /* ACS Capability register */
	uint16_t acs_ctrl;      /* ACS Control register as found at enumeration */
	uint16_t ari;
	uint8_t ari_next_fn;
	uint16_t ats;
	uint8_t ats_qdepth;     /* invalidate queue depth, 1..32 */
	uint16_t sriov;
	uint16_t sriov_total_vfs;
	uint16_t sriov_vf_offset;
	uint16_t sriov_vf_stride;
	uint16_t sriov_vf_device;
};

/* struct pci_dev.problems: what did not add up while reading the function (all logged). */
#define PCI_PROB_CAPS    BIT(0) /* capability list looped or pointed outside; cut */
#define PCI_PROB_EXTCAPS BIT(1) /* the same for the extended list */
#define PCI_PROB_BAR     BIT(2) /* a BAR read all ones, had a reserved type or an odd mask */
#define PCI_PROB_MSI     BIT(3) /* MSI capability out of range or with a reserved count */
#define PCI_PROB_MSIX    BIT(4) /* MSI-X table or PBA not inside an implemented BAR */
#define PCI_PROB_BUS     BIT(5) /* bridge bus numbers do not add up; see the log */
#define PCI_PROB_ARI     BIT(6) /* ARI next-function chain broken */
#define PCI_PROB_HEADER  BIT(7) /* unknown header type: ids only */

struct pci_dev {
	struct pci_bdf bdf;
	uint16_t vendor;
	uint16_t device;
	uint16_t subsys_vendor;
	uint16_t subsys_device;
	uint32_t class;         /* base class 23:16, subclass 15:8, programming interface 7:0 */
	uint8_t revision;
	uint8_t hdr_type;       /* PCI_HEADER_NORMAL, _BRIDGE, _CARDBUS (without bit 7) */
	bool multifn;
	uint8_t depth;          /* bridges between it and its root bus */

	/* The requester id of its own requests, and the one the IOMMU sees on its DMA and MSIs:
	 * different behind a PCIe-to-PCI bridge or a conventional PCI bridge, which take the
	 * requests over (VT-d, "Identifying Origination of DMA Requests" and of interrupt
	 * requests; PCIe-to-PCI/PCI-X Bridge 1.0 §2.3). alias_bridge is the
	 * table index of the bridge whose id or secondary bus makes the alias. */
	uint16_t sid;
	uint16_t dma_alias;
	int alias_bridge;
	int upstream;           /* table index of the bridge it sits behind; PCI_NONE: root bus */

	/* Type 1 headers only. */
	uint8_t pri_bus;
	uint8_t sec_bus;
	uint8_t sub_bus;

	uint8_t nbars;          /* BAR slots its header type has: 6, 2 or 1 */
	struct pci_bar bar[PCI_NORMAL_BARS];

	uint8_t pm_cap;         /* config offset of power management; 0: none */
	struct pci_msi msi;
	struct pci_msix msix;
	struct pci_exp exp;
	struct pci_ext_caps ext;
	uint16_t problems;      /* PCI_PROB_* */
};

/* Config, enumeration and the boot report (console table and one `@pci` record per
 * function). regions come from MCFG; n == 0 falls back to the port mechanism. Returns the
 * number of functions found or a negative E_* code. */
int pci_init(const struct pci_ecam *regions, size_t n);

struct pci_dev *pci_find(struct pci_bdf bdf);
size_t pci_dev_count(void);
struct pci_dev *pci_dev_at(size_t i);           /* NULL past the end */
int pci_dev_index(const struct pci_dev *d);
/* The bridge it sits behind; NULL on a root bus. */
struct pci_dev *pci_dev_upstream(const struct pci_dev *d);

static inline bool pci_dev_is_bridge(const struct pci_dev *d)
{
	return d->hdr_type == PCI_HEADER_BRIDGE;
}

/* ---- for the pci/ files ---- */

/* Empties the table (boot, and between host tests). */
void pci_table_reset(void);
/* A cleared entry for bdf, or NULL (logged once) when the table is full. */
struct pci_dev *pci_dev_new(struct pci_bdf bdf);

/* Logs "pci SSSS:BB:DD.F: <message>" as a warning and records prob (PCI_PROB_*) on d. */
void pci_dev_warn(struct pci_dev *d, uint16_t prob, const char *fmt, ...) __printf(3, 4);

/* pci/caps.c: both capability lists, bounded; MSI-X placement is checked by pci_msix_check()
 * once the BARs are known. */
void pci_caps_read(struct pci_dev *d);
void pci_msix_check(struct pci_dev *d);

/* pci/bar.c: sizes the header's BAR slots. */
void pci_bars_read(struct pci_dev *d);

/* pci/enum.c: walks every root bus of every region; returns the number of functions found. */
int pci_enumerate(const struct pci_ecam *regions, size_t n);

/* pci/report.c: the console table and the `@pci` records. */
void pci_report(void);

#endif
