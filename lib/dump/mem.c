/*
 * Address space: memory areas from smaps classified into vma_kind, the
 * backing files as FILE_MAPONLY entries, mm fields from stat, auxv, the
 * exe link, the vdso digest; the mm_entry record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#define LOG_PREFIX "dump/mem: "
#include "log.h"
#include "util/cleanup.h"
#include "img/vdso-digest.h"
#include "dump/dump.h"
#include "dump/track.h"
#include "img/img.h"
#include "img/records.h"

static const struct {
	const char *name;
	int kind;
} special_vmas[] = {
	{ "[vdso]", VMA_KIND__VMA_VDSO },
	{ "[vvar]", VMA_KIND__VMA_VVAR },
	{ "[vvar_vclock]", VMA_KIND__VMA_VVAR_VCLOCK },
	{ "[vsyscall]", VMA_KIND__VMA_VSYSCALL },
	{ "[heap]", VMA_KIND__VMA_ANON },
	{ "[stack]", VMA_KIND__VMA_ANON },
};

static const struct {
	uint32_t vmf;
	uint64_t madv;
} madv_map[] = {
	{ PROC_VMF_DD, VXCR_MADV_DONTDUMP },   { PROC_VMF_DC, VXCR_MADV_DONTFORK },
	{ PROC_VMF_HG, VXCR_MADV_HUGEPAGE },   { PROC_VMF_NH, VXCR_MADV_NOHUGEPAGE },
	{ PROC_VMF_WF, VXCR_MADV_WIPEONFORK }, { PROC_VMF_MG, VXCR_MADV_MERGEABLE },
	{ PROC_VMF_RR, VXCR_MADV_RANDOM },     { PROC_VMF_SR, VXCR_MADV_SEQUENTIAL },
	{ PROC_VMF_LO, VXCR_MADV_LOCKED },     { PROC_VMF_LF, VXCR_MADV_LOCKONFAULT },
	{ PROC_VMF_SL, VXCR_MADV_SEALED },     { PROC_VMF_GU, VXCR_MADV_GUARD },
};

static bool starts_with(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* A SysV segment: "/SYSV%08x (deleted)" (the key), inode number = shmid. */
static bool is_sysv_name(const struct proc_vma *pv)
{
	return pv->deleted && strlen(pv->name) == 13 && starts_with(pv->name, "/SYSV") &&
	       strspn(pv->name + 5, "0123456789abcdef") == 8;
}

/*
 * Areas whose contents live only in memory (no file to reopen or recreate):
 * shared anonymous, SysV, memfd.  Other deleted files are recreated.
 */
static bool is_shmem_name(const struct proc_vma *pv)
{
	return !pv->ino || (pv->deleted && pv->name[0] != '/') || is_sysv_name(pv) ||
	       starts_with(pv->name, "/memfd:") || starts_with(pv->name, "[anon_shmem:") ||
	       !strcmp(pv->name, "/dev/zero");
}

static const char other_flag_why[] = "it has a VmFlag this version cannot restore: ";

/*
 * Why a VmFlag of an ordinary area (not vdso/vvar) cannot be restored, or
 * NULL: every flag is either restored (madv_map, MAP_GROWSDOWN,
 * MAP_NORESERVE) or derived from how the area is mapped (smaps.c).
 */
static const char *vmflags_refused(const struct proc_vma *pv)
{
	if (pv->deleted && !strcmp(pv->name, "/[aio]"))
		return "AIO rings (io_setup) are not supported";
	if (!strcmp(pv->name, "anon_inode:[io_uring]"))
		return "io_uring rings are not supported (lib/dump/io_uring.c)";
	if (pv->vmflags & (PROC_VMF_IO | PROC_VMF_PF | PROC_VMF_MM))
		return "device (VM_IO/VM_PFNMAP/VM_MIXEDMAP) mappings are not supported";
	if (pv->vmflags & (PROC_VMF_UM | PROC_VMF_UW | PROC_VMF_UI))
		return "userfaultfd-registered areas are not supported";
	if (pv->vmflags & PROC_VMF_SS)
		return "shadow stacks are not supported yet";
	if (pv->vmflags & PROC_VMF_HT)
		return "hugetlb areas are not supported";
	if ((pv->vmflags & PROC_VMF_DP) && (pv->shared || pv->ino))
		return "a droppable mapping that is not anonymous is not supported";
	if (pv->vmflags & PROC_VMF_DE)
		return "a kernel's or driver's mapping (VM_DONTEXPAND) is not supported";
	if (pv->pkey)
		return "memory protection keys (pkey_mprotect) are not supported";
	if (pv->other_flag[0])
		return other_flag_why;
	return NULL;
}

