/*
 * Checks for the fsnotify kinds (inotify, fanotify): may every live
 * process holding description file_id, with its credentials of the image,
 * read each of fds[0..n) and has it the capabilities need_caps (bit n =
 * CAP n) in its effective set?  The kernel answers (faccessat2 AT_EACCESS
 * in a child that takes those credentials: ACLs and LSMs included), the
 * check inotify_add_watch() and fanotify_mark() make.  0; -EACCES with
 * the first fd refused in *bad (n: a capability is missing) and its
 * holder in *who (the caller logs); other -errno logged here.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "restore/restore.h"

/* Child: become ce (ids, groups, capabilities).  0 or -errno. */
static int become(const CredsEntry *ce)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)ce->cap_eff, (uint32_t)ce->cap_prm, (uint32_t)ce->cap_inh },
		{ (uint32_t)(ce->cap_eff >> 32), (uint32_t)(ce->cap_prm >> 32),
		  (uint32_t)(ce->cap_inh >> 32) },
	};

	if (syscall(SYS_setgroups, ce->n_groups, ce->groups) ||
	    syscall(SYS_setresgid, ce->gid, ce->egid, ce->sgid) ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    syscall(SYS_setresuid, ce->uid, ce->euid, ce->suid))
		return -errno;
	syscall(SYS_setfsgid, ce->fsgid);
	syscall(SYS_setfsuid, ce->fsuid);
	if (syscall(SYS_setfsuid, -1) != (long)ce->fsuid ||
	    syscall(SYS_setfsgid, -1) != (long)ce->fsgid)
		return -EPERM;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/*
 * May ce read each of fds[0..n)?  The index of the first one it may not
 * read in *bad (n: all readable).  0 or -errno (logged).
 */
static int readable_as(const CredsEntry *ce, const int *fds, size_t n, size_t *bad)
{
	uint32_t first = n;
	int p[2], status;
	pid_t pid;
	size_t i;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (become(ce))
			first = UINT32_MAX;
		for (i = 0; first == n && i < n; i++)
			if (syscall(SYS_faccessat2, fds[i], "", R_OK, AT_EMPTY_PATH | AT_EACCESS))
				first = i;
		_exit(write(p[1], &first, sizeof(first)) == sizeof(first) ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &first, sizeof(first)) != sizeof(first))
		first = UINT32_MAX;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (first == UINT32_MAX) {
		pr_err("inotify: cannot take uid %u's credentials to check its watches\n", ce->uid);
		return -EPERM;
	}
	*bad = first;
	return 0;
}

int fsnotify_check_holders(const struct rst_image *img, uint32_t file_id, const int *fds, size_t n,
			   uint64_t need_caps, size_t *bad, const struct rst_proc **who)
{
	size_t i, k;
	int ret;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (!c->fdt || !c->creds || !c->task || c->task->state == TASK_STATE_DEAD)
			continue;
		for (k = 0; k < c->fdt->n_fds && c->fdt->fds[k]->file_id != file_id; k++)
			;
		if (k == c->fdt->n_fds)
			continue;
		*who = c;
		*bad = n;
		if ((c->creds->cap_eff & need_caps) != need_caps)
			return -EACCES;
		ret = readable_as(c->creds, fds, n, bad);
		if (ret)
			return ret;
		if (*bad < n)
			return -EACCES;
	}
	return 0;
}
