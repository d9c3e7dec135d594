/*
 * mis.c - see mis.h.  The only file that knows Multiboot v1's information structure.
 * Source: Multiboot Specification 0.6.96 section 3.3; ../shared/SPEC.md E.3 and E.4.
 */
#include "mis.h"
#include "../multiboot.h"
#include "log.h"
#include "memmap.h"
#include "platform.h"
#include "util.h"

/* The MIS up to and including the VBE fields; the framebuffer fields follow only with bit 12. */
#define MIS_LEN_WITHOUT_FRAMEBUFFER 88u

#define BDA_EBDA_SEGMENT_PA 0x40Eu /* BIOS data area: EBDA segment (IBM PC BIOS) */
#define EBDA_LOWEST_PA 0x80000u /* an EBDA pointer below this is not one */
#define VIDEO_HOLE_PA 0xA0000u
#define KEXEC_IVT_END_PA 0x400u /* kexec-tools' REALMODE_IVT_END */

static const char hint_loader[] =
	"the Multiboot loader passed a damaged boot information structure; update or change the loader";

/* A pointer to [pa, pa+len) of loader memory, or a failure naming `what`. */
static const void *mis_checked_ptr(uint64_t pa, uint64_t len, const char *what)
{
	uint64_t image_start, image_end;
	const void *p;
	if (pa + len < pa || pa + len > PA_LIMIT_32)
		fail(hint_loader, "mis: %s at 0x%llx (+%llu bytes) leaves the 32-bit space", what,
		     (unsigned long long)pa, (unsigned long long)len);
	platform_image_range(&image_start, &image_end);
	if (ranges_overlap(pa, len, image_start, image_end - image_start))
		fail(hint_loader, "mis: %s at 0x%llx lies inside mbchain's own image", what, (unsigned long long)pa);
	if (!phys_valid(pa, len))
		fail(hint_loader, "mis: %s at 0x%llx is not addressable", what, (unsigned long long)pa);
	p = phys_ptr(pa, len);
	return p;
}

/* Copy the NUL-terminated string at pa into dst; fail if it does not end within dst_len.
 * Checked a page at a time: what may not be read (our image, past 4 GiB) starts on a page. */
static void mis_copy_string(uint32_t pa, char *dst, size_t dst_len, const char *what)
{
	for (size_t i = 0; i < dst_len;) {
		uint64_t at = (uint64_t)pa + i;
		uint64_t chunk = min_u64(PAGE_SIZE - (at & (PAGE_SIZE - 1)), dst_len - i);
		const char *c = mis_checked_ptr(at, chunk, what);
		for (uint64_t j = 0; j < chunk; j++, i++) {
			dst[i] = c[j];
			if (!c[j])
				return;
		}
	}
	dst[dst_len - 1] = 0;
	fail("shorten it, or split options between mbchain's command line and the kernel module's",
	     "mis: %s at 0x%x is longer than %u bytes", what, pa, (unsigned)dst_len - 1);
}

void mis_read_cmdline(uint32_t magic, uint32_t mis_pa, struct boot_request *req)
{
	const struct mb_info *mis;
	memset(req, 0, sizeof(*req));
	if (magic != MB_LOADER_MAGIC)
		fail("start mbchain.elf from a Multiboot loader (GRUB multiboot, QEMU -kernel, kexec, mboot.c32)",
		     "mis: not started by a Multiboot loader (eax=0x%08x)", magic);
	/* The fixed part, up to the VBE fields, before any field is read. */
	mis = mis_checked_ptr(mis_pa, MIS_LEN_WITHOUT_FRAMEBUFFER, "boot information");
	if (mis->flags & MB_INFO_CMDLINE)
		mis_copy_string(mis->cmdline_pa, req->cmdline, sizeof(req->cmdline), "command line");
}

static void read_memory_map(const struct mb_info *mis, struct boot_request *req)
{
	const uint8_t *map = mis_checked_ptr(mis->mmap_pa, mis->mmap_len, "memory map");
	uint32_t off = 0;
	if (mis->mmap_len < sizeof(struct mb_mmap_entry))
		fail(hint_loader, "mis: memory map of %u bytes is smaller than one entry", mis->mmap_len);
	while (off + 4 <= mis->mmap_len) {
		struct mb_mmap_entry e;
		memcpy(&e.size, map + off, 4);
		if (e.size < sizeof(e) - 4 || e.size > mis->mmap_len - off - 4)
			fail(hint_loader, "mis: memory map entry at offset %u has size %u", off, e.size);
		if (req->memmap_count == BOOT_MAX_MEMMAP)
			fail("report this machine's memory map to mbchain", "mis: more than %u memory map entries",
			     BOOT_MAX_MEMMAP);
		memcpy(&e, map + off, sizeof(e));
		req->memmap[req->memmap_count].base_pa = e.base_pa;
		req->memmap[req->memmap_count].len = e.len;
		req->memmap[req->memmap_count].type = e.type;
		req->memmap_count++;
		off += e.size + 4; /* `size` does not count itself */
	}
}

