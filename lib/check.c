/*
 * Kernel feature probe behind `vxcr check`.
 *
 * Every probe really exercises the interface it reports on (in a forked
 * child where the probe needs a victim process or changes process state),
 * so "ok" means the engine can use it here, not merely that a header or a
 * config option says it exists.  Probes return true/false and leave a short
 * reason in the detail buffer; nothing is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/kcmp.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>

#define LOG_PREFIX "check: "
#include "log.h"
#include "net/netlock.h"
#include "proc/proc.h"
#include "util/clone3.h"
#include "util/asuser.h"
#include "util/cleanup.h"
#include "net/netns.h"
#include "vxcr/vserver.h"
#include "vxcr/vxcr.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* PAGEMAP_SCAN from include/uapi/linux/fs.h (Linux 6.7); older headers lack it. */
struct check_pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};

struct check_page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

#define CHECK_PAGEMAP_SCAN _IOWR('f', 16, struct check_pm_scan_arg)
#define CHECK_PAGE_IS_PRESENT (1 << 3)

struct probe {
	const char *name;
	bool required;
	bool (*fn)(char *detail, size_t len);
};

/* Writes the detail text and returns ok, so probes can end in one line. */
__attribute__((format(printf, 4, 5))) static bool note(bool ok, char *d, size_t len,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, len, fmt, ap);
	va_end(ap);
	return ok;
}

/* Forks a child that waits in pause() until killed; -1 on failure. */
static pid_t fork_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(30); /* never outlive a confused parent for long */
		for (;;)
			pause();
	}
	return pid;
}

/* Kills and reaps a child started by the probes. */
static void kill_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* PTRACE_SEIZE + PTRACE_INTERRUPT of a child must yield a group-stop event. */
static bool probe_ptrace(char *d, size_t len)
{
	pid_t pid = fork_sleeper();
	bool ok = false;
	int st;

	if (pid < 0)
		return note(false, d, len, "fork: %s", strerror(errno));
	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		snprintf(d, len, "PTRACE_SEIZE: %s", strerror(errno));
	} else if (ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		snprintf(d, len, "PTRACE_INTERRUPT: %s", strerror(errno));
	} else if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) ||
		   (st >> 16) != PTRACE_EVENT_STOP) {
		snprintf(d, len, "no PTRACE_EVENT_STOP after PTRACE_INTERRUPT");
	} else {
		ok = true;
		snprintf(d, len, "seize and interrupt");
	}
	kill_reap(pid);
	return ok;
}

/* One clone3() with set_tid = want; returns the child's pid or -errno. */
static long clone3_with_tid(pid_t want)
{
	struct vxcr_clone_args ca;
	pid_t tid = want;
	long ret;

	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	ret = vxcr_clone3(&ca);
	if (ret == 0)
		syscall(SYS_exit_group, 0); /* child: leave without touching libc state */
	return ret < 0 ? -errno : ret;
}

/* Creates a child with a chosen, just-freed pid through clone3 set_tid. */
static bool probe_clone3_set_tid(char *d, size_t len)
{
	int tries;
	long ret = -EAGAIN;

	for (tries = 0; tries < 5; tries++) {
		pid_t want = fork();

		if (want == 0)
			_exit(0);
		if (want < 0)
			return note(false, d, len, "fork: %s", strerror(errno));
		waitpid(want, NULL, 0);
		ret = clone3_with_tid(want);
		if (ret > 0)
			waitpid(ret, NULL, 0);
		if (ret == want)
			return note(true, d, len, "child created with chosen pid %d", want);
		if (ret != -EEXIST)
			break; /* pid reused in between: try another one */
	}
	if (ret > 0)
		snprintf(d, len, "clone3 ignored set_tid (got pid %ld)", ret);
	else if (ret == -ENOSYS)
		snprintf(d, len, "clone3: not implemented by this kernel");
	else if (ret == -E2BIG || ret == -EINVAL)
		snprintf(d, len, "clone3: set_tid not supported (%s)", strerror((int)-ret));
	else
		snprintf(d, len, "clone3 set_tid: %s", strerror((int)-ret));
	return false;
}

