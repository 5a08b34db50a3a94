/*
 * Process state that is neither memory, files nor registers (issue 11):
 * the signal a stopped process was stopped by (what its parent's waitpid
 * reports as WSTOPSIG, and a tracer's PTRACE_EVENT_STOP), and the
 * membarrier registrations of its mm (registered again by injection once
 * the whole tree is forked: a fork inherits them, and none can be undone),
 * and its audit login uid and session id.
 *
 * Audit ids: only the process itself may write its /proc/PID/loginuid,
 * and each write of a valid uid gives it a new session id; fork passes
 * both on.  So a process whose ids are those it inherits (vxrestore's for
 * the root, its restored parent's for the others) needs nothing; one whose
 * loginuid is unset gets "4294967295" written (that also unsets the
 * session); any other session id cannot be given back and the restore is
 * refused before anything is created (the dump refuses it too, against
 * vxdump's own ids).  Written first thing, before a process forks its
 * children: the root in its C part, the others by injected calls.
  *
 * A stopped process is stopped again at its release, while still traced:
 * its leader, at the syscall-exit stop of the last injected call, is sent
 * SIGSTOP (PTRACE_CONT with SIGSTOP from a syscall stop queues it), the
 * signals it dequeues before it are delivered as they would be, and at
 * SIGSTOP's signal-delivery stop the signal is replaced by the recorded one
 * (ptrace may change the signal delivered): the kernel then stops the group
 * with that signal (do_signal_stop(), group_exit_code).  SIGTSTP, SIGTTIN
 * and SIGTTOU stop only with the default disposition, unblocked, outside
 * an orphaned process group: the image is refused when the process blocks
 * or handles its stop signal, the restore when its group is orphaned here.
 */
#define LOG_PREFIX "restore/pstate: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "restore/restore.h"

#define STOP_PASS_SIGNALS 64 /* signals delivered before SIGSTOP, at most */
#define STOP_WAIT_MS 5000    /* a stop that does not come fails the restore */
#define AUDIT_UNSET 4294967295u
#define LOGINUID_PATH "/proc/self/loginuid"
/* MEMBARRIER_CMD_REGISTER_{GLOBAL_EXPEDITED,PRIVATE_EXPEDITED,_SYNC_CORE,_RSEQ} */
#define MB_REGISTER_ALL (0x4u | 0x10u | 0x40u | 0x100u)

