#include "iommu/caps.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"

#define VTD_ND_RESERVED 7
#define MIN_LEVELS      3
#define MAX_LEVELS      5

static inline uint64_t field(uint64_t reg, uint64_t mask, unsigned shift)
{
	return (reg & mask) >> shift;
}

static void decode_cap(struct vtd_caps *c, uint64_t cap)
{
	unsigned nd = cap & VTD_CAP_ND;

	c->did_bits = nd == VTD_ND_RESERVED ? 0 : 4 + 2 * nd;
	c->num_domains = c->did_bits ? 1u << c->did_bits : 0;
	c->afl = cap & VTD_CAP_AFL;
	c->rwbf = cap & VTD_CAP_RWBF;
	c->plmr = cap & VTD_CAP_PLMR;
	c->phmr = cap & VTD_CAP_PHMR;
	c->cm = cap & VTD_CAP_CM;
	c->sagaw = field(cap, VTD_CAP_SAGAW, VTD_CAP_SAGAW_SHIFT);
	c->mgaw = field(cap, VTD_CAP_MGAW, VTD_CAP_MGAW_SHIFT) + 1;
	c->zlr = cap & VTD_CAP_ZLR;
	c->fro = field(cap, VTD_CAP_FRO, VTD_CAP_FRO_SHIFT) * VTD_FRCD_SIZE;
	c->sllps = field(cap, VTD_CAP_SLLPS, VTD_CAP_SLLPS_SHIFT);
	c->psi = cap & VTD_CAP_PSI;
	c->nfr = field(cap, VTD_CAP_NFR, VTD_CAP_NFR_SHIFT) + 1;
	c->mamv = field(cap, VTD_CAP_MAMV, VTD_CAP_MAMV_SHIFT);
	c->dwd = cap & VTD_CAP_DWD;
	c->drd = cap & VTD_CAP_DRD;
	c->fl1gp = cap & VTD_CAP_FL1GP;
	c->pi = cap & VTD_CAP_PI;
	c->fl5lp = cap & VTD_CAP_FL5LP;
	c->ecmds = cap & VTD_CAP_ECMDS;
	c->esirtps = cap & VTD_CAP_ESIRTPS;
	c->esrtps = cap & VTD_CAP_ESRTPS;
}

static void decode_ecap(struct vtd_caps *c, uint64_t ecap)
{
	c->c = ecap & VTD_ECAP_C;
	c->qi = ecap & VTD_ECAP_QI;
	c->dt = ecap & VTD_ECAP_DT;
	c->ir = ecap & VTD_ECAP_IR;
	c->eim = ecap & VTD_ECAP_EIM;
	c->pt = ecap & VTD_ECAP_PT;
	c->sc = ecap & VTD_ECAP_SC;
	/* The IOTLB registers are a 16-byte pair, like a fault record. */
	c->iro = field(ecap, VTD_ECAP_IRO, VTD_ECAP_IRO_SHIFT) * 16;
	c->mhmv = field(ecap, VTD_ECAP_MHMV, VTD_ECAP_MHMV_SHIFT);
	c->mts = ecap & VTD_ECAP_MTS;
	c->nest = ecap & VTD_ECAP_NEST;
	c->prs = ecap & VTD_ECAP_PRS;
	c->ers = ecap & VTD_ECAP_ERS;
	c->srs = ecap & VTD_ECAP_SRS;
	c->nwfs = ecap & VTD_ECAP_NWFS;
	c->eafs = ecap & VTD_ECAP_EAFS;
	c->pss = field(ecap, VTD_ECAP_PSS, VTD_ECAP_PSS_SHIFT);
	c->pasid = ecap & VTD_ECAP_PASID;
	c->dit = ecap & VTD_ECAP_DIT;
	c->pds = ecap & VTD_ECAP_PDS;
	c->smts = ecap & VTD_ECAP_SMTS;
	c->vcs = ecap & VTD_ECAP_VCS;
	c->slads = ecap & VTD_ECAP_SLADS;
	c->slts = ecap & VTD_ECAP_SLTS;
	c->flts = ecap & VTD_ECAP_FLTS;
	c->smpwcs = ecap & VTD_ECAP_SMPWCS;
	c->rps = ecap & VTD_ECAP_RPS;
	c->pms = ecap & VTD_ECAP_PMS;
	c->adms = ecap & VTD_ECAP_ADMS;
}

struct vtd_caps vtd_caps_decode(uint64_t cap, uint64_t ecap)
{
	struct vtd_caps c = { .cap = cap, .ecap = ecap };

	decode_cap(&c, cap);
	decode_ecap(&c, ecap);
	return c;
}

/* SAGAW bit for a table of `levels` levels: bit 1 is 3 levels (11.4.2). */
static bool sagaw_has(const struct vtd_caps *c, unsigned levels)
{
	return c->sagaw & BIT(levels - 2);
}

