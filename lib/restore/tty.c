/*
 * Terminals (file kinds FILE_PTMX, FILE_PTS, FILE_TTY) and controlling
 * terminals.  A pty pair of the tree is made anew: /dev/ptmx opened (the
 * node checked to be 5:2), its termios, window size and packet mode set,
 * its slave opened from it with TIOCGPTPEER (never /dev/pts/N by path),
 * the slave's termios set; the lock and exclusive modes come last
 * (post_open), once every description exists, and packet mode with them.  The tree's terminal outside
 * it (FILE_TTY, external) becomes the invoking terminal: vxrestore's own fd
 * 0-2 when the root held it there, else a new description of the first
 * terminal on vxrestore's fds 0-2 (reopened through /proc/self/fd: our own
 * terminal, not the old node's path), /dev/tty for a /dev/tty fd.
 *
 * Controlling terminals: a session leader whose ctty was a pty of the tree
 * takes the new slave (TIOCSCTTY) right after its setsid, before it forks
 * the session's members, and its foreground group is set once every group
 * exists (TIOCSPGRP injected in the leader).  A tree whose ctty was outside
 * it stays in vxrestore's session: vxrestore applies the saved termios to
 * its terminal and makes the tree's group the foreground one just before
 * the tree runs (tty_handover); the CLI then hands job control over.
 */
#define LOG_PREFIX "restore/tty: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <asm/termbits.h>

#include "log.h"
#include "util/inject.h"
#include "restore/restore.h"

#define TTY_NCC sizeof(((struct termios2 *)0)->c_cc)
#define TTY_OPEN_DROP (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY | O_ASYNC)

/* The termios fields of e are all there and sane.  0 or -EBADMSG. */
static int check_termios(const FileEntry *fe, const TtyEntry *e)
{
	if (!e->has_iflag || !e->has_oflag || !e->has_cflag || !e->has_lflag || !e->has_cc ||
	    e->cc.len != TTY_NCC) {
		pr_err("image: terminal (file id %u): incomplete termios\n", fe->id);
		return -EBADMSG;
	}
	if (e->line != 0) {
		pr_err("image: terminal (file id %u): line discipline %u is not supported\n",
		       fe->id, e->line);
		return -EBADMSG;
	}
	return 0;
}

/* Window size fields fit a struct winsize.  0 or -EBADMSG. */
static int check_winsize(const FileEntry *fe, const TtyEntry *e)
{
	if (e->ws_row > 0xffff || e->ws_col > 0xffff || e->ws_xpixel > 0xffff ||
	    e->ws_ypixel > 0xffff) {
		pr_err("image: pty master (file id %u): window size out of range\n", fe->id);
		return -EBADMSG;
	}
	return 0;
}

/* What every pty entry must have: its tty part, not external. */
static int check_pty_common(const struct rst_file *f, const char *what)
{
	const FileEntry *fe = f->fe;

	if (!fe->tty) {
		pr_err("image: %s (file id %u) has no tty entry\n", what, fe->id);
		return -EBADMSG;
	}
	if (fe->external) {
		pr_err("image: %s (file id %u) cannot be external\n", what, fe->id);
		return -EBADMSG;
	}
	return check_termios(fe, fe->tty);
}

static int check_ptmx(const struct rst_image *img, const struct rst_file *f)
{
	const TtyEntry *e = f->fe->tty;
	int ret = check_pty_common(f, "pty master");

	if (ret)
		return ret;
	if (e->has_pty_id) {
		pr_err("image: pty master (file id %u) names a master\n", f->fe->id);
		return -EBADMSG;
	}
	return check_winsize(f->fe, e);
}

/* The FILE_PTMX entry id, or NULL. */
static struct rst_file *master_of(const struct rst_image *img, uint32_t id)
{
	struct rst_file *m = plan_file(img, id);

	return m && m->fe->kind == FILE_KIND__FILE_PTMX ? m : NULL;
}

static int check_pts(const struct rst_image *img, const struct rst_file *f)
{
	const TtyEntry *e = f->fe->tty;
	int ret = check_pty_common(f, "pty slave");

	if (ret)
		return ret;
	if (!e->has_pty_id || !master_of(img, e->pty_id)) {
		pr_err("image: pty slave (file id %u): its master (file id %u) is not a pty master "
		       "of the image\n",
		       f->fe->id, e->pty_id);
		return -EBADMSG;
	}
	if (e->has_packet || e->has_locked || e->has_ws_row) {
		pr_err("image: pty slave (file id %u) has fields of a master\n", f->fe->id);
		return -EBADMSG;
	}
	return 0;
}

