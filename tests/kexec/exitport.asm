; exitport.asm - the fallback for exitport.c when the host has no static libc: a whole
; x86-64 Linux ELF executable in one flat file (nasm -f bin).  "exitport BYTE": BYTE is
; decimal or 0x-hex; it is written to port 0xf4 after ioperm(0xf4, 1, 1).
bits 64
org 0x400000

ehdr:   db 0x7f, "ELF", 2, 1, 1, 0          ; ELF64, little-endian, version 1, SysV
        times 8 db 0
        dw 2                                ; ET_EXEC
        dw 62                               ; EM_X86_64
        dd 1
        dq _start
        dq phdr - $$
        dq 0
        dd 0
        dw ehdrsize, phdrsize, 1, 0, 0, 0
ehdrsize equ $ - ehdr

phdr:   dd 1, 5                             ; PT_LOAD, R+X
        dq 0, $$, $$
        dq filesize, filesize
        dq 0x1000
phdrsize equ $ - phdr

_start:
        mov rsi, [rsp + 16]                 ; argv[1]
        test rsi, rsi
        jz .usage
        xor eax, eax                        ; the value
        mov ecx, 10
        cmp word [rsi], '0x'
        jne .digit
        mov ecx, 16
        add rsi, 2
.digit: movzx edx, byte [rsi]
        inc rsi
        sub edx, '0'
        cmp edx, 9
        jbe .add
        or edx, 0x20                        ; a-f, A-F
        sub edx, 'a' - '0' - 10
        cmp edx, 10
        jb .done
        cmp edx, 15
        ja .done
.add:   cmp edx, ecx
        jae .done
        imul eax, ecx
        add eax, edx
        jmp .digit
.done:  mov r12d, eax
        mov eax, 173                        ; ioperm(0xf4, 1, 1)
        mov edi, 0xf4
        mov esi, 1
        mov edx, 1
        syscall
        test eax, eax
        jnz .fail
        mov eax, r12d
        out 0xf4, al
        xor edi, edi
        jmp .exit
.usage: mov edi, 2
        jmp .exit
.fail:  mov edi, 1
.exit:  mov eax, 60                         ; exit
        syscall

filesize equ $ - $$