/* pidfd_open on a child, then pidfd_getfd of a pipe it holds. */
static bool probe_pidfd(char *d, size_t len)
{
	int p[2], pidfd, fd;
	struct stat a, b;
	bool ok = false;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return note(false, d, len, "pipe: %s", strerror(errno));
	pid = fork_sleeper();
	if (pid < 0) {
		snprintf(d, len, "fork: %s", strerror(errno));
		goto out_close_pipe;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		snprintf(d, len, "pidfd_open: %s", strerror(errno));
		goto out_kill;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, p[0], 0);
	if (fd < 0) {
		snprintf(d, len, "pidfd_getfd: %s", strerror(errno));
	} else {
		ok = !fstat(fd, &a) && !fstat(p[0], &b) && a.st_ino == b.st_ino;
		snprintf(d, len,
			 ok ? "pidfd_open and pidfd_getfd" :
			      "pidfd_getfd returned a different file");
		close(fd);
	}
	close(pidfd);
out_kill:
	kill_reap(pid);
out_close_pipe:
	close(p[0]);
	close(p[1]);
	return ok;
}

/* Reads a value a child wrote after fork, at the same address. */
static bool probe_process_vm_readv(char *d, size_t len)
{
	static volatile uint64_t cell;
	struct iovec local, remote;
	uint64_t got = 0;
	bool ok = false;
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return note(false, d, len, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		cell = 0x5678abcd1234ULL;
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		alarm(30);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		snprintf(d, len, "probe child did not start");
		goto out;
	}
	local.iov_base = &got;
	local.iov_len = sizeof(got);
	remote.iov_base = (void *)&cell;
	remote.iov_len = sizeof(got);
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(got))
		snprintf(d, len, "process_vm_readv: %s", strerror(errno));
	else if (got != 0x5678abcd1234ULL)
		snprintf(d, len, "process_vm_readv read the wrong data");
	else
		ok = true;
	if (ok)
		snprintf(d, len, "read a child's memory");
out:
	kill_reap(pid);
	close(p[0]);
	return ok;
}

/* PAGEMAP_SCAN must find exactly the touched page of a fresh mapping. */
static bool probe_pagemap_scan(char *d, size_t len)
{
	struct check_page_region reg[4];
	struct check_pm_scan_arg arg;
	long psz = sysconf(_SC_PAGESIZE);
	_cleanup_close_ int fd = -1;
	char *m;
	long n;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return note(false, d, len, "/proc/self/pagemap: %s", strerror(errno));
	m = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return note(false, d, len, "mmap: %s", strerror(errno));
	m[2 * psz] = 1;
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)m;
	arg.end = (uintptr_t)m + 4 * psz;
	arg.vec = (uintptr_t)reg;
	arg.vec_len = ARRAY_SIZE(reg);
	arg.category_mask = CHECK_PAGE_IS_PRESENT;
	arg.return_mask = CHECK_PAGE_IS_PRESENT;
	n = ioctl(fd, CHECK_PAGEMAP_SCAN, &arg);
	munmap(m, 4 * psz);
	if (n < 0)
		return note(false, d, len, "ioctl: %s; using /proc/PID/pagemap", strerror(errno));
	if (n != 1 || reg[0].start != (uintptr_t)m + 2 * psz)
		return note(false, d, len, "unexpected result; using /proc/PID/pagemap");
	return note(true, d, len, "ioctl on /proc/PID/pagemap");
}

/* userfaultfd handshake must offer write-protect faults. */
static bool probe_uffd_wp(char *d, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	_cleanup_close_ int fd = -1;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return note(false, d, len, "userfaultfd: %s", strerror(errno));
	if (ioctl(fd, UFFDIO_API, &api))
		return note(false, d, len, "UFFDIO_API: %s", strerror(errno));
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		return note(false, d, len, "no UFFD_FEATURE_PAGEFAULT_FLAG_WP");
	return note(true, d, len, "write-protect faults work; vxcr does not use them yet");
}

/* Reads the mm fields of /proc/self/stat that PR_SET_MM_MAP takes. */
static int read_mm_fields(struct prctl_mm_map *map)
{
	unsigned long long v[52];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/stat", "re");
	char buf[2048], *p;
	int i;

	if (!f || !fgets(buf, sizeof(buf), f))
		return -EIO;
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p += 2; /* now at field 3, the state letter */
	for (i = 4; i <= 51; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		v[i] = strtoull(++p, NULL, 10);
	}
	map->start_code = v[26];
	map->end_code = v[27];
	map->start_stack = v[28];
	map->start_data = v[45];
	map->end_data = v[46];
	map->start_brk = v[47];
	map->arg_start = v[48];
	map->arg_end = v[49];
	map->env_start = v[50];
	map->env_end = v[51];
	return 0;
}

