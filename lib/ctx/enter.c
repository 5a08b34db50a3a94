/*
 * Entering a context (vx_migrate) and what every task inside gets on the
 * way in: the bounding set reduced to bcaps and a seccomp filter enforcing
 * the context caps (ccaps).  Mapping of each VXC_* cap:
 *   SET_UTSNAME   sethostname, setdomainname            -> EPERM without it
 *   SET_RLIMIT    CAP_SYS_RESOURCE left out of the bounding set without it,
 *                 so raising a hard limit fails with EPERM (as in vserver)
 *   RAW_ICMP      socket(AF_INET/AF_INET6, SOCK_RAW, ...) -> EPERM
 *   SYSLOG        syslog(2)                               -> EPERM
 *   SECURE_MOUNT / BINARY_MOUNT   mount(2) without MS_REMOUNT, fsopen,
 *                 fsmount, move_mount, open_tree, mount_setattr -> EPERM
 *   SECURE_REMOUNT  mount(2) with MS_REMOUNT, fspick      -> EPERM
 *   QUOTA_CTL     quotactl, quotactl_fd                   -> EPERM
 *   ADMIN_MAPPER  ioctl of type 0xfd (device mapper)      -> EPERM
 *   ADMIN_CLOOP   ioctl of type 0x4c (loop devices)       -> EPERM
 * Syscalls of another ABI (i386, x32) are refused while a filter is on.
 * The same filter refuses reboot(2) (EPERM) unless the context has
 * REBOOT_KILL; with it, reboot from the context's pid namespace kills the
 * context (see create.c).  A migrating task stays in the host's pid
 * namespace, where reboot would act on the host, so it also loses
 * CAP_SYS_BOOT from its own sets (the bounding set keeps it: its exec'd
 * children, born inside, get it back).
 */
#define LOG_PREFIX "ctx/enter: "
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"

#define CAP_SYS_BOOT_BIT 22
#define CAP_SYS_RESOURCE_BIT 24
#define MAX_INSNS 128

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

struct filter {
	struct sock_filter insn[MAX_INSNS];
	unsigned n;
};

static void emit(struct filter *f, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (f->n < MAX_INSNS)
		f->insn[f->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* nr -> EPERM. */
static void deny_nr(struct filter *f, int nr)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
	emit(f, BPF_RET | BPF_K, DENY, 0, 0);
}

/* nr with (low word of arg & mask) == val -> EPERM. */
static void deny_arg(struct filter *f, int nr, int arg, uint32_t mask, uint32_t val)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg), 0, 0);
	emit(f, BPF_ALU | BPF_AND | BPF_K, mask, 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, val, 0, 1);
	emit(f, BPF_RET | BPF_K, DENY, 0, 0);
}

/* socket(AF_INET or AF_INET6, SOCK_RAW | flags, ...) -> EPERM. */
static void deny_raw_socket(struct filter *f)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 7);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 4);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), 0, 0);
	emit(f, BPF_ALU | BPF_AND | BPF_K, 0xf, 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, SOCK_RAW, 0, 1);
	emit(f, BPF_RET | BPF_K, DENY, 0, 0);
}

