; freebsd-amd64.asm — `btext` of the FreeBSD/amd64 probe kernel (freebsd-amd64.elf).
; Entered the way loader(8) enters a FreeBSD/amd64 kernel (amd64_tramp / GRUB relocator64):
; 64-bit long mode at the high-VA e_entry, paging on with the loader's page tables, RSP an
; identity-mapped low address holding [u32 ret][u32 modulep][u32 kernend].  Like locore.S
; btext it first saves RSP and the CPU state, reads the three stack words, moves to its own
; stack (and GDT), and calls probe_main() (freebsd.c), which keeps running on the loader's
; page tables as hammer_time does.

KERNBASE        equ 0xffffffff80000000
%define ADDRSIZE 8
%define ENTRY64

%include "probe.inc"

section .text.start progbits alloc exec nowrite align=16
BITS 64
global btext
btext:
        SAVE_ENTRY_STATE64 3            ; ret, modulep, kernend
        xor     ebp, ebp
        call    probe_main
.halt:
        cli
        hlt
        jmp     .halt

section .text
extern probe_main

ISR_STUBS
