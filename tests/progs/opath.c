/*
 * O_PATH fds (fd kind "opath"): on a symlink itself (O_PATH|O_NOFOLLOW)
 * whose target does not exist (a restore that followed it would fail),
 * on a symlink to a regular file (must stay the symlink, not become the
 * file), on a regular file, and on a directory (O_DIRECTORY), each with
 * its flags.  Work directory: OUTFILE's directory (the harness's mktemp).
 * After "go": every fd is on the same inode as before, with the same
 * flags, and readlinkat(fd, "") gives each symlink's target.  Mode
 * "removed" (argv[2]): the file is unlinked while its O_PATH fd stays
 * (refused at dump).
 */
#include <libgen.h>
#include <limits.h>

#include "prog.h"

#define NFDS 4

struct opath_fd {
	const char *name;
	int flags;
	int fd;
	struct stat st;
};

static int fl(int fd)
{
	return fcntl(fd, F_GETFL) & ~O_CLOEXEC;
}

int main(int argc, char **argv)
{
	static char out[PATH_MAX], dir[PATH_MAX + 16], path[NFDS][PATH_MAX + 32],
		target[PATH_MAX + 32];
	struct opath_fd f[NFDS] = {
		{ "dangling", O_PATH | O_NOFOLLOW, -1, { 0 } },
		{ "link", O_PATH | O_NOFOLLOW, -1, { 0 } },
		{ "file", O_PATH, -1, { 0 } },
		{ "dir", O_PATH | O_DIRECTORY, -1, { 0 } },
	};
	int flags[NFDS], i, fd;
	char buf[PATH_MAX + 64];
	ssize_t n;

	prog_init(argc, argv, "opath");
	snprintf(out, sizeof(out), "%s", argv[1]);
	snprintf(dir, sizeof(dir), "%s/opath.d", dirname(out));
	if (mkdir(dir, 0700) && errno != EEXIST)
		prog_fail("mkdir %s: %s", dir, strerror(errno));
	for (i = 0; i < NFDS; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, f[i].name);
	snprintf(target, sizeof(target), "%s/file", dir);
	fd = open(target, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "data", 4) != 4)
		prog_fail("create %s: %s", target, strerror(errno));
	close(fd);
	if (symlink("/nonexistent/opath-target", path[0]) || symlink(target, path[1]) ||
	    mkdir(path[3], 0700))
		prog_fail("symlink/mkdir in %s: %s", dir, strerror(errno));
	for (i = 0; i < NFDS; i++) {
		f[i].fd = open(path[i], f[i].flags);
		if (f[i].fd < 0 || fstat(f[i].fd, &f[i].st))
			prog_fail("open %s: %s", path[i], strerror(errno));
		flags[i] = fl(f[i].fd);
	}
	if (argc > 2 && !strcmp(argv[2], "removed") && unlink(path[2]))
		prog_fail("unlink %s: %s", path[2], strerror(errno));
	prog_ready();
	prog_wait_go();
	for (i = 0; i < NFDS; i++) {
		struct stat st;

		CHECK(!fstat(f[i].fd, &st), "fstat %s: %s", f[i].name, strerror(errno));
		CHECK(st.st_ino == f[i].st.st_ino && st.st_dev == f[i].st.st_dev &&
			      st.st_mode == f[i].st.st_mode,
		      "%s: fd %d is on inode %lu mode %o, was %lu mode %o", f[i].name, f[i].fd,
		      (unsigned long)st.st_ino, st.st_mode, (unsigned long)f[i].st.st_ino,
		      f[i].st.st_mode);
		CHECK(fl(f[i].fd) == flags[i], "%s: flags %#o, were %#o", f[i].name, fl(f[i].fd),
		      flags[i]);
	}
	n = readlinkat(f[0].fd, "", buf, sizeof(buf) - 1);
	CHECK(n > 0 && !strncmp(buf, "/nonexistent/opath-target", n),
	      "dangling symlink fd does not read its target");
	n = readlinkat(f[1].fd, "", buf, sizeof(buf) - 1);
	CHECK(n > 0 && (size_t)n == strlen(target) && !strncmp(buf, target, n),
	      "symlink fd does not read its target");
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", f[2].fd);
	fd = open(buf, O_RDONLY);
	CHECK(argc > 2 || (fd >= 0 && read(fd, buf, 4) == 4 && !memcmp(buf, "data", 4)),
	      "cannot read the file through its O_PATH fd");
	fd = openat(f[3].fd, "sub", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0, "openat on the directory O_PATH fd: %s", strerror(errno));
	snprintf(buf, sizeof(buf), "%s/sub", path[3]);
	unlink(buf);
	for (i = NFDS - 1; i >= 0; i--)
		i == 3 ? rmdir(path[i]) : unlink(path[i]);
	rmdir(dir);
	prog_finish();
}
