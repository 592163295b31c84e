/* Confining a guest's devices' DMA to its RAM (its VT-d domain). */
#ifndef COURIER_KERNEL_GUEST_GUEST_DMA_H
#define COURIER_KERNEL_GUEST_GUEST_DMA_H

struct guest;

/* One VT-d domain mapping the guest's RAM at IOVA = guest-virtual address; its devices in it. */
int guest_dma_attach(struct guest *g);
void guest_dma_detach(struct guest *g);
/* The guest is gone: its domain (tables, id) is given back to the IOMMU. */
void guest_dma_release(struct guest *g);

#endif
