; entry-i386.asm — `start` of the NetBSD/i386 probe kernel (netbsd-i386.elf).
; Called by the boot loader under test (mbchain, or GRUB's knetbsd) the way NetBSD's boot calls
; a kernel: 32-bit protected mode, paging off, EIP = physical entry, args on the stack.
; Like NetBSD/i386 locore `start`, it runs at physical addresses until paging is on: it saves the
; entry state, maps 0..3 GiB identity plus KERNBASE -> 0 with 4 MiB pages, jumps to the link VA
; and calls probe_main() (probe.c).

KERNBASE        equ 0xc0000000
%define ADDRSIZE 4

%include "probe.inc"

section .bss.pt nobits alloc noexec write align=4096
page_dir:       resb 4096               ; filled completely below, never relies on BSS zeroing

section .text.start progbits alloc exec nowrite align=16
BITS 32
global start
start:
        SAVE_ENTRY_STATE

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

; Exception stubs: each pushes (error code or 0) and the vector, then calls probe_exception(frame)
; with frame[0] = vector, frame[1] = error code, frame[2] = EIP.
extern probe_main
extern probe_exception

%macro ISR 1
isr%1:
%if %1 != 8 && %1 != 10 && %1 != 11 && %1 != 12 && %1 != 13 && %1 != 14 && %1 != 17 && %1 != 21 && %1 != 29 && %1 != 30
        push    dword 0
%endif
        push    dword %1
        jmp     isr_common
%endmacro

%assign v 0
%rep 32
ISR v
%assign v v + 1
%endrep

isr_common:
        mov     eax, esp
        push    eax
        call    probe_exception
.halt:
        cli
        hlt
        jmp     .halt

section .data
align 4
global isr_table
isr_table:
%assign v 0
%rep 32
        dd isr %+ v
%assign v v + 1
%endrep