static bool is_stop_signal(uint32_t sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static const char *stop_name(uint32_t sig)
{
	return sig == SIGTSTP ? "SIGTSTP" : sig == SIGTTIN ? "SIGTTIN" : "SIGTTOU";
}

/* The signal that is to stop c (SIGSTOP when the image says none). */
static int stop_signal(const struct rst_proc *c)
{
	return c->task->has_stop_signal ? (int)c->task->stop_signal : SIGSTOP;
}

/*
 * The image's process-state fields of live process c against each other.
 * 0 or -errno (logged).
 */
int pstate_check(const struct rst_proc *c)
{
	const TaskEntry *t = c->task;
	uint32_t sig = t->stop_signal;
	size_t i;

	if (t->has_loginuid != t->has_sessionid ||
	    (t->loginuid == AUDIT_UNSET && t->sessionid != AUDIT_UNSET)) {
		pr_err("image: task %u: audit loginuid %u with session %u\n", t->pid, t->loginuid,
		       t->sessionid);
		return -EINVAL;
	}
	if (t->membarrier & ~MB_REGISTER_ALL) {
		pr_err("image: task %u: membarrier registrations %#x\n", t->pid, t->membarrier);
		return -EINVAL;
	}
	if (!t->has_stop_signal)
		return 0;
	if (t->state != TASK_STATE_STOPPED || !is_stop_signal(sig)) {
		pr_err("image: task %u: stop signal %u (state %u)\n", t->pid, sig, t->state);
		return -EINVAL;
	}
	if (sig == SIGSTOP)
		return 0;
	if (t->pid == 1) { /* an init discards SIGTSTP/SIGTTIN/SIGTTOU of its own */
		pr_err("pid 1: stopped by %s, which cannot stop an init from inside\n",
		       stop_name(sig));
		return -EOPNOTSUPP;
	}
	for (i = 0; c->sigs && i < c->sigs->n_actions; i++)
		if (c->sigs->actions[i]->signo == sig && c->sigs->actions[i]->handler)
			break;
	if ((c->sigs && i < c->sigs->n_actions) ||
	    (c->core && (c->core->blocked & (1ULL << (sig - 1))))) {
		pr_err("pid %u: stopped by %s, which it now %s: it cannot be stopped by it again\n",
		       t->pid, stop_name(sig),
		       c->sigs && i < c->sigs->n_actions ? "handles or ignores" : "blocks");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Is the process group of pid orphaned (every live member's parent in the
 * group, outside the session, or init), as the kernel judges before it
 * lets SIGTSTP/SIGTTIN/SIGTTOU stop a process?  Read from /proc.
 */
static bool pgrp_orphaned(pid_t pid)
{
	struct proc_stat me, m, parent;
	struct dirent *de;
	bool orphaned = true;
	DIR *d;

	if (proc_read_stat(pid, &me) || !(d = opendir("/proc")))
		return true;
	while (orphaned && (de = readdir(d))) {
		pid_t p = (pid_t)strtol(de->d_name, NULL, 10);

		if (p <= 0 || proc_read_stat(p, &m) || m.pgrp != me.pgrp || m.state == 'Z' ||
		    m.ppid <= 1 || proc_read_stat(m.ppid, &parent))
			continue;
		orphaned = parent.pgrp == me.pgrp || parent.session != me.session;
	}
	closedir(d);
	return orphaned;
}

/*
 * Waits for the next stop of tid: its signal, or -errno (logged).  A task
 * that does not stop within STOP_WAIT_MS (a stop signal the kernel
 * discarded after all) fails the restore, which kills the tree.
 */
static int wait_stop(pid_t tid, bool *delivery)
{
	struct timespec ts = { 0, 1000000 };
	siginfo_t si;
	int status, i;
	pid_t r;

	for (i = 0; (r = waitpid(tid, &status, __WALL | WNOHANG)) <= 0; i++) {
		if (r < 0 && errno != EINTR) {
			pr_perror("tid %d: waitpid", tid);
			return -errno;
		}
		if (i == STOP_WAIT_MS) {
			pr_err("tid %d did not stop within %d ms\n", tid, STOP_WAIT_MS);
			return -ETIMEDOUT;
		}
		if (r == 0)
			nanosleep(&ts, NULL);
	}
	if (!WIFSTOPPED(status)) {
		pr_err("tid %d: died while being stopped (status %#x)\n", tid, status);
		return -ECHILD;
	}
	*delivery = !ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
	return WSTOPSIG(status);
}

/*
 * Stops the group of live process c with its recorded stop signal; its
 * leader is at a syscall-exit stop, every thread's state final.  Returns
 * with the leader in the group-stop report, still traced.  0 or -errno.
 */
int pstate_stop(struct rst_proc *c)
{
	pid_t tid = c->threads[0].tid;
	int want = stop_signal(c), sig = 0, data = SIGSTOP, i;
	bool delivery = false;

	if (want != SIGSTOP && pgrp_orphaned(tid)) {
		pr_err("pid %d was stopped by %s: its process group is orphaned here, where %s "
		       "cannot stop it\n",
		       c->task->pid, stop_name(want), stop_name(want));
		return -EOPNOTSUPP;
	}
	for (i = 0; i < STOP_PASS_SIGNALS; i++) {
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)data)) {
			pr_perror("tid %d: cannot stop it", tid);
			return -errno;
		}
		sig = wait_stop(tid, &delivery);
		if (sig < 0)
			return sig;
		if (!delivery) /* the group-stop report */
			break;
		/* SIGSTOP becomes the recorded signal; others are delivered */
		data = sig == SIGSTOP ? want : sig;
	}
	if (delivery || sig != want) {
		pr_err("pid %d: stopped by signal %d, not %d\n", c->task->pid, sig, want);
		return -EIO;
	}
	return 0;
}

/*
 * Finish step: the membarrier registrations of live process c, one
 * injected MEMBARRIER_CMD_REGISTER_* each (checked: only those bits).  A
 * kernel that lacks one refuses the restore with its errno.  0 or -errno.
 */
