/*
 * vmad_undump on a stock kernel: the calling process becomes the image, in
 * place, as exec replaces a program: same pid, same parent (whose wait()
 * later sees the restored program's exit), the caller's session and group.
 *
 * Before the point of no return the caller reads the whole image into a
 * memfd, reads it once through (every checksum, the trailer, a signature
 * when VXCR_TRUSTED_KEYS names a key directory), plans it and runs every
 * check of the restore and of undump-check.c: any refusal returns -errno
 * with the caller as it was.  Then it forks a helper (double fork: the
 * middle process is reaped at once, so the restored program has no child
 * it did not have), which PTRACE_SEIZEs the caller with PTRACE_O_EXITKILL
 * (a killed helper kills the half-restored caller) and says so; the
 * caller then does the root's C part on itself (rst_root_prepare: fds,
 * attributes, dispositions, limits, the scratch area) and stops; the
 * helper drives the rest by injected system calls (restore_run with
 * img->in_place) and detaches.  Past that point a failure kills the
 * caller, as a failed exec past its point of no return.
 */
#define LOG_PREFIX "vmad/undump: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#include "log.h"
#include "error.h"
#include "util/report.h"
#include "util/testhook.h"
#include "vxcr/vserver-abi.h"
#include "restore/restore.h"
#include "vmad/undump.h"

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

/*
 * The caller shares neither its memory nor its fd table with its parent
 * (a vfork child, a CLONE_VM or CLONE_FILES child): the undump would
 * replace the parent's too.  The module answers EBUSY (mm_users,
 * files->count); kcmp(2) sees the parent only, the likely sharer.
 */
static int check_not_shared(void)
{
	pid_t self = getpid(), parent = getppid();

	if (parent > 0 && syscall(SYS_kcmp, self, parent, KCMP_VM, 0, 0) == 0) {
		err_set(-EBUSY, "vmad_undump: the caller shares its memory with its parent "
				"(vfork or CLONE_VM)");
		return -EBUSY;
	}
	if (parent > 0 && syscall(SYS_kcmp, self, parent, KCMP_FILES, 0, 0) == 0) {
		err_set(-EBUSY, "vmad_undump: the caller shares its fd table with its parent "
				"(CLONE_FILES)");
		return -EBUSY;
	}
	return 0;
}

/* The caller has one thread (a restore rebuilds one task: its other
 * threads would run in an address space torn down under them). */
static int check_one_thread(void)
{
	char line[128];
	int n = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0; /* no /proc: the restore itself will say so */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	if (n > 1) {
		err_set(-EBUSY, "vmad_undump: the caller has %d threads; it must have one", n);
		return -EBUSY;
	}
	return check_not_shared();
}

/* Copies the image from fd (its current position to its end) into a new
 * memfd above fd 2, which nobody else writes; a seekable fd's offset is
 * left where it was (pread), as the module reads at a private offset.
 * The memfd, or -errno. */
static int copy_image(int fd)
{
	static char buf[1 << 16];
	int mfd, hi;
	ssize_t n;
	off_t pos;

	mfd = memfd_create("vxcr-undump", MFD_CLOEXEC);
	if (mfd < 0) {
		err_set(-errno, "vmad_undump: memfd_create: %s", strerror(errno));
		return -errno;
	}
	hi = fcntl(mfd, F_DUPFD_CLOEXEC, 3); /* never one of the image's 0-2 */
	close(mfd);
	if (hi < 0)
		return -errno;
	pos = lseek(fd, 0, SEEK_CUR); /* seekable: read at our own offset, fd's stays */
	while ((n = pos < 0 ? read(fd, buf, sizeof(buf)) : pread(fd, buf, sizeof(buf), pos)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && pos >= 0)
			pos += n;
		if (n < 0 || write(hi, buf, n) != n) {
			err_set(-EIO, "vmad_undump: reading the image from fd %d: %s", fd,
				strerror(errno));
			close(hi);
			return n < 0 && errno == EBADF ? -EBADF : -EIO;
		}
	}
	lseek(hi, 0, SEEK_SET);
	return hi;
}

