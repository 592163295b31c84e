/* What must hold of the PCI function table after any enumeration, however odd the
 * configuration spaces were: shared by the randomized unit test and the fuzz harnesses. */
#ifndef COURIER_TESTS_UNIT_PCI_TABLE_CHECK_H
#define COURIER_TESTS_UNIT_PCI_TABLE_CHECK_H

/* NULL when the table is consistent, else which promise the first bad entry breaks. */
const char *pci_table_check(void);

#endif
