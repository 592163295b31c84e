UNIT_SRCS_pci-cfg := pci/cfg.c pci/bdf.c kernel/fmt.c tests/unit/fake-log.c
