/* The PCI functions a guest owns (start_info->devs) and the hypercalls for their messages. */
#include <stdio.h>
#include <courier/dev.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

/* BDF layout of struct courier_dev_info: segment << 16 | bus << 8 | dev << 3 | fn. */
#define BDF_SEG(b)      (((b) >> 16) & 0xffffu)
#define BDF_BUS(b)      (((b) >> 8) & 0xffu)
#define BDF_DEV(b)      (((b) >> 3) & 0x1fu)
#define BDF_FN(b)       ((b) & 0x7u)

const struct courier_dev_info *dev_find(uint16_t vendor, uint16_t device, unsigned index)
{
	uint32_t n = start_info->ndevs;

	if (n > COURIER_MAX_DEVS)
		n = COURIER_MAX_DEVS;
	for (uint32_t i = 0; i < n; i++) {
		const struct courier_dev_info *d = &start_info->devs[i];
		if (d->vendor == vendor && d->device == device && index-- == 0)
			return d;
	}
	return NULL;
}

void *dev_bar(const struct courier_dev_info *dev, unsigned bar)
{
	if (!dev || bar >= COURIER_MAX_BARS || !dev->bar_va[bar])
		return NULL;
	return (void *)dev->bar_va[bar];
}

uint64_t dev_bar_size(const struct courier_dev_info *dev, unsigned bar)
{
	return dev && bar < COURIER_MAX_BARS && dev->bar_va[bar] ? dev->bar_size[bar] : 0;
}

char *dev_bdf_str(uint32_t bdf, char buf[DEV_BDF_STR_MAX])
{
	if (BDF_SEG(bdf))
		snprintf(buf, DEV_BDF_STR_MAX, "%04x:%02x:%02x.%x", BDF_SEG(bdf), BDF_BUS(bdf),
			 BDF_DEV(bdf), BDF_FN(bdf));
	else
		snprintf(buf, DEV_BDF_STR_MAX, "%02x:%02x.%x", BDF_BUS(bdf), BDF_DEV(bdf),
			 BDF_FN(bdf));
	return buf;
}

int dev_msg_alloc(uint32_t bdf, unsigned n)
{
	return (int)hc_dev_msg_alloc(bdf, n);
}

int dev_msg_bind(uint32_t bdf, unsigned msg, uint64_t guest, unsigned port)
{
	return (int)hc_dev_msg_bind(bdf, msg, guest, port);
}

int dev_msg_unbind(uint32_t bdf, unsigned msg)
{
	return (int)hc_dev_msg_unbind(bdf, msg);
}

int dev_msg_grant(uint32_t bdf, unsigned msg, uint64_t guest)
{
	return (int)hc_dev_msg_grant(bdf, msg, guest);
}

int dev_msg_revoke(uint32_t bdf, unsigned msg)
{
	return (int)hc_dev_msg_revoke(bdf, msg);
}

int dev_msg_mask(uint32_t bdf, unsigned msg, int masked)
{
	return (int)hc_dev_msg_mask(bdf, msg, (uint64_t)masked);
}

int dev_grant_port(unsigned port)
{
	return (int)hc_grant_port(port);
}

int dev_grants(struct courier_grant *out, unsigned max)
{
	return (int)hc_grant_list(out, max);
}
