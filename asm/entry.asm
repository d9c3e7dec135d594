; entry.asm - where every Multiboot loader starts mbchain.  Carries the Multiboot v1 header,
; then at once makes the machine ours: a GDT, a stack and an IDT of our own (kexec enters with
; ESP = 0, no IDT and its GDT in memory we will overwrite), and calls the C pipeline
; mbchain_main(magic, mis_pa) in src/boot.c, which never returns.
; Also: the exception stubs (each prints its vector and registers through src/console.c) and
; enter_stub, the jump into the installed handoff stub.

%define MB_HEADER_MAGIC 0x1BADB002
; page-align modules | memory info (kexec sends a map only then); the video build (mbchain-fb.elf,
; assembled with -DMBCHAIN_VIDEO) also asks for a linear framebuffer, which then reaches the
; kernel (NetBSD BTINFO_FRAMEBUFFER).  The header is fixed per file, hence two builds.
%ifdef MBCHAIN_VIDEO
%define MB_HEADER_FLAGS 0x00000007
%else
%define MB_HEADER_FLAGS 0x00000003
%endif

BITS 32

section .multiboot
align 4
multiboot_header:
	dd MB_HEADER_MAGIC
	dd MB_HEADER_FLAGS
	dd -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
%ifdef MBCHAIN_VIDEO
	dd 0, 0, 0, 0, 0		; a.out kludge addresses: unused (flag 16 clear)
	dd 0				; mode_type 0: linear framebuffer
	dd 1024, 768, 32		; preferred width, height, depth (the loader may pick another)
%endif

section .text
global _start, enter_stub
extern mbchain_main, exception_report, mbchain_bss_start, mbchain_bss_end

_start:
	cli
	cld
	mov edi, eax			; Multiboot magic
	mov esi, ebx			; MIS
	; No segment register may be reloaded before our own GDT is in (spec 3.2: the loader's
	; GDTR may be invalid).
	lgdt [boot_gdtr]
	jmp 0x08:.reload
.reload:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	; Zero our BSS ourselves (the a.out kludge and some loaders do not); the stack is in it,
	; so nothing has been pushed yet.
	mov edx, edi
	mov edi, mbchain_bss_start
	mov ecx, mbchain_bss_end
	sub ecx, edi
	shr ecx, 2			; the linker script keeps BSS 16-byte aligned and sized
	xor eax, eax
	rep stosd
	mov edi, edx
	mov esp, boot_stack_top

	; IDT: 32 exception gates to the stubs below.
	mov ecx, 0
.gate:	mov eax, [exception_stubs + ecx * 4]
	mov word [boot_idt + ecx * 8], ax
	mov word [boot_idt + ecx * 8 + 2], 0x08
	mov word [boot_idt + ecx * 8 + 4], 0x8E00
	shr eax, 16
	mov word [boot_idt + ecx * 8 + 6], ax
	inc ecx
	cmp ecx, 32
	jb .gate
	lidt [boot_idtr]

	push esi
	push edi
	call mbchain_main
.hang:	cli
	hlt
	jmp .hang

; enter_stub(stub_pa, params_pa): jump into the installed stub with EBX = parameter block.
enter_stub:
	mov eax, [esp + 4]
	mov ebx, [esp + 8]
	jmp eax

; Exception stubs: push a zero error code where the CPU pushes none, then the vector.
%macro EXC_NOERR 1
exc_%1:	push dword 0
	push dword %1
	jmp exception_common
%endmacro
%macro EXC_ERR 1
exc_%1:	push dword %1
	jmp exception_common
%endmacro
EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR 21
%assign v 22
%rep 10
EXC_NOERR v
%assign v v + 1
%endrep

exception_common:
	pushad				; frame: edi esi ebp esp ebx edx ecx eax, vector, error, eip, cs, eflags
	mov eax, esp
	push eax			; exception_report(frame): prints and stops, never returns
	call exception_report

section .data
align 4
exception_stubs:
%assign v 0
%rep 32
	dd exc_ %+ v
%assign v v + 1
%endrep

align 8
boot_gdt:
	dq 0
	dq 0x00CF9A000000FFFF		; 0x08: flat 4 GiB 32-bit code
	dq 0x00CF92000000FFFF		; 0x10: flat 4 GiB data
boot_gdtr:
	dw 3 * 8 - 1
	dd boot_gdt
boot_idtr:
	dw 32 * 8 - 1
	dd boot_idt

section .bss
align 8
boot_idt:
	resb 32 * 8
align 16
boot_stack:
	resb 16384
boot_stack_top:
