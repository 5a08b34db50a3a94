/*
 * File descriptors in flight on AF_UNIX sockets (unixsk_entry.scm): the
 * checks of the image and, in the root's C part, the descriptions that
 * queued messages carry, opened before any socket is made, and attached
 * (SCM_RIGHTS of their staged fds) to the message that carried them when
 * unixsk.c refills a queue.  A description in flight is one of the
 * image's: the same the tree holds, or one only the message holds.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "log.h"
#include "restore/restore.h"

#define TCP_STATE_LISTEN 10
#define SCM_FDS_MAX 253	   /* SCM_MAX_FD */
#define OVERFLOW_ID 65534u /* what a message sent without credentials reads */

static const UnixskEntry *sk_of(const struct rst_file *f)
{
	return f->fe->kind == FILE_KIND__FILE_UNIXSK ? f->fe->unixsk : NULL;
}

/* Kinds a queued message may carry (the dump's list). */
static bool kind_ok(uint32_t kind)
{
	return kind == FILE_KIND__FILE_REG || kind == FILE_KIND__FILE_DIR ||
	       kind == FILE_KIND__FILE_CHR || kind == FILE_KIND__FILE_PIPE ||
	       kind == FILE_KIND__FILE_FIFO || kind == FILE_KIND__FILE_EVENTFD ||
	       kind == FILE_KIND__FILE_UNIXSK;
}

/*
 * Does every entry of f's scm take one SK_QUEUE record of f, as
 * unixsk_scm_at() hands them out (the next entry goes with the next
 * record at its offset)?
 */
static bool records_taken(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	size_t i, next = 0;

	for (i = 0; i < img->nr_skq && next < e->n_scm; i++)
		if (img->skq[i].id == f->fe->id && img->skq[i].offset == e->scm[next]->offset)
			next++;
	return next == e->n_scm;
}

/* The pid of the image's root process (who sends credentials again). */
static uint32_t root_pid(const struct rst_image *img)
{
	return img->nr_procs && img->procs[0]->task ? img->procs[0]->task->pid : 0;
}

