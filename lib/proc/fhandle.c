/*
 * File handles of fsnotify marks (inotify watches, fanotify marks): the
 * filesystem a handle belongs to is found among the mounts of our own
 * mount namespace (/proc/self/mountinfo), so only a filesystem the caller
 * (the dumper, or the restored tree's root) can see is ever used, and the
 * inode the handle resolves to must be the recorded one (device, inode):
 * a file deleted and recreated at the same path is another inode and is
 * never taken for the watched one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>

#include "proc/proc.h"

/* Undoes mountinfo's octal escapes (\040 for a space ...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = 0;
}

/*
 * A directory fd on mount point mp (no symlink followed) if it shows dev.
 * Not O_PATH: open_by_handle_at() refuses an O_PATH mount fd.  O_DIRECTORY
 * makes the open fail before anything but a directory is opened.
 */
static int open_mount_point(const char *mp, dev_t dev)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd;

	fd = syscall(SYS_openat2, AT_FDCWD, mp, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_dev != dev) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

int proc_fs_mount_fd(dev_t dev)
{
	char *text = NULL, *line, *save = NULL, mp[4096];
	unsigned maj, min;
	int fd = -ENOENT;

	if (proc_read_file(0, "mountinfo", &text, NULL))
		return -EIO;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) != 3)
			continue;
		if (makedev(maj, min) != dev)
			continue;
		unescape(mp);
		fd = open_mount_point(mp, dev);
		if (fd >= 0)
			break;
		fd = -ENOENT;
	}
	free(text);
	return fd;
}

int proc_mount_fd_by_id(uint32_t mnt_id, dev_t *dev)
{
	char *text = NULL, *line, *save = NULL, mp[4096];
	struct statx stx;
	unsigned id, maj, min;
	int fd = -ENOENT;

	if (proc_read_file(0, "mountinfo", &text, NULL))
		return -EIO;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%u %*d %u:%u %*s %4095s", &id, &maj, &min, mp) != 4 ||
		    id != mnt_id)
			continue;
		unescape(mp);
		fd = open_mount_point(mp, makedev(maj, min));
		if (fd >= 0 && (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) ||
				!(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != mnt_id)) {
			close(fd);
			fd = -ENOENT; /* over-mounted: the path shows another mount */
		}
		*dev = makedev(maj, min);
		break;
	}
	free(text);
	return fd < 0 ? -ENOENT : fd;
}

int proc_open_handle(dev_t dev, uint64_t ino, int type, const uint8_t *bytes, size_t len, int flags)
{
	struct file_handle *fh;
	struct stat st;
	int mfd, fd;

	if (!len || len > MAX_HANDLE_SZ)
		return -EINVAL;
	fh = malloc(sizeof(*fh) + len);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = len;
	fh->handle_type = type;
	memcpy(fh->f_handle, bytes, len);
	mfd = proc_fs_mount_fd(dev);
	if (mfd < 0) {
		free(fh);
		return -ENODEV;
	}
	fd = open_by_handle_at(mfd, fh, flags | O_CLOEXEC);
	if (fd < 0)
		fd = errno == ENOENT ? -ESTALE : -errno;
	close(mfd);
	free(fh);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || st.st_dev != dev || st.st_ino != ino) {
		close(fd);
		return -EXDEV;
	}
	return fd;
}
