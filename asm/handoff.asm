; handoff.asm - the last code mbchain runs: a position-independent stub that boot.c copies into a
; block of free RAM that is nobody's destination.  It carries its own GDT, IDT and stack, runs
; the copy list (which may overwrite mbchain's own image), sets the CPU state the kernel expects
; and jumps.  Entered from asm/entry.asm's enter_stub with EBX = parameter block (stub_abi.h).

%include "stub_abi.inc"

BITS 32
section .rodata
global handoff_stub_start, handoff_stub_end

align 16
handoff_stub_start:
	cli
	cld
	call stub_base
stub_base:
	pop ebp				; ebp = runtime address of stub_base
	mov esi, ebx			; esi = parameter block

	; Our own GDT: the one in mbchain's image may be overwritten by the copies.
	lea eax, [ebp + (stub_gdt - stub_base)]
	mov [ebp + (stub_gdtr - stub_base) + 2], eax
	lgdt [ebp + (stub_gdtr - stub_base)]

	; Our own IDT: every exception vector prints one line and halts (no silent triple fault).
	lea edi, [ebp + (stub_idt - stub_base)]
	lea eax, [ebp + (stub_fault - stub_base)]
	mov ecx, 32
.gate:	mov word [edi], ax		; offset 15..0
	mov word [edi + 2], 0x08	; code selector
	mov word [edi + 4], 0x8E00	; present, DPL 0, 32-bit interrupt gate
	mov edx, eax
	shr edx, 16
	mov word [edi + 6], dx		; offset 31..16
	add edi, 8
	loop .gate
	lea eax, [ebp + (stub_idt - stub_base)]
	mov [ebp + (stub_idtr - stub_base) + 2], eax
	lidt [ebp + (stub_idtr - stub_base)]

	lea eax, [ebp + (.flush - stub_base)]
	push dword 0x08
	push eax
	retf
.flush:	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	lea esp, [ebp + (stub_stack_top - stub_base)]

	; Run the copy list: each entry a memmove or a zero fill.
	mov ebx, [esi + STUB_PARAM_COPY_LIST]
	mov edx, [esi + STUB_PARAM_COPY_COUNT]
.next:	test edx, edx
	jz .copied
	push esi
	push edx
	mov edi, [ebx + STUB_ENTRY_DST]
	mov ecx, [ebx + STUB_ENTRY_LEN]
	mov edx, ecx			; length, for the tail bytes
	cmp dword [ebx + STUB_ENTRY_KIND], STUB_KIND_ZERO
	je .zero
	mov esi, [ebx + STUB_ENTRY_SRC]
	cmp edi, esi
	jbe .forward			; dst at or below src: forward is safe
	lea eax, [esi + ecx]
	cmp edi, eax
	jae .forward			; no overlap
	; dst inside the source: copy backwards, dwords from the end down, then the len % 4 bytes
	; at the start (each dword is read before any write below it; dst > src, so safe for any
	; distance)
	and edx, 3			; the leading bytes left after the dwords
	lea esi, [esi + ecx - 4]
	lea edi, [edi + ecx - 4]
	shr ecx, 2
	std
	rep movsd
	add esi, 3			; now at the last leading byte
	add edi, 3
	mov ecx, edx
	rep movsb
	cld
	jmp .entry_done
.forward:
	shr ecx, 2
	rep movsd
	mov ecx, edx
	and ecx, 3
	rep movsb
	jmp .entry_done
.zero:	shr ecx, 2
	xor eax, eax
	rep stosd
	mov ecx, edx
	and ecx, 3
	rep stosb
.entry_done:
	pop edx
	pop esi
	add ebx, STUB_ENTRY_SIZE
	dec edx
	jmp .next

.copied:
	test dword [esi + STUB_PARAM_FLAGS], STUB_FLAG_CLEAR_EFER
	jz .efer_done
	mov ecx, 0xC0000080		; IA32_EFER
	xor eax, eax
	xor edx, edx
	wrmsr
.efer_done:
	; Paging was never on; caches on (Bochs enters with CD and NW set), PE kept; CR4 as after
	; a BIOS boot.
	mov eax, cr0
	and eax, 0x9FFFFFFF
	mov cr0, eax
	xor eax, eax
	mov cr4, eax
	test dword [esi + STUB_PARAM_FLAGS], STUB_FLAG_LONG_MODE
	jnz .long_mode

	mov ecx, [esi + STUB_PARAM_ENTRY]
	mov esp, [esi + STUB_PARAM_ESP]
	test dword [esi + STUB_PARAM_FLAGS], STUB_FLAG_RETURN_TRAP
	jz .no_trap
	lea eax, [ebp + (stub_returned - stub_base)]
	mov [esp], eax			; a kernel that returns lands in stub_returned
.no_trap:
	mov eax, [esi + STUB_PARAM_EAX]
	mov ebx, [esi + STUB_PARAM_EBX]
	push ecx			; the entry, consumed by ret below
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	ret				; jump to the kernel; its ESP is the one we were given

	; Long mode as FreeBSD's loader enters amd64 kernels (amd64_tramp.S): PAE, CR3, EFER.LME,
	; paging on, then a far jump to a 64-bit code segment.
.long_mode:
	mov eax, 0x30			; CR4.PAE | PSE
	mov cr4, eax
	mov eax, [esi + STUB_PARAM_CR3]
	mov cr3, eax
	mov ecx, 0xC0000080		; IA32_EFER: LME only (no NXE, no SCE)
	mov eax, 0x100
	xor edx, edx
	wrmsr
	mov eax, cr0
	or eax, 0x80000000		; PG: long mode is active from here (compatibility mode)
	mov cr0, eax
	; Selector 0x08 becomes the 64-bit code segment, as in loader(8)'s GDT: CS keeps its cached
	; 32-bit descriptor until the far jump reloads it.
	mov dword [ebp + (stub_gdt - stub_base) + 8], 0
	mov dword [ebp + (stub_gdt - stub_base) + 12], 0x00209A00
	lea eax, [ebp + (stub_long - stub_base)]
	push dword 0x08
	push eax
	retf
BITS 64
stub_long:
	mov esi, esi			; upper halves are undefined after the switch
	mov rax, [rsi + STUB_PARAM_ENTRY64]
	mov esp, [rsi + STUB_PARAM_ESP]
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	jmp rax
BITS 32

stub_returned:
	call stub_returned_base
stub_returned_base:
	pop ebp
	lea esi, [ebp + (stub_returned_msg - stub_returned_base)]
	jmp stub_print_halt

stub_fault:
	lea esi, [ebp + (stub_fault_msg - stub_base)]
stub_print_halt:			; print the string at esi on 0xE9 and COM1, then halt
.putc:	mov al, [esi]
	test al, al
	jz .halt
	out 0xE9, al			; debug port (QEMU -debugcon, Bochs port_e9_hack)
	mov dx, 0x3FD			; COM1 line status: wait for an empty transmitter
	mov ecx, 100000
.wait:	in al, dx
	test al, 0x20
	jnz .send
	loop .wait
.send:	mov al, [esi]
	mov dx, 0x3F8
	out dx, al
	inc esi
	jmp .putc
.halt:	cli
	hlt
	jmp .halt

stub_fault_msg:
	db "mbchain: error: handoff: CPU exception while copying the kernel into place", 10
	db "mbchain: hint: report this with mbchain.verbose output", 10, 0
stub_returned_msg:
	db "mbchain: error: handoff: the kernel returned to its loader (it refused the boot information)", 10
	db "mbchain: hint: FreeBSD/i386 does this when bootinfo is not version 1; report it with mbchain.verbose output", 10, 0

align 8
stub_gdt:
	dq 0
	dq 0x00CF9A000000FFFF		; 0x08: flat 4 GiB 32-bit code
	dq 0x00CF92000000FFFF		; 0x10: flat 4 GiB data (0x08 turns 64-bit for long-mode entries)
stub_gdtr:
	dw 3 * 8 - 1
	dd 0
align 4
stub_idtr:
	dw 32 * 8 - 1
	dd 0
align 8
stub_idt:
	times 32 * 8 db 0
align 16
	times 512 db 0
stub_stack_top:
handoff_stub_end:
