/*
 * exitport.c - write one byte to QEMU's isa-debug-exit port from Linux userspace.
 *
 * Debian's cloud kernel has no /dev/port, so the test initramfs's /init calls this static
 * helper to end the VM with a verdict:  exitport BYTE [PORT]  (QEMU exits (BYTE << 1) | 1).
 * Built with gcc -static by tests/kexec/kexec.py; exitport.asm is the fallback when the host
 * has no static libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	unsigned long value, port = 0xf4;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: exitport BYTE [PORT]\n");
		return 2;
	}
	value = strtoul(argv[1], NULL, 0);
	if (argc == 3)
		port = strtoul(argv[2], NULL, 0);
	if (ioperm(port, 1, 1) != 0) {
		perror("exitport: ioperm");
		return 1;
	}
	outb((unsigned char)value, (unsigned short)port);
	return 0; /* only reached when no isa-debug-exit device listens */
}
