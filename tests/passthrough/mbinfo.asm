; mbinfo.asm - entry of the mbinfo probe: a plain Multiboot v1 kernel (no BSD identity) that
; mbchain must start by passthrough (src/mbpass.c).  Two builds from this one file:
;   mbinfo.elf         ELF32, header flags page-align|memory-info, linked at 0x800000
;   mbinfo-kludge.bin  flat image, header flags page-align|memory-info|a.out kludge (bit 16)
;                      with header_addr/load_addr/load_end_addr/bss_end_addr/entry_addr,
;                      linked at 0x1400000 (nasm -DKLUDGE)
; Multiboot spec 0.6.96 sections 3.1.1-3.1.3 (header), 3.2 (machine state: EAX = 0x2BADB002,
; EBX = MIS, protected mode, paging off, flat segments, IF = 0).  Uses ../probes/probe.inc
; (save area, GDT, stack, exception stubs) with KERNBASE 0: VA = PA.

KERNBASE        equ 0
%define ADDRSIZE 4

MB_MAGIC        equ 0x1BADB002
%ifdef KLUDGE
MB_FLAGS        equ 0x00010003              ; page-align | memory-info | a.out kludge
%else
MB_FLAGS        equ 0x00000003              ; page-align | memory-info
%endif

%include "probe.inc"

extern __load_start, __load_end, _end, probe_main
global start, mb_header, sv_ebx

section .text.start progbits alloc exec nowrite align=16
BITS 32
align 4
mb_header:                                  ; within the first 8 KiB of the file
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
%ifdef KLUDGE
        dd mb_header                        ; header_addr
        dd __load_start                     ; load_addr: the image starts here (file offset 0)
        dd __load_end                       ; load_end_addr: end of .data
        dd _end                             ; bss_end_addr
        dd start                            ; entry_addr
%endif

start:
        mov     [PA(sv_ebx)], ebx           ; EBX first too (SAVE_ENTRY_STATE keeps EAX first)
        SAVE_ENTRY_STATE 0                  ; no stack words: a Multiboot ESP means nothing
        mov     esp, probe_stack_top
        xor     ebp, ebp
        call    probe_main
.halt:
        cli
        hlt
        jmp     .halt

section .data
align 4
sv_ebx:         dd 0

section .text
ISR_STUBS
