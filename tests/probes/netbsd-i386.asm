; netbsd-i386.asm — `start` of the NetBSD/i386 probe kernel (netbsd-i386.elf).
; Called by the boot loader under test (mbchain, or GRUB's knetbsd) the way NetBSD's boot calls
; a kernel: 32-bit protected mode, paging off, EIP = physical entry, args on the stack.
; Like NetBSD/i386 locore `start`, it runs at physical addresses until paging is on: it saves the
; entry state, maps 0..3 GiB identity plus KERNBASE -> 0 with 4 MiB pages, jumps to the link VA
; and calls probe_main() (netbsd.c).

KERNBASE        equ 0xc0000000
%define ADDRSIZE 4

%include "probe.inc"
NETBSD_IDENT_NOTE

section .bss.pt nobits alloc noexec write align=4096
page_dir:       resb 4096               ; filled completely below, never relies on BSS zeroing

section .text.start progbits alloc exec nowrite align=16
BITS 32
global start
start:
        SAVE_ENTRY_STATE 7              ; ret, howto, bootdev, bootinfo, esym, extmem, basemem

        ; page directory: PDE i maps 4 MiB at i<<22 (identity) for 0..3 GiB,
        ; and KERNBASE..4 GiB -> 0..1 GiB
        mov     edi, PA(page_dir)
        xor     ecx, ecx
.pde:
        mov     eax, ecx
        cmp     ecx, 768
        jb      .ident
        sub     eax, 768
.ident:
        shl     eax, 22
        or      eax, 0x83                       ; P | RW | PS
        mov     [edi + ecx * 4], eax
        inc     ecx
        cmp     ecx, 1024
        jb      .pde

        mov     eax, cr4
        or      eax, 0x10                       ; PSE
        mov     cr4, eax
        mov     eax, PA(page_dir)
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000                 ; PG
        mov     cr0, eax
        mov     eax, high_va
        jmp     eax

section .text
high_va:
        mov     esp, probe_stack_top
        lgdt    [gdt_ptr_va]
        xor     ebp, ebp
        call    probe_main
.halt:
        cli
        hlt
        jmp     .halt

extern probe_main

ISR_STUBS
