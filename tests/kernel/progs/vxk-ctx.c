/*
 * The kernel module's contexts driven through libvxcr's vx_* API (the
 * switch sends them to /dev/vserver): one call per run, for the shell
 * tests tests/kernel/k-ctx-*.sh.
 *
 *   vxk-ctx create XID [FLAGS] -- CMD...   vx_create, prints "xid N", execs CMD
 *   vxk-ctx migrate XID [VXM] -- CMD...    vx_migrate, execs CMD
 *   vxk-ctx xid [PID]                      prints vx_task_xid
 *   vxk-ctx info XID                       prints "XID INITPID"
 *   vxk-ctx stat XID                       prints "usecnt tasks threads forks uptime_ns"
 *   vxk-ctx flags|ccaps|bcaps XID          prints the word in hex
 *   vxk-ctx setflags|setccaps|setbcaps XID VALUE MASK
 *   vxk-ctx uname XID FIELD                prints the field (VHIN_* number)
 *   vxk-ctx setuname XID FIELD VALUE
 *   vxk-ctx kill XID PID SIG
 *   vxk-ctx wait XID                       prints "EXIT_CODE REBOOT_CMD(hex)"
 *   vxk-ctx raw CMD ID                     vserver(CMD, ID, NULL): prints the result
 *   vxk-ctx rawvhi XID FIELD               set_vhi_name with 65 'A's, no NUL
 *   vxk-ctx bench N                        ns per ioctl (best of 5 x N)
 *   vxk-ctx leader-exit                    prints "ready"; the main thread exits,
 *                                          a second one sleeps
 *   vxk-ctx uts-kept XID                   vx_create that must fail: prints its
 *                                          error and "same" if the caller's UTS
 *                                          namespace is still its own
 *   vxk-ctx try OP [ARG]                   one syscall a ccap governs
 *
 * A failed call prints "ERR <ENAME>" and exits 1; numbers are read with
 * base 0.  try prints "ok" or "ERR <ENAME>" and exits 0 either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "vxcr/vserver.h"

static const char *ename(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = { { EPERM, "EPERM" },	   { ENOENT, "ENOENT" },   { ESRCH, "ESRCH" },
		  { EINTR, "EINTR" },	   { ENOTBLK, "ENOTBLK" }, { EBUSY, "EBUSY" },
		  { EEXIST, "EEXIST" },	   { ENODEV, "ENODEV" },   { ENOTDIR, "ENOTDIR" },
		  { EINVAL, "EINVAL" },	   { ENOTTY, "ENOTTY" },   { EFAULT, "EFAULT" },
		  { ENOSYS, "ENOSYS" },	   { EDEADLK, "EDEADLK" }, { EBADF, "EBADF" },
		  { EAGAIN, "EAGAIN" },	   { ENXIO, "ENXIO" },	   { EACCES, "EACCES" },
		  { ENETDOWN, "ENETDOWN" } };
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int fail(void)
{
	printf("ERR %s\n", ename(errno));
	return 1;
}

static int run_after(char **argv, int i, int argc)
{
	while (i < argc && strcmp(argv[i], "--"))
		i++;
	if (i + 1 >= argc) {
		fprintf(stderr, "vxk-ctx: no command after --\n");
		return 2;
	}
	fflush(stdout);
	execvp(argv[i + 1], argv + i + 1);
	perror("vxk-ctx: exec");
	return 127;
}

static int enter(int create, int argc, char **argv)
{
	vx_flags_t f = { 0 };
	int xid;

	if (argc > 3 && strcmp(argv[3], "--"))
		f.flags = num(argv[3]);
	xid = create ? vx_create((xid_t)num(argv[2]), &f) : vx_migrate((xid_t)num(argv[2]), &f);
	if (xid < 0)
		return fail();
	if (create)
		printf("xid %d\n", xid);
	return run_after(argv, 3, argc);
}

static int bits(const char *op, xid_t xid, int argc, char **argv)
{
	int set = !strncmp(op, "set", 3), ret;
	vx_flags_t f = { 0 };

	if (set) {
		if (argc < 5)
			return 2;
		f.flags = num(argv[3]);
		f.mask = num(argv[4]);
	}
	if (strstr(op, "flags"))
		ret = set ? vx_flags_set(xid, &f) : vx_flags_get(xid, &f);
	else if (strstr(op, "ccaps"))
		ret = set ? vx_ccaps_set(xid, &f) : vx_ccaps_get(xid, &f);
	else
		ret = set ? vx_bcaps_set(xid, &f) : vx_bcaps_get(xid, &f);
	if (ret < 0)
		return fail();
	if (!set)
		printf("%#llx\n", (unsigned long long)f.flags);
	return 0;
}

static int query(const char *op, xid_t xid, int argc, char **argv)
{
	vx_info_t in;
	vx_stat_t st;
	vx_wait_t w;

	if (!strcmp(op, "info")) {
		if (vx_info(xid, &in) < 0)
			return fail();
		printf("%u %d\n", in.xid, in.initpid);
	} else if (!strcmp(op, "stat")) {
		if (vx_stat(xid, &st) < 0)
			return fail();
		printf("%u %u %u %u %llu\n", st.usecnt, st.tasks, st.nr_threads, st.nr_forks,
		       (unsigned long long)st.uptime);
	} else if (!strcmp(op, "wait")) {
		if (vx_wait(xid, &w) < 0)
			return fail();
		printf("%d %#x\n", w.exit_code, (unsigned)w.reboot_cmd);
	} else if (!strcmp(op, "kill") && argc > 4) {
		if (vx_kill(xid, (pid_t)num(argv[3]), (int)num(argv[4])) < 0)
			return fail();
	} else {
		return 2;
	}
	return 0;
}

static int uname_op(int set, xid_t xid, int argc, char **argv)
{
	vx_uname_t u = { 0 };

	if (argc < 4 + set)
		return 2;
	u.id = (uint32_t)num(argv[3]);
	if (set)
		snprintf(u.value, sizeof(u.value), "%s", argv[4]);
	if ((set ? vx_uname_set(xid, &u) : vx_uname_get(xid, &u)) < 0)
		return fail();
	if (!set)
		printf("%s\n", u.value);
	return 0;
}

/* sethostname through the ia32 entry (int $0x80, i386 number 74): the
 * name must sit below 4 GiB. */
