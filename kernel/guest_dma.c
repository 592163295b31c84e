/*
 * Guests' DMA confinement and device messages. Until the VT-d domain API and interrupt
 * remapping are wired in, DMA cannot be confined (bus mastering stays off) and messages
 * cannot be given out: both say so with E_NOSYS rather than pretend.
 */
#include "kernel/guest_dma.h"
#include "kernel/error.h"
#include "kernel/guest.h"

int guest_dma_attach(struct guest *g) { return E_NOSYS; }
void guest_dma_detach(struct guest *g) { }
int guest_msg_alloc(struct guest *g, uint64_t bdf, uint64_t n) { return E_NOSYS; }
int guest_msg_bind(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port)
{
	return E_NOSYS;
}
int guest_msg_unbind(struct guest *g, uint64_t bdf, uint64_t msg) { return E_NOSYS; }
void guest_msgs_release(struct guest *g) { }