/* No map: describe what mem_lower/mem_upper promise (spec 3.3: both start at known places). */
static void memory_map_from_sizes(struct boot_request *req)
{
	req->memmap[0] = (struct mem_range){ 0, (uint64_t)req->mem_lower_kib * KIB, MEM_RAM };
	req->memmap[1] = (struct mem_range){ MIB, (uint64_t)req->mem_upper_kib * KIB, MEM_RAM };
	req->memmap_count = 2;
}

static void read_modules(const struct mb_info *mis, struct boot_request *req)
{
	const struct mb_module *mods;
	uint64_t image_start, image_end;
	if (mis->mods_count > BOOT_MAX_MODULES)
		fail("give at most 64 modules", "mis: %u modules", mis->mods_count);
	mods = mis_checked_ptr(mis->mods_pa, (uint64_t)mis->mods_count * sizeof(*mods), "module list");
	platform_image_range(&image_start, &image_end);
	for (uint32_t i = 0; i < mis->mods_count; i++) {
		struct boot_module *m = &req->modules[i];
		struct mb_module raw = mods[i];
		if (raw.end_pa < raw.start_pa)
			fail(hint_loader, "mis: module %u ends (0x%x) before it starts (0x%x)", i, raw.end_pa,
			     raw.start_pa);
		m->start_pa = raw.start_pa;
		m->len = raw.end_pa - raw.start_pa;
		if (ranges_overlap(m->start_pa, m->len, image_start, image_end - image_start))
			fail("do not load mbchain.elf itself as a module", "mis: module %u at 0x%x overlaps mbchain's image",
			     i, m->start_pa);
		if (m->len && !memmap_is_ram(req->memmap, req->memmap_count, m->start_pa, m->len))
			fail(hint_loader, "mis: module %u at [0x%x, 0x%x) is not in RAM", i, raw.start_pa, raw.end_pa);
		if (raw.string_pa)
			mis_copy_string(raw.string_pa, m->string, sizeof(m->string), "module string");
	}
	req->module_count = mis->mods_count;
}

/* Drives (bit 7) are optional and GRUB 2 reuses the field for a DHCP packet on network boots:
 * a table that does not parse as drives is ignored, not an error. */
static void read_drives(const struct mb_info *mis, struct boot_request *req)
{
	const uint8_t *table = mis_checked_ptr(mis->drives_pa, mis->drives_len, "drive table");
	uint32_t off = 0, count = 0;
	struct boot_drive drives[BOOT_MAX_DRIVES];
	while (off < mis->drives_len) {
		struct mb_drive d;
		if (mis->drives_len - off < sizeof(d) || count == BOOT_MAX_DRIVES)
			break;
		memcpy(&d, table + off, sizeof(d));
		if (d.size < sizeof(d) || d.size > mis->drives_len - off || d.mode > 1) {
			log_info("mis: drive table does not parse as drives; ignored");
			return;
		}
		drives[count++] = (struct boot_drive){ d.number, d.mode, d.cylinders, d.heads, d.sectors };
		off += d.size;
	}
	memcpy(req->drives, drives, sizeof(drives[0]) * count);
	req->drive_count = count;
}

static void read_framebuffer(const struct mb_info *mis, struct boot_request *req)
{
	struct boot_framebuffer *fb = &req->framebuffer;
	if (mis->framebuffer_type != MB_FRAMEBUFFER_TYPE_RGB) {
		log_info("mis: framebuffer type %u is not linear RGB; not passed on", mis->framebuffer_type);
		return;
	}
	fb->pa = mis->framebuffer_pa;
	fb->pitch_bytes = mis->framebuffer_pitch;
	fb->width = mis->framebuffer_width;
	fb->height = mis->framebuffer_height;
	fb->bpp = mis->framebuffer_bpp;
	fb->red_pos = mis->color_info[0];
	fb->red_size = mis->color_info[1];
	fb->green_pos = mis->color_info[2];
	fb->green_size = mis->color_info[3];
	fb->blue_pos = mis->color_info[4];
	fb->blue_size = mis->color_info[5];
	req->has_framebuffer = true;
	log_info("mis: framebuffer %ux%u %u bpp at 0x%llx pitch %u, rgb %u:%u %u:%u %u:%u (size:position)", fb->width,
		 fb->height, fb->bpp, (unsigned long long)fb->pa, fb->pitch_bytes, fb->red_size, fb->red_pos,
		 fb->green_size, fb->green_pos, fb->blue_size, fb->blue_pos);
}

