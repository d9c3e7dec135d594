/*
 * fuzz_freebsd.c - the FreeBSD handoff: freebsd_plan, layout, freebsd_build (blocks fenced by
 * ASan poisoning), reloc_plan + reloc_execute, on the fixed machine of fuzz_common.c.
 *
 * Input: u8 mode, then the payload.  mode & 3:
 *   0: the payload is the kernel (amd64 or i386, whatever its class), with a fixed second module;
 *   1: a fixed amd64 kernel and the payload as a second module, a .ko (bit 2 set: named by
 *      type="elf obj module"; clear: recognised by its ELF magic);
 *   2: a fixed amd64 kernel and the payload as a type=env module (loader.conf lines);
 *   3: a fixed i386 kernel and the payload as a second module: bit 2 set, an i386 .ko (shared
 *      object, recognised by its ELF magic); clear, a raw type=md_image module with arguments.
 * Bit 3: no verbose output.  Bits 4-5 pick the command line.
 * Found and fixed: a .ko whose SHT_NOBITS section is 4 GiB or more got a zero-fill piece past
 * 4 GiB and a module length truncated to 32 bits; now refused (regressions/freebsd/).
 * Checks: the handoff (fuzz_common.c), every piece before kernend, the metadata chain (records
 * inside md_len, ending with MODINFO_END), the environment (NUL-terminated strings, an empty one last), the page tables or
 * i386 bootinfo block, the stack words, and the final image after the copy list.
 */
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "elfgen.h"
#include "freebsd.h"
#include "fuzz_common.h"
#include "layout.h"
#include "log.h"
#include "options.h"
#include "platform.h"
#include "stub_abi.h"
#include "util.h"

#define MOD_PA 0x121000u
#define MAX_PAYLOAD (4u * 1024u * 1024u)
#define STUB_BELOW_PA (1ull << 30)

static struct boot_request req;
static struct options opts;
static struct kernel_image img;
static struct freebsd_plan plan;
static struct handoff h;
static struct free_ram fr;
static uint8_t kernel64[64 * 1024], kernel32[64 * 1024];
static size_t kernel64_len, kernel32_len;
static const char fixed_env[] = "# fixed\nhw.physmem=\"1G\"\nvfs.root.mountfrom=ufs:/dev/ada0p2\n";
static bool quiet;

static void run_options(void *arg)
{
	(void)arg;
	options_parse(&req, &opts);
	log_set_verbose(!quiet);
}

static void run_plan(void *arg)
{
	(void)arg;
	const struct boot_module *km = &req.modules[opts.kernel_module];
	elf_parse(km->start_pa, km->len, &img);
	freebsd_plan(&req, &opts, &img, &plan, &h);
	host_layout_with_stub(&req, &h, &fr, STUB_BELOW_PA);
}

static void run_build(void *arg)
{
	(void)arg;
	freebsd_build(&req, &opts, &img, &plan, &h);
}

static size_t make_kernel(unsigned cls, uint8_t *out, size_t cap)
{
	struct eg_kernel k;
	eg_netbsd_kernel(&k, cls);
	k.g.osabi = 9; /* ELFOSABI_FREEBSD */
	return eg_build(&k.g, out, cap);
}

