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
#include <stdbool.h>

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

/* Does fd table t hold description file_id? */
static bool table_holds(const FdtableEntry *t, uint32_t file_id)
{
	size_t k;

	for (k = 0; t && k < t->n_fds; k++)
		if (t->fds[k]->file_id == file_id)
			return true;
	return false;
}

/* Does live process c hold file_id, in its table or a thread's own? */
static bool proc_holds(const struct rst_proc *c, uint32_t file_id)
{
	size_t j;

	if (!c->task || c->task->state == TASK_STATE_DEAD)
		return false;
	if (table_holds(c->fdt, file_id))
		return true;
	for (j = 0; j < c->nr_threads; j++)
		if (table_holds(c->threads[j].fdt, file_id))
			return true;
	return false;
}

int fsnotify_check_holders(const struct rst_image *img, uint32_t file_id, const int *fds, size_t n,
			   uint64_t need_caps, size_t *bad, const struct rst_proc **who)
{
	struct util_creds uc;
	size_t i, held = 0;
	int ret;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (!proc_holds(c, file_id))
			continue;
		if (!c->creds) {
			pr_err("image: file id %u: pid %u holds it but has no credentials\n",
			       file_id, c->task->pid);
			return -EBADMSG;
		}
		held++;
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
	if (!held) {
		pr_err("image: file id %u: no live process holds it (whose rights would be "
		       "checked)\n",
		       file_id);
		return -EBADMSG;
	}
	return 0;
}
