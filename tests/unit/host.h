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

/* Little-endian helpers on host buffers. */
uint32_t le32(const uint8_t *p);
uint64_t le64(const uint8_t *p);
#endif
