# mbchain - a Multiboot chainloader for NetBSD (and, next, FreeBSD) kernels.
#
#   make            build build/mbchain.elf and the probe kernels
#   make run        boot the demo (a NetBSD-shaped probe) through a GRUB ISO in QEMU
#   make test       host unit tests under ASan+UBSan, the QEMU/Bochs boot tests, static checks
#                   and a fuzz smoke run
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (default 180)
#   make static     gcc/clang -Werror, cppcheck, clang-tidy
#   make bench      the benchmarks (bench/results.md); make bench-smoke is the CI-sized run
#   make iso        build/mbchain.iso: GRUB + mbchain + a kernel (KERNEL=, MODULES=, CMDLINE=)
#   make deps       install the Debian packages the above need (run by run/test/iso)
#   make install    mbchain.elf, mbchain-fb.elf to $(BOOTDIR); kload and mbchain-check; the grub.d
#                   generator (PREFIX=/usr/local, BOOTDIR=/boot, SYSCONFDIR=/etc, DESTDIR=)
#
# CC=clang works too (clang --target=i386-pc-none-elf with ld.lld).

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
NASM ?= nasm
HOST_CC ?= gcc
BUILD ?= build
PYTHON ?= python3

ifneq ($(findstring clang,$(CC)),)
TARGET_CFLAGS := --target=i386-pc-none-elf
LD := ld.lld
LDFLAGS_EXTRA :=
else
TARGET_CFLAGS := -m32 -fno-tree-loop-distribute-patterns
LD ?= ld
ifeq ($(origin LD),default)
LD := ld
endif
LDFLAGS_EXTRA := --no-warn-rwx-segments
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-format-zero-length
CFLAGS := $(TARGET_CFLAGS) -std=c11 -Os -g -ffreestanding -fno-builtin -fno-pie -fno-pic -fno-stack-protector \
	-mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-common -fno-delete-null-pointer-checks $(WARN)
HOST_CFLAGS := -std=c11 -O1 -g -DMBCHAIN_HOST -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer $(WARN) -Wno-missing-prototypes

