/*
 * PCI configuration space registers and fields, with the spec's names and bit numbers.
 *
 * References: PCI Local Bus Specification 3.0 (PCI LB), PCI-to-PCI Bridge Architecture 1.2
 * (P2P), PCI Bus Power Management Interface 1.2 (PM), PCI Express Base Specification 3.0 (PCIe),
 * Single Root I/O Virtualization 1.1 (SR-IOV), Address Translation Services 1.1 (ATS).
 */
#ifndef COURIER_PCI_REGS_H
#define COURIER_PCI_REGS_H

#include "kernel/lib/compiler.h"

/* Configuration space sizes: conventional (PCI LB §6.1) and extended (PCIe §7.2.2). */
#define PCI_CFG_SIZE            0x100
#define PCI_CFG_EXT_SIZE        0x1000

/* ---- common header, types 0 and 1 (PCI LB §6.1, §6.2) ---- */
#define PCI_VENDOR_ID           0x00    /* 16 bit; 0xffff: no function (§6.2.1) */
#define  PCI_VENDOR_NONE        0xffff
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04    /* 16 bit, §6.2.2 */
#define  PCI_COMMAND_IO         BIT(0)
#define  PCI_COMMAND_MEMORY     BIT(1)
#define  PCI_COMMAND_MASTER     BIT(2)
#define  PCI_COMMAND_INTX_DISABLE BIT(10)
#define PCI_STATUS              0x06    /* 16 bit, §6.2.3 */
#define  PCI_STATUS_CAP_LIST    BIT(4)
#define PCI_CLASS_REVISION      0x08    /* 32 bit: class code 31:8, revision 7:0 (§6.2.1) */
#define  PCI_CLASS_SHIFT        8
#define PCI_HEADER_TYPE         0x0e    /* 8 bit, §6.2.1 */
#define  PCI_HEADER_TYPE_MASK   GENMASK(6, 0)
#define  PCI_HEADER_MULTIFN     BIT(7)
#define  PCI_HEADER_NORMAL      0
#define  PCI_HEADER_BRIDGE      1
#define  PCI_HEADER_CARDBUS     2
#define PCI_BAR0                0x10    /* 32 bit each, §6.2.5.1 */
#define  PCI_BAR_SPACE_IO       BIT(0)
#define  PCI_BAR_MEM_TYPE       GENMASK(2, 1)
#define   PCI_BAR_MEM_TYPE_32   0
#define   PCI_BAR_MEM_TYPE_1M   1       /* "below 1 MiB", reserved since PCI LB 3.0 */
#define   PCI_BAR_MEM_TYPE_64   2
#define  PCI_BAR_MEM_PREFETCH   BIT(3)
#define  PCI_BAR_MEM_MASK       GENMASK(31, 4)
#define  PCI_BAR_IO_MASK        GENMASK(31, 2)
#define PCI_NORMAL_BARS         6
#define PCI_BRIDGE_BARS         2       /* P2P §3.2 */
#define PCI_CARDBUS_BARS        1       /* the socket register base at 0x10 */
#define PCI_SUBSYS_VENDOR_ID    0x2c    /* 16 bit, type 0 only */
#define PCI_SUBSYS_ID           0x2e
#define PCI_CAP_PTR             0x34    /* 8 bit, types 0 and 1 (§6.7) */
#define PCI_CARDBUS_CAP_PTR     0x14
#define PCI_CARDBUS_SUBSYS_VENDOR_ID 0x40
#define PCI_CARDBUS_SUBSYS_ID   0x42

/* ---- type 1 header: bus numbers (P2P §3.2.5.2 - §3.2.5.4) ---- */
#define PCI_PRIMARY_BUS         0x18
#define PCI_SECONDARY_BUS       0x19
#define PCI_SUBORDINATE_BUS     0x1a

/* ---- class codes (PCI Code and ID Assignment), base class << 16 | sub << 8 | prog-if ---- */
#define PCI_CLASS_BRIDGE_HOST   0x060000
#define PCI_CLASS_BASE_SUB_MASK GENMASK(23, 8)