/* In a child: PR_SET_MM_MAP_SIZE, then PR_SET_MM_MAP with unchanged values. */
static int set_mm_map_child(void)
{
	struct prctl_mm_map map;
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		return errno == EINVAL ? 10 : 11;
	if (size != sizeof(map))
		return 12;
	memset(&map, 0, sizeof(map));
	if (read_mm_fields(&map))
		return 13;
	map.brk = (uintptr_t)sbrk(0);
	map.exe_fd = (uint32_t)-1;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0))
		return errno == EPERM ? 14 : 15;
	return 0;
}

/* PR_SET_MM_MAP (CONFIG_CHECKPOINT_RESTORE), tried for real in a child. */
static bool probe_set_mm_map(char *d, size_t len)
{
	static const char *const why[] = {
		[10] = "PR_SET_MM_MAP_SIZE rejected (CONFIG_CHECKPOINT_RESTORE off?)",
		[11] = "PR_SET_MM_MAP_SIZE failed",
		[12] = "struct prctl_mm_map size differs from this build",
		[13] = "cannot read /proc/self/stat",
		[14] = "PR_SET_MM_MAP: permission denied",
		[15] = "PR_SET_MM_MAP with unchanged values rejected",
	};
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return note(false, d, len, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(set_mm_map_child());
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return note(false, d, len, "probe child died");
	st = WEXITSTATUS(st);
	if (st == 0)
		return note(true, d, len, "mm fields settable");
	snprintf(d, len, "%s", st < (int)ARRAY_SIZE(why) && why[st] ? why[st] : "probe failed");
	return false;
}

/* kcmp(KCMP_FILE) must see a dup as the same file. */
static bool probe_kcmp(char *d, size_t len)
{
	_cleanup_close_ int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int b = -1;
	pid_t me = getpid();
	long r;

	if (a < 0)
		return note(false, d, len, "/dev/null: %s", strerror(errno));
	b = fcntl(a, F_DUPFD_CLOEXEC, 0);
	r = syscall(SYS_kcmp, me, me, KCMP_FILE, a, b);
	if (r < 0)
		return note(false, d, len, "kcmp: %s (shared files found by inode only)",
			    strerror(errno));
	if (r != 0)
		return note(false, d, len, "kcmp gave a wrong answer");
	return note(true, d, len, "shared files identified exactly");
}

/* True if some direct child group of dir has a cgroup.freeze file. */
static bool child_has_freeze(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[4096];
	bool found = false;

	if (!dp)
		return false;
	while (!found && (e = readdir(dp))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/cgroup.freeze", dir, e->d_name);
		found = access(path, F_OK) == 0;
	}
	closedir(dp);
	return found;
}

/*
 * cgroup v2 freezer: cgroup.freeze in a child group of the cgroup2 mount,
 * or in a temporary group made (and removed) for the probe.
 */
static bool probe_cgroup_freezer(char *d, size_t len)
{
	char mnt[2048], tmp[2600], file[2700];
	int err = 0;

	if (proc_cgroup2_mount(mnt, sizeof(mnt)))
		return note(false, d, len, "no cgroup2 mount in /proc/self/mountinfo");
	if (child_has_freeze(mnt))
		return note(true, d, len, "cgroup2 at %.70s", mnt);
	snprintf(tmp, sizeof(tmp), "%s/vxcr-check.%d", mnt, getpid());
	if (mkdir(tmp, 0755))
		err = errno;
	if (!err) {
		snprintf(file, sizeof(file), "%s/cgroup.freeze", tmp);
		if (access(file, F_OK))
			err = errno;
		rmdir(tmp);
		if (!err)
			return note(true, d, len, "cgroup2 at %.70s", mnt);
	}
	return note(false, d, len, "no cgroup.freeze under %.40s (%s)", mnt, strerror(err));
}

/* Brings up lo in the (new) network namespace we are in.  0 or -1. */
static int lo_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	return s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) ? -1 : 0;
}

/*
 * What restore does with TCP_REPAIR, in a throw-away namespace: a socket
 * in repair mode, its send sequence set, bound and connected without a
 * packet (ESTABLISHED at once), the sequence read back.  0 or the step
 * that failed.
 */
