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

/* True when [pa, pa+len) lies entirely in RAM (type 1) of a sanitised map. */
bool memmap_is_ram(const struct mem_range *ranges, uint32_t count, uint64_t pa, uint64_t len);
#endif
