/*
 * Names of AF_UNIX sockets at restore (fd kind "unixsk", unixsk.c): an
 * abstract name bound in the network namespace; a path bound only where
 * NOTES "UNIX sockets (issue 12)" allows (an existing directory opened
 * without following symlinks, the name absent or the dump's own stale
 * socket, bound as the recorded owner with its mode); a removed path
 * bound under the same name in a private directory removed at once.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <linux/openat2.h>

#include "log.h"
#include "restore/restore.h"

/* f's address: its name's bytes as sun_path; *len gets its length. */
void unixsk_addr(const UnixskEntry *e, struct sockaddr_un *sa, socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e->name.data, e->name.len);
	*len = offsetof(struct sockaddr_un, sun_path) + e->name.len;
}

/* Is some socket of our network namespace bound to path (/proc/net/unix)? */
static bool path_in_use(const char *path)
{
	char line[512], *p;
	bool used = false;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return true;
	while (!used && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		p = strrchr(line, ' ');
		used = p && !strcmp(p + 1, path);
	}
	fclose(f);
	return used;
}

/*
 * What restore may do at a socket's path (NOTES "What restore may touch
 * on the host"): the directory must exist (resolved without symlinks);
 * the name must be absent, or be a dead socket file of the recorded
 * owner: a socket, with the recorded device and inode (the dump's own
 * file left behind) or the recorded uid and gid (one an earlier, failed
 * restore made), that no socket of our namespace is bound to.  It is
 * removed as that owner (the kernel checks the owner may), as a server
 * removes its stale socket before binding.  *dirfd gets the directory.
 * 0 or -errno (logged).
 */
static int path_prepare(const struct rst_file *f, const char *path, int *dirfd)
{
	const UnixskEntry *e = f->fe->unixsk;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const char *base = strrchr(path, '/') + 1;
	struct stat st;
	int ret;

	snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
	*dirfd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (*dirfd < 0) {
		pr_perror("unix socket (file id %u): its directory %s", f->fe->id, dir);
		return -errno;
	}
	if (fstatat(*dirfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		pr_perror("unix socket (file id %u): %s", f->fe->id, path);
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    ((st.st_dev != e->name_dev || st.st_ino != e->name_ino) &&
	     (st.st_uid != e->name_uid || st.st_gid != e->name_gid)) ||
	    path_in_use(path)) {
		pr_err("unix socket (file id %u): %s exists and is not a dead socket file of its "
		       "owner: not binding there\n",
		       f->fe->id, path);
		return -EEXIST;
	}
	setfsgid(e->name_gid);
	setfsuid(e->name_uid);
	ret = unlinkat(*dirfd, base, 0) ? -errno : 0;
	setfsuid(geteuid());
	setfsgid(getegid());
	if (ret) {
		errno = -ret;
		pr_perror("unix socket (file id %u): cannot remove its old %s as uid %u", f->fe->id,
			  path, e->name_uid);
	}
	return ret;
}

/*
 * Binds fd to f's path as the file's recorded owner (fsuid/fsgid: the
 * owner's own right to create there is checked by the kernel) and mode
 * (through the umask), then checks what was made.  0 or -errno.
 */
static int bind_path(int fd, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct sockaddr_un sa;
	socklen_t len;
	struct stat st;
	mode_t um;
	int dirfd = -1, ret;

	snprintf(path, sizeof(path), "%.*s", (int)e->name.len, (const char *)e->name.data);
	ret = path_prepare(f, path, &dirfd);
	if (ret)
		goto out;
	unixsk_addr(e, &sa, &len);
	setfsgid(e->name_gid);
	setfsuid(e->name_uid);
	um = umask(~e->name_mode & 0777);
	ret = bind(fd, (struct sockaddr *)&sa, len) ? -errno : 0;
	umask(um);
	setfsuid(geteuid());
	setfsgid(getegid());
	if (ret) {
		errno = -ret;
		pr_perror("unix socket (file id %u): cannot bind %s as uid %u gid %u", f->fe->id,
			  path, e->name_uid, e->name_gid);
		goto out;
	}
	if (fstatat(dirfd, strrchr(path, '/') + 1, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISSOCK(st.st_mode) || st.st_uid != e->name_uid || st.st_gid != e->name_gid ||
	    (st.st_mode & 07777) != e->name_mode) {
		pr_err("unix socket (file id %u): %s is not the socket file just bound\n",
		       f->fe->id, path);
		ret = -EIO;
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}

/* mkdir of every directory above path (inside our chroot).  0/-errno. */
static int make_parents(const char *path)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* rmdir of every directory above path, deepest first (inside our chroot). */
static void remove_parents(const char *path)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char *s;

	snprintf(p, sizeof(p), "%s", path);
	while ((s = strrchr(p, '/')) && s != p) {
		*s = 0;
		rmdir(p);
	}
}

/*
 * A socket whose path was removed: bound under the recorded string (what
 * getsockname says) inside a private directory we make and chroot() into
 * for the bind, the name and the directories removed at once, our root
 * and cwd taken back through fds kept open.  Nothing is made where the
 * image says.  0 or -errno (logged).
 */
static int bind_removed(int fd, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	char dir[] = "/tmp/.vxcr-unixsk-XXXXXX";
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct sockaddr_un sa;
	socklen_t len;
	int root, cwd, ret;

	snprintf(path, sizeof(path), "%.*s", (int)e->name.len, (const char *)e->name.data);
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || cwd < 0 || !mkdtemp(dir)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): a private directory", f->fe->id);
		goto out;
	}
	unixsk_addr(e, &sa, &len);
	ret = chroot(dir) || chdir("/") ? -errno : 0;
	ret = ret ?: make_parents(path);
	if (!ret && bind(fd, (struct sockaddr *)&sa, len))
		ret = -errno;
	unlink(path);
	remove_parents(path);
	if (fchdir(root) || chroot(".") || fchdir(cwd)) {
		pr_perror("cannot take our root and cwd back");
		ret = -EPERM;
	}
	rmdir(dir);
	if (ret) {
		errno = -ret;
		pr_perror("unix socket (file id %u): cannot bind the removed path %s privately",
			  f->fe->id, path);
	}
out:
	if (root >= 0)
		close(root);
	if (cwd >= 0)
		close(cwd);
	return ret;
}

/* Binds fd to the recorded name, if any.  0 or -errno (logged). */
int unixsk_bind_name(int fd, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	struct sockaddr_un sa;
	socklen_t len;

	if (!e->has_name)
		return 0;
	if (e->name_removed)
		return bind_removed(fd, f);
	if (e->name.data[0])
		return bind_path(fd, f);
	unixsk_addr(e, &sa, &len);
	if (bind(fd, (struct sockaddr *)&sa, len)) {
		pr_perror("unix socket (file id %u): cannot bind its abstract name @%.*s",
			  f->fe->id, (int)e->name.len - 1, (const char *)e->name.data + 1);
		return -errno;
	}
	return 0;
}