static int tcp_repair_child(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	unsigned seq = 123456789, got = 0;
	int s, on = 1, q = TCP_SEND_QUEUE;

	if (unshare(CLONE_NEWNET) || lo_up())
		return 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
		return 2;
	if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    setsockopt(s, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)))
		return 3;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(40001);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		return 4;
	a.sin_port = htons(40002);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		return 5;
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) || ti.tcpi_state != TCP_ESTABLISHED)
		return 6;
	l = sizeof(got);
	if (getsockopt(s, IPPROTO_TCP, TCP_QUEUE_SEQ, &got, &l) || got != seq)
		return 7;
	return 0; /* closed in repair mode: nothing is sent */
}

/* TCP_REPAIR as restore uses it (needs CAP_NET_ADMIN), in a forked child. */
static bool probe_tcp_repair(char *d, size_t len)
{
	static const char *const step[] = {
		"",
		"cannot make a network namespace to try it in",
		"setsockopt TCP_REPAIR refused",
		"the send queue's sequence cannot be set",
		"cannot bind in repair mode",
		"connect in repair mode failed",
		"a socket connected in repair mode is not ESTABLISHED",
		"the sequence set does not read back",
	};
	int st = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(tcp_repair_child());
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return note(false, d, len, "cannot fork the probe");
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return note(true, d, len,
			    "repair mode: sequence set, connected without a packet; "
			    "used by vxdump --tcp-established");
	if (WIFEXITED(st) && WEXITSTATUS(st) < ARRAY_SIZE(step))
		return note(false, d, len, "%s", step[WEXITSTATUS(st)]);
	return note(false, d, len, "the probe died (status %#x)", st);
}

/* nftables owner tables through libnftables, as the network lock uses them. */
static bool probe_net_lock(char *d, size_t len)
{
	return net_lock_probe(d, len);
}

static bool probe_cap_sys_resource(char *d, size_t len)
{
	if (util_have_cap(CAP_SYS_RESOURCE))
		return note(true, d, len, "hard rlimits can be raised");
	return note(false, d, len, "hard rlimits above the current ones cannot be restored");
}

static bool probe_cap_cr(char *d, size_t len)
{
	if (util_have_cap(CAP_CHECKPOINT_RESTORE))
		return note(true, d, len, "in effective set");
	if (util_have_cap(CAP_SYS_ADMIN))
		return note(false, d, len, "not held; CAP_SYS_ADMIN is used instead");
	return note(false, d, len, "not held (nor CAP_SYS_ADMIN)");
}

/* vxcr.ko's version (sysfs) into buf, "version unknown" if unreadable. */
static void kmod_version(char *buf, size_t size)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	snprintf(buf, size, "version unknown");
	if (proc_read_path("/sys/module/vxcr/version", &text, &len) || !len)
		return;
	text[strcspn(text, "\n")] = 0;
	if (text[0])
		snprintf(buf, size, "%s", text);
}

/*
 * Who serves the switch: the kernel module (asked for its API version
 * through vserver(), which goes to the module when its device is there),
 * or the userspace engine.  Present: the module serves it.  The device is
 * found as lib/switch finds it ($VXCR_VSERVER_DEV, empty: no module).
 */
static bool probe_dev_vserver(char *d, size_t len)
{
	const char *dev = vxcr_kernel_module_dev();
	char ver[64];
	long api;

	if (!dev)
		return note(false, d, len,
			    "userspace engine serves the switch (VXCR_VSERVER_DEV empty)");
	if (access(dev, F_OK))
		return note(false, d, len, "userspace engine serves the switch (no %s: %s)", dev,
			    strerror(errno));
	api = vserver(VCMD_get_version, 0, NULL);
	if (api < 0)
		return note(false, d, len, "kernel module: %s, get_version: %s", dev,
			    strerror((int)-api));
	kmod_version(ver, sizeof(ver));
	return note(true, d, len, "kernel module: %s, API %#010lx (vxcr.ko %s)", dev, api, ver);
}

#include "util/seccomp-compat.h"

/* A child with one "allow everything" seccomp filter, or -errno. */
static pid_t fork_filtered(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };
	int p[2], err;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid == 0) {
		alarm(30);
		if (!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) &&
		    !prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) &&
		    write(p[1], "x", 1) == 1)
			for (;;)
				pause();
		_exit(1);
	}
	err = errno;
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) { /* it could not install one */
		kill_reap(pid);
		pid = -1;
		err = EINVAL;
	}
	close(p[0]);
	return pid < 0 ? -err : pid;
}

