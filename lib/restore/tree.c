/*
 * Creating the process: clone3 with the recorded pid.  The child runs our
 * code on its copy of the plan, rebuilds what C can do in-process, maps the
 * scratch gadget and stops itself under ptrace; failures come back to the
 * parent over a pipe as {errno, message}.
 */
#define LOG_PREFIX "restore/tree: "
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "util/clone3.h"
#include "util/report.h"
#include "net/netns.h"
#include "restore/restore.h"

#ifndef RSEQ_FLAG_UNREGISTER
#define RSEQ_FLAG_UNREGISTER 1
#endif
#define RST_RSEQ_SIG 0x53053053

/* glibc's rseq registration (sys/rseq.h of glibc >= 2.35). */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/*
 * Child: drops glibc's rseq registration, whose area lies in memory about
 * to be unmapped; the target's own is registered by core.c at the end.
 */
static int child_drop_rseq(void)
{
	char *area;

	if (!&__rseq_size || !&__rseq_offset || !__rseq_size)
		return 0;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	if (!syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RST_RSEQ_SIG))
		return 0;
	if (!syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RST_RSEQ_SIG))
		return 0;
	if (errno == EINVAL || errno == ENOSYS)
		return 0; /* not registered */
	pr_perror("cannot unregister rseq");
	return -errno;
}

/* Child: maps the scratch area with "syscall; int3" at its start. */
static int child_map_scratch(const struct rst_image *img)
{
	static const uint8_t gadget[] = { 0x0f, 0x05, 0xcc };
	void *p;

	p = mmap((void *)img->scratch, img->scratch_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != (void *)img->scratch) {
		pr_perror("cannot map the scratch area at %#llx", (unsigned long long)img->scratch);
		return -errno ? -errno : -EEXIST;
	}
	memcpy(p, gadget, sizeof(gadget));
	if (mprotect(p, RST_PAGE, PROT_READ | PROT_EXEC)) {
		pr_perror("mprotect scratch");
		return -errno;
	}
	return 0;
}

int rst_root_prepare(struct rst_proc *root)
{
	sigset_t all;
	int ret;

	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL)) {
		pr_perror("sigprocmask");
		return -errno;
	}
	ret = root->img->ctxe ? ctx_child_setup(root->img) : 0;
	ret = ret ?: child_drop_rseq();
	ret = ret ?: pstate_audit_self(root);
	if (!ret)
		ret = files_restore(root);
	if (!ret)
		ret = task_restore_attrs(root);
	if (!ret)
		ret = signals_restore(root);
	if (!ret)
		ret = task_restore_rlimits(root);
	if (!ret)
		ret = child_map_scratch(root->img);
	return ret;
}

/* Child: the root's part in C, on its copy of the plan. */
static int child_steps(struct rst_proc *root)
{
	int ret = rst_root_prepare(root);

	if (ret)
		return ret;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
		pr_perror("PTRACE_TRACEME");
		return -errno;
	}
	raise(SIGSTOP);
	return -EINVAL; /* not reached: the parent takes over at the stop */
}

/* Child: never returns. */
static void __attribute__((noreturn)) child_main(struct rst_proc *root, pid_t parent)
{
	const struct rst_image *img = root->img;
	int ret;

	err_clear(); /* ours to report: what fails from here on */
	/* the init of a new pid namespace sees its parent as 0 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != (img->ctxe ? 0 : parent))
		_exit(1);
	/* our report fd goes where the plan says, above the target's fds */
	if (root->ctl_wr != img->ctl_fd) {
		if (dup2(root->ctl_wr, img->ctl_fd) < 0)
			_exit(1);
		close(root->ctl_wr);
	}
	/* the tree's own mount namespace, built already (mntns.c) */
	if (img->mntns_fd >= 0 && setns(img->mntns_fd, CLONE_NEWNS)) {
		ret = -errno;
		pr_perror("cannot enter the tree's mount namespace");
	} else {
		if (img->mntns_fd >= 0)
			close(img->mntns_fd);
		ret = child_steps(root);
	}
	report_send(img->ctl_fd, ret, NULL, 0);
	_exit(1);
}

/* Parent: a failed child's report; its error becomes ours. */
static int read_report(struct rst_proc *root, int status)
{
	int ret = report_recv(root->ctl_rd, NULL, 0);

	if (ret >= 0) {
		pr_err("pid %d: restore child died early (status %#x)\n", root->pid, status);
		return -ECHILD;
	}
	return ret;
}

