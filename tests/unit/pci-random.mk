UNIT_SRCS_pci-random := pci/init.c pci/enum.c pci/caps.c pci/bar.c pci/pci.c pci/report.c pci/bdf.c kernel/lib/fmt.c tests/unit/fake-pci-cfg.c tests/unit/fake-log.c tests/unit/pci-table-check.c