/* Where never-free low memory starts: the EBDA if the BIOS data area names a plausible one, else
 * the top of base memory.  After kexec the BIOS data area reads 0: then mem_lower decides. */
static void find_low_reserved(struct boot_request *req)
{
	uint64_t start = VIDEO_HOLE_PA;
	if (phys_valid(BDA_EBDA_SEGMENT_PA, 2)) {
		uint64_t ebda = (uint64_t)*(const uint16_t *)phys_ptr(BDA_EBDA_SEGMENT_PA, 2) << 4;
		if (ebda >= EBDA_LOWEST_PA && ebda < VIDEO_HOLE_PA) {
			start = ebda;
			req->ebda_pa = ebda;
		}
	}
	if (req->has_mem_sizes && req->mem_lower_kib)
		start = min_u64(start, (uint64_t)req->mem_lower_kib * KIB);
	req->low_reserved_start_pa = align_down_u64(start, PAGE_SIZE);
}

void mis_read_rest(uint32_t mis_pa, struct boot_request *req)
{
	const struct mb_info *mis = mis_checked_ptr(mis_pa, MIS_LEN_WITHOUT_FRAMEBUFFER, "boot information");
	uint32_t need = (mis->flags & MB_INFO_FRAMEBUFFER_INFO) ? sizeof(*mis) : MIS_LEN_WITHOUT_FRAMEBUFFER;
	mis = mis_checked_ptr(mis_pa, need, "boot information");

	if (mis->flags & MB_INFO_BOOT_LOADER_NAME)
		mis_copy_string(mis->boot_loader_name_pa, req->loader_name, sizeof(req->loader_name), "loader name");
	if (mis->flags & MB_INFO_MEMORY) {
		req->has_mem_sizes = true;
		req->mem_lower_kib = mis->mem_lower_kib;
		req->mem_upper_kib = mis->mem_upper_kib;
		if (req->mem_lower_kib > 640) {
			log_warn("mis: mem_lower %u KiB is above 640 KiB; using 640", req->mem_lower_kib);
			req->mem_lower_kib = 640;
		}
	}
	if (mis->flags & MB_INFO_MEM_MAP)
		read_memory_map(mis, req);
	else if (req->has_mem_sizes)
		memory_map_from_sizes(req);
	else
		fail(hint_loader, "mis: no memory information (flags=0x%x)", mis->flags);
	if (!memmap_sanitize(req->memmap, &req->memmap_count, BOOT_MAX_MEMMAP))
		fail("report this machine's memory map to mbchain", "mis: memory map has more than %u ranges",
		     BOOT_MAX_MEMMAP);
	if (!memmap_is_ram(req->memmap, req->memmap_count, MIB, PAGE_SIZE))
		fail(hint_loader, "mis: no RAM at 1 MiB (%u map entries)", req->memmap_count);
	/* kexec-tools starts the first RAM range at 0x400 (REALMODE_IVT_END) where the firmware's
	 * map starts it at 0: older FreeBSD/amd64 kernels panic without a range at 0 ("BIOS smap
	 * did not include a basemem segment"), so give the kernels the firmware's view back.
	 * Page 0 stays out of mbchain's own free memory either way (layout.c). */
	if (req->memmap_count && req->memmap[0].type == MEM_RAM && req->memmap[0].base_pa == KEXEC_IVT_END_PA) {
		req->memmap[0].base_pa = 0;
		req->memmap[0].len += KEXEC_IVT_END_PA;
	}

	if (mis->flags & MB_INFO_BOOTDEV) {
		req->has_boot_device = true;
		req->boot_device = mis->boot_device;
	}
	if (mis->flags & MB_INFO_MODS)
		read_modules(mis, req);
	if ((mis->flags & MB_INFO_DRIVE_INFO) && mis->drives_len)
		read_drives(mis, req);
	if (mis->flags & MB_INFO_FRAMEBUFFER_INFO)
		read_framebuffer(mis, req);
	if (mis->flags & MB_INFO_VBE_INFO) {
		req->has_vbe_mode = true;
		req->vbe_mode = mis->vbe_mode;
	}
	find_low_reserved(req);
}
