/*
 * host_platform.c - platform.h on the host (see host.h).  The core reaches memory and the
 * console only through these functions, so the whole pipeline runs in simulated RAM.
 */
#include "host.h"
#include "options.h"
#include "elf.h"
#include "layout.h"
#include "freebsd.h"
#include "netbsd.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "platform.h"
#include "reloc.h"
#include "stub_abi.h"

struct host_stop_info host_last_stop;
struct host_entry_info host_last_entry;

static uint8_t *ram;
static uint64_t ram_size;
static uint64_t image_start = HOST_IMAGE_START_DEFAULT, image_end = HOST_IMAGE_END_DEFAULT;
static int efer;
static char *console_buf;
static size_t console_len, console_cap;
static uint8_t stub_blob[HOST_STUB_LEN];
static jmp_buf *run_jmp;

void host_ram_reset(uint64_t size)
{
	free(ram);
	ram = calloc(1, (size_t)size);
	if (!ram) {
		fprintf(stderr, "host: cannot allocate %llu bytes of simulated RAM\n", (unsigned long long)size);
		exit(2);
	}
	ram_size = size;
}

uint64_t host_ram_size(void) { return ram_size; }
uint8_t *host_ram(void) { return ram; }

void host_set_image_range(uint64_t start_pa, uint64_t end_pa)
{
	image_start = start_pa;
	image_end = end_pa;
}

void host_set_efer(int has_efer) { efer = has_efer; }

const char *host_console_text(void) { return console_buf ? console_buf : ""; }

void host_console_clear(void)
{
	console_len = 0;
	if (console_buf)
		console_buf[0] = 0;
}

void host_reset_all(void)
{
	static const struct failure_policy none;
	host_ram_reset(HOST_RAM_DEFAULT);
	host_console_clear();
	host_set_image_range(HOST_IMAGE_START_DEFAULT, HOST_IMAGE_END_DEFAULT);
	host_set_efer(0);
	memset(&host_last_stop, 0, sizeof(host_last_stop));
	memset(&host_last_entry, 0, sizeof(host_last_entry));
	log_set_verbose(false);
	log_set_policy(&none);
	run_jmp = NULL;
}

int host_run(void (*fn)(void *), void *arg)
{
	jmp_buf here;
	jmp_buf *saved = run_jmp;
	int r = setjmp(here);
	if (r == 0) {
		run_jmp = &here;
		fn(arg);
		run_jmp = saved;
		return HOST_RETURNED;
	}
	run_jmp = saved;
	return r - 1;
}

static _Noreturn void jump_out(int outcome)
{
	if (!run_jmp) {
		fprintf(stderr, "host: stage stopped outside host_run (outcome %d)\n%s", outcome, host_console_text());
		abort();
	}
	longjmp(*run_jmp, outcome + 1);
}

static uint8_t *checked(uint64_t pa, uint64_t len)
{
	if (pa > ram_size || len > ram_size - pa) {
		fprintf(stderr, "host: test touches [0x%llx, +0x%llx) outside simulated RAM\n", (unsigned long long)pa,
			(unsigned long long)len);
		abort();
	}
	return ram + pa;
}

void host_put(uint64_t pa, const void *data, size_t len) { memcpy(checked(pa, len), data, len); }
void host_get(uint64_t pa, void *data, size_t len) { memcpy(data, checked(pa, len), len); }
void host_puts(uint64_t pa, const char *s) { host_put(pa, s, strlen(s) + 1); }

