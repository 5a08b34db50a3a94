/*
 * Per-thread state: registers (resume form), XSAVE area, blocked mask,
 * private pending signals, rseq, robust list, scheduling, fs info of a
 * thread that has its own, seccomp filters (seccomp.c); the core_entry
 * records.
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOG_PREFIX "dump/core: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "util/inject.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

#define XSAVE_FALLBACK_SIZE (64u << 10)

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* Size of the XSAVE area for the features enabled in XCR0. */
static size_t xsave_size(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || !b)
		return XSAVE_FALLBACK_SIZE;
	return b;
}

static int collect_regs(struct dump_thread *th)
{
	struct iovec iov = { &th->regs, sizeof(th->regs) };
	size_t size = xsave_size();

	if (ptrace(PTRACE_GETREGSET, th->tid, NT_PRSTATUS, &iov)) {
		pr_perror("pid %d: cannot read registers", th->tid);
		return -errno;
	}
	th->in_syscall_restart = regs_to_resume_form(&th->regs, false);

	th->xsave = calloc(1, size);
	if (!th->xsave)
		return -ENOMEM;
	iov.iov_base = th->xsave;
	iov.iov_len = size;
	if (ptrace(PTRACE_GETREGSET, th->tid, NT_X86_XSTATE, &iov)) {
		pr_perror("pid %d: cannot read the XSAVE area", th->tid);
		return -errno;
	}
	th->xsave_len = iov.iov_len;
	th->xfeatures = xgetbv0();
	return 0;
}

static int collect_sched(struct dump_thread *th)
{
	struct sched_param sp;
	int prio;

	th->sched_policy = sched_getscheduler(th->tid);
	if (th->sched_policy < 0 || sched_getparam(th->tid, &sp)) {
		pr_perror("pid %d: cannot read the scheduling policy", th->tid);
		return -errno;
	}
	th->sched_prio = sp.sched_priority;
	errno = 0;
	prio = getpriority(PRIO_PROCESS, th->tid);
	if (prio == -1 && errno) {
		pr_perror("pid %d: getpriority", th->tid);
		return -errno;
	}
	th->nice = prio;
	return 0;
}

static void collect_rseq(struct dump_thread *th)
{
	struct rseq_config rc;

	memset(&rc, 0, sizeof(rc));
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, th->tid, sizeof(rc), &rc) < 0) {
		pr_debug("pid %d: no rseq configuration: %s\n", th->tid, strerror(errno));
		return;
	}
	th->rseq_addr = rc.rseq_abi_pointer;
	th->rseq_len = rc.rseq_abi_size;
	th->rseq_sig = rc.signature;
}

static int read_comm(struct dump_thread *th)
{
	char *text;
	int ret;

	ret = proc_read_file(th->tid, "comm", &text, NULL);
	if (ret) {
		pr_err("pid %d: cannot read comm: %s\n", th->tid, strerror(-ret));
		return ret;
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(th->comm, sizeof(th->comm), "%s", text);
	free(text);
	return 0;
}

/* The robust futex list: get_robust_list() answers for any thread we trace. */
static int collect_robust(struct dump_thread *th)
{
	void *head = NULL;
	size_t len = 0;

	if (syscall(SYS_get_robust_list, th->tid, &head, &len)) {
		pr_perror("pid %d: get_robust_list", th->tid);
		return -errno;
	}
	th->rt.robust_list = (uint64_t)(uintptr_t)head;
	th->rt.robust_list_len = len;
	return 0;
}

static int read_thread_link(pid_t pid, pid_t tid, const char *what, char **out)
{
	char name[64], buf[4096];
	int ret;

	snprintf(name, sizeof(name), "task/%d/%s", tid, what);
	ret = proc_readlink(pid, name, buf, sizeof(buf));
	if (ret) {
		pr_err("pid %d (thread %d): cannot read its %s: %s\n", pid, tid, what,
		       strerror(-ret));
		return ret;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/*
 * cwd, root and umask of a thread with fs info of its own (share.c set
 * th->own_fs).  0 or -errno (logged).
 */
static int collect_own_fs(struct dump_task *t, struct dump_thread *th)
{
	struct proc_status s;
	char name[64], *text;
	int ret;

	ret = read_thread_link(t->pid, th->tid, "cwd", &th->cwd);
	ret = ret ?: read_thread_link(t->pid, th->tid, "root", &th->root);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "task/%d/status", th->tid);
	ret = proc_read_file(t->pid, name, &text, NULL);
	if (ret) {
		pr_err("pid %d (thread %d): cannot read its status: %s\n", t->pid, th->tid,
		       strerror(-ret));
		return ret;
	}
	ret = proc_parse_status(text, &s);
	free(text);
	if (ret || !s.has_umask) {
		pr_err("pid %d (thread %d): no umask in its status\n", t->pid, th->tid);
		proc_status_free(&s);
		return ret ?: -EINVAL;
	}
	th->umask = s.umask;
	proc_status_free(&s);
	return 0;
}

/*
 * Collects what ptrace and /proc tell about one frozen thread of t (before
 * any syscall is injected).  Returns 0 or -errno (logged).
 */
int collect_thread_core(struct dump_task *t, struct dump_thread *th)
{
	int ret;

	ret = collect_seccomp(t, th); /* first: may refuse, suspends filters */
	ret = ret ?: collect_regs(th);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETSIGMASK, th->tid, sizeof(th->blocked), &th->blocked)) {
		pr_perror("pid %d: cannot read the signal mask", th->tid);
		return -errno;
	}
	ret = peek_siginfo(th->tid, false, &th->pending);
	if (ret)
		return ret;
	collect_rseq(th);
	ret = collect_robust(th);
	if (!ret && th->own_fs)
		ret = collect_own_fs(t, th);
	ret = ret ?: read_comm(th);
	if (ret)
		return ret;
	ret = collect_sched(th);
	if (ret)
		return ret;
	return 0;
}

