/*
 * Terminals (fd kinds "ptmx", "pts", "tty"), and each task's controlling
 * terminal.  A pseudo-terminal master held by the tree (FILE_PTMX) and its
 * slave (FILE_PTS) are recorded as a pair to be made anew at restore (the
 * old /dev/pts/N may belong to someone else by then): termios of each side
 * (TCGETS2), window size, packet mode, lock and exclusive mode.  Nothing is
 * read from a terminal: bytes buffered in either direction cannot be read
 * without consuming them, so a pair with unread bytes is refused.  Any
 * other terminal (a slave whose master is outside the tree, /dev/tty, a
 * console) is the tree's terminal outside it (FILE_TTY, external): restore
 * gives every fd of it the invoking terminal, never the old one by path;
 * its termios go with it.  There can be only one such terminal.
 *
 * tty_collect() runs once every process is collected: it pairs slaves with
 * masters, refuses what cannot be restored, and classifies each task's
 * controlling terminal (/proc/PID/stat tty_nr, tpgid).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <asm/termbits.h>

#define LOG_PREFIX "dump/tty: "
#include "log.h"
#include "dump/dump.h"

#define PTMX_MAJOR 5
#define PTMX_MINOR 2
#define TTY_MAJOR_CTTY 5 /* /dev/tty: minor 0 */
#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST 143
#define TTY_NCC sizeof(((struct termios2 *)0)->c_cc)

/* A terminal's sub-message and what the collector needs besides it. */
struct tty_sub {
	TtyEntry e; /* first: df->sub points here */
	uint8_t cc[TTY_NCC];
	uint64_t devpts; /* PTMX/PTS: st_dev of its devpts instance */
	uint64_t rdev;	 /* the real terminal (TIOCGDEV), for FILE_TTY */
	int inq;	 /* bytes queued for reading on this side */
	bool paired;	 /* PTMX: a slave of the tree was found */
};

static bool is_pts_dev(dev_t d)
{
	return major(d) >= PTS_MAJOR_FIRST && major(d) <= PTS_MAJOR_LAST;
}

static uint32_t pts_index(dev_t d)
{
	return (major(d) - PTS_MAJOR_FIRST) * 256 + minor(d);
}

static bool is_ptmx(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && major(p->st.st_rdev) == PTMX_MAJOR &&
	       minor(p->st.st_rdev) == PTMX_MINOR;
}

static bool is_pts(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && is_pts_dev(p->st.st_rdev);
}

static bool is_tty(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && p->local >= 0 && isatty(p->local);
}

/* A new sub-message for df, of kind kind.  NULL without memory. */
static struct tty_sub *tty_sub_new(struct dump_file *df, FileKind kind)
{
	struct tty_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	tty_entry__init(&s->e);
	df->sub = s;
	df->e.tty = &s->e;
	df->e.kind = kind;
	return s;
}

/* The termios of the side fd is on.  0 or -errno (logged; -EOPNOTSUPP). */
static int read_termios(const struct fd_probe *p, int fd, struct tty_sub *s)
{
	struct termios2 t;

	if (ioctl(fd, TCGETS2, &t)) {
		pr_perror("pid %d fd %d: %s: TCGETS2", p->pid, p->fd, p->link);
		return -errno;
	}
	if (t.c_line != 0) {
		pr_err("pid %d fd %d: terminal %s: line discipline %u is not supported\n", p->pid,
		       p->fd, p->link, t.c_line);
		return -EOPNOTSUPP;
	}
	PB_SET(&s->e, iflag, t.c_iflag);
	PB_SET(&s->e, oflag, t.c_oflag);
	PB_SET(&s->e, cflag, t.c_cflag);
	PB_SET(&s->e, lflag, t.c_lflag);
	PB_SET(&s->e, line, t.c_line);
	memcpy(s->cc, t.c_cc, TTY_NCC);
	s->e.has_cc = true;
	s->e.cc.data = s->cc;
	s->e.cc.len = TTY_NCC;
	PB_SET(&s->e, ispeed, t.c_ispeed);
	PB_SET(&s->e, ospeed, t.c_ospeed);
	return 0;
}