/* ---- capability list (PCI LB §6.7): 8-bit ID, 8-bit next pointer ---- */
#define PCI_CAP_ID              0x00
#define PCI_CAP_NEXT            0x01
#define  PCI_CAP_PTR_MASK       GENMASK(7, 2)   /* the low two bits are reserved */
#define PCI_CAP_FIRST           0x40            /* capabilities live after the header */
#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_SSVID        0x0d            /* bridge subsystem ids (P2P, SSVID cap) */
#define PCI_CAP_ID_EXP          0x10
#define PCI_CAP_ID_MSIX         0x11

/* Power management (PM §3.2): capabilities and control/status. */
#define PCI_PM_PMC              0x02
#define  PCI_PM_PMC_VERSION     GENMASK(2, 0)
#define PCI_PM_CTRL             0x04
#define PCI_PM_SIZE             8

/* MSI (PCI LB §6.8.1): the layout after Message Control depends on 64-bit and masking. */
#define PCI_MSI_FLAGS           0x02    /* Message Control, 16 bit */
#define  PCI_MSI_FLAGS_ENABLE   BIT(0)
#define  PCI_MSI_FLAGS_MMC      GENMASK(3, 1)   /* log2 of vectors requested, 0..5 */
#define  PCI_MSI_FLAGS_MMC_SHIFT 1
#define  PCI_MSI_FLAGS_MME      GENMASK(6, 4)
#define  PCI_MSI_FLAGS_64BIT    BIT(7)
#define  PCI_MSI_FLAGS_MASKBIT  BIT(8)
#define PCI_MSI_MMC_MAX         5       /* 32 vectors; 6 and 7 are reserved */
#define PCI_MSI_ADDR_LO         0x04
#define PCI_MSI_ADDR_HI         0x08    /* 64-bit only */
#define PCI_MSI_DATA_32         0x08
#define PCI_MSI_DATA_64         0x0c
#define PCI_MSI_MASK_32         0x0c
#define PCI_MSI_MASK_64         0x10
#define PCI_MSI_PENDING_32      0x10
#define PCI_MSI_PENDING_64      0x14
#define PCI_MSI_SIZE_32         0x0a
#define PCI_MSI_SIZE_64         0x0e
#define PCI_MSI_SIZE_32_MASK    0x14
#define PCI_MSI_SIZE_64_MASK    0x18

/* MSI-X (PCI LB §6.8.2): table and PBA each at a BAR (BIR) plus a qword-aligned offset. */
#define PCI_MSIX_FLAGS          0x02    /* Message Control, 16 bit */
#define  PCI_MSIX_FLAGS_QSIZE   GENMASK(10, 0)  /* table size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL BIT(14)
#define  PCI_MSIX_FLAGS_ENABLE  BIT(15)
#define PCI_MSIX_TABLE          0x04    /* 32 bit: offset 31:3, BIR 2:0 */
#define PCI_MSIX_PBA            0x08
#define  PCI_MSIX_BIR           GENMASK(2, 0)
#define  PCI_MSIX_OFFSET        GENMASK(31, 3)
#define PCI_MSIX_SIZE           0x0c
#define PCI_MSIX_ENTRY_SIZE     16
#define PCI_MSIX_BIR_MAX        5       /* 6 and 7 are reserved */

/* Bridge subsystem vendor / subsystem id capability. */
#define PCI_SSVID_VENDOR        0x04
#define PCI_SSVID_DEVICE        0x06
#define PCI_SSVID_SIZE          8

