/*
 * boot.h - the pipeline, from the loader's registers to the jump (../shared/DESIGN.md):
 * mis.c -> options.c -> elf.c -> the target (netbsd.c) -> layout.c -> reloc.c -> the stub.
 * Called by asm/entry.asm in the boot binary, and by the host tests on simulated RAM.
 */
#ifndef MBCHAIN_BOOT_H
#define MBCHAIN_BOOT_H
#include <stdint.h>
#include "reloc.h"
#include "stub_abi.h"

/* What the pipeline decided, kept for the host tests and for verbose output. */
struct boot_result {
	uint32_t stub_pa, params_pa;
	uint32_t copy_count;
	struct copy_stats stats;
};

extern struct boot_result boot_last_result;

_Noreturn void mbchain_main(uint32_t magic, uint32_t mis_pa);
#endif
