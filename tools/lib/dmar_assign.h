/*
 * dmar-dump --assign: which remapping unit a DMAR table gives each PCI function of a topology
 * described in text, decided by the hypervisor's own code (iommu/topology.c over the PCI
 * table of pci/pci.c, which this fills from the text instead of from enumeration).
 *
 * The text has one function a line, in the order the answer keeps:
 *   SSSS:BB:DD.F                       an endpoint (or any function that is not a bridge)
 *   SSSS:BB:DD.F bridge SEC-SUB        a bridge, its secondary and subordinate bus in hex
 * Blank lines and lines starting with '#' are skipped. The answer is one line a function,
 * "SSSS:BB:DD.F unit=N base=0xADDR" (N: the DRHD's index in table order) or
 * "SSSS:BB:DD.F unit=-" when no unit translates it.
 */
#ifndef COURIER_TOOLS_LIB_DMAR_ASSIGN_H
#define COURIER_TOOLS_LIB_DMAR_ASSIGN_H

#include <stddef.h>
#include <stdio.h>

/*
 * Writes the answer for topology text topo (NUL-terminated) and DMAR table dmar to out.
 * A malformed topology line or table is reported on err with nothing on out: the line as
 * "TOPO_NAME:LINE: reason", the table as "DMAR_NAME: rejected ..." after the log has said why.
 * Returns 0, or 1 for rejected input.
 */
int dmar_assign(const void *dmar, size_t len, const char *dmar_name, const char *topo,
		const char *topo_name, FILE *out, FILE *err);

#endif
