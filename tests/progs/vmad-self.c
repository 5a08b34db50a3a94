/*
 * vmad-self: the VMADump dump side (vxcr/vmadump.h) from a real program.
 *
 *   vmad-self self LOG IMAGE FLAGS
 *	builds state (heap, a counter, an open file at an offset, SIGUSR1
 *	pending and blocked, a SIGUSR2 handler with its mask and flags,
 *	errno), calls vmad_dump(IMAGE, FLAGS) and checks the state.  The live
 *	copy logs "live ok bytes=N" (N > 0), a restored copy "restored ok";
 *	each goes on (counter + 1, logged) and exits 0.
 *   vmad-self bare LOG IMAGE FLAGS
 *	the same without the open file and the pending signal: fds 0-2 and
 *	IMAGE only, what the kernel module's vmad_undump restores
 *	(tests/kernel/k-vmad-user.sh).
 *   vmad-self flags LOG MAPPED IMAGE-PLAIN IMAGE-OTHER IMAGE-LIB IMAGE-LIBS
 *	maps the file MAPPED privately and dumps itself four times: flags 0,
 *	VMAD_DUMP_OTHER, VMAD_DUMP_OTHER with MAPPED in the library list, and
 *	VMAD_DUMP_LIBS.  A restored copy checks the mapping's bytes and logs
 *	"restored ok flags-N" (N: which dump it came from).
 *   vmad-self fail LOG FULLDIR
 *	the failures: bad fds (EBADF), a read-only fd (EBADF), unknown flags
 *	(EINVAL), a full file system under FULLDIR (ENOSPC), a second thread
 *	(EBUSY); after each, the state is as before.  Logs "fail ok".
 *   vmad-self killed LOG IMAGE
 *	logs "pid P", calls vmad_dump; the test kills the helper meanwhile;
 *	expects -1 with EINTR and the state as before.  Logs "killed ok".
 *   vmad-self exec LOG IMAGE PROG ARGS...
 *	vmad_execdump of PROG ARGS with VMAD_TEST=hello in its environment;
 *	logs "execdump ok bytes=N".
 *   vmad-self exec-killed LOG IMAGE PROG ARGS...
 *	the same; the test kills the helper during the dump: expects -1 with
 *	EINTR; logs "exec-killed ok".
 *   vmad-self show LOG ARGS...
 *	the program vmad_execdump runs: logs "show ARGS env=VALUE count=K"
 *	for K = 1..3.
 *   vmad-self libs LOG
 *	the library list's calls; logs "libs ok".
 *   vmad-self hold LOG MAPPED
 *	maps MAPPED privately, logs "ready"; on SIGUSR1 checks the mapping's
 *	bytes, logs "hold ok" (vxdump --file-contents).
 *
 * Every line goes to LOG (opened for each line, appended), so the live
 * copy and every restored copy add to the same file.  Exit 0 when every
 * check passed; a failed check logs "FAIL what" and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vxcr/vmadump.h"

#define HEAP_LEN (1u << 20)

static const char *log_path;
static unsigned long counter = 41;

static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		n = -1;
	close(fd);
}

#define CHECK(cond, ...)                          \
	do {                                      \
		if (!(cond)) {                    \
			say("FAIL " __VA_ARGS__); \
			exit(1);                  \
		}                                 \
	} while (0)

/* The state a dump must leave alone, and its copy as first taken. */
struct state {
	uint8_t *heap;
	int file_fd;
	off_t file_pos;
	sigset_t mask;
	struct sigaction usr2;
	bool pending;  /* SIGUSR1 pending (blocked) */
	char fds[256]; /* /proc/self/fd listing */
};

static void on_usr2(int sig)
{
	(void)sig;
}

static void list_fds(char *out, size_t size)
{
	char path[64], link[256];
	size_t off = 0;
	int fd;

	out[0] = '\0';
	for (fd = 0; fd < 64; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		off += snprintf(out + off, size - off, "%d ", fd);
		if (off >= size)
			break;
	}
}

