/*
 * Credentials, last, by injected syscalls; only what differs from ours (the
 * clone starts with vxrestore's credentials) is changed, so restoring a
 * root process costs no round trip.  Order: SECBIT_NO_SETUID_FIXUP (caps
 * survive the uid change), groups, gids, uids, fs ids, bounding set drops,
 * final securebits, [seccomp filters, see seccomp.c], capset, ambient
 * raises (they need the final permitted and inheritable sets),
 * no_new_privs.
 */
#define LOG_PREFIX "restore/creds: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "log.h"
#include "restore/restore.h"

struct our_creds {
	uid_t uid[3];
	gid_t gid[3];
	unsigned securebits;
	struct __user_cap_data_struct caps[2];
	int last_cap;
};

static int read_our_creds(struct our_creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	FILE *f;

	getresuid(&c->uid[0], &c->uid[1], &c->uid[2]);
	getresgid(&c->gid[0], &c->gid[1], &c->gid[2]);
	c->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (syscall(SYS_capget, &h, c->caps))
		return -errno;
	c->last_cap = CAP_LAST_CAP;
	f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &c->last_cap) != 1)
			c->last_cap = CAP_LAST_CAP;
		fclose(f);
	}
	return 0;
}

static bool groups_differ(const CredsEntry *ce)
{
	gid_t *g;
	bool d;
	int n;

	n = getgroups(0, NULL);
	if (n < 0 || (size_t)n != ce->n_groups)
		return true;
	g = malloc((n + 1) * sizeof(*g));
	if (!g)
		return true;
	n = getgroups(n, g);
	d = n < 0 || (n && memcmp(g, ce->groups, n * sizeof(*g)) != 0);
	free(g);
	return d;
}

static int set_ids(struct rst_proc *proc, const struct our_creds *o)
{
	const CredsEntry *ce = proc->creds;
	uint64_t data = proc->img->scratch + RST_SCRATCH_DATA;
	long r = 0;
	int ret;

	if (groups_differ(ce)) {
		ret = inject_write(proc->pid, data + RST_SCR_GROUPS, ce->groups, 4 * ce->n_groups);
		if (ret)
			return ret;
		r = rst_inject(proc, "setgroups", SYS_setgroups, ce->n_groups,
			       data + RST_SCR_GROUPS, 0, 0, 0, 0);
	}
	if (r >= 0 && (ce->gid != o->gid[0] || ce->egid != o->gid[1] || ce->sgid != o->gid[2]))
		r = rst_inject(proc, "setresgid", SYS_setresgid, ce->gid, ce->egid, ce->sgid, 0, 0,
			       0);
	if (r >= 0 && (ce->uid != o->uid[0] || ce->euid != o->uid[1] || ce->suid != o->uid[2]))
		r = rst_inject(proc, "setresuid", SYS_setresuid, ce->uid, ce->euid, ce->suid, 0, 0,
			       0);
	if (r >= 0 && ce->fsgid != ce->egid)
		r = rst_inject(proc, NULL, SYS_setfsgid, ce->fsgid, 0, 0, 0, 0, 0);
	if (r >= 0 && ce->fsuid != ce->euid)
		r = rst_inject(proc, NULL, SYS_setfsuid, ce->fsuid, 0, 0, 0, 0, 0);
	return r < 0 ? r : 0;
}

static int set_caps(struct rst_proc *proc, const struct our_creds *o)
{
	const CredsEntry *ce = proc->creds;
	uint64_t data = proc->img->scratch + RST_SCRATCH_DATA + RST_SCR_CAPS;
	struct {
		struct __user_cap_header_struct h;
		struct __user_cap_data_struct d[2];
	} cs = { { _LINUX_CAPABILITY_VERSION_3, 0 },
		 { { (uint32_t)ce->cap_eff, (uint32_t)ce->cap_prm, (uint32_t)ce->cap_inh },
		   { ce->cap_eff >> 32, ce->cap_prm >> 32, ce->cap_inh >> 32 } } };
	int ret;
	long r;

	if (!memcmp(cs.d, o->caps, sizeof(cs.d)))
		return 0;
	ret = inject_write(proc->pid, data, &cs, sizeof(cs));
	if (ret)
		return ret;
	r = rst_inject(proc, "capset", SYS_capset, data, data + sizeof(cs.h), 0, 0, 0, 0);
	return r < 0 ? r : 0;
}

