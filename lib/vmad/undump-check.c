/*
 * What vmad_undump refuses before its point of no return, besides every
 * check of the restore's plan: what cannot be rebuilt in the calling
 * process (a tree, threads, namespaces) and credentials the caller could
 * not take itself.  Each refusal is one line naming the reason; the
 * caller is untouched.
 */
#define LOG_PREFIX "vmad/undump: "
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "log.h"
#include "error.h"
#include "restore/restore.h"
#include "util/asuser.h"
#include "vmad/undump.h"

/*
 * Threads get their own tids back (clone3 with set_tid, as the restore
 * makes them): only with CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN) and
 * while every one of them is free.  New tids are not given instead: glibc
 * keeps each thread's tid in its struct pthread, which the image holds.
 */
static int check_threads(const struct rst_proc *root)
{
	size_t i;

	if (!util_have_cap(CAP_CHECKPOINT_RESTORE) && !util_have_cap(CAP_SYS_ADMIN)) {
		err_set(-ENOTTY,
			"vmad_undump: the image's process has %zu threads, whose ids need "
			"CAP_CHECKPOINT_RESTORE (vxrestore restores them)",
			root->nr_threads);
		return -ENOTTY;
	}
	for (i = 1; i < root->nr_threads; i++) {
		if (kill(root->threads[i].vtid, 0) == 0 || errno != ESRCH) {
			err_set(-EEXIST, "vmad_undump: thread id %d of the image is in use",
				root->threads[i].vtid);
			return -EEXIST;
		}
	}
	return 0;
}

/*
 * Files that name a pid of the image: its pid is not the caller's, so a
 * pidfd, a /proc/PID file, a namespace file or an fd owner restored in
 * place would name whatever process has that pid here.  What, or NULL.
 */
static const char *self_reference(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;

		if (fe->kind == FILE_KIND__FILE_PIDFD)
			return "a pidfd";
		if (fe->kind == FILE_KIND__FILE_PROC || fe->kind == FILE_KIND__FILE_NS)
			return "an open file below /proc/PID";
		if (fe->has_owner_pid && fe->owner_pid)
			return "an fd with an owner (F_SETOWN)";
	}
	return NULL;
}

static int refuse_tree(const struct rst_image *img, const char *why, uint32_t pid)
{
	err_set(-ENOTTY,
		"vmad_undump: the image holds %zu processes (a tree): pid %u %s "
		"(vxrestore restores trees)",
		img->nr_procs, pid, why);
	return -ENOTTY;
}

/*
 * A tree: the caller is its root, every other process is forked by its
 * restored parent with its own pid (clone3 set_tid: CAP_CHECKPOINT_RESTORE,
 * every pid free).  Sessions and groups as far as the caller's stand for
 * the root's: every process in the root's session; in the root's group
 * (then the caller's, inherited) or a group led by a process of the tree
 * other than the root; the root in its own group or one outside the tree.
 */
static int check_tree(const struct rst_image *img)
{
	const TaskEntry *rt = rst_root(img)->task;
	const struct rst_proc *l;
	size_t i;

	if (!util_have_cap(CAP_CHECKPOINT_RESTORE) && !util_have_cap(CAP_SYS_ADMIN))
		return refuse_tree(img, "and the others need CAP_CHECKPOINT_RESTORE for their pids",
				   rt->pid);
	if (rt->pgid != rt->pid && rst_proc_of_pid(img, rt->pgid))
		return refuse_tree(img, "is in a group led by another process of the tree",
				   rt->pid);
	for (i = 1; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];
		const TaskEntry *t = c->task;
		size_t j;

		if (kill(t->pid, 0) == 0 || errno != ESRCH)
			return refuse_tree(img, "is in use here", t->pid);
		for (j = 1; j < c->nr_threads; j++)
			if (kill(c->threads[j].vtid, 0) == 0 || errno != ESRCH)
				return refuse_tree(img, "has a thread whose id is in use here",
						   t->pid);
		if (t->sid != rt->sid)
			return refuse_tree(img, "is in another session than the root", t->pid);
		l = rst_proc_of_pid(img, t->pgid);
		if (t->pgid != rt->pgid && (!l || l == rst_root(img) || l->task->pgid != t->pgid))
			return refuse_tree(img, "is in a group the caller cannot stand for",
					   t->pid);
	}
	return 0;
}

int undump_check_image(const struct rst_image *img)
{
	const struct rst_proc *root;
	const char *what = NULL;

	if (img->nr_procs > 1) {
		int ret = check_tree(img);

		if (ret)
			return ret;
	}
	root = rst_root(img);
	if (root->nr_threads > 1) {
		int ret = check_threads(root);

		if (ret)
			return ret;
	}
	what = self_reference(img);
	if (what) {
		err_set(-ENOTTY,
			"vmad_undump: the image holds %s, which names the image's pid; "
			"vmad_undump keeps the caller's (vxrestore restores it)",
			what);
		return -ENOTTY;
	}
	if (img->ctxe)
		what = "a context (CONTEXT)";
	else if (img->netns)
		what = "a network namespace (NETNS)";
	else if (img->ipcns)
		what = "an IPC namespace (IPCNS)";
	else if (img->mounts)
		what = "a mount namespace (MOUNTS)";
	else if (img->recs.n_sysv)
		what = "SysV shared memory (SYSV_SHM)";
	if (what) {
		err_set(-ENOTTY,
			"vmad_undump: the image holds %s, which the calling process cannot "
			"enter in place (vxrestore restores it)",
			what);
		return -ENOTTY;
	}
	return 0;
}