static void check_metadata(void)
{
	const struct block *b = &h.blocks[plan.scratch_block];
	uint64_t md = b->pa, pos = 0;
	bool end = false;
	FZ_CHECK(plan.md_len + plan.env_len <= b->len);
	while (pos + 8 <= plan.md_len) {
		uint32_t type = host_r32(md + pos), len = host_r32(md + pos + 4);
		FZ_CHECKF(pos + 8 + len <= plan.md_len, "metadata record 0x%x at +0x%llx (%u bytes) runs off", type,
			  (unsigned long long)pos, len);
		pos = (pos + 8 + len + plan.word - 1) & ~(uint64_t)(plan.word - 1);
		if (type == 0) {
			end = true;
			break;
		}
	}
	FZ_CHECKF(end && pos == plan.md_len, "metadata ends at +0x%llx of 0x%llx without MODINFO_END",
		  (unsigned long long)pos, (unsigned long long)plan.md_len);
	uint64_t env = md + plan.md_len;
	FZ_CHECK(plan.env_len >= 1 && host_r8(env + plan.env_len - 1) == 0);
	FZ_CHECK(plan.env_len == 1 || host_r8(env + plan.env_len - 2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char *const cmdlines[4] = {
		"/mbchain.elf -s console=comconsole,vidconsole boot_verbose",
		"console=vidconsole hw.x=1 \"kern.msg=a b\" -Dh",
		"/mbchain.elf name=/boot/kernel.old/kernel -v",
		"",
	};
	if (size < 1 || size > MAX_PAYLOAD)
		return 0;
	if (!ready) {
		fz_ram(FZ_MACHINE_RAM);
		kernel64_len = make_kernel(64, kernel64, sizeof(kernel64));
		kernel32_len = make_kernel(32, kernel32, sizeof(kernel32));
		ready = true;
	}
	fz_reset();
	memset(&h, 0, sizeof(h));
	uint8_t mode = data[0];
	const uint8_t *payload = data + 1;
	uint32_t plen = (uint32_t)size - 1;
	quiet = mode & 8;

	struct fz_module mods[2];
	const uint8_t *kdata = mode & 3 ? ((mode & 3) == 3 ? kernel32 : kernel64) : payload;
	uint32_t klen = mode & 3 ? (uint32_t)((mode & 3) == 3 ? kernel32_len : kernel64_len) : plen;
	uint32_t second_pa = (MOD_PA + klen + 0xfff) & ~0xfffu;
	mods[0] = (struct fz_module){ MOD_PA, kdata, klen, "/boot/kernel/kernel -s" };
	switch (mode & 3) {
	case 0:
		mods[1] = (struct fz_module){ second_pa, fixed_env, sizeof(fixed_env) - 1, "/boot/loader.conf type=env" };
		break;
	case 1:
		mods[1] = (struct fz_module){ second_pa, payload, plen,
					      mode & 4 ? "/boot/kernel/fuzz.ko \"type=elf obj module\" a=1" : "/boot/kernel/fuzz.ko" };
		break;
	case 2:
		mods[1] = (struct fz_module){ second_pa, payload, plen, "/boot/device.hints type=env" };
		break;
	default:
		mods[1] = (struct fz_module){ second_pa, payload, plen,
					      mode & 4 ? "/boot/kernel/fuzz.ko" : "/boot/mfsroot type=md_image  x=1\ty" };
		break;
	}
	FZ_CHECK(fz_machine(cmdlines[(mode >> 4) & 3], "qemu", mods, 2, &req) == HOST_RETURNED);
	FZ_CHECK(fz_run(run_options, NULL) == HOST_RETURNED);
	if (fz_run(run_plan, NULL) != HOST_RETURNED)
		return 0;
	fz_check_handoff(&req, &h);
	FZ_CHECK(plan.kernend_pa <= (1ull << 30));
	FZ_CHECK(plan.modulep_pa % PAGE_SIZE == 0 && plan.envp_pa % PAGE_SIZE == 0 && plan.kernend_pa % PAGE_SIZE == 0);
	for (uint32_t i = 0; i < plan.module_count; i++) {
		const struct freebsd_module *m = &plan.modules[i];
		FZ_CHECKF(m->base_pa + m->len <= plan.kernend_pa, "module %u [0x%llx, +0x%x) ends past kernend 0x%llx", i,
			  (unsigned long long)m->base_pa, m->len, (unsigned long long)plan.kernend_pa);
	}
	for (unsigned i = 0; i < h.piece_count; i++)
		FZ_CHECKF(h.pieces[i].dst_pa + h.pieces[i].len <= plan.kernend_pa,
			  "piece %u (%s) [0x%llx, +0x%llx) ends past kernend 0x%llx", i, h.pieces[i].what,
			  (unsigned long long)h.pieces[i].dst_pa, (unsigned long long)h.pieces[i].len,
			  (unsigned long long)plan.kernend_pa);
	fz_guard_blocks(&req, &h);
	int r = fz_run(run_build, NULL);
	fz_unguard_blocks(&h);
	FZ_CHECKF(r == HOST_RETURNED, "freebsd_build failed after freebsd_plan accepted the kernel");
	check_metadata();
	uint32_t esp = handoff_entry_esp(&h);
	const struct block *stack = &h.blocks[h.stack_block];
	FZ_CHECK(esp >= stack->pa && esp + 4 * h.stack_word_count <= stack->pa + stack->len);
	if (plan.amd64)
		FZ_CHECK(h.cr3_pa == h.blocks[plan.tables_block].pa && h.mode == CPU_LONG_64);
	else
		FZ_CHECK(h.stack_words[6] == h.blocks[plan.bootinfo_block].pa);
	fz_plan_execute_check(&h, &fr);
	return 0;
}
