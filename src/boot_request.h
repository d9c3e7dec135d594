/*
 * boot_request.h - what a frontend (today src/mis.c, Multiboot v1) learned from its loader, in
 * mbchain's own terms.  Everything here is a copy in mbchain's memory: once a frontend returns,
 * the loader's structures may be overwritten.  No Multiboot type appears past this point.
 */
#ifndef MBCHAIN_BOOT_REQUEST_H
#define MBCHAIN_BOOT_REQUEST_H
#include <stdbool.h>
#include <stdint.h>

#define BOOT_MAX_MODULES 64
#define BOOT_MAX_MEMMAP 128 /* entries after sanitising */
#define BOOT_MAX_DRIVES 8
#define BOOT_CMDLINE_MAX 2048 /* bytes, NUL included */
#define BOOT_STRING_MAX 256 /* a module string or the loader name, NUL included */

/* Memory types as E820, Multiboot and NetBSD's BTINFO_MEMMAP number them. */
#define MEM_RAM 1
#define MEM_RESERVED 2
#define MEM_ACPI 3
#define MEM_NVS 4
#define MEM_BAD 5

struct mem_range {
	uint64_t base_pa;
	uint64_t len;
	uint32_t type;
};

/* Bytes [offset, offset+len) of a module that live at pa instead of start_pa+offset: a gzip'd
 * kernel's segments inflated straight to their destination (boot.c).  They are the module's
 * bytes like any other: a source still to be read until the handoff. */
#define BOOT_MAX_PLACED 16
struct module_placed {
	uint32_t offset, len, pa;
};

struct boot_module {
	uint32_t start_pa;
	uint32_t len;
	char string[BOOT_STRING_MAX]; /* as the loader gave it, path included when it gives one */
	uint32_t placed_count; /* 0 from every frontend */
	struct module_placed placed[BOOT_MAX_PLACED];
};

struct boot_drive {
	uint8_t number;
	uint8_t mode; /* 0 CHS, 1 LBA */
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
};

struct boot_framebuffer {
	uint64_t pa;
	uint32_t pitch_bytes, width, height;
	uint8_t bpp;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct boot_request {
	char loader_name[BOOT_STRING_MAX]; /* "" when the loader gives none */
	char cmdline[BOOT_CMDLINE_MAX]; /* mbchain's own command line, "" when absent */

	bool has_mem_sizes;
	uint32_t mem_lower_kib, mem_upper_kib;

	bool has_boot_device;
	uint32_t boot_device; /* BIOS drive<<24 | part1<<16 | part2<<8 | part3 */

	uint32_t module_count;
	struct boot_module modules[BOOT_MAX_MODULES];

	/* Sorted, non-overlapping, no zero lengths, adjacent equal types merged (memmap.c). */
	uint32_t memmap_count;
	struct mem_range memmap[BOOT_MAX_MEMMAP];

	uint32_t drive_count;
	struct boot_drive drives[BOOT_MAX_DRIVES];

	bool has_framebuffer; /* a linear RGB framebuffer only */
	struct boot_framebuffer framebuffer;
	bool has_vbe_mode;
	uint16_t vbe_mode;

	/* Low memory that is never free, whatever the map says: page 0 with the IVT and BIOS data
	 * area, and from the EBDA (or the top of base memory) up to 1 MiB. */
	uint64_t low_reserved_start_pa; /* the EBDA or the top of base memory */
	uint64_t ebda_pa; /* the EBDA the BIOS data area names, 0 when it names none */
};
#endif