static void build_filter(struct filter *f, uint64_t ccaps, uint64_t flags)
{
	/* native ABI only: other arches and x32 could bypass the numbers */
	emit(f, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	emit(f, BPF_RET | BPF_K, DENY, 0, 0);
	emit(f, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(f, BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	emit(f, BPF_RET | BPF_K, DENY, 0, 0);

	if (!(ccaps & VXCTX_C_SET_UTSNAME)) {
		deny_nr(f, __NR_sethostname);
		deny_nr(f, __NR_setdomainname);
	}
	if (!(ccaps & VXCTX_C_SYSLOG))
		deny_nr(f, __NR_syslog);
	if (!(ccaps & VXCTX_C_RAW_ICMP))
		deny_raw_socket(f);
	if (!(ccaps & (VXCTX_C_SECURE_MOUNT | VXCTX_C_BINARY_MOUNT))) {
		deny_arg(f, __NR_mount, 3, MS_REMOUNT, 0);
		deny_nr(f, __NR_fsopen);
		deny_nr(f, __NR_fsmount);
		deny_nr(f, __NR_move_mount);
		deny_nr(f, __NR_open_tree);
		deny_nr(f, __NR_mount_setattr);
	}
	if (!(ccaps & VXCTX_C_SECURE_REMOUNT)) {
		deny_arg(f, __NR_mount, 3, MS_REMOUNT, MS_REMOUNT);
		deny_nr(f, __NR_fspick);
	}
	if (!(ccaps & VXCTX_C_QUOTA_CTL)) {
		deny_nr(f, __NR_quotactl);
		deny_nr(f, __NR_quotactl_fd);
	}
	if (!(ccaps & VXCTX_C_ADMIN_MAPPER))
		deny_arg(f, __NR_ioctl, 1, 0xff00, 0xfd00);
	if (!(ccaps & VXCTX_C_ADMIN_CLOOP))
		deny_arg(f, __NR_ioctl, 1, 0xff00, 0x4c00);
	if (!(flags & VXCTX_F_REBOOT_KILL))
		deny_nr(f, __NR_reboot);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

/*
 * Linux-VServer's default guest set: every capability but those
 * util-vserver calls insecure (lib/getinsecurebcaps.c,
 * vc_get_insecurebcaps(): LINUX_IMMUTABLE, NET_BROADCAST, NET_ADMIN,
 * NET_RAW, IPC_LOCK, IPC_OWNER, SYS_MODULE, SYS_RAWIO, SYS_PACCT,
 * SYS_ADMIN, SYS_NICE, SYS_RESOURCE, SYS_TIME, MKNOD, and SYS_BOOT where
 * reboot is not handled for the guest), the capabilities added to Linux
 * after that list was written that hand out host power (AUDIT_CONTROL,
 * MAC_OVERRIDE, MAC_ADMIN, SYSLOG, WAKE_ALARM, BLOCK_SUSPEND, AUDIT_READ,
 * PERFMON, BPF, CHECKPOINT_RESTORE), and DAC_READ_SEARCH, which the
 * vserver kernel fenced with its chroot barrier and a stock kernel does
 * not (open_by_handle_at reaches any file of a mounted filesystem).
 * NET_RAW stays with the RAW_ICMP context cap, SYS_BOOT with REBOOT_KILL
 * (reboot then ends the context only), SYS_RESOURCE with SET_RLIMIT.
 */
uint64_t vxctx_guest_bcaps(uint64_t flags, uint64_t ccaps)
{
	static const int insecure[] = { 2,  9,	11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23,
					24, 25, 27, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40 };
	uint64_t b = VXCTX_BCAPS_ALL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(insecure); i++)
		b &= ~(1ULL << insecure[i]);
	if (ccaps & VXCTX_C_RAW_ICMP)
		b |= 1ULL << 13;
	if (flags & VXCTX_F_REBOOT_KILL)
		b |= 1ULL << CAP_SYS_BOOT_BIT;
	if (ccaps & VXCTX_C_SET_RLIMIT)
		b |= 1ULL << CAP_SYS_RESOURCE_BIT;
	return b;
}

static int cap_last(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = 40;

	if (f && fscanf(f, "%d", &v) != 1)
		v = 40;
	return v;
}

int vxctx_apply_caps(uint64_t bcaps, uint64_t ccaps, uint64_t flags)
{
	struct filter f = { .n = 0 };
	struct sock_fprog prog;
	int cap, last = cap_last();

	if (!(ccaps & VXCTX_C_SET_RLIMIT))
		bcaps &= ~(1ULL << CAP_SYS_RESOURCE_BIT);
	for (cap = 0; cap <= last && cap < 64; cap++) {
		if (bcaps & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
			pr_perror("cannot drop capability %d from the bounding set", cap);
			return -errno;
		}
	}
	if ((ccaps & VXCTX_C_ALL) == VXCTX_C_ALL && (flags & VXCTX_F_REBOOT_KILL))
		return 0;
	build_filter(&f, ccaps, flags);
	if (f.n >= MAX_INSNS) {
		pr_err("context caps filter too long\n");
		return -E2BIG;
	}
	prog.len = (unsigned short)f.n;
	prog.filter = f.insn;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		pr_perror("cannot install the context caps filter");
		return -errno;
	}
	return 0;
}

/* The migrating task stays in the host pid ns: no reboot(2) for it. */
static int drop_own_sys_boot(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[0].effective &= ~(1U << CAP_SYS_BOOT_BIT);
	d[0].permitted &= ~(1U << CAP_SYS_BOOT_BIT);
	d[0].inheritable &= ~(1U << CAP_SYS_BOOT_BIT);
	if (syscall(SYS_capset, &h, d)) {
		pr_perror("cannot drop CAP_SYS_BOOT");
		return -errno;
	}
	return 0;
}

/* pidfd of the context's init, checked against pid reuse. */
int vxctx_init_pidfd(const struct vxctx_record *r)
{
	int fd;

	if (vxctx_record_foreign(r)) {
		pr_err("context %u: its init is not visible from this pid namespace\n", r->xid);
		return -ESRCH;
	}
	fd = (int)syscall(SYS_pidfd_open, r->init_pid, 0);

	if (fd < 0) {
		pr_perror("context %u: init %d", r->xid, r->init_pid);
		return -ESRCH;
	}
	if (vxctx_starttime(r->init_pid) != r->init_start) {
		close(fd);
		pr_err("context %u: init %d is gone\n", r->xid, r->init_pid);
		return -ESRCH;
	}
	return fd;
}

/* 1 if pid's namespace of that kind is not ours. */
static int ns_differs(pid_t pid, const char *kind)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, kind);
	if (stat(path, &a))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	return !stat(path, &b) && a.st_ino != b.st_ino;
}

int vxctx_migrate(const char *rundir, uint32_t xid)
{
	struct vxctx_record r;
	_cleanup_close_ int pidfd = -1;
	int ret, nsflags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS;

	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	if (r.flags & VXCTX_F_INFO_PRIVATE) {
		pr_err("context %u is INFO_PRIVATE: it cannot be entered\n", xid);
		return -EPERM;
	}
	pidfd = vxctx_init_pidfd(&r);
	if (pidfd < 0)
		return pidfd;
	if (r.flags & VXCTX_F_HIDE_NETIF)
		nsflags |= CLONE_NEWNET;
	if (r.flags & VXCTX_F_VIRT_UPTIME)
		nsflags |= CLONE_NEWTIME;
	if (ns_differs(r.init_pid, "cgroup"))
		nsflags |= CLONE_NEWCGROUP; /* entered after joining the group */
	ret = vxctx_cg_join(r.cgroup, getpid());
	if (!ret && r.pids_cgroup[0])
		ret = vxctx_cg_join(r.pids_cgroup, getpid());
	if (ret)
		return ret;
	if (setns(pidfd, nsflags)) {
		ret = -errno;
		pr_perror("context %u: cannot enter the namespaces of init %d", xid, r.init_pid);
		return ret;
	}
	ret = drop_own_sys_boot();
	return ret ? ret : vxctx_apply_caps(r.bcaps, r.ccaps, r.flags);
}
