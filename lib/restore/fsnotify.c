/*
 * Checks for the fsnotify kinds (inotify, fanotify): may every live
 * process holding description file_id, with its credentials of the image,
 * read each of fds[0..n) and has it the capabilities need_caps (bit n =
 * CAP n) in its effective set?  The kernel answers (util_readable_as).  0; -EACCES with
 * the first fd refused in *bad (n: a capability is missing) and its
 * holder in *who (the caller logs); other -errno logged here.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>

#include "log.h"
#include "restore/restore.h"
#include "util/asuser.h"

/* The credentials of image record ce for util_readable_as(). */
static struct util_creds creds_of(const CredsEntry *ce)
{
	return (struct util_creds){
		.uid = { ce->uid, ce->euid, ce->suid, ce->fsuid },
		.gid = { ce->gid, ce->egid, ce->sgid, ce->fsgid },
		.groups = ce->groups,
		.n_groups = ce->n_groups,
		.cap_inh = ce->cap_inh,
		.cap_prm = ce->cap_prm,
		.cap_eff = ce->cap_eff,
	};
}

int fsnotify_check_holders(const struct rst_image *img, uint32_t file_id, const int *fds, size_t n,
			   uint64_t need_caps, size_t *bad, const struct rst_proc **who)
{
	struct util_creds uc;
	size_t i, k;
	int ret;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (!c->fdt || !c->creds || !c->task || c->task->state == TASK_STATE_DEAD)
			continue;
		for (k = 0; k < c->fdt->n_fds && c->fdt->fds[k]->file_id != file_id; k++)
			;
		if (k == c->fdt->n_fds)
			continue;
		*who = c;
		*bad = n;
		if ((c->creds->cap_eff & need_caps) != need_caps)
			return -EACCES;
		uc = creds_of(c->creds);
		ret = util_readable_as(&uc, fds, n, bad);
		if (ret)
			return ret;
		if (*bad < n)
			return -EACCES;
	}
	return 0;
}
