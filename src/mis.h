/*
 * mis.h - the Multiboot v1 frontend: reads the loader's information structure (MIS) into a
 * struct boot_request.  Called first by boot.c; the MIS is hostile input.
 *
 * Takes: EAX and EBX as the loader left them.  Gives: a boot_request holding copies of
 * everything later stages need, so the loader's memory is free once this returns.
 * Every pointer and length is checked (inside the 32-bit space, no wrap, not in mbchain's own
 * image) before it is read; any failure is one error line and a halt.
 */
#ifndef MBCHAIN_MIS_H
#define MBCHAIN_MIS_H
#include "boot_request.h"

/* Step 1: check the magic and copy the command line (so the failure policy it may carry
 * applies to every later error). */
void mis_read_cmdline(uint32_t magic, uint32_t mis_pa, struct boot_request *req);
/* Step 2: copy the rest: memory, modules, boot device, drives, framebuffer, loader name. */
void mis_read_rest(uint32_t mis_pa, struct boot_request *req);
#endif