/* The whole image read once: framing, every crc, the trailer, and with
 * keys a valid signature over all of it.  0 or -errno (error set). */
static int verify_image(int fd, const struct vxcr_keyring *kr)
{
	struct img_reader *r = NULL;
	struct img_record rec;
	int ret;

	ret = img_reader_open(fd, &r);
	if (ret) {
		const char *why = img_last_open_error();

		ret = ret == -ENODATA || ret == -EPROTO ? -EBADMSG : ret;
		err_set(ret, "vmad_undump: not a vxcr image: %s", *why ? why : strerror(-ret));
		return ret;
	}
	ret = kr ? img_reader_set_keys(r, kr) : 0;
	while (!ret && (ret = img_read_record(r, &rec)) == 1)
		ret = 0;
	if (ret == -ENODATA) /* truncated: the module's answer */
		ret = -EBADMSG;
	if (ret < 0)
		err_set(ret, "vmad_undump: image: %s", img_reader_error(r));
	img_reader_free(r);
	if (ret < 0)
		return ret;
	return lseek(fd, 0, SEEK_SET) ? -errno : 0;
}

/* VXCR_TRUSTED_KEYS: a key directory; then only images signed by one of
 * its keys are undumped.  0 with *kr (NULL: no keys), or -errno. */
static int load_keys(struct vxcr_keyring **kr)
{
	const char *dir = getenv("VXCR_TRUSTED_KEYS");
	int ret;

	*kr = NULL;
	if (!dir || !*dir)
		return 0;
	ret = vxcr_keyring_load(dir, kr);
	if (ret)
		err_wrap("vmad_undump: VXCR_TRUSTED_KEYS");
	return ret;
}

/* Every pending signal of the caller taken (all are blocked): the
 * restored process gets the image's queues only. */
static void flush_signals(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t all;

	sigfillset(&all);
	while (sigtimedwait(&all, NULL, &zero) > 0)
		;
}

/* The helper (the caller's grandchild): seizes the caller, says so on
 * go_wr, drives the restore; exits 0 once the caller runs as the image. */
static void __attribute__((noreturn)) helper_main(struct rst_image *img, pid_t caller, int go_wr)
{
	pid_t pid;
	int ret;

	err_clear();
	close(rst_root(img)->ctl_wr); /* the caller's: its death is our EOF */
	rst_root(img)->ctl_wr = -1;
	setsid(); /* no job-control signal of the caller's terminal stops us */
	if (ptrace(PTRACE_SEIZE, caller, NULL, (void *)(long)RST_TRACE_OPTS)) {
		ret = -errno;
		err_set(ret, "vmad_undump: cannot trace the caller (pid %d): %s", caller,
			strerror(errno));
		report_send(go_wr, ret, NULL, 0);
		_exit(1);
	}
	report_send(go_wr, 0, NULL, 0);
	close(go_wr);
	test_pause("undump-seized");
	img_reader_set_threads(img->stream.rd, 0); /* ours from here on */
	ret = restore_run(img, &pid, NULL);
	if (ret)
		pr_err("pid %d: the undump failed past its point of no return, killed: %s\n",
		       caller, vxcr_last_error());
	_exit(ret ? 1 : 0);
}

/* Starts the helper (double fork, the middle one reaped) and waits until it
 * holds us.  0, or -errno with no helper left (error set). */
static int start_helper(struct rst_image *img)
{
	pid_t caller = getpid(), mid, r;
	int go[2], ret, status;

	if (pipe2(go, O_CLOEXEC)) {
		err_set(-errno, "vmad_undump: pipe: %s", strerror(errno));
		return -errno;
	}
	prctl(PR_SET_PTRACER, -1UL, 0, 0, 0); /* Yama: our grandchild may trace us */
	fflush(NULL);
	mid = fork();
	if (mid == 0) {
		close(go[0]);
		if (fork() == 0)
			helper_main(img, caller, go[1]);
		_exit(0);
	}
	close(go[1]);
	while (mid > 0 && (r = waitpid(mid, &status, 0)) < 0 && errno == EINTR)
		;
	ret = mid < 0 ? -errno : report_recv(go[0], NULL, 0);
	close(go[0]);
	prctl(PR_SET_PTRACER, 0, 0, 0, 0);
	if (ret == 1) {
		err_set(-ECHILD, "vmad_undump: the helper died before it held the caller");
		ret = -ECHILD;
	} else if (ret < 0 && mid < 0) {
		err_set(ret, "vmad_undump: fork: %s", strerror(-ret));
	}
	return ret;
}