/* Drops what the target's bounding set lacks; ours is read from the kernel. */
static int drop_bounding(struct rst_proc *proc, int last)
{
	long r;
	int cap;

	for (cap = 0; cap <= last; cap++) {
		if ((proc->creds->cap_bnd >> cap) & 1 || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		r = rst_inject(proc, "PR_CAPBSET_DROP", SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0,
			       0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_securebits(struct rst_proc *proc, unsigned *cur, unsigned want)
{
	long r;

	if (*cur == want)
		return 0;
	r = rst_inject(proc, "PR_SET_SECUREBITS", SYS_prctl, PR_SET_SECUREBITS, want, 0, 0, 0, 0);
	if (r < 0)
		return r;
	*cur = want;
	return 0;
}

static bool ids_change(const CredsEntry *ce, const struct our_creds *o)
{
	return ce->uid != o->uid[0] || ce->euid != o->uid[1] || ce->suid != o->uid[2] ||
	       ce->gid != o->gid[0] || ce->egid != o->gid[1] || ce->sgid != o->gid[2] ||
	       ce->fsuid != ce->euid || ce->fsgid != ce->egid;
}

static int raise_ambient(struct rst_proc *proc, int last)
{
	long r;
	int cap;

	for (cap = 0; cap <= last; cap++) {
		if (!((proc->creds->cap_amb >> cap) & 1))
			continue;
		r = rst_inject(proc, "PR_CAP_AMBIENT_RAISE", SYS_prctl, PR_CAP_AMBIENT,
			       PR_CAP_AMBIENT_RAISE, cap, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Thread i's credentials (proc->inp), by injection.  Its seccomp filters go
 * in here, before capset(), when its final credentials would not allow
 * seccomp() (seccomp.c).  Returns 0/-errno.
 */
static int creds_restore_thread(struct rst_proc *proc, size_t i)
{
	const CredsEntry *ce = proc->creds;
	struct our_creds o;
	bool change;
	int ret, last;

	ret = read_our_creds(&o);
	if (ret)
		return ret;
	last = ce->has_last_cap && (int)ce->last_cap < o.last_cap ? (int)ce->last_cap : o.last_cap;
	change = ids_change(ce, &o);
	if (change)
		ret = set_securebits(proc, &o.securebits, o.securebits | SECBIT_NO_SETUID_FIXUP);
	if (!ret)
		ret = set_ids(proc, &o);
	if (!ret)
		ret = drop_bounding(proc, last);
	if (!ret)
		ret = set_securebits(proc, &o.securebits, ce->securebits);
	if (!ret && !seccomp_after_creds(proc))
		ret = seccomp_restore(proc, i); /* while CAP_SYS_ADMIN is effective */
	if (!ret)
		ret = set_caps(proc, &o);
	if (!ret)
		ret = raise_ambient(proc, last);
	if (!ret && ce->no_new_privs)
		ret = rst_inject(proc, "PR_SET_NO_NEW_PRIVS", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0,
				 0, 0, 0) < 0 ?
			      -EPERM :
			      0;
	/* an euid change resets dumpable */
	if (!ret && change && proc->task->has_dumpable)
		ret = rst_inject(proc, "PR_SET_DUMPABLE", SYS_prctl, PR_SET_DUMPABLE,
				 proc->task->dumpable, 0, 0, 0, 0) < 0 ?
			      -EPERM :
			      0;
	return ret;
}

/* Parent: the credentials of every thread of proc.  Returns 0/-errno. */
int creds_restore(struct rst_proc *proc)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < proc->nr_threads; i++) {
		proc->inp = i ? &proc->threads[i].in : &proc->in;
		ret = creds_restore_thread(proc, i);
	}
	proc->inp = &proc->in;
	return ret;
}
