/*
 * fanotify: groups restored with their init flags, event flags and every
 * mark (inode, mount, filesystem; mask, ignore mask, mark flags).  Usage:
 * fanotify OUTFILE DIR [MODE]; DIR is the root of a tmpfs of the test's
 * own (mount and filesystem marks then see only this program's events).
 *
 * MODE main (default), as root:
 *   g    FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY|O_LARGEFILE:
 *        inode DIR/f FAN_MODIFY; inode DIR/q ignore mask FAN_OPEN with
 *        FAN_MARK_IGNORED_SURV_MODIFY; inode DIR/e FAN_ATTRIB, evictable;
 *        inode DIR/i ignore FAN_CLOSE_WRITE (FAN_MARK_IGNORE_SURV, the new
 *        style); mount DIR FAN_OPEN | FAN_CLOSE_WRITE;
 *        filesystem of DIR FAN_CREATE | FAN_ONDIR
 *   g2   FAN_CLASS_NOTIF (blocking), O_RDWR|O_LARGEFILE: inode DIR/f
 *        FAN_CLOSE_WRITE (its events carry an fd opened O_RDWR)
 * After "go": the program's own fdinfo of g and g2 is what it was before
 * the dump (flags, event flags, every mark line); g is non-blocking, g2
 * blocking, nothing queued; a write to f gives g FAN_MODIFY, FAN_OPEN and
 * FAN_CLOSE_WRITE and g2 FAN_CLOSE_WRITE with an O_RDWR fd on f; a file
 * created in DIR gives g FAN_CREATE.
 *
 * MODE queued: an event left unread in g (the dump must refuse it).
 * MODE content: a FAN_CLASS_CONTENT group with a FAN_OPEN_PERM mark (the
 *   dump must refuse it).
 * MODE user: as uid/gid 65534 (set up as root) a FAN_REPORT_FID group
 *   (what an unprivileged task may have) with an inode mark FAN_MODIFY on
 *   DIR/pub (0644); DIR/secret (0600) has its handle in DIR/secret.fh.
 *   After "go" a write to pub gives FAN_MODIFY.
 * MODE dropped: as user, but the mark is a mount mark, which needs
 *   CAP_SYS_ADMIN the process no longer has (the dump must refuse it).
 */
#include <grp.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "prog.h"

#define O_LARGEFILE_K 0100000

static const char *dir;
static int dfd, g, g2;
static char info_g[8192], info_g2[8192];

static void touch(const char *name, mode_t mode)
{
	int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0)
		prog_fail("create %s: %s", name, strerror(errno));
	close(fd);
}

static void mark(int grp, unsigned flags, uint64_t mask, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s%s", dir, *name ? "/" : "", name);
	if (fanotify_mark(grp, FAN_MARK_ADD | flags, mask, AT_FDCWD, p))
		prog_fail("fanotify_mark %s %#x %#llx: %s", p, flags, (unsigned long long)mask,
			  strerror(errno));
}

static int group(unsigned flags, unsigned event_flags)
{
	int fd = fanotify_init(flags | FAN_CLOEXEC, event_flags);

	if (fd < 0)
		prog_fail("fanotify_init %#x: %s", flags, strerror(errno));
	return fd;
}

/* The "fanotify " lines of our fdinfo of fd into out. */
static void marks_of(int fd, char *out, size_t len)
{
	char name[64], text[8192], *l, *save = NULL;
	ssize_t n;
	size_t at = 0;
	int f;

	snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", fd);
	f = open(name, O_RDONLY | O_CLOEXEC);
	n = f < 0 ? -1 : read(f, text, sizeof(text) - 1);
	if (f >= 0)
		close(f);
	if (n <= 0)
		prog_fail("read %s: %s", name, strerror(errno));
	text[n] = 0;
	out[0] = 0;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, "fanotify ", 9) && at < len)
			at += snprintf(out + at, len - at, "%s\n", l);
}

/* Reads every queued event of fd (closing event fds); the union of masks. */
static uint64_t drain(int fd, int *rdwr_fds)
{
	char buf[8192] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m;
	uint64_t all = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	while (poll(&p, 1, 1000) == 1 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (m = (void *)buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			all |= m->mask;
			if (m->fd >= 0) {
				if (rdwr_fds && (fcntl(m->fd, F_GETFL) & O_ACCMODE) == O_RDWR)
					(*rdwr_fds)++;
				close(m->fd);
			}
		}
	}
	return all;
}

