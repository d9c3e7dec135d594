/*
 * acpi.h - finds the ACPI RSDP the way FreeBSD's BIOS loader does (stand/i386/libi386/
 * biosacpi.c): in the first KiB of the EBDA, then in 0xE0000-0xFFFFF, on 16-byte boundaries,
 * signature "RSD PTR " and a zero checksum.  Called by freebsd.c for the acpi.* kenv variables.
 * After kexec the BIOS data area reads 0: the EBDA step is then skipped, never trusted.
 */
#ifndef MBCHAIN_ACPI_H
#define MBCHAIN_ACPI_H
#include <stdbool.h>
#include <stdint.h>

struct acpi_rsdp {
	uint32_t pa;
	uint8_t revision;
	char oem[7];
	uint32_t rsdt_pa;
	uint64_t xsdt_pa; /* revision >= 2 */
	uint32_t length; /* revision >= 2 */
};

/* Search for the RSDP; ebda_pa 0 skips the EBDA.  Returns false when there is none. */
bool acpi_find_rsdp(uint64_t ebda_pa, struct acpi_rsdp *out);
#endif
