/*
 * track-migrate: a live migration's memory path without the channel, for
 * t-track: the tree of PID is tracked (lib/dump/track.h) into a page store
 * (lib/img/pstore.h) for ROUNDS rounds, each after a SIGUSR2 to PID
 * (tests/progs/mem-dirty rewrites a chunk for it); then vxcr_dump() with
 * the tracker (vxcr_dump_opts.mig: the last round after the seize, the
 * held pages as PARENT ranges) into IMAGE, which kills the tree; then
 * vxcr_restore() of IMAGE with the store (vxcr_restore_opts.pages).
 * Prints "sent N held M image B" and "restored PID", or "failed ...".
 *
 * Usage: track-migrate PID IMAGE ROUNDS
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vxcr/vxcr.h"
#include "dump/track.h"
#include "img/pstore.h"
#include "img/stream.h"

static int put(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len)
{
	return pstore_put(arg, key, addr, data, len);
}

static int drop(void *arg, uint32_t key, uint64_t addr, uint64_t len)
{
	return pstore_drop(arg, key, addr, len);
}

static void on_log(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VXCR_LOG_WARN)
		fprintf(stderr, "%s%s", msg, *msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static int failed(const char *what, int ret)
{
	printf("failed %s %d: %s\n", what, -ret, vxcr_last_error());
	return 1;
}

/* Rounds of the tracker, a SIGUSR2 to pid before each but the first. */
static int precopy(pid_t pid, struct track *t, const struct track_sink *s, int rounds,
		   uint64_t *sent)
{
	struct track_round st;
	int r, ret;

	for (r = 0; r < rounds; r++) {
		if (r && kill(pid, SIGUSR2))
			return -errno;
		usleep(100000); /* the chunk rewritten meanwhile */
		ret = track_round(t, s, &st);
		if (ret)
			return ret;
		*sent += st.pages_sent;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t id[16] = { 0x7a, 0x11 };
	struct vxcr_dump_opts d;
	struct vxcr_restore_opts o;
	struct vxcr_dump_mig mig;
	struct track_round fin;
	struct vxcr_pstore *ps = NULL;
	struct track *t = NULL;
	struct img_sink *out = NULL;
	struct track_sink s;
	struct stat sb;
	uint64_t sent = 0;
	pid_t pid, rpid;
	int fd, ret, i;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PID IMAGE ROUNDS\n", argv[0]);
		return 2;
	}
	vxcr_set_log(on_log, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = atoi(argv[1]);
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || pstore_new(id, &ps) || img_sink_fd(fd, NULL, &out))
		return failed("setup", -errno);
	s = (struct track_sink){ put, drop, ps };
	ret = track_start(pid, NULL, &t);
	ret = ret ?: precopy(pid, t, &s, atoi(argv[3]), &sent);
	if (ret)
		return failed("pre-copy", ret);
	kill(pid, SIGUSR2); /* one more chunk: it goes in the last round */
	usleep(100000);
	vxcr_dump_opts_init(&d);
	d.compress = false;
	memset(&mig, 0, sizeof(mig));
	mig = (struct vxcr_dump_mig){ out, t, &s, &fin, pstore_id(ps), NULL, NULL };
	d.mig = &mig;
	ret = vxcr_dump(pid, -1, &d, NULL);
	track_free(t);
	if (ret)
		return failed("dump", ret);
	fstat(fd, &sb);
	printf("sent %llu held %llu image %lld\n", (unsigned long long)sent,
	       (unsigned long long)fin.pages_held, (long long)sb.st_size);
	img_sink_free(out);
	for (i = 0; i < 500 && !kill(pid, 0); i++)
		usleep(10000); /* killed by the dump: gone once its reaper waited */
	usleep(200000); /* kill(pid, 0) says ESRCH before clone3 may reuse the pid: seen here */
	lseek(fd, 0, SEEK_SET);
	vxcr_restore_opts_init(&o);
	o.detach = true;
	o.pages = ps;
	ret = vxcr_restore(fd, &o, &rpid, NULL);
	if (ret)
		return failed("restore", ret);
	printf("restored %d\n", rpid);
	pstore_free(ps);
	return 0;
}
