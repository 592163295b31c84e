#include "iommu/topology.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"
#include "pci/pci.h"

int iommu_scope_path(uint16_t seg, const struct dmar_scope *sc, struct pci_bdf *out)
{
	uint8_t bus = sc->start_bus;

	for (unsigned i = 0; i + 1 < sc->nhops; i++) {
		struct pci_bdf b = pci_bdf(seg, bus, sc->hops[i].device, sc->hops[i].function);
		struct pci_dev *br = pci_find(b);
		if (!br || !pci_dev_is_bridge(br)) {
			char s[PCI_BDF_STRLEN];
			log_warn("dmar: scope at 0x%x: hop %u, %s, is %s", sc->offset, i,
				 pci_bdf_fmt(s, b), br ? "not a bridge" : "not present");
			return E_NOENT;
		}
		bus = br->sec_bus;
	}
	const struct dmar_pci_hop *last = &sc->hops[sc->nhops - 1];
	*out = pci_bdf(seg, bus, last->device, last->function);
	return 0;
}

/* A PCI scope of a DRHD: endpoints are kept as they are, bridges with the buses below. */
static void add_scope(struct iommu_drhd_info *u, const struct dmar_scope *sc)
{
	struct iommu_scope_ent e = { .kind = IOMMU_SCOPE_DEV };

	if (sc->type != DMAR_SCOPE_ENDPOINT && sc->type != DMAR_SCOPE_BRIDGE) {
		u->other++;
		if (sc->type == DMAR_SCOPE_IOAPIC && u->n_ioapic < IOMMU_IOAPIC_MAX &&
		    iommu_scope_path(u->drhd.segment, sc, &e.bdf) == 0)
			u->ioapic[u->n_ioapic++] = (struct iommu_ioapic_ent){
				.id = sc->enum_id, .sid = pci_bdf_rid(e.bdf) };
		return;
	}
	if (iommu_scope_path(u->drhd.segment, sc, &e.bdf) < 0) {
		u->unresolved++;
		return;
	}
	if (sc->type == DMAR_SCOPE_BRIDGE) {
		struct pci_dev *br = pci_find(e.bdf);
		if (!br || !pci_dev_is_bridge(br)) {
			char s[PCI_BDF_STRLEN];
			log_warn("dmar: bridge scope at 0x%x: %s is %s", sc->offset,
				 pci_bdf_fmt(s, e.bdf), br ? "not a bridge" : "not present");
			u->unresolved++;
			return;
		}
		e.kind = IOMMU_SCOPE_BRIDGE;
		e.sec = br->sec_bus;
		e.sub = br->sub_bus;
	}
	if (u->n == IOMMU_SCOPE_MAX) {
		log_warn("dmar: DRHD 0x%llx has more than %u device scopes; ignoring the rest",
			 (unsigned long long)u->drhd.base, IOMMU_SCOPE_MAX);
		return;
	}
	u->ent[u->n++] = e;
}

/*
 * 8.3: a segment has at most one INCLUDE_PCI_ALL DRHD, listed after the segment's other DRHDs.
 * Assignment does not depend on the order (explicit scopes are looked at first), so a table
 * that breaks either rule is only reported; with two, the first one listed is used.
 */
static void check_include_all_order(const struct iommu_topology *t, const struct dmar_drhd *d)
{
	for (unsigned i = 0; i < t->n_units; i++) {
		const struct dmar_drhd *o = &t->unit[i].drhd;
		if (o->segment != d->segment || !o->include_all)
			continue;
		if (d->include_all)
			log_warn("dmar: DRHD 0x%llx is a second INCLUDE_PCI_ALL unit for segment %u "
				 "(0x%llx is one); it gets no function by INCLUDE_PCI_ALL",
				 (unsigned long long)d->base, d->segment,
				 (unsigned long long)o->base);
		else
			log_warn("dmar: DRHD 0x%llx comes after segment %u's INCLUDE_PCI_ALL DRHD "
				 "0x%llx, which should be last", (unsigned long long)d->base,
				 d->segment, (unsigned long long)o->base);
		return;
	}
}

static void add_drhd(struct iommu_topology *t, const struct dmar_struct *s)
{
	struct dmar_scope_iter it;
	struct dmar_scope sc;

	check_include_all_order(t, &s->drhd);
	if (t->n_units == IOMMU_MAX_UNITS) {
		log_warn("dmar: more than %u DRHDs; ignoring the one at 0x%llx", IOMMU_MAX_UNITS,
			 (unsigned long long)s->drhd.base);
		return;
	}
	struct iommu_drhd_info *u = &t->unit[t->n_units++];
	memset(u, 0, sizeof(*u));
	u->drhd = s->drhd;
	dmar_scope_iter_init(&it, s);
	while (dmar_scope_next(&it, &sc) > 0)
		add_scope(u, &sc);
}

static void add_rmrr(struct iommu_topology *t, const struct dmar_struct *s)
{
	const struct dmar_rmrr *r = &s->rmrr;
	struct dmar_scope_iter it;
	struct dmar_scope sc;

	/* 8.4: 4 KiB-aligned base, and a limit that ends a 4 KiB page. */
	if ((r->base & 0xfff) || ((r->limit + 1) & 0xfff) || r->limit < r->base) {
		log_warn("dmar: RMRR at 0x%x: region 0x%llx-0x%llx is not whole pages; ignored",
			 s->offset, (unsigned long long)r->base, (unsigned long long)r->limit);
		return;
	}
	/* [base, limit + 1) must not wrap: a region to the last byte of 2^64 has no end. */
	if (r->limit == UINT64_MAX) {
		log_warn("dmar: RMRR at 0x%x: region 0x%llx-0x%llx ends the address space; ignored",
			 s->offset, (unsigned long long)r->base, (unsigned long long)r->limit);
		return;
	}
	if (t->n_rmrr == IOMMU_MAX_RMRR) {
		log_warn("dmar: more than %u RMRRs; ignoring the one at 0x%x", IOMMU_MAX_RMRR,
			 s->offset);
		return;
	}
	struct iommu_rmrr_info *m = &t->rmrr[t->n_rmrr++];
	*m = (struct iommu_rmrr_info){ .base = r->base, .end = r->limit + 1,
				       .segment = r->segment };
	dmar_scope_iter_init(&it, s);
	while (dmar_scope_next(&it, &sc) > 0) {
		struct pci_bdf b;
		if (sc.type != DMAR_SCOPE_ENDPOINT || iommu_scope_path(r->segment, &sc, &b) < 0)
			continue;
		if (m->n == IOMMU_RMRR_DEVS) {
			log_warn("dmar: RMRR at 0x%x names more than %u devices", s->offset,
				 IOMMU_RMRR_DEVS);
			break;
		}
		m->dev[m->n++] = b;
	}
}

int iommu_topology_build(const void *dmar, size_t len, struct iommu_topology *t)
{
	struct dmar_table table;
	struct dmar_error e;
	struct dmar_iter it;
	struct dmar_struct s;

	memset(t, 0, sizeof(*t));
	if (dmar_parse_header(&table, dmar, len, &e) < 0 || dmar_validate(&table, &e) < 0) {
		log_err("dmar: malformed table: %s", e.msg);
		return E_INVAL;
	}
	t->haw = table.haw;
	t->flags = table.flags;
	dmar_iter_init(&it, &table);
	while (dmar_next(&it, &s) > 0) {
		if (s.type == DMAR_TYPE_DRHD)
			add_drhd(t, &s);
		else if (s.type == DMAR_TYPE_RMRR)
			add_rmrr(t, &s);
	}
	return t->n_units ? (int)t->n_units : E_NOENT;
}

bool iommu_drhd_names(const struct iommu_drhd_info *u, struct pci_bdf bdf)
{
	if (u->drhd.segment != bdf.seg)
		return false;
	for (unsigned i = 0; i < u->n; i++) {
		const struct iommu_scope_ent *e = &u->ent[i];
		if (pci_bdf_eq(e->bdf, bdf))
			return true;
		/* Bus 0 is never a secondary bus: a bridge left at 0 covers nothing below. */
		if (e->kind == IOMMU_SCOPE_BRIDGE && e->sec && bdf.bus >= e->sec &&
		    bdf.bus <= e->sub)
			return true;
	}
	return false;
}

int iommu_topology_unit_for(const struct iommu_topology *t, struct pci_bdf bdf)
{
	for (unsigned i = 0; i < t->n_units; i++)
		if (!t->unit[i].drhd.include_all && iommu_drhd_names(&t->unit[i], bdf))
			return (int)i;
	for (unsigned i = 0; i < t->n_units; i++)
		if (t->unit[i].drhd.include_all && t->unit[i].drhd.segment == bdf.seg)
			return (int)i;
	return E_NOENT;
}
