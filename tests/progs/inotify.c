/*
 * inotify: instances restored with every watch at its wd, its mask and on
 * its inode.  Usage: inotify OUTFILE DIR [MODE]; DIR is an empty
 * directory the program fills.
 *
 * MODE main (default), as root:
 *   in    inotify_init1(IN_NONBLOCK) with
 *         f  DIR/f    IN_MODIFY | IN_CLOSE_WRITE          (wd 1)
 *            (wd 2 added on DIR/g and removed: a gap, its IN_IGNORED read)
 *         d  DIR/d/   IN_CREATE | IN_DELETE | IN_EXCL_UNLINK | IN_ONLYDIR
 *         o  DIR/o    IN_OPEN | IN_ONESHOT
 *            (300 more added on DIR/g and removed: a gap of 300)
 *         m  DIR/m    IN_ATTRIB, then IN_MASK_ADD IN_MODIFY
 *   blk   inotify_init1(0), one watch on DIR/d IN_DELETE, shared with a
 *         child C that blocks reading it across the dump
 * After "go": in is non-blocking and blk blocking, nothing queued; the
 * program's own fdinfo shows each watch at its wd, inode and mask; a
 * write to f, a file created in d, an open of o (then IN_IGNORED: one
 * shot), chmod and write of m each give their event with the right wd;
 * IN_MASK_ADD on m returns m's wd; a new watch gets a wd none has; C wakes
 * for the file P deletes from d and reports on a pipe.
 *
 * MODE queued: one event left unread in in (the dump must refuse it).
 * MODE unlinked: f is unlinked while watched and open (the open fd keeps
 *   the inode and so the watch; the dump must refuse the watch).
 * MODE user: as uid/gid 65534 (after setting up as root) with one watch
 *   on DIR/pub (0644); DIR/secret (0600, root's) has its file handle
 *   written to DIR/secret.fh ("DEV INO TYPE HEX") for the test to put in
 *   the image.  After "go" a write to pub gives IN_MODIFY on its wd.
 */
#include <grp.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "prog.h"

#define GAP 300
#define C_OK 100

struct watch {
	const char *name;
	int wd;
	ino_t ino;
	uint32_t mask; /* as fdinfo shows it */
};

static const char *dir;
static int in, blk, dfd;
static struct watch w_f = { .name = "f" }, w_d = { .name = "d" }, w_o = { .name = "o" },
		    w_m = { .name = "m" };

static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int add(int fd, const char *name, uint32_t mask)
{
	char p[4096];
	int wd;

	path(p, sizeof(p), name);
	wd = inotify_add_watch(fd, p, mask);
	if (wd < 0)
		prog_fail("inotify_add_watch %s: %s", p, strerror(errno));
	return wd;
}

static void watch(struct watch *w, uint32_t mask, uint32_t shown)
{
	struct stat st;

	w->wd = add(in, w->name, mask);
	if (fstatat(dfd, w->name, &st, 0))
		prog_fail("stat %s: %s", w->name, strerror(errno));
	w->ino = st.st_ino;
	w->mask = shown;
}

static void touch(const char *name, mode_t mode)
{
	int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0)
		prog_fail("create %s: %s", name, strerror(errno));
	close(fd);
}

/* Reads every queued event of in away; how many there were. */
static int drain(int fd)
{
	char buf[65536];
	int n = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		n += r;
	return n;
}

/* Adds a watch on DIR/g and removes it, n times: a gap of n wds. */
static void gap(int n)
{
	while (n--)
		inotify_rm_watch(in, add(in, "g", IN_MODIFY));
	drain(in);
}

/* The next event of in within 5 s: 0 and *ev (name copied), or -1. */
static int next_event(struct inotify_event *ev, char *name, size_t nlen)
{
	static char buf[65536] __attribute__((aligned(8)));
	static size_t have, at;
	struct inotify_event *e;
	struct pollfd p = { in, POLLIN, 0 };
	ssize_t r;

	if (at >= have) {
		if (poll(&p, 1, 5000) != 1)
			return -1;
		r = read(in, buf, sizeof(buf));
		if (r <= 0)
			return -1;
		have = r;
		at = 0;
	}
	e = (struct inotify_event *)(buf + at);
	*ev = *e;
	snprintf(name, nlen, "%s", e->len ? e->name : "");
	at += sizeof(*e) + e->len;
	return 0;
}