void free_thread(struct dump_thread *th)
{
	free(th->xsave);
	free(th->pending.v);
	free(th->cwd);
	free(th->root);
	free_fdtable(th->fdt);
	free_filters(th);
	if (th->has_status)
		proc_status_free(&th->status);
	th->has_status = false;
	th->xsave = NULL;
	th->pending.v = NULL;
	th->cwd = th->root = NULL;
	th->fdt = NULL;
}

static void fill_regs(X86Regs *r, const struct user_regs_struct *u)
{
#define R(f, uf) PB_SET(r, f, u->uf)
	R(r15, r15);
	R(r14, r14);
	R(r13, r13);
	R(r12, r12);
	R(bp, rbp);
	R(bx, rbx);
	R(r11, r11);
	R(r10, r10);
	R(r9, r9);
	R(r8, r8);
	R(ax, rax);
	R(cx, rcx);
	R(dx, rdx);
	R(si, rsi);
	R(di, rdi);
	R(orig_ax, orig_rax);
	R(ip, rip);
	R(cs, cs);
	R(flags, eflags);
	R(sp, rsp);
	R(ss, ss);
	R(fs_base, fs_base);
	R(gs_base, gs_base);
	R(ds, ds);
	R(es, es);
	R(fs, fs);
	R(gs, gs);
#undef R
}

/* Builds the siginfo_entry array of q; *out must be freed. */
int siginfo_entries(const struct siginfo_queue *q, SiginfoEntry **ents, SiginfoEntry ***out)
{
	size_t i;

	*ents = calloc(q->n + 1, sizeof(**ents));
	*out = calloc(q->n + 1, sizeof(**out));
	if (!*ents || !*out) {
		free(*ents);
		free(*out);
		return -ENOMEM;
	}
	for (i = 0; i < q->n; i++) {
		siginfo_entry__init(&(*ents)[i]);
		(*ents)[i].has_siginfo = 1;
		(*ents)[i].siginfo.data = q->v[i].b;
		(*ents)[i].siginfo.len = SIGINFO_RAW_SIZE;
		(*out)[i] = &(*ents)[i];
	}
	return 0;
}

static int write_core(struct dump_op *op, struct dump_thread *th)
{
	CoreEntry ce = CORE_ENTRY__INIT;
	X86Regs regs = X86_REGS__INIT;
	SigaltstackEntry alt = SIGALTSTACK_ENTRY__INIT;
	SiginfoEntry *pend, **ppend;
	int ret;

	ret = siginfo_entries(&th->pending, &pend, &ppend);
	if (ret)
		return ret;
	fill_regs(&regs, &th->regs);
	PB_SET(&alt, sp, th->rt.altstack_sp);
	PB_SET(&alt, flags, th->rt.altstack_flags);
	PB_SET(&alt, size, th->rt.altstack_size);
	PB_SET(&ce, tid, th->vtid);
	ce.regs = &regs;
	ce.has_xsave = 1;
	ce.xsave.data = th->xsave;
	ce.xsave.len = th->xsave_len;
	PB_SET(&ce, xfeatures, th->xfeatures);
	PB_SET(&ce, blocked, th->blocked);
	ce.pending = ppend;
	ce.n_pending = th->pending.n;
	ce.altstack = &alt;
	PB_SET(&ce, clear_child_tid, th->rt.clear_child_tid);
	ce.comm = th->comm;
	PB_SET(&ce, sched_policy, th->sched_policy);
	PB_SET(&ce, sched_prio, th->sched_prio);
	PB_SET(&ce, nice, th->nice);
	PB_SET(&ce, rseq_addr, th->rseq_addr);
	PB_SET(&ce, rseq_len, th->rseq_len);
	PB_SET(&ce, rseq_sig, th->rseq_sig);
	PB_SET(&ce, robust_list, th->rt.robust_list);
	PB_SET(&ce, robust_list_len, th->rt.robust_list_len);
	PB_SET(&ce, in_syscall_restart, th->in_syscall_restart);
	if (th->files_id)
		PB_SET(&ce, files_id, th->files_id);
	if (th->own_fs) {
		PB_SET(&ce, own_fs, true);
		ce.cwd = th->cwd;
		if (th->cwd_file_id)
			PB_SET(&ce, cwd_file_id, th->cwd_file_id);
		ce.root = th->root;
		PB_SET(&ce, umask, th->umask);
	}
	ce.seccomp_filters = th->filter_ids; /* numbered by write_seccomp() */
	ce.n_seccomp_filters = th->n_filters;
	ret = img_write_msg(op->w, IMG_REC_CORE, &ce.base);
	if (ret)
		pr_err("pid %d: cannot write the core record: %s\n", th->tid, strerror(-ret));
	free(pend);
	free(ppend);
	return ret;
}

/* One core_entry per thread, leader first.  0 or -errno (logged). */
int write_cores(struct dump_op *op, struct dump_task *t)
{
	size_t i;
	int ret;

	for (i = 0; i < t->n_threads; i++) {
		ret = write_core(op, &t->threads[i]);
		if (ret)
			return ret;
	}
	return 0;
}