/*
 * Past the point of no return: the root's part in C on ourselves, then a
 * stop the helper takes over from.  A failure is reported to the helper
 * (which kills us) and kills us anyway.
 */
static void __attribute__((noreturn)) become_image(struct rst_image *img)
{
	struct rst_proc *root = rst_root(img);
	int ret = 0;

	if (root->ctl_wr != img->ctl_fd) {
		if (dup2(root->ctl_wr, img->ctl_fd) < 0)
			ret = -errno;
		close(root->ctl_wr);
	}
	flush_signals();
	ret = ret ?: rst_root_prepare(root);
	if (!ret)
		raise(SIGSTOP); /* the helper rewrites us here: not back */
	report_send(img->ctl_fd, ret ?: -EINVAL, NULL, 0);
	for (;;)
		kill(getpid(), SIGKILL);
}

/* The image planned and checked in img (the caller's pid as its root's).
 * Returns only a refusal before the point of no return. */
static int undump_planned(struct rst_image *img)
{
	struct rst_proc *root = rst_root(img);
	sigset_t all, old, pending;
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC)) {
		err_set(-errno, "vmad_undump: pipe: %s", strerror(errno));
		return -errno;
	}
	root->pid = getpid();
	root->ctl_rd = fds[0];
	root->ctl_wr = fds[1];
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old); /* the helper's SIGCHLD stays pending */
	sigpending(&pending);
	ret = start_helper(img);
	if (!ret)
		become_image(img);
	if (!sigismember(&pending, SIGCHLD)) { /* refused: the caller as it was */
		struct timespec zero = { 0, 0 };

		sigemptyset(&all);
		sigaddset(&all, SIGCHLD);
		sigtimedwait(&all, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/* Reads, checks and plans the image on mfd, then undumps it. */
static int undump_image(int mfd, const struct vxcr_keyring *kr, uint64_t t0)
{
	struct vxcr_restore_opts o;
	struct rst_image *img;
	int ret;

	vxcr_restore_opts_init(&o); /* inherit_stdio: external 0-2 are ours */
	o.trusted_keys = kr;
	img = rst_image_new(mfd, &o);
	if (!img) {
		err_set(-ENOMEM, "vmad_undump: out of memory");
		return -ENOMEM;
	}
	img->in_place = true;
	img->t0 = t0;
	ret = plan_read(img);
	ret = ret ?: undump_check_image(img);
	ret = ret ?: undump_check_creds(img); /* before the host's files are looked at */
	ret = ret ?: check_plan(img);
	ret = ret ?: test_fail("undump-check");
	if (!ret)
		ret = undump_planned(img);
	if (ret && !err_is_set())
		err_set(ret, "vmad_undump: %s", strerror(-ret));
	rst_image_free(img);
	return ret;
}

static int undump_self(int fd)
{
	struct vxcr_keyring *kr = NULL;
	struct timespec ts;
	uint64_t t0;
	int mfd, ret;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (fcntl(fd, F_GETFD) < 0) {
		err_set(-EBADF, "vmad_undump: fd %d is not open", fd);
		return -EBADF;
	}
	ret = check_one_thread() ?: load_keys(&kr);
	if (ret)
		return ret;
	mfd = copy_image(fd);
	if (mfd < 0) {
		vxcr_keyring_free(kr);
		return mfd;
	}
	ret = verify_image(mfd, kr) ?: undump_image(mfd, kr, t0);
	close(mfd);
	vxcr_keyring_free(kr);
	return ret;
}

long vmad_undump_local(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_vmad_undump_v0 *u = data;

	(void)cmd;
	if (id || u->flags) {
		err_set(-EINVAL, "vmad_undump: id %u, flags %#x: both must be 0", id, u->flags);
		return -EINVAL;
	}
	return undump_self(u->fd);
}