static int sethostname_ia32(const char *name)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long r = 74;

	if (low == MAP_FAILED)
		return -1;
	snprintf(low, 4096, "%s", name);
	__asm__ volatile("int $0x80"
			 : "+a"(r)
			 : "b"((uint32_t)(uintptr_t)low), "c"((uint32_t)strlen(name))
			 : "memory");
	munmap(low, 4096);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

/* One syscall a ccap governs; 0 or -1 with errno. */
static int try_op(const char *op, const char *arg)
{
	struct rlimit rl;

	if (!strcmp(op, "sethostname"))
		return sethostname(arg, strlen(arg));
	if (!strcmp(op, "setdomainname"))
		return setdomainname(arg, strlen(arg));
	if (!strcmp(op, "sethostname32"))
		return sethostname_ia32(arg);
	if (!strcmp(op, "syslog"))
		return klogctl(10, NULL, 0) < 0 ? -1 : 0; /* SYSLOG_ACTION_SIZE_BUFFER */
	if (!strcmp(op, "rawsock")) {
		int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

		return fd < 0 ? -1 : close(fd);
	}
	if (!strcmp(op, "mount"))
		return mount("none", arg, "tmpfs", 0, NULL);
	if (!strcmp(op, "remount"))
		return mount("none", arg, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
	if (!strcmp(op, "fsopen")) {
		int fd = (int)syscall(SYS_fsopen, "tmpfs", 0);

		return fd < 0 ? -1 : close(fd);
	}
	if (!strcmp(op, "open_tree") || !strcmp(op, "fspick")) {
		int fd = op[0] == 'o' ? (int)syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* CLONE */) :
					(int)syscall(SYS_fspick, AT_FDCWD, "/", 0);

		return fd < 0 ? -1 : close(fd);
	}
	if (!strcmp(op, "quotactl_fd")) {
		int fd = open("/", O_RDONLY | O_DIRECTORY), r;

		if (fd < 0)
			return -1;
		r = (int)syscall(SYS_quotactl_fd, fd, QCMD(Q_SYNC, USRQUOTA), 0, NULL);
		close(fd);
		return r;
	}
	if (!strcmp(op, "quotactl"))
		return quotactl(QCMD(Q_SYNC, USRQUOTA), "/dev/vxk-none", 0, NULL);
	if (!strcmp(op, "rlimit-raise")) {
		if (getrlimit(RLIMIT_NOFILE, &rl))
			return -1;
		rl.rlim_max += 16;
		return setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(op, "lo-up")) { /* ok if lo of our network namespace is up */
		struct ifreq ifr = { 0 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

		if (fd < 0)
			return -1;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		r = ioctl(fd, SIOCGIFFLAGS, &ifr);
		close(fd);
		if (!r && !(ifr.ifr_flags & IFF_UP))
			errno = ENETDOWN, r = -1;
		return r;
	}
	if (!strcmp(op, "ioctl-mapper"))
		return ioctl(0, _IOWR(0xfd, 0, char[312]), NULL);
	if (!strcmp(op, "ioctl-loop"))
		return ioctl(0, 0x4C82, 0); /* LOOP_CTL_GET_FREE */
	if (!strcmp(op, "reboot"))
		return (int)syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				    (unsigned)num(arg), NULL);
	errno = EINVAL;
	return -2;
}

