/*
 * share-variants: the ways tasks share (or stop sharing) an fd table and
 * fs info that vxdump expresses (NOTES, issue 3):
 *
 *   thread T1 did unshare(CLONE_FILES), then closed fd FD_MAIN (main keeps
 *   it) and opened sv-t1.dat at FD_T1 (main has no such fd); after "go"
 *   both views are checked again, and an fd T1 opens (FD_T1_LATE) stays
 *   invisible to main
 *   thread T2 did unshare(CLONE_FS), chdir()ed to sv-t2 and set umask 023
 *   while main is in sv-main with umask 027; after "go" each sees its own,
 *   and T2's chdir/umask change nothing for main
 *   child P, clone(CLONE_FILES | SIGCHLD), shares our fd table: after "go"
 *   an fd we open is usable in P and an fd P opens is usable here
 *   child Q, clone(CLONE_FS | SIGCHLD), shares our fs info: after "go" our
 *   chdir to sv-q is Q's cwd, Q's chdir to sv-q2 and umask 011 are ours
 */
#include <pthread.h>
#include <sched.h>
#include "tree.h"

#define FD_MAIN		80	/* main's, closed by T1 */
#define FD_T1		81	/* T1's own, main has none */
#define FD_T1_LATE	82	/* opened by T1 after "go" */
#define CHILD_STACK	(256 * 1024)

enum { CMD_NONE, CMD_CHECK, CMD_QUIT };

struct thr {
	pthread_t t;
	volatile int cmd, done;
	char why[256];
};

static char dir[4096], t1_path[4200], main_path[4200], p1_path[4200], p2_path[4200];
static char main_dir[4200], t2_dir[4200], t2b_dir[4200], q_dir[4200], q2_dir[4200];
static struct thr t1, t2;

static mode_t get_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

static int cwd_is(const char *want)
{
	char cwd[4200];

	return getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, want);
}

/* fd is open and is the file at path. */
static int fd_is(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* Runs the command loop of thread th: check() after "go", then quit. */
static void thr_loop(struct thr *th, void (*check)(struct thr *))
{
	__atomic_store_n(&th->done, 1, __ATOMIC_RELEASE);
	for (;;) {
		int cmd = __atomic_load_n(&th->cmd, __ATOMIC_ACQUIRE);

		if (cmd == CMD_NONE) {
			tree_sleep_ms(1);
			continue;
		}
		if (cmd == CMD_QUIT)
			return;
		check(th);
		th->cmd = CMD_NONE;
		__atomic_store_n(&th->done, 1, __ATOMIC_RELEASE);
	}
}

static void thr_run(struct thr *th, int cmd, const char *name)
{
	long long end = tree_now_ms() + 5000;

	th->done = 0;
	__atomic_store_n(&th->cmd, cmd, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&th->done, __ATOMIC_ACQUIRE) && tree_now_ms() < end)
		tree_sleep_ms(1);
	if (!th->done)
		prog_fail("thread %s does not respond", name);
	CHECK(!th->why[0], "%s", th->why);
}

