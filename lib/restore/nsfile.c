/*
 * Namespace files (file kind FILE_NS, lib/dump/nsfile.c), in the root's
 * C part: /proc/self/ns/TYPE of the restored root, the namespace the tree
 * runs in now (vxrestore's, a new pid namespace with --pidns, the
 * context's).  The type comes from a fixed list; the fd opened must be a
 * namespace (nsfs) of that type (NS_GET_NSTYPE), or nothing is kept.
 */
#define LOG_PREFIX "restore/nsfile: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "log.h"
#include "restore/restore.h"

/* the kernel's O_LARGEFILE, which fdinfo shows (glibc defines it as 0 here) */
#define KERNEL_O_LARGEFILE 0100000

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int type; /* CLONE_NEW* */
} ns_types[] = {
	{ "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID },
	{ "mnt", CLONE_NEWNS },
	{ "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },
	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME },
	{ "pid_for_children", CLONE_NEWPID },
	{ "time_for_children", CLONE_NEWTIME },
};

/* The CLONE_NEW* type of ns file name, or 0 if it is not one. */
static int ns_type(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (!strcmp(name, ns_types[i].name))
			return ns_types[i].type;
	return 0;
}

/* The image alone: a known type, read-only (or O_PATH) flags. */
static int check_nsfile(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	uint32_t ok = KERNEL_O_LARGEFILE | O_PATH | O_CLOEXEC;

	if (!ns_type(fe->ns_type) || (fe->flags & ~ok) || fe->pos || fe->deleted) {
		pr_err("image: namespace file id %u: bad type, flags %#o or offset\n", fe->id,
		       fe->flags);
		return -EBADMSG;
	}
	return 0;
}

/* The root's own namespace file of the recorded type. */
static int open_nsfile(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	char path[64];
	struct statfs sf;
	int fd, t;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", fe->ns_type);
	fd = open(path, (fe->flags & (O_PATH | KERNEL_O_LARGEFILE)) | O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("namespace file %s (file id %u)", path, fe->id);
		return -errno;
	}
	t = fstatfs(fd, &sf) || sf.f_type != NSFS_MAGIC ? -1 : ioctl(fd, NS_GET_NSTYPE);
	if (t != ns_type(fe->ns_type) && !(fe->flags & O_PATH && sf.f_type == NSFS_MAGIC)) {
		pr_err("%s is not a %s namespace here: not keeping it\n", path, fe->ns_type);
		close(fd);
		return -EPERM;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

const struct rst_fd_kind rst_fd_nsfile = {
	.kind = FILE_KIND__FILE_NS,
	.name = "namespace file",
	.check_image = check_nsfile,
	.open = open_nsfile,
};
