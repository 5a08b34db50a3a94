/*
 * Would the seccomp filters of a stopped thread let a call through?  The
 * tracker injects userfaultfd() and close() into a process; a filter
 * could kill it for them (or trap, notify, trace).  Every filter of the
 * thread (PTRACE_SECCOMP_GET_FILTER) is run here on the call's
 * seccomp_data, in a classic BPF interpreter of the instructions seccomp
 * accepts, and the kernel's rule picks the action: the one of lowest
 * value as a signed 32-bit number.  Only ALLOW and LOG let the call run;
 * ERRNO makes it fail harmlessly (the process is then not tracked);
 * anything else, or a filter this cannot run, means not tracked without
 * trying.  A context's ccaps filter (lib/ctx) is of the harmless kind.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ptrace.h>

#define LOG_PREFIX "dump/track: "
#include "log.h"
#include "dump/track-int.h"
#include "util/seccomp-compat.h"

#define BPF_STEPS 65536 /* no loops in cBPF: a bound on the program's length */

/* A value for an instruction this cannot judge: the worst action. */
#define UNJUDGED SECCOMP_RET_KILL_PROCESS

static int alu(uint32_t *a, uint16_t op, uint32_t v)
{
	switch (op) {
	case BPF_ADD:
		*a += v;
		break;
	case BPF_SUB:
		*a -= v;
		break;
	case BPF_MUL:
		*a *= v;
		break;
	case BPF_DIV:
		if (!v)
			return -1;
		*a /= v;
		break;
	case BPF_MOD:
		if (!v)
			return -1;
		*a %= v;
		break;
	case BPF_OR:
		*a |= v;
		break;
	case BPF_AND:
		*a &= v;
		break;
	case BPF_XOR:
		*a ^= v;
		break;
	case BPF_LSH:
		*a = v < 32 ? *a << v : 0;
		break;
	case BPF_RSH:
		*a = v < 32 ? *a >> v : 0;
		break;
	case BPF_NEG:
		*a = -*a;
		break;
	default:
		return -1;
	}
	return 0;
}

static bool jump(uint16_t op, uint32_t a, uint32_t v, bool *taken)
{
	switch (op) {
	case BPF_JEQ:
		*taken = a == v;
		return true;
	case BPF_JGT:
		*taken = a > v;
		return true;
	case BPF_JGE:
		*taken = a >= v;
		return true;
	case BPF_JSET:
		*taken = (a & v) != 0;
		return true;
	default:
		return false;
	}
}

/* The return value of filter f (n instructions) on d. */
static uint32_t bpf_run(const struct sock_filter *f, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	size_t pc = 0, steps;
	bool taken;

	for (steps = 0; pc < n && steps < BPF_STEPS; steps++) {
		const struct sock_filter *i = &f[pc++];
		uint16_t cls = BPF_CLASS(i->code);
		uint32_t v = BPF_SRC(i->code) == BPF_X ? x : i->k;

		if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
			if (i->k % 4 || i->k > sizeof(*d) - 4)
				return UNJUDGED;
			memcpy(&a, (const uint8_t *)d + i->k, 4);
		} else if (i->code == (BPF_LD | BPF_W | BPF_LEN)) {
			a = sizeof(*d);
		} else if (i->code == (BPF_LDX | BPF_W | BPF_LEN)) {
			x = sizeof(*d);
		} else if (i->code == (BPF_LD | BPF_IMM) || i->code == (BPF_LDX | BPF_IMM)) {
			*(cls == BPF_LD ? &a : &x) = i->k;
		} else if (i->code == (BPF_LD | BPF_MEM) || i->code == (BPF_LDX | BPF_MEM)) {
			if (i->k >= BPF_MEMWORDS)
				return UNJUDGED;
			*(cls == BPF_LD ? &a : &x) = mem[i->k];
		} else if (i->code == BPF_ST || i->code == BPF_STX) {
			if (i->k >= BPF_MEMWORDS)
				return UNJUDGED;
			mem[i->k] = i->code == BPF_ST ? a : x;
		} else if (cls == BPF_ALU) {
			if (alu(&a, BPF_OP(i->code), v))
				return UNJUDGED;
		} else if (i->code == (BPF_JMP | BPF_JA)) {
			pc += i->k;
		} else if (cls == BPF_JMP) {
			if (!jump(BPF_OP(i->code), a, v, &taken))
				return UNJUDGED;
			pc += taken ? i->jt : i->jf;
		} else if (i->code == (BPF_RET | BPF_K) || i->code == (BPF_RET | BPF_A)) {
			return i->code == (BPF_RET | BPF_K) ? i->k : a;
		} else if (i->code == (BPF_MISC | BPF_TAX)) {
			x = a;
		} else if (i->code == (BPF_MISC | BPF_TXA)) {
			a = x;
		} else {
			return UNJUDGED;
		}
	}
	return UNJUDGED;
}

/* Filter idx of stopped tid, or NULL (none, or unreadable); *n instructions. */
static struct sock_filter *get_filter(pid_t tid, unsigned long idx, size_t *n)
{
	struct sock_filter *f;
	long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, NULL);

	if (len <= 0 || len > BPF_MAXINSNS)
		return NULL;
	f = calloc(len, sizeof(*f));
	if (f && ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, f) != len) {
		free(f);
		f = NULL;
	}
	*n = len;
	return f;
}

int trk_seccomp_action(pid_t tid, int nfilters, int nr, const uint64_t args[6], uint64_t ip)
{
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .instruction_pointer = ip };
	int32_t act = (int32_t)SECCOMP_RET_ALLOW, r;
	struct sock_filter *f;
	size_t n = 0;
	int i;

	memcpy(d.args, args, sizeof(d.args));
	for (i = 0; i < nfilters; i++) {
		f = get_filter(tid, i, &n);
		if (!f)
			return (int)UNJUDGED; /* not readable: the worst */
		r = (int32_t)(bpf_run(f, n, &d) & SECCOMP_RET_ACTION_FULL);
		free(f);
		if (r < act)
			act = r;
	}
	return act;
}
