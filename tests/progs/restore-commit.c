/*
 * restore-commit: restores an image through vxcr_restore() with a commit
 * hook (vxcr_restore_opts.commit), linked with the library, for
 * t-restore-commit.  The hook appends "commit" to REPORT (it may run in
 * another process of the restore: a PID namespace's init, a context's
 * supervisor), then:
 *   ok    lets the tree run (0);
 *   fail  refuses (-EPERM): the restore must be undone;
 *   wait  reads one byte from FIFO: a byte lets it run, end of file (the
 *         test killed the writer, as a killed `vxcr serve` would close
 *         its end) refuses it (-ECONNRESET).
 * Prints "restored PID" (the root as seen here) and exits 0, or "failed
 * ERRNO: message" and exits 1.
 *
 * Usage: restore-commit ok|fail|wait IMAGE REPORT [--pidns] [--rundir DIR] [FIFO]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/vxcr.h"

struct hook {
	const char *mode;
	int report; /* O_APPEND */
	int fifo;   /* wait: -1 otherwise */
};

static int commit(void *arg)
{
	const struct hook *h = arg;
	char c;
	ssize_t n;

	if (write(h->report, "commit\n", 7) != 7)
		return -EIO;
	if (!strcmp(h->mode, "fail"))
		return -EPERM;
	if (!strcmp(h->mode, "wait")) {
		do
			n = read(h->fifo, &c, 1);
		while (n < 0 && errno == EINTR);
		return n == 1 ? 0 : -ECONNRESET;
	}
	return 0;
}

static void on_log(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VXCR_LOG_WARN)
		fprintf(stderr, "%s%s", msg, *msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

int main(int argc, char **argv)
{
	struct vxcr_restore_opts o;
	struct hook h = { .fifo = -1 };
	const char *fifo = NULL;
	pid_t pid;
	int i, fd, ret;

	if (argc < 4) {
		fprintf(stderr,
			"usage: %s ok|fail|wait IMAGE REPORT [--pidns] [--rundir DIR] "
			"[FIFO]\n",
			argv[0]);
		return 2;
	}
	vxcr_set_log(on_log, NULL);
	vxcr_restore_opts_init(&o);
	h.mode = argv[1];
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--pidns"))
			o.pidns = true;
		else if (!strcmp(argv[i], "--rundir") && i + 1 < argc)
			o.rundir = argv[++i];
		else
			fifo = argv[i];
	}
	h.report = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || h.report < 0) {
		perror("open");
		return 1;
	}
	if (!strcmp(h.mode, "wait")) {
		h.fifo = fifo ? open(fifo, O_RDONLY | O_CLOEXEC) : -1;
		if (h.fifo < 0) {
			perror("fifo");
			return 1;
		}
	}
	o.detach = true;
	o.commit = commit;
	o.commit_arg = &h;
	ret = vxcr_restore(fd, &o, &pid, NULL);
	if (ret) {
		printf("failed %d: %s\n", -ret, vxcr_last_error());
		return 1;
	}
	printf("restored %d\n", pid);
	return 0;
}
