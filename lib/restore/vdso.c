/*
 * vdso: the restored process keeps the kernel's vdso of the clone, moved to
 * the recorded addresses with mremap ([vvar], [vvar_vclock], [vdso]).  The
 * image is refused if its vdso text differs from ours (digest as the dumper
 * computes it) or the areas differ in size.
 */
#define LOG_PREFIX "restore/vdso: "
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "log.h"
#include "img/vdso-digest.h"
#include "util/cleanup.h"
#include "restore/restore.h"

static const char *const vdso_names[RST_NR_VDSO] = {
	[RST_VVAR] = "[vvar]",
	[RST_VVAR_VCLOCK] = "[vvar_vclock]",
	[RST_VDSO] = "[vdso]",
};

/*
 * Reads our own /proc/self/maps once: our vdso areas into v, and every area
 * below the top of user space into *maps (layout_plan() must avoid them for
 * the scratch area).  Returns 0/-errno.
 */
int vdso_read_ours(struct rst_vdso *v, struct rst_range **maps, size_t *n)
{
	char line[512], name[64];
	FILE *f;
	int i, ret = 0;

	f = fopen("/proc/self/maps", "re");
	if (!f) {
		pr_perror("/proc/self/maps");
		return -errno;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		name[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %63s", &s, &e, name) < 2)
			continue;
		if (s < RST_TASK_TOP)
			ret = layout_add_range(maps, n, s, e);
		for (i = 0; i < RST_NR_VDSO; i++) {
			if (strcmp(name, vdso_names[i]))
				continue;
			v[i].ours = (struct rst_range){ s, e };
			v[i].have_ours = true;
		}
	}
	fclose(f);
	return ret;
}

static int vdso_kind_index(int kind)
{
	switch (kind) {
	case VMA_KIND__VMA_VVAR:
		return RST_VVAR;
	case VMA_KIND__VMA_VVAR_VCLOCK:
		return RST_VVAR_VCLOCK;
	case VMA_KIND__VMA_VDSO:
		return RST_VDSO;
	default:
		return -1;
	}
}

/* Compares the image's vdso digest with that of ours (v filled by vdso_check). */
static int vdso_check_digest(const struct rst_proc *proc, const struct rst_vdso *v)
{
	uint8_t d[IMG_VDSO_DIGEST_LEN];
	const struct rst_range *r = &v[RST_VDSO].ours;

	if (!proc->mm->has_vdso_digest)
		return 0;
	if (!v[RST_VDSO].have_ours) {
		pr_err("image has a vdso but this process has none\n");
		return -EINVAL;
	}
	vdso_digest_of((const void *)(uintptr_t)r->start, (uint32_t)(r->end - r->start), d);
	if (proc->mm->vdso_digest.len != sizeof(d) ||
	    memcmp(d, proc->mm->vdso_digest.data, sizeof(d))) {
		pr_err("vdso differs from the dumping host's (other kernel build): "
		       "restore on a host running the same kernel\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Fills proc->vdso[]: ours (the image's, read by vdso_read_ours()) and
 * target, and refuses areas we cannot provide.  Returns 0/-errno.
 */
int vdso_check(struct rst_proc *proc)
{
	struct rst_vdso *v = proc->vdso;
	size_t i;

	for (i = 0; i < RST_NR_VDSO; i++) {
		v[i].ours = proc->img->vdso[i].ours;
		v[i].have_ours = proc->img->vdso[i].have_ours;
	}
	for (i = 0; i < proc->mm->n_vmas; i++) {
		const VmaEntry *e = proc->mm->vmas[i];
		int k = vdso_kind_index(e->kind);

		if (k < 0)
			continue;
		if (v[k].have_target) {
			pr_err("image: %s recorded twice\n", vdso_names[k]);
			return -EBADMSG;
		}
		v[k].target = (struct rst_range){ e->start, e->end };
		v[k].have_target = true;
	}
	for (i = 0; i < RST_NR_VDSO; i++) {
		if (!v[i].have_target)
			continue;
		if (!v[i].have_ours) {
			pr_err("image has %s but this kernel provides none\n", vdso_names[i]);
			return -EINVAL;
		}
		if (v[i].ours.end - v[i].ours.start != v[i].target.end - v[i].target.start) {
			pr_err("%s is %llu bytes here, %llu in the image (other kernel)\n",
			       vdso_names[i], (unsigned long long)(v[i].ours.end - v[i].ours.start),
			       (unsigned long long)(v[i].target.end - v[i].target.start));
			return -EINVAL;
		}
	}
	return vdso_check_digest(proc, v);
}

/* Moves the clone's vdso areas to the recorded addresses by injected mremap. */
int vdso_move(struct rst_proc *proc, const struct rst_range *busy, size_t nbusy)
{
	struct rst_move m[2 * RST_NR_VDSO];
	size_t i, n = 0;
	long r;

	if (layout_vdso_moves(proc->vdso, RST_NR_VDSO, busy, nbusy, m, &n)) {
		pr_err("no free temporary address to move the vdso\n");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		r = rst_inject(proc, "mremap vdso", SYS_mremap, m[i].from, m[i].len, m[i].len,
			       MREMAP_MAYMOVE | MREMAP_FIXED, m[i].to, 0);
		if (r < 0)
			return r;
	}
	return 0;
}
