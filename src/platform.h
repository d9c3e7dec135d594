/*
 * platform.h - everything that differs between the boot binary and the host tests.  In the boot
 * binary src/console.c implements it on a PC (identity-mapped physical memory, COM1, VGA text,
 * port 0xE9, halt and reset); in the host tests tests/unit/host_platform.c implements it on a
 * simulated RAM buffer.  Every other C file reaches memory and the console only through here.
 */
#ifndef MBCHAIN_PLATFORM_H
#define MBCHAIN_PLATFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether [pa, pa+len) is addressable: no wrap, below 4 GiB (inside the simulated RAM on the
 * host).  Check it before phys_ptr wherever pa comes from untrusted input. */
bool phys_valid(uint64_t pa, uint64_t len);
/* A pointer through which addressable [pa, pa+len) is read and written.  Physical 0 is a valid
 * address (kexec-tools puts the memory map there): in the boot binary its pointer compares
 * equal to NULL, so never test the result, test phys_valid. */
void *phys_ptr(uint64_t pa, uint64_t len);

/* Write text to every console (serial, screen, debug port). */
void console_write(const char *text, size_t len);

/* [start, end) of mbchain's own loaded image, BSS and stack included. */
void platform_image_range(uint64_t *start_pa, uint64_t *end_pa);

/* Stop for good: halt the CPU, or reset the machine after `seconds` when reboot is set;
 * exit_port (0 = none) first receives the byte 0x7e, QEMU's isa-debug-exit under test. */
_Noreturn void platform_stop(int reboot, unsigned seconds, unsigned exit_port);

/* Start the handoff stub installed at stub_pa with its parameter block at params_pa.  Never
 * returns: the stub runs the copy list and jumps to the kernel. */
_Noreturn void platform_enter_stub(uint32_t stub_pa, uint32_t params_pa);

/* The position-independent handoff stub (asm/handoff.asm), as bytes to install. */
const void *platform_stub_code(size_t *len);

/* CPUID-derived facts the handoff needs: whether EFER exists (so the stub may clear it), and
 * whether the CPU has long mode (an amd64 kernel would otherwise triple-fault). */
int platform_cpu_has_efer(void);
int platform_cpu_has_long_mode(void);
#endif