/* TIOCGEXCL and the bytes waiting to be read on this side.  0 or -errno. */
static int read_side(const struct fd_probe *p, int fd, struct tty_sub *s)
{
	int excl = 0;

	if (ioctl(fd, TIOCGEXCL, &excl) || ioctl(fd, FIONREAD, &s->inq)) {
		pr_perror("pid %d fd %d: %s: TIOCGEXCL/FIONREAD", p->pid, p->fd, p->link);
		return -errno;
	}
	PB_SET(&s->e, exclusive, excl != 0);
	return 0;
}

/* The devpts instance a master opened as /dev/ptmx belongs to. */
static uint64_t master_devpts(const struct fd_probe *p)
{
	char path[64];
	struct stat st;

	if (fd_link_starts(p, "/dev/pts/"))
		return p->st.st_dev;
	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts", p->pid);
	return stat(path, &st) ? 0 : st.st_dev;
}

/* A pty master: the pair's state on the master side.  0 or -errno. */
static int dump_ptmx(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct tty_sub *s = tty_sub_new(df, FILE_KIND__FILE_PTMX);
	int fd = df->local_fd, n = 0, pkt = 0, lck = 0, ret;
	struct pollfd pfd = { fd, POLLPRI, 0 };
	struct winsize ws;

	if (!s)
		return -ENOMEM;
	if (fd < 0 || ioctl(fd, TIOCGPTN, &n) || ioctl(fd, TIOCGWINSZ, &ws) ||
	    ioctl(fd, TIOCGPKT, &pkt) || ioctl(fd, TIOCGPTLCK, &lck)) {
		pr_perror("pid %d fd %d: pty master: TIOCGPTN/GWINSZ/GPKT/GPTLCK", p->pid, p->fd);
		return fd < 0 ? -EBADF : -errno;
	}
	ret = read_termios(p, fd, s) ?: read_side(p, fd, s);
	if (ret)
		return ret;
	if (pkt && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLPRI)) {
		pr_err("pid %d fd %d: pty master of /dev/pts/%d: a packet-mode status byte is not "
		       "read yet; it cannot be read without consuming it: not supported\n",
		       p->pid, p->fd, n);
		return -EOPNOTSUPP;
	}
	PB_SET(&s->e, index, (uint32_t)n);
	PB_SET(&s->e, ws_row, ws.ws_row);
	PB_SET(&s->e, ws_col, ws.ws_col);
	PB_SET(&s->e, ws_xpixel, ws.ws_xpixel);
	PB_SET(&s->e, ws_ypixel, ws.ws_ypixel);
	PB_SET(&s->e, packet, pkt != 0);
	PB_SET(&s->e, locked, lck != 0);
	s->devpts = master_devpts(p);
	return fd_set_path(df, p->link);
}

/*
 * A pty slave: its side's state.  Paired with its master by tty_collect(),
 * or, if the master is outside the tree, made the external terminal.
 */
static int dump_pts(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct tty_sub *s = tty_sub_new(df, FILE_KIND__FILE_PTS);
	int ret;

	if (!s)
		return -ENOMEM;
	if (proc_strip_deleted(p->link)) {
		pr_err("pid %d fd %d: terminal node %s was removed: not supported\n", p->pid, p->fd,
		       p->link);
		return -EOPNOTSUPP;
	}
	if (df->local_fd < 0)
		return -EBADF;
	ret = read_termios(p, df->local_fd, s) ?: read_side(p, df->local_fd, s);
	if (ret)
		return ret;
	PB_SET(&s->e, index, pts_index(p->st.st_rdev));
	s->devpts = p->st.st_dev;
	s->rdev = p->st.st_rdev;
	return fd_set_path(df, p->link);
}

