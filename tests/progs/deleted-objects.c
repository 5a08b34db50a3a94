/*
 * deleted-objects: objects of its temp dir removed while in use, checked
 * after restore (issue 11):
 * - an fd on a removed directory (owner 3:4, mode 0751, mtime set): still
 *   a directory with no links and no entries, nothing can be created in
 *   it, its owner, mode and mtime;
 * - a removed cwd, also open as an fd: "." and the fd are one inode, with
 *   the mode it had (0750), getcwd() fails with ENOENT;
 * - a thread with fs info of its own (unshare(CLONE_FS)) whose cwd is
 *   another removed directory (mode 0705): checked by that thread;
 * - a child process whose cwd is a third removed directory (mode 0701):
 *   checked by the child when the parent writes to its pipe, reported
 *   by its exit status;
 * - a removed FIFO open for reading and for writing, 10 bytes buffered:
 *   one FIFO (a write through one end is read from the other), the 10
 *   bytes exactly once, owner 5:6 and mode 0640;
 * - a FIFO still named, open twice, 7 bytes buffered: exactly once;
 * - a removed node of /dev/null's device (owner 7:8, mode 0620) open
 *   write-only: a device node of that rdev, no links, its owner and mode,
 *   writable;
 * - block device nodes of /dev/loop0's device (root cannot open the disk
 *   here: EPERM), open read-only: one removed (owner 7:8, mode 0620), one
 *   still named: type, rdev, links, access mode, owner, mode.
 * Argument "tun": holds only a removed node of /dev/net/tun's device (the
 * test dumps it where /dev has no such node: refused).
 */
#include <dirent.h>
#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "prog.h"

static char dir[4096];
static int rdir_fd, cwd_fd, ff_r, ff_w, nf_r, nf_w, dev_fd, blk_fd[2];
static dev_t blk_rdev;
static const struct timespec dir_times[2] = { { 1100000000, 5 }, { 1150000000, 777 } };

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void make_dir(const char *name, mode_t mode)
{
	char p[4200];

	path_of(p, sizeof(p), name);
	if (mkdir(p, 0700) || chmod(p, mode))
		prog_fail("mkdir %s: %s", p, strerror(errno));
}

static void remove_dir(const char *name)
{
	char p[4200];

	path_of(p, sizeof(p), name);
	if (rmdir(p))
		prog_fail("rmdir %s: %s", p, strerror(errno));
}

static int open_dir(const char *name)
{
	char p[4200];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		prog_fail("open %s: %s", p, strerror(errno));
	return fd;
}

static int entries(int fd)
{
	char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

	return (int)n;
}

