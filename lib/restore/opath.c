/*
 * O_PATH fds (file kind FILE_OPATH, lib/dump/opath.c), in the root's C
 * part: the recorded object reopened as an O_PATH fd with the recorded
 * O_NOFOLLOW and O_DIRECTORY, never following a symlink
 * (rst_open_recorded's checks: type, device, inode).
 */
#define LOG_PREFIX "restore/opath: "
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "restore/restore.h"

#define OPATH_FLAGS (O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)

/* The image alone: only what an O_PATH open keeps, a path, a type. */
static int check_opath(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;

	if (!(fe->flags & O_PATH) || (fe->flags & ~(uint32_t)OPATH_FLAGS) || !fe->has_mode ||
	    !fe->path || fe->path[0] != '/' || fe->deleted || fe->pos) {
		pr_err("image: O_PATH file id %u: bad flags %#o, mode, path or offset\n", fe->id,
		       fe->flags);
		return -EBADMSG;
	}
	if ((fe->flags & O_DIRECTORY) && !S_ISDIR(fe->mode)) {
		pr_err("image: O_PATH file id %u: O_DIRECTORY on a non-directory\n", fe->id);
		return -EBADMSG;
	}
	return 0;
}

/* The object must be there, unchanged (nothing is opened but a handle). */
static int check_opath_host(const struct rst_image *img, const struct rst_file *f)
{
	int fd = rst_open_opath(f->fe);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int open_opath(const struct rst_image *img, struct rst_file *f)
{
	int fd = rst_open_opath(f->fe);

	if (fd < 0)
		return fd;
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

const struct rst_fd_kind rst_fd_opath = {
	.kind = FILE_KIND__FILE_OPATH,
	.name = "O_PATH fd",
	.check_image = check_opath,
	.check_host = check_opath_host,
	.open = open_opath,
};