/* Parent: waits for the child's SIGSTOP and takes hold of it. */
static int wait_child_stop(struct rst_proc *root)
{
	int status;

	while (waitpid(root->pid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			pr_perror("waitpid %d", root->pid);
			return -errno;
		}
	}
	if (!WIFSTOPPED(status)) {
		root->pid = -1; /* reaped */
		return read_report(root, status);
	}
	if (WSTOPSIG(status) != SIGSTOP) {
		pr_err("pid %d: unexpected stop by signal %d\n", root->pid, WSTOPSIG(status));
		return -EINVAL;
	}
	if (ptrace(PTRACE_SETOPTIONS, root->pid, NULL, RST_TRACE_OPTS)) {
		pr_perror("pid %d: PTRACE_SETOPTIONS", root->pid);
		return -errno;
	}
	return 0;
}

/* clone3 of the root, in the tree's network namespace if one was built. */
static long clone_root(struct rst_image *img, struct vxcr_clone_args *ca)
{
	int saved = -1, err;
	long r;

	if (img->netns_fd >= 0 && net_ns_enter(img->netns_fd, &saved))
		return -1;
	r = vxcr_clone3(ca);
	err = errno;
	if (r > 0 && saved >= 0 && net_ns_leave(saved)) {
		kill(r, SIGKILL);
		return -1;
	}
	if (r < 0 && saved >= 0)
		net_ns_leave(saved);
	errno = err;
	return r;
}

/*
 * Clones the process with the recorded pid and waits until it has done its
 * in-process part.  On success the child is ptrace-stopped.  Returns 0/-errno.
 */
int rst_tree_clone(struct rst_image *img)
{
	struct rst_proc *root = rst_root(img);
	pid_t want = root->task->pid, parent = getpid();
	struct vxcr_clone_args ca = { 0 };
	int fds[2];
	long r;

	if (pipe2(fds, O_CLOEXEC)) {
		pr_perror("pipe");
		return -errno;
	}
	root->ctl_rd = fds[0];
	root->ctl_wr = fds[1];
	ca.exit_signal = SIGCHLD;
	if (img->ctxe) {
		/* pid 1 of the context's new namespaces, straight into its cgroup */
		ca.flags = ctx_clone_flags(img->ctxe);
		if (img->netns) /* made already, cloned in it (netns.c) */
			ca.flags &= ~(uint64_t)CLONE_NEWNET;
		if (img->ipcns) /* made already, we are in it (ipcns.c) */
			ca.flags &= ~(uint64_t)CLONE_NEWIPC;
		if (img->ns_cgroup_fd >= 0) {
			ca.flags |= CLONE_INTO_CGROUP;
			ca.cgroup = (uint64_t)img->ns_cgroup_fd;
		}
	} else {
		ca.set_tid = (uintptr_t)&want;
		ca.set_tid_size = 1;
	}
	fflush(NULL);
	r = clone_root(img, &ca);
	if (r < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is in use\n", want);
		else
			pr_perror("clone3 with pid %d", want);
		return -errno;
	}
	if (r == 0)
		child_main(root, parent);
	root->pid = r;
	if (root->nr_threads)
		root->threads[0].tid = r; /* ours: pid 1 inside a context */
	close(root->ctl_wr);
	root->ctl_wr = -1;
	if (rst_janitor_watch(img, r))
		return -EIO;
	return wait_child_stop(root);
}

int rst_tree_adopt(struct rst_image *img)
{
	struct rst_proc *root = rst_root(img);

	if (root->nr_threads)
		root->threads[0].tid = root->pid;
	return wait_child_stop(root);
}

/* Reaps pid, ours or (as its tracer, or its subreaper) not; gives up after ~2 s. */
static void reap(pid_t pid)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < 2000; i++) {
		pid_t r = waitpid(pid, NULL, __WALL | WNOHANG);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && kill(pid, 0) && errno == ESRCH)
			return;
		nanosleep(&ts, NULL);
	}
}

/*
 * Kills every task created so far and reaps them (vxrestore is the child
 * subreaper of the tree while it restores, so orphans come back to us).
 */
void rst_tree_kill(struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_procs; i++)
		if (img->procs[i]->pid > 0)
			kill(img->procs[i]->pid, SIGKILL);
	for (i = 0; i < img->nr_helpers; i++)
		if (img->helpers[i]->pid > 0)
			kill(img->helpers[i]->pid, SIGKILL);
	for (i = img->nr_procs; i-- > 0;) {
		if (img->procs[i]->pid > 0)
			reap(img->procs[i]->pid);
		img->procs[i]->pid = -1;
	}
	for (i = 0; i < img->nr_helpers; i++) {
		if (img->helpers[i]->pid > 0)
			reap(img->helpers[i]->pid);
		img->helpers[i]->pid = -1;
	}
}
