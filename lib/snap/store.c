/*
 * The snapshot store: a directory of snapshots, each a directory NAME
 * holding "image" (the vxcr image, uncompressed) and "snap" (a two-line
 * description: "vxcr-snap 1" and "channel R W").  A new snapshot is
 * written into a temporary directory ".NAME.XXXXXX" and renamed into place
 * (exchanged with an older one, which is then removed), so a reader sees
 * the old snapshot or the new one, never half of one.
 */
#define LOG_PREFIX "snap: "
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "snap/snap.h"

static void remove_snap_dir(int dirfd, const char *name);

int vxcr_snap_name_check(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n > VXCR_SNAP_NAME_MAX) {
		err_set(-EINVAL, "snapshot name '%.40s': empty or over %d bytes", name,
			VXCR_SNAP_NAME_MAX);
		return -EINVAL;
	}
	if (name[0] == '.') {
		err_set(-EINVAL, "snapshot name '%s': starts with '.'", name);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '+')
			continue;
		err_set(-EINVAL, "snapshot name '%s': only letters, digits and . _ - + allowed",
			name);
		return -EINVAL;
	}
	return 0;
}

int vxcr_snap_store(const char *dir, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;

	if (!dir || !*dir)
		dir = getenv("VXCR_SNAP_DIR");
	if (dir && *dir)
		n = snprintf(buf, len, "%s", dir);
	else if (!geteuid())
		n = snprintf(buf, len, "/var/lib/vxcr/snap");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/vxcr/snap", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, len, "%s/.local/share/vxcr/snap", home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= len) {
		err_set(-ENAMETOOLONG, "no snapshot store: path too long or no $HOME");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* mkdir -p path, new directories 0700.  0 or -errno (logged). */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST) {
			pr_perror("snapshot store %s: cannot create %s", path, buf);
			return -errno;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/*
 * Removes what a killed take of name left: its temporary directories
 * ".NAME.PID.N" whose PID is gone.
 */
static void remove_stale(int dirfd, const char *name)
{
	size_t n = strlen(name);
	struct dirent *d;
	int fd = dup(dirfd), pid;
	char dot;
	DIR *dir;

	dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] != '.' || strncmp(d->d_name + 1, name, n) ||
		    sscanf(d->d_name + 1 + n, ".%d%c", &pid, &dot) != 2 || dot != '.' || pid <= 0)
			continue;
		if (pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH) {
			pr_info("removing %s, left by a take that was killed\n", d->d_name);
			remove_snap_dir(dirfd, d->d_name);
		}
	}
	closedir(dir);
}

int snap_new_begin(struct snap_new *sn, const char *store, const char *name)
{
	int ret, i;

	sn->dirfd = sn->tmpfd = -1;
	sn->tmp[0] = '\0';
	ret = vxcr_snap_name_check(name) ?: make_dirs(store);
	if (ret)
		return ret;
	snprintf(sn->name, sizeof(sn->name), "%s", name);
	sn->dirfd = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sn->dirfd < 0) {
		pr_perror("snapshot store %s", store);
		return -errno;
	}
	remove_stale(sn->dirfd, name);
	for (i = 0; i < 100; i++) {
		snprintf(sn->tmp, sizeof(sn->tmp), ".%s.%d.%d", name, getpid(), i);
		if (!mkdirat(sn->dirfd, sn->tmp, 0700))
			break;
		if (errno != EEXIST) {
			pr_perror("snapshot store %s: cannot create %s", store, sn->tmp);
			return -errno;
		}
	}
	sn->tmpfd = openat(sn->dirfd, sn->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sn->tmpfd < 0) {
		pr_perror("snapshot store %s: %s", store, sn->tmp);
		return -errno;
	}
	return 0;
}

