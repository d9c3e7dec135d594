/*
 * fmt.h - a small printf for a machine with no C library: %s %c %d %u %x %X %p and %%, with
 * l/ll length, '0' padding and a width.  64-bit numbers print without 64-bit division, so the
 * 32-bit boot binary needs no libgcc.  Used by log.c and by anything that formats text.
 */
#ifndef MBCHAIN_FMT_H
#define MBCHAIN_FMT_H
#include <stdarg.h>
#include <stddef.h>

/* Format into buf (always NUL-terminated when cap > 0); returns the length written. */
size_t fmt_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t fmt_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