/* Heap, file, signals as the checks expect them. */
static void build_state(struct state *s, const char *file)
{
	struct sigaction sa;
	sigset_t usr1;
	size_t i;

	s->heap = malloc(HEAP_LEN);
	CHECK(s->heap, "malloc");
	for (i = 0; i < HEAP_LEN; i++)
		s->heap[i] = (uint8_t)(i * 7 + 3);
	s->file_fd = file ? open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	CHECK(!file || s->file_fd >= 0, "open %s: %s", file, strerror(errno));
	CHECK(!file || write(s->file_fd, "0123456789", 10) == 10, "write");
	s->file_pos = file ? lseek(s->file_fd, 4, SEEK_SET) : 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGHUP);
	CHECK(!sigaction(SIGUSR2, &sa, NULL), "sigaction");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	s->pending = file != NULL; /* the module's restart refuses pending signals */
	if (s->pending)
		raise(SIGUSR1);
	sigprocmask(SIG_SETMASK, NULL, &s->mask);
	sigaction(SIGUSR2, NULL, &s->usr2);
	list_fds(s->fds, sizeof(s->fds));
}

/* Everything as build_state left it (fds: as listed in want_fds). */
static void check_state(const struct state *s, const char *want_fds, const char *who)
{
	struct sigaction sa;
	sigset_t mask, pending;
	char buf[16], fds[256];
	size_t i;

	for (i = 0; i < HEAP_LEN; i++)
		CHECK(s->heap[i] == (uint8_t)(i * 7 + 3), "%s: heap byte %zu", who, i);
	CHECK(counter == 41, "%s: counter %lu", who, counter);
	CHECK(s->file_fd < 0 || lseek(s->file_fd, 0, SEEK_CUR) == s->file_pos, "%s: file offset",
	      who);
	CHECK(s->file_fd < 0 ||
		      (pread(s->file_fd, buf, 10, 0) == 10 && !memcmp(buf, "0123456789", 10)),
	      "%s: file contents", who);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (i = 1; i < 65; i++)
		CHECK(sigismember(&mask, (int)i) == sigismember(&s->mask, (int)i),
		      "%s: signal mask (signal %zu)", who, i);
	sigpending(&pending);
	CHECK(sigismember(&pending, SIGUSR1) == s->pending, "%s: SIGUSR1 pending %d, want %d", who,
	      sigismember(&pending, SIGUSR1), s->pending);
	CHECK(!sigismember(&pending, SIGCHLD), "%s: a SIGCHLD is pending", who);
	sigaction(SIGUSR2, NULL, &sa);
	CHECK(sa.sa_handler == on_usr2 && sa.sa_flags == s->usr2.sa_flags &&
		      sigismember(&sa.sa_mask, SIGHUP),
	      "%s: SIGUSR2's action", who);
	list_fds(fds, sizeof(fds));
	CHECK(!strcmp(fds, want_fds), "%s: fds '%s', want '%s'", who, fds, want_fds);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "%s: a child is left", who);
}

/* The fd list of s without fd. */
static void fds_without(const struct state *s, int fd, char *out, size_t size)
{
	char tok[16], *p;

	snprintf(out, size, "%s", s->fds);
	snprintf(tok, sizeof(tok), "%d ", fd);
	p = strstr(out, tok);
	if (p && (p == out || p[-1] == ' '))
		memmove(p, p + strlen(tok), strlen(p + strlen(tok)) + 1);
}

static int mode_self(char **argv, bool bare)
{
	char file[4096], without_img[256];
	struct state s;
	unsigned int flags = strtoul(argv[4], NULL, 0);
	long r;
	int fd;

	snprintf(file, sizeof(file), "%s.data", log_path);
	for (fd = 3; bare && fd < 1024; fd++)
		close(fd); /* what the shell left open too: fds 0-2 only */
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "open %s: %s", argv[3], strerror(errno));
	build_state(&s, bare ? NULL : file);
	errno = ENOTSUP;
	r = vmad_dump(fd, flags);
	CHECK(r >= 0, "vmad_dump: %s", strerror(errno));
	CHECK(errno == ENOTSUP, "errno %d after vmad_dump", errno);
	if (r > 0) {
		check_state(&s, s.fds, "live");
		say("live ok bytes=%ld", r);
		close(fd);
	} else {
		fds_without(&s, fd, without_img, sizeof(without_img));
		check_state(&s, without_img, "restored");
		CHECK(fcntl(fd, F_GETFD) < 0, "restored: the image's fd %d is open", fd);
		say("restored ok");
	}
	counter++;
	say("counter %lu", counter);
	return 0;
}

/* One dump of mode_flags; in a restored copy, checks the mapping, exits. */
static void flags_dump(const char *img, unsigned int flags, const uint8_t *map, size_t len,
		       const char *name)
{
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t i;
	long r;

	CHECK(fd >= 0, "open %s: %s", img, strerror(errno));
	r = vmad_dump(fd, flags);
	CHECK(r >= 0, "vmad_dump %s: %s", name, strerror(errno));
	if (r > 0) {
		close(fd);
		say("live ok %s bytes=%ld", name, r);
		return;
	}
	for (i = 0; i < len; i++)
		CHECK(map[i] == (uint8_t)(i * 13 + 1), "restored %s: mapped byte %zu", name, i);
	say("restored ok %s", name);
	exit(0);
}

