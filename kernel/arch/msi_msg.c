#include "kernel/arch/msi_msg.h"
#include "kernel/lib/error.h"

#define HANDLE_LO_BITS 15

static bool dlm_valid(uint8_t dlm)
{
	return dlm <= MSI_DLM_EXTINT && !(BIT(dlm) & MSI_DLM_RESERVED);
}

struct msi_ret msi_compat_encode(const struct msi_compat *c)
{
	bool vectored = c->dlm == MSI_DLM_FIXED || c->dlm == MSI_DLM_LOWEST;

	if (!dlm_valid(c->dlm) || (vectored && c->vector < MSI_VECTOR_MIN))
		return (struct msi_ret){ .err = E_INVAL };

	uint32_t addr = MSI_ADDR_BASE | (uint32_t)c->dest << MSI_ADDR_DEST_SHIFT;
	if (c->rh)
		addr |= MSI_ADDR_RH;
	if (c->dm_logical)
		addr |= MSI_ADDR_DM;
	uint32_t data = c->vector | (uint32_t)c->dlm << MSI_DATA_DLM_SHIFT;
	if (c->level)
		data |= MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT;
	return (struct msi_ret){ .m = { .addr_lo = addr, .addr_hi = 0, .data = data } };
}

struct msi_ret msi_remap_encode(const struct msi_remap *r)
{
	if (!r->shv && r->subhandle)
		return (struct msi_ret){ .err = E_INVAL };

	uint32_t addr = MSI_ADDR_BASE | MSI_ADDR_IF |
			(uint32_t)(r->handle & GENMASK(HANDLE_LO_BITS - 1, 0))
				<< MSI_ADDR_HANDLE_LO_SHIFT;
	if (r->handle >> HANDLE_LO_BITS)
		addr |= MSI_ADDR_HANDLE_15;
	if (r->shv)
		addr |= MSI_ADDR_SHV;
	return (struct msi_ret){ .m = { .addr_lo = addr, .addr_hi = 0, .data = r->subhandle } };
}

struct msi_compat msi_compat_decode(struct msi_msg m)
{
	return (struct msi_compat){
		.dest = (m.addr_lo & MSI_ADDR_DEST) >> MSI_ADDR_DEST_SHIFT,
		.dm_logical = m.addr_lo & MSI_ADDR_DM,
		.rh = m.addr_lo & MSI_ADDR_RH,
		.vector = m.data & MSI_DATA_VECTOR,
		.dlm = (m.data & MSI_DATA_DLM) >> MSI_DATA_DLM_SHIFT,
		.level = m.data & MSI_DATA_TRIGGER_LEVEL,
	};
}

struct msi_remap msi_remap_decode(struct msi_msg m)
{
	uint16_t handle = (m.addr_lo & MSI_ADDR_HANDLE_LO) >> MSI_ADDR_HANDLE_LO_SHIFT;

	if (m.addr_lo & MSI_ADDR_HANDLE_15)
		handle |= 1u << HANDLE_LO_BITS;
	return (struct msi_remap){
		.handle = handle,
		.shv = m.addr_lo & MSI_ADDR_SHV,
		.subhandle = m.data & MSI_DATA_SUBHANDLE,
	};
}

uint32_t msi_remap_index(struct msi_msg m)
{
	struct msi_remap r = msi_remap_decode(m);

	return r.shv ? (uint32_t)r.handle + r.subhandle : r.handle;
}
