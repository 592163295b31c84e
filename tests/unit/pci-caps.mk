UNIT_SRCS_pci-caps := pci/caps.c pci/bar.c pci/pci.c pci/bdf.c kernel/lib/fmt.c tests/unit/fake-pci-cfg.c tests/unit/fake-log.c tests/unit/pci-fixture.c