#define MAPPED_LEN (3 * 4096 + 100)

/* Writes path with the pattern and maps it privately (the mapping alone
 * holds it). */
static uint8_t *map_pattern(const char *path)
{
	uint8_t *buf = malloc(MAPPED_LEN), *map;
	size_t i;
	int fd;

	CHECK(buf, "malloc");
	for (i = 0; i < MAPPED_LEN; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, buf, MAPPED_LEN) == (ssize_t)MAPPED_LEN, "write %s", path);
	map = mmap(NULL, MAPPED_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(map != MAP_FAILED, "mmap");
	close(fd);
	free(buf);
	return map;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* For vxdump --file-contents: maps MAPPED, logs "ready", and on SIGUSR1
 * checks the mapping's bytes and logs "hold ok". */
static int mode_hold(char **argv)
{
	uint8_t *map = map_pattern(argv[3]);
	size_t i;

	signal(SIGUSR1, on_usr1);
	say("ready");
	while (!got_usr1)
		pause();
	for (i = 0; i < MAPPED_LEN; i++)
		CHECK(map[i] == (uint8_t)(i * 13 + 1), "hold: mapped byte %zu", i);
	say("hold ok");
	return 0;
}

static int mode_flags(char **argv)
{
	size_t len = MAPPED_LEN;
	uint8_t *map = map_pattern(argv[3]);
	flags_dump(argv[4], 0, map, len, "flags-plain");
	flags_dump(argv[5], VMAD_DUMP_OTHER, map, len, "flags-other");
	CHECK(!vmad_lib_add(argv[3]), "vmad_lib_add: %s", strerror(errno));
	flags_dump(argv[6], VMAD_DUMP_OTHER, map, len, "flags-lib");
	vmad_lib_clear();
	flags_dump(argv[7], VMAD_DUMP_LIBS, map, len, "flags-libs");
	say("flags ok");
	return 0;
}

static void *spin(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* vmad_dump(fd, flags) must fail with want, the state as it was. */
static void expect_fail(const struct state *s, int fd, unsigned int flags, int want,
			const char *what)
{
	long r;

	errno = 0;
	r = vmad_dump(fd, flags);
	CHECK(r == -1 && errno == want, "%s: got %ld errno %d (%s), want %s", what, r, errno,
	      strerror(errno), strerror(want));
	check_state(s, s->fds, what);
	say("failed as expected: %s: %s", what, strerror(want));
}

static int mode_fail(char **argv)
{
	char file[4096], full[4096];
	struct state s;
	pthread_t th;
	int ro, fullfd;

	snprintf(file, sizeof(file), "%s.data", log_path);
	snprintf(full, sizeof(full), "%s/full.img", argv[3]);
	ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fullfd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(ro >= 0 && fullfd >= 0, "open: %s", strerror(errno));
	build_state(&s, file);
	expect_fail(&s, -1, 0, EBADF, "fd -1");
	expect_fail(&s, 63, 0, EBADF, "a closed fd");
	expect_fail(&s, ro, 0, EBADF, "a read-only fd");
	expect_fail(&s, fullfd, 0x100, EINVAL, "unknown flags");
	expect_fail(&s, fullfd, 0, ENOSPC, "a full file system");
	CHECK(!pthread_create(&th, NULL, spin, NULL), "pthread_create");
	errno = 0;
	CHECK(vmad_dump(fullfd, 0) == -1 && errno == EBUSY, "two threads: errno %d", errno);
	say("failed as expected: a second thread: %s", strerror(EBUSY));
	say("fail ok");
	return 0;
}

static int mode_killed(char **argv)
{
	char file[4096];
	struct state s;
	long r;
	int fd;

	snprintf(file, sizeof(file), "%s.data", argv[3]);
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "open %s", argv[3]);
	build_state(&s, file);
	say("pid %d", getpid());
	errno = 0;
	r = vmad_dump(fd, 0);
	CHECK(r == -1 && errno == EINTR, "got %ld errno %d, want -1 EINTR", r, errno);
	check_state(&s, s.fds, "killed");
	say("killed ok");
	return 0;
}

static int mode_exec(int argc, char **argv)
{
	char *envp[] = { "VMAD_TEST=hello", NULL };
	char *bad[] = { "/nonexistent/vmad-prog", NULL };
	long r;
	int fd;

	(void)argc;
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "open %s", argv[3]);
	errno = 0;
	CHECK(vmad_execdump(bad, envp, fd, 0) == -1 && errno == ENOENT,
	      "execdump of a missing program: errno %d", errno);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "execdump left a child");
	r = vmad_execdump(&argv[4], envp, fd, 0);
	CHECK(r > 0, "vmad_execdump: %s", strerror(errno));
	CHECK(lseek(fd, 0, SEEK_CUR) == r, "bytes %ld, file offset %ld", r,
	      (long)lseek(fd, 0, SEEK_CUR));
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "execdump left a child");
	say("execdump ok bytes=%ld", r);
	return 0;
}