int pstate_finish(struct rst_proc *c)
{
	uint32_t bits = c->task->membarrier & MB_REGISTER_ALL, bit;
	long r;

	for (bit = 1; bits; bit <<= 1) {
		if (!(bits & bit))
			continue;
		bits &= ~bit;
		r = rst_inject(c, NULL, SYS_membarrier, bit, 0, 0, 0, 0, 0);
		if (r < 0) {
			pr_err("pid %d: cannot register membarrier command %#x again: %s\n",
			       c->task->pid, bit, strerror((int)-r));
			return (int)r;
		}
	}
	return 0;
}

/* Our own audit ids (what the root inherits).  1 without audit, 0, -errno. */
static int own_audit(uint32_t *loginuid, uint32_t *sessionid)
{
	long long l, s;
	int ret;

	ret = proc_read_long(0, "loginuid", 10, &l);
	if (ret == -ENOENT)
		return 1;
	ret = ret ?: proc_read_long(0, "sessionid", 10, &s);
	*loginuid = (uint32_t)l;
	*sessionid = (uint32_t)s;
	return ret;
}

/* The audit ids live process c inherits: its parent's, or ours for the root. */
static bool inherited_audit(const struct rst_proc *c, uint32_t *l, uint32_t *s)
{
	const TaskEntry *pt = c->parent ? c->parent->task : NULL;

	if (!pt)
		return own_audit(l, s) == 0;
	*l = pt->has_loginuid ? pt->loginuid : AUDIT_UNSET;
	*s = pt->has_sessionid ? pt->sessionid : AUDIT_UNSET;
	return true;
}

/* Does live c need its loginuid written?  Set *err if it cannot be exact. */
static bool audit_differs(const struct rst_proc *c, int *err)
{
	const TaskEntry *t = c->task;
	uint32_t l = AUDIT_UNSET, s = AUDIT_UNSET;
	bool have = inherited_audit(c, &l, &s);

	*err = 0;
	if (!t->has_loginuid || (!have && t->loginuid == AUDIT_UNSET) ||
	    (have && l == t->loginuid && s == t->sessionid))
		return false;
	if (!have || t->sessionid != AUDIT_UNSET) {
		pr_err("pid %u: audit session %u (loginuid %u) cannot be restored here: the "
		       "kernel gives a new session id when loginuid is set, and it is not %s\n",
		       t->pid, t->sessionid, t->loginuid,
		       !have	 ? "audited" :
		       c->parent ? "its parent's" :
				   "vxrestore's");
		*err = -EOPNOTSUPP;
	}
	return true;
}

/* Host check: every live process's audit ids can be given back.  0/-errno. */
int pstate_check_audit(const struct rst_image *img)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < img->nr_procs; i++)
		if (img->procs[i]->task->state != TASK_STATE_DEAD)
			audit_differs(img->procs[i], &err);
	return err;
}

/* Root's C part: its loginuid, when it differs from ours.  0 or -errno. */
int pstate_audit_self(struct rst_proc *root)
{
	char buf[16];
	int err, fd, n;

	if (!audit_differs(root, &err) || err)
		return err;
	n = snprintf(buf, sizeof(buf), "%u", root->task->loginuid);
	fd = open(LOGINUID_PATH, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write(fd, buf, n) != n) {
		err = -errno;
		pr_perror("cannot set the audit loginuid to %s", buf);
		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/*
 * A forked process: its loginuid, when it differs from its parent's
 * (inherited), written by the process itself.  0 or -errno (logged).
 */
int pstate_audit_child(struct rst_proc *c)
{
	char buf[32] = LOGINUID_PATH;
	uint64_t path, val;
	long fd, r;
	int err, n;

	if (!audit_differs(c, &err) || err)
		return err;
	n = snprintf(buf + sizeof(LOGINUID_PATH), sizeof(buf) - sizeof(LOGINUID_PATH), "%u",
		     c->task->loginuid);
	path = c->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	val = path + sizeof(LOGINUID_PATH);
	if (inject_write(c->pid, path, buf, sizeof(buf)))
		return -EFAULT;
	fd = rst_inject(c, "open " LOGINUID_PATH, SYS_openat, AT_FDCWD, path,
			O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	r = rst_inject(c, "write " LOGINUID_PATH, SYS_write, fd, val, n, 0, 0, 0);
	rst_inject(c, NULL, SYS_close, fd, 0, 0, 0, 0, 0);
	if (r >= 0 && r != n)
		r = -EIO;
	return r < 0 ? (int)r : 0;
}
