/*
 * stub_abi.h - the whole contract between the C stages and the handoff stub (asm/handoff.asm).
 * The Makefile turns these #defines into NASM %defines, so both sides read one file.
 *
 * boot.c copies the stub code into its block, writes a parameter block and a copy list next to
 * it, and jumps to the stub with EBX = parameter block.  The stub loads its own GDT and IDT,
 * runs the copy list in order (each entry a memmove or a zero fill), sets EFER/CR0/CR4 as the
 * flags ask, loads ESP/EAX/EBX and jumps to the entry: in 32-bit protected mode with paging
 * off, or in 64-bit long mode through the given page tables.
 */
#ifndef MBCHAIN_STUB_ABI_H
#define MBCHAIN_STUB_ABI_H

#define STUB_PARAM_COPY_LIST 0 /* u32: physical address of the first copy entry */
#define STUB_PARAM_COPY_COUNT 4 /* u32: number of entries */
#define STUB_PARAM_ENTRY 8 /* u32: kernel entry, physical */
#define STUB_PARAM_ESP 12 /* u32: kernel ESP */
#define STUB_PARAM_EAX 16 /* u32 */
#define STUB_PARAM_EBX 20 /* u32 */
#define STUB_PARAM_FLAGS 24 /* u32: STUB_FLAG_* */
#define STUB_PARAM_CR3 28 /* u32: page tables for long mode */
#define STUB_PARAM_ENTRY64 32 /* u64: 64-bit entry (long mode) */
#define STUB_PARAMS_LEN 40

#define STUB_FLAG_CLEAR_EFER 1 /* kexec leaves EFER.NXE/SCE set; a BIOS boot has EFER 0 */
#define STUB_FLAG_LONG_MODE 2 /* enter at ENTRY64 in 64-bit mode, paging on with CR3, PAE */
#define STUB_FLAG_RETURN_TRAP 4 /* [ESP] := the stub's "kernel returned" handler (FreeBSD/i386
				 * returns to its loader when it refuses the bootinfo) */

#define STUB_ENTRY_DST 0 /* u32 */
#define STUB_ENTRY_SRC 4 /* u32 */
#define STUB_ENTRY_LEN 8 /* u32: bytes */
#define STUB_ENTRY_KIND 12 /* u32: STUB_KIND_* */
#define STUB_ENTRY_SIZE 16

#define STUB_KIND_COPY 0 /* memmove(dst, src, len) */
#define STUB_KIND_ZERO 1 /* memset(dst, 0, len) */

#endif
