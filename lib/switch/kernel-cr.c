/*
 * The kernel module's checkpoint and restart of one process, for a user
 * who asks for them (vxdump/vxrestore --kernel): task_dump and
 * vmad_undump through vserver(), and vxcr_kernel_restore(), which makes
 * the process with the image's pid and has it undump itself.
 *
 * vxcr_dump()/vxcr_restore() never take this path on their own: the
 * module's checkpoint is one process with fds 0-2, where the library's
 * handles trees, files, sockets and namespaces (NOTES, "cli (issue 17)").
 */
#define LOG_PREFIX "kernel: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "img/img.h"
#include "img/records.h"
#include "util/clone3.h"
#include "vxcr/image.h"
#include "vxcr/vserver.h"
#include "switch/kmod.h"

#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif

static int kmod_present(void)
{
	const char *path = vxcr_kernel_module_dev();
	struct stat st;

	if (path && !stat(path, &st))
		return 0;
	err_set(-ENOTTY, "needs the kernel module vxcr.ko (%s)",
		path ? path : "VXCR_VSERVER_DEV is empty");
	return -ENOTTY;
}

int vxcr_kernel_module(void)
{
	err_op_begin();
	return err_op_end(kmod_present());
}

long vxcr_task_dump(pid_t pid, int fd, unsigned int flags)
{
	struct vcmd_task_dump_v0 td = { .pid = pid, .fd = fd, .flags = flags };
	long ret;

	err_op_begin();
	ret = kmod_present();
	if (!ret) {
		ret = vserver(VCMD_task_dump, 0, &td);
		if (ret < 0)
			err_set((int)ret, "task_dump of pid %d: %s", pid, strerror((int)-ret));
	}
	return err_op_end_long(ret);
}

long vxcr_vmad_undump(int fd, unsigned int flags)
{
	struct vcmd_vmad_undump_v0 u = { .fd = fd, .flags = flags };
	long ret;

	err_op_begin();
	ret = kmod_present();
	if (!ret) {
		ret = vserver(VCMD_vmad_undump, 0, &u);
		if (ret < 0)
			err_set((int)ret, "vmad_undump: %s", strerror((int)-ret));
	}
	return err_op_end_long(ret);
}

/* Options of vxcr_restore() the module's restart cannot honour: the first
 * one set, by its vxrestore name, or NULL. */
static const char *unsupported_opt(const struct vxcr_restore_opts *o)
{
	if (o->netns)
		return "--netns";
	if (o->rundir)
		return "--rundir";
	if (o->manage_cgroups)
		return "--manage-cgroups";
	if (o->n_parents)
		return "--parent";
	if (o->commit || o->pages || o->lazy)
		return "a commit callback or migration pages";
	return NULL;
}

/* A seekable copy of a stream image (a pipe, stdin): the module reads a
 * file twice, so that every refusal leaves the process as it was.  copy:
 * a regular file too (the bytes whose signature is checked are then the
 * bytes the module reads: nobody else writes our memfd). */
static int seekable_image(int fd, bool copy)
{
	char buf[1 << 16];
	struct stat st;
	ssize_t n;
	int mfd;

	if (fstat(fd, &st)) {
		pr_perror("image");
		return -errno;
	}
	if (S_ISREG(st.st_mode) && !copy) {
		/* our own fd above 2: the child's 0-2 stay what the image's name */
		mfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return mfd < 0 ? -errno : mfd;
	}
	mfd = memfd_create("vxcr-image", MFD_CLOEXEC);
	if (mfd < 0) {
		pr_perror("memfd_create");
		return -errno;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(mfd, buf, n) != n) {
			pr_perror("copying the image");
			close(mfd);
			return -EIO;
		}
	}
	lseek(mfd, 0, SEEK_SET);
	return mfd;
}

/* Counts of what decides whether the module can take the image. */
struct kscan {
	unsigned tasks, cores;
	uint32_t refused; /* a record type the module refuses, or 0 */
	uint32_t pid;
};

static bool module_takes(uint32_t type)
{
	return img_rec_vmad_restores(type) || type == IMG_REC_TRAILER || type == IMG_REC_PAGES ||
	       type == IMG_REC_SIGNATURE;
}

/* Reads the whole image once (checksums, trailer) for its pid and what the
 * module would refuse, then goes back to where it started. */
static int scan_image(int fd, const struct vxcr_keyring *kr, struct kscan *k)
{
	struct img_reader *r = NULL;
	struct img_record rec;
	const ImgHeader *h;
	off_t start = lseek(fd, 0, SEEK_CUR);
	int ret;

	memset(k, 0, sizeof(*k));
	ret = img_reader_open(fd, &r);
	if (ret) {
		err_set(ret, "image: %s", img_last_open_error());
		return ret;
	}
	ret = kr ? img_reader_set_keys(r, kr) : 0; /* the trailer only after a valid signature */
	if (ret) {
		err_set(ret, "image: %s", img_reader_error(r));
		img_reader_free(r);
		return ret;
	}
	h = img_reader_header(r);
	k->pid = h->has_root_pid ? h->root_pid : 0;
	while ((ret = img_read_record(r, &rec)) == 1) {
		k->tasks += rec.type == IMG_REC_TASK;
		k->cores += rec.type == IMG_REC_CORE;
		if (!k->refused && !module_takes(rec.type) && !(rec.flags & IMG_RF_OPTIONAL))
			k->refused = rec.type;
	}
	if (ret < 0)
		err_set(ret, "image: %s", img_reader_error(r));
	img_reader_free(r);
	if (ret < 0)
		return ret;
	if (lseek(fd, start, SEEK_SET) != start)
		return -errno;
	return 0;
}