/* vmad_execdump whose helper the test kills: -1 EINTR, nothing left. */
static int mode_exec_killed(char **argv)
{
	char *envp[] = { "VMAD_TEST=hello", NULL };
	long r;
	int fd;

	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "open %s", argv[3]);
	errno = 0;
	r = vmad_execdump(&argv[4], envp, fd, 0);
	CHECK(r == -1 && errno == EINTR, "got %ld errno %d, want -1 EINTR", r, errno);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "execdump left a child");
	say("exec-killed ok");
	return 0;
}

static int mode_show(int argc, char **argv)
{
	char line[512] = "";
	size_t off = 0;
	const char *v = getenv("VMAD_TEST");
	int i, k;

	for (i = 3; i < argc; i++)
		off += snprintf(line + off, sizeof(line) - off, "%s%s", i > 3 ? " " : "", argv[i]);
	for (k = 1; k <= 3; k++)
		say("show %s env=%s count=%d", line, v ? v : "(none)", k);
	return 0;
}

static int mode_libs(void)
{
	char buf[256];
	size_t n;
	int st;

	CHECK(vmad_lib_size() == 0, "empty list has size %zu", vmad_lib_size());
	CHECK(vmad_lib_add("relative/x.so") == -1 && errno == EINVAL, "relative path");
	CHECK(!vmad_lib_add("/lib/a.so") && !vmad_lib_add("/lib/bb.so"), "add");
	CHECK(vmad_lib_add("/lib/a.so") == -1 && errno == EEXIST, "add twice");
	CHECK(vmad_lib_size() == 21, "size %zu", vmad_lib_size());
	n = vmad_lib_list(buf, sizeof(buf));
	CHECK(n == 21 && !memcmp(buf, "/lib/a.so\0/lib/bb.so\0", 21), "list");
	memset(buf, 'x', sizeof(buf));
	CHECK(vmad_lib_list(buf, 12) == 21 && !memcmp(buf, "/lib/a.so\0x", 11), "short list");
	if (fork() == 0) /* inherited over fork */
		_exit(vmad_lib_size() == 21 ? 0 : 1);
	CHECK(wait(&st) > 0 && WIFEXITED(st) && !WEXITSTATUS(st), "the list in a forked child");
	CHECK(vmad_lib_del("/lib/zz.so") == -1 && errno == ENOENT, "del missing");
	CHECK(!vmad_lib_del("/lib/a.so") && vmad_lib_size() == 11, "del");
	vmad_lib_clear();
	CHECK(vmad_lib_size() == 0 && vmad_lib_list(buf, sizeof(buf)) == 0, "clear");
	say("libs ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vmad-self MODE LOG ...\n");
		return 2;
	}
	log_path = argv[2];
	if (!strcmp(argv[1], "self") && argc == 5)
		return mode_self(argv, false);
	if (!strcmp(argv[1], "bare") && argc == 5)
		return mode_self(argv, true);
	if (!strcmp(argv[1], "flags") && argc == 8)
		return mode_flags(argv);
	if (!strcmp(argv[1], "fail") && argc == 4)
		return mode_fail(argv);
	if (!strcmp(argv[1], "killed") && argc == 4)
		return mode_killed(argv);
	if (!strcmp(argv[1], "exec") && argc >= 5)
		return mode_exec(argc, argv);
	if (!strcmp(argv[1], "exec-killed") && argc >= 5)
		return mode_exec_killed(argv);
	if (!strcmp(argv[1], "show"))
		return mode_show(argc, argv);
	if (!strcmp(argv[1], "libs"))
		return mode_libs();
	if (!strcmp(argv[1], "hold") && argc == 4)
		return mode_hold(argv);
	fprintf(stderr, "vmad-self: bad usage\n");
	return 2;
}