/*
 * Dump and restore of seccomp filters: PTRACE_O_SUSPEND_SECCOMP,
 * PTRACE_SECCOMP_GET_FILTER and _GET_METADATA on a filtered child (they
 * need CONFIG_CHECKPOINT_RESTORE, CAP_SYS_ADMIN and no filter of our own).
 */
static bool probe_seccomp(char *d, size_t len)
{
	struct {
		uint64_t off, flags;
	} md = { 0, 0 };
	pid_t pid = fork_filtered();
	bool ok = false;
	int st;

	if (pid < 0)
		return note(false, d, len, "no filtered child: %s", strerror((int)-pid));
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_SUSPEND_SECCOMP))
		snprintf(d, len, "PTRACE_O_SUSPEND_SECCOMP: %s", strerror(errno));
	else if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) || waitpid(pid, &st, __WALL) != pid)
		snprintf(d, len, "PTRACE_INTERRUPT: %s", strerror(errno));
	else if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL) != 1)
		snprintf(d, len, "PTRACE_SECCOMP_GET_FILTER: %s", strerror(errno));
	else if (ptrace(PTRACE_SECCOMP_GET_METADATA, pid, sizeof(md), &md) != sizeof(md))
		snprintf(d, len, "PTRACE_SECCOMP_GET_METADATA: %s", strerror(errno));
	else
		ok = note(true, d, len, "filters readable and suspendable");
	kill_reap(pid);
	return ok;
}

/* A network namespace built and read back through libnl-route, in a
 * forked child (lib/net/netns.c: what restore and dump do with one). */
static bool probe_netns(char *d, size_t len)
{
	static const char *const steps[] = {
		"check of the entry",
		"building a namespace (unshare, rtnl_link/addr/route_add)",
		"reading it back (setns, libnl caches)",
		"comparing what was read",
	};
	const char *what = "fork";
	int st = 0, i;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int ret = net_netns_probe(&what);

		for (i = 0; i < (int)ARRAY_SIZE(steps) && strcmp(steps[i], what); i++)
			;
		_exit(ret ? 1 + i : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return note(false, d, len, "fork: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return note(true, d, len,
			    "namespaces built and read through libnl-route (links, addresses, "
			    "routes)");
	i = WIFEXITED(st) ? WEXITSTATUS(st) - 1 : -1;
	return note(false, d, len, "failed at %s",
		    i >= 0 && i < (int)ARRAY_SIZE(steps) ? steps[i] : "a signal");
}

static const struct probe probes[] = {
	{ "ptrace-seize", true, probe_ptrace },
	{ "clone3-set_tid", true, probe_clone3_set_tid },
	{ "pidfd-getfd", true, probe_pidfd },
	{ "process_vm_readv", true, probe_process_vm_readv },
	{ "pr_set_mm_map", true, probe_set_mm_map },
	{ "pagemap-scan", false, probe_pagemap_scan },
	{ "userfaultfd-wp", false, probe_uffd_wp },
	{ "kcmp", false, probe_kcmp },
	{ "cgroup2-freezer", false, probe_cgroup_freezer },
	{ "tcp-repair", false, probe_tcp_repair },
	{ "network-lock", false, probe_net_lock },
	{ "cap_sys_resource", false, probe_cap_sys_resource },
	{ "cap_checkpoint_restore", false, probe_cap_cr },
	{ "dev-vserver", false, probe_dev_vserver },
	{ "seccomp-filters", false, probe_seccomp },
	{ "netns-libnl", false, probe_netns },
};

/*
 * Runs every probe, filling up to max entries of f.  Returns the number
 * filled.  SIGCHLD must not be ignored by the caller (children are reaped).
 */
int vxcr_check_features(struct vxcr_feature *f, int max)
{
	int i, n = 0;

	for (i = 0; i < (int)ARRAY_SIZE(probes) && n < max; i++, n++) {
		memset(&f[n], 0, sizeof(f[n]));
		f[n].name = probes[i].name;
		f[n].required = probes[i].required;
		f[n].present = probes[i].fn(f[n].detail, sizeof(f[n].detail));
		pr_debug("%s: %s (%s)\n", f[n].name, f[n].present ? "yes" : "no", f[n].detail);
	}
	return n;
}
