/*
 * mbinfo.c - the report half of the mbinfo probe (entry: mbinfo.asm; shared output, CRC-32,
 * checks and data/BSS facts: ../probes/lib.c).  A plain Multiboot v1 kernel: it echoes EAX and
 * every field of the Multiboot information structure (MIS) its flags declare, as
 * `mb.<field>: value` lines on port 0xE9 and COM1, checks what the Multiboot spec promises
 * a kernel, prints `result: PASS|FAIL` and exits QEMU through isa-debug-exit (0x10 / 0x11).
 *
 * The MIS layout is written here from the spec's table (Multiboot 0.6.96 section 3.3), by
 * offset, independently of mbchain's multiboot.h.  Lines (numbers lower-case hex with 0x
 * unless decimal is said):
 *
 *   probe: mbinfo-elf | mbinfo-kludge
 *   image: start=0x%x end=0x%x entry=0x%x          link-time facts: [load_addr, bss_end)
 *   entry: eax=0x%08x ebx=0x%08x cr0_pe=%d cr0_pg=%d if=%d vm=%d cs_flat=%d ds_flat=%d ss_flat=%d
 *   mb.flags: 0x%08x
 *   mb.mem_lower: %u                       (flag 0, KiB, decimal)
 *   mb.mem_upper: %u
 *   mb.boot_device: 0x%08x                 (flag 1)
 *   mb.cmdline: "%s"                       (flag 2)
 *   mb.mods_count: %u                      (flag 3, decimal)
 *   mb.mod[%d]: start=0x%x end=0x%x string="%s" crc32=0x%08x
 *   mb.syms: 0x%x 0x%x 0x%x 0x%x           (flag 4 or 5: the four raw words)
 *   mb.mmap_length: %u                     (flag 6, decimal)
 *   mb.mmap[%d]: size=%u base=0x%llx len=0x%llx type=%u
 *   mb.drives: length=%u addr=0x%x         (flag 7)
 *   mb.config_table: 0x%x                  (flag 8)
 *   mb.loader_name: "%s"                   (flag 9)
 *   mb.apm_table: 0x%x                     (flag 10)
 *   mb.vbe: control=0x%x mode_info=0x%x mode=0x%x seg=0x%x off=0x%x len=0x%x   (flag 11)
 *   mb.framebuffer: addr=0x%llx pitch=%u width=%u height=%u bpp=%u type=%u color=%02x...  (flag 12;
 *                   color: the 8 bytes at offset 110, raw)
 *   check: <name> ok | FAIL <detail>
 *   result: PASS | FAIL
 *
 * Strings are printed as ../probes/lib.c print_str does (\xNN for bytes outside 0x20..0x7e,
 * backslash and quote).  The MIS address itself (mb.mis) is printed for the reader only.
 */
#include "lib.h"

#ifdef KLUDGE
#define FLAVOUR "mbinfo-kludge"
#else
#define FLAVOUR "mbinfo-elf"
#endif

#define STR_MAX 4096u          /* a string longer than this counts as unterminated */
#define MIS_LEN 88u            /* up to and including the VBE fields */
#define MIS_LEN_FB 116u        /* with the framebuffer fields (spec table: up to 115) */
#define MAX_RANGES 256

extern u32 sv_ebx;
extern char __load_start[], start[];
extern struct entry_save entry_save;

struct range {
	u64 start, end; /* [start, end) */
	const char *what;
	int index;
};

static struct range ranges[MAX_RANGES]; /* everything the MIS consists of or points to */
static int range_count;
static u32 image_start, image_end;
static char why[160];

static const u8 *phys(u32 pa)
{
	return (const u8 *)(ulong)pa;
}

static void add_range(u64 s, u64 len, const char *what, int index)
{
	if (range_count < MAX_RANGES)
		ranges[range_count++] = (struct range){ s, s + len, what, index };
}

static int overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Length of the string at pa including its NUL, or 0 when not terminated within STR_MAX or
 * when it would run past 4 GiB. */
static u32 str_len(u32 pa)
{
	u32 i;

	for (i = 0; i < STR_MAX; i++) {
		if ((u64)pa + i > 0xffffffffull)
			return 0;
		if (!phys(pa)[i])
			return i + 1;
	}
	return 0;
}

static int strings_ok = 1;

static void print_string_field(const char *label, u32 pa, const char *what, int index)
{
	u32 n = str_len(pa);

	print("%s", label);
	print_str(phys(pa), STR_MAX, 1);
	print("\n");
	if (!n) {
		strings_ok = 0;
		format(why, sizeof why, "%s at 0x%x not terminated within %u bytes", what, pa, STR_MAX);
	}
	add_range(pa, n ? n : 1, what, index);
}

