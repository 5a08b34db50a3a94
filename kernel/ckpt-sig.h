/* SPDX-License-Identifier: GPL-2.0 */
/* Signal state of a dumped task (ckpt-sig.c). */
#ifndef _VXCR_CKPT_SIG_H
#define _VXCR_CKPT_SIG_H

#include <linux/signal.h>

#include "pb.h"

struct vx_dump;
struct sighand_struct;
struct task_struct;

#define VX_SIGQ_MAX 4096 /* queued signals per queue; more: -E2BIG */

struct vx_sigsnap {
	struct k_sigaction act[_NSIG];
	sigset_t blocked;
	kernel_siginfo_t *priv, *shared; /* one allocation, priv first */
	unsigned int nr_priv, nr_shared;
	u64 real_ns, real_incr_ns; /* ITIMER_REAL: time left (0 disarmed), period */
};

struct sighand_struct *vx_lock_sighand(struct task_struct *t, unsigned long *flags);
int vx_sig_snap(struct task_struct *t, struct vx_sigsnap *s);
void vx_sig_free(struct vx_sigsnap *s);
void vx_sig_put_queue(struct pb_buf *b, u32 field, const kernel_siginfo_t *q, unsigned int nr);
int vx_dump_signals(struct vx_dump *d, const struct vx_sigsnap *s);
int vx_dump_core(struct vx_dump *d, struct task_struct *t, const struct vx_sigsnap *s);

#endif
