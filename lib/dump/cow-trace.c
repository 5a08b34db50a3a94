/*
 * The copy window of a --leave-running snapshot under ptrace (cow.h).
 *
 * Write-protection keeps a page as it was until its first write, but
 * munmap, MADV_DONTNEED and the like drop pages without writing them, and
 * the userfaultfd events for them come after the pages are gone (unmap)
 * or race with it (remove).  So while the pages are read the tree's
 * threads run with syscall stops: a call that unmaps, moves, discards or
 * replaces memory, shrinks the heap, or ends the address space (exit,
 * execve) is held at its entry until the pages it takes away are copied.
 * Only the dump's tracer thread may wait for the stops: the pages are
 * read by a thread of ours, which ends the window by forking a child
 * that exits at once (its exit wakes the tracer's waitpid).  A vxdump
 * killed meanwhile lets every thread go on; its uffds close with it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define LOG_PREFIX "dump/cow: "
#include "log.h"
#include "error.h"
#include "dump/dump.h"
#include "dump/cow.h"

#define SC_INFO_ENTRY 1 /* PTRACE_SYSCALL_INFO_ENTRY */
#define HEAP_MAX (1ull << 46)
#define MADV_DONTNEED_LOCKED_ 24
#define MADV_GUARD_INSTALL_ 102

/* struct ptrace_syscall_info up to the entry's arguments (linux/ptrace.h). */
struct sc_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	uint64_t nr, args[6];
};

struct tracee {
	pid_t tid, tgid;
};

struct window {
	struct dump_op *op;
	int (*work)(struct dump_op *op);
	int result;
	volatile int done;	/* work returned: the next exit of a stranger ends it */
	pid_t helper;		/* that stranger */
	struct vxcr_error *err; /* the dump's error: the work thread posts into it */
	struct tracee *t;
	size_t n, cap;
};

static struct tracee *find(struct window *w, pid_t tid)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->t[i].tid == tid)
			return &w->t[i];
	return NULL;
}

static void drop(struct window *w, pid_t tid)
{
	struct tracee *t = find(w, tid);

	if (t)
		*t = w->t[--w->n];
}

/* A number of /proc/PID/status ("\nTgid:", "\nThreads:"), or 0. */
static long status_field(pid_t pid, const char *key)
{
	char *text = NULL, *p;
	long v = 0;

	if (proc_read_file(pid, "status", &text, NULL))
		return 0;
	p = strstr(text, key);
	if (p)
		v = strtol(p + strlen(key), NULL, 10);
	free(text);
	return v;
}

static struct tracee *add(struct window *w, pid_t tid, pid_t tgid)
{
	struct tracee *nt;

	if (find(w, tid))
		return find(w, tid);
	if (w->n == w->cap) {
		nt = realloc(w->t, (w->cap ? 2 * w->cap : 64) * sizeof(*nt));
		if (!nt)
			return NULL;
		w->t = nt;
		w->cap = w->cap ? 2 * w->cap : 64;
	}
	w->t[w->n].tid = tid;
	w->t[w->n].tgid = tgid ? tgid : (pid_t)status_field(tid, "\nTgid:");
	return &w->t[w->n++];
}

/* The heap's end above addr: the area holding it, or nothing. */
static uint64_t heap_end(struct dump_op *op, pid_t tgid, uint64_t addr)
{
	size_t i, j;

	for (i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->pid != tgid || t->zombie)
			continue;
		for (j = 0; j < t->mm->n_vmas; j++)
			if (t->mm->vmas[j].pv.end > addr && t->mm->vmas[j].pv.start <= addr + 4096)
				return t->mm->vmas[j].pv.end;
	}
	return addr;
}

/* What the call at entry would take away of tgid's memory: [*s, *e). */
static bool takes_pages(struct window *w, pid_t tgid, const struct sc_info *si, uint64_t *s,
			uint64_t *e)
{
	const uint64_t *a = si->args;

	*s = a[0];
	switch (si->nr) {
	case SYS_munmap:
		*e = a[0] + a[1];
		return true;
	case SYS_mremap: /* the old range; a fixed new one is replaced too */
		*e = a[0] + a[1];
		if (a[3] & MREMAP_FIXED)
			cow_save_range(w->op->cow, tgid, a[4], a[4] + a[2]);
		return true;
	case SYS_madvise:
		*e = a[0] + a[1];
		return a[2] == MADV_DONTNEED || a[2] == MADV_FREE || a[2] == MADV_REMOVE ||
		       a[2] == MADV_DONTNEED_LOCKED_ || a[2] == MADV_GUARD_INSTALL_;
	case SYS_mmap:
		*e = a[0] + a[1];
		return (a[3] & MAP_FIXED) != 0;
	case SYS_brk: /* shrinking */
		*e = heap_end(w->op, tgid, a[0]);
		return a[0] && *e > a[0];
	case SYS_exit_group:
	case SYS_execve:
	case SYS_execveat:
		*s = 0;
		*e = ~0ull;
		return true;
	default:
		return false;
	}
}

/* A syscall stop of t: copy what the call would take away, at its entry. */
static void on_syscall(struct window *w, struct tracee *t)
{
	struct sc_info si;
	uint64_t s, e;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(si), &si) <= 0 || si.op != SC_INFO_ENTRY)
		return;
	if (si.nr == SYS_exit && status_field(t->tgid, "\nThreads:") == 1)
		si.nr = SYS_exit_group; /* the last thread's exit ends the mm */
	if (takes_pages(w, t->tgid, &si, &s, &e) && e > s)
		cow_save_range(w->op->cow, t->tgid, s, e);
}

