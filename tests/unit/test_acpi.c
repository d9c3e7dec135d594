/*
 * test_acpi.c - acpi_find_rsdp on simulated RAM, against FreeBSD's stand/i386/libi386/biosacpi.c:
 * 16-byte steps through the first KiB of the EBDA, then 0xE0000-0xFFFFF; the signature and the
 * 20-byte checksum decide; revision 2 adds the XSDT fields when the extended checksum holds.
 */
#include "acpi.h"
#include "test.h"

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint8_t sum(const uint8_t *p, unsigned len)
{
	uint8_t s = 0;
	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

enum { GOOD = 0, BAD_V1_SUM = 1, BAD_EXT_SUM = 2 };

/* An RSDP of `rev` at pa: 20 bytes for revision 0/1, `length` (36) bytes for revision 2. */
static void put_rsdp(uint64_t pa, uint8_t rev, const char *oem, uint32_t rsdt, uint64_t xsdt, uint32_t length,
		     int damage)
{
	uint8_t r[64];
	memset(r, 0, sizeof(r));
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, oem, 6);
	r[15] = rev;
	wr(r + 16, rsdt, 4);
	if (rev >= 2) {
		wr(r + 20, length, 4);
		wr(r + 24, xsdt, 8);
	}
	r[8] = (uint8_t)-sum(r, 20);
	if (rev >= 2)
		r[32] = (uint8_t)-sum(r, 36);
	if (damage == BAD_V1_SUM)
		r[8] ^= 0x01;
	if (damage == BAD_EXT_SUM)
		r[32] ^= 0x5a;
	host_put(pa, r, rev >= 2 ? 36 : 20);
}

static struct acpi_rsdp got;

static void check_v1(const char *file, int line, uint32_t pa, uint8_t rev, const char *oem, uint32_t rsdt)
{
	if (got.pa != pa || got.revision != rev || strcmp(got.oem, oem) != 0 || got.rsdt_pa != rsdt ||
	    got.xsdt_pa != 0 || got.length != 0)
		test_fail(file, line,
			  "expected pa 0x%x rev %u oem \"%s\" rsdt 0x%x xsdt 0 length 0, got pa 0x%x rev %u oem \"%s\" "
			  "rsdt 0x%x xsdt 0x%llx length %u",
			  pa, rev, oem, rsdt, got.pa, got.revision, got.oem, got.rsdt_pa, (unsigned long long)got.xsdt_pa,
			  got.length);
}
#define CHECK_V1(...) check_v1(__FILE__, __LINE__, __VA_ARGS__)

TEST(acpi_rsdp_v1_bios_area)
{
	put_rsdp(0xe4560, 0, "BOCHS ", 0x07fe14c2, 0, 0, GOOD);
	memset(&got, 0xee, sizeof(got));
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xe4560, 0, "BOCHS ", 0x07fe14c2);
	/* revision 1 (some firmware), same fields */
	host_reset_all();
	put_rsdp(0xf0000, 1, "ABCDEF", 0x12345678, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xf0000, 1, "ABCDEF", 0x12345678);
	/* the first slot, 0xE0000, and the last one a 36-byte read still fits, 0xFFFD0 */
	host_reset_all();
	put_rsdp(0xe0000, 0, "FIRST ", 1, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xe0000, 0, "FIRST ", 1);
	host_reset_all();
	put_rsdp(0xfffd0, 0, "LAST  ", 2, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xfffd0, 0, "LAST  ", 2);
}

TEST(acpi_rsdp_v2_extended_checksum)
{
	put_rsdp(0xf6a10, 2, "MBTEST", 0x07fe0000, 0x0000000107fe1000ull, 36, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_EQ(got.pa, 0xf6a10);
	CHECK_EQ(got.revision, 2);
	CHECK_STR(got.oem, "MBTEST");
	CHECK_EQ(got.rsdt_pa, 0x07fe0000);
	CHECK_EQ(got.xsdt_pa, 0x0000000107fe1000ull);
	CHECK_EQ(got.length, 36);

	/* a bad extended checksum: only the revision 1 fields */
	host_reset_all();
	put_rsdp(0xf6a10, 2, "MBTEST", 0x07fe0000, 0x0000000107fe1000ull, 36, BAD_EXT_SUM);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xf6a10, 1, "MBTEST", 0x07fe0000);

	/* a length below 36 or implausibly large: the same */
	host_reset_all();
	put_rsdp(0xf6a10, 2, "MBTEST", 0x07fe0000, 0x07fe1000, 20, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xf6a10, 1, "MBTEST", 0x07fe0000);
	host_reset_all();
	put_rsdp(0xf6a10, 2, "MBTEST", 0x07fe0000, 0x07fe1000, 0x10000, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xf6a10, 1, "MBTEST", 0x07fe0000);
}