/* 1 when [s, s+len) lies inside one type-1 (RAM) entry of the map the MIS gives. */
static int in_ram(u32 mmap_addr, u32 mmap_len, u64 s, u64 len)
{
	u32 off = 0;

	while (off + 24 <= mmap_len) {
		const u8 *e = phys(mmap_addr + off);
		u32 size = rd32(e);
		u64 base = rd64(e + 4), l = rd64(e + 12);
		if (rd32(e + 20) == 1 && s >= base && s + len <= base + l)
			return 1;
		if (size < 20)
			return 0;
		off += size + 4;
	}
	return 0;
}

void probe_main(void);
void probe_main(void)
{
	const struct entry_save *sv = &entry_save;
	u32 mis = sv_ebx, flags, mods_count = 0, mods_addr = 0, mmap_len = 0, mmap_addr = 0;
	const u8 *m;
	int i, j, ok;

	probe_init();
	image_start = (u32)(ulong)__load_start;
	image_end = (u32)(ulong)_end;
	print("probe: %s\n", FLAVOUR);
	print("image: start=0x%x end=0x%x entry=0x%x\n", image_start, image_end, (u32)(ulong)start);
	{
		int cs = desc_flat(sv->cs_desc, sv->desc_valid & 1);
		int ds = desc_flat(sv->ds_desc, sv->desc_valid & 2);
		int ss = desc_flat(sv->ss_desc, sv->desc_valid & 4);
		int pe = sv->cr0 & 1, pg = !!(sv->cr0 & 0x80000000u);
		int ifl = !!(sv->eflags & 0x200), vm = !!(sv->eflags & 0x20000);
		print("entry: eax=0x%08x ebx=0x%08x cr0_pe=%d cr0_pg=%d if=%d vm=%d cs_flat=%d ds_flat=%d ss_flat=%d\n",
		      sv->eax, mis, pe, pg, ifl, vm, cs, ds, ss);
		format(why, sizeof why, "eax=0x%08x, want 0x2badb002", sv->eax);
		check("eax_magic", sv->eax == MB1_MAGIC, why);
		format(why, sizeof why, "pe=%d pg=%d if=%d vm=%d cs_flat=%d ds_flat=%d ss_flat=%d", pe, pg, ifl, vm,
		       cs, ds, ss);
		check("entry_state", pe && !pg && !ifl && !vm && cs && ds && ss, why);
	}
	if (sv->eax != MB1_MAGIC || (u64)mis + MIS_LEN > 0x100000000ull) {
		print("mb.mis: 0x%x (not read)\n", mis);
		finish();
	}

	m = phys(mis);
	flags = rd32(m);
	print("mb.mis: 0x%x\n", mis);
	print("mb.flags: 0x%08x\n", flags);
	add_range(mis, (flags & (1u << 12)) ? MIS_LEN_FB : MIS_LEN, "mis", 0);
	if (flags & 1) {
		print("mb.mem_lower: %u\n", rd32(m + 4));
		print("mb.mem_upper: %u\n", rd32(m + 8));
	}
	if (flags & 2)
		print("mb.boot_device: 0x%08x\n", rd32(m + 12));
	if (flags & 4)
		print_string_field("mb.cmdline: ", rd32(m + 16), "cmdline", 0);
	if (flags & 8) {
		mods_count = rd32(m + 20);
		mods_addr = rd32(m + 24);
		print("mb.mods_count: %u\n", mods_count);
		print("mb.mods_addr: 0x%x\n", mods_addr);
		if (mods_count > 64) {
			format(why, sizeof why, "%u modules", mods_count);
			check("mods_count_sane", 0, why);
			mods_count = 0;
		}
		add_range(mods_addr, (u64)mods_count * 16, "module list", 0);
		for (i = 0; i < (int)mods_count; i++) {
			const u8 *e = phys(mods_addr + 16 * i);
			u32 s = rd32(e), en = rd32(e + 4), str = rd32(e + 8);
			print("mb.mod[%d]: start=0x%x end=0x%x string=", i, s, en);
			print_str(phys(str), STR_MAX, 1);
			print(" crc32=0x%08x\n", en >= s ? crc32_zlib(phys(s), en - s) : 0);
			if (!str_len(str)) {
				strings_ok = 0;
				format(why, sizeof why, "module %d string at 0x%x not terminated", i, str);
			}
			add_range(str, str_len(str) ? str_len(str) : 1, "module string", i);
		}
	}
	if (flags & 0x30)
		print("mb.syms: 0x%x 0x%x 0x%x 0x%x\n", rd32(m + 28), rd32(m + 32), rd32(m + 36), rd32(m + 40));
	if (flags & 0x40) {
		u32 off = 0;
		mmap_len = rd32(m + 44);
		mmap_addr = rd32(m + 48);
		print("mb.mmap_length: %u\n", mmap_len);
		print("mb.mmap_addr: 0x%x\n", mmap_addr);
		add_range(mmap_addr, mmap_len, "memory map", 0);
		ok = 1;
		for (i = 0; off + 4 <= mmap_len && i < 256; i++) {
			const u8 *e = phys(mmap_addr + off);
			u32 size = rd32(e);
			if (size < 20 || off + 4 + size > mmap_len) {
				format(why, sizeof why, "entry %d at offset %u has size %u (map %u bytes)", i, off, size,
				       mmap_len);
				ok = 0;
				break;
			}
			print("mb.mmap[%d]: size=%u base=0x%llx len=0x%llx type=%u\n", i, size, rd64(e + 4),
			      rd64(e + 12), rd32(e + 20));
			off += size + 4;
		}
		if (ok && off != mmap_len) {
			format(why, sizeof why, "entries end at %u, mmap_length %u", off, mmap_len);
			ok = 0;
		}
		check("mmap_well_formed", ok, why);
	}
	if (flags & 0x80) {
		print("mb.drives: length=%u addr=0x%x\n", rd32(m + 52), rd32(m + 56));
		add_range(rd32(m + 56), rd32(m + 52), "drives", 0);
	}
	if (flags & 0x100)
		print("mb.config_table: 0x%x\n", rd32(m + 60));
	if (flags & 0x200)
		print_string_field("mb.loader_name: ", rd32(m + 64), "loader name", 0);
	if (flags & 0x400)
		print("mb.apm_table: 0x%x\n", rd32(m + 68));
	if (flags & 0x800)
		print("mb.vbe: control=0x%x mode_info=0x%x mode=0x%x seg=0x%x off=0x%x len=0x%x\n", rd32(m + 72),
		      rd32(m + 76), rd16(m + 80), rd16(m + 82), rd16(m + 84), rd16(m + 86));
	if (flags & 0x1000) {
		print("mb.framebuffer: addr=0x%llx pitch=%u width=%u height=%u bpp=%u type=%u color=", rd64(m + 88),
		      rd32(m + 96), rd32(m + 100), rd32(m + 104), m[108], m[109]);
		for (i = 110; i < 118; i++)
			print("%02x", m[i]);
		print("\n");
	}

	/* ---- checks ---- */
	check("strings_terminated", strings_ok, why);
	ok = 1;
	for (i = 0; i < range_count; i++)
		if (overlaps(ranges[i].start, ranges[i].end - ranges[i].start, image_start, image_end - image_start)) {
			format(why, sizeof why, "%s %d [0x%llx, 0x%llx) overlaps the image [0x%x, 0x%x)", ranges[i].what,
			       ranges[i].index, ranges[i].start, ranges[i].end, image_start, image_end);
			ok = 0;
			break;
		}
	check("info_outside_image", ok, why);
	if (flags & 0x40) {
		ok = 1;
		for (i = 0; i < range_count && ok; i++)
			if (!in_ram(mmap_addr, mmap_len, ranges[i].start, ranges[i].end - ranges[i].start)) {
				format(why, sizeof why, "%s %d [0x%llx, 0x%llx) is not in one RAM entry of the map",
				       ranges[i].what, ranges[i].index, ranges[i].start, ranges[i].end);
				ok = 0;
			}
		check("info_in_ram", ok, why);
	}
	if (flags & 8) {
		int aligned = 1, disjoint = 1, ram = 1;
		char why_align[96] = "", why_disj[160] = "";
		for (i = 0; i < (int)mods_count; i++) {
			const u8 *e = phys(mods_addr + 16 * i);
			u32 s = rd32(e), en = rd32(e + 4);
			if (s & 0xfff) {
				aligned = 0;
				format(why_align, sizeof why_align, "module %d starts at 0x%x", i, s);
			}
			if (en < s || overlaps(s, en - s, image_start, image_end - image_start)) {
				disjoint = 0;
				format(why_disj, sizeof why_disj, "module %d [0x%x, 0x%x) vs image [0x%x, 0x%x)", i, s, en,
				       image_start, image_end);
			}
			for (j = 0; j < range_count; j++)
				if (en >= s && overlaps(s, en - s, ranges[j].start, ranges[j].end - ranges[j].start)) {
					disjoint = 0;
					format(why_disj, sizeof why_disj, "module %d [0x%x, 0x%x) overlaps %s %d", i, s, en,
					       ranges[j].what, ranges[j].index);
				}
			for (j = 0; j < i; j++) {
				const u8 *f = phys(mods_addr + 16 * j);
				if (en >= s && overlaps(s, en - s, rd32(f), rd32(f + 4) - rd32(f))) {
					disjoint = 0;
					format(why_disj, sizeof why_disj, "modules %d and %d overlap", j, i);
				}
			}
			if ((flags & 0x40) && en > s && !in_ram(mmap_addr, mmap_len, s, en - s))
				ram = 0;
		}
		check("modules_page_aligned", aligned, why_align);
		check("modules_disjoint", disjoint, why_disj);
		if (flags & 0x40)
			check("modules_in_ram", ram, "a module is not in one RAM entry of the map");
	}
	check_image();
	finish();
}
