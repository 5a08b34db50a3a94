/*
 * vxcr-exec: the binfmt_misc interpreter of executable images (vxcr binfmt
 * install).  The kernel runs it in place of an image with the execute bit,
 * as `vxcr-exec IMAGE ARGS...` in the process that called execve, and with
 * the O flag hands it the image already open (AT_EXECFD).  It undumps the
 * image into that same process (vmad_undump): the program the image holds
 * runs with this pid, the invoker's stdio (the image's external fds 0-2)
 * and the invoker's rights, never more.
 *
 * A refusal is one line "vxcr-exec: IMAGE: reason" and exit status 126
 * (the shells' "cannot execute"); past vmad_undump's point of no return a
 * failure kills the process, as a failed exec does.  VXCR_TRUSTED_KEYS=DIR:
 * only images signed by a key of DIR run.  VXCR_LOG=N: library log level.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>

#include "vxcr/vmadump.h"
#include "vxcr/vxcr.h"

/* Library log lines but errors, which come back from vmad_undump once. */
static void log_warnings(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl != VXCR_LOG_ERR)
		fprintf(stderr, "vxcr-exec: %s", msg);
}

int main(int argc, char **argv)
{
	const char *image = argc > 1 ? argv[1] : NULL;
	const char *lvl = getenv("VXCR_LOG");
	unsigned long afd;
	int fd;

	if (!image) {
		fprintf(stderr, "usage: vxcr-exec IMAGE [ARGS...] (run by binfmt_misc: see "
				"vxcr binfmt)\n");
		return 2;
	}
	vxcr_set_log(log_warnings, NULL);
	if (lvl && *lvl >= '0' && *lvl <= '3' && !lvl[1])
		vxcr_set_log_level((enum vxcr_log_level)(*lvl - '0'));
	errno = 0;
	afd = getauxval(AT_EXECFD);
	if (!errno && afd > 2)
		fd = (int)afd; /* binfmt_misc's O flag: the image the kernel opened */
	else
		fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vxcr-exec: %s: %s\n", image, strerror(errno));
		return 126;
	}
	vmad_undump(fd);
	fprintf(stderr, "vxcr-exec: %s: %s\n", image, vxcr_last_error());
	return 126;
}
