/*
 * test_mis.c - the Multiboot v1 frontend: MIS structures built in simulated RAM, read back field
 * by field, and hostile ones refused with the exact error line.
 */
#include <stddef.h>
#include "../../multiboot.h"
#include "mis.h"
#include "test.h"
#include "util.h"

#define MIS_PA 0x9500u
#define MMAP_PA 0x9000u
#define CMDLINE_PA 0x9800u
#define MODS_PA 0x9a00u
#define STRINGS_PA 0x9c00u
#define LOADER_PA 0x9f00u

static struct mb_info mi;
static struct boot_request req;
static uint32_t run_magic, run_pa;

_Static_assert(offsetof(struct mb_info, mmap_len) == 44, "spec 3.3 mmap_length");
_Static_assert(offsetof(struct mb_info, boot_loader_name_pa) == 64, "spec 3.3 boot_loader_name");
_Static_assert(offsetof(struct mb_info, vbe_mode) == 80, "spec 3.3 vbe_mode");
_Static_assert(offsetof(struct mb_info, framebuffer_pa) == 88, "spec 3.3 framebuffer_addr");
_Static_assert(offsetof(struct mb_info, framebuffer_type) == 109, "spec 3.3 framebuffer_type");
_Static_assert(offsetof(struct mb_info, color_info) == 112, "GRUB multiboot.h colour info");

static void put_mmap(uint32_t pa, uint32_t index, uint32_t size, uint64_t base, uint64_t len, uint32_t type)
{
	uint32_t at = pa + index * (size + 4);
	host_w32(at, size);
	host_w64(at + 4, base);
	host_w64(at + 12, len);
	host_w32(at + 20, type);
}

/* A QEMU-like MIS: memory sizes, a three-entry map, a command line and a loader name. */
static void mis_standard(const char *cmdline)
{
	memset(&mi, 0, sizeof(mi));
	mi.flags = MB_INFO_MEMORY | MB_INFO_MEM_MAP | MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME;
	mi.mem_lower_kib = 639;
	mi.mem_upper_kib = 130048;
	put_mmap(MMAP_PA, 0, 20, 0, 0x9fc00, MEM_RAM);
	put_mmap(MMAP_PA, 1, 20, 0xf0000, 0x10000, MEM_RESERVED);
	put_mmap(MMAP_PA, 2, 20, 0x100000, 0x7f00000, MEM_RAM);
	mi.mmap_pa = MMAP_PA;
	mi.mmap_len = 3 * 24;
	host_puts(CMDLINE_PA, cmdline);
	mi.cmdline_pa = CMDLINE_PA;
	host_puts(LOADER_PA, "qemu");
	mi.boot_loader_name_pa = LOADER_PA;
	host_w16(0x40e, 0x9fc0); /* EBDA segment, as SeaBIOS leaves it */
}

static void mis_add_module(uint32_t start, uint32_t end, const char *string)
{
	uint32_t i = mi.mods_count++;
	uint32_t at = MODS_PA + 16 * i;
	host_w32(at, start);
	host_w32(at + 4, end);
	host_w32(at + 8, string ? STRINGS_PA + 32 * i : 0);
	host_w32(at + 12, 0);
	if (string)
		host_puts(STRINGS_PA + 32 * i, string);
	mi.mods_pa = MODS_PA;
	mi.flags |= MB_INFO_MODS;
}

static void run_mis(void *arg)
{
	(void)arg;
	mis_read_cmdline(run_magic, run_pa, &req);
	mis_read_rest(run_pa, &req);
}

static int read_mis_at(uint32_t magic, uint32_t pa)
{
	host_put(MIS_PA, &mi, sizeof(mi));
	memset(&req, 0x5A, sizeof(req));
	run_magic = magic;
	run_pa = pa;
	host_console_clear();
	return host_run(run_mis, NULL);
}

static int read_mis(void) { return read_mis_at(MB_LOADER_MAGIC, MIS_PA); }

static void check_range(const char *file, int line, uint32_t i, uint64_t base, uint64_t len, uint32_t type)
{
	if (i >= req.memmap_count)
		test_fail(file, line, "memmap[%u] missing (count %u)", i, req.memmap_count);
	const struct mem_range *r = &req.memmap[i];
	if (r->base_pa != base || r->len != len || r->type != type)
		test_fail(file, line, "memmap[%u]: expected [0x%llx +0x%llx type %u], got [0x%llx +0x%llx type %u]", i,
			  (unsigned long long)base, (unsigned long long)len, type, (unsigned long long)r->base_pa,
			  (unsigned long long)r->len, r->type);
}
#define CHECK_RANGE(i, b, l, t) check_range(__FILE__, __LINE__, (i), (b), (l), (t))

TEST(mis_standard_fields)
{
	mis_standard("/mbchain.elf -s root=wd0a");
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_STR(req.cmdline, "/mbchain.elf -s root=wd0a");
	CHECK_STR(req.loader_name, "qemu");
	CHECK(req.has_mem_sizes);
	CHECK_EQ(req.mem_lower_kib, 639);
	CHECK_EQ(req.mem_upper_kib, 130048);
	CHECK(!req.has_boot_device);
	CHECK_EQ(req.module_count, 0);
	CHECK_EQ(req.memmap_count, 3);
	CHECK_RANGE(0, 0, 0x9fc00, MEM_RAM);
	CHECK_RANGE(1, 0xf0000, 0x10000, MEM_RESERVED);
	CHECK_RANGE(2, 0x100000, 0x7f00000, MEM_RAM);
	CHECK_EQ(req.drive_count, 0);
	CHECK(!req.has_framebuffer);
	CHECK(!req.has_vbe_mode);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000);
	CHECK_STR(host_console_text(), "");
}

TEST(mis_no_cmdline_no_name)
{
	mis_standard("ignored");
	mi.flags &= ~(MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME);
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_STR(req.cmdline, "");
	CHECK_STR(req.loader_name, "");
}

TEST(mis_modules_and_boot_device)
{
	mis_standard("");
	mi.flags |= MB_INFO_BOOTDEV;
	mi.boot_device = 0x8000ffff;
	mis_add_module(0x120000, 0x134567, "/netbsd -s");
	mis_add_module(0x135000, 0x135000, NULL); /* empty, no string */
	mis_add_module(0x136000, 0x137000, "/boot/x.kmod type=elf");
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK(req.has_boot_device);
	CHECK_EQ(req.boot_device, 0x8000ffff);
	CHECK_EQ(req.module_count, 3);
	CHECK_EQ(req.modules[0].start_pa, 0x120000);
	CHECK_EQ(req.modules[0].len, 0x14567);
	CHECK_STR(req.modules[0].string, "/netbsd -s");
	CHECK_EQ(req.modules[1].start_pa, 0x135000);
	CHECK_EQ(req.modules[1].len, 0);
	CHECK_STR(req.modules[1].string, "");
	CHECK_EQ(req.modules[2].start_pa, 0x136000);
	CHECK_EQ(req.modules[2].len, 0x1000);
	CHECK_STR(req.modules[2].string, "/boot/x.kmod type=elf");
}

TEST(mis_mmap_at_physical_zero)
{
	/* kexec-tools puts the map at physical 0; the BIOS data area then reads 0 too. */
	mis_standard("");
	host_w16(0x40e, 0);
	put_mmap(0, 0, 20, 0, 0x9f000, MEM_RAM);
	put_mmap(0, 1, 20, 0x100000, 0x3ff00000, MEM_RAM);
	put_mmap(0, 2, 20, 0xfffc0000, 0x40000, MEM_RESERVED);
	mi.mmap_pa = 0;
	mi.mmap_len = 72;
	mi.mem_lower_kib = 636;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.memmap_count, 3);
	CHECK_RANGE(0, 0, 0x9f000, MEM_RAM);
	CHECK_RANGE(1, 0x100000, 0x3ff00000, MEM_RAM);
	CHECK_RANGE(2, 0xfffc0000, 0x40000, MEM_RESERVED);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000); /* 636 KiB = 0x9f000 */
}

TEST(mis_mmap_entry_size_24)
{
	/* size 24: the next entry is at +28; the 4 extra bytes must be skipped, not parsed. */
	mis_standard("");
	put_mmap(MMAP_PA, 0, 24, 0, 0x9fc00, MEM_RAM);
	put_mmap(MMAP_PA, 1, 24, 0x100000, 0x7f00000, MEM_RAM);
	put_mmap(MMAP_PA, 2, 24, 0xfec00000, 0x1000, MEM_RESERVED);
	for (uint32_t i = 0; i < 3; i++)
		host_w32(MMAP_PA + 28 * i + 24, 0xffffffff);
	mi.mmap_len = 3 * 28;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.memmap_count, 3);
	CHECK_RANGE(0, 0, 0x9fc00, MEM_RAM);
	CHECK_RANGE(1, 0x100000, 0x7f00000, MEM_RAM);
	CHECK_RANGE(2, 0xfec00000, 0x1000, MEM_RESERVED);
}