static void setup_main(void)
{
	touch("f", 0644);
	touch("q", 0644);
	touch("e", 0644);
	touch("i", 0644);
	g = group(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY | O_LARGEFILE_K);
	g2 = group(FAN_CLASS_NOTIF, O_RDWR | O_LARGEFILE_K);
	mark(g, FAN_MARK_INODE, FAN_MODIFY, "f");
	mark(g, FAN_MARK_INODE | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_OPEN,
	     "q");
	mark(g, FAN_MARK_INODE | FAN_MARK_EVICTABLE, FAN_ATTRIB, "e");
	mark(g, FAN_MARK_INODE | FAN_MARK_IGNORE_SURV, FAN_CLOSE_WRITE, "i");
	mark(g, FAN_MARK_MOUNT, FAN_OPEN | FAN_CLOSE_WRITE, "");
	mark(g, FAN_MARK_FILESYSTEM, FAN_CREATE | FAN_ONDIR, "");
	mark(g2, FAN_MARK_INODE, FAN_CLOSE_WRITE, "f");
	drain(g, NULL);
	marks_of(g, info_g, sizeof(info_g));
	marks_of(g2, info_g2, sizeof(info_g2));
}

static void check_main(void)
{
	char now[8192];
	uint64_t got;
	int n = 0, rdwr = 0, fd;

	marks_of(g, now, sizeof(now));
	CHECK(!strcmp(now, info_g), "g: fdinfo now\n%s\nwas\n%s", now, info_g);
	marks_of(g2, now, sizeof(now));
	CHECK(!strcmp(now, info_g2), "g2: fdinfo now\n%s\nwas\n%s", now, info_g2);
	CHECK(fcntl(g, F_GETFL) & O_NONBLOCK, "g: FAN_NONBLOCK lost");
	CHECK(!(fcntl(g2, F_GETFL) & O_NONBLOCK), "g2: O_NONBLOCK set after restore");
	CHECK(!ioctl(g, FIONREAD, &n) && n == 0, "g: %d bytes queued after restore", n);
	fd = openat(dfd, "f", O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write f: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	touch("new", 0644);
	got = drain(g, NULL);
	CHECK((got & (FAN_MODIFY | FAN_OPEN | FAN_CLOSE_WRITE | FAN_CREATE)) ==
		      (FAN_MODIFY | FAN_OPEN | FAN_CLOSE_WRITE | FAN_CREATE),
	      "g: events %#llx lack some of MODIFY, OPEN, CLOSE_WRITE, CREATE",
	      (unsigned long long)got);
	got = drain(g2, &rdwr);
	CHECK((got & FAN_CLOSE_WRITE) && rdwr == 1,
	      "g2: events %#llx, %d event fds opened O_RDWR (expected CLOSE_WRITE, 1)",
	      (unsigned long long)got, rdwr);
}

/* DIR/secret's file handle into DIR/secret.fh ("DEV INO TYPE HEX"). */
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
	int fd;

	touch("pub", 0644);
	write_secret_handle();
	g = group(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY);
	mark(g, dropped ? FAN_MARK_MOUNT : FAN_MARK_INODE, dropped ? FAN_OPEN : FAN_MODIFY,
	     dropped ? "" : "pub");
	fd = openat(dfd, "pub", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		prog_fail("open pub: %s", strerror(errno));
	prog_keep_out_open();
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		prog_fail("drop to 65534: %s", strerror(errno));
	prog_ready();
	prog_wait_go();
	CHECK(write(fd, "x", 1) == 1, "write pub: %s", strerror(errno));
	CHECK(drain(g, NULL) & FAN_MODIFY, "no FAN_MODIFY for a write to pub");
	prog_finish();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 3 ? argv[3] : "main";

	prog_init(argc, argv, "fanotify");
	if (argc < 3)
		prog_fail("usage: fanotify OUTFILE DIR [main|queued|content|user|dropped]");
	dir = argv[2];
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		prog_fail("open %s: %s", dir, strerror(errno));
	if (!strcmp(mode, "user") || !strcmp(mode, "dropped"))
		run_user(!strcmp(mode, "dropped"));
	if (!strcmp(mode, "content")) {
		touch("f", 0644);
		g = group(FAN_CLASS_CONTENT, O_RDONLY);
		mark(g, FAN_MARK_INODE, FAN_OPEN_PERM, "f");
	} else {
		setup_main();
		if (!strcmp(mode, "queued"))
			touch("x", 0644); /* g: FAN_CREATE, FAN_OPEN ... stay queued */
	}
	prog_ready();
	prog_wait_go();
	if (!strcmp(mode, "main"))
		check_main();
	prog_finish();
}