/* Any other terminal: the tree's terminal outside it (or a refusal). */
static int dump_tty(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct tty_sub *s = tty_sub_new(df, FILE_KIND__FILE_TTY);
	unsigned int dev = 0;
	int ret;

	if (!s)
		return -ENOMEM;
	if (proc_strip_deleted(p->link)) {
		pr_err("pid %d fd %d: terminal node %s was removed: not supported\n", p->pid, p->fd,
		       p->link);
		return -EOPNOTSUPP;
	}
	if (ioctl(df->local_fd, TIOCGDEV, &dev)) {
		pr_perror("pid %d fd %d: terminal %s: TIOCGDEV", p->pid, p->fd, p->link);
		return -errno;
	}
	ret = read_termios(p, df->local_fd, s);
	if (ret)
		return ret;
	s->rdev = makedev(major(dev), minor(dev));
	PB_SET(&df->e, external, true);
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_ptmx = { "ptmx", is_ptmx, dump_ptmx, NULL };
const struct dump_fd_kind dump_fd_pts = { "pts", is_pts, dump_pts, NULL };
const struct dump_fd_kind dump_fd_tty = { "tty", is_tty, dump_tty, NULL };

/* ret if it is an error already, else r: the first hard error wins. */
static int first_error(int ret, int r)
{
	return ret ? ret : r;
}

static struct tty_sub *sub_of(struct dump_file *df)
{
	return (struct tty_sub *)df->sub;
}

/* The master of the tree whose slave is pty index (devpts 0: any).  NULL if none. */
static struct dump_file *find_master(struct dump_op *op, uint64_t devpts, uint32_t index)
{
	size_t i;

	for (i = 0; i < op->files.n; i++) {
		struct dump_file *df = &op->files.v[i];

		if (df->e.kind == FILE_KIND__FILE_PTMX && df->sub && sub_of(df)->e.index == index &&
		    (!devpts || sub_of(df)->devpts == devpts))
			return df;
	}
	return NULL;
}

/*
 * The one terminal outside the tree: *ext is its device (0 until one is
 * seen); a second one is refused.  what names the holder.  0 or -EOPNOTSUPP.
 */
static int note_outside(uint64_t *ext, uint64_t rdev, const char *what)
{
	if (!*ext || *ext == rdev) {
		*ext = rdev;
		return 0;
	}
	pr_err("%s: a second terminal (%u:%u) outside the tree (the first is %u:%u): only one "
	       "can be given the invoking terminal\n",
	       what, major(rdev), minor(rdev), major(*ext), minor(*ext));
	return -EOPNOTSUPP;
}

/* Pairs slaves with masters; a slave without one is external.  0 or -errno. */
static int pair_files(struct dump_op *op, uint64_t *ext)
{
	char what[96];
	size_t i;
	int ret = 0;

	for (i = 0; i < op->files.n; i++) {
		struct dump_file *df = &op->files.v[i], *m;
		struct tty_sub *s = sub_of(df);

		if (df->e.kind != FILE_KIND__FILE_PTS && df->e.kind != FILE_KIND__FILE_TTY)
			continue;
		snprintf(what, sizeof(what), "pid %d fd %d (%s)", df->first_pid, df->first_fd,
			 df->path ? df->path : "?");
		m = df->e.kind == FILE_KIND__FILE_PTS ? find_master(op, s->devpts, s->e.index) :
							NULL;
		if (!m) {
			/* its master is not ours: the tree's terminal outside it */
			df->e.kind = FILE_KIND__FILE_TTY;
			PB_SET(&df->e, external, true);
			s->e.has_index = false;
			s->e.has_exclusive = false;
			ret = first_error(ret,
					  dump_refusal(op, NULL, note_outside(ext, s->rdev, what)));
			continue;
		}
		PB_SET(&s->e, pty_id, m->e.id);
		sub_of(m)->paired = true;
		if (s->inq > 0) {
			pr_err("%s: %d bytes typed into the pty are not read yet; they cannot be "
			       "read without consuming them: not supported\n",
			       what, s->inq);
			ret = first_error(ret, dump_refusal(op, NULL, -EOPNOTSUPP));
		}
	}
	return ret;
}

/* Every master needs its slave in the tree and an empty output queue. */
static int check_masters(struct dump_op *op)
{
	size_t i;
	int ret = 0, r;

	for (i = 0; i < op->files.n; i++) {
		struct dump_file *df = &op->files.v[i];
		struct tty_sub *s = sub_of(df);

		if (df->e.kind != FILE_KIND__FILE_PTMX)
			continue;
		r = 0;
		if (!s->paired) {
			pr_err("pid %d fd %d: pty master of /dev/pts/%u: no process of the tree "
			       "holds its slave: not supported\n",
			       df->first_pid, df->first_fd, s->e.index);
			r = -EOPNOTSUPP;
		} else if (s->inq > 0) {
			pr_err("pid %d fd %d: pty master of /dev/pts/%u: %d bytes the slave wrote "
			       "are not read yet; they cannot be read without consuming them: not "
			       "supported\n",
			       df->first_pid, df->first_fd, s->e.index, s->inq);
			r = -EOPNOTSUPP;
		}
		ret = first_error(ret, dump_refusal(op, NULL, r));
	}
	return ret;
}

static struct dump_task *live_task(struct dump_op *op, pid_t pid)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		if (op->tasks[i]->pid == pid && !op->tasks[i]->zombie)
			return op->tasks[i];
	return NULL;
}

