/*
 * memmap.h - turning a firmware memory map into one mbchain can reason about.  Real maps come
 * unsorted, with overlaps and zero-length entries; sanitising gives sorted, disjoint ranges in
 * which the more restrictive type wins an overlap.  Called by the frontend (mis.c).
 */
#ifndef MBCHAIN_MEMMAP_H
#define MBCHAIN_MEMMAP_H
#include "boot_request.h"

/* Sanitise ranges[0..*count) in place (capacity `cap`, at least 2 * *count + 1 for the worst
 * split).  Returns false if the result would not fit `cap` entries. */
bool memmap_sanitize(struct mem_range *ranges, uint32_t *count, uint32_t cap);

/* How much a kernel must leave a byte of this type alone; in an overlap the higher rank wins
 * (RAM 0, ACPI reclaimable 1, NVS 2, reserved 3, unknown 4, bad 5). */
unsigned memmap_type_rank(uint32_t type);

/* KiB of RAM from `pa` up to `limit` in the range of the map holding pa (0 when pa is not RAM). */
uint32_t memmap_ram_kib_at(const struct mem_range *ranges, uint32_t count, uint64_t pa, uint64_t limit);
/* The BIOS's base (below 640 KiB) and extended (from 1 MiB) memory sizes in KiB: the loader's
 * mem_lower/mem_upper when it gave them, else what the map shows. */
uint32_t memmap_basemem_kib(const struct boot_request *req);
uint32_t memmap_extmem_kib(const struct boot_request *req);

/* True when [pa, pa+len) lies entirely in RAM (type 1) of a sanitised map. */
bool memmap_is_ram(const struct mem_range *ranges, uint32_t count, uint64_t pa, uint64_t len);
#endif
