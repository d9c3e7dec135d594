/*
 * lib.h — what every probe kernel shares (lib.c): freestanding helpers, output to port 0xE9
 * and COM1, the exception report, check()/finish(), CRC-32, descriptor decoding, ELF types,
 * and the facts a loader must deliver intact (probe_marker, probe_pattern, probe_bss).
 * lib.c is compiled once per word size (-m32, -m64) and linked into each probe of that size.
 */
#ifndef PROBE_LIB_H
#define PROBE_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long ulong;            /* pointer-sized, = the kernel's `long` */
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, t) __builtin_va_arg(ap, t)
#define va_end(ap) __builtin_va_end(ap)

#define MB1_MAGIC       0x2BADB002u
#define MB2_MAGIC       0x36D76289u

/* Filled by SAVE_ENTRY_STATE / the amd64 btext in probe.inc; keep the layouts equal. */
#define ENTRY_STACK_WORDS 9
struct entry_save {
	u32 eax, eflags, cr0, cr4, efer_lo, efer_hi, efer_valid;
	u32 cs, ds, es, ss, fs, gs;
	u32 esp;
	u32 stack[ENTRY_STACK_WORDS];   /* [ESP+0] .. [ESP+32]; each probe copies what it uses */
	u32 gdtr_limit, gdtr_base;
	u32 cs_desc[2], ds_desc[2], ss_desc[2];
	u32 desc_valid;                 /* bit0 cs, bit1 ds, bit2 ss */
	u32 gdtr_raw[4];                /* sgdt scratch */
	u32 esp_hi, gdtr_base_hi;       /* 64-bit entry only: upper halves of RSP, GDTR.base */
	u32 cr3_lo, cr3_hi;
	u32 cs_ar, cs_ar_valid;         /* LAR of CS at entry (64-bit entry only) */
	u32 eflags_hi, cr0_hi, cr4_hi;  /* 64-bit entry only */
};
extern struct entry_save entry_save;
extern ulong isr_table[32];
extern char _end[];

/* ---- the facts a loader must deliver intact ---- */
extern volatile u32 probe_marker;      /* found by the symbol walk; value = its link address */
#define PAT(i)   ((u32)((u32)(i) * 0x9E3779B1u + 0x5A5A1234u))
#define PATTERN_WORDS 256
extern u32 probe_pattern[PATTERN_WORDS];
#define BSS_WORDS (65536 / 4)
extern u32 probe_bss[BSS_WORDS];

/* ---- helpers ---- */
void *memcpy(void *d, const void *s, ulong n);
void *memset(void *d, int c, ulong n);

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u16 rd16(const u8 *p) { u16 v; __builtin_memcpy(&v, p, 2); return v; }
static inline u32 rd32(const u8 *p) { u32 v; __builtin_memcpy(&v, p, 4); return v; }
static inline u64 rd64(const u8 *p) { u64 v; __builtin_memcpy(&v, p, 8); return v; }

/* probe_init: IDT (exceptions are reported), COM1, the CRC table. */
void probe_init(void);

/* print/format: %d %u %x %lx %llx %lu %s %c %%, with optional '0' flag and width.
 * %d/%u are at most pointer-sized (no 64-bit division on i386). */
void print(const char *fmt, ...);
void format(char *buf, ulong cap, const char *fmt, ...);
/* A char field: stops at NUL or max; with quotes when quoted.  Bytes outside 0x20..0x7e and
 * backslash (and '"' when quoted) are written \xNN. */
void print_str(const u8 *p, ulong max, int quoted);
#define print_field(p, max) print_str((p), (max), 1)

void exit_qemu(int pass) __attribute__((noreturn));
void probe_exception(ulong *frame);

/* check: prints `check: NAME ok` or `check: NAME FAIL detail`; finish prints result, exits. */
extern int all_ok;
void check(const char *name, int ok, const char *detail);
void finish(void) __attribute__((noreturn));
/* data_pattern and bss_zero, the same for every probe */
void check_image(void);

u32 crc32_zlib(const u8 *p, ulong len);
/* 1 when a GDT descriptor (2 words) is base 0, limit 4 GiB, present */
int desc_flat(const u32 *d, int valid);

/* ---- ELF types of this word size ---- */
#ifdef __x86_64__
#define ELFCLASS_SELF 2
struct elf_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_shdr {
	u32 name, type;
	u64 flags, addr, offset, size;
	u32 link, info;
	u64 addralign, entsize;
};
struct elf_sym {
	u32 name;
	u8 info, other;
	u16 shndx;
	u64 value, size;
};
#else
#define ELFCLASS_SELF 1
struct elf_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_shdr {
	u32 name, type, flags, addr, offset, size, link, info, addralign, entsize;
};
struct elf_sym {
	u32 name, value, size;
	u8 info, other;
	u16 shndx;
};
#endif
#define SHT_SYMTAB 2

/* 1 when strtab[off..] (strtab holding len bytes) is exactly name, NUL-terminated */
int strtab_eq(const u8 *strtab, ulong len, ulong off, const char *name);

#endif
