/*
 * shared-files: files shared between processes and threads.
 *
 *   one open file description shared by parent P and child C (opened before
 *   fork): P writes 100 bytes before "ready", C sees offset 100; after "go"
 *   P writes 50 more and C must see offset 150, C writes 10 and P must see
 *   160 and the whole file's contents
 *   pipes between P and C with data in flight across the dump: 3000 bytes
 *   P->C and 2000 bytes C->P, written before "ready", read only after "go"
 *   (exact contents, nothing more)
 *   P's thread T shares P's fd table: an fd T opened before the dump is
 *   usable in main; after "go" an fd T opens is seen by main and an fd main
 *   closes is gone for T
 *   P's thread T shares P's fs info: T chdir()ed to sf-sub1 before the dump
 *   and set umask 027, main sees both; after "go" T chdir()s to sf-sub2 and
 *   sets umask 077, main sees that too.  C (forked before) keeps its cwd.
 */
#include <pthread.h>
#include <sys/sysmacros.h>
#include "tree.h"

#define PC_LEN 3000
#define CP_LEN 2000

enum { CMD_NONE, CMD_OPEN, CMD_CHECK_CLOSED, CMD_CHDIR, CMD_QUIT };

static char dir[4096], sub1[4200], sub2[4200], data_path[4200];
static int file_fd, t_fd = -1, t_fd2 = -1;
static volatile int t_cmd, t_done;
static char t_why[256];

static void *thread_main(void *arg)
{
	(void)arg;
	t_fd = open("/dev/null", O_RDONLY);
	if (chdir(sub1))
		snprintf(t_why, sizeof(t_why), "T: chdir %.200s: %s", sub1, strerror(errno));
	umask(027);
	__atomic_store_n(&t_done, 1, __ATOMIC_RELEASE);
	for (;;) {
		int cmd = __atomic_load_n(&t_cmd, __ATOMIC_ACQUIRE);

		if (cmd == CMD_NONE) {
			tree_sleep_ms(1);
			continue;
		}
		if (cmd == CMD_QUIT)
			return NULL;
		if (cmd == CMD_OPEN)
			t_fd2 = open(data_path, O_RDONLY);
		if (cmd == CMD_CHECK_CLOSED && (fcntl(t_fd, F_GETFD) != -1 || errno != EBADF))
			snprintf(t_why, sizeof(t_why), "T: fd %d still open after main closed it",
				 t_fd);
		if (cmd == CMD_CHDIR) {
			if (chdir(sub2))
				snprintf(t_why, sizeof(t_why), "T: chdir %.200s: %s", sub2,
					 strerror(errno));
			umask(077);
		}
		t_cmd = CMD_NONE;
		__atomic_store_n(&t_done, 1, __ATOMIC_RELEASE);
	}
}

static void t_run(int cmd)
{
	long long end = tree_now_ms() + 5000;

	t_done = 0;
	__atomic_store_n(&t_cmd, cmd, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&t_done, __ATOMIC_ACQUIRE) && tree_now_ms() < end)
		tree_sleep_ms(1);
	if (!t_done)
		prog_fail("thread T does not respond");
}

static mode_t get_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

static void check_cwd(const char *who, const char *want)
{
	char cwd[4200];

	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, want), "%s: cwd '%s', expected '%s'", who,
	      cwd, want);
}

/* Reads exactly len bytes of pattern seed from fd and checks nothing follows. */
static void drain_pipe(const char *who, int fd, size_t len, uint64_t seed)
{
	static char buf[8192], want[8192];
	size_t got = 0;
	ssize_t n;

	prog_fill(want, (len + 7) & ~7UL, seed);
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n <= 0) {
			prog_record_failure("%s: pipe read after %zu of %zu bytes: %s", who, got,
					    len, n ? strerror(errno) : "EOF");
			return;
		}
		got += n;
	}
	CHECK(!memcmp(buf, want, len), "%s: pipe data differs", who);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read(fd, buf, 1);
	CHECK(n < 0 && errno == EAGAIN, "%s: extra data in the pipe (read %zd)", who, n);
}