TEST(mis_mmap_sanitised)
{
	mis_standard("");
	put_mmap(MMAP_PA, 0, 20, 0x100000, 0x7f00000, MEM_RAM);
	put_mmap(MMAP_PA, 1, 20, 0, 0, MEM_RAM);
	put_mmap(MMAP_PA, 2, 20, 0, 0x9fc00, MEM_RAM);
	put_mmap(MMAP_PA, 3, 20, 0x200000, 0x1000, MEM_RESERVED);
	mi.mmap_len = 4 * 24 + 3; /* trailing bytes shorter than a size field are ignored */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.memmap_count, 4);
	CHECK_RANGE(0, 0, 0x9fc00, MEM_RAM);
	CHECK_RANGE(1, 0x100000, 0x100000, MEM_RAM);
	CHECK_RANGE(2, 0x200000, 0x1000, MEM_RESERVED);
	CHECK_RANGE(3, 0x201000, 0x7dff000, MEM_RAM);
}

TEST(mis_fallback_map_from_sizes)
{
	mis_standard("");
	mi.flags &= ~MB_INFO_MEM_MAP;
	mi.mem_lower_kib = 640;
	mi.mem_upper_kib = 64512;
	host_w16(0x40e, 0);
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.memmap_count, 2);
	CHECK_RANGE(0, 0, 0xa0000, MEM_RAM);
	CHECK_RANGE(1, 0x100000, 0x3f00000, MEM_RAM);
	CHECK_EQ(req.low_reserved_start_pa, 0xa0000);
}

TEST(mis_mem_lower_clamped)
{
	mis_standard("");
	mi.flags &= ~MB_INFO_MEM_MAP;
	mi.mem_lower_kib = 1000;
	host_w16(0x40e, 0);
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.mem_lower_kib, 640);
	CHECK_RANGE(0, 0, 0xa0000, MEM_RAM);
	CHECK_STR(host_console_text(), "mbchain: warning: mis: mem_lower 1000 KiB is above 640 KiB; using 640\n");
}

TEST(mis_low_reserved_from_ebda)
{
	mis_standard("");
	host_w16(0x40e, 0x9000); /* EBDA at 0x90000, below mem_lower's 0x9fc00 */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0x90000);
	host_w16(0x40e, 0x7000); /* 0x70000: below 512 KiB, not an EBDA: mem_lower decides */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000);
	host_w16(0x40e, 0xb000); /* 0xb0000: in the video hole, not an EBDA */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000);
	host_w16(0x40e, 0x9fc0);
	mi.flags &= ~MB_INFO_MEMORY; /* no mem_lower: the EBDA alone */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK(!req.has_mem_sizes);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000);
	host_w16(0x40e, 0); /* nothing at all: the video hole */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0xa0000);
}

TEST(mis_low_reserved_from_mem_lower_when_bda_zero)
{
	mis_standard("");
	host_w16(0x40e, 0);
	mi.mem_lower_kib = 512;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0x80000);
	mi.mem_lower_kib = 639;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.low_reserved_start_pa, 0x9f000);
}

TEST(mis_drives)
{
	mis_standard("");
	mi.flags |= MB_INFO_DRIVE_INFO;
	uint32_t t = 0x9400;
	/* size counts the whole entry: 10 bytes plus 2 per port */
	host_w32(t, 14), host_w8(t + 4, 0x80), host_w8(t + 5, 1), host_w16(t + 6, 1024), host_w8(t + 8, 16);
	host_w8(t + 9, 63), host_w16(t + 10, 0x1f0), host_w16(t + 12, 0);
	t += 14;
	host_w32(t, 10), host_w8(t + 4, 0x81), host_w8(t + 5, 0), host_w16(t + 6, 500), host_w8(t + 8, 4);
	host_w8(t + 9, 32);
	mi.drives_pa = 0x9400;
	mi.drives_len = 24;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.drive_count, 2);
	CHECK_EQ(req.drives[0].number, 0x80);
	CHECK_EQ(req.drives[0].mode, 1);
	CHECK_EQ(req.drives[0].cylinders, 1024);
	CHECK_EQ(req.drives[0].heads, 16);
	CHECK_EQ(req.drives[0].sectors, 63);
	CHECK_EQ(req.drives[1].number, 0x81);
	CHECK_EQ(req.drives[1].mode, 0);
	CHECK_EQ(req.drives[1].cylinders, 500);
	CHECK_EQ(req.drives[1].heads, 4);
	CHECK_EQ(req.drives[1].sectors, 32);
	/* A table that is no drive table (GRUB's DHCP packet) is ignored, not an error. */
	host_w8(0x9400 + 5, 7);
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.drive_count, 0);
}