static bool tree_group(struct dump_op *op, pid_t pgrp)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		if (op->tasks[i]->stat.pgrp == pgrp)
			return true;
	return false;
}

/* t's controlling terminal.  0 or -EOPNOTSUPP (logged). */
static int classify_ctty(struct dump_op *op, struct dump_task *t, uint64_t *ext)
{
	dev_t d = t->stat.tty_nr;
	struct dump_file *m = is_pts_dev(d) ? find_master(op, 0, pts_index(d)) : NULL;
	struct dump_task *leader;
	char what[48];

	snprintf(what, sizeof(what), "pid %d", t->pid);
	if (t->stat.tpgid > 0 && tree_group(op, t->stat.tpgid))
		t->tty_fg_pgrp = dump_vpid(op, t->stat.tpgid);
	if (!m) {
		t->ctty = VXCR_CTTY_OUTSIDE;
		if (t->stat.session == t->pid) {
			pr_err("pid %d: session leader whose controlling terminal (%u:%u) is outside "
			       "the tree: it cannot be given back (the invoking terminal belongs to "
			       "another session): not supported\n",
			       t->pid, major(d), minor(d));
			return -EOPNOTSUPP;
		}
		return note_outside(ext, d, what);
	}
	t->ctty = VXCR_CTTY_PTY;
	t->ctty_pty_id = m->e.id;
	leader = live_task(op, t->stat.session);
	if (!leader || leader->stat.tty_nr != t->stat.tty_nr) {
		pr_err("pid %d: its controlling terminal /dev/pts/%u is a pty of the tree but its "
		       "session leader %d is not a live process of the tree holding it: not "
		       "supported\n",
		       t->pid, pts_index(d), t->stat.session);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Image collector: pairs ptys, refuses what a restore cannot rebuild, and
 * gives every live task its controlling terminal.  0 or -errno (refusals
 * are counted one by one).
 */
int tty_collect(struct dump_op *op)
{
	uint64_t ext = 0;
	size_t i;
	int ret;

	ret = pair_files(op, &ext);
	ret = first_error(ret, check_masters(op));
	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		if (t->zombie || !t->stat.tty_nr)
			continue;
		ret = first_error(ret, dump_refusal(op, NULL, classify_ctty(op, t, &ext)));
	}
	return ret;
}