CORE_SRC := util.c fmt.c log.c memmap.c mis.c options.c elf.c handoff.c netbsd.c freebsd.c acpi.c mbpass.c inflate.c layout.c reloc.c boot.c
BOOT_SRC := $(CORE_SRC) console.c
BOOT_OBJ := $(BOOT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/asm_entry.o $(BUILD)/obj/asm_handoff.o
UNIT_SRC := $(wildcard tests/unit/*.c)

.PHONY: all run test test-unit test-boot iso deps clean probes fuzz static bench bench-smoke
all: $(BUILD)/mbchain.elf $(BUILD)/mbchain-fb.elf probes $(BUILD)/test-kmod.ko $(BUILD)/test-kmod-i386.ko \
	$(BUILD)/mbchain-check

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) multiboot.h | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/stub_abi.inc: src/stub_abi.h | $(BUILD)/obj
	sed -n 's/^#define \([A-Z0-9_]*\) \([^ ]*\).*/%define \1 \2/p' $< > $@

$(BUILD)/obj/asm_%.o: asm/%.asm $(BUILD)/stub_abi.inc | $(BUILD)/obj
	$(NASM) -f elf32 -I$(BUILD)/ -o $@ $<

# mbchain.debug.elf keeps the symbols for gdb; mbchain.elf is what users load.
$(BUILD)/mbchain.elf: $(BOOT_OBJ) linker/mbchain.ld
	$(LD) -m elf_i386 -T linker/mbchain.ld -z noexecstack $(LDFLAGS_EXTRA) -o $(BUILD)/mbchain.debug.elf $(BOOT_OBJ)
	objcopy --strip-all $(BUILD)/mbchain.debug.elf $@
	@echo "mbchain.elf: $$(stat -c %s $@) bytes"

# The framebuffer build: the same code, a header that asks the loader for video.
$(BUILD)/obj/asm_entry_fb.o: asm/entry.asm | $(BUILD)/obj
	$(NASM) -f elf32 -DMBCHAIN_VIDEO -o $@ $<

$(BUILD)/mbchain-fb.elf: $(filter-out $(BUILD)/obj/asm_entry.o,$(BOOT_OBJ)) $(BUILD)/obj/asm_entry_fb.o linker/mbchain.ld
	$(LD) -m elf_i386 -T linker/mbchain.ld -z noexecstack $(LDFLAGS_EXTRA) -o $@.debug $(filter %.o,$^)
	objcopy --strip-all $@.debug $@

$(BUILD)/obj:
	mkdir -p $@

probes:
	$(MAKE) -C tests/probes OUT=$(abspath $(BUILD))/probes CC=$(CC)
	$(MAKE) -C tests/forge OUT=$(abspath $(BUILD))
	$(MAKE) -C tests/passthrough OUT=$(abspath $(BUILD))

# A stand-in FreeBSD/amd64 .ko (a relocatable object) for the boot tests.
$(BUILD)/test-kmod.ko: tests/data/kmod.c | $(BUILD)/obj
	$(HOST_CC) -m64 -O1 -ffreestanding -fno-pic -mcmodel=kernel -mno-red-zone -c $< -o $@

# Its FreeBSD/i386 counterpart: a shared object.
$(BUILD)/test-kmod-i386.ko: tests/data/kmod.c | $(BUILD)/obj
	$(HOST_CC) -m32 -O1 -ffreestanding -fPIC -c $< -o $(BUILD)/obj/kmod-i386.o
	ld -m elf_i386 -shared -z noexecstack -o $@ $(BUILD)/obj/kmod-i386.o

$(BUILD)/unit_tests: $(CORE_SRC:%=src/%) $(UNIT_SRC) $(wildcard src/*.h tests/unit/*.h) | $(BUILD)/obj
	$(HOST_CC) $(HOST_CFLAGS) -Isrc -o $@ $(CORE_SRC:%=src/%) $(UNIT_SRC)

# mbchain's planner on the host, for kload --check (tools/mbchain-check.c is its platform.h).
$(BUILD)/mbchain-check: tools/mbchain-check.c $(CORE_SRC:%=src/%) $(wildcard src/*.h) multiboot.h | $(BUILD)/obj
	$(HOST_CC) -std=c11 -O2 -g -DMBCHAIN_HOST $(WARN) -Isrc -o $@ tools/mbchain-check.c $(CORE_SRC:%=src/%)

$(BUILD)/mbchain-check-asan: tools/mbchain-check.c $(CORE_SRC:%=src/%) $(wildcard src/*.h) multiboot.h | $(BUILD)/obj
	$(HOST_CC) $(HOST_CFLAGS) -Isrc -o $@ tools/mbchain-check.c $(CORE_SRC:%=src/%)

deps:
	@tests/tools/ensure-deps.sh

test: deps
	$(MAKE) all $(BUILD)/unit_tests
	$(PYTHON) tests/run.py --build $(BUILD)

test-unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# libFuzzer harnesses (tests/fuzz): each for FUZZ_SECONDS; `make test` runs a short smoke.
FUZZ_SECONDS ?= 180
fuzz: deps
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS) OUT=$(abspath $(BUILD))/fuzz

# Benchmarks (bench/README.md): bench/results.md, results.json, scaling.png (~5-8 min on 2 cores)
bench: deps all
	$(PYTHON) bench/bench.py --build $(BUILD)

# CI smoke: small sizes, no wall times; fails when a goal is missed by a wide margin
# (amplification > 1.5, > 2x the memcpy floor, > 1.5x GRUB native, mbchain.elf > 64 KiB)
bench-smoke: deps all
	$(PYTHON) bench/bench.py --build $(BUILD) --smoke

# gcc and clang -Werror builds, cppcheck, clang-tidy (tests/static/check.sh)
static: deps
	tests/static/check.sh

iso: deps all
	tests/tools/mkiso.sh $(BUILD)/mbchain.iso "$(KERNEL)" "$(MODULES)" "$(CMDLINE)"

run: deps all
	tests/tools/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# make install [DESTDIR=/staging] [PREFIX=/usr/local] [BOOTDIR=/boot] [SYSCONFDIR=/etc]
# mbchain goes where GRUB and kload look (/boot), the generator to grub.d (then run
# update-grub), the sample /etc/default/mbchain only when there is none (it holds the user's
# entries).  install does not depend on all, so `sudo make install` builds nothing as root.
PREFIX ?= /usr/local
BOOTDIR ?= /boot
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
INSTALL ?= install

.PHONY: install uninstall
install: $(BUILD)/mbchain.elf $(BUILD)/mbchain-fb.elf $(BUILD)/mbchain-check
	$(INSTALL) -d $(DESTDIR)$(BOOTDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/grub.d \
		$(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(PREFIX)/lib/mbchain
	$(INSTALL) -m 644 $(BUILD)/mbchain.elf $(BUILD)/mbchain-fb.elf $(DESTDIR)$(BOOTDIR)/
	$(INSTALL) -m 755 tools/kload $(DESTDIR)$(SBINDIR)/kload
	$(INSTALL) -m 755 $(BUILD)/mbchain-check $(DESTDIR)$(PREFIX)/lib/mbchain/mbchain-check
	$(INSTALL) -m 755 tools/41_mbchain $(DESTDIR)$(SYSCONFDIR)/grub.d/41_mbchain
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/mbchain ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/mbchain (the sample is tools/mbchain.default)"; \
	else \
		sed 's|/boot/mbchain|$(BOOTDIR)/mbchain|' tools/mbchain.default > $(DESTDIR)$(SYSCONFDIR)/default/mbchain.tmp && \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/default/mbchain.tmp && \
		mv $(DESTDIR)$(SYSCONFDIR)/default/mbchain.tmp $(DESTDIR)$(SYSCONFDIR)/default/mbchain && \
		echo "installed $(DESTDIR)$(SYSCONFDIR)/default/mbchain: add your BSD kernels, then run update-grub"; \
	fi

# The user's /etc/default/mbchain stays (as dpkg keeps a changed conffile).
uninstall:
	rm -f $(DESTDIR)$(BOOTDIR)/mbchain.elf $(DESTDIR)$(BOOTDIR)/mbchain-fb.elf \
		$(DESTDIR)$(SBINDIR)/kload $(DESTDIR)$(SYSCONFDIR)/grub.d/41_mbchain \
		$(DESTDIR)$(PREFIX)/lib/mbchain/mbchain-check
