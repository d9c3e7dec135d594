; freebsd-i386.asm — `btext` of the FreeBSD/i386 probe kernel (freebsd-i386.elf).
; Entered the way loader(8) enters a FreeBSD/i386 kernel (__exec from BTX, GRUB relocator32):
; 32-bit protected mode, paging off, EIP = e_entry & 0xffffff, stack
; [ret][howto][bootdev][0][0][0][&bootinfo][modulep][kernend].  The image is linked VA == PA
; (modern i386 kernels: KERNBASE == load address), so the probe runs without paging; it saves
; the state and the nine stack words, switches to its own stack and flat GDT, and calls
; probe_main() (freebsd.c), which does what recover_bootinfo and init386 do.

KERNBASE        equ 0                   ; VA == PA
%define ADDRSIZE 4

%include "probe.inc"

section .text.start progbits alloc exec nowrite align=16
BITS 32
global btext
btext:
        SAVE_ENTRY_STATE 9              ; ret howto bootdev 0 0 0 &bootinfo modulep kernend
        lgdt    [gdt_ptr_va]
        xor     ebp, ebp
        call    probe_main
.halt:
        cli
        hlt
        jmp     .halt

section .text
extern probe_main

ISR_STUBS