/* One stop of tracee tid while the window is open; it goes on. */
static void on_stop(struct window *w, pid_t tid, int status)
{
	int sig = WSTOPSIG(status), ev = status >> 16;
	struct tracee *t = find(w, tid);
	unsigned long msg = 0;

	if (!t)
		t = add(w, tid, 0); /* a new thread's first stop, before its parent's event */
	if (sig == (SIGTRAP | 0x80)) {
		if (t)
			on_syscall(w, t);
		sig = 0;
	} else if (ev == PTRACE_EVENT_CLONE) {
		if (!ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg))
			add(w, (pid_t)msg, t ? t->tgid : 0);
		sig = 0;
	} else if (ev == PTRACE_EVENT_STOP) {
		if (sig != SIGTRAP) { /* a group-stop: stays stopped, we still see SIGCONT */
			ptrace(PTRACE_LISTEN, tid, 0, 0);
			return;
		}
		sig = 0;
	}
	ptrace(PTRACE_SYSCALL, tid, 0, sig);
}

static void *work_thread(void *arg)
{
	struct window *w = arg;
	pid_t pid;

	err_attach(w->err);
	w->result = w->work(w->op);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	pid = fork(); /* its exit wakes the tracer */
	if (pid == 0)
		_exit(0);
	w->helper = pid;
	if (pid < 0)
		pr_err("cannot end the copy window: %s\n", strerror(errno));
	return NULL;
}

/* One stop of tid while closing: it is let go (a signal passed on). */
static void on_stop_closing(struct window *w, pid_t tid, int status)
{
	int sig = WSTOPSIG(status), ev = status >> 16;
	unsigned long msg = 0;

	if (ev == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) &&
	    add(w, (pid_t)msg, 0))
		ptrace(PTRACE_INTERRUPT, (pid_t)msg, 0, 0);
	if (sig == (SIGTRAP | 0x80) || ev || sig == SIGTRAP)
		sig = 0;
	ptrace(PTRACE_DETACH, tid, 0, sig);
	drop(w, tid);
}

/* Stops and detaches every tracee.  */
static void close_window(struct window *w)
{
	int status;
	pid_t pid;
	size_t i;

	for (i = 0; i < w->n; i++)
		ptrace(PTRACE_INTERRUPT, w->t[i].tid, 0, 0);
	while (w->n) {
		pid = waitpid(-1, &status, __WALL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (WIFSTOPPED(status))
			on_stop_closing(w, pid, status);
		else
			drop(w, pid);
	}
}

/* Puts the seized running threads of the tree under syscall stops. */
static int open_window(struct window *w)
{
	const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE;
	struct dump_task *t;
	struct dump_thread *th;
	size_t i, j;

	for (i = 0; i < w->op->n_tasks; i++) {
		t = w->op->tasks[i];
		for (j = 0; !t->zombie && j < t->n_threads; j++) {
			th = &t->threads[j];
			if (!th->seized || !th->stopped || th->group_stopped ||
			    !cow_has_proc(w->op->cow, t->pid))
				continue; /* released as usual: job-control stopped, it stays */
			if (!add(w, th->tid, t->pid))
				return -ENOMEM;
			/* these options only: PTRACE_O_SUSPEND_SECCOMP goes, its
			 * filters apply again as it runs on */
			if (ptrace(PTRACE_SETOPTIONS, th->tid, 0, opts) ||
			    ptrace(PTRACE_SYSCALL, th->tid, 0, 0))
				pr_warn("pid %d: cannot follow its calls: %s\n", th->tid,
					strerror(errno));
			th->seized = th->stopped = false; /* ours to detach (close_window) */
		}
	}
	return 0;
}

int cow_trace_window(struct dump_op *op, int (*work)(struct dump_op *op))
{
	struct window w;
	pthread_t thread;
	int status, ret;
	pid_t pid;

	memset(&w, 0, sizeof(w));
	w.op = op;
	w.work = work;
	w.err = err_current();
	ret = open_window(&w);
	dump_tree_release(op); /* the rest (job-control stopped): let go as usual */
	op->st->frozen_ns = dump_now_ns() - op->t_seize;
	if (!ret)
		ret = -pthread_create(&thread, NULL, work_thread, &w);
	if (ret) {
		pr_err("cannot start the copy window: %s\n", strerror(-ret));
		close_window(&w);
		free(w.t);
		return ret;
	}
	for (;;) {
		pid = waitpid(-1, &status, __WALL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) { /* ECHILD: nothing left to wait for */
			pthread_join(thread, NULL);
			if (w.helper > 0)
				waitpid(w.helper, &status, 0);
			break;
		}
		if (WIFSTOPPED(status)) {
			on_stop(&w, pid, status);
			continue;
		}
		if (find(&w, pid)) {
			drop(&w, pid);
			continue;
		}
		if (__atomic_load_n(&w.done, __ATOMIC_SEQ_CST)) {
			pthread_join(thread, NULL);
			break;
		}
	}
	close_window(&w);
	free(w.t);
	return w.result;
}