TEST(acpi_rsdp_ebda_first_kib)
{
	const uint64_t ebda = 0x9fc00;
	put_rsdp(ebda + 0x100, 0, "EBDA  ", 0x1111, 0, 0, GOOD);
	put_rsdp(0xe0000, 2, "BIOS  ", 0x2222, 0x3333, 36, GOOD);
	CHECK(acpi_find_rsdp(ebda, &got));
	CHECK_V1(ebda + 0x100, 0, "EBDA  ", 0x1111); /* the EBDA is searched first */
	/* ebda_pa 0: the EBDA is not searched */
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_EQ(got.pa, 0xe0000);
	CHECK_EQ(got.revision, 2);
	CHECK_EQ(got.xsdt_pa, 0x3333);

	/* only in the EBDA */
	host_reset_all();
	put_rsdp(ebda, 0, "EBDA  ", 0x1111, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(ebda, &got));
	CHECK_V1(ebda, 0, "EBDA  ", 0x1111);
	CHECK(!acpi_find_rsdp(0, &got));

	/* past the first KiB of the EBDA: not searched */
	host_reset_all();
	put_rsdp(0x80400, 0, "EBDA  ", 0x1111, 0, 0, GOOD);
	CHECK(!acpi_find_rsdp(0x80000, &got));
}

/* biosacpi_search_rsdp(ebda, 0x400) tries every 16-byte offset below 0x400 and checks 20 bytes:
 * a revision-0 RSDP in the EBDA's last slots (0x3E0, 0x3F0) is found by FreeBSD's loader. */
TEST(acpi_rsdp_ebda_last_slots)
{
	put_rsdp(0x80000 + 0x3d0, 0, "SLOT3D", 0x4444, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0x80000, &got));
	CHECK_V1(0x803d0, 0, "SLOT3D", 0x4444);
	host_reset_all();
	put_rsdp(0x80000 + 0x3e0, 0, "SLOT3E", 0x5555, 0, 0, GOOD);
	CHECK_MSG(acpi_find_rsdp(0x80000, &got), "a 20-byte RSDP at EBDA+0x3e0 (inside the first KiB) is not found");
	CHECK_V1(0x803e0, 0, "SLOT3E", 0x5555);
}

TEST(acpi_rsdp_bad_ones_skipped)
{
	put_rsdp(0xe0000, 0, "BADSUM", 0x1, 0, 0, BAD_V1_SUM);
	put_rsdp(0xe0010, 0, "GOOD  ", 0x2, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0, &got));
	CHECK_V1(0xe0010, 0, "GOOD  ", 0x2);
	/* a bad checksum in the EBDA falls through to the BIOS area */
	host_reset_all();
	put_rsdp(0x9fc00, 0, "BADSUM", 0x1, 0, 0, BAD_V1_SUM);
	put_rsdp(0xfe300, 0, "GOOD  ", 0x3, 0, 0, GOOD);
	CHECK(acpi_find_rsdp(0x9fc00, &got));
	CHECK_V1(0xfe300, 0, "GOOD  ", 0x3);
	/* a wrong signature, and an RSDP off a 16-byte boundary */
	host_reset_all();
	put_rsdp(0xe0000, 0, "SIG   ", 0x1, 0, 0, GOOD);
	host_w8(0xe0000 + 7, 'X');
	host_w8(0xe0000 + 8, (uint8_t)(host_r8(0xe0000 + 8) + ' ' - 'X')); /* checksum still 0 */
	put_rsdp(0xe0108, 0, "ODD   ", 0x1, 0, 0, GOOD);
	CHECK(!acpi_find_rsdp(0, &got));
}

TEST(acpi_rsdp_none)
{
	CHECK(!acpi_find_rsdp(0, &got));
	CHECK(!acpi_find_rsdp(0x9fc00, &got));
	/* below 0xE0000 and the signature alone (checksum wrong) */
	put_rsdp(0xdfff0, 0, "LOW   ", 0x1, 0, 0, GOOD);
	host_put(0xe5000, "RSD PTR ", 8);
	CHECK(!acpi_find_rsdp(0, &got));
}
