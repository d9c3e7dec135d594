/*
 * fuzz_common.h - what every libFuzzer harness shares: simulated RAM allocated once (the host
 * platform of tests/unit/host_platform.c), a per-input reset that clears only what the last
 * input touched, running a stage under host_run (a clean fail() is an accepted outcome), a
 * fixed sane machine (MIS, memory map, RSDP) for the handoff builders, and the oracles: the
 * handoff's pieces and blocks are consistent, the target's build writes only its blocks (ASan
 * poisoning around them), and after the copy list ran every destination holds what the plan
 * said it would.
 */
#ifndef MBCHAIN_FUZZ_COMMON_H
#define MBCHAIN_FUZZ_COMMON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot_request.h"
#include "handoff.h"
#include "host.h"
#include "layout.h"
#include "reloc.h"

/* Print the message and the captured console's tail, then abort (libFuzzer saves the input). */
_Noreturn void fz_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define FZ_CHECK(cond)                                                                  \
	do {                                                                            \
		if (!(cond))                                                            \
			fz_bug("%s:%d: %s is false", __FILE__, __LINE__, #cond);        \
	} while (0)
#define FZ_CHECKF(cond, ...)                                                            \
	do {                                                                            \
		if (!(cond))                                                            \
			fz_bug_at(__FILE__, __LINE__, __VA_ARGS__);                     \
	} while (0)
_Noreturn void fz_bug_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Allocate (once, or again when the size changes) `size` bytes of simulated RAM, zeroed. */
void fz_ram(uint64_t size);
/* Reset the per-input state of the host platform and the core: console, image range, log
 * verbosity and failure policy.  Then clear every range marked dirty since the last reset. */
void fz_reset(void);
/* Remember that [pa, pa+len) was written, so fz_reset zeroes it (clipped to RAM). */
void fz_dirty(uint64_t pa, uint64_t len);
/* host_put + fz_dirty. */
void fz_put(uint64_t pa, const void *data, size_t len);

/* Run fn(arg) under host_run; HOST_ENTERED is a bug here (no harness enters a stub), and so is
 * a stop without an error line.  With FUZZ_SHOW set in the environment, a clean failure prints
 * the console (to see why a seed is refused). */
int fz_run(void (*fn)(void *), void *arg);

/* Little-endian readers of an input with a cursor; past the end they read zeros. */
struct fz_in {
	const uint8_t *p;
	size_t len, pos;
};
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);

/* ---- the fixed machine of the handoff builders ---- */

#define FZ_MACHINE_RAM (32u * 1024u * 1024u)
#define FZ_MIS_PA 0x9500u
#define FZ_MMAP_PA 0x9000u
#define FZ_CMDLINE_PA 0x9800u
#define FZ_MODS_PA 0x9a00u
#define FZ_STRINGS_PA 0x9c00u /* 256 bytes per module string */
#define FZ_LOADER_PA 0x9f00u
#define FZ_RSDP_PA 0xf0000u

struct fz_module {
	uint32_t pa;
	const void *data;
	uint32_t len;
	const char *string;
};

/* Write a QEMU-like MIS (RAM [0, 0x9fc00) and [1 MiB, FZ_MACHINE_RAM), a reserved BIOS area
 * holding a valid ACPI RSDP, the command line, the loader name and the modules with their
 * bytes), then run mis_read_cmdline, options_early and mis_read_rest into req.  Returns the
 * outcome (HOST_RETURNED unless a module is out of the map). */
int fz_machine(const char *cmdline, const char *loader, const struct fz_module *mods, unsigned count,
	       struct boot_request *req);

/* ---- oracles over a handoff ---- */

/* Pieces: below 4 GiB (the stub's list holds 32-bit entries), in RAM of the map, destinations
 * pairwise disjoint.  Blocks: placed, aligned, below their limit, in RAM, disjoint from each
 * other, from every destination and from every module the loader gave. */
void fz_check_handoff(const struct boot_request *req, const struct handoff *h);

/* Poison the 4 KiB either side of every block (and unpoison the blocks and the modules), so a
 * target's build that writes outside its blocks is an ASan report; fz_unguard undoes it. */
void fz_guard_blocks(const struct boot_request *req, const struct handoff *h);
void fz_unguard_blocks(const struct handoff *h);

/* Plan the copies (reloc_plan), check the list (length, no entry over a block), snapshot every
 * piece's source, run the list (reloc_execute) and check that every destination holds its
 * source's bytes (zero for PIECE_ZERO).  Marks everything written dirty.  Returns the outcome of
 * reloc_plan: a clean failure (no room for a bounce) is accepted. */
int fz_plan_execute_check(const struct handoff *h, struct free_ram *fr);
#endif
