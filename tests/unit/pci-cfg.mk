UNIT_SRCS_pci-cfg := pci/cfg.c pci/bdf.c kernel/lib/fmt.c tests/unit/fake-log.c
