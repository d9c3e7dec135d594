/*
 * host.c - fixtures the unit tests share on top of the host platform (host.h): a QEMU-like
 * boot_request, the pieces carried out on the simulated RAM, a piece check, and a whole boot
 * through mbchain_main from a Multiboot information structure.  Not linked into the fuzzers.
 */
#include <string.h>
#include "../../multiboot.h"
#include "boot.h"
#include "host.h"
#include "layout.h"
#include "test.h"

void host_qemu_request(struct boot_request *req, const char *loader, const char *cmdline)
{
	memset(req, 0, sizeof(*req));
	strcpy(req->loader_name, loader);
	strcpy(req->cmdline, cmdline);
	req->has_mem_sizes = true;
	req->mem_lower_kib = 639;
	req->mem_upper_kib = 130048;
	req->memmap_count = 4;
	req->memmap[0] = (struct mem_range){ 0, 0x9fc00, MEM_RAM };
	req->memmap[1] = (struct mem_range){ 0x9fc00, 0x400, MEM_RESERVED };
	req->memmap[2] = (struct mem_range){ 0xf0000, 0x10000, MEM_RESERVED };
	req->memmap[3] = (struct mem_range){ 0x100000, 0x7f00000, MEM_RAM };
	req->low_reserved_start_pa = 0x9f000;
}

void host_apply_pieces(const struct handoff *h)
{
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (p->kind == PIECE_ZERO)
			memset(host_ram() + p->dst_pa, 0, p->len);
		else
			memmove(host_ram() + p->dst_pa, host_ram() + p->src_pa, p->len);
	}
}

void host_check_piece(const char *file, int line, const struct handoff *h, unsigned i, int kind, uint64_t dst,
		      uint64_t src, uint64_t len)
{
	const struct piece *p = &h->pieces[i];
	if (i >= h->piece_count || (int)p->kind != kind || p->dst_pa != dst || p->src_pa != src || p->len != len)
		test_fail(file, line, "piece %u: expected kind %d dst 0x%llx src 0x%llx len 0x%llx, got kind %d dst 0x%llx "
				      "src 0x%llx len 0x%llx (%u pieces)",
			  i, kind, (unsigned long long)dst, (unsigned long long)src, (unsigned long long)len, p->kind,
			  (unsigned long long)p->dst_pa, (unsigned long long)p->src_pa, (unsigned long long)p->len,
			  h->piece_count);
}

void host_mis_add_module(struct mb_info *mi, uint32_t mods_pa, uint32_t strings_pa, uint32_t start, uint32_t len,
			 const char *string)
{
	uint32_t i = mi->mods_count++;
	host_w32(mods_pa + 16 * i, start);
	host_w32(mods_pa + 16 * i + 4, start + len);
	host_w32(mods_pa + 16 * i + 8, strings_pa + 64 * i);
	host_w32(mods_pa + 16 * i + 12, 0);
	host_puts(strings_pa + 64 * i, string);
	mi->mods_pa = mods_pa;
	mi->flags |= MB_INFO_MODS;
}

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void host_put_rsdp(uint64_t pa, uint8_t rev, const char *oem, uint32_t rsdt, uint64_t xsdt)
{
	uint8_t r[36] = { 0 }, sum = 0;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, oem, 6);
	r[15] = rev;
	wr(r + 16, rsdt, 4);
	if (rev >= 2) {
		wr(r + 20, 36, 4);
		wr(r + 24, xsdt, 8);
	}
	for (unsigned i = 0; i < 20; i++)
		sum = (uint8_t)(sum + r[i]);
	r[8] = (uint8_t)-sum;
	sum = 0;
	for (unsigned i = 0; i < 36; i++)
		sum = (uint8_t)(sum + r[i]);
	if (rev >= 2)
		r[32] = (uint8_t)-sum;
	host_put(pa, r, rev >= 2 ? 36 : 20);
}

/* The bytes with each NUL shown as '|'. */
static void show(char *out, size_t cap, const char *p, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < len && j + 2 < cap; i++)
		out[j++] = p[i] ? p[i] : '|';
	out[j] = 0;
}

void host_check_env(const char *file, int line, uint64_t envp_pa, uint64_t env_len, const char *const *entries,
		    unsigned count)
{
	static char want[4096], a[4096], b[4096];
	size_t len = 0;
	for (unsigned i = 0; i < count; i++) {
		size_t n = strlen(entries[i]) + 1;
		memcpy(want + len, entries[i], n);
		len += n;
	}
	want[len++] = 0;
	const char *got = (const char *)host_ram() + envp_pa;
	if (env_len != len || memcmp(got, want, len) != 0) {
		show(a, sizeof(a), want, len);
		show(b, sizeof(b), got, env_len < 4000 ? env_len : 4000);
		test_fail(file, line, "environment (| is NUL):\n  expected %zu bytes \"%s\"\n  got      %llu bytes \"%s\"",
			  len, a, (unsigned long long)env_len, b);
	}
}

static const struct mb_info *boot_mi;
static uint32_t boot_mis_pa;

static void run_main(void *arg)
{
	(void)arg;
	host_put(boot_mis_pa, boot_mi, sizeof(*boot_mi));
	mbchain_main(MB_LOADER_MAGIC, boot_mis_pa);
}

int host_boot_mis(const struct mb_info *mi, uint32_t mis_pa)
{
	host_console_clear();
	boot_mi = mi;
	boot_mis_pa = mis_pa;
	return host_run(run_main, NULL);
}
