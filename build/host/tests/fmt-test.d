build/host/tests/fmt-test: kernel/compiler.h
