/*
 * pty: pseudo-terminal pairs held by the tree, and a session whose
 * controlling terminal is one of them.
 *
 *   pty OUTFILE            the full case, checked after restore
 *   pty OUTFILE MODE       a state the dump must refuse (no check after):
 *     masteronly   a master whose slave no process holds
 *     unread-out   bytes the slave wrote, not read from the master
 *     unread-in    bytes written to the master, not read from the slave
 *
 * Full case.  Pair A: master (packet mode) and slave both held by the root
 * (the slave twice, a dup on fd 20), unusual termios on the slave (no
 * ICANON/ECHO, VMIN 1, VEOF ^A, VERASE ^H, no ONLCR, 57600 baud), others
 * on the master, a window size with pixels, TIOCEXCL on the slave.  Child
 * C1 is a session leader with A's slave as controlling terminal; its child
 * G leads a group of its own, the terminal's foreground group.  Pair B:
 * slave held, master locked again after the slave was opened.
 * After "go" the root checks: every termios, size, mode and lock as set;
 * the slave fd and master fd are one pair (bytes both ways, the packet
 * header), the slave's name is the master's ptsname; C1 and G have A's
 * slave as ctty (/proc tty_nr), NT has none, G's group is the foreground
 * one (tpgid);
 * then ^C written to the master reaches G (SIGINT to the foreground
 * group), G checks its own /dev/tty and exits 42, C1 passes it on.
 */
#include <poll.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "prog.h"

static int ma = -1, sa = -1, mb = -1, sb = -1, pr = -1, pw = -1;
static pid_t c1 = -1, g = -1, nt = -1;
static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

/* A new pair: master (O_RDWR|O_NOCTTY) and its slave.  Exits on failure. */
static void open_pair(int *m, int *s)
{
	*m = posix_openpt(O_RDWR | O_NOCTTY);
	if (*m < 0 || grantpt(*m) || unlockpt(*m))
		prog_fail("posix_openpt: %s", strerror(errno));
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY);
	if (*s < 0)
		prog_fail("open %s: %s", ptsname(*m), strerror(errno));
}

static void slave_modes(struct termios *t)
{
	tcgetattr(sa, t);
	t->c_lflag &= ~(ICANON | ECHO | ECHOE | IEXTEN);
	t->c_lflag |= ISIG;
	t->c_oflag &= ~ONLCR;
	t->c_iflag &= ~ICRNL;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
	t->c_cc[VEOF] = 1;
	t->c_cc[VERASE] = 8;
	cfsetispeed(t, B57600);
	cfsetospeed(t, B57600);
}

static void master_modes(struct termios *t)
{
	tcgetattr(ma, t);
	t->c_cc[VKILL] = 0x0b;
}

static const struct winsize want_ws = { 33, 111, 777, 555 };

/* G: a group of its own, waits for SIGINT from the terminal. */
static void run_g(void)
{
	unsigned int dev = 0;
	struct stat st;
	int fd;

	signal(SIGINT, on_int);
	if (setpgid(0, 0))
		_exit(2);
	while (!got_int)
		pause();
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || ioctl(fd, TIOCGDEV, &dev) || fstat(sa, &st) ||
	    makedev(major(dev), minor(dev)) != st.st_rdev)
		_exit(3);
	_exit(tcgetpgrp(fd) == getpgrp() ? 42 : 4);
}