/* set_vhi_name straight through vserver(): a name without its NUL. */
static int raw_vhi(xid_t xid, uint32_t field)
{
	struct vcmd_vhi_name_v0 d = { .field = field };
	long r;

	memset(d.name, 'A', sizeof(d.name));
	r = vserver(VCMD_set_vhi_name, xid, &d);
	printf(r < 0 ? "ERR %s\n" : "%s\n", r < 0 ? ename((int)-r) : "0");
	return r < 0;
}

static void *nap(void *arg)
{
	(void)arg;
	sleep(1000);
	return NULL;
}

/* The main thread exits first, a second thread stays. */
static int leader_exit(void)
{
	pthread_t t;

	printf("ready\n");
	fflush(stdout);
	if (pthread_create(&t, NULL, nap, NULL))
		return 1;
	syscall(SYS_exit, 0); /* this thread only (pthread_exit needs libgcc_s) */
	return 1;
}

/* ns per ioctl(FIONREAD) on a pipe, the best of 5 rounds of n calls: the
 * cost of the module's kprobe on ioctl. */
static int bench(long n)
{
	long best = -1, i, ns;
	struct timespec a, b;
	int p[2], v, r;

	if (n <= 0 || pipe(p))
		return 2;
	for (r = 0; r < 5; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (i = 0; i < n; i++)
			ioctl(p[0], FIONREAD, &v);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec) / n;
		if (best < 0 || ns < best)
			best = ns;
	}
	printf("%ld\n", best);
	return 0;
}

/* A create that fails leaves the caller where it was. */
static int uts_kept(xid_t xid)
{
	char before[64] = "", after[64] = "";
	int r;

	if (readlink("/proc/self/ns/uts", before, sizeof(before) - 1) < 0)
		return 2;
	r = vx_create(xid, NULL);
	printf("%s ", r < 0 ? ename(errno) : "created");
	if (readlink("/proc/self/ns/uts", after, sizeof(after) - 1) < 0)
		return 2;
	printf("%s\n", strcmp(before, after) ? "changed" : "same");
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	xid_t xid = argc > 2 ? (xid_t)num(argv[2]) : 0;
	long r;

	if (!strcmp(op, "create") || !strcmp(op, "migrate"))
		return argc < 3 ? 2 : enter(op[0] == 'c', argc, argv);
	if (!strcmp(op, "xid")) {
		r = vx_task_xid(argc > 2 ? (pid_t)num(argv[2]) : 0);
		if (r < 0)
			return fail();
		printf("%ld\n", r);
		return 0;
	}
	if (!strcmp(op, "raw") && argc > 3) {
		r = vserver((uint32_t)num(argv[2]), (uint32_t)num(argv[3]), NULL);
		printf(r < 0 ? "ERR %s\n" : "%s\n", r < 0 ? ename((int)-r) : "0");
		return r < 0;
	}
	if (!strcmp(op, "rawvhi") && argc > 3)
		return raw_vhi(xid, (uint32_t)num(argv[3]));
	if (!strcmp(op, "bench") && argc > 2)
		return bench((long)num(argv[2]));
	if (!strcmp(op, "leader-exit"))
		return leader_exit();
	if (!strcmp(op, "uts-kept"))
		return uts_kept(xid);
	if (!strcmp(op, "try") && argc > 2) {
		r = try_op(argv[2], argc > 3 ? argv[3] : "");
		if (r == -2)
			return 2;
		if (r < 0)
			printf("ERR %s\n", ename(errno));
		else
			printf("ok\n");
		return 0;
	}
	if (argc < 3)
		return 2;
	if (strstr(op, "flags") || strstr(op, "caps"))
		return bits(op, xid, argc, argv);
	if (!strcmp(op, "uname") || !strcmp(op, "setuname"))
		return uname_op(op[0] == 's', xid, argc, argv);
	return query(op, xid, argc, argv);
}
