#include "iommu/fault_record.h"
#include "iommu/regs.h"
#include "kernel/lib/fmt.h"

/* Scalable-mode fault reasons start here (appendix A); Courier runs units in legacy mode. */
#define VTD_FR_SM_FIRST 0x30

struct vtd_fault vtd_fault_decode(struct vtd_frcd r)
{
	struct vtd_fault f = {
		.f = r.hi & VTD_FRCD_F,
		.reason = (r.hi & VTD_FRCD_FR) >> VTD_FRCD_FR_SHIFT,
		.sid = r.hi & VTD_FRCD_SID,
	};

	f.ir = f.reason >= VTD_FR_IR_FIRST && f.reason <= VTD_FR_IR_LAST;
	if (f.ir) {
		/* FI holds the interrupt index instead of an address (11.4.14). */
		f.index = (r.lo & VTD_FRCD_FI_IRTE) >> VTD_FRCD_FI_IRTE_SHIFT;
		return f;
	}
	f.addr = r.lo & VTD_FRCD_FI;
	f.read = r.hi & VTD_FRCD_T;
	f.at = (r.hi & VTD_FRCD_AT) >> VTD_FRCD_AT_SHIFT;
	f.pp = r.hi & VTD_FRCD_PP;
	if (f.pp) {
		f.pasid = (r.hi & VTD_FRCD_PV) >> VTD_FRCD_PV_SHIFT;
		f.exe = r.hi & VTD_FRCD_EXE;
		f.priv = r.hi & VTD_FRCD_PRIV;
	}
	return f;
}

struct vtd_fsts vtd_fsts_decode(uint32_t fsts)
{
	return (struct vtd_fsts){
		.pfo = fsts & VTD_FSTS_PFO,
		.ppf = fsts & VTD_FSTS_PPF,
		.afo = fsts & VTD_FSTS_AFO,
		.apf = fsts & VTD_FSTS_APF,
		.iqe = fsts & VTD_FSTS_IQE,
		.ice = fsts & VTD_FSTS_ICE,
		.ite = fsts & VTD_FSTS_ITE,
		.fri = (fsts & VTD_FSTS_FRI) >> VTD_FSTS_FRI_SHIFT,
	};
}

/* Appendix A, the non-recoverable fault reasons of legacy mode and interrupt remapping. */
struct reason {
	uint8_t code;
	const char *name;
	const char *desc;
};

static const struct reason reasons[] = {
	{ 0x01, "root-not-present", "the root entry of the requester's bus is not present" },
	{ 0x02, "context-not-present", "the requester's context entry is not present" },
	{ 0x03, "context-invalid", "the context entry is programmed wrongly (AW, TT or pointer)" },
	{ 0x04, "beyond-address-width", "the address is above MGAW or the context entry's AGAW" },
	{ 0x05, "write-denied", "write to a page without write permission" },
	{ 0x06, "read-denied", "read of a page without read permission" },
	{ 0x07, "paging-entry-access", "a second-level paging entry could not be read" },
	{ 0x08, "root-table-access", "the root table could not be read" },
	{ 0x09, "context-table-access", "the context table could not be read" },
	{ 0x0a, "root-reserved", "reserved bits are set in a present root entry" },
	{ 0x0b, "context-reserved", "reserved bits are set in a present context entry" },
	{ 0x0c, "paging-entry-reserved", "reserved bits are set in a second-level paging entry" },
	{ 0x0d, "translation-blocked", "the context entry's translation type blocks the request" },
	{ 0x20, "ir-request-reserved", "reserved bits are set in a remappable interrupt request" },
	{ 0x21, "ir-index-beyond-table", "the interrupt index is past the table size (IRTA.S)" },
	{ 0x22, "irte-not-present", "the interrupt remapping table entry is not present" },
	{ 0x23, "irt-access", "the interrupt remapping table could not be read" },
	{ 0x24, "irte-reserved", "reserved bits are set in a present IRTE" },
	{ 0x25, "compat-blocked", "a compatibility-format interrupt was blocked" },
	{ 0x26, "ir-sid-denied", "the requester failed the IRTE's source-id verification" },
};

static const struct reason *find(uint8_t code)
{
	static const struct reason sm = { 0, "scalable-mode", "a scalable-mode fault" };

	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].code == code)
			return &reasons[i];
	return code >= VTD_FR_SM_FIRST ? &sm : NULL;
}

const char *vtd_fault_reason_name(uint8_t reason)
{
	const struct reason *r = find(reason);

	return r ? r->name : "unknown";
}

const char *vtd_fault_reason_desc(uint8_t reason)
{
	const struct reason *r = find(reason);

	return r ? r->desc : "unknown fault reason";
}

int vtd_fault_format(const struct vtd_fault *f, uint16_t seg, char *buf, size_t size)
{
	char bdf[16];
	unsigned bus = f->sid >> 8, dev = (f->sid >> 3) & 0x1f, fn = f->sid & 7;

	if (seg)
		fmt_snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", seg, bus, dev, fn);
	else
		fmt_snprintf(bdf, sizeof(bdf), "%02x:%02x.%x", bus, dev, fn);
	if (f->ir)
		return fmt_snprintf(buf, size, "bdf=%s index=0x%x reason=0x%x name=%s", bdf,
				    f->index, f->reason, vtd_fault_reason_name(f->reason));
	return fmt_snprintf(buf, size, "bdf=%s addr=0x%llx type=%s reason=0x%x name=%s", bdf,
			    (unsigned long long)f->addr, f->read ? "read" : "write", f->reason,
			    vtd_fault_reason_name(f->reason));
}