static void expect(const struct watch *w, uint32_t mask, const char *name, const char *what)
{
	struct inotify_event ev;
	char n[256];

	if (next_event(&ev, n, sizeof(n))) {
		CHECK(0, "%s: no event", what);
		return;
	}
	CHECK(ev.wd == w->wd && (ev.mask & mask) == mask && !strcmp(n, name),
	      "%s: got wd %d mask %#x name '%s', expected wd %d mask %#x name '%s'", what, ev.wd,
	      ev.mask, n, w->wd, mask, name);
}

/* Our own fdinfo of in shows w at its wd, inode and mask. */
static void check_fdinfo(const char *text, const struct watch *w)
{
	char want[128];

	snprintf(want, sizeof(want), "inotify wd:%x ino:%lx ", w->wd, (unsigned long)w->ino);
	const char *l = strstr(text, want);
	unsigned mask = 0;

	CHECK(l, "watch %s: no fdinfo line for wd %d on inode %lu", w->name, w->wd,
	      (unsigned long)w->ino);
	if (!l)
		return;
	l = strstr(l, " mask:");
	CHECK(l && sscanf(l, " mask:%x", &mask) == 1 && mask == w->mask,
	      "watch %s: mask %#x, expected %#x", w->name, mask, w->mask);
}

static void check_watches(void)
{
	char name[64], text[8192];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", in);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	CHECK(n > 0, "cannot read %s", name);
	if (n <= 0)
		return;
	text[n] = 0;
	check_fdinfo(text, &w_f);
	check_fdinfo(text, &w_d);
	check_fdinfo(text, &w_o);
	check_fdinfo(text, &w_m);
}

static void check_events(void)
{
	struct watch gone = w_o;
	int fd, wd;

	fd = openat(dfd, "f", O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write f: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	expect(&w_f, IN_MODIFY, "", "write to f");
	expect(&w_f, IN_CLOSE_WRITE, "", "close of f");
	touch("d/new", 0644);
	expect(&w_d, IN_CREATE, "new", "file created in d");
	fd = openat(dfd, "o", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	expect(&w_o, IN_OPEN, "", "open of o");
	gone.mask = IN_IGNORED;
	expect(&gone, IN_IGNORED, "", "one-shot o removed");
	CHECK(!fchmodat(dfd, "m", 0640, 0), "chmod m: %s", strerror(errno));
	expect(&w_m, IN_ATTRIB, "", "chmod of m");
	fd = openat(dfd, "m", O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write m: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	expect(&w_m, IN_MODIFY, "", "write to m (IN_MASK_ADD kept)");
	drain(in);
	wd = add(in, "m", IN_MASK_ADD | IN_DELETE_SELF);
	CHECK(wd == w_m.wd, "IN_MASK_ADD on m returned wd %d, not %d", wd, w_m.wd);
	wd = add(in, "g", IN_MODIFY);
	CHECK(wd > w_m.wd, "a new watch got wd %d, not above %d", wd, w_m.wd);
}

/* C: blocks on blk across the dump, reports on rep what it read. */
static void child(int rep)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	uint64_t code = C_OK;
	ssize_t r = read(blk, buf, sizeof(buf));

	if (r < (ssize_t)sizeof(*e) || e->wd != 1 || !(e->mask & IN_DELETE))
		code = 1;
	else if (!e->len || strcmp(e->name, "byebye"))
		code = 2;
	else if (fcntl(blk, F_GETFL) & O_NONBLOCK)
		code = 3;
	if (write(rep, &code, sizeof(code)) != sizeof(code))
		_exit(1);
	_exit(0);
}

static void setup_main(void)
{
	touch("f", 0644);
	touch("g", 0644);
	touch("o", 0644);
	touch("m", 0644);
	if (mkdirat(dfd, "d", 0755))
		prog_fail("mkdir d: %s", strerror(errno));
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	blk = inotify_init1(IN_CLOEXEC);
	if (in < 0 || blk < 0)
		prog_fail("inotify_init1: %s", strerror(errno));
	watch(&w_f, IN_MODIFY | IN_CLOSE_WRITE, IN_MODIFY | IN_CLOSE_WRITE);
	gap(1);
	watch(&w_d, IN_CREATE | IN_DELETE | IN_EXCL_UNLINK | IN_ONLYDIR,
	      IN_CREATE | IN_DELETE | IN_EXCL_UNLINK);
	watch(&w_o, IN_OPEN | IN_ONESHOT, IN_OPEN | IN_ONESHOT);
	gap(GAP);
	watch(&w_m, IN_ATTRIB, IN_ATTRIB | IN_MODIFY);
	if (add(in, "m", IN_MASK_ADD | IN_MODIFY) != w_m.wd)
		prog_fail("IN_MASK_ADD gave another wd");
	if (add(blk, "d", IN_DELETE) != 1)
		prog_fail("blk: first wd is not 1");
	touch("d/byebye", 0644);
	drain(in);
}

static void run_main(void)
{
	int p[2], status, n = 0;
	uint64_t code = 0;
	struct pollfd pfd;
	pid_t c;

	setup_main();
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0)
		child(p[1]);
	close(p[1]);
	prog_ready();
	prog_wait_go();

	CHECK(fcntl(in, F_GETFL) & O_NONBLOCK, "in: IN_NONBLOCK lost");
	CHECK(!(fcntl(blk, F_GETFL) & O_NONBLOCK), "blk: O_NONBLOCK set after restore");
	CHECK(!ioctl(in, FIONREAD, &n) && n == 0, "in: %d bytes queued after restore", n);
	check_watches();
	check_events();
	CHECK(!unlinkat(dfd, "d/byebye", 0), "unlink d/byebye: %s", strerror(errno));
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1 || read(p[0], &code, sizeof(code)) != sizeof(code))
		code = 0;
	CHECK(code == C_OK, "child %d: check %llu failed (or no answer)", (int)c,
	      (unsigned long long)code);
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "child %d did not exit cleanly", (int)c);
	prog_finish();
}

