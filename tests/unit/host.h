/*
 * host.h - the host side of platform.h for the unit tests: a simulated physical RAM, a captured
 * console, a configurable image range, and host_run(), which runs a stage until it returns,
 * fails (platform_stop) or jumps to the kernel (platform_enter_stub).
 */
#ifndef MBCHAIN_TEST_HOST_H
#define MBCHAIN_TEST_HOST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_RAM_DEFAULT (128u * 1024u * 1024u)
#define HOST_IMAGE_START_DEFAULT 0x100000u
#define HOST_IMAGE_END_DEFAULT 0x120000u
#define HOST_STUB_LEN 256u

enum host_outcome { HOST_RETURNED, HOST_FAILED, HOST_ENTERED };

struct host_stop_info {
	int reboot;
	unsigned seconds, exit_port;
};

struct host_entry_info {
	uint32_t stub_pa, params_pa;
	uint32_t entry, esp, eax, ebx, flags, cr3;
	uint64_t entry64;
	uint32_t copy_list_pa, copy_count;
	bool stub_code_ok; /* the dummy stub bytes were found at stub_pa */
	bool list_overwrites_stub; /* some copy wrote over the stub, its parameters or its list */
};

extern struct host_stop_info host_last_stop;
extern struct host_entry_info host_last_entry;

/* Simulated RAM: [0, size), zero-filled. */
void host_ram_reset(uint64_t size);
uint64_t host_ram_size(void);
uint8_t *host_ram(void); /* host pointer to physical 0 */

void host_set_image_range(uint64_t start_pa, uint64_t end_pa);
void host_set_efer(int has_efer);

const char *host_console_text(void);
void host_console_clear(void);

/* Reset RAM (default size), console, image range, log state: called before every test. */
void host_reset_all(void);

/* Run fn(arg); returns HOST_RETURNED, HOST_FAILED (platform_stop) or HOST_ENTERED. */
int host_run(void (*fn)(void *), void *arg);

/* The stages between the frontend and the stub for one target, as mbchain_main runs them:
 * options, the ELF kernel in module 0, the target's plan, layout, the target's build.  Set
 * exactly one of netbsd / freebsd. */
struct boot_request;
struct options;
struct kernel_image;
struct handoff;
struct free_ram;
struct netbsd_plan;
struct freebsd_plan;
struct host_target {
	struct boot_request *req;
	struct options *opts;
	struct kernel_image *img;
	struct handoff *h;
	struct free_ram *fr;
	struct netbsd_plan *netbsd;
	struct freebsd_plan *freebsd;
};
/* host_run of those stages; returns HOST_RETURNED or HOST_FAILED. */
int host_run_target(struct host_target *t);

/* Byte access to the simulated RAM (abort on an address outside it). */
void host_put(uint64_t pa, const void *data, size_t len);
void host_get(uint64_t pa, void *data, size_t len);
void host_w8(uint64_t pa, uint8_t v);
void host_w16(uint64_t pa, uint16_t v);
void host_w32(uint64_t pa, uint32_t v);
void host_w64(uint64_t pa, uint64_t v);
uint8_t host_r8(uint64_t pa);
uint16_t host_r16(uint64_t pa);
uint32_t host_r32(uint64_t pa);
uint64_t host_r64(uint64_t pa);
void host_puts(uint64_t pa, const char *s); /* with its NUL */

/* What mbchain_main does between the target's plan and its build: add the handoff stub's block
 * (its code, parameters and the largest copy list) below below_pa, then layout_init over the
 * image range and layout_place_blocks. */
void host_layout_with_stub(struct boot_request *req, struct handoff *h, struct free_ram *fr, uint64_t below_pa);

/* ---- host.c: fixtures shared by the unit tests (they report through test_fail) ---- */
struct mb_info;

/* A QEMU-like request: *req zeroed, the loader name and command line, 639 KiB + 130048 KiB,
 * the four-entry map (RAM below 0x9fc00, EBDA, BIOS ROM, RAM 0x100000-0x8000000), low
 * reserved memory from 0x9f000.  The caller adds the boot device, drives and modules. */
void host_qemu_request(struct boot_request *req, const char *loader, const char *cmdline);

/* Carry out h's pieces on the simulated RAM in order, as the stub would (for tests whose
 * sources never overlap their destinations). */
void host_apply_pieces(const struct handoff *h);

/* Fail at file:line unless piece i of h exists with that kind, destination, source and length. */
void host_check_piece(const char *file, int line, const struct handoff *h, unsigned i, int kind, uint64_t dst,
		      uint64_t src, uint64_t len);

/* Add a module to *mi: its 16-byte entry at mods_pa + 16 * index, its string at
 * strings_pa + 64 * index; sets mi->mods_pa and MB_INFO_MODS. */
void host_mis_add_module(struct mb_info *mi, uint32_t mods_pa, uint32_t strings_pa, uint32_t start, uint32_t len,
			 const char *string);

/* Fail at file:line unless the FreeBSD environment at envp_pa (env_len bytes) is exactly the
 * entries given, each NUL-terminated, then a NUL. */
void host_check_env(const char *file, int line, uint64_t envp_pa, uint64_t env_len, const char *const *entries,
		    unsigned count);

/* An ACPI RSDP at pa: revision 0 is 20 bytes, revision 2 is 36 with a good extended checksum. */
void host_put_rsdp(uint64_t pa, uint8_t rev, const char *oem, uint32_t rsdt, uint64_t xsdt);

/* Write *mi to mis_pa, clear the console and host_run mbchain_main(MB_LOADER_MAGIC, mis_pa). */
int host_boot_mis(const struct mb_info *mi, uint32_t mis_pa);

/* Little-endian helpers on host buffers. */
uint32_t le32(const uint8_t *p);
uint64_t le64(const uint8_t *p);
#endif