int vtd_caps_check(const struct vtd_caps *c, const char *unit)
{
	if (!c->did_bits) {
		log_warn("vt-d %s: CAP 0x%llx has the reserved ND value 7", unit,
			 (unsigned long long)c->cap);
		return E_INVAL;
	}
	if (!(c->sagaw & (VTD_SAGAW_39 | VTD_SAGAW_48 | VTD_SAGAW_57))) {
		log_warn("vt-d %s: SAGAW 0x%x offers no 3-, 4- or 5-level tables", unit, c->sagaw);
		return E_NOSYS;
	}
	if (!c->fro || !c->iro) {
		log_warn("vt-d %s: fault records at 0x%x, IOTLB registers at 0x%x overlap VER/CAP",
			 unit, c->fro, c->iro);
		return E_INVAL;
	}
	return 0;
}

int vtd_agaw_levels(const struct vtd_caps *c, unsigned haw_bits)
{
	unsigned want = MIN(haw_bits, c->mgaw);
	int any = 0;

	for (unsigned levels = MIN_LEVELS; levels <= MAX_LEVELS; levels++) {
		if (!sagaw_has(c, levels))
			continue;
		any = 1;
		if (vtd_levels_to_agaw(levels) >= want)
			return levels;
	}
	return any ? E_RANGE : E_NOSYS;
}

bool vtd_did_valid(const struct vtd_caps *c, uint32_t did)
{
	if (did >= c->num_domains)
		return false;
	/* With caching mode, domain id 0 tags cached not-present entries (9.3). */
	return !(c->cm && did == 0);
}

struct vtd_regs vtd_regs_make(volatile void *base, const struct vtd_caps *c)
{
	return (struct vtd_regs){
		.base = base,
		.iotlb = c->iro,
		.frcd = c->fro,
		.nfr = c->nfr,
	};
}

/* The fixed registers end below the MTRR and later blocks; Courier uses none past IRTA. */
#define VTD_FIXED_REGS_END 0x100

uint32_t vtd_regs_span(const struct vtd_caps *c)
{
	uint32_t end = VTD_FIXED_REGS_END;

	end = MAX(end, c->iro + 16);
	end = MAX(end, c->fro + c->nfr * VTD_FRCD_SIZE);
	return ALIGN_UP(end, (uint32_t)VTD_PAGE_SIZE);
}

/* Append to buf at *len, keeping the snprintf contract of returning the full length. */
static void add(char *buf, size_t size, int *len, const char *s)
{
	size_t at = (size_t)*len;

	*len += fmt_snprintf(at < size ? buf + at : NULL, at < size ? size - at : 0, "%s", s);
}

static void add_flag(char *buf, size_t size, int *len, bool on, const char *name)
{
	if (on) {
		add(buf, size, len, " ");
		add(buf, size, len, name);
	}
}

static void add_list(char *buf, size_t size, int *len, const char *key, unsigned bits,
		     const char *const names[], unsigned n)
{
	const char *sep = "";

	add(buf, size, len, key);
	for (unsigned i = 0; i < n; i++) {
		if (!(bits & BIT(i)) || !names[i])
			continue;
		add(buf, size, len, sep);
		add(buf, size, len, names[i]);
		sep = ",";
	}
	if (!*sep)
		add(buf, size, len, "-");
}

int vtd_caps_format(const struct vtd_caps *c, char *buf, size_t size)
{
	static const char *const agaw[] = { NULL, "39", "48", "57" };
	static const char *const sp[] = { "2M", "1G" };
	char num[96];
	int len = 0;

	if (size)
		buf[0] = 0;
	fmt_snprintf(num, sizeof(num), "dom=%u", c->num_domains);
	add(buf, size, &len, num);
	add_list(buf, size, &len, " agaw=", c->sagaw, agaw, ARRAY_SIZE(agaw));
	fmt_snprintf(num, sizeof(num), " mgaw=%u", c->mgaw);
	add(buf, size, &len, num);
	add_list(buf, size, &len, " sp=", c->sllps, sp, ARRAY_SIZE(sp));
	fmt_snprintf(num, sizeof(num), " nfr=%u fro=0x%x iro=0x%x mamv=%u", c->nfr, c->fro,
		     c->iro, c->mamv);
	add(buf, size, &len, num);
	add_flag(buf, size, &len, c->psi, "psi");
	add_flag(buf, size, &len, c->cm, "cm");
	add_flag(buf, size, &len, c->rwbf, "rwbf");
	add_flag(buf, size, &len, c->c, "coherent");
	add_flag(buf, size, &len, c->qi, "qi");
	add_flag(buf, size, &len, c->ir, "ir");
	add_flag(buf, size, &len, c->eim, "eim");
	add_flag(buf, size, &len, c->pt, "pt");
	add_flag(buf, size, &len, c->sc, "sc");
	add_flag(buf, size, &len, c->dt, "dt");
	add_flag(buf, size, &len, c->pi, "pi");
	add_flag(buf, size, &len, c->smts, "smts");
	return len;
}
