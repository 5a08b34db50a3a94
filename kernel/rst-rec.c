// SPDX-License-Identifier: GPL-2.0
/*
 * Decoders of the records a restart reads (images/task.proto, mm.proto,
 * files.proto) into struct rst_image.  Scalar fields go through tables
 * (number, type, offset); a field that would change what the process is
 * and that the module cannot give back is refused with -ENOTTY when it is
 * present and not 0 (RST_F_REFUSE), never dropped.  Malformed payloads:
 * -EBADMSG.  Cross-record checks are rst_plan's (restart.c).
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "pbdec.h"
#include "rst.h"

enum rst_ftype {
	RST_F_U32,
	RST_F_U64,
	RST_F_BOOL,
	RST_F_REFUSE, /* present and not 0: -ENOTTY */
};

struct rst_fmap {
	u16 num;
	u8 type;
	u16 off;
	s16 has; /* offset of a bool set when present, -1: none */
};

#define F(n, t, s, m)                            \
	{                                        \
		n, RST_F_##t, offsetof(s, m), -1 \
	}
#define FH(n, t, s, m, h)                                    \
	{                                                    \
		n, RST_F_##t, offsetof(s, m), offsetof(s, h) \
	}
#define FREFUSE(n)                     \
	{                              \
		n, RST_F_REFUSE, 0, -1 \
	}

/*
 * Stores field f into obj by the row of map with its number.  1 if a row
 * took it, 0 if none has it (the caller decodes it or skips it), -errno.
 */
static int rst_fmap_apply(const struct rst_fmap *map, size_t n, void *obj,
			  const struct pbd_field *f)
{
	u8 *base = obj;
	u64 v;
	size_t i;
	int ret;

	for (i = 0; i < n && map[i].num != f->num; i++)
		;
	if (i == n)
		return 0;
	switch (map[i].type) {
	case RST_F_U32:
		ret = pbd_u32(f, (u32 *)(base + map[i].off));
		break;
	case RST_F_U64:
		ret = pbd_u64(f, (u64 *)(base + map[i].off));
		break;
	case RST_F_BOOL:
		ret = pbd_bool(f, (bool *)(base + map[i].off));
		break;
	default:
		if (f->wire == PBD_LEN)
			return f->len ? -ENOTTY : 1;
		ret = pbd_u64(f, &v);
		return ret ?: (v ? -ENOTTY : 1);
	}
	if (ret)
		return ret == -E2BIG ? -EBADMSG : ret;
	if (map[i].has >= 0)
		*(bool *)(base + map[i].has) = true;
	return 1;
}

/* Loops over the fields of buf: each goes to map, else to fn (may be
 * NULL: skipped).  0 or -errno. */
