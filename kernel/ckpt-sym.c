// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel functions a module needs but the kernel does not export, found by
 * address through a kprobe (register_kprobe() resolves a symbol's name;
 * the probe is removed at once, nothing runs in it).  Only
 * ptrace_may_access(): task_dump checks the caller as ptrace(2) would, with
 * the LSM hook (Yama) included, which no exported function does.  Looked
 * up once, on first use, under a mutex.
 */
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>

#include "ckpt.h"
#include "vxcr.h"

typedef bool (*vx_ptrace_may_access_t)(struct task_struct *task, unsigned int mode);

static DEFINE_MUTEX(vx_sym_lock);
static vx_ptrace_may_access_t vx_ptrace_may_access;

static void *vx_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	void *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * ptrace_may_access(t, PTRACE_MODE_ATTACH_REALCREDS): 0, -EPERM, or
 * -ENOSYS when the kernel's function cannot be found (the dump is refused
 * rather than done unchecked).
 */
int vx_may_ptrace(struct task_struct *t)
{
	vx_ptrace_may_access_t fn;

	mutex_lock(&vx_sym_lock);
	if (!vx_ptrace_may_access)
		vx_ptrace_may_access = vx_lookup("ptrace_may_access");
	fn = vx_ptrace_may_access;
	mutex_unlock(&vx_sym_lock);
	if (!fn)
		return -ENOSYS;
	return fn(t, PTRACE_MODE_ATTACH_REALCREDS) ? 0 : -EPERM;
}