/* The credentials of message m of f: none, or the root's.  0/-EBADMSG. */
static int check_cred(const struct rst_image *img, const struct rst_file *f, const UnixskScm *m)
{
	if (!m->has_pid && !m->has_uid && !m->has_gid)
		return 0;
	if (!f->fe->unixsk->passcred || !m->has_pid || !m->has_uid || !m->has_gid ||
	    m->uid == UINT32_MAX || m->gid == UINT32_MAX || (m->pid && m->pid != root_pid(img)) ||
	    (!m->pid && (m->uid != OVERFLOW_ID || m->gid != OVERFLOW_ID))) {
		pr_err("image: unix socket (file id %u): credentials in flight (pid %u uid %u gid %u) "
		       "out of range: not the root process's, or no SO_PASSCRED\n",
		       f->fe->id, m->pid, m->uid, m->gid);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Is carried description d one socket f's queue may carry: a kind of
 * the list, opened by the open stage, and if a unix socket, not f, not
 * its peer, not a listener, and without fds queued itself?
 */
static bool carried_ok(const struct rst_file *f, const struct rst_file *d)
{
	const UnixskEntry *e = f->fe->unixsk, *de = sk_of(d);

	if (!kind_ok(d->fe->kind) || !d->kind->open || rst_file_late(d))
		return false;
	return !de || (d != f && de->ino != e->peer_ino && de->peer_ino != e->ino &&
		       de->state != TCP_STATE_LISTEN && !de->n_scm);
}

/*
 * The image alone: each message with fds starts at one of f's SK_QUEUE
 * records, in increasing order, and carries 1 .. 253 descriptions of
 * the image that can be carried.  0 or -EBADMSG (logged).
 */
int unixsk_check_scm(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	const struct rst_file *d;
	size_t i, j;

	for (i = 0; i < e->n_scm; i++) {
		const UnixskScm *m = e->scm[i];
		int ret;

		if (!m->has_offset || (i && m->offset < e->scm[i - 1]->offset) ||
		    (!m->n_file_ids && !m->has_pid) || m->n_file_ids > SCM_FDS_MAX ||
		    (!i && !records_taken(img, f))) {
			pr_err("image: unix socket (file id %u): message with fds %zu: its offset or "
			       "its number of fds (1 .. %d) out of range\n",
			       f->fe->id, i, SCM_FDS_MAX);
			return -EBADMSG;
		}
		ret = check_cred(img, f, m);
		if (ret)
			return ret;
		for (j = 0; j < m->n_file_ids; j++) {
			d = plan_file(img, m->file_ids[j]);
			if (!d || !carried_ok(f, d)) {
				pr_err("image: unix socket (file id %u): a queued message carries file "
				       "id %u, which is no description of the image it can carry\n",
				       f->fe->id, m->file_ids[j]);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/* Opens d (carried in flight) unless open.  0 or -errno (logged). */
static int open_carried(const struct rst_image *img, struct rst_file *d, bool socks)
{
	if (d->stage_fd >= 0 || (sk_of(d) != NULL) != socks)
		return 0;
	if (d->inherited) {
		pr_err("file id %u: in flight on a unix socket and handed over from our own "
		       "stdio: not supported\n",
		       d->fe->id);
		return -EOPNOTSUPP;
	}
	return d->kind->open(img, d);
}

/*
 * Root's C part, before the first socket is made: every description a
 * queued message carries is opened, the other kinds first, then the
 * sockets (whose own queues may carry those).  Called again from the
 * sockets it opens: returns at once then.  0 or -errno (logged).
 */
int unixsk_open_carried(const struct rst_image *img)
{
	static bool opening;
	size_t i, j, k;
	int pass, ret = 0;

	if (opening)
		return 0;
	opening = true;
	for (pass = 0; !ret && pass < 2; pass++) {
		for (i = 0; !ret && i < img->nr_files; i++) {
			const UnixskEntry *e = sk_of(&img->files[i]);

			for (j = 0; !ret && e && j < e->n_scm; j++)
				for (k = 0; !ret && k < e->scm[j]->n_file_ids; k++)
					ret = open_carried(
						img, plan_file(img, e->scm[j]->file_ids[k]), pass);
		}
	}
	opening = false;
	return ret;
}

/*
 * The control messages of f's record at offset, if the next message with
 * fds or credentials (*next, moved on) starts there, into ctl (room for
 * a ucred and SCM_FDS_MAX fds): SCM_CREDENTIALS, SCM_RIGHTS of the staged
 * fds of its descriptions.  *len gets its
 * length (0: none).  0 or -errno (logged).
 */
int unixsk_scm_at(const struct rst_image *img, const struct rst_file *f, size_t *next,
		  uint64_t offset, void *ctl, size_t *len)
{
	const UnixskEntry *e = f->fe->unixsk;
	const UnixskScm *m;
	struct cmsghdr *c = ctl;
	const struct rst_file *d;
	size_t i;

	*len = 0;
	if (*next >= e->n_scm || e->scm[*next]->offset != offset)
		return 0;
	m = e->scm[(*next)++];
	if (m->pid) {
		struct ucred uc = { .pid = m->pid, .uid = m->uid, .gid = m->gid };

		if ((uint32_t)getpid() != m->pid) {
			pr_err("unix socket (file id %u): credentials of pid %u in flight, but the "
			       "root process runs as pid %d here: not supported\n",
			       f->fe->id, m->pid, (int)getpid());
			return -EOPNOTSUPP;
		}
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		*len = CMSG_SPACE(sizeof(uc));
		c = (struct cmsghdr *)((char *)ctl + *len);
	}
	if (!m->n_file_ids)
		return 0;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(m->n_file_ids * sizeof(int));
	for (i = 0; i < m->n_file_ids; i++) {
		d = plan_file(img, m->file_ids[i]);
		if (d->stage_fd < 0) {
			pr_err("unix socket (file id %u): file id %u, in flight in its queue, is made "
			       "together with it: not supported\n",
			       f->fe->id, d->fe->id);
			return -EOPNOTSUPP;
		}
		memcpy(CMSG_DATA(c) + i * sizeof(int), &d->stage_fd, sizeof(int));
	}
	*len += CMSG_SPACE(m->n_file_ids * sizeof(int));
	return 0;
}
