; floor.asm - the memcpy floor for bench.py: a Multiboot kernel (QEMU -kernel) that copies its
; module 0 (N bytes) to free RAM with `rep movsd` (+ `rep movsb` for the tail), then zero-fills
; as many bytes as module 1 is long (if present) with `rep stosd`/`rep stosb` - the same
; instructions mbchain's handoff stub uses for a forward copy and a BSS fill.  The span
; [copy_begin, copy_end) is counted by icount-plugin.so marks; the guest RDTSC (= instructions
; under -icount shift=0) is read at both ends too and printed as "floor: rdtsc N" (decimal-free
; hex), a cross-check of the plugin.  Exits QEMU with isa-debug-exit 0x10 (status 33).
BITS 32
section .text
global _start, copy_begin, copy_end
align 4
	dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
_start:
	cli
	cld
	mov esp, stack_top
	mov esi, [ebx + 24]		; mods_addr
	mov ecx, [ebx + 20]		; mods_count
	mov eax, ecx
	shl eax, 4
	mov eax, [esi + eax - 16 + 4]	; the last module's end (QEMU places them ascending)
	add eax, 0x1fffff
	and eax, 0xfff00000		; destination: 1 MiB past it, 1 MiB aligned
	mov [dst], eax
	mov eax, [esi + 4]
	sub eax, [esi]
	mov [len], eax
	mov eax, [esi]
	mov [src], eax
	xor eax, eax
	cmp ecx, 2
	jb .one
	mov eax, [esi + 20]
	sub eax, [esi + 16]
.one:	mov [zlen], eax
	rdtsc
	mov [t0], eax
	mov [t0 + 4], edx
copy_begin:
	mov esi, [src]
	mov edi, [dst]
	mov ecx, [len]
	mov edx, ecx
	shr ecx, 2
	rep movsd
	mov ecx, edx
	and ecx, 3
	rep movsb
	mov ecx, [zlen]
	mov edx, ecx
	shr ecx, 2
	xor eax, eax
	rep stosd
	mov ecx, edx
	and ecx, 3
	rep stosb
copy_end:
	rdtsc
	sub eax, [t0]
	sbb edx, [t0 + 4]
	mov ebx, eax
	mov esi, msg
.str:	lodsb
	test al, al
	jz .hex
	out 0xe9, al
	jmp .str
.hex:	mov ecx, 8
.dig:	rol ebx, 4
	mov eax, ebx
	and eax, 15
	mov al, [hexd + eax]
	out 0xe9, al
	loop .dig
	mov al, 10
	out 0xe9, al
	mov al, 0x10
	out 0xf4, al
.hang:	hlt
	jmp .hang

section .data
msg:	db "floor: rdtsc 0x", 0
hexd:	db "0123456789abcdef"
align 4
src:	dd 0
dst:	dd 0
len:	dd 0
zlen:	dd 0
t0:	dd 0, 0

section .bss
align 16
	resb 4096
stack_top:
