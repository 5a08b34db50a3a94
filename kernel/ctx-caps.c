// SPDX-License-Identifier: GPL-2.0
/*
 * Context caps (VXC_*) and the reboot of a context, checked by kprobes.
 *
 * A kprobe sits on the entry of each syscall a ccap governs (the x86_64
 * and the ia32 entry points, __x64_sys_* and __ia32_*sys_*) and on two
 * LSM hooks that see what a seccomp filter cannot (security_task_setrlimit:
 * the new hard limit; security_socket_create).  Its pre-handler looks the
 * caller up in the member map; for a task of a context that lacks the cap
 * it makes the function return at once with -EPERM: regs->ax is the value,
 * regs->ip is set to vx_kp_skip, an empty function whose "ret" returns to
 * the probed function's caller (the probe is at the function's first
 * instruction, the ftrace call site, so the stack still holds that return
 * address), and the handler returns 1 (kprobes then resume at regs->ip).
 * That is what bpf_override_return does; the kernel's own helper is not
 * exported (and CONFIG_FUNCTION_ERROR_INJECTION is off in Debian's 6.1).
 *
 * The caps are read at the time of the call, so a set_ccaps applies at
 * once to every member (the userspace engine: to tasks entering later).
 * Limits: /proc/sys/kernel/{hostname,domainname} writes are not checked
 * (as the userspace engine's seccomp filter); a probe whose symbol the
 * running kernel does not have is reported at load and that path is open.
 */
#include <linux/capability.h>
#include <linux/ioctl.h>
#include <linux/kprobes.h>
#include <linux/mount.h>
#include <uapi/linux/mount.h>
#include <linux/net.h>
#include <linux/ptrace.h>
#include <linux/reboot.h>
#include <linux/resource.h>
#include <linux/sched/signal.h>
#include <linux/socket.h>

#include "ctx.h"

#define VX_PASS 1 /* a check's answer: let the call run */

enum vx_kind { VXP_PLAIN, VXP_MOUNT, VXP_IOCTL, VXP_RLIMIT, VXP_SOCKET, VXP_REBOOT };
enum vx_abi { VXP_X64, VXP_IA32, VXP_HOOK };

struct vx_probe {
	struct kprobe kp;
	u64 cap; /* any of these lets the call through (VXP_PLAIN) */
	u8 kind;
	u8 abi;
	bool on;
};

static noinline void vx_kp_skip(void)
{
	barrier();
}

/* Argument n of the probed syscall, from the caller's saved registers. */
static unsigned long vx_arg(const struct vx_probe *p, struct pt_regs *regs, int n)
{
	const struct pt_regs *u = current_pt_regs();

	if (p->abi == VXP_IA32) {
		const unsigned long a[] = { u->bx, u->cx, u->dx, u->si, u->di, u->bp };

		return (u32)a[n];
	}
	if (p->abi == VXP_X64) {
		const unsigned long a[] = { u->di, u->si, u->dx, u->r10, u->r8, u->r9 };

		return a[n];
	}
	return ((const unsigned long[]){ regs->di, regs->si, regs->dx, regs->cx })[n];
}

static long vx_need(const struct vx_info *vxi, u64 caps)
{
	return (vxi->ccaps & caps) ? VX_PASS : -EPERM;
}

static long vx_check_ioctl(const struct vx_info *vxi, unsigned int cmd)
{
	return vx_need(vxi, _IOC_TYPE(cmd) == 0xfd ? VXC_ADMIN_MAPPER : VXC_ADMIN_CLOOP);
}

/* security_task_setrlimit(p, resource, new_rlim): raising a hard limit. */
static long vx_check_rlimit(const struct vx_info *vxi, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;
	unsigned int res = (unsigned int)regs->si;
	const struct rlimit *n = (const struct rlimit *)regs->dx;

	if ((vxi->ccaps & VXC_SET_RLIMIT) || res >= RLIM_NLIMITS)
		return VX_PASS;
	return n->rlim_max > READ_ONCE(t->signal->rlim[res].rlim_max) ? -EPERM : VX_PASS;
}

/*
 * reboot(2) from a context: refused without REBOOT_KILL (as the userspace
 * engine's filter); with it, RESTART/RESTART2/POWER_OFF/HALT end the
 * context (every member gets SIGKILL, wait_exit reports the command), any
 * other command is EINVAL, as reboot_pid_ns() answers in a pid namespace.
 */
static long vx_check_reboot(struct vx_info *vxi, const struct vx_probe *p, struct pt_regs *regs)
{
	unsigned int m1 = vx_arg(p, regs, 0), m2 = vx_arg(p, regs, 1);
	unsigned int cmd = vx_arg(p, regs, 2);

	if (!(vxi->flags & VXF_REBOOT_KILL))
		return -EPERM;
	if (!cap_raised(current_cred()->cap_effective, CAP_SYS_BOOT))
		return -EPERM;
	if (m1 != LINUX_REBOOT_MAGIC1 || (m2 != LINUX_REBOOT_MAGIC2 && m2 != LINUX_REBOOT_MAGIC2A &&
					  m2 != LINUX_REBOOT_MAGIC2B && m2 != LINUX_REBOOT_MAGIC2C))
		return -EINVAL;
	if (cmd != LINUX_REBOOT_CMD_RESTART && cmd != LINUX_REBOOT_CMD_RESTART2 &&
	    cmd != LINUX_REBOOT_CMD_POWER_OFF && cmd != LINUX_REBOOT_CMD_HALT)
		return -EINVAL;
	vxi->reboot_cmd = cmd;
	return 0; /* vx_kp_pre kills the context */
}

static long vx_check_locked(struct vx_info *vxi, const struct vx_probe *p, struct pt_regs *regs)
{
	switch (p->kind) {
	case VXP_MOUNT:
		if (vx_arg(p, regs, 3) & MS_REMOUNT)
			return vx_need(vxi, VXC_SECURE_REMOUNT);
		return vx_need(vxi, VXC_SECURE_MOUNT | VXC_BINARY_MOUNT);
	case VXP_IOCTL:
		return vx_check_ioctl(vxi, vx_arg(p, regs, 1));
	case VXP_RLIMIT:
		return vx_check_rlimit(vxi, regs);
	case VXP_SOCKET: /* security_socket_create(family, type, protocol, kern) */
		return vx_need(vxi, VXC_RAW_ICMP);
	case VXP_REBOOT:
		return vx_check_reboot(vxi, p, regs);
	}
	return vx_need(vxi, p->cap);
}

/* False for calls no cap governs, without taking vx_lock: most ioctls,
 * sockets the kernel makes or that are not raw inet ones. */
static bool vx_may_refuse(const struct vx_probe *p, struct pt_regs *regs)
{
	unsigned int type;

	if (p->kind == VXP_IOCTL) {
		type = _IOC_TYPE((unsigned int)vx_arg(p, regs, 1));
		return type == 0xfd || type == 0x4c;
	}
	if (p->kind == VXP_SOCKET)
		return !regs->cx && (int)regs->si == SOCK_RAW &&
		       ((int)regs->di == AF_INET || (int)regs->di == AF_INET6);
	return true;
}

static int vx_kp_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vx_probe *p = container_of(kp, struct vx_probe, kp);
	struct vx_info *vxi;
	long ret = VX_PASS;

	if (!atomic_read(&vx_nr_live) || !in_task() || !vx_may_refuse(p, regs))
		return 0;
	spin_lock(&vx_lock);
	vxi = vx_task_vxi_locked(current);
	if (vxi)
		ret = vx_check_locked(vxi, p, regs);
	spin_unlock(&vx_lock);
	if (ret == VX_PASS)
		return 0;
	/* current is a member: vxi stays live and registered meanwhile */
	if (p->kind == VXP_REBOOT && !ret)
		ret = vx_signal_all(vxi, SIGKILL);
	regs->ax = ret;
	instruction_pointer_set(regs, (unsigned long)vx_kp_skip);
	return 1;
}

#define VXP(sym, c, k, a)                                                                    \
	{                                                                                    \
		.kp = { .symbol_name = sym, .pre_handler = vx_kp_pre }, .cap = c, .kind = k, \
		.abi = a                                                                     \
	}
#define VXP_SYS(name, c, k) \
	VXP("__x64_sys_" name, c, k, VXP_X64), VXP("__ia32_sys_" name, c, k, VXP_IA32)
#define VX_MOUNT_CAPS (VXC_SECURE_MOUNT | VXC_BINARY_MOUNT)

static struct vx_probe vx_probes[] = {
	VXP_SYS("sethostname", VXC_SET_UTSNAME, VXP_PLAIN),
	VXP_SYS("setdomainname", VXC_SET_UTSNAME, VXP_PLAIN),
	VXP_SYS("syslog", VXC_SYSLOG, VXP_PLAIN),
	VXP_SYS("mount", 0, VXP_MOUNT),
	VXP_SYS("fsopen", VX_MOUNT_CAPS, VXP_PLAIN),
	VXP_SYS("fsmount", VX_MOUNT_CAPS, VXP_PLAIN),
	VXP_SYS("move_mount", VX_MOUNT_CAPS, VXP_PLAIN),
	VXP_SYS("open_tree", VX_MOUNT_CAPS, VXP_PLAIN),
	VXP_SYS("mount_setattr", VX_MOUNT_CAPS, VXP_PLAIN),
	VXP_SYS("fspick", VXC_SECURE_REMOUNT, VXP_PLAIN),
	VXP_SYS("quotactl", VXC_QUOTA_CTL, VXP_PLAIN),
	VXP_SYS("quotactl_fd", VXC_QUOTA_CTL, VXP_PLAIN),
	VXP_SYS("reboot", 0, VXP_REBOOT),
	VXP("__x64_sys_ioctl", 0, VXP_IOCTL, VXP_X64),
	VXP("__ia32_compat_sys_ioctl", 0, VXP_IOCTL, VXP_IA32),
	VXP("security_task_setrlimit", 0, VXP_RLIMIT, VXP_HOOK),
	VXP("security_socket_create", 0, VXP_SOCKET, VXP_HOOK),
};

void vx_caps_exit(void)
{
	struct kprobe *kps[ARRAY_SIZE(vx_probes)];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(vx_probes); i++)
		if (vx_probes[i].on)
			kps[n++] = &vx_probes[i].kp;
	unregister_kprobes(kps, n);
	for (i = 0; i < ARRAY_SIZE(vx_probes); i++)
		vx_probes[i].on = false;
}

/* A probe the kernel has no symbol for is reported and left out; any
 * other failure fails the load. */
int vx_caps_init(void)
{
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vx_probes); i++) {
		ret = register_kprobe(&vx_probes[i].kp);
		if (ret == -ENOENT) {
			pr_warn(VX_MOD_NAME ": no %s: that path is not checked\n",
				vx_probes[i].kp.symbol_name);
			continue;
		}
		if (ret)
			goto out_probes;
		vx_probes[i].on = true;
	}
	return 0;

out_probes:
	pr_err(VX_MOD_NAME ": kprobe %s: %d\n", vx_probes[i].kp.symbol_name, ret);
	vx_caps_exit();
	return ret;
}
