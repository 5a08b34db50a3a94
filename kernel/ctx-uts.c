// SPDX-License-Identifier: GPL-2.0
/*
 * One UTS namespace per context: uname(2), sethostname(2) and
 * /proc/sys/kernel/{ostype,hostname,osrelease,version,domainname} of its
 * tasks read its uts_namespace->name, so every field (SYSNAME, RELEASE,
 * VERSION and MACHINE too) is the context's own.
 *
 * Nothing a module may call makes or enters a UTS namespace, so the few
 * symbols needed are found with the kprobe-address trick (a kprobe on
 * kallsyms_lookup_name gives its address; it is not exported):
 *   unshare_nsproxy_namespaces  a copy of current's nsproxy with a new UTS
 *				 namespace (a copy of current's), as unshare
 *   switch_task_namespaces	 current takes that nsproxy
 *   free_uts_ns, free_nsproxy	 what put_uts_ns and put_nsproxy call inline
 *   uts_sem			 the fields are written under it, as
 *				 sethostname does, and read under it
 * The nsproxy is made before anything changes and switched to only once
 * the caller is a member (or dropped); a migrate swaps the copy's UTS
 * namespace for the context's before the switch (what setns does).
 */
#include <linux/cred.h>
#include <linux/kprobes.h>
#include <linux/nsproxy.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <net/net_namespace.h>

#include "ctx.h"

static_assert(sizeof(((struct new_utsname *)0)->sysname) == VHILEN);

static int (*vx_unshare_nsp)(unsigned long, struct nsproxy **, struct cred *, struct fs_struct *);
static void (*vx_switch_nsp)(struct task_struct *, struct nsproxy *);
static void (*vx_free_uts)(struct uts_namespace *);
static void (*vx_free_nsp)(struct nsproxy *);
static struct rw_semaphore *vx_uts_sem;

static unsigned long vx_kallsyms(const char *name)
{
	static unsigned long (*lookup)(const char *name);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!lookup) {
		if (register_kprobe(&kp) < 0)
			return 0;
		lookup = (void *)kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup ? lookup(name) : 0;
}

int vx_uts_init(void)
{
	vx_unshare_nsp = (void *)vx_kallsyms("unshare_nsproxy_namespaces");
	vx_switch_nsp = (void *)vx_kallsyms("switch_task_namespaces");
	vx_free_uts = (void *)vx_kallsyms("free_uts_ns");
	vx_free_nsp = (void *)vx_kallsyms("free_nsproxy");
	vx_uts_sem = (void *)vx_kallsyms("uts_sem");
	if (vx_unshare_nsp && vx_switch_nsp && vx_free_uts && vx_free_nsp && vx_uts_sem)
		return 0;
	pr_err(VX_MOD_NAME ": kernel symbols for UTS namespaces not found\n");
	return -ENOENT;
}

void vx_uts_put(struct uts_namespace *uts)
{
	if (refcount_dec_and_test(&uts->ns.count))
		vx_free_uts(uts);
}

/* A copy of current's nsproxy with a new UTS namespace (a copy of
 * current's) and, if new_net, a new network namespace; then uts and net
 * in their places where given. */
struct nsproxy *vx_nsp_new(struct uts_namespace *uts, struct net *net, bool new_net)
{
	struct uts_namespace *fresh;
	struct nsproxy *nsp = NULL;
	struct net *cur;
	int ret;

	ret = vx_unshare_nsp(CLONE_NEWUTS | (new_net ? CLONE_NEWNET : 0), &nsp, NULL, NULL);
	if (ret)
		return ERR_PTR(ret);
	if (!nsp)
		return ERR_PTR(-EINVAL);
	if (uts) {
		fresh = nsp->uts_ns;
		get_uts_ns(uts);
		nsp->uts_ns = uts;
		vx_uts_put(fresh);
	}
	if (net) {
		cur = nsp->net_ns;
		nsp->net_ns = get_net(net);
		put_net(cur);
	}
	return nsp;
}

void vx_nsp_drop(struct nsproxy *nsp)
{
	if (atomic_dec_and_test(&nsp->count))
		vx_free_nsp(nsp);
}

void vx_nsp_enter(struct nsproxy *nsp)
{
	vx_switch_nsp(current, nsp);
}

static char *vx_uts_field(struct uts_namespace *uts, u32 field)
{
	switch (field) {
	case VHIN_SYSNAME:
		return uts->name.sysname;
	case VHIN_NODENAME:
		return uts->name.nodename;
	case VHIN_RELEASE:
		return uts->name.release;
	case VHIN_VERSION:
		return uts->name.version;
	case VHIN_MACHINE:
		return uts->name.machine;
	case VHIN_DOMAINNAME:
		return uts->name.domainname;
	}
	return NULL;
}

int vx_uts_get_field(struct uts_namespace *uts, u32 field, char *buf)
{
	char *f = vx_uts_field(uts, field);

	if (!f)
		return -EINVAL;
	down_read(vx_uts_sem);
	memcpy(buf, f, VHILEN);
	up_read(vx_uts_sem);
	buf[VHILEN - 1] = 0;
	return 0;
}

int vx_uts_set_field(struct uts_namespace *uts, u32 field, const char *val)
{
	char *f = vx_uts_field(uts, field);

	if (!f)
		return -EINVAL;
	down_write(vx_uts_sem);
	memset(f, 0, VHILEN);
	strscpy(f, val, VHILEN);
	up_write(vx_uts_sem);
	return 0;
}
