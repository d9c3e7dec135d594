; netbsd-amd64.asm — `start` of the NetBSD/amd64 probe kernel (netbsd-amd64.elf).
; Called by the boot loader under test (mbchain, or GRUB's knetbsd) the way NetBSD's boot calls
; an amd64 kernel: 32-bit protected mode, paging off, EIP = physical entry, args on the stack.
; Like NetBSD/amd64 locore `start` (which is .code32), it saves the entry state, builds 2 MiB-page
; tables (identity 0..4 GiB, KERNBASE -> 0..2 GiB), enables PAE + EFER.LME + PG, far-jumps to
; 64-bit code, moves to the link VA and calls probe_main() (netbsd.c).

KERNBASE        equ 0xffffffff80000000
%define ADDRSIZE 8

%include "probe.inc"
NETBSD_IDENT_NOTE

; Page tables: every entry is written below; nothing relies on BSS zeroing.
section .bss.pt nobits alloc noexec write align=4096
pml4:           resb 4096
pdpt_low:       resb 4096
pdpt_high:      resb 4096
pd:             resb 4 * 4096           ; 4 PDs: 0..4 GiB in 2 MiB pages

section .text.start progbits alloc exec nowrite align=16
BITS 32
global start
start:
        SAVE_ENTRY_STATE 7              ; ret, howto, bootdev, bootinfo, esym, extmem, basemem

        ; clear PML4, the two PDPTs (3 pages)
        mov     edi, PA(pml4)
        mov     ecx, 3 * 1024
        xor     eax, eax
        rep stosd
        ; 4 PDs: entry n (0..2047) maps n * 2 MiB
        mov     edi, PA(pd)
        xor     ecx, ecx
.pde:
        mov     eax, ecx
        shl     eax, 21
        or      eax, 0x83                       ; P | RW | PS
        mov     [edi + ecx * 8], eax
        mov     dword [edi + ecx * 8 + 4], 0
        inc     ecx
        cmp     ecx, 2048
        jb      .pde
        ; PDPT low: 4 x 1 GiB -> the 4 PDs
        mov     edi, PA(pdpt_low)
        mov     eax, PA(pd) + 3
        mov     ecx, 4
.pdpte:
        mov     [edi], eax
        add     eax, 4096
        add     edi, 8
        loop    .pdpte
        ; PDPT high: entries 510, 511 (KERNBASE, KERNBASE + 1 GiB) -> PA 0..2 GiB
        mov     dword [PA(pdpt_high) + 510 * 8], PA(pd) + 3
        mov     dword [PA(pdpt_high) + 511 * 8], PA(pd) + 4096 + 3
        ; PML4: 0 -> low, 511 -> high
        mov     dword [PA(pml4)], PA(pdpt_low) + 3
        mov     dword [PA(pml4) + 511 * 8], PA(pdpt_high) + 3

        mov     eax, cr4
        or      eax, 0x20                       ; PAE
        mov     cr4, eax
        mov     eax, PA(pml4)
        mov     cr3, eax
        mov     ecx, 0xc0000080                 ; EFER
        rdmsr
        or      eax, 0x100                      ; LME
        wrmsr
        mov     eax, cr0
        or      eax, 0x80000000                 ; PG
        mov     cr0, eax
        jmp     dword SEL_CODE64:PA(long_low)

BITS 64
long_low:
        mov     rax, long_high
        jmp     rax

section .text
BITS 64
long_high:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     rsp, probe_stack_top
        lgdt    [rel gdt_ptr_va]
        xor     ebp, ebp
        call    probe_main
.halt:
        cli
        hlt
        jmp     .halt

extern probe_main

ISR_STUBS
