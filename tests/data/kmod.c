/*
 * kmod.c - a stand-in FreeBSD/amd64 kernel module for the boot tests: compiled to a
 * relocatable object (ET_REL), the form of an amd64 .ko, with text, data, read-only data, bss
 * and relocations, so mbchain must lay its sections out as loader(8) does (load_elf_obj.c).
 */
struct kmod_info {
	const char *name;
	int (*handler)(int);
	long counter;
};

static long kmod_bss[64];
static const char kmod_name[] = "mbchain_test_kmod";

static int kmod_handler(int what)
{
	kmod_bss[what & 63]++;
	return what + 1;
}

struct kmod_info kmod_info = { kmod_name, kmod_handler, 42 };