void host_w8(uint64_t pa, uint8_t v) { *checked(pa, 1) = v; }
void host_w16(uint64_t pa, uint16_t v)
{
	uint8_t *p = checked(pa, 2);
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
void host_w32(uint64_t pa, uint32_t v) { host_w16(pa, (uint16_t)v), host_w16(pa + 2, (uint16_t)(v >> 16)); }
void host_w64(uint64_t pa, uint64_t v) { host_w32(pa, (uint32_t)v), host_w32(pa + 4, (uint32_t)(v >> 32)); }
uint8_t host_r8(uint64_t pa) { return *checked(pa, 1); }
uint16_t host_r16(uint64_t pa)
{
	const uint8_t *p = checked(pa, 2);
	return (uint16_t)(p[0] | p[1] << 8);
}
uint32_t host_r32(uint64_t pa) { return le32(checked(pa, 4)); }
uint64_t host_r64(uint64_t pa) { return le64(checked(pa, 8)); }

uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- platform.h ---- */

bool phys_valid(uint64_t pa, uint64_t len)
{
	return ram && pa + len >= pa && pa <= ram_size && len <= ram_size - pa;
}

void *phys_ptr(uint64_t pa, uint64_t len)
{
	if (!phys_valid(pa, len)) {
		fprintf(stderr, "host: phys_ptr(0x%llx, 0x%llx) outside simulated RAM\n", (unsigned long long)pa,
			(unsigned long long)len);
		abort(); /* the core must check phys_valid first: this is a bug */
	}
	return ram + pa;
}

void console_write(const char *text, size_t len)
{
	if (console_len + len + 1 > console_cap) {
		size_t cap = (console_len + len + 1) * 2 + 256;
		char *b = realloc(console_buf, cap);
		if (!b)
			abort();
		console_buf = b;
		console_cap = cap;
	}
	memcpy(console_buf + console_len, text, len);
	console_len += len;
	console_buf[console_len] = 0;
}

void platform_image_range(uint64_t *start_pa, uint64_t *end_pa)
{
	*start_pa = image_start;
	*end_pa = image_end;
}

_Noreturn void platform_stop(int reboot, unsigned seconds, unsigned exit_port)
{
	host_last_stop.reboot = reboot;
	host_last_stop.seconds = seconds;
	host_last_stop.exit_port = exit_port;
	jump_out(HOST_FAILED);
}

const void *platform_stub_code(size_t *len)
{
	memset(stub_blob, 0xCC, sizeof(stub_blob));
	*len = sizeof(stub_blob);
	return stub_blob;
}

int platform_cpu_has_long_mode(void)
{
	return 1;
}

int platform_cpu_has_efer(void) { return efer; }

/* What asm/handoff.asm does, on the simulated RAM: read the parameter block, run the copy list
 * (checking that no copy lands on the stub, its parameters or its list), record the entry state. */
_Noreturn void platform_enter_stub(uint32_t stub_pa, uint32_t params_pa)
{
	struct host_entry_info *e = &host_last_entry;
	memset(e, 0, sizeof(*e));
	e->stub_pa = stub_pa;
	e->params_pa = params_pa;
	e->copy_list_pa = host_r32(params_pa + STUB_PARAM_COPY_LIST);
	e->copy_count = host_r32(params_pa + STUB_PARAM_COPY_COUNT);
	e->entry = host_r32(params_pa + STUB_PARAM_ENTRY);
	e->esp = host_r32(params_pa + STUB_PARAM_ESP);
	e->eax = host_r32(params_pa + STUB_PARAM_EAX);
	e->ebx = host_r32(params_pa + STUB_PARAM_EBX);
	e->flags = host_r32(params_pa + STUB_PARAM_FLAGS);
#ifdef STUB_PARAM_CR3
	e->cr3 = host_r32(params_pa + STUB_PARAM_CR3);
	e->entry64 = host_r64(params_pa + STUB_PARAM_ENTRY64);
#endif
	e->stub_code_ok = true;
	for (uint32_t i = 0; i < HOST_STUB_LEN; i++)
		if (host_r8(stub_pa + i) != 0xCC)
			e->stub_code_ok = false;

	uint64_t guard_end = (uint64_t)e->copy_list_pa + (uint64_t)e->copy_count * STUB_ENTRY_SIZE;
	struct copy_entry *list = calloc(e->copy_count + 1, sizeof(*list));
	if (!list)
		abort();
	for (uint32_t i = 0; i < e->copy_count; i++) {
		uint64_t pa = e->copy_list_pa + (uint64_t)i * STUB_ENTRY_SIZE;
		list[i].dst_pa = host_r32(pa + STUB_ENTRY_DST);
		list[i].src_pa = host_r32(pa + STUB_ENTRY_SRC);
		list[i].len = host_r32(pa + STUB_ENTRY_LEN);
		list[i].kind = host_r32(pa + STUB_ENTRY_KIND);
		if (list[i].len && list[i].dst_pa < guard_end && stub_pa < (uint64_t)list[i].dst_pa + list[i].len)
			e->list_overwrites_stub = true;
		if (!phys_ptr(list[i].dst_pa, list[i].len) ||
		    (list[i].kind != STUB_KIND_ZERO && !phys_ptr(list[i].src_pa, list[i].len))) {
			fprintf(stderr, "host: copy entry %u [0x%x <- 0x%x, 0x%x] outside simulated RAM\n", i,
				list[i].dst_pa, list[i].src_pa, list[i].len);
			abort();
		}
	}
	reloc_execute(list, e->copy_count);
	free(list);
	jump_out(HOST_ENTERED);
}

static void run_target_stages(void *arg)
{
	struct host_target *t = arg;
	uint64_t s, e;
	options_parse(t->req, t->opts);
	elf_parse(t->req->modules[0].start_pa, t->req->modules[0].len, t->img);
	if (t->netbsd)
		netbsd_plan(t->req, t->opts, t->img, t->netbsd, t->h);
	else
		freebsd_plan(t->req, t->opts, t->img, t->freebsd, t->h);
	platform_image_range(&s, &e);
	layout_init(t->fr, t->req, t->h, s, e);
	layout_place_blocks(t->fr, t->h);
	if (t->netbsd)
		netbsd_build(t->req, t->opts, t->img, t->netbsd, t->h);
	else
		freebsd_build(t->req, t->opts, t->img, t->freebsd, t->h);
}

void host_layout_with_stub(struct boot_request *req, struct handoff *h, struct free_ram *fr, uint64_t below_pa)
{
	size_t code_len;
	platform_stub_code(&code_len);
	handoff_add_block(h, "handoff stub",
			  ((code_len + 15) & ~(size_t)15) + STUB_PARAMS_LEN + (uint64_t)reloc_max_entries(h) * STUB_ENTRY_SIZE,
			  16, below_pa);
	uint64_t s, e;
	platform_image_range(&s, &e);
	layout_init(fr, req, h, s, e);
	layout_place_blocks(fr, h);
}

int host_run_target(struct host_target *t)
{
	return host_run(run_target_stages, t);
}