/* NT: in C1's session, but gave up the ctty it inherited; waits for EOF. */
static void run_nt(void)
{
	char c;

	if (ioctl(sa, TIOCNOTTY))
		_exit(10);
	while (read(pr, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* C1: session leader with pair A's slave as ctty, G in the foreground. */
static void run_c1(void)
{
	int status, code = 9;
	pid_t w;

	close(pw);
	if (setsid() < 0 || ioctl(sa, TIOCSCTTY, 0))
		_exit(5);
	nt = fork();
	if (nt == 0)
		run_nt();
	g = fork();
	if (g < 0)
		_exit(6);
	if (g == 0)
		run_g();
	setpgid(g, g);
	if (tcsetpgrp(sa, g))
		_exit(7);
	while ((w = wait(&status)) > 0 || errno == EINTR)
		if (w == g)
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 9;
	_exit(code);
}

/* The ctty and foreground group /proc/PID/stat shows. */
static void proc_tty(pid_t pid, unsigned *tty_nr, int *tpgid)
{
	char path[64], buf[1024], *p;
	FILE *f;

	*tty_nr = 0;
	*tpgid = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %u %d", tty_nr, tpgid);
	fclose(f);
}

/* Reads exactly n bytes from fd within 10 s.  0 or -1. */
static int read_n(int fd, char *buf, size_t n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

static void check_termios(void)
{
	struct termios got;
	struct winsize ws;
	int v = 0;

	memset(&got, 0, sizeof(got));
	CHECK(!tcgetattr(sa, &got), "tcgetattr slave: %s", strerror(errno));
	CHECK(!(got.c_lflag & (ICANON | ECHO)) && (got.c_lflag & ISIG) && !(got.c_oflag & ONLCR),
	      "slave modes lost: lflag %#x oflag %#x", got.c_lflag, got.c_oflag);
	CHECK(got.c_cc[VMIN] == 1 && got.c_cc[VEOF] == 1 && got.c_cc[VERASE] == 8,
	      "slave c_cc lost: VEOF %d VERASE %d", got.c_cc[VEOF], got.c_cc[VERASE]);
	CHECK(cfgetospeed(&got) == B57600, "slave speed lost");
	CHECK(!tcgetattr(ma, &got) && got.c_cc[VKILL] == 0x0b, "master termios lost: VKILL %d",
	      got.c_cc[VKILL]);
	CHECK(!ioctl(ma, TIOCGWINSZ, &ws) && ws.ws_row == 33 && ws.ws_col == 111 &&
		      ws.ws_xpixel == 777 && ws.ws_ypixel == 555,
	      "window size %dx%d %dx%d", ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel);
	CHECK(!ioctl(ma, TIOCGPKT, &v) && v, "packet mode lost");
	CHECK(!ioctl(sa, TIOCGEXCL, &v) && v, "exclusive mode of the slave lost");
	CHECK(!ioctl(ma, TIOCGPTLCK, &v) && !v, "pair A locked");
	CHECK(!ioctl(mb, TIOCGPTLCK, &v) && v, "pair B not locked");
}

static void check_pairs(void)
{
	char buf[8], name[64];

	CHECK(!ttyname_r(sa, name, sizeof(name)) && !strcmp(name, ptsname(ma)),
	      "slave %s is not master's %s", name, ptsname(ma));
	CHECK(!ttyname_r(20, name, sizeof(name)) && !strcmp(name, ptsname(ma)),
	      "fd 20 (%s) is not the slave", name);
	CHECK(write(ma, "abc", 3) == 3 && !read_n(sa, buf, 3) && !memcmp(buf, "abc", 3),
	      "master -> slave bytes lost");
	CHECK(write(sa, "xyz", 3) == 3 && !read_n(ma, buf, 4) && !memcmp(buf, "\0xyz", 4),
	      "slave -> master bytes (packet mode) lost");
	CHECK(write(sb, "q", 1) == 1 && !read_n(mb, buf, 1) && buf[0] == 'q',
	      "pair B: slave -> master lost");
}

static void check_session(void)
{
	unsigned tty_nr;
	int tpgid, status;
	struct stat st;

	fstat(sa, &st);
	proc_tty(c1, &tty_nr, &tpgid);
	CHECK(tty_nr == (unsigned)(major(st.st_rdev) << 8 | minor(st.st_rdev)),
	      "C1 %d: ctty %#x, expected the slave's", c1, tty_nr);
	CHECK(tpgid == g, "C1's terminal foreground group %d, expected %d", tpgid, g);
	proc_tty(g, &tty_nr, &tpgid);
	CHECK(tty_nr == (unsigned)(major(st.st_rdev) << 8 | minor(st.st_rdev)),
	      "G %d: ctty %#x, expected the slave's", g, tty_nr);
	proc_tty(nt, &tty_nr, &tpgid);
	CHECK(tty_nr == 0, "NT %d: ctty %#x, expected none (it gave it up)", nt, tty_nr);
	close(pw);
	CHECK(write(ma, "\003", 1) == 1, "write ^C: %s", strerror(errno));
	alarm(20);
	CHECK(waitpid(c1, &status, 0) == c1 && WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "^C did not reach the foreground group as it should: C1 status %#x", status);
	alarm(0);
}

/* A refused state: set up, then wait to be killed by the harness. */
static void refused_mode(const char *mode)
{
	open_pair(&ma, &sa);
	if (!strcmp(mode, "masteronly"))
		close(sa);
	else if (!strcmp(mode, "unread-out"))
		(void)!write(sa, "out", 3);
	else if (!strcmp(mode, "unread-in")) {
		struct termios t;

		tcgetattr(sa, &t);
		cfmakeraw(&t);
		tcsetattr(sa, TCSANOW, &t);
		(void)!write(ma, "in", 2);
	} else
		prog_fail("unknown mode %s", mode);
	sleep(1); /* the pty's flip buffer reaches the other side */
	prog_ready();
	prog_wait_go();
	prog_finish();
}

int main(int argc, char **argv)
{
	struct termios t;
	int one = 1, pp[2];
	char gid[32];

	prog_init(argc, argv, "pty");
	if (argc > 2)
		refused_mode(argv[2]);
	open_pair(&ma, &sa);
	open_pair(&mb, &sb);
	if (pipe(pp))
		prog_fail("pipe: %s", strerror(errno));
	pr = pp[0];
	pw = pp[1];
	slave_modes(&t);
	if (tcsetattr(sa, TCSANOW, &t))
		prog_fail("tcsetattr slave: %s", strerror(errno));
	master_modes(&t);
	if (tcsetattr(ma, TCSANOW, &t))
		prog_fail("tcsetattr master: %s", strerror(errno));
	if (ioctl(ma, TIOCSWINSZ, &want_ws) || ioctl(ma, TIOCPKT, &one) || dup2(sa, 20) != 20 ||
	    ioctl(mb, TIOCSPTLCK, &one) || ioctl(sa, TIOCEXCL))
		prog_fail("pty setup: %s", strerror(errno));
	c1 = fork();
	if (c1 < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c1 == 0)
		run_c1();
	for (int i = 0; i < 200; i++) { /* G in the foreground */
		unsigned tty_nr;
		int tpgid;

		proc_tty(c1, &tty_nr, &tpgid);
		if (tpgid > 0 && tpgid != c1) {
			g = tpgid;
			break;
		}
		usleep(50000);
	}
	if (g <= 0)
		prog_fail("C1 did not put G in the foreground");
	snprintf(gid, sizeof(gid), "%d", g);
	for (int i = 0; i < 200 && nt <= 0; i++) { /* NT: C1's other child */
		char path[64], buf[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", c1, c1);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f)) {
			pid_t a = 0, b = 0;

			sscanf(buf, "%d %d", &a, &b);
			nt = a == g ? b : a;
		}
		if (f)
			fclose(f);
		if (nt <= 0)
			usleep(50000);
	}
	for (int i = 0; i < 200 && nt > 0; i++) { /* NT gave up its ctty */
		unsigned tty_nr;
		int tpgid;

		proc_tty(nt, &tty_nr, &tpgid);
		if (!tty_nr)
			break;
		usleep(50000);
	}
	if (nt <= 0)
		prog_fail("C1's child NT not found");
	prog_say("children %d %s %d\n", c1, gid, nt);
	prog_ready();
	prog_wait_go();
	check_termios();
	check_pairs();
	check_session();
	prog_finish();
}