/* Sets v->kind of an area that is not the kernel's; returns why not, or NULL. */
static const char *kind_of(struct dump_vma *v)
{
	const struct proc_vma *pv = &v->pv;

	if (v->kind == VMA_KIND__VMA_ANON) /* [heap], [stack] */
		return NULL;
	if (pv->shared)
		v->kind = is_shmem_name(pv) ? VMA_KIND__VMA_SHMEM : VMA_KIND__VMA_FILE_SHARED;
	else if (!pv->ino && (!pv->name[0] || starts_with(pv->name, "[anon:")))
		v->kind = VMA_KIND__VMA_ANON;
	else if (pv->deleted && starts_with(pv->name, "/memfd:"))
		v->kind = VMA_KIND__VMA_SHMEM; /* private: the memfd under its own COW pages */
	else if (pv->deleted && is_shmem_name(pv))
		return "a private mapping of a shared memory object is not supported";
	else if (pv->ino && pv->name[0] == '/')
		v->kind = VMA_KIND__VMA_FILE_PRIVATE;
	else
		return "unknown kind of memory area";
	return NULL;
}

/* Sets v->kind, or refuses the area.  0 or -EOPNOTSUPP (logged). */
static int classify_vma(pid_t pid, struct dump_vma *v)
{
	const struct proc_vma *pv = &v->pv;
	const char *why;
	size_t i;

	v->kind = -1;
	for (i = 0; i < sizeof(special_vmas) / sizeof(special_vmas[0]); i++)
		if (!strcmp(pv->name, special_vmas[i].name))
			v->kind = special_vmas[i].kind;
	if (v->kind >= VMA_KIND__VMA_VDSO)
		return 0; /* the kernel's own: flags are its business */
	why = vmflags_refused(pv);
	if (!why)
		why = kind_of(v);
	if (why) {
		pr_err("pid %d: memory area %lx-%lx %s: %s%s\n", pid, (unsigned long)pv->start,
		       (unsigned long)pv->end, pv->name[0] ? pv->name : "(anonymous)", why,
		       why == other_flag_why ? pv->other_flag : "");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Backing file of a file mapping: one FILE_MAPONLY entry per file, unless
 * the area is stored whole (w, whole.c).
 */
static int vma_file(struct dump_op *op, pid_t pid, struct dump_vma *v, const struct dump_whole *w)
{
	char path[96];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->pv.start,
		 (unsigned long)v->pv.end);
	if (stat(path, &st)) {
		ret = -errno;
		pr_perror("pid %d: cannot stat the file behind %lx-%lx (%s)", pid,
			  (unsigned long)v->pv.start, (unsigned long)v->pv.end, v->pv.name);
		return ret;
	}
	/* MAP_PRIVATE of /dev/zero: anonymous memory that maps shows as /dev/zero */
	if (!S_ISREG(st.st_mode) &&
	    !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5) && !v->pv.shared)) {
		pr_err("pid %d: memory area %lx-%lx maps %s, not a regular file: not supported\n",
		       pid, (unsigned long)v->pv.start, (unsigned long)v->pv.end, v->pv.name);
		return -EOPNOTSUPP;
	}
	if (S_ISREG(st.st_mode) && !v->pv.shared && whole_area(w, &st)) {
		v->whole = true; /* anonymous memory with the file's bytes: no reference */
		v->kind = VMA_KIND__VMA_ANON;
		v->pv.name[0] = '\0';
		return 0;
	}
	return files_add_maponly(&op->files, v->pv.name, &st,
				 v->pv.deleted || !st.st_nlink ? path : NULL, &v->file_id);
}