static int check_tty(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;

	if (!fe->external || fe->deleted) {
		pr_err("image: terminal (file id %u) is not the tree's outside terminal: a terminal "
		       "is never reopened by path\n",
		       fe->id);
		return -EBADMSG;
	}
	if (fe->tty && (fe->tty->has_pty_id || fe->tty->has_packet || fe->tty->has_locked)) {
		pr_err("image: terminal (file id %u) has fields of a pty\n", fe->id);
		return -EBADMSG;
	}
	return fe->tty ? check_termios(fe, fe->tty) : 0;
}

/* The first terminal on our fds 0-2, or -1. */
static int host_terminal(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (isatty(fd))
			return fd;
	return -1;
}

static bool is_dev_tty(const FileEntry *fe)
{
	return fe->has_rdev && fe->rdev == makedev(5, 0);
}

/* Does the root hold f on an fd 0-2 that takes our own (files.c)? */
static bool root_inherits(const struct rst_image *img, const struct rst_file *f)
{
	const FdtableEntry *fdt = rst_root(img)->fdt;
	size_t i;

	if (!img->opts->inherit_stdio || !fdt)
		return false;
	for (i = 0; i < fdt->n_fds; i++)
		if (fdt->fds[i]->file_id == f->fe->id && fdt->fds[i]->fd <= 2 &&
		    (int)fdt->fds[i]->fd != img->img_fd && fcntl(fdt->fds[i]->fd, F_GETFD) >= 0)
			return true;
	return false;
}

/* A controlling terminal of ours, or -ENXIO (logged with what). */
static int need_ctty(const char *what)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		pr_err("%s: vxrestore has no controlling terminal to give it\n", what);
		return -ENXIO;
	}
	close(fd);
	return 0;
}

/* The outside terminal gets ours: we must have one.  0 or -ENXIO. */
static int check_tty_host(const struct rst_image *img, const struct rst_file *f)
{
	char what[160];

	snprintf(what, sizeof(what), "terminal %s (file id %u)", f->fe->path ? f->fe->path : "?",
		 f->fe->id);
	if (is_dev_tty(f->fe))
		return need_ctty(what);
	if (root_inherits(img, f) || host_terminal() >= 0)
		return 0;
	pr_err("%s: vxrestore has no terminal on its fds 0-2 to give it (a terminal of another "
	       "session is never reopened by path)\n",
	       what);
	return -ENXIO;
}

/* TCSETS2 of e's termios on fd.  0 or -errno (logged). */
static int set_termios(int fd, const FileEntry *fe, const TtyEntry *e)
{
	struct termios2 t;

	memset(&t, 0, sizeof(t));
	t.c_iflag = e->iflag;
	t.c_oflag = e->oflag;
	t.c_cflag = e->cflag;
	t.c_lflag = e->lflag;
	t.c_line = 0;
	memcpy(t.c_cc, e->cc.data, TTY_NCC);
	t.c_ispeed = e->ispeed;
	t.c_ospeed = e->ospeed;
	if (ioctl(fd, TCSETS2, &t)) {
		pr_perror("terminal (file id %u): TCSETS2", fe->id);
		return -errno;
	}
	return 0;
}

/* A new pty master with the pair's state.  0 or -errno (logged). */
static int open_ptmx(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	const TtyEntry *e = fe->tty;
	struct winsize ws = { e->ws_row, e->ws_col, e->ws_xpixel, e->ws_ypixel };
	int fd, unlock = 0;
	struct stat st;

	fd = open("/dev/ptmx", (fe->flags & ~TTY_OPEN_DROP) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pty master (file id %u): /dev/ptmx", fe->id);
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2)) {
		pr_err("pty master (file id %u): /dev/ptmx is not the pty multiplexer\n", fe->id);
		close(fd);
		return -EPERM;
	}
	if (ioctl(fd, TIOCSPTLCK, &unlock) || ioctl(fd, TIOCSWINSZ, &ws)) {
		pr_perror("pty master (file id %u): TIOCSPTLCK/SWINSZ", fe->id);
		close(fd);
		return -errno;
	}
	if (set_termios(fd, fe, e)) {
		close(fd);
		return -EIO;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, fe->flags);
}

