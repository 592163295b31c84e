/* Confining a guest's devices' DMA to its RAM (its VT-d domain), and its device messages. */
#ifndef COURIER_KERNEL_GUEST_GUEST_DMA_H
#define COURIER_KERNEL_GUEST_GUEST_DMA_H

#include <stdint.h>

struct guest;

/* One VT-d domain mapping the guest's RAM at IOVA = guest-virtual address; its devices in it. */
int guest_dma_attach(struct guest *g);
void guest_dma_detach(struct guest *g);
/* Device messages (interrupt remapping): allocate, bind to a port, unbind, release all. */
int guest_msg_alloc(struct guest *g, uint64_t bdf, uint64_t n);
int guest_msg_bind(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port);
int guest_msg_unbind(struct guest *g, uint64_t bdf, uint64_t msg);
void guest_msgs_release(struct guest *g);
/* After g moved: retarget the routes of messages bound to its ports to its new CPU. */
void guest_msgs_follow(struct guest *g);

#endif
