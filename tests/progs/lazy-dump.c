/*
 * lazy-dump: the source side of a post-copy migration's dump without the
 * channel: `lazy-dump PID IMAGE` dumps PID (killed as a migration's dump
 * does) into IMAGE with its big private areas written as IMG_PAGES_LAZY
 * ranges, and prints "lazy N" (the areas).  Such an image is for vxcr
 * serve only: t-mig-lazy checks that vxrestore refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/vxcr.h"
#include "dump/track.h"
#include "img/stream.h"

static void on_log(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VXCR_LOG_WARN)
		fprintf(stderr, "%s%s", msg, *msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static int on_lazy(void *arg, pid_t pid, uint32_t key, uint64_t start, uint64_t end)
{
	(void)pid;
	(void)key;
	(void)start;
	(void)end;
	++*(unsigned *)arg;
	return 0;
}

int main(int argc, char **argv)
{
	struct vxcr_dump_opts d;
	struct vxcr_dump_mig mig;
	struct img_sink *out = NULL;
	unsigned areas = 0;
	int fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PID IMAGE\n", argv[0]);
		return 2;
	}
	vxcr_set_log(on_log, NULL);
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || img_sink_fd(fd, NULL, &out)) {
		perror("setup");
		return 1;
	}
	vxcr_dump_opts_init(&d);
	memset(&mig, 0, sizeof(mig));
	mig.sink = out;
	mig.lazy = on_lazy;
	mig.lazy_arg = &areas;
	d.mig = &mig;
	ret = vxcr_dump(atoi(argv[1]), -1, &d, NULL);
	img_sink_free(out);
	close(fd);
	if (ret) {
		fprintf(stderr, "dump: %s\n", strerror(-ret));
		return 1;
	}
	printf("lazy %u\n", areas);
	return 0;
}