TEST(mis_framebuffer_rgb)
{
	mis_standard("");
	mi.flags |= MB_INFO_FRAMEBUFFER_INFO | MB_INFO_VBE_INFO;
	mi.vbe_mode = 0x118;
	mi.framebuffer_pa = 0xfd000000;
	mi.framebuffer_pitch = 4096;
	mi.framebuffer_width = 1024;
	mi.framebuffer_height = 768;
	mi.framebuffer_bpp = 32;
	mi.framebuffer_type = MB_FRAMEBUFFER_TYPE_RGB;
	host_put(MIS_PA, &mi, sizeof(mi));
	/* colour info as GRUB writes it: red pos/size, green pos/size, blue pos/size at 112 */
	static const uint8_t colours[6] = { 16, 8, 8, 8, 0, 8 };
	memcpy(mi.color_info, colours, 6);
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_MEM(host_ram() + MIS_PA + 112, colours, 6);
	CHECK(req.has_framebuffer);
	CHECK_EQ(req.framebuffer.pa, 0xfd000000);
	CHECK_EQ(req.framebuffer.pitch_bytes, 4096);
	CHECK_EQ(req.framebuffer.width, 1024);
	CHECK_EQ(req.framebuffer.height, 768);
	CHECK_EQ(req.framebuffer.bpp, 32);
	CHECK_EQ(req.framebuffer.red_pos, 16);
	CHECK_EQ(req.framebuffer.red_size, 8);
	CHECK_EQ(req.framebuffer.green_pos, 8);
	CHECK_EQ(req.framebuffer.green_size, 8);
	CHECK_EQ(req.framebuffer.blue_pos, 0);
	CHECK_EQ(req.framebuffer.blue_size, 8);
	CHECK(req.has_vbe_mode);
	CHECK_EQ(req.vbe_mode, 0x118);
	/* EGA text is not passed on */
	mi.framebuffer_type = MB_FRAMEBUFFER_TYPE_EGA_TEXT;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK(!req.has_framebuffer);
}

/* ---- hostile input ---- */

TEST(mis_wrong_magic)
{
	mis_standard("");
	CHECK_FAILS_WITH(read_mis_at(0x36d76289, MIS_PA),
			 "mbchain: error: mis: not started by a Multiboot loader (eax=0x36d76289)\n");
	CHECK_FAILS_WITH(read_mis_at(0, MIS_PA), "mbchain: error: mis: not started by a Multiboot loader (eax=0x00000000)\n");
}

TEST(mis_pointer_wraps)
{
	mis_standard("");
	CHECK_FAILS_WITH(read_mis_at(MB_LOADER_MAGIC, 0xfffffffe),
			 "mbchain: error: mis: boot information at 0xfffffffe (+88 bytes) leaves the 32-bit space\n");
	CHECK_FAILS_WITH(read_mis_at(MB_LOADER_MAGIC, 0xf0000000),
			 "mbchain: error: mis: boot information at 0xf0000000 is not addressable\n");
	CHECK_FAILS_WITH(read_mis_at(MB_LOADER_MAGIC, 0x100100),
			 "mbchain: error: mis: boot information at 0x100100 lies inside mbchain's own image\n");
}

TEST(mis_mmap_too_short)
{
	mis_standard("");
	mi.mmap_len = 20;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map of 20 bytes is smaller than one entry\n");
	mi.mmap_len = 0;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map of 0 bytes is smaller than one entry\n");
}

