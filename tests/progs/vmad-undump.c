/*
 * vmad-undump: calls vmad_undump() on an image, as BProc's undump does.
 * On success it never returns: this process (same pid, same parent) is the
 * image's.  On a refusal it checks that it is exactly as before the call
 * (memory, pid, fds, the image fd's offset when seekable, cwd, signal mask,
 * disposition, no extra child) and
 * prints "refused errno=N (NAME): REASON" then "caller intact", exit 3;
 * "caller changed: WHAT", exit 4.
 *
 * Usage: vmad-undump IMAGE | fd:N | vfork:IMAGE
 *   vfork:IMAGE: a vfork child calls it (must be refused: EBUSY), this
 *   process checks it is intact.
 *   Prints "caller pid P" first.  Linked with the library (shared, so the
 *   tests' test build with its hooks is the one used).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vxcr/vmadump.h"
#include "vxcr/vxcr.h"

static volatile unsigned long canary[1024];
static volatile sig_atomic_t got_usr2;
static volatile int child_errno; /* vfork: the child's, in our memory */

static void on_usr2(int sig)
{
	(void)sig;
	got_usr2 = 1;
}

static void log_stderr(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)lvl;
	(void)arg;
	fprintf(stderr, "vmad-undump: %s", msg);
}

static int changed(const char *what)
{
	printf("caller changed: %s\n", what);
	return 4;
}

int main(int argc, char **argv)
{
	char cwd[256], cwd2[256];
	sigset_t mask, mask2;
	struct sigaction sa = { .sa_handler = on_usr2 }, sa2;
	struct stat st;
	pid_t pid = getpid();
	int fd, keep, err, i, fd_open, vfork_mode = 0;
	off_t off;

	if (argc != 2) {
		fprintf(stderr, "usage: vmad-undump IMAGE | fd:N\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (getenv("VXCR_LOG")) { /* the library's log on stderr, as vxcr's */
		vxcr_set_log(log_stderr, NULL);
		vxcr_set_log_level((enum vxcr_log_level)atoi(getenv("VXCR_LOG")));
	}
	printf("caller pid %d\n", (int)pid);
	for (i = 0; i < 1024; i++)
		canary[i] = 0x5a5a0000UL + i;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	keep = open("/dev/null", O_RDONLY);
	if (!getcwd(cwd, sizeof(cwd)))
		return 2;
	if (!strncmp(argv[1], "vfork:", 6))
		vfork_mode = 1;
	if (!strncmp(argv[1], "fd:", 3))
		fd = atoi(argv[1] + 3);
	else
		fd = open(argv[1] + (vfork_mode ? 6 : 0), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	fd_open = fcntl(fd, F_GETFD) >= 0;
	off = lseek(fd, 0, SEEK_CUR);
	if (vfork_mode) { /* a child sharing our memory must be refused */
		pid_t c = vfork();

		if (c == 0) {
			vmad_undump(fd);
			child_errno = errno;
			_exit(0);
		}
		waitpid(c, NULL, 0);
		err = child_errno;
	} else {
		vmad_undump(fd);
		err = errno;
	}
	printf("refused errno=%d (%s): %s\n", err, strerror(err), vxcr_last_error());
	for (i = 0; i < 1024; i++)
		if (canary[i] != 0x5a5a0000UL + i)
			return changed("memory");
	if (getpid() != pid)
		return changed("pid");
	if (fstat(keep, &st) || !S_ISCHR(st.st_mode) || (fcntl(fd, F_GETFD) >= 0) != fd_open)
		return changed("fds");
	if (lseek(fd, 0, SEEK_CUR) != off)
		return changed("the image fd's offset");
	if (!getcwd(cwd2, sizeof(cwd2)) || strcmp(cwd, cwd2))
		return changed("cwd");
	sigprocmask(SIG_SETMASK, NULL, &mask2);
	if (sigismember(&mask2, SIGHUP) != 1 || sigismember(&mask2, SIGUSR1) != 0)
		return changed("signal mask");
	sigaction(SIGUSR2, NULL, &sa2);
	if (sa2.sa_handler != on_usr2)
		return changed("SIGUSR2 disposition");
	raise(SIGUSR2);
	if (!got_usr2)
		return changed("SIGUSR2 not delivered");
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		return changed("it has a child");
	printf("caller intact\n");
	return 3;
}
