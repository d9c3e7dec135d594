/*
 * icount-plugin.c - a TCG plugin for QEMU 7.2 (Debian ships none, and no qemu-plugin.h:
 * the few declarations it needs are below, from QEMU 7.2's include/qemu/qemu-plugin.h,
 * plugin API version 1).  Counts every guest instruction executed (a `rep movs` counts once
 * per iteration, as -icount does) and prints "mark 0xPC COUNT" to stderr each time an
 * instruction at one of the given virtual PCs executes:
 *
 *   qemu-system-x86_64 ... -plugin bench/build/icount-plugin.so,mark=0x100010,mark=0xc0100000
 *
 * At exit it prints "total COUNT".  Hits per mark are capped (cap=N, default 64) so a mark
 * inside a hot loop cannot flood the log; "mark" lines then stop but "last 0xPC COUNT" lines
 * at exit still give each mark's last hit.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*udata_exit_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
						void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_exit_cb_t cb, void *userdata);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
					      uint64_t imm);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_MARKS 16
static uint64_t count; /* one vCPU: plain inline add */
static uint64_t marks[MAX_MARKS], hits[MAX_MARKS], last[MAX_MARKS];
static unsigned nmarks, cap = 64;

/* profile=1: instructions per translation block start PC (top 30 printed at exit) */
struct prof { uint64_t pc, insns, execs; };
static struct prof **profs;
static size_t nprofs, capprofs;
static int profile;

static void on_mark(unsigned int vcpu, void *udata)
{
	unsigned i = (unsigned)(uintptr_t)udata;
	(void)vcpu;
	last[i] = count; /* instructions executed before this one */
	if (hits[i]++ < cap)
		fprintf(stderr, "mark 0x%" PRIx64 " %" PRIu64 "\n", marks[i], count);
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	if (profile) {
		/* one record per translation, never freed: the inline counter points into it */
		struct prof *p = calloc(1, sizeof(*p));
		if (nprofs == capprofs) {
			capprofs = capprofs ? 2 * capprofs : 4096;
			profs = realloc(profs, capprofs * sizeof(*profs));
		}
		p->pc = qemu_plugin_tb_vaddr(tb);
		p->insns = qemu_plugin_tb_n_insns(tb);
		profs[nprofs++] = p;
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &p->execs, 1);
	}
	for (size_t n = qemu_plugin_tb_n_insns(tb), j = 0; j < n; j++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, j);
		uint64_t pc = qemu_plugin_insn_vaddr(insn);
		for (unsigned i = 0; i < nmarks; i++)
			if (marks[i] == pc)
				qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
								       (void *)(uintptr_t)i);
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
	}
}

static void on_exit_cb(qemu_plugin_id_t id, void *udata)
{
	(void)id, (void)udata;
	for (unsigned i = 0; i < nmarks; i++)
		fprintf(stderr, "last 0x%" PRIx64 " %" PRIu64 " hits %" PRIu64 "\n", marks[i], last[i], hits[i]);
	fprintf(stderr, "total %" PRIu64 "\n", count);
	if (profile) {
		/* merge by PC (a block can be translated again), then the 30 heaviest */
		for (int k = 0; k < 30; k++) {
			uint64_t best = 0, bestpc = 0;
			for (size_t i = 0; i < nprofs; i++) {
				uint64_t w = 0;
				if (profs[i]->insns == (uint64_t)-1)
					continue;
				for (size_t j = i; j < nprofs; j++)
					if (profs[j]->pc == profs[i]->pc && profs[j]->insns != (uint64_t)-1)
						w += profs[j]->execs * profs[j]->insns;
				if (w > best)
					best = w, bestpc = profs[i]->pc;
			}
			if (!best)
				break;
			fprintf(stderr, "prof 0x%" PRIx64 " %" PRIu64 "\n", bestpc, best);
			for (size_t i = 0; i < nprofs; i++)
				if (profs[i]->pc == bestpc)
					profs[i]->insns = (uint64_t)-1;
		}
	}
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
							       char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5) && nmarks < MAX_MARKS)
			marks[nmarks++] = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "profile=", 8))
			profile = atoi(argv[i] + 8);
		else if (!strncmp(argv[i], "cap=", 4))
			cap = (unsigned)strtoul(argv[i] + 4, NULL, 0);
		else {
			fprintf(stderr, "icount-plugin: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	return 0;
}