static void check_removed_dir(void)
{
	struct stat st;

	if (fstat(rdir_fd, &st))
		prog_fail("fstat removed dir: %s", strerror(errno));
	CHECK(S_ISDIR(st.st_mode) && st.st_nlink == 0, "removed dir: mode %o nlink %lu", st.st_mode,
	      (unsigned long)st.st_nlink);
	CHECK((st.st_mode & 07777) == 0751 && st.st_uid == 3 && st.st_gid == 4,
	      "removed dir: mode %o owner %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
	CHECK(st.st_mtim.tv_sec == dir_times[1].tv_sec &&
		      st.st_mtim.tv_nsec == dir_times[1].tv_nsec,
	      "removed dir: mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	CHECK(openat(rdir_fd, "new", O_CREAT | O_WRONLY, 0600) < 0 && errno == ENOENT,
	      "removed dir: a file could be created in it");
	CHECK(entries(rdir_fd) < 0 && errno == ENOENT,
	      "removed dir: getdents does not fail with ENOENT");
}

static void check_cwd(void)
{
	struct stat a, b;
	char buf[4200];

	CHECK(!stat(".", &a) && !fstat(cwd_fd, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
	      "cwd: \".\" and the fd on it are different directories");
	CHECK(S_ISDIR(a.st_mode) && a.st_nlink == 0 && (a.st_mode & 07777) == 0750,
	      "cwd: mode %o nlink %lu", a.st_mode, (unsigned long)a.st_nlink);
	CHECK(!getcwd(buf, sizeof(buf)) && errno == ENOENT, "cwd: getcwd() works: %s", buf);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int th_state; /* 1 set up, 2 check asked, 3 checked */

static void *fs_thread(void *arg)
{
	struct stat st;

	if (unshare(CLONE_FS)) {
		prog_fail("unshare(CLONE_FS): %s", strerror(errno));
	}
	make_dir("thread-cwd", 0705);
	{
		char p[4200];

		path_of(p, sizeof(p), "thread-cwd");
		if (chdir(p))
			prog_fail("thread chdir: %s", strerror(errno));
	}
	remove_dir("thread-cwd");
	pthread_mutex_lock(&mu);
	th_state = 1;
	pthread_cond_broadcast(&cv);
	while (th_state != 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	CHECK(!stat(".", &st) && S_ISDIR(st.st_mode) && st.st_nlink == 0 &&
		      (st.st_mode & 07777) == 0705,
	      "thread cwd: mode %o nlink %lu", st.st_mode, (unsigned long)st.st_nlink);
	pthread_mutex_lock(&mu);
	th_state = 3;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static pid_t child;
static int child_go = -1;

/* A child in its own removed cwd, waiting for a byte on a pipe. */
static void setup_child(void)
{
	char p[4200], c;
	struct stat st;
	int pfd[2];

	make_dir("child-cwd", 0701);
	path_of(p, sizeof(p), "child-cwd");
	if (pipe(pfd))
		prog_fail("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child == 0) {
		close(pfd[1]);
		if (chdir(p) || rmdir(p))
			_exit(2);
		if (read(pfd[0], &c, 1) != 1)
			_exit(3);
		_exit(!stat(".", &st) && S_ISDIR(st.st_mode) && st.st_nlink == 0 &&
				      (st.st_mode & 07777) == 0701 ?
			      0 :
			      1);
	}
	close(pfd[0]);
	child_go = pfd[1];
	for (int i = 0; i < 200 && !access(p, F_OK); i++)
		usleep(10000);
	if (!access(p, F_OK))
		prog_fail("the child did not remove its cwd");
}

static void check_child(void)
{
	int st = -1;

	CHECK(write(child_go, "g", 1) == 1 && waitpid(child, &st, 0) == child && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
	      "child: its removed cwd came back wrong (status %#x)", st);
}

static void setup_fifos(void)
{
	char p[4200];

	path_of(p, sizeof(p), "ff");
	if (mkfifo(p, 0600))
		prog_fail("mkfifo: %s", strerror(errno));
	ff_r = open(p, O_RDONLY | O_NONBLOCK);
	ff_w = open(p, O_WRONLY);
	if (ff_r < 0 || ff_w < 0 || write(ff_w, "hello fifo", 10) != 10)
		prog_fail("fifo: %s", strerror(errno));
	if (chown(p, 5, 6) || chmod(p, 0640) || unlink(p))
		prog_fail("fifo attrs: %s", strerror(errno));
	path_of(p, sizeof(p), "nf");
	if (mkfifo(p, 0600))
		prog_fail("mkfifo: %s", strerror(errno));
	nf_r = open(p, O_RDONLY | O_NONBLOCK);
	nf_w = open(p, O_WRONLY);
	if (nf_r < 0 || nf_w < 0 || write(nf_w, "7 bytes", 7) != 7)
		prog_fail("named fifo: %s", strerror(errno));
}

static void check_fifos(void)
{
	struct stat a, b;
	char buf[64];
	ssize_t n;

	CHECK(!fstat(ff_r, &a) && !fstat(ff_w, &b) && a.st_ino == b.st_ino, "fifo: two inodes");
	CHECK(S_ISFIFO(a.st_mode) && a.st_nlink == 0 && (a.st_mode & 07777) == 0640 &&
		      a.st_uid == 5 && a.st_gid == 6,
	      "fifo: mode %o nlink %lu owner %u:%u", a.st_mode, (unsigned long)a.st_nlink, a.st_uid,
	      a.st_gid);
	n = read(ff_r, buf, sizeof(buf));
	CHECK(n == 10 && !memcmp(buf, "hello fifo", 10), "fifo: read %zd bytes: %.*s", n,
	      n > 0 ? (int)n : 0, buf);
	CHECK(write(ff_w, "again", 5) == 5 && read(ff_r, buf, sizeof(buf)) == 5 &&
		      !memcmp(buf, "again", 5),
	      "fifo: a write through one end does not reach the other");
	n = read(nf_r, buf, sizeof(buf));
	CHECK(n == 7 && !memcmp(buf, "7 bytes", 7), "named fifo: read %zd bytes", n);
}

/*
 * A node name of device type/rdev, open with flags, owner 7:8, mode 0620,
 * removed if remove.
 */
static int node(const char *name, mode_t type, dev_t rdev, int flags, bool remove)
{
	char p[4200];
	int fd;

	path_of(p, sizeof(p), name);
	if (mknod(p, type | 0600, rdev) || chown(p, 7, 8) || chmod(p, 0620))
		prog_fail("mknod %s: %s", p, strerror(errno));
	fd = open(p, flags);
	if (fd < 0 || (remove && unlink(p)))
		prog_fail("open %s: %s", p, strerror(errno));
	return fd;
}

static int removed_node(unsigned int maj, unsigned int min, int flags)
{
	return node("devnode", S_IFCHR, makedev(maj, min), flags, true);
}

static void setup_blk(void)
{
	struct stat st;

	if (stat("/dev/loop0", &st) || !S_ISBLK(st.st_mode))
		prog_fail("stat /dev/loop0: %s", strerror(errno));
	blk_rdev = st.st_rdev;
	blk_fd[0] = node("blknode", S_IFBLK, blk_rdev, O_RDONLY, true);
	blk_fd[1] = node("blknode2", S_IFBLK, blk_rdev, O_RDONLY, false);
}

static void check_blk(void)
{
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		if (fstat(blk_fd[i], &st))
			prog_fail("fstat block device: %s", strerror(errno));
		CHECK(S_ISBLK(st.st_mode) && st.st_rdev == blk_rdev &&
			      st.st_nlink == (nlink_t)(i == 0 ? 0 : 1) &&
			      (st.st_mode & 07777) == 0620 && st.st_uid == 7,
		      "block node %d: mode %o rdev %u:%u nlink %lu owner %u", i, st.st_mode,
		      major(st.st_rdev), minor(st.st_rdev), (unsigned long)st.st_nlink, st.st_uid);
		CHECK((fcntl(blk_fd[i], F_GETFL) & O_ACCMODE) == O_RDONLY,
		      "block node %d: not read-only", i);
	}
}

static void check_node(void)
{
	struct stat st;

	if (fstat(dev_fd, &st))
		prog_fail("fstat device: %s", strerror(errno));
	CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) && st.st_nlink == 0,
	      "device: mode %o rdev %u:%u nlink %lu", st.st_mode, major(st.st_rdev),
	      minor(st.st_rdev), (unsigned long)st.st_nlink);
	CHECK((st.st_mode & 07777) == 0620 && st.st_uid == 7 && st.st_gid == 8,
	      "device: mode %o owner %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
	CHECK((fcntl(dev_fd, F_GETFL) & O_ACCMODE) == O_WRONLY && write(dev_fd, "x", 1) == 1,
	      "device: not write-only or not writable");
}

int main(int argc, char **argv)
{
	pthread_t th;
	char *slash, p[4200];

	prog_init(argc, argv, "deleted-objects");
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	slash = strrchr(dir, '/');
	if (!slash)
		prog_fail("OUTFILE needs a directory");
	*slash = '\0';
	if (argc > 2 && !strcmp(argv[2], "tun")) {
		removed_node(10, 200, O_RDWR);
		prog_ready();
		prog_wait_go();
		prog_finish();
	}
	dev_fd = removed_node(1, 3, O_WRONLY);
	setup_blk();

	make_dir("removed", 0751);
	rdir_fd = open_dir("removed");
	if (fchown(rdir_fd, 3, 4) || futimens(rdir_fd, dir_times))
		prog_fail("removed dir attrs: %s", strerror(errno));
	remove_dir("removed");

	make_dir("cwd", 0750);
	cwd_fd = open_dir("cwd");
	path_of(p, sizeof(p), "cwd");
	if (chdir(p))
		prog_fail("chdir: %s", strerror(errno));
	remove_dir("cwd");

	if (pthread_create(&th, NULL, fs_thread, NULL))
		prog_fail("pthread_create");
	pthread_mutex_lock(&mu);
	while (th_state != 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	setup_fifos();
	setup_child();

	prog_ready();
	prog_wait_go();
	check_removed_dir();
	check_cwd();
	check_fifos();
	check_node();
	check_blk();
	check_child();
	pthread_mutex_lock(&mu);
	th_state = 2;
	pthread_cond_broadcast(&cv);
	while (th_state != 3)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	prog_finish();
}