/* The module's refusals that the image shows, in one line. */
static int check_scan(const struct kscan *k)
{
	if (k->tasks != 1) {
		err_set(-ENOTTY,
			"--kernel: the image holds %u processes (a tree); the kernel "
			"restores one (vxrestore without --kernel restores trees)",
			k->tasks);
		return -ENOTTY;
	}
	if (k->cores != 1) {
		err_set(-ENOTTY,
			"--kernel: the image's process has %u threads; the kernel "
			"restores one thread (vxrestore without --kernel restores them)",
			k->cores);
		return -ENOTTY;
	}
	if (k->refused) {
		err_set(-ENOTTY,
			"--kernel: the image has a %s record, which the kernel's restart "
			"does not restore (vxrestore without --kernel does)",
			img_rec_name(k->refused));
		return -ENOTTY;
	}
	if (!k->pid || k->pid > INT32_MAX) {
		err_set(-EINVAL, "--kernel: the image names no pid");
		return -EINVAL;
	}
	return 0;
}

/* fork-like clone3 with the pid pid (in the innermost namespace). */
static long clone_with_pid(pid_t pid, uint64_t flags)
{
	struct vxcr_clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };

	if (pid) {
		ca.set_tid = (uint64_t)(uintptr_t)&pid;
		ca.set_tid_size = 1;
	}
	return vxcr_clone3(&ca);
}

/* The child: becomes the image, or reports why not on wfd and exits. */
static void __attribute__((noreturn)) undump_child(int fd, int wfd)
{
	int err;

	err = (int)vxcr_vmad_undump(fd, 0);
	if (write(wfd, &err, sizeof(err)) != sizeof(err))
		_exit(127);
	_exit(1);
}

/* --pidns: the namespace's init makes the image's process and exits with
 * its status once the namespace is empty. */
static void __attribute__((noreturn)) ns_init(int fd, int wfd, pid_t pid)
{
	int status = 0, rstatus = 0, err;
	long child;
	pid_t w;

	if (pid == 1)
		undump_child(fd, wfd);
	child = clone_with_pid(pid, 0);
	if (child == 0)
		undump_child(fd, wfd);
	if (child < 0) {
		err = -errno;
		if (write(wfd, &err, sizeof(err)) != sizeof(err))
			_exit(127);
		_exit(1);
	}
	close(wfd);
	close(fd);
	/* nothing of the caller's stays open here: a reader of our stdout
	 * (vxrestore -d in $(...)) sees its end */
	err = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (err >= 0) {
		dup2(err, STDIN_FILENO);
		dup2(err, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
	}
	while ((w = wait(&status)) > 0 || errno == EINTR)
		if (w == child)
			rstatus = status;
	if (WIFSIGNALED(rstatus))
		_exit(128 + WTERMSIG(rstatus));
	_exit(WEXITSTATUS(rstatus));
}

/* The pid of init's only child, as we see it (the restored process). */
static pid_t ns_root(pid_t init)
{
	char path[64];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", init, init);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &v) != 1)
		v = -ESRCH;
	fclose(f);
	return (pid_t)v;
}

/* Waits for the child's verdict on rfd: 0 restored (the module closed
 * every fd but 0-2 at its commit: EOF), else the child's -errno. */
static int verdict(int rfd)
{
	int err = 0;
	ssize_t n;

	do
		n = read(rfd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	return n == sizeof(err) && err < 0 ? err : -EIO;
}

static int start_restored(int fd, const struct kscan *k, const struct vxcr_restore_opts *o,
			  pid_t *pid, struct vxcr_restore_stats *st)
{
	int p[2], ret;
	long child;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pipe");
		return -errno;
	}
	child = clone_with_pid(o->pidns ? 0 : (pid_t)k->pid, o->pidns ? CLONE_NEWPID : 0);
	if (child == 0) {
		close(p[0]);
		if (o->pidns)
			ns_init(fd, p[1], (pid_t)k->pid);
		undump_child(fd, p[1]);
	}
	ret = child < 0 ? -errno : 0;
	close(p[1]);
	if (ret == -EEXIST)
		err_set(ret,
			"--kernel: pid %u of the image is in use (--pidns restores it in a new "
			"pid namespace)",
			k->pid);
	else if (ret)
		pr_perror("clone3 with pid %u", k->pid);
	ret = ret ?: verdict(p[0]);
	close(p[0]);
	if (ret && child > 0) {
		waitpid((pid_t)child, NULL, 0);
		if (ret == -EEXIST)
			err_set(ret,
				"--kernel: pid %u of the image is in use in the new pid "
				"namespace",
				k->pid);
		else
			err_set(ret, "vmad_undump: %s", strerror(-ret));
		return ret;
	}
	if (ret)
		return ret;
	if (o->pidns) {
		st->ns_init = (pid_t)child;
		*pid = ns_root((pid_t)child);
		if (*pid < 0)
			*pid = (pid_t)child;
	} else {
		*pid = (pid_t)child;
	}
	return 0;
}

static int kernel_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
			  struct vxcr_restore_stats *st)
{
	const char *bad = unsupported_opt(o);
	struct kscan k;
	int ifd, ret;

	memset(st, 0, sizeof(*st));
	if (bad) {
		err_set(-ENOTTY, "--kernel: the kernel's restart cannot honour %s", bad);
		return -ENOTTY;
	}
	ret = kmod_present();
	if (ret)
		return ret;
	ifd = seekable_image(fd, o->trusted_keys != NULL);
	if (ifd < 0)
		return ifd;
	ret = scan_image(ifd, o->trusted_keys, &k) ?: check_scan(&k);
	ret = ret ?: start_restored(ifd, &k, o, pid, st);
	close(ifd);
	return ret;
}

int vxcr_kernel_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
			struct vxcr_restore_stats *st)
{
	err_op_begin();
	return err_op_end(kernel_restore(fd, o, pid, st));
}
