/*
 * console.c - the PC platform under the boot binary: identity-mapped physical memory, the
 * consoles (COM1 at 115200 8N1, VGA text, debug port 0xE9), halt and reset, CPU exceptions.
 * Implements platform.h; with asm/ the only code that does not build for the host.
 */
#include "platform.h"
#include "fmt.h"
#include "log.h"
#include "util.h"

#define COM1 0x3F8
#define DEBUG_PORT 0xE9
#define VGA_TEXT_PA 0xB8000
#define VGA_COLS 80
#define VGA_ROWS 25
#define STUB_EXIT_ERROR 0x7e /* QEMU isa-debug-exit: exit status (0x7e << 1) | 1 = 253 */

extern char mbchain_image_start[], mbchain_image_end[];
extern char handoff_stub_start[], handoff_stub_end[];
_Noreturn void enter_stub(uint32_t stub_pa, uint32_t params_pa);

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

bool phys_valid(uint64_t pa, uint64_t len)
{
	return pa + len >= pa && pa + len <= PA_LIMIT_32;
}

void *phys_ptr(uint64_t pa, uint64_t len)
{
	(void)len; /* identity-mapped: the caller has checked phys_valid */
	return (void *)(uintptr_t)pa;
}

void platform_image_range(uint64_t *start_pa, uint64_t *end_pa)
{
	*start_pa = (uintptr_t)mbchain_image_start;
	*end_pa = (uintptr_t)mbchain_image_end;
}

const void *platform_stub_code(size_t *len)
{
	/* cppcheck-suppress comparePointers ; the linker-defined bounds of one section */
	*len = (size_t)(handoff_stub_end - handoff_stub_start);
	return handoff_stub_start;
}

_Noreturn void platform_enter_stub(uint32_t stub_pa, uint32_t params_pa)
{
	enter_stub(stub_pa, params_pa);
}

/* CPUID leaf 0x80000001's EDX, or 0 when the CPU has no such leaf. */
static uint32_t cpuid_ext_features(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (a < 0x80000001u)
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
	return d;
}

int platform_cpu_has_efer(void)
{
	/* EFER exists when the CPU has SYSCALL (11), NX (20) or long mode (29). */
	return (cpuid_ext_features() & ((1u << 11) | (1u << 20) | (1u << 29))) != 0;
}

int platform_cpu_has_long_mode(void)
{
	return (int)((cpuid_ext_features() >> 29) & 1);
}

static bool serial_ready, serial_absent;
static unsigned vga_row, vga_col;

static void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
	serial_absent = inb(COM1 + 5) == 0xFF; /* no UART decodes the port */
	serial_ready = true;
}

static void serial_putc(char c)
{
	if (!serial_ready)
		serial_init();
	if (serial_absent)
		return;
	for (unsigned spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
		;
	outb(COM1, (uint8_t)c);
}

static void vga_putc(char c)
{
	volatile uint16_t *screen = (volatile uint16_t *)VGA_TEXT_PA;
	if (c == '\n' || vga_col == VGA_COLS) {
		vga_col = 0;
		if (++vga_row == VGA_ROWS) {
			for (unsigned i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
				screen[i] = screen[i + VGA_COLS];
			for (unsigned i = 0; i < VGA_COLS; i++)
				screen[VGA_COLS * (VGA_ROWS - 1) + i] = 0x0720;
			vga_row = VGA_ROWS - 1;
		}
		if (c == '\n')
			return;
	}
	screen[vga_row * VGA_COLS + vga_col++] = (uint16_t)(0x0700 | (uint8_t)c);
}

void console_write(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		outb(DEBUG_PORT, (uint8_t)text[i]);
		if (text[i] == '\n')
			serial_putc('\r');
		serial_putc(text[i]);
		vga_putc(text[i]);
	}
}

/* Wait about `seconds` by watching the RTC's seconds register (CMOS 0x00), with a bound in
 * case the RTC does not tick. */
static void wait_seconds(unsigned seconds)
{
	uint8_t last;
	outb(0x70, 0x00);
	last = inb(0x71);
	while (seconds) {
		for (uint32_t spin = 0; spin < 50000000u; spin++) {
			outb(0x70, 0x00);
			uint8_t now = inb(0x71);
			if (now != last) {
				last = now;
				break;
			}
		}
		seconds--;
	}
}

_Noreturn void platform_stop(int reboot, unsigned seconds, unsigned exit_port)
{
	if (exit_port)
		outb((uint16_t)exit_port, STUB_EXIT_ERROR);
	if (reboot) {
		wait_seconds(seconds);
		/* Pulse the reset line through the keyboard controller, then force a triple fault
		 * with an empty IDT if that did nothing. */
		for (unsigned spin = 0; spin < 100000 && (inb(0x64) & 0x02); spin++)
			;
		outb(0x64, 0xFE);
		static const struct {
			uint16_t limit;
			uint32_t base;
		} __attribute__((packed)) no_idt = { 0, 0 };
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	}
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* The frame asm/entry.asm's exception_common builds: pushad, then vector and error code, then
 * what the CPU pushed.  Every member mirrors a push, used or not. */
struct trap_frame {
	uint32_t edi, esi, ebp;
	uint32_t esp; /* cppcheck-suppress unusedStructMember ; pushad's slot, kept for the layout */
	uint32_t ebx, edx, ecx, eax;
	uint32_t vector, error, eip;
	uint32_t cs; /* cppcheck-suppress unusedStructMember ; pushed by the CPU */
	uint32_t eflags; /* cppcheck-suppress unusedStructMember ; pushed by the CPU */
};

_Noreturn void exception_report(const struct trap_frame *f);
_Noreturn void exception_report(const struct trap_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	fail("this is a bug in mbchain: please report the line above",
	     "cpu: exception %u (error 0x%x) at eip=0x%x cr2=0x%x eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x esi=0x%x "
	     "edi=0x%x ebp=0x%x",
	     f->vector, f->error, f->eip, cr2, f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp);
}