static void fill_pipe(int fd, size_t len, uint64_t seed)
{
	static char buf[8192];

	prog_fill(buf, (len + 7) & ~7UL, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		prog_fail("pipe write: %s", strerror(errno));
}

static char wait_byte(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		prog_record_failure("sync pipe: %s", strerror(errno));
	return c;
}

__attribute__((noreturn)) static void child_main(int sync_r, int up, int pc_r, int cp_w)
{
	char cwd0[4200] = "";

	if (!getcwd(cwd0, sizeof(cwd0)))
		prog_fail("getcwd: %s", strerror(errno));
	fill_pipe(cp_w, CP_LEN, 62);
	CHECK(wait_byte(sync_r) == 'a', "C: no sync from P");
	CHECK(lseek(file_fd, 0, SEEK_CUR) == 100, "C before ready: offset %lld, expected 100",
	      (long long)lseek(file_fd, 0, SEEK_CUR));
	tree_send_ready(up);
	prog_wait_go();
	check_cwd("C", cwd0);
	drain_pipe("C", pc_r, PC_LEN, 61);
	CHECK(wait_byte(sync_r) == 'w', "C: no 'written' from P");
	CHECK(lseek(file_fd, 0, SEEK_CUR) == 150, "C: shared offset %lld, expected 150",
	      (long long)lseek(file_fd, 0, SEEK_CUR));
	CHECK(write(file_fd, "0123456789", 10) == 10, "C: write: %s", strerror(errno));
	tree_send(up, TREE_READY, "wrote");
	tree_member_finish(up);
}

static void check_file(void)
{
	char buf[256], want[200];
	ssize_t n;
	int i;

	CHECK(lseek(file_fd, 0, SEEK_CUR) == 160, "P: shared offset %lld, expected 160",
	      (long long)lseek(file_fd, 0, SEEK_CUR));
	for (i = 0; i < 150; i++)
		want[i] = 'A' + i % 26;
	memcpy(want + 150, "0123456789", 10);
	n = pread(file_fd, buf, sizeof(buf), 0);
	CHECK(n == 160 && !memcmp(buf, want, 160), "P: file holds %zd bytes, not as written", n);
}

static void parent_checks(pid_t c, int sync_w, int up_r, int cp_r)
{
	struct stat st;
	char abc[50];
	int i;

	kill(c, SIGUSR1);
	CHECK(fstat(t_fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
	      "fd %d opened by T is not /dev/null any more", t_fd);
	check_cwd("P main (T chdir'ed)", sub1);
	CHECK(get_umask() == 027, "P main: umask %03o, T set 027", get_umask());
	drain_pipe("P", cp_r, CP_LEN, 62);
	for (i = 0; i < 50; i++)
		abc[i] = 'A' + (100 + i) % 26;
	CHECK(write(file_fd, abc, 50) == 50, "P: write: %s", strerror(errno));
	CHECK(write(sync_w, "w", 1) == 1, "P: sync: %s", strerror(errno));
	CHECK(tree_collect(&up_r, 1, 1, 0, 20000, -1, NULL) == 1, "C did not write");
	check_file();

	t_run(CMD_OPEN);
	CHECK(t_fd2 >= 0 && fcntl(t_fd2, F_GETFD) >= 0,
	      "fd %d opened by T after restore not visible to main", t_fd2);
	close(t_fd);
	t_run(CMD_CHECK_CLOSED);
	t_run(CMD_CHDIR);
	check_cwd("P main after T's chdir", sub2);
	CHECK(get_umask() == 077, "P main: umask %03o after T set 077", get_umask());
	CHECK(!t_why[0], "%s", t_why);
}

int main(int argc, char **argv)
{
	int sync[2], up[2], pc[2], cp[2], i, st;
	char abc[100];
	pthread_t t;
	pid_t c;

	prog_init(argc, argv, "shared-files");
	snprintf(dir, sizeof(dir), "%s", prog_dir());
	if (dir[0] != '/')
		prog_fail("OUTFILE must be an absolute path");
	snprintf(sub1, sizeof(sub1), "%s/sf-sub1", dir);
	snprintf(sub2, sizeof(sub2), "%s/sf-sub2", dir);
	snprintf(data_path, sizeof(data_path), "%s/sf-shared.dat", dir);
	mkdir(sub1, 0755);
	mkdir(sub2, 0755);
	file_fd = open(data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (file_fd < 0 || pipe2(sync, O_CLOEXEC) || pipe2(up, O_CLOEXEC) ||
	    pipe2(pc, O_CLOEXEC) || pipe2(cp, O_CLOEXEC))
		prog_fail("open/pipe: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0) {
		tree_die_with_parent(getppid());
		close(sync[1]);
		close(up[0]);
		close(pc[1]);
		close(cp[0]);
		child_main(sync[0], up[1], pc[0], cp[1]);
	}
	close(sync[0]);
	close(up[1]);
	close(pc[0]);
	close(cp[1]);
	for (i = 0; i < 100; i++)
		abc[i] = 'A' + i % 26;
	if (write(file_fd, abc, 100) != 100 || write(sync[1], "a", 1) != 1)
		prog_fail("write: %s", strerror(errno));
	fill_pipe(pc[1], PC_LEN, 61);
	if (pthread_create(&t, NULL, thread_main, NULL))
		prog_fail("pthread_create failed");
	while (!__atomic_load_n(&t_done, __ATOMIC_ACQUIRE))
		tree_sleep_ms(1);
	if (t_why[0])
		prog_fail("%s", t_why);
	if (tree_collect(&up[0], 1, 1, 0, 20000, -1, NULL) != 1)
		prog_fail("child not ready: %s", prog_failure);
	check_cwd("P main before ready", sub1);
	prog_ready();
	prog_wait_go();

	parent_checks(c, sync[1], up[0], cp[0]);
	CHECK(tree_collect(&up[0], 1, 1, 1, 20000, -1, NULL) == 1, "C did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "C: status %#x", st);
	t_cmd = CMD_QUIT;
	pthread_join(t, NULL);
	prog_finish();
}