static int fill_vma(struct dump_op *op, struct dump_task *t, size_t idx)
{
	struct dump_vma *v = &t->mm->vmas[idx];
	size_t i;
	int ret;

	/* a live migration's own write-protect registration (track.c), not the process's */
	if ((v->pv.vmflags & PROC_VMF_UW) && op->opts->mig &&
	    track_registered(op->opts->mig->track, t->pid, v->pv.start, v->pv.end))
		v->pv.vmflags &= ~PROC_VMF_UW;
	ret = classify_vma(t->pid, v);
	if (ret)
		return ret;
	v->flags = v->pv.shared ? MAP_SHARED : MAP_PRIVATE;
	if (v->pv.vmflags & PROC_VMF_DP)
		v->flags = VXCR_MAP_DROPPABLE; /* a map type of its own */
	if (v->pv.vmflags & PROC_VMF_GD)
		v->flags |= MAP_GROWSDOWN;
	/* huge sparse areas (ASan's shadow) need it again, or overcommit refuses */
	if (v->pv.vmflags & PROC_VMF_NR)
		v->flags |= MAP_NORESERVE;
	for (i = 0; i < sizeof(madv_map) / sizeof(madv_map[0]); i++)
		if (v->pv.vmflags & madv_map[i].vmf)
			v->madv |= madv_map[i].madv;
	if (v->pv.vmflags & PROC_VMF_GU) {
		ret = collect_guards(t->pid, v);
		if (ret)
			return ret;
	}
	if (v->kind == VMA_KIND__VMA_SHMEM) {
		struct dump_shmem *sh;

		v->sysv = is_sysv_name(&v->pv);
		sh = shmem_get(op, v->pv.dev_major, v->pv.dev_minor, v->pv.ino, v->sysv, t->index);
		if (!sh)
			return -ENOMEM;
		v->shmem_id = sh->id;
	}
	if (v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_FILE_SHARED)
		return vma_file(op, t->pid, v, t->mm->whole);
	return 0;
}