TEST(mis_mmap_entry_size_small)
{
	mis_standard("");
	put_mmap(MMAP_PA, 0, 20, 0, 0x9fc00, MEM_RAM);
	host_w32(MMAP_PA + 24, 16);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map entry at offset 24 has size 16\n");
	host_w32(MMAP_PA + 24, 0);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map entry at offset 24 has size 0\n");
	/* an entry whose size runs past mmap_length */
	host_w32(MMAP_PA + 24, 20);
	host_w32(MMAP_PA + 48, 100);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map entry at offset 48 has size 100\n");
}

TEST(mis_mmap_pointer_hostile)
{
	mis_standard("");
	mi.mmap_pa = 0xfffffff0;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map at 0xfffffff0 (+72 bytes) leaves the 32-bit space\n");
	mi.mmap_pa = MMAP_PA;
	mi.mmap_len = 0xffffffff;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: memory map at 0x9000 (+4294967295 bytes) leaves the 32-bit space\n");
}

TEST(mis_no_memory_information)
{
	mis_standard("");
	mi.flags &= ~(MB_INFO_MEM_MAP | MB_INFO_MEMORY);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: no memory information (flags=0x204)\n");
}

TEST(mis_no_ram_at_1mib)
{
	mis_standard("");
	put_mmap(MMAP_PA, 0, 20, 0, 0x9fc00, MEM_RAM);
	put_mmap(MMAP_PA, 1, 20, 0x200000, 0x100000, MEM_RAM);
	mi.mmap_len = 48;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: no RAM at 1 MiB (2 map entries)\n");
}

TEST(mis_module_end_before_start)
{
	mis_standard("");
	mis_add_module(0x200000, 0x1000, "x");
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module 0 ends (0x1000) before it starts (0x200000)\n");
}

TEST(mis_module_outside_ram)
{
	mis_standard("");
	mis_add_module(0x200000, 0x201000, "ok");
	mis_add_module(0x7fff000, 0x8001000, "past the end of RAM");
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module 1 at [0x7fff000, 0x8001000) is not in RAM\n");
	mi.mods_count = 0;
	mis_add_module(0xf8000, 0xf9000, "in the BIOS area");
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module 0 at [0xf8000, 0xf9000) is not in RAM\n");
}

TEST(mis_module_overlaps_image)
{
	mis_standard("");
	mis_add_module(0x11f000, 0x121000, "overlaps the end");
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module 0 at 0x11f000 overlaps mbchain's image\n");
	host_set_image_range(0x200000, 0x220000);
	mi.mods_count = 0;
	mis_add_module(0x1ff000, 0x200001, "one byte in");
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module 0 at 0x1ff000 overlaps mbchain's image\n");
	mi.mods_count = 0;
	mis_add_module(0x1ff000, 0x200000, "touches only");
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
}

TEST(mis_cmdline_not_terminated)
{
	mis_standard("");
	memset(host_ram() + CMDLINE_PA, 'a', 2048);
	host_w8(CMDLINE_PA + 2048, 0);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: command line at 0x9800 is longer than 2047 bytes\n");
	host_w8(CMDLINE_PA + 2047, 0); /* 2047 characters fit */
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(strlen(req.cmdline), 2047);
}

TEST(mis_module_string_not_terminated)
{
	mis_standard("");
	mis_add_module(0x200000, 0x201000, "x");
	memset(host_ram() + STRINGS_PA, 'b', 300);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: module string at 0x9c00 is longer than 255 bytes\n");
}

TEST(mis_too_many_modules)
{
	mis_standard("");
	for (uint32_t i = 0; i < 65; i++)
		mis_add_module(0x200000 + 0x1000 * i, 0x200100 + 0x1000 * i, NULL);
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: 65 modules\n");
	mi.mods_count = 64;
	CHECK_OUTCOME(read_mis(), HOST_RETURNED);
	CHECK_EQ(req.module_count, 64);
	CHECK_EQ(req.modules[63].start_pa, 0x200000 + 0x1000 * 63);
	CHECK_EQ(req.modules[63].len, 0x100);
}

TEST(mis_too_many_mmap_entries)
{
	mis_standard("");
	for (uint32_t i = 0; i < 129; i++)
		put_mmap(0x20000, i, 20, 0x100000 + 0x2000ull * i, 0x1000, MEM_RAM);
	mi.mmap_pa = 0x20000;
	mi.mmap_len = 129 * 24;
	CHECK_FAILS_WITH(read_mis(), "mbchain: error: mis: more than 128 memory map entries\n");
}