/* ---- PCI Express capability (PCIe §7.8) ---- */
#define PCI_EXP_FLAGS           0x02    /* PCI Express Capabilities register (§7.8.2) */
#define  PCI_EXP_FLAGS_VERS     GENMASK(3, 0)
#define  PCI_EXP_FLAGS_TYPE     GENMASK(7, 4)
#define  PCI_EXP_FLAGS_TYPE_SHIFT 4
#define   PCI_EXP_TYPE_ENDPOINT   0x0
#define   PCI_EXP_TYPE_LEG_END    0x1   /* legacy endpoint */
#define   PCI_EXP_TYPE_ROOT_PORT  0x4
#define   PCI_EXP_TYPE_UPSTREAM   0x5   /* switch upstream port */
#define   PCI_EXP_TYPE_DOWNSTREAM 0x6   /* switch downstream port */
#define   PCI_EXP_TYPE_PCI_BRIDGE 0x7   /* PCIe-to-PCI/PCI-X bridge */
#define   PCI_EXP_TYPE_PCIE_BRIDGE 0x8  /* PCI/PCI-X-to-PCIe bridge */
#define   PCI_EXP_TYPE_RC_END     0x9   /* root complex integrated endpoint */
#define   PCI_EXP_TYPE_RC_EC      0xa   /* root complex event collector */
#define PCI_EXP_DEVCAP          0x04    /* §7.8.3 */
#define  PCI_EXP_DEVCAP_PHANTOM GENMASK(4, 3)   /* Phantom Functions Supported */
#define PCI_EXP_DEVCTL          0x08    /* §7.8.4 */
#define  PCI_EXP_DEVCTL_PHANTOM BIT(9)  /* Phantom Functions Enable */
#define PCI_EXP_DEVCAP2         0x24    /* §7.8.15, capability version 2 and later */
#define  PCI_EXP_DEVCAP2_ARI    BIT(5)  /* ARI Forwarding Supported */
#define PCI_EXP_DEVCTL2         0x28    /* §7.8.16 */
#define  PCI_EXP_DEVCTL2_ARI    BIT(5)  /* ARI Forwarding Enable */
/* Through Link Status: all a version 1 endpoint must implement (PCIe 1.1 §7.8); QEMU's
 * e1000e puts such a capability at 0xe0. Version 2 structures are 0x3c bytes. */
#define PCI_EXP_SIZE_MIN        0x14

/* ---- extended capabilities (PCIe §7.9.3): 32-bit header at 0x100 and after ---- */
#define PCI_EXT_CAP_FIRST       0x100
#define  PCI_EXT_CAP_ID         GENMASK(15, 0)
#define  PCI_EXT_CAP_VER        GENMASK(19, 16)
#define  PCI_EXT_CAP_VER_SHIFT  16
#define  PCI_EXT_CAP_NEXT       GENMASK(31, 20)
#define  PCI_EXT_CAP_NEXT_SHIFT 20
#define  PCI_EXT_CAP_PTR_MASK   GENMASK(11, 2)  /* the low two bits are reserved */
#define PCI_EXT_CAP_ID_ACS      0x000d
#define PCI_EXT_CAP_ID_ARI      0x000e
#define PCI_EXT_CAP_ID_ATS      0x000f
#define PCI_EXT_CAP_ID_SRIOV    0x0010

/* Access Control Services (PCIe §7.16): capability and control, 16 bit each. */
#define PCI_ACS_CAP             0x04
#define PCI_ACS_CTRL            0x06
#define  PCI_ACS_SV             BIT(0)  /* Source Validation */
#define  PCI_ACS_TB             BIT(1)  /* Translation Blocking */
#define  PCI_ACS_RR             BIT(2)  /* P2P Request Redirect */
#define  PCI_ACS_CR             BIT(3)  /* P2P Completion Redirect */
#define  PCI_ACS_UF             BIT(4)  /* Upstream Forwarding */
#define PCI_ACS_SIZE            8

/* Alternative Routing-ID Interpretation (PCIe §7.23). */
#define PCI_ARI_CAP             0x04    /* 16 bit */
#define  PCI_ARI_CAP_NFN        GENMASK(15, 8)  /* Next Function Number; 0: last */
#define  PCI_ARI_CAP_NFN_SHIFT  8
#define PCI_ARI_CTRL            0x06
#define PCI_ARI_SIZE            8

/* Address Translation Services (ATS §5.1). */
#define PCI_ATS_CAP             0x04    /* 16 bit */
#define  PCI_ATS_CAP_QDEP       GENMASK(4, 0)   /* Invalidate Queue Depth; 0 means 32 */
#define PCI_ATS_CTRL            0x06
#define PCI_ATS_SIZE            8

/* Single Root I/O Virtualization (SR-IOV §3.3). */
#define PCI_SRIOV_CAP           0x04
#define PCI_SRIOV_CTRL          0x08
#define PCI_SRIOV_INITIAL_VF    0x0c    /* 16 bit */
#define PCI_SRIOV_TOTAL_VF      0x0e
#define PCI_SRIOV_NUM_VF        0x10
#define PCI_SRIOV_VF_OFFSET     0x14
#define PCI_SRIOV_VF_STRIDE     0x16
#define PCI_SRIOV_VF_DID        0x1a
#define PCI_SRIOV_SIZE          0x40

#endif
