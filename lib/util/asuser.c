/*
 * May a task with credentials c read an inode?  The kernel answers:
 * faccessat2(AT_EACCESS) on an fd of it in a child that takes those
 * credentials (ids, groups, capabilities), the permission check
 * inotify_add_watch() and fanotify_mark() make, ACLs and LSMs included.
 * Used by the fsnotify kinds on both sides (dump: the holder's own
 * credentials; restore: the image's).
 */
#define LOG_PREFIX "util: "
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "util/asuser.h"

/* Child: become c (ids, groups, capabilities).  0 or -errno. */
static int become(const struct util_creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->cap_eff, (uint32_t)c->cap_prm, (uint32_t)c->cap_inh },
		{ (uint32_t)(c->cap_eff >> 32), (uint32_t)(c->cap_prm >> 32),
		  (uint32_t)(c->cap_inh >> 32) },
	};

	if (syscall(SYS_setgroups, c->n_groups, c->groups) ||
	    syscall(SYS_setresgid, c->gid[0], c->gid[1], c->gid[2]) ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    syscall(SYS_setresuid, c->uid[0], c->uid[1], c->uid[2]))
		return -errno;
	syscall(SYS_setfsgid, c->gid[3]);
	syscall(SYS_setfsuid, c->uid[3]);
	if (syscall(SYS_setfsuid, -1) != (long)c->uid[3] ||
	    syscall(SYS_setfsgid, -1) != (long)c->gid[3])
		return -EPERM;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

int util_readable_as(const struct util_creds *c, const int *fds, size_t n, size_t *bad)
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
		if (become(c))
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
		pr_err("cannot take uid %u's credentials to check what it may read\n", c->uid[0]);
		return -EPERM;
	}
	*bad = first;
	return 0;
}

bool util_have_cap(unsigned cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (cap >= 64 || syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}
