/*
 * fuzz_netbsd.c - the NetBSD handoff on a fuzzed kernel file: a fixed, sane QEMU-like machine
 * (fuzz_common.c) whose module 0 is the input, placed right after mbchain's image where the
 * kernel's own destinations overlap it, and a second, fixed module.  Runs what boot.c runs:
 * elf_parse, netbsd_plan, the stub block, layout_init + layout_place_blocks, netbsd_build (with
 * its blocks fenced by ASan poisoning), reloc_plan + reloc_execute; then checks the handoff,
 * the bootinfo table, the stack words and that every destination holds exactly its source.
 * Input byte choices: none; the input is the kernel file (seeds are plain ELF files).
 */
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "fuzz_common.h"
#include "layout.h"
#include "log.h"
#include "netbsd.h"
#include "options.h"
#include "platform.h"
#include "stub_abi.h"
#include "util.h"

#define KERNEL_PA 0x121000u /* right after mbchain's image, as QEMU puts it */
#define MAX_KERNEL (4u * 1024u * 1024u)
#define MOD1_LEN 0x1234u
#define STUB_BELOW_PA (1ull << 30)

static struct boot_request req;
static struct options opts;
static struct kernel_image img;
static struct netbsd_plan plan;
static struct handoff h;
static struct free_ram fr;
static uint8_t mod1[MOD1_LEN];

static void run_options(void *arg)
{
	(void)arg;
	options_parse(&req, &opts);
	log_set_verbose(true);
}

static void run_plan(void *arg)
{
	(void)arg;
	const struct boot_module *km = &req.modules[0];
	elf_parse(km->start_pa, km->len, &img);
	netbsd_plan(&req, &opts, &img, &plan, &h);
	host_layout_with_stub(&req, &h, &fr, STUB_BELOW_PA);
}

static void run_build(void *arg)
{
	(void)arg;
	netbsd_build(&req, &opts, &img, &plan, &h);
}

static void check_bootinfo(void)
{
	const struct block *b = &h.blocks[plan.bootinfo_block];
	uint32_t n = host_r32(b->pa);
	FZ_CHECKF(n >= 1 && n <= 16, "bootinfo holds %u records", n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = host_r32(b->pa + 4 + 4 * i);
		FZ_CHECKF(r >= b->pa + 4 + 4 * 16 && r + 8 <= b->pa + b->len, "record %u at 0x%x outside the block", i, r);
		uint32_t len = host_r32(r);
		FZ_CHECKF(len >= 8 && r + len <= b->pa + b->len, "record %u (type %u) of %u bytes runs off the block", i,
			  host_r32(r + 4), len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (size > MAX_KERNEL)
		return 0;
	if (!ready) {
		fz_ram(FZ_MACHINE_RAM);
		for (uint32_t i = 0; i < MOD1_LEN; i++)
			mod1[i] = (uint8_t)(i * 13 + 5);
		ready = true;
	}
	fz_reset();
	memset(&h, 0, sizeof(h));
	uint32_t mod1_pa = (KERNEL_PA + (uint32_t)size + 0xfff) & ~0xfffu;
	struct fz_module mods[2] = {
		{ KERNEL_PA, data, (uint32_t)size, "/netbsd -s root=wd0a name=/netbsd.fuzz userconf=disable_ahc*" },
		{ mod1_pa, mod1, MOD1_LEN, "/miniroot.kmod type=fs" },
	};
	FZ_CHECK(fz_machine("/mbchain.elf console=com -v foo=bar", "qemu", mods, 2, &req) == HOST_RETURNED);
	FZ_CHECK(fz_run(run_options, NULL) == HOST_RETURNED);
	if (fz_run(run_plan, NULL) != HOST_RETURNED)
		return 0;
	fz_check_handoff(&req, &h);
	fz_guard_blocks(&req, &h);
	int r = fz_run(run_build, NULL);
	fz_unguard_blocks(&h);
	FZ_CHECKF(r == HOST_RETURNED, "netbsd_build failed after netbsd_plan accepted the kernel");
	check_bootinfo();
	uint32_t esp = handoff_entry_esp(&h);
	const struct block *stack = &h.blocks[h.stack_block];
	FZ_CHECK(esp >= stack->pa && esp + 4 * h.stack_word_count <= stack->pa + stack->len);
	FZ_CHECK(h.stack_words[3] == h.blocks[plan.bootinfo_block].pa);
	FZ_CHECK(!plan.has_symbols || (plan.ssym_pa >= img.end_pa && plan.esym_pa > plan.ssym_pa));
	FZ_CHECK(h.entry_pa == img.entry_pa);
	if (fz_plan_execute_check(&h, &fr) == HOST_RETURNED && plan.has_symbols)
		FZ_CHECK(memcmp(host_ram() + plan.ssym_pa, "\177ELF", 4) == 0);
	return 0;
}
