/*
 * Hashing thread of the image reader.  Verifying a signed uncompressed
 * image, each record has to be hashed as stored (sign.h: IMG_FRAME_BYTES
 * segments of the body); on the caller's thread that costs as much as
 * restoring the pages.  So one thread hashes a record while the caller
 * goes on with it: one record at a time, in order.  The reader reads the
 * next record into its other payload buffer meanwhile, and waits for the
 * hash of the last one before it queues the next (rh_submit()) or checks a
 * signature against the chain (rh_wait()).  The chain is the thread's while
 * a record is queued.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "img/rhash: "
#include "log.h"
#include "img/img-internal.h"
#include "img/sign.h"

struct rhasher {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a record was queued, or stop */
	pthread_cond_t idle; /* the queued record is hashed */
	struct img_sighash *sh;
	struct rh_rec rec; /* queued */
	bool busy;	   /* rec is queued or being hashed */
	bool stop;
	pthread_t tid;
	struct vxcr_error *err; /* the operation's: the thread fails into it */
};

/* Adds one record, as stored, to the chain sh. */
void rh_hash(struct img_sighash *sh, const struct rh_rec *rec)
{
	img_sighash_update(sh, rec->hdr, sizeof(rec->hdr));
	img_sighash_update(sh, rec->data, rec->len);
	img_sighash_update(sh, rec->tail, sizeof(rec->tail));
}

/* The thread: hashes each queued record until stopped. */
static void *rh_main(void *arg)
{
	struct rhasher *h = arg;

	err_attach(h->err);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->stop && !h->busy)
			pthread_cond_wait(&h->work, &h->lock);
		if (h->stop)
			break;
		pthread_mutex_unlock(&h->lock);
		rh_hash(h->sh, &h->rec);
		pthread_mutex_lock(&h->lock);
		h->busy = false;
		pthread_cond_signal(&h->idle);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Waits until the queued record is hashed: the chain is the caller's. */
void rh_wait(struct rhasher *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->busy)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

/* Queues rec, once the one before it is hashed; rec->data must stay as it
 * is until then (the next rh_submit() or rh_wait() returns). */
void rh_submit(struct rhasher *h, const struct rh_rec *rec)
{
	pthread_mutex_lock(&h->lock);
	while (h->busy)
		pthread_cond_wait(&h->idle, &h->lock);
	h->rec = *rec;
	h->busy = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
}

/* Stops the thread (a queued record may be left unhashed) and frees it. */
void rh_stop(struct rhasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->tid, NULL);
	pthread_cond_destroy(&h->idle);
	pthread_cond_destroy(&h->work);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Starts the thread on the chain sh, with all signals blocked (they are
 * the caller's threads').  Returns 0 or -errno (a warning: the caller then
 * hashes by itself); on success *out owns the thread. */
int rh_start(struct img_sighash *sh, struct rhasher **out)
{
	struct rhasher *h;
	sigset_t all, old;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->idle, NULL);
	h->sh = sh;
	h->err = err_current();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&h->tid, NULL, rh_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pr_warn("starting the hashing thread: %s\n", strerror(-ret));
		pthread_cond_destroy(&h->idle);
		pthread_cond_destroy(&h->work);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}
