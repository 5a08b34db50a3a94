/*
 * tty: fds 0-2 are a terminal (the harness starts it on a pseudo-terminal),
 * and fd 7 another description of it (opened by its name).  Before "ready"
 * it writes "tty-before PID" to stdout and records ttyname(0..2, 7) as
 * "before fdN NAME" lines in OUTFILE; after "go" it checks
 * fds 0-2 are still terminals, records "after fdN NAME", and writes
 * "tty-after-out PID" to stdout and "tty-after-err PID" to stderr (the
 * harness checks where those lines arrive and which terminal fds 0-2 are).
 */
#include "prog.h"

/* Writes a whole line to fd; 0 or -1. */
static int put_line(int fd, const char *what)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s %d\n", what, (int)getpid());

	return write(fd, buf, n) == n ? 0 : -1;
}

/* Records ttyname(fd) in OUTFILE as "WHEN fdN NAME"; 1 if fd is a tty. */
static int note_tty(const char *when, int fd)
{
	char name[256];
	int ret = ttyname_r(fd, name, sizeof(name));

	if (ret)
		snprintf(name, sizeof(name), "(%s)", strerror(ret));
	prog_say("%s fd%d %s\n", when, fd, name);
	return isatty(fd);
}

int main(int argc, char **argv)
{
	int fd;

	prog_init(argc, argv, "tty");
	fd = open(ttyname(0), O_RDWR | O_NOCTTY);
	if (fd < 0 || dup2(fd, 7) != 7)
		prog_fail("cannot open %s on fd 7: %s", ttyname(0), strerror(errno));
	close(fd);
	for (fd = 0; fd < 3; fd++)
		if (!note_tty("before", fd))
			prog_fail("fd %d is not a terminal before the dump", fd);
	note_tty("before", 7);
	if (put_line(1, "tty-before"))
		prog_fail("write to stdout: %s", strerror(errno));
	prog_ready();
	prog_wait_go();
	for (fd = 0; fd < 3; fd++)
		CHECK(note_tty("after", fd), "fd %d is not a terminal after restore: %s", fd,
		      strerror(errno));
	CHECK(note_tty("after", 7), "fd 7 is not a terminal after restore: %s", strerror(errno));
	CHECK(put_line(7, "tty-after-fd7") == 0, "write to fd 7: %s", strerror(errno));
	CHECK(!put_line(1, "tty-after-out"), "write to stdout: %s", strerror(errno));
	CHECK(!put_line(2, "tty-after-err"), "write to stderr: %s", strerror(errno));
	prog_finish();
}
