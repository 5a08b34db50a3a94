/*
 * tty-job: a shell job whose controlling terminal is outside the tree (the
 * harness's small shell runs it in a group of its own, in the foreground
 * of a pseudo-terminal).  Before "ready" it puts the terminal in the modes
 * of a full-screen program (no ICANON, no ECHO, ISIG kept, VMIN 1) and
 * records its ctty.  After "go" (restored by a vxrestore that is itself a
 * job of another such shell, on another pty) it checks, itself:
 *   - its ctty is the terminal on its fd 0 (the invoking one), and its
 *     group is that terminal's foreground group;
 *   - the terminal has the saved modes (a key arrives alone, unechoed);
 * then it says "want-key", reads one key ("k"), says "want-int", waits
 * for SIGINT typed on the terminal (^C), says "want-stop" and waits to be
 * stopped by ^Z and continued (the shell's fg of vxrestore), and checks it
 * is the foreground group again.
 */
#include <poll.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include "prog.h"

static volatile sig_atomic_t got_int, got_cont;

static void on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

static void on_cont(int sig)
{
	(void)sig;
	got_cont = 1;
}

/* Our ctty is the terminal on fd 0, and we are its foreground group. */
static int ctty_is_stdin(void)
{
	unsigned int dev = 0;
	struct stat st;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY), ok;

	if (fd < 0)
		return 0;
	ok = !ioctl(fd, TIOCGDEV, &dev) && !fstat(0, &st) &&
	     makedev(major(dev), minor(dev)) == st.st_rdev;
	close(fd);
	return ok;
}

/* Waits up to 60 s for flag.  0 or -1. */
static int wait_flag(volatile sig_atomic_t *flag)
{
	sigset_t none;
	int i;

	sigemptyset(&none);
	for (i = 0; i < 600 && !*flag; i++)
		usleep(100000);
	return *flag ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct termios t;
	struct pollfd p = { 0, POLLIN, 0 };
	char key = 0;

	prog_init(argc, argv, "tty-job");
	if (!ctty_is_stdin() || tcgetpgrp(0) != getpgrp())
		prog_fail("not a foreground job on the terminal of fd 0");
	if (tcgetattr(0, &t))
		prog_fail("tcgetattr: %s", strerror(errno));
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_lflag |= ISIG;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &t))
		prog_fail("tcsetattr: %s", strerror(errno));
	signal(SIGINT, on_int);
	signal(SIGCONT, on_cont);
	prog_ready();
	prog_wait_go();
	CHECK(ctty_is_stdin(), "the controlling terminal is not the invoking one on fd 0");
	CHECK(tcgetpgrp(0) == getpgrp(), "not the foreground group (%d, ours %d)", tcgetpgrp(0),
	      getpgrp());
	CHECK(!tcgetattr(0, &t) && !(t.c_lflag & (ICANON | ECHO)) && (t.c_lflag & ISIG),
	      "terminal modes not restored: lflag %#x", t.c_lflag);
	prog_say("want-key\n");
	CHECK(poll(&p, 1, 60000) == 1 && read(0, &key, 1) == 1 && key == 'k',
	      "no key 'k' alone from the terminal (got %#x)", key);
	prog_say("want-int\n");
	CHECK(!wait_flag(&got_int), "^C did not reach us");
	got_cont = 0;
	prog_say("want-stop\n");
	CHECK(!wait_flag(&got_cont), "not stopped and continued");
	CHECK(tcgetpgrp(0) == getpgrp(), "not the foreground group after fg (%d, ours %d)",
	      tcgetpgrp(0), getpgrp());
	prog_finish();
}