/* Writes the description file into the temporary directory.  0/-errno. */
static int write_meta(struct snap_new *sn, const int chan[2], int serve)
{
	char buf[64];
	int fd, n, ret = 0;

	n = snprintf(buf, sizeof(buf), "vxcr-snap %d\nchannel %d %d\nserve %d\n", SNAP_VERSION,
		     chan[0], chan[1], !!serve);
	fd = openat(sn->tmpfd, SNAP_META, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0 || write(fd, buf, n) != n || fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("snapshot %s: cannot write its description: %s\n", sn->name, strerror(-ret));
	return ret;
}

/* Removes the files of directory fd's snapshot and the directory name. */
static void remove_snap_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		unlinkat(fd, SNAP_IMAGE, 0);
		unlinkat(fd, SNAP_META, 0);
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

int snap_new_commit(struct snap_new *sn, const int chan[2], int serve)
{
	int ret = write_meta(sn, chan, serve);

	if (ret)
		return ret;
	if (fsync(sn->tmpfd))
		return -errno;
	if (!renameat(sn->dirfd, sn->tmp, sn->dirfd, sn->name)) {
		sn->tmp[0] = '\0';
	} else if (errno == EEXIST || errno == ENOTEMPTY) {
		if (renameat2(sn->dirfd, sn->tmp, sn->dirfd, sn->name, RENAME_EXCHANGE)) {
			pr_perror("snapshot %s: cannot replace the older one", sn->name);
			return -errno;
		}
		/* the older snapshot is under the temporary name now */
	} else {
		pr_perror("snapshot %s: cannot put it in place", sn->name);
		return -errno;
	}
	fsync(sn->dirfd);
	return 0;
}

void snap_new_abort(struct snap_new *sn)
{
	if (sn->tmpfd >= 0)
		close(sn->tmpfd);
	if (sn->dirfd >= 0 && sn->tmp[0])
		remove_snap_dir(sn->dirfd, sn->tmp);
	if (sn->dirfd >= 0)
		close(sn->dirfd);
	sn->tmpfd = sn->dirfd = -1;
}

/* Parses the description of dir/name (fd) into chan.  0 or -EBADMSG. */
static int read_meta(int fd, const char *name, struct vxcr_snap_image *si)
{
	char buf[128], tail;
	int ver, r, w, serve;
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (sscanf(buf, "vxcr-snap %d\nchannel %d %d\nserve %d%c", &ver, &r, &w, &serve, &tail) !=
		    5 ||
	    tail != '\n' || ver < 1 || (serve != 0 && serve != 1)) {
		pr_err("snapshot %s: its description is not one of vxcr snap\n", name);
		return -EBADMSG;
	}
	if (ver > SNAP_VERSION) {
		pr_err("snapshot %s: version %d, newer than ours (%d)\n", name, ver, SNAP_VERSION);
		return -EBADMSG;
	}
	if (r < 3 || w < 3 || r == w || r > 1 << 20 || w > 1 << 20) {
		pr_err("snapshot %s: channel fds %d %d out of range\n", name, r, w);
		return -EBADMSG;
	}
	si->chan[0] = r;
	si->chan[1] = w;
	si->serve = serve;
	return 0;
}

static int image_open(const char *store, const char *name, struct vxcr_snap_image *si)
{
	char path[PATH_MAX];
	int fd, ret;

	si->fd = -1;
	ret = vxcr_snap_name_check(name);
	if (ret)
		return ret;
	if (snprintf(path, sizeof(path), "%s/%s/%s", store, name, SNAP_META) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			pr_err("no snapshot %s in %s\n", name, store);
		else
			pr_perror("snapshot %s", path);
		return ret;
	}
	ret = read_meta(fd, name, si);
	close(fd);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s/%s", store, name, SNAP_IMAGE);
	fd = vxcr_open_trusted(path, O_RDONLY, "snapshot image", "a store only root can write");
	if (fd < 0)
		return fd;
	/* above the channel's fds, which vxcr_snap_copy() borrows */
	si->fd = fcntl(fd, F_DUPFD_CLOEXEC,
		       (si->chan[0] > si->chan[1] ? si->chan[0] : si->chan[1]) + 1);
	ret = si->fd < 0 ? -errno : 0;
	close(fd);
	return ret;
}

int vxcr_snap_image_open(const char *store, const char *name, struct vxcr_snap_image *si)
{
	err_op_begin();
	return err_op_end(image_open(store, name, si));
}

void vxcr_snap_image_close(struct vxcr_snap_image *si)
{
	if (si->fd >= 0)
		close(si->fd);
	si->fd = -1;
}
