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
#include <linux/capability.h>
#include <seccomp.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"

#define CAP_SYS_BOOT_BIT 22
#define CAP_SYS_RESOURCE_BIT 24

#define DENY SCMP_ACT_ERRNO(EPERM)

/* nr -> EPERM when every cmp holds; 0 or a libseccomp -errno. */
static int deny(scmp_filter_ctx f, int nr, unsigned int n, const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(f, DENY, nr, n, cmp);
}

/* socket(AF_INET or AF_INET6, SOCK_RAW | flags, ...) -> EPERM.  Arguments
 * are compared on their low 32 bits (the _32 forms), as the kernel reads
 * an int: high bits set by the caller do not slip past. */
static int deny_raw_socket(scmp_filter_ctx f)
{
	const struct scmp_arg_cmp v4[] = { SCMP_A0_32(SCMP_CMP_EQ, AF_INET),
					   SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW) };
	const struct scmp_arg_cmp v6[] = { SCMP_A0_32(SCMP_CMP_EQ, AF_INET6),
					   SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW) };

	return deny(f, SCMP_SYS(socket), 2, v4) ?: deny(f, SCMP_SYS(socket), 2, v6);
}

/* mount(2) with (remount) or without MS_REMOUNT, and the new mount API. */
static int deny_mounts(scmp_filter_ctx f, uint64_t ccaps)
{
	const struct scmp_arg_cmp plain = SCMP_A3_32(SCMP_CMP_MASKED_EQ, MS_REMOUNT, 0);
	const struct scmp_arg_cmp re = SCMP_A3_32(SCMP_CMP_MASKED_EQ, MS_REMOUNT, MS_REMOUNT);
	int r = 0;

	if (!(ccaps & (VXCTX_C_SECURE_MOUNT | VXCTX_C_BINARY_MOUNT)))
		r = deny(f, SCMP_SYS(mount), 1, &plain)		   ?:
			    deny(f, SCMP_SYS(fsopen), 0, NULL)	   ?:
			    deny(f, SCMP_SYS(fsmount), 0, NULL)	   ?:
			    deny(f, SCMP_SYS(move_mount), 0, NULL) ?:
			    deny(f, SCMP_SYS(open_tree), 0, NULL)  ?:
			    deny(f, SCMP_SYS(mount_setattr), 0, NULL);
	if (!r && !(ccaps & VXCTX_C_SECURE_REMOUNT))
		r = deny(f, SCMP_SYS(mount), 1, &re) ?: deny(f, SCMP_SYS(fspick), 0, NULL);
	return r;
}

/* ioctl of type (cmd bits 8..15) type -> EPERM. */
static int deny_ioctl_type(scmp_filter_ctx f, uint32_t type)
{
	const struct scmp_arg_cmp c = SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xff00, type << 8);

	return deny(f, SCMP_SYS(ioctl), 1, &c);
}

/* The ccaps filter's rules; 0 or a libseccomp -errno. */
static int build_filter(scmp_filter_ctx f, uint64_t ccaps, uint64_t flags)
{
	int r = 0;

	if (!(ccaps & VXCTX_C_SET_UTSNAME))
		r = deny(f, SCMP_SYS(sethostname), 0, NULL) ?:
			    deny(f, SCMP_SYS(setdomainname), 0, NULL);
	if (!r && !(ccaps & VXCTX_C_SYSLOG))
		r = deny(f, SCMP_SYS(syslog), 0, NULL);
	if (!r && !(ccaps & VXCTX_C_RAW_ICMP))
		r = deny_raw_socket(f);
	r = r ?: deny_mounts(f, ccaps);
	if (!r && !(ccaps & VXCTX_C_QUOTA_CTL))
		r = deny(f, SCMP_SYS(quotactl), 0, NULL) ?: deny(f, SCMP_SYS(quotactl_fd), 0, NULL);
	if (!r && !(ccaps & VXCTX_C_ADMIN_MAPPER))
		r = deny_ioctl_type(f, 0xfd);
	if (!r && !(ccaps & VXCTX_C_ADMIN_CLOOP))
		r = deny_ioctl_type(f, 0x4c);
	if (!r && !(flags & VXCTX_F_REBOOT_KILL))
		r = deny(f, SCMP_SYS(reboot), 0, NULL);
	return r;
}

/*
 * The ccaps filter, through libseccomp: native ABI only (another arch's
 * or x32's numbers get EPERM: the bad-arch action), no NO_NEW_PRIVS (set-id
 * programs inside keep working, as with the hand-assembled filter this
 * replaced; installing it needs CAP_SYS_ADMIN, which the caller still has
 * in its effective set).  0 or -errno, logged.
 */
static int install_filter(uint64_t ccaps, uint64_t flags)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!f) {
		pr_err("cannot make the context caps filter: out of memory\n");
		return -ENOMEM;
	}
	r = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, DENY)	?:
		    seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0) ?:
								  build_filter(f, ccaps, flags);
	if (r)
		pr_err("cannot build the context caps filter: %s\n", strerror(-r));
	else if ((r = seccomp_load(f)))
		pr_err("cannot install the context caps filter: %s\n", strerror(-r));
	seccomp_release(f);
	return r;
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
	return install_filter(ccaps, flags);
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
	ret = ret ?: vxctx_limits_join(xid, getpid());
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