static int collect_vmas(struct dump_op *op, struct dump_task *t)
{
	struct dump_mm *mm = t->mm;
	char *text;
	size_t i;
	int ret;

	ret = proc_read_file(t->pid, "smaps", &text, NULL);
	if (ret) {
		pr_err("pid %d: cannot read smaps: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = proc_parse_smaps(text, &mm->raw);
	free(text);
	if (ret) {
		pr_err("pid %d: cannot parse smaps: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	mm->vmas = calloc(mm->raw.n, sizeof(*mm->vmas));
	if (!mm->vmas)
		return -ENOMEM;
	ret = whole_prepare(op, t->pid, &mm->raw, &mm->whole);
	if (ret)
		return ret;
	for (i = 0; i < mm->raw.n; i++) {
		mm->vmas[i].pv = mm->raw.v[i];
		mm->raw.v[i].name = NULL; /* moved */
		mm->n_vmas++;
		ret = dump_refusal(op, t, fill_vma(op, t, i));
		if (ret)
			return ret;
	}
	proc_vma_list_free(&mm->raw); /* every entry moved: no copy kept per process */
	return 0;
}

static int collect_auxv(struct dump_task *t)
{
	char *buf;
	size_t len;
	int ret;

	ret = proc_read_file(t->pid, "auxv", &buf, &len);
	if (ret) {
		pr_err("pid %d: cannot read auxv: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = proc_parse_auxv(buf, len, t->mm->auxv, 128, &t->mm->n_auxv);
	free(buf);
	if (ret)
		pr_err("pid %d: malformed auxv (%zu bytes)\n", t->pid, len);
	return ret;
}

static int collect_exe(struct dump_op *op, struct dump_task *t)
{
	char link[4096], path[64];
	struct stat st;
	bool deleted;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if (proc_readlink(t->pid, "exe", link, sizeof(link)) || stat(path, &st)) {
		pr_perror("pid %d: cannot read its exe link", t->pid);
		return -errno ? -errno : -EIO;
	}
	if (whole_exe(t->mm->whole, &st))
		return 0; /* stored whole: no exe link, as the module's dump */
	deleted = proc_strip_deleted(link) || !st.st_nlink;
	return files_add_maponly(&op->files, link, &st, deleted ? path : NULL, &t->mm->exe_file_id);
}

/* The digest of the [vdso] text (img/vdso-digest.h). */
static int vdso_digest(struct dump_task *t)
{
	struct dump_mm *mm = t->mm;
	_cleanup_free_ uint8_t *buf = NULL;
	struct iovec l, r;
	uint32_t len;
	size_t i;

	for (i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i].kind == VMA_KIND__VMA_VDSO)
			break;
	if (i == mm->n_vmas)
		return 0;
	len = mm->vmas[i].pv.end - mm->vmas[i].pv.start;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	l.iov_base = buf;
	l.iov_len = len;
	r.iov_base = (void *)(uintptr_t)mm->vmas[i].pv.start;
	r.iov_len = len;
	if (process_vm_readv(t->pid, &l, 1, &r, 1, 0) != (ssize_t)len) {
		pr_perror("pid %d: cannot read its vdso", t->pid);
		return -EIO;
	}
	vdso_digest_of(buf, len, mm->vdso_digest);
	mm->has_vdso = true;
	return 0;
}

/*
 * Collects the address space of frozen t (after the injection window, so
 * the scratch area is gone).  0 or -errno (logged).
 */
int collect_mm(struct dump_op *op, struct dump_task *t)
{
	int ret;

	t->mm = calloc(1, sizeof(*t->mm));
	if (!t->mm)
		return -ENOMEM;
	t->mm->mm_id = t->index;
	if (t->rt.mlockall_unknown) {
		pr_err("pid %d: mlockall(MCL_FUTURE) whose MCL_ONFAULT cannot be told (no probe "
		       "page could be mapped, e.g. over its RLIMIT_MEMLOCK): not supported\n",
		       t->pid);
		return -EOPNOTSUPP;
	}
	ret = collect_vmas(op, t);
	ret = ret ?: collect_auxv(t);
	ret = ret ?: collect_exe(op, t);
	ret = ret ?: vdso_digest(t);
	whole_free(t->mm->whole);
	t->mm->whole = NULL;
	return ret;
}

void free_mm(struct dump_mm *mm)
{
	size_t i;

	if (!mm)
		return;
	for (i = 0; i < mm->n_vmas; i++) {
		free(mm->vmas[i].pv.name);
		free(mm->vmas[i].cow);
		free(mm->vmas[i].guards);
	}
	free(mm->vmas);
	proc_vma_list_free(&mm->raw);
	whole_free(mm->whole);
	free(mm);
}

/* The vma_entry of v (also what pages-cow.c compares with the parent's). */
void fill_vma_entry(VmaEntry *e, const struct dump_vma *v)
{
	vma_entry__init(e);
	PB_SET(e, start, v->pv.start);
	PB_SET(e, end, v->pv.end);
	PB_SET(e, prot, v->pv.prot);
	PB_SET(e, flags, v->flags);
	PB_SET(e, kind, v->kind);
	PB_SET(e, pgoff, v->pv.pgoff);
	if (v->file_id)
		PB_SET(e, file_id, v->file_id);
	PB_SET(e, madv, v->madv);
	if (v->pv.name[0])
		e->name = v->pv.name;
	if (v->shmem_id)
		PB_SET(e, shmem_id, v->shmem_id);
	if (v->sysv)
		PB_SET(e, sysv_shmid, (int32_t)v->pv.ino);
	e->guards = v->guards;
	e->n_guards = v->n_guards;
}

static void fill_mm_fields(MmEntry *me, const struct dump_task *t)
{
	const struct proc_stat *s = &t->stat;

	PB_SET(me, mm_id, t->mm->mm_id);
	PB_SET(me, start_code, s->start_code);
	PB_SET(me, end_code, s->end_code);
	PB_SET(me, start_data, s->start_data);
	PB_SET(me, end_data, s->end_data);
	PB_SET(me, start_brk, s->start_brk);
	PB_SET(me, brk, t->rt.brk);
	PB_SET(me, start_stack, s->start_stack);
	PB_SET(me, arg_start, s->arg_start);
	PB_SET(me, arg_end, s->arg_end);
	PB_SET(me, env_start, s->env_start);
	PB_SET(me, env_end, s->env_end);
	if (t->mm->exe_file_id) /* none when the exe is stored whole (whole.c) */
		PB_SET(me, exe_file_id, t->mm->exe_file_id);
	if (t->rt.mlockall)
		PB_SET(me, mlockall, t->rt.mlockall);
}

/* The mm_entry with all areas.  0 or -errno (logged). */
int write_mm(struct dump_op *op, struct dump_task *t)
{
	struct dump_mm *mm = t->mm;
	MmEntry me = MM_ENTRY__INIT;
	VmaEntry *ents, **pents;
	size_t i;
	int ret = -ENOMEM;

	ents = calloc(mm->n_vmas + 1, sizeof(*ents));
	pents = calloc(mm->n_vmas + 1, sizeof(*pents));
	if (!ents || !pents)
		goto out_free;
	for (i = 0; i < mm->n_vmas; i++) {
		fill_vma_entry(&ents[i], &mm->vmas[i]);
		pents[i] = &ents[i];
	}
	fill_mm_fields(&me, t);
	me.auxv = mm->auxv;
	me.n_auxv = mm->n_auxv;
	me.vmas = pents;
	me.n_vmas = mm->n_vmas;
	if (mm->has_vdso) {
		me.has_vdso_digest = 1;
		me.vdso_digest.data = mm->vdso_digest;
		me.vdso_digest.len = sizeof(mm->vdso_digest);
	}
	ret = img_write_msg(op->w, IMG_REC_MM, &me.base);
	if (ret)
		pr_err("pid %d: cannot write the mm record: %s\n", t->pid, strerror(-ret));
out_free:
	free(ents);
	free(pents);
	return ret;
}
