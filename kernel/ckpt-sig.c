// SPDX-License-Identifier: GPL-2.0
/*
 * Signal state of the dumped task, taken at once under its siglock: the
 * dispositions, the shared queue and ITIMER_REAL (SIGNALS; the other
 * itimers are refused when armed, ckpt-check.c), the blocked mask and the
 * private queue (CORE, ckpt-task.c).  Queued siginfos are stored as the
 * 128 bytes of a siginfo_t, as PTRACE_PEEKSIGINFO gives them to the
 * userspace dump: the kernel_siginfo, then zeros.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/mm.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "ckpt-sig.h"
#include "vxcr.h"

#define VX_SIGINFO_LEN 128

/* Copies up to max queued siginfos of q; -E2BIG if more are queued. */
static int copy_queue(struct sigpending *q, kernel_siginfo_t *out, unsigned int max,
		      unsigned int *nr)
{
	struct sigqueue *e;

	*nr = 0;
	list_for_each_entry(e, &q->list, list) {
		if (*nr == max)
			return -E2BIG;
		out[(*nr)++] = e->info;
	}
	return 0;
}

/* ITIMER_REAL as getitimer(2) reads it (a timer due now: 1 us left). */
static void real_timer(struct signal_struct *sig, struct vx_sigsnap *s)
{
	ktime_t rem = 0;

	if (hrtimer_active(&sig->real_timer)) {
		rem = __hrtimer_get_remaining(&sig->real_timer, false);
		if (rem <= 0)
			rem = NSEC_PER_USEC;
	}
	s->real_ns = rem;
	s->real_incr_ns = sig->it_real_incr;
}

/* Fills s from t under t's siglock.  0, -ESRCH (exited), -E2BIG. */
int vx_sig_snap(struct task_struct *t, struct vx_sigsnap *s)
{
	struct sighand_struct *sh;
	unsigned long fl;
	int ret;

	s->priv = kvcalloc(VX_SIGQ_MAX * 2, sizeof(*s->priv), GFP_KERNEL);
	if (!s->priv)
		return -ENOMEM;
	s->shared = s->priv + VX_SIGQ_MAX;
	sh = vx_lock_sighand(t, &fl);
	if (!sh) {
		ret = -ESRCH;
		goto out_free;
	}
	memcpy(s->act, sh->action, sizeof(s->act));
	real_timer(t->signal, s);
	s->blocked = t->blocked;
	ret = copy_queue(&t->pending, s->priv, VX_SIGQ_MAX, &s->nr_priv);
	if (!ret)
		ret = copy_queue(&t->signal->shared_pending, s->shared, VX_SIGQ_MAX, &s->nr_shared);
	spin_unlock_irqrestore(&sh->siglock, fl);
	if (!ret)
		return 0;
out_free:
	kvfree(s->priv);
	s->priv = NULL;
	return ret;
}

void vx_sig_free(struct vx_sigsnap *s)
{
	kvfree(s->priv);
	s->priv = NULL;
}

/* A siginfo_entry (field) per queued signal but SIGKILL and SIGSTOP. */
void vx_sig_put_queue(struct pb_buf *b, u32 field, const kernel_siginfo_t *q, unsigned int nr)
{
	u8 raw[VX_SIGINFO_LEN];
	unsigned int i;
	size_t m;

	BUILD_BUG_ON(sizeof(kernel_siginfo_t) > VX_SIGINFO_LEN);
	for (i = 0; i < nr; i++) {
		if (q[i].si_signo == SIGKILL || q[i].si_signo == SIGSTOP)
			continue;
		memset(raw, 0, sizeof(raw));
		memcpy(raw, &q[i], sizeof(q[i]));
		m = pb_nest_begin(b, field);
		pb_bytes(b, 1, raw, sizeof(raw));
		pb_nest_end(b, m);
	}
}

/* SIGNALS: dispositions of 1..64 (not SIGKILL, SIGSTOP), the shared queue. */
int vx_dump_signals(struct vx_dump *d, const struct vx_sigsnap *s)
{
	struct pb_buf *b = &d->pb;
	const struct sigaction *a;
	size_t m;
	int sig;

	pb_u64(b, 1, task_tgid_nr_ns(d->task, d->ns));
	for (sig = 1; sig <= _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		a = &s->act[sig - 1].sa;
		m = pb_nest_begin(b, 2);
		pb_u64(b, 1, sig);
		pb_u64(b, 2, (unsigned long)a->sa_handler);
		pb_u64(b, 3, a->sa_flags);
		pb_u64(b, 4, (unsigned long)a->sa_restorer);
		pb_u64(b, 5, a->sa_mask.sig[0]);
		pb_nest_end(b, m);
	}
	vx_sig_put_queue(b, 3, s->shared, s->nr_shared);
	for (sig = 0; sig < 3; sig++) { /* ITIMER_REAL, _VIRTUAL, _PROF */
		m = pb_nest_begin(b, 4);
		pb_u64(b, 1, sig);
		pb_u64(b, 2, sig ? 0 : div_u64(s->real_ns, NSEC_PER_USEC));
		pb_u64(b, 3, sig ? 0 : div_u64(s->real_incr_ns, NSEC_PER_USEC));
		pb_nest_end(b, m);
	}
	return vx_img_pb_record(d, IMG_REC_SIGNALS);
}