/* The slave of a new pair, from its master (opened first if need be). */
static int open_pts(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	struct rst_file *m = master_of(img, fe->tty->pty_id);
	int fd, ret;

	if (m->stage_fd < 0) {
		ret = open_ptmx(img, m);
		if (ret)
			return ret;
	}
	fd = ioctl(m->stage_fd, TIOCGPTPEER, (fe->flags & ~TTY_OPEN_DROP) | O_NOCTTY);
	if (fd < 0) {
		pr_perror("pty slave (file id %u): TIOCGPTPEER", fe->id);
		return -errno;
	}
	if (set_termios(fd, fe, fe->tty)) {
		close(fd);
		return -EIO;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

/*
 * Last, once every description exists: packet mode (after the slave's
 * termios, whose changes would otherwise queue packet status bytes), the
 * lock and exclusive modes.
 */
static int post_open_pty(const struct rst_image *img, struct rst_file *f)
{
	const TtyEntry *e = f->fe->tty;
	int lock = 1, pkt = 1;

	if (e->packet && ioctl(f->stage_fd, TIOCPKT, &pkt)) {
		pr_perror("pty master (file id %u): TIOCPKT", f->fe->id);
		return -errno;
	}
	if (e->locked && ioctl(f->stage_fd, TIOCSPTLCK, &lock)) {
		pr_perror("pty master (file id %u): TIOCSPTLCK", f->fe->id);
		return -errno;
	}
	if (e->exclusive && ioctl(f->stage_fd, TIOCEXCL)) {
		pr_perror("terminal (file id %u): TIOCEXCL", f->fe->id);
		return -errno;
	}
	return 0;
}

/* The outside terminal, not handed over on fds 0-2: the invoking one. */
static int open_tty(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	int flags = (fe->flags & ~TTY_OPEN_DROP) | O_NOCTTY, fd;
	char self[32];
	struct stat st;

	if (is_dev_tty(fe)) {
		fd = open("/dev/tty", flags | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, &st) || st.st_rdev != makedev(5, 0))) {
			close(fd);
			errno = EPERM;
			fd = -1;
		}
	} else if (img->host_tty >= 0) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", img->host_tty);
		fd = open(self, flags);
	} else {
		errno = ENXIO;
		fd = -1;
	}
	if (fd < 0) {
		pr_perror("terminal %s (file id %u): cannot give it the invoking terminal",
			  fe->path ? fe->path : "?", fe->id);
		return -errno;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

const struct rst_fd_kind rst_fd_ptmx = {
	.kind = FILE_KIND__FILE_PTMX,
	.name = "pty master",
	.check_image = check_ptmx,
	.open = open_ptmx,
	.post_open = post_open_pty,
};
const struct rst_fd_kind rst_fd_pts = {
	.kind = FILE_KIND__FILE_PTS,
	.name = "pty slave",
	.check_image = check_pts,
	.open = open_pts,
	.post_open = post_open_pty,
};
const struct rst_fd_kind rst_fd_tty = {
	.kind = FILE_KIND__FILE_TTY,
	.name = "terminal",
	.type = S_IFCHR,
	.stdio = true,
	.check_image = check_tty,
	.check_host = check_tty_host,
	.open = open_tty,
};

/*
 * Root's C part, before its fds are closed: keeps our first terminal on a
 * temporary fd for open_tty().  tty_drop_host() closes it.
 */
void tty_keep_host(struct rst_image *img)
{
	int fd = host_terminal();

	img->host_tty = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, img->temp_base);
}

void tty_drop_host(struct rst_image *img)
{
	if (img->host_tty >= 0)
		close(img->host_tty);
	img->host_tty = -1;
}

/* The pool fd of a slave of pair ptmx_id in the tree's files, or -1. */
static int slave_pool_fd(const struct rst_image *img, uint32_t ptmx_id)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (f->fe->kind == FILE_KIND__FILE_PTS && f->fe->tty->pty_id == ptmx_id)
			return file_pool_fd(img, f);
	}
	return -1;
}

