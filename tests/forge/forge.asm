; forge.asm - entry of forge.elf, the test-only "forging loader" (see CASES.md).
; A Multiboot v1 kernel linked at 16 MiB: takes its own GDT and stack, zeroes its BSS and calls
; forge_main(magic, mis) in forge.c.  forge_enter() starts the next kernel (mbchain) the way a
; Multiboot loader does: EAX = 0x2BADB002, EBX = MIS, interrupts off, flat 4 GiB segments.

%define MB_HEADER_MAGIC 0x1BADB002
%define MB_HEADER_FLAGS 0x00000003	; page-align modules | memory info

BITS 32

section .multiboot
align 4
	dd MB_HEADER_MAGIC
	dd MB_HEADER_FLAGS
	dd -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

section .text
global _start, forge_enter
extern forge_main, __bss_start, __bss_end

_start:
	cli
	cld
	mov esi, eax
	mov edi, ebx
	lgdt [gdtr]
	jmp 0x08:.reload
.reload:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov edx, edi
	mov edi, __bss_start
	mov ecx, __bss_end
	sub ecx, edi
	xor eax, eax
	rep stosb
	mov esp, stack_top
	push edx			; the loader's MIS
	push esi			; the loader's magic
	call forge_main
.hang:	cli
	hlt
	jmp .hang

; void forge_enter(uint32_t entry, uint32_t mis) -- never returns
forge_enter:
	cli
	mov ecx, [esp + 4]
	mov ebx, [esp + 8]
	mov eax, 0x2BADB002
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	jmp ecx

section .data
align 8
gdt:
	dq 0
	dq 0x00CF9A000000FFFF		; 0x08: code, base 0, limit 4 GiB
	dq 0x00CF92000000FFFF		; 0x10: data, base 0, limit 4 GiB
gdt_end:
gdtr:
	dw gdt_end - gdt - 1
	dd gdt

section .bss
align 16
	resb 16384
stack_top:
