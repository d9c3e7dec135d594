/*
 * acpi.c - see acpi.h.  Layout of the RSDP: ACPI 6.x section 5.2.5.3.
 */
#include "acpi.h"
#include "platform.h"
#include "util.h"

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define BIOS_AREA_PA 0xE0000u
#define BIOS_AREA_END_PA 0x100000u

static uint8_t sum_bytes(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static bool rsdp_at(uint64_t pa, struct acpi_rsdp *out)
{
	if (!phys_valid(pa, RSDP_V1_LEN))
		return false;
	const uint8_t *p = phys_ptr(pa, RSDP_V1_LEN);
	if (p[0] != 'R' || memcmp(p, "RSD PTR ", 8) != 0 || sum_bytes(p, RSDP_V1_LEN) != 0)
		return false; /* the first byte rules out almost every slot of the 128 KiB scanned */
	memset(out, 0, sizeof(*out));
	out->pa = (uint32_t)pa;
	out->revision = p[15];
	memcpy(out->oem, p + 9, 6);
	memcpy(&out->rsdt_pa, p + 16, 4);
	if (out->revision < 2)
		return true;
	/* Version 2: trust the extended fields only under a good extended checksum; otherwise the
	 * version 1 fields are all there is. */
	if (phys_valid(pa, RSDP_V2_LEN)) {
		p = phys_ptr(pa, RSDP_V2_LEN);
		memcpy(&out->length, p + 20, 4);
		memcpy(&out->xsdt_pa, p + 24, 8);
		if (out->length >= RSDP_V2_LEN && out->length <= 4096 && phys_valid(pa, out->length) &&
		    sum_bytes(phys_ptr(pa, out->length), out->length) == 0)
			return true;
	}
	out->revision = 1;
	out->xsdt_pa = 0;
	out->length = 0;
	return true;
}

static bool scan(uint64_t start, uint64_t end, struct acpi_rsdp *out)
{
	/* Every 16-byte slot whose first 20 bytes (the version 1 part) lie in the area. */
	for (uint64_t pa = start; pa + RSDP_V1_LEN <= end; pa += 16)
		if (rsdp_at(pa, out))
			return true;
	return false;
}

bool acpi_find_rsdp(uint64_t ebda_pa, struct acpi_rsdp *out)
{
	if (ebda_pa && scan(ebda_pa, ebda_pa + 1024, out))
		return true;
	return scan(BIOS_AREA_PA, BIOS_AREA_END_PA, out);
}