/* The caller's credentials, as the restore's creds.c reads its own. */
struct self_creds {
	uid_t uid[3];
	gid_t gid[3];
	struct __user_cap_data_struct caps[2];
	int securebits;
	uint64_t bnd;
};

static uint64_t cap64(const struct __user_cap_data_struct *d, int which)
{
	uint32_t lo = which == 0 ? d[0].effective : which == 1 ? d[0].permitted : d[0].inheritable;
	uint32_t hi = which == 0 ? d[1].effective : which == 1 ? d[1].permitted : d[1].inheritable;

	return (uint64_t)hi << 32 | lo;
}

static int read_self(struct self_creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	int cap;

	getresuid(&c->uid[0], &c->uid[1], &c->uid[2]);
	getresgid(&c->gid[0], &c->gid[1], &c->gid[2]);
	c->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (syscall(SYS_capget, &h, c->caps))
		return -errno;
	c->bnd = 0;
	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			c->bnd |= 1ULL << cap;
	return 0;
}

static bool one_of(uint32_t id, const uint32_t ours[3])
{
	return id == ours[0] || id == ours[1] || id == ours[2];
}

/* Are the image's supplementary groups exactly the caller's? */
static bool same_groups(const CredsEntry *ce)
{
	gid_t g[256];
	int n = getgroups(256, g);
	size_t i, j;

	if (n < 0 || (size_t)n != ce->n_groups)
		return false;
	for (i = 0; i < ce->n_groups; i++) {
		for (j = 0; j < (size_t)n && g[j] != ce->groups[i]; j++)
			;
		if (j == (size_t)n)
			return false;
	}
	return true;
}

static int refuse(const char *what)
{
	err_set(-EPERM, "vmad_undump: the image's %s; vmad_undump never raises the caller's", what);
	return -EPERM;
}

/*
 * The image's credentials must be ones the caller could give itself
 * (setresuid/setresgid/setgroups/capset/PR_CAPBSET_DROP rules): ids among
 * its own unless it has CAP_SETUID/CAP_SETGID, capabilities within its
 * permitted set, a bounding set within its own, securebits unchanged
 * without CAP_SETPCAP.  Else -EPERM, before anything is changed.
 */
static int check_creds(const CredsEntry *ce);

int undump_check_creds(const struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->nr_procs; i++)
		ret = check_creds(img->procs[i]->creds);
	return ret;
}

static int check_creds(const CredsEntry *ce)
{
	struct self_creds c;
	uint64_t eff, prm, inh;
	int ret;

	if (!ce)
		return 0;
	ret = read_self(&c);
	if (ret) {
		err_set(ret, "vmad_undump: cannot read the caller's capabilities: %s",
			strerror(-ret));
		return ret;
	}
	eff = cap64(c.caps, 0);
	prm = cap64(c.caps, 1);
	inh = cap64(c.caps, 2);
	if (!(eff >> CAP_SETUID & 1) && !(one_of(ce->uid, c.uid) && one_of(ce->euid, c.uid) &&
					  one_of(ce->suid, c.uid) && one_of(ce->fsuid, c.uid)))
		return refuse("user ids are not the caller's (and it lacks CAP_SETUID)");
	if (!(eff >> CAP_SETGID & 1) &&
	    !(one_of(ce->gid, c.gid) && one_of(ce->egid, c.gid) && one_of(ce->sgid, c.gid) &&
	      one_of(ce->fsgid, c.gid) && same_groups(ce)))
		return refuse("group ids are not the caller's (and it lacks CAP_SETGID)");
	if (ce->cap_prm & ~prm)
		return refuse("permitted capabilities exceed the caller's");
	if ((ce->cap_eff & ~ce->cap_prm) || (ce->cap_amb & ~(ce->cap_prm & ce->cap_inh)))
		return refuse("effective or ambient capabilities exceed its permitted ones");
	if (ce->cap_inh & ~(inh | prm))
		return refuse("inheritable capabilities exceed the caller's");
	if (ce->cap_bnd & ~c.bnd)
		return refuse("bounding set exceeds the caller's");
	if (ce->cap_bnd != c.bnd && !(eff >> CAP_SETPCAP & 1))
		return refuse("bounding set differs (dropping needs CAP_SETPCAP)");
	if ((int)ce->securebits != c.securebits && !(eff >> CAP_SETPCAP & 1))
		return refuse("securebits differ (changing them needs CAP_SETPCAP)");
	return 0;
}
