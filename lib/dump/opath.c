/*
 * O_PATH fds (fd kind "opath"): a handle on a path without an open file
 * behind it, on any type of object, a symlink itself included
 * (open(path, O_PATH | O_NOFOLLOW)).  Recorded by its path, type (mode),
 * dev and inode (rdev of a device); the common flags keep O_PATH,
 * O_NOFOLLOW and O_DIRECTORY as fdinfo shows them.  Restore reopens the
 * very object, never following a symlink (lib/restore/opath.c).
 *
 * Kernel facts (6.18): f_flags of an O_PATH open keep only O_PATH,
 * O_NOFOLLOW and O_DIRECTORY (fdinfo "flags: 010400000" for a symlink
 * opened O_PATH|O_NOFOLLOW); its pos is 0 and cannot change (lseek on
 * O_PATH is EBADF); no lock can be taken through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#define LOG_PREFIX "dump/opath: "
#include "log.h"
#include "dump/dump.h"

static bool is_opath(const struct fd_probe *p)
{
	return p->fi.flags & O_PATH;
}

/* By path; an O_PATH fd on a removed object is refused. */
static int dump_opath(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	df->e.kind = FILE_KIND__FILE_OPATH;
	if (proc_strip_deleted(p->link) || p->st.st_nlink == 0 || p->link[0] != '/') {
		pr_err("pid %d fd %d: O_PATH fd on %s, which has no name now: not supported\n",
		       p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_opath = { "opath", is_opath, dump_opath, NULL };