/* Image check: every task's ctty fields against the files and the tree. */
int tty_check_tasks(const struct rst_image *img)
{
	size_t i, j;

	for (i = 0; i < img->nr_procs; i++) {
		const TaskEntry *t = img->procs[i]->task, *l = NULL;

		if (t->ctty > VXCR_CTTY_PTY || (t->has_ctty_pty_id && t->ctty != VXCR_CTTY_PTY)) {
			pr_err("image: pid %u: bad controlling terminal %u\n", t->pid, t->ctty);
			return -EBADMSG;
		}
		if (t->ctty == VXCR_CTTY_PTY &&
		    (!master_of(img, t->ctty_pty_id) || slave_pool_fd(img, t->ctty_pty_id) < 0)) {
			pr_err("image: pid %u: controlling terminal: file id %u is not a pty pair of "
			       "the image\n",
			       t->pid, t->ctty_pty_id);
			return -EBADMSG;
		}
		for (j = 0; j < img->nr_procs; j++)
			if (img->procs[j]->task->pid == t->sid)
				l = img->procs[j]->task;
		if (t->ctty == VXCR_CTTY_PTY &&
		    (!l || l->ctty != VXCR_CTTY_PTY || l->ctty_pty_id != t->ctty_pty_id ||
		     l->state == TASK_STATE_DEAD)) {
			pr_err("image: pid %u: its pty controlling terminal is not its session "
			       "leader's\n",
			       t->pid);
			return -EBADMSG;
		}
		if (t->ctty == VXCR_CTTY_OUTSIDE && t->sid == t->pid) {
			pr_err("image: pid %u: a session leader cannot take the invoking terminal\n",
			       t->pid);
			return -EBADMSG;
		}
		if (t->has_tty_fg_pgrp && !t->ctty) {
			pr_err("image: pid %u: a foreground group without a terminal\n", t->pid);
			return -EBADMSG;
		}
		for (j = 0; t->has_tty_fg_pgrp && j < img->nr_procs; j++)
			if (img->procs[j]->task->pgid == t->tty_fg_pgrp &&
			    img->procs[j]->task->sid == t->sid)
				break;
		if (t->has_tty_fg_pgrp && j == img->nr_procs) {
			pr_err("image: pid %u: foreground group %u is not a group of its session\n",
			       t->pid, t->tty_fg_pgrp);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Host check: a tree whose ctty was outside needs ours.  0 or -ENXIO. */
int tty_check_host(const struct rst_image *img)
{
	size_t i;
	char what[48];

	for (i = 0; i < img->nr_procs; i++) {
		if (img->procs[i]->task->ctty != VXCR_CTTY_OUTSIDE)
			continue;
		snprintf(what, sizeof(what), "pid %u: its controlling terminal",
			 img->procs[i]->task->pid);
		return need_ctty(what);
	}
	return 0;
}

/*
 * Root's C part, after its setsid/setpgid: a session leader takes the new
 * slave as its ctty; a task that had none drops the one it got from us.
 */
int tty_root_ctty(struct rst_proc *proc)
{
	const TaskEntry *t = proc->task;
	int fd;

	if (t->ctty == VXCR_CTTY_PTY) {
		fd = slave_pool_fd(proc->img, t->ctty_pty_id);
		if (ioctl(fd, TIOCSCTTY, 0)) {
			pr_perror("pid %u: TIOCSCTTY", t->pid);
			return -errno;
		}
	} else if (t->ctty == VXCR_CTTY_NONE && t->sid != t->pid) {
		fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0 && ioctl(fd, TIOCNOTTY))
			pr_warn("pid %u: TIOCNOTTY: %s\n", t->pid, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* An fd of the outside terminal in the pool (a FILE_TTY's), or -1. */
static int outside_pool_fd(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++)
		if (img->files[i].fe->kind == FILE_KIND__FILE_TTY)
			return file_pool_fd(img, &img->files[i]);
	return -1;
}

/*
 * The forker whose ctty a forked task inherits, when that is a process of
 * the tree (not a helper), else NULL.
 */
static const TaskEntry *ctty_forker(const struct rst_proc *c)
{
	const struct rst_proc *f = c->forker;

	if (c->role != RST_CHILD || !f || f->role == RST_HELPER || f != c->parent)
		return NULL;
	return f->task;
}

/* An fd of the ctty t has (its pool fd), -1 if none. */
static int ctty_fd(const struct rst_image *img, const TaskEntry *t)
{
	if (t->ctty == VXCR_CTTY_PTY)
		return slave_pool_fd(img, t->ctty_pty_id);
	return t->ctty == VXCR_CTTY_OUTSIDE ? outside_pool_fd(img) : -1;
}

/*
 * Image check, once helpers_plan() chose each task's forker: a forked
 * task that is not a session leader inherits its forker's ctty; it can
 * drop it (TIOCNOTTY through a pool fd of it), never take another.
 */
int tty_check_inherit(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];
		const TaskEntry *t = c->task, *f = ctty_forker(c);

		if (!f || t->sid == t->pid || t->state == TASK_STATE_DEAD)
			continue;
		if (t->ctty && (t->ctty != f->ctty || t->ctty_pty_id != f->ctty_pty_id)) {
			pr_err("pid %u: its controlling terminal is not the one its parent %u has: "
			       "it cannot be given (only a session leader takes one)\n",
			       t->pid, f->pid);
			return -EOPNOTSUPP;
		}
		if (!t->ctty && f->ctty && ctty_fd(img, f) < 0) {
			pr_err("pid %u: had no controlling terminal but would inherit its parent's, "
			       "of which the image holds no fd to drop it with\n",
			       t->pid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/*
 * A forked task right after its setsid or setpgid: a session leader takes
 * its pty ctty; a member that had no ctty drops the one it inherited.
 */
int tty_child_ctty(struct rst_proc *c)
{
	const TaskEntry *t = c->task, *f = ctty_forker(c);
	long r = 0;

	if (t->sid == t->pid && t->ctty == VXCR_CTTY_PTY)
		r = rst_inject(c, "TIOCSCTTY", SYS_ioctl, slave_pool_fd(c->img, t->ctty_pty_id),
			       TIOCSCTTY, 0, 0, 0, 0);
	else if (t->sid != t->pid && !t->ctty && f && f->ctty)
		r = rst_inject(c, "TIOCNOTTY", SYS_ioctl, ctty_fd(c->img, f), TIOCNOTTY, 0, 0, 0,
			       0);
	return r < 0 ? (int)r : 0;
}

/* Every group in place: each pty session's foreground group (TIOCSPGRP). */
int tty_restore_fg(struct rst_image *img)
{
	uint64_t arg = img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	size_t i;
	long r;

	for (i = 0; i < img->nr_procs; i++) {
		struct rst_proc *c = img->procs[i];
		const TaskEntry *t = c->task;
		int32_t pgrp = (int32_t)t->tty_fg_pgrp;

		if (t->ctty != VXCR_CTTY_PTY || t->sid != t->pid || !t->has_tty_fg_pgrp ||
		    t->tty_fg_pgrp == t->pgid || t->state == TASK_STATE_DEAD)
			continue;
		r = inject_write(c->pid, arg, &pgrp, sizeof(pgrp));
		r = r	  ?:
			    rst_inject(c, "TIOCSPGRP", SYS_ioctl,
				       slave_pool_fd(img, t->ctty_pty_id), TIOCSPGRP, arg, 0, 0, 0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

/* The saved termios of the outside terminal, or NULL. */
static const FileEntry *outside_termios(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++)
		if (img->files[i].fe->kind == FILE_KIND__FILE_TTY && img->files[i].fe->tty)
			return img->files[i].fe;
	return NULL;
}

/*
 * Just before the tree runs, when its ctty was outside it: our terminal
 * gets its saved termios and its foreground group becomes the tree's
 * (img->job_pgrp, for the CLI's job control).  0 or -errno (logged).
 */
int tty_handover(struct rst_image *img)
{
	const struct rst_proc *root = rst_root(img);
	const FileEntry *fe = outside_termios(img);
	pid_t fg = 0;
	sigset_t ttou, old;
	size_t i;
	int fd, ret = 0;

	for (i = 0; i < img->nr_procs; i++)
		if (img->procs[i]->task->ctty == VXCR_CTTY_OUTSIDE) {
			if (img->procs[i]->task->has_tty_fg_pgrp)
				fg = img->procs[i]->task->tty_fg_pgrp;
			break;
		}
	if (i == img->nr_procs)
		return 0;
	if (!fg)
		fg = getpgid(root->pid);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open our controlling terminal");
		return -errno;
	}
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (fe && set_termios(fd, fe, fe->tty))
		ret = -EIO;
	if (!ret && ioctl(fd, TIOCSPGRP, &fg)) {
		pr_perror("cannot make group %d the foreground one of our terminal", fg);
		ret = -errno;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd);
	if (!ret)
		img->job_pgrp = fg;
	return ret;
}