/* DIR/secret's file handle into DIR/secret.fh for the test. */
static void write_secret_handle(void)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	struct stat st;
	char line[512];
	int mnt, n, i, fd;

	touch("secret", 0600);
	if (!fh)
		prog_fail("out of memory");
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dfd, "secret", fh, &mnt, 0) || fstatat(dfd, "secret", &st, 0))
		prog_fail("name_to_handle_at secret: %s", strerror(errno));
	n = snprintf(line, sizeof(line), "%lu %lu %d ", (unsigned long)st.st_dev,
		     (unsigned long)st.st_ino, fh->handle_type);
	for (i = 0; i < (int)fh->handle_bytes; i++)
		n += snprintf(line + n, sizeof(line) - n, "%02x", fh->f_handle[i]);
	free(fh);
	line[n++] = '\n';
	fd = openat(dfd, "secret.fh", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n)
		prog_fail("write secret.fh: %s", strerror(errno));
	close(fd);
}

static void run_user(bool dropped)
{
	struct watch w_p = { .name = "pub" };
	int fd;

	touch("pub", 0644);
	write_secret_handle();
	if (dropped)
		w_p.name = "secret";
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0)
		prog_fail("inotify_init1: %s", strerror(errno));
	watch(&w_p, IN_MODIFY, IN_MODIFY);
	fd = openat(dfd, "pub", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		prog_fail("open pub: %s", strerror(errno));
	prog_keep_out_open();
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		prog_fail("drop to 65534: %s", strerror(errno));
	prog_ready();
	prog_wait_go();
	CHECK(write(fd, "x", 1) == 1, "write pub: %s", strerror(errno));
	expect(&w_p, IN_MODIFY, "", "write to pub");
	prog_finish();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 3 ? argv[3] : "main";

	prog_init(argc, argv, "inotify");
	if (argc < 3)
		prog_fail("usage: inotify OUTFILE DIR [main|queued|unlinked|user|dropped]");
	dir = argv[2];
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		prog_fail("open %s: %s", dir, strerror(errno));
	if (!strcmp(mode, "user") || !strcmp(mode, "dropped"))
		run_user(!strcmp(mode, "dropped"));
	if (!strcmp(mode, "main"))
		run_main();
	setup_main();
	if (!strcmp(mode, "queued"))
		touch("f", 0644); /* its IN_CLOSE_WRITE stays queued */
	else if (openat(dfd, "f", O_RDONLY) < 0 || unlinkat(dfd, "f", 0))
		prog_fail("open and unlink f: %s", strerror(errno));
	else
		drain(in); /* the unlink's own events: only the watch is refused */
	prog_ready();
	prog_wait_go();
	prog_finish();
}
