// SPDX-License-Identifier: GPL-2.0
/*
 * Credentials of a restart: the image's, but only what the caller already
 * may have.  An image never grants a uid, gid, group or capability the
 * caller lacks: every id must be one the caller could take with
 * setresuid/setresgid (one of its own, or any with CAP_SETUID/CAP_SETGID),
 * the real uid stays the caller's (its user and ucounts go with it), each
 * capability set is a subset of what capset() would allow, securebits
 * and the bounding set change only with CAP_SETPCAP, no_new_privs can be
 * set but not cleared.  Otherwise -EPERM.  The new cred is prepared
 * before the point of no return and committed after it.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <linux/uidgid.h>

#include "rst.h"

static u64 rst_cap64(kernel_cap_t c)
{
	return c.cap[0] | ((u64)c.cap[1] << 32);
}

static kernel_cap_t rst_kcap(u64 v)
{
	kernel_cap_t c = {};

	c.cap[0] = (u32)v;
	c.cap[1] = v >> 32;
	return c;
}

/* One uid of the image: valid and one of the caller's, or CAP_SETUID. */
static int rst_uid(const struct cred *old, u32 v, kuid_t *out, bool setuid)
{
	kuid_t k = make_kuid(old->user_ns, v);

	if (!uid_valid(k))
		return -EINVAL;
	if (!setuid && !uid_eq(k, old->uid) && !uid_eq(k, old->euid) && !uid_eq(k, old->suid) &&
	    !uid_eq(k, old->fsuid))
		return -EPERM;
	*out = k;
	return 0;
}

static int rst_gid(const struct cred *old, u32 v, kgid_t *out, bool setgid)
{
	kgid_t k = make_kgid(old->user_ns, v);

	if (!gid_valid(k))
		return -EINVAL;
	if (!setgid && !gid_eq(k, old->gid) && !gid_eq(k, old->egid) && !gid_eq(k, old->sgid) &&
	    !gid_eq(k, old->fsgid))
		return -EPERM;
	*out = k;
	return 0;
}

/* gid in the sorted group list gi (groups_search() is not exported). */
static bool rst_group_in(const struct group_info *gi, kgid_t gid)
{
	unsigned int lo = 0, hi = gi->ngroups;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (gid_eq(gi->gid[mid], gid))
			return true;
		if (gid_gt(gid, gi->gid[mid]))
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The supplementary groups: the caller's own, or any with CAP_SETGID. */
static int rst_groups(const struct rst_creds *c, struct cred *new, bool setgid)
{
	const struct group_info *gi = new->group_info;
	struct group_info *ng;
	u32 i;

	if (gi->ngroups == c->n_groups) {
		for (i = 0; i < c->n_groups; i++)
			if (!rst_group_in(gi, make_kgid(new->user_ns, c->groups[i])))
				break;
		if (i == c->n_groups)
			return 0; /* the same set */
	}
	if (!setgid)
		return -EPERM;
	ng = groups_alloc(c->n_groups);
	if (!ng)
		return -ENOMEM;
	for (i = 0; i < c->n_groups; i++) {
		ng->gid[i] = make_kgid(new->user_ns, c->groups[i]);
		if (!gid_valid(ng->gid[i])) {
			put_group_info(ng);
			return -EINVAL;
		}
	}
	groups_sort(ng);
	set_groups(new, ng);
	put_group_info(ng);
	return 0;
}

/* Capabilities and securebits, as capset() and PR_SET_SECUREBITS allow. */
static int rst_caps(const struct rst_creds *c, const struct cred *old, struct cred *new)
{
	u64 valid = CAP_LAST_CAP >= 63 ? ~0ull : (1ull << (CAP_LAST_CAP + 1)) - 1;
	u64 oprm = rst_cap64(old->cap_permitted), oinh = rst_cap64(old->cap_inheritable);
	u64 obnd = rst_cap64(old->cap_bset);
	u64 prm = c->cap_prm & valid, eff = c->cap_eff & valid, inh = c->cap_inh & valid;
	u64 bnd = c->cap_bnd & valid, amb = c->cap_amb & valid;
	bool setpcap = cap_raised(old->cap_effective, CAP_SETPCAP);

	if ((prm & ~oprm) || (eff & ~prm) || (inh & ~(oinh | oprm)) || (inh & ~(oinh | obnd)))
		return -EPERM;
	if ((bnd & ~obnd) || (bnd != obnd && !setpcap))
		return -EPERM;
	if (amb & ~(prm & inh))
		return -EPERM;
	if (c->securebits != old->securebits && !setpcap)
		return -EPERM;
	if (c->securebits & ~(SECURE_ALL_BITS | SECURE_ALL_LOCKS))
		return -EINVAL;
	new->cap_permitted = rst_kcap(prm);
	new->cap_effective = rst_kcap(eff);
	new->cap_inheritable = rst_kcap(inh);
	new->cap_bset = rst_kcap(bnd);
	new->cap_ambient = rst_kcap(amb);
	new->securebits = c->securebits;
	return 0;
}

/* Prepares img->new_cred from the CREDS record.  0 or -errno. */
int rst_creds_plan(struct rst_image *img)
{
	const struct cred *old = current_cred();
	const struct rst_creds *c = &img->creds;
	bool setuid = ns_capable(old->user_ns, CAP_SETUID);
	bool setgid = ns_capable(old->user_ns, CAP_SETGID);
	struct cred *new;
	kuid_t uid;
	int ret;

	if (c->pid && c->pid != img->task.pid)
		return -EINVAL;
	if (!c->no_new_privs && task_no_new_privs(current))
		return -EPERM;
	new = prepare_creds();
	if (!new)
		return -ENOMEM;
	ret = rst_uid(old, c->uid, &uid, setuid);
	if (!ret && !uid_eq(uid, old->uid))
		ret = -EPERM; /* the real uid stays the caller's */
	ret = ret ?: rst_uid(old, c->euid, &new->euid, setuid);
	ret = ret ?: rst_uid(old, c->suid, &new->suid, setuid);
	ret = ret ?: rst_uid(old, c->fsuid, &new->fsuid, setuid);
	ret = ret ?: rst_gid(old, c->gid, &new->gid, setgid);
	ret = ret ?: rst_gid(old, c->egid, &new->egid, setgid);
	ret = ret ?: rst_gid(old, c->sgid, &new->sgid, setgid);
	ret = ret ?: rst_gid(old, c->fsgid, &new->fsgid, setgid);
	ret = ret ?: rst_groups(c, new, setgid);
	ret = ret ?: rst_caps(c, old, new);
	if (ret) {
		abort_creds(new);
		return ret;
	}
	img->new_cred = new;
	return 0;
}

/* Past the point of no return. */
void rst_creds_commit(struct rst_image *img)
{
	if (img->creds.no_new_privs)
		task_set_no_new_privs(current);
	commit_creds(img->new_cred);
	img->new_cred = NULL;
}

void rst_creds_unplan(struct rst_image *img)
{
	if (img->new_cred)
		abort_creds(img->new_cred);
	img->new_cred = NULL;
}
