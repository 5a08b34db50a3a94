/*
 * vmad_dump: the calling process writes its own image and goes on; in a
 * copy restored from that image the call returns 0.  Through the switch:
 * with the kernel module the kernel does it (kernel/ckpt.c), without it
 * vmadump_provider() below.
 *
 * The caller blocks every signal, starts a helper (helper.c), tells it to
 * go and blocks in read() on the report pipe, whose write end only the
 * helper holds.  The helper dumps the caller alone (root_only) with the
 * library's dump, leaving out the image's fd and both pipes, and reports
 * the bytes written.  The image therefore holds the caller inside that
 * read(), to be restarted, and without the pipe: a restored copy's read()
 * finds no such fd, the live one's finds the report.  Which copy it is is
 * told by the pipe's identity (its inode, kept in memory before the
 * dump), not by what read() returned: a helper that died also leaves the
 * live copy without a report.  Both copies then close what is left of the
 * pipes and put back the signal mask and errno; pending signals stayed
 * pending, blocked, all along (NOTES "The VMADump dump side").
 */
#define LOG_PREFIX "vmad: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "error.h"
#include "util/report.h"
#include "vxcr/vmadump.h"
#include "vxcr/vserver.h"
#include "vmad/dump.h"

struct self_job {
	pid_t pid; /* the caller */
	int fd;	   /* the image goes here */
	unsigned int flags;
	struct vmad_libs libs;
};

/* fd open for writing, as write(2) wants it: 0 or -EBADF. */
static int check_out_fd(int fd)
{
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_RDONLY) {
		err_set(-EBADF, "vmad_dump: fd %d is not open for writing", fd);
		return -EBADF;
	}
	return 0;
}

/* In the helper: dumps the caller, reports the bytes written. */
static void self_dump_run(void *arg, const struct vmad_helper *h)
{
	const struct self_job *j = arg;
	/* the image's fd stays out, as the module leaves it, unless it is
	 * one of 0-2: a restored copy keeps its stdio (vxrestore's own) */
	int skip[3] = { h->res[0], h->go[1], j->fd };
	struct vxcr_dump_stats st;
	struct vxcr_dump_opts o;
	int64_t bytes = 0;
	int ret;

	if (!vmadump_helper_wait_go(h))
		return;
	vxcr_dump_opts_init(&o);
	o.leave_running = true;
	o.no_cow = true; /* the caller waits anyway: frozen until read */
	o.root_only = true;
	o.skip_fds = skip;
	o.n_skip_fds = j->fd > 2 ? 3 : 2;
	o.file_contents = j->flags;
	o.file_refs = (const char *const *)j->libs.paths;
	o.n_file_refs = j->libs.n;
	ret = vmadump_target(j->pid, j->fd, &o, &st);
	if (!ret)
		bytes = (int64_t)st.image_bytes;
	report_send(h->res[1], ret, &bytes, sizeof(bytes));
}

/* The checks the module makes, in its order, then ours: 0 or -errno. */
static int self_dump_check(int fd, unsigned int flags)
{
	int ret;

	if (flags & ~VMAD_DUMP_ALL) {
		err_set(-EINVAL, "vmad_dump: unknown flags %#x", flags & ~VMAD_DUMP_ALL);
		return -EINVAL;
	}
	ret = check_out_fd(fd);
	if (ret)
		return ret;
	if (vmadump_self_threads() > 1) {
		err_set(-EBUSY, "vmad_dump: the caller has other threads, which would run on "
				"while it is dumped (a single-threaded caller only)");
		return -EBUSY;
	}
	return 0;
}

/*
 * Waits for the helper's report on h (the live copy) or finds itself
 * restored.  Returns the bytes, 0 (restored) or -errno.
 */
static long self_dump_wait(struct vmad_helper *h, const struct stat *pipe_st)
{
	struct stat now;
	int64_t bytes = 0;
	int ret;

	if (vmadump_helper_go(h))
		return -EPIPE;
	/* here the image is taken; a restored copy starts in this read() */
	ret = report_recv(h->res[0], &bytes, sizeof(bytes));
	if (fstat(h->res[0], &now) || now.st_ino != pipe_st->st_ino ||
	    now.st_dev != pipe_st->st_dev) {
		/* restored: these fds are not ours (the image has none there) */
		h->res[0] = h->go[1] = -1;
		err_clear();
		return 0;
	}
	if (ret == 1) {
		err_set(-EINTR, "vmad_dump: the helper process died before the image was "
				"complete");
		return -EINTR;
	}
	return ret < 0 ? ret : (long)bytes;
}

long vmadump_provider(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_vmad_dump_v0 *a = data;
	struct self_job job = { .pid = getpid(), .fd = a->fd, .flags = a->flags };
	struct vmad_helper h = { .run = self_dump_run, .arg = &job };
	int saved_errno = errno;
	sigset_t all, old;
	struct stat pipe_st;
	long ret;

	if (id) {
		err_set(-EINVAL, "vmad_dump: id must be 0");
		return -EINVAL;
	}
	ret = self_dump_check(a->fd, a->flags);
	ret = ret ?: vmadump_libs_copy(&job.libs);
	if (ret)
		return ret;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	ret = vmadump_helper_start(&h);
	if (!ret && fstat(h.res[0], &pipe_st))
		ret = -errno;
	ret = ret ?: self_dump_wait(&h, &pipe_st);
	vmadump_helper_close(&h);
	vmadump_libs_free(&job.libs);
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved_errno;
	return ret;
}

long vmad_dump(int fd, unsigned int flags)
{
	struct vcmd_vmad_dump_v0 a = { .fd = fd, .flags = flags };
	long ret = vserver(VCMD_vmad_dump, 0, &a);

	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