static void t1_check(struct thr *th)
{
	int fd;

	if (!fd_is(FD_T1, t1_path))
		snprintf(th->why, sizeof(th->why), "T1: fd %d is not sv-t1.dat", FD_T1);
	else if (!fd_closed(FD_MAIN))
		snprintf(th->why, sizeof(th->why), "T1: fd %d (closed in T1) is open", FD_MAIN);
	fd = open(t1_path, O_RDONLY);
	if (fd < 0 || dup2(fd, FD_T1_LATE) != FD_T1_LATE)
		snprintf(th->why, sizeof(th->why), "T1: open/dup2 after go: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void *t1_main(void *arg)
{
	int fd;

	(void)arg;
	if (unshare(CLONE_FILES))
		snprintf(t1.why, sizeof(t1.why), "T1: unshare(CLONE_FILES): %s", strerror(errno));
	close(FD_MAIN);
	fd = open(t1_path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || dup2(fd, FD_T1) != FD_T1)
		snprintf(t1.why, sizeof(t1.why), "T1: open %.200s: %s", t1_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	thr_loop(&t1, t1_check);
	return NULL;
}

static void t2_check(struct thr *th)
{
	if (!cwd_is(t2_dir) || get_umask() != 023) {
		snprintf(th->why, sizeof(th->why), "T2: cwd or umask (%03o) not its own",
			 get_umask());
		return;
	}
	if (chdir(t2b_dir))
		snprintf(th->why, sizeof(th->why), "T2: chdir: %s", strerror(errno));
	umask(037);
}

static void *t2_main(void *arg)
{
	(void)arg;
	if (unshare(CLONE_FS))
		snprintf(t2.why, sizeof(t2.why), "T2: unshare(CLONE_FS): %s", strerror(errno));
	if (chdir(t2_dir))
		snprintf(t2.why, sizeof(t2.why), "T2: chdir: %s", strerror(errno));
	umask(023);
	thr_loop(&t2, t2_check);
	return NULL;
}

static void start_thread(struct thr *th, void *(*fn)(void *), const char *name)
{
	if (pthread_create(&th->t, NULL, fn, NULL))
		prog_fail("pthread_create %s failed", name);
	while (!__atomic_load_n(&th->done, __ATOMIC_ACQUIRE))
		tree_sleep_ms(1);
	if (th->why[0])
		prog_fail("%s", th->why);
}

/* A child made by clone(): its pipes to and from the parent. */
struct kid {
	pid_t pid;
	int up[2];		/* tree messages to the parent */
	int down[2];		/* ints parent -> child */
	int back[2];		/* ints child -> parent */
	char *stack;
};

static struct kid kp, kq;

static int get_int(int fd)
{
	int v = -1;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		prog_record_failure("pipe read: %s", strerror(errno));
	return v;
}

static void put_int(int fd, int v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		prog_record_failure("pipe write: %s", strerror(errno));
}

/* P: shares our fd table; after "go" uses our new fd and opens one for us. */
static int p_main(void *arg)
{
	int fd;

	(void)arg;
	tree_die_with_parent(getppid());
	tree_send_ready(kp.up[1]);
	prog_wait_go();
	fd = get_int(kp.down[0]);
	CHECK(fd >= 0 && fd_is(fd, p1_path), "P: fd %d opened by the parent not seen", fd);
	fd = open(p2_path, O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0, "P: open: %s", strerror(errno));
	put_int(kp.back[1], fd);
	tree_member_finish(kp.up[1]);
}

/* Q: shares our fs info; after "go" sees our chdir, then moves us. */
static int q_main(void *arg)
{
	(void)arg;
	tree_die_with_parent(getppid());
	CHECK(cwd_is(main_dir) && get_umask() == 027, "Q before ready: cwd/umask not shared");
	tree_send_ready(kq.up[1]);
	prog_wait_go();
	get_int(kq.down[0]);
	CHECK(cwd_is(q_dir), "Q: the parent's chdir to sv-q is not seen");
	CHECK(!chdir(q2_dir), "Q: chdir: %s", strerror(errno));
	umask(011);
	put_int(kq.back[1], 1);
	tree_member_finish(kq.up[1]);
}

static void start_kid(struct kid *k, int (*fn)(void *), int flags)
{
	if (pipe2(k->up, O_CLOEXEC) || pipe2(k->down, O_CLOEXEC) || pipe2(k->back, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	k->stack = malloc(CHILD_STACK);
	if (!k->stack)
		prog_fail("no memory for a child stack");
	k->pid = clone(fn, k->stack + CHILD_STACK, flags | SIGCHLD, NULL);
	if (k->pid < 0)
		prog_fail("clone(%#x): %s", flags, strerror(errno));
	if (tree_collect(&k->up[0], 1, 1, 0, 20000, -1, NULL) != 1)
		prog_fail("child %d not ready: %s", (int)k->pid, prog_failure);
}

static void check_p(void)
{
	int fd = open(p1_path, O_RDWR | O_CREAT, 0644), pfd;

	CHECK(fd >= 0, "open %s: %s", p1_path, strerror(errno));
	put_int(kp.down[1], fd);
	pfd = get_int(kp.back[0]);
	CHECK(pfd >= 0 && fd_is(pfd, p2_path), "fd %d opened by P not seen here", pfd);
}

static void check_q(void)
{
	CHECK(!chdir(q_dir), "chdir sv-q: %s", strerror(errno));
	put_int(kq.down[1], 1);
	get_int(kq.back[0]);
	CHECK(cwd_is(q2_dir), "Q's chdir to sv-q2 is not ours");
	CHECK(get_umask() == 011, "umask %03o, Q set 011", get_umask());
}

static void check_threads(void)
{
	CHECK(fd_is(FD_MAIN, main_path), "main: fd %d (closed only in T1) is gone", FD_MAIN);
	CHECK(fd_closed(FD_T1), "main: T1's own fd %d is open here", FD_T1);
	CHECK(cwd_is(main_dir) && get_umask() == 027, "main: cwd/umask (%03o) not its own",
	      get_umask());
	thr_run(&t1, CMD_CHECK, "T1");
	CHECK(fd_closed(FD_T1_LATE), "main: fd %d T1 opened after go is open here", FD_T1_LATE);
	thr_run(&t2, CMD_CHECK, "T2");
	CHECK(cwd_is(main_dir) && get_umask() == 027, "main: T2's chdir/umask leaked (%03o)",
	      get_umask());
}

static void make_paths(void)
{
	snprintf(dir, sizeof(dir), "%s", prog_dir());
	if (dir[0] != '/')
		prog_fail("OUTFILE must be an absolute path");
	snprintf(t1_path, sizeof(t1_path), "%s/sv-t1.dat", dir);
	snprintf(main_path, sizeof(main_path), "%s/sv-main.dat", dir);
	snprintf(p1_path, sizeof(p1_path), "%s/sv-p1.dat", dir);
	snprintf(p2_path, sizeof(p2_path), "%s/sv-p2.dat", dir);
	snprintf(main_dir, sizeof(main_dir), "%s/sv-main", dir);
	snprintf(t2_dir, sizeof(t2_dir), "%s/sv-t2", dir);
	snprintf(t2b_dir, sizeof(t2b_dir), "%s/sv-t2b", dir);
	snprintf(q_dir, sizeof(q_dir), "%s/sv-q", dir);
	snprintf(q2_dir, sizeof(q2_dir), "%s/sv-q2", dir);
	mkdir(main_dir, 0755);
	mkdir(t2_dir, 0755);
	mkdir(t2b_dir, 0755);
	mkdir(q_dir, 0755);
	mkdir(q2_dir, 0755);
}

int main(int argc, char **argv)
{
	int fd, st;

	prog_init(argc, argv, "share-variants");
	make_paths();
	if (chdir(main_dir))
		prog_fail("chdir %s: %s", main_dir, strerror(errno));
	umask(027);
	fd = open(main_path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || dup2(fd, FD_MAIN) != FD_MAIN)
		prog_fail("open %s: %s", main_path, strerror(errno));
	close(fd);
	start_thread(&t1, t1_main, "T1");
	start_thread(&t2, t2_main, "T2");
	start_kid(&kp, p_main, CLONE_FILES);
	start_kid(&kq, q_main, CLONE_FS);
	if (!fd_is(FD_MAIN, main_path) || !fd_closed(FD_T1) || !cwd_is(main_dir))
		prog_fail("main: state before ready is not as set up");
	prog_ready();
	prog_wait_go();

	kill(kp.pid, SIGUSR1);
	kill(kq.pid, SIGUSR1);
	check_threads();
	check_p();
	check_q();
	CHECK(tree_collect(&kp.up[0], 1, 1, 1, 20000, -1, NULL) == 1, "P did not report");
	CHECK(tree_collect(&kq.up[0], 1, 1, 1, 20000, -1, NULL) == 1, "Q did not report");
	CHECK(waitpid(kp.pid, &st, __WALL) == kp.pid && WIFEXITED(st), "P: status %#x", st);
	CHECK(waitpid(kq.pid, &st, __WALL) == kq.pid && WIFEXITED(st), "Q: status %#x", st);
	t1.cmd = CMD_QUIT;
	t2.cmd = CMD_QUIT;
	pthread_join(t1.t, NULL);
	pthread_join(t2.t, NULL);
	prog_finish();
}