static int rst_fields(const u8 *buf, size_t len, const struct rst_fmap *map, size_t n, void *obj,
		      int (*fn)(void *obj, const struct pbd_field *f))
{
	struct pbd_dec d;
	struct pbd_field f;
	int ret;

	pbd_init(&d, buf, len);
	while (!pbd_done(&d)) {
		ret = pbd_next(&d, &f);
		if (ret)
			return ret;
		ret = rst_fmap_apply(map, n, obj, &f);
		if (!ret && fn)
			ret = fn(obj, &f);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- TASK ---- */

static const struct rst_fmap rst_task_map[] = {
	F(1, U32, struct rst_task, pid),
	F(6, U32, struct rst_task, mm_id),
	F(7, U32, struct rst_task, files_id),
	FH(8, U32, struct rst_task, personality, has_personality),
	FH(9, U32, struct rst_task, umask, has_umask),
	FH(11, U64, struct rst_task, timer_slack_ns, has_timer_slack),
	F(14, U32, struct rst_task, pdeath_sig),
	F(16, BOOL, struct rst_task, thp_disable),
	F(20, U32, struct rst_task, state),
	F(25, U32, struct rst_task, stop_signal),
	FREFUSE(26), /* membarrier registrations */
	F(29, U32, struct rst_task, ctty),
	FREFUSE(30), /* ctty_pty_id: a pty pair of the image */
	FREFUSE(40), /* cwd_file_id: a removed cwd */
};

/* A path string of the image, kmalloc'd; at most once. */
static int rst_dup_str(const struct pbd_field *f, char **out)
{
	if (f->wire != PBD_LEN || f->len >= RST_PATH_MAX || *out || memchr(f->ptr, 0, f->len))
		return -EBADMSG;
	*out = kmemdup_nul(f->ptr, f->len, GFP_KERNEL);
	return *out ? 0 : -ENOMEM;
}

static int rst_task_thread(void *obj, u64 tid)
{
	struct rst_task *t = obj;

	if (t->n_threads++)
		return -ENOTTY; /* a second thread */
	if (!tid || tid > U32_MAX)
		return -EBADMSG;
	t->thread0 = tid;
	return 0;
}

struct rst_rlimit_dec {
	u32 resource;
	u64 cur, max;
};

static const struct rst_fmap rst_rlimit_map[] = {
	F(1, U32, struct rst_rlimit_dec, resource),
	F(2, U64, struct rst_rlimit_dec, cur),
	F(3, U64, struct rst_rlimit_dec, max),
};

/* One rlimit_entry: a resource this kernel has, once. */
static int rst_task_rlimit(struct rst_task *t, const struct pbd_field *f)
{
	struct rst_rlimit_dec r = {};
	int ret;

	if (f->wire != PBD_LEN)
		return -EBADMSG;
	ret = rst_fields(f->ptr, f->len, rst_rlimit_map, ARRAY_SIZE(rst_rlimit_map), &r, NULL);
	if (ret)
		return ret;
	if (r.resource >= RST_NRLIMITS)
		return -ENOTTY;
	if (t->rlim[r.resource].set || r.cur > r.max)
		return -EBADMSG;
	t->rlim[r.resource].cur = r.cur;
	t->rlim[r.resource].max = r.max;
	t->rlim[r.resource].set = true;
	return 0;
}

static int rst_task_field(void *obj, const struct pbd_field *f)
{
	struct rst_task *t = obj;

	if (f->num == 5) {
		t->has_comm = true;
		return pbd_str(f, t->comm, sizeof(t->comm)) ? -EBADMSG : 0;
	}
	if (f->num == 19)
		return pbd_each_u64(f, rst_task_thread, t);
	if (f->num == 10)
		return rst_task_rlimit(t, f);
	if (f->num == 17)
		return rst_dup_str(f, &t->cwd);
	if (f->num == 18)
		return rst_dup_str(f, &t->root);
	return 0;
}

/* ---- CORE ---- */

static const struct rst_fmap rst_core_map[] = {
	F(1, U32, struct rst_core, tid),
	F(4, U64, struct rst_core, xfeatures),
	F(5, U64, struct rst_core, blocked),
	FREFUSE(6), /* pending signals of the thread */
	F(8, U64, struct rst_core, clear_child_tid),
	FREFUSE(10), /* sched_policy other than SCHED_OTHER */
	FREFUSE(11), /* sched_prio */
	F(12, U32, struct rst_core, nice),
	F(13, U64, struct rst_core, rseq_addr),
	F(14, U32, struct rst_core, rseq_len),
	F(15, U32, struct rst_core, rseq_sig),
	F(16, U64, struct rst_core, robust_list),
	F(17, U64, struct rst_core, robust_list_len),
	FREFUSE(19), /* files_id of its own */
	FREFUSE(20), /* own_fs */
	FREFUSE(24), /* seccomp filters */
	FREFUSE(30), /* cwd_file_id */
};

static int rst_regs_field(void *obj, const struct pbd_field *f)
{
	struct rst_core *c = obj;

	if (f->num >= RST_NREGS)
		return 0;
	c->regs_set |= 1u << f->num;
	return pbd_u64(f, &c->regs[f->num]);
}

static const struct rst_fmap rst_altstack_map[] = {
	F(1, U64, struct rst_core, ss_sp),
	F(2, U32, struct rst_core, ss_flags),
	F(3, U64, struct rst_core, ss_size),
};

static int rst_core_field(void *obj, const struct pbd_field *f)
{
	struct rst_core *c = obj;
	const u8 *p;
	size_t len;
	int ret;

	switch (f->num) {
	case 2:
		c->has_regs = true;
		ret = pbd_bytes(f, &p, &len);
		return ret ?: rst_fields(p, len, NULL, 0, c, rst_regs_field);
	case 3:
		ret = pbd_bytes(f, &p, &len);
		if (ret)
			return ret;
		if (c->xsave || len > RST_MAX_XSAVE)
			return -EBADMSG;
		c->xsave = kvmalloc(len ? len : 1, GFP_KERNEL);
		if (!c->xsave)
			return -ENOMEM;
		memcpy(c->xsave, p, len);
		c->xsave_len = len;
		return 0;
	case 7:
		c->has_altstack = true;
		ret = pbd_bytes(f, &p, &len);
		if (ret)
			return ret;
		return rst_fields(p, len, rst_altstack_map, ARRAY_SIZE(rst_altstack_map), c, NULL);
	case 9:
		c->has_comm = true;
		return pbd_str(f, c->comm, sizeof(c->comm)) ? -EBADMSG : 0;
	case 21: /* own_fs cwd, root */
	case 22:
		return pbd_bytes(f, &p, &len) ?: (len ? -ENOTTY : 0);
	}
	return 0;
}

/* ---- CREDS ---- */

static const struct rst_fmap rst_creds_map[] = {
	F(1, U32, struct rst_creds, uid),
	F(2, U32, struct rst_creds, euid),
	F(3, U32, struct rst_creds, suid),
	F(4, U32, struct rst_creds, fsuid),
	F(5, U32, struct rst_creds, gid),
	F(6, U32, struct rst_creds, egid),
	F(7, U32, struct rst_creds, sgid),
	F(8, U32, struct rst_creds, fsgid),
	F(10, U64, struct rst_creds, cap_inh),
	F(11, U64, struct rst_creds, cap_prm),
	F(12, U64, struct rst_creds, cap_eff),
	F(13, U64, struct rst_creds, cap_bnd),
	F(14, U64, struct rst_creds, cap_amb),
	F(15, U32, struct rst_creds, securebits),
	F(16, BOOL, struct rst_creds, no_new_privs),
	F(17, U32, struct rst_creds, last_cap),
	F(18, U32, struct rst_creds, pid),
};

static int rst_creds_group(void *obj, u64 g)
{
	struct rst_creds *c = obj;

	if (c->n_groups >= RST_MAX_GROUPS)
		return -ENOTTY;
	if (g > U32_MAX)
		return -EBADMSG;
	c->groups[c->n_groups++] = g;
	return 0;
}

static int rst_creds_field(void *obj, const struct pbd_field *f)
{
	if (f->num != 9)
		return 0;
	return pbd_each_u64(f, rst_creds_group, obj);
}

/* ---- SIGNALS ---- */

struct rst_sigact_dec {
	u32 signo;
	struct rst_sigaction a;
};

static const struct rst_fmap rst_sigact_map[] = {
	F(1, U32, struct rst_sigact_dec, signo),   F(2, U64, struct rst_sigact_dec, a.handler),
	F(3, U64, struct rst_sigact_dec, a.flags), F(4, U64, struct rst_sigact_dec, a.restorer),
	F(5, U64, struct rst_sigact_dec, a.mask),
};

struct rst_itimer_dec {
	u32 which;
	u64 value_us, interval_us;
};

static const struct rst_fmap rst_itimer_map[] = {
	F(1, U32, struct rst_itimer_dec, which),
	F(2, U64, struct rst_itimer_dec, value_us),
	F(3, U64, struct rst_itimer_dec, interval_us),
};

static int rst_signals_field(void *obj, const struct pbd_field *f)
{
	struct rst_image *img = obj;
	struct rst_sigact_dec sa = {};
	struct rst_itimer_dec it = {};
	int ret;

	switch (f->num) {
	case 1:
		return pbd_u32(f, &img->sig_pid) ? -EBADMSG : 0;
	case 2:
		if (f->wire != PBD_LEN)
			return -EBADMSG;
		ret = rst_fields(f->ptr, f->len, rst_sigact_map, ARRAY_SIZE(rst_sigact_map), &sa,
				 NULL);
		if (ret)
			return ret;
		/* others, SIGKILL and SIGSTOP are skipped (the format's rule) */
		if (sa.signo < 1 || sa.signo > RST_NSIG || sa.signo == 9 || sa.signo == 19)
			return 0;
		if (img->act[sa.signo].set)
			return -EBADMSG;
		img->act[sa.signo] = sa.a;
		img->act[sa.signo].set = true;
		return 0;
	case 3: /* shared pending signals */
	case 5: /* POSIX timers */
		return -ENOTTY;
	case 4:
		if (f->wire != PBD_LEN)
			return -EBADMSG;
		ret = rst_fields(f->ptr, f->len, rst_itimer_map, ARRAY_SIZE(rst_itimer_map), &it,
				 NULL);
		return ret ?: (it.value_us ? -ENOTTY : 0); /* an armed itimer */
	}
	return 0;
}

/* ---- MM ---- */

static const struct rst_fmap rst_mm_map[] = {
	F(1, U32, struct rst_mm, mm_id),	F(2, U64, struct rst_mm, start_code),
	F(3, U64, struct rst_mm, end_code),	F(4, U64, struct rst_mm, start_data),
	F(5, U64, struct rst_mm, end_data),	F(6, U64, struct rst_mm, start_brk),
	F(7, U64, struct rst_mm, brk),		F(8, U64, struct rst_mm, start_stack),
	F(9, U64, struct rst_mm, arg_start),	F(10, U64, struct rst_mm, arg_end),
	F(11, U64, struct rst_mm, env_start),	F(12, U64, struct rst_mm, env_end),
	F(14, U32, struct rst_mm, exe_file_id), FREFUSE(17), /* mlockall */
};

static const struct rst_fmap rst_vma_map[] = {
	F(1, U64, struct rst_vma, start),
	F(2, U64, struct rst_vma, end),
	F(3, U32, struct rst_vma, prot),
	F(4, U32, struct rst_vma, flags),
	F(5, U32, struct rst_vma, kind),
	F(6, U64, struct rst_vma, pgoff),
	F(7, U32, struct rst_vma, file_id),
	F(8, U64, struct rst_vma, madv),
	FREFUSE(10), /* shmem_id */
	FREFUSE(11), /* sysv_shmid */
	FREFUSE(12), /* guards */
};

static int rst_mm_auxv(void *obj, u64 v)
{
	struct rst_mm *mm = obj;

	if (mm->n_auxv >= RST_MAX_AUXV)
		return -ENOTTY;
	mm->auxv[mm->n_auxv++] = v;
	return 0;
}

static int rst_mm_field(void *obj, const struct pbd_field *f)
{
	struct rst_mm *mm = obj;
	struct rst_vma *v;
	int ret;

	switch (f->num) {
	case 13:
		return pbd_each_u64(f, rst_mm_auxv, mm);
	case 15:
		if (f->wire != PBD_LEN)
			return -EBADMSG;
		if (mm->n_vmas >= RST_MAX_VMAS)
			return -ENOTTY;
		if (!mm->vmas) {
			mm->vmas = kvcalloc(RST_MAX_VMAS, sizeof(*v), GFP_KERNEL);
			if (!mm->vmas)
				return -ENOMEM;
		}
		v = &mm->vmas[mm->n_vmas++];
		ret = rst_fields(f->ptr, f->len, rst_vma_map, ARRAY_SIZE(rst_vma_map), v, NULL);
		return ret;
	case 16:
		if (f->wire != PBD_LEN || f->len != IMG_VDSO_DIGEST_LEN)
			return -EBADMSG;
		memcpy(mm->vdso_digest, f->ptr, f->len);
		mm->has_vdso_digest = true;
		return 0;
	}
	return 0;
}

/* ---- FILE ---- */

static const struct rst_fmap rst_file_map[] = {
	F(1, U32, struct rst_file, id),
	F(2, U32, struct rst_file, kind),
	F(4, U32, struct rst_file, flags),
	FH(6, U32, struct rst_file, mode, has_mode),
	FH(7, U64, struct rst_file, dev, has_dev),
	FH(8, U64, struct rst_file, ino, has_ino),
	FH(9, U64, struct rst_file, size, has_size),
	FH(10, U64, struct rst_file, rdev, has_rdev),
	FH(11, U64, struct rst_file, mtime_ns, has_mtime),
	F(12, BOOL, struct rst_file, deleted),
	F(16, BOOL, struct rst_file, external),
};

static int rst_file_field(void *obj, const struct pbd_field *f)
{
	struct rst_file *fe = obj;

	switch (f->num) {
	case 3:
		if (f->wire != PBD_LEN || f->len >= RST_PATH_MAX || fe->path)
			return -EBADMSG;
		if (memchr(f->ptr, 0, f->len))
			return -EBADMSG;
		fe->path = kmemdup_nul(f->ptr, f->len, GFP_KERNEL);
		return fe->path ? 0 : -ENOMEM;
	case 23: /* ghost_id */
	case 59: /* outside_root */
	case 60: /* tmpfs_node */
		fe->other = true;
		return 0;
	}
	return 0;
}

/* ---- FDTABLE ---- */

static const struct rst_fmap rst_fd_map[] = {
	F(1, U32, struct rst_fd, fd),
	F(2, U32, struct rst_fd, file_id),
	F(3, BOOL, struct rst_fd, cloexec),
};

static int rst_fdtable_field(void *obj, const struct pbd_field *f)
{
	struct rst_image *img = obj;

	switch (f->num) {
	case 1:
		return pbd_u32(f, &img->files_id) ? -EBADMSG : 0;
	case 2:
		if (f->wire != PBD_LEN)
			return -EBADMSG;
		if (img->n_fds >= RST_MAX_FDS)
			return -ENOTTY;
		return rst_fields(f->ptr, f->len, rst_fd_map, ARRAY_SIZE(rst_fd_map),
				  &img->fds[img->n_fds++], NULL);
	}
	return 0;
}

/* ---- one record ---- */

static int rst_decode_file(struct rst_image *img, const u8 *buf, size_t len)
{
	if (img->n_files >= RST_MAX_FILES)
		return -ENOTTY;
	if (!img->files) {
		img->files = kvcalloc(RST_MAX_FILES, sizeof(*img->files), GFP_KERNEL);
		if (!img->files)
			return -ENOMEM;
	}
	return rst_fields(buf, len, rst_file_map, ARRAY_SIZE(rst_file_map),
			  &img->files[img->n_files++], rst_file_field);
}

/* Marks record bit seen; a second one of a kind there is one of: err. */
static int rst_once(struct rst_image *img, u32 bit, int err)
{
	if (img->seen & bit)
		return err;
	img->seen |= bit;
	return 0;
}

/*
 * Decodes one record the module honours (payload buf, len bytes) into
 * img.  0, -ENOTTY (a second process or thread, a field it cannot give
 * back), -EBADMSG (malformed), -ENOMEM.
 */
int rst_decode(struct rst_image *img, u32 type, const u8 *buf, size_t len)
{
	int ret;

	switch (type) {
	case IMG_REC_TASK:
		ret = rst_once(img, RST_SEEN_TASK, -ENOTTY);
		if (ret)
			return ret;
		return rst_fields(buf, len, rst_task_map, ARRAY_SIZE(rst_task_map), &img->task,
				  rst_task_field);
	case IMG_REC_CORE:
		ret = rst_once(img, RST_SEEN_CORE, -ENOTTY);
		if (ret)
			return ret;
		return rst_fields(buf, len, rst_core_map, ARRAY_SIZE(rst_core_map), &img->core,
				  rst_core_field);
	case IMG_REC_CREDS:
		ret = rst_once(img, RST_SEEN_CREDS, -EBADMSG);
		if (ret)
			return ret;
		return rst_fields(buf, len, rst_creds_map, ARRAY_SIZE(rst_creds_map), &img->creds,
				  rst_creds_field);
	case IMG_REC_SIGNALS:
		ret = rst_once(img, RST_SEEN_SIGNALS, -EBADMSG);
		return ret ?: rst_fields(buf, len, NULL, 0, img, rst_signals_field);
	case IMG_REC_MM:
		ret = rst_once(img, RST_SEEN_MM, -EBADMSG);
		if (ret)
			return ret;
		return rst_fields(buf, len, rst_mm_map, ARRAY_SIZE(rst_mm_map), &img->mm,
				  rst_mm_field);
	case IMG_REC_FILE:
		return rst_decode_file(img, buf, len);
	case IMG_REC_FDTABLE:
		ret = rst_once(img, RST_SEEN_FDTABLE, -EBADMSG);
		return ret ?: rst_fields(buf, len, NULL, 0, img, rst_fdtable_field);
	}
	return -ENOTTY;
}

/* Frees what the decoders allocated (not what rst_plan took). */
void rst_image_free(struct rst_image *img)
{
	u32 i;

	for (i = 0; i < img->n_files; i++)
		kfree(img->files[i].path);
	kvfree(img->files);
	kvfree(img->mm.vmas);
	kvfree(img->core.xsave);
	kfree(img->task.cwd);
	kfree(img->task.root);
}
