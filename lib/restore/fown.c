/*
 * Owners of file descriptions (file_entry owner_type, owner_pid, signum
 * and O_ASYNC in flags; lib/dump/fown.c).  Set in finish, once every task
 * exists (an owner may be any task or group of the tree) and before
 * credentials, by injected calls in the first process holding the
 * description, through its lowest fd there: F_SETSIG, F_SETOWN_EX, then
 * F_SETFL with O_ASYNC last (nothing is signalled before the owner is
 * right).  F_SETFL O_ASYNC registers the description for SIGIO under the
 * number of the fd it was set through, which signals carry as si_fd, so
 * it is set in the holder, never through one of our own fds; the
 * description was opened without O_ASYNC (an open with it sets the flag
 * but registers nothing, and a later F_SETFL would then change nothing).
 */
#define LOG_PREFIX "restore/fown: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "log.h"
#include "restore/restore.h"

#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

struct rst_proc *rst_file_holder(const struct rst_image *img, uint32_t file_id, uint32_t *fd)
{
	size_t i, k;

	for (i = 0; i < img->nr_procs; i++) {
		struct rst_proc *c = img->procs[i];
		const FdtableEntry *t = c->fdt;
		bool found = false;

		if (!t || !c->task || c->task->state == TASK_STATE_DEAD ||
		    (c->parent && c->parent->fdt == t))
			continue;
		for (k = 0; k < t->n_fds; k++) {
			if (t->fds[k]->file_id != file_id || (found && t->fds[k]->fd > *fd))
				continue;
			*fd = t->fds[k]->fd;
			found = true;
		}
		if (found)
			return c;
	}
	return NULL;
}

/*
 * Is pid a task (tid), process, or group (pgrp: led by a process of the
 * image) of the image, as type says?  Nothing outside the tree is ever
 * made an owner, so no host process gets a signal from a crafted image.
 */
static bool owner_in_image(const struct rst_image *img, uint32_t type, uint32_t pid)
{
	size_t i, j;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (!c->task)
			continue;
		if (c->task->pid == pid && (type != F_OWNER_PGRP || c->task->pgid == pid))
			return true;
		for (j = 1; type != F_OWNER_PGRP && j < c->nr_threads; j++)
			if ((uint32_t)c->threads[j].vtid == pid)
				return true;
	}
	return false;
}

/* The image alone: owners of the tree, signals in range, a holder. */
static int check_owner(const struct rst_image *img, const FileEntry *fe)
{
	uint32_t fd;

	if (!fe->has_owner_pid && !fe->has_signum && !(fe->flags & O_ASYNC))
		return 0;
	if (fe->has_owner_pid && (fe->owner_type > F_OWNER_PGRP || !fe->owner_pid ||
				  !owner_in_image(img, fe->owner_type, fe->owner_pid))) {
		pr_err("image: file id %u: owner %u (type %u) is not a task or group of the "
		       "image\n",
		       fe->id, fe->owner_pid, fe->owner_type);
		return -EBADMSG;
	}
	if (fe->signum >= _NSIG || (fe->flags & O_PATH)) {
		pr_err("image: file id %u: bad F_SETSIG signal %u or an O_PATH owner\n", fe->id,
		       fe->signum);
		return -EBADMSG;
	}
	if (!rst_file_holder(img, fe->id, &fd)) {
		pr_err("image: file id %u has an owner but no process holds it\n", fe->id);
		return -EBADMSG;
	}
	return 0;
}

int fown_check_plan(const struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->nr_files; i++)
		ret = check_owner(img, img->files[i].fe);
	return ret;
}

/* F_SETSIG, F_SETOWN_EX and O_ASYNC of f, through fd of c. */
static int set_owner(struct rst_proc *c, const FileEntry *fe, uint32_t fd)
{
	struct f_owner_ex ox = { (int)fe->owner_type, (pid_t)fe->owner_pid };
	uint64_t arg = c->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	const char *what = "F_SETSIG";
	long r = 0;

	if (fe->signum)
		r = rst_inject(c, NULL, SYS_fcntl, fd, F_SETSIG, fe->signum, 0, 0, 0);
	if (!r && fe->has_owner_pid) {
		what = "F_SETOWN_EX";
		r = inject_write(c->pid, arg, &ox, sizeof(ox));
		r = r ?: rst_inject(c, NULL, SYS_fcntl, fd, F_SETOWN_EX, arg, 0, 0, 0);
	}
	if (!r && (fe->flags & O_ASYNC)) {
		what = "F_SETFL O_ASYNC";
		r = rst_inject(c, NULL, SYS_fcntl, fd, F_SETFL, fe->flags & SETFL_MASK, 0, 0, 0);
	}
	if (r >= 0)
		return 0;
	pr_err("pid %d fd %u (%s): %s: %s\n", c->pid, fd, fe->path ? fe->path : "?", what,
	       strerror((int)-r));
	return (int)r;
}

int fown_restore(struct rst_proc *c)
{
	const struct rst_image *img = c->img;
	uint32_t fd = 0;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;

		if (!fe->has_owner_pid && !fe->signum && !(fe->flags & O_ASYNC))
			continue;
		if (rst_file_holder(img, fe->id, &fd) == c)
			ret = set_owner(c, fe, fd);
	}
	return ret;
}
