/*
 * File areas stored with their contents (vxcr_dump_opts.file_contents, the
 * VMADump flags): BProc's classes, per file, as the kernel module takes
 * them (kernel/ckpt-mm.c): EXEC the exe's areas, LIBS every area of
 * another file that is mapped executable somewhere in the process (a
 * library's data and relro too), OTHER the rest.  A private area of a
 * chosen class is recorded as anonymous memory holding every page (the
 * file's bytes and the process's own), with no file reference, so the
 * restore needs no file.  The files of file_refs (the library list) stay
 * references whatever the flags say.  Files are told apart by the device
 * and inode stat(2) gives through /proc/PID/map_files and /proc/PID/exe,
 * and through the list's paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump/whole: "
#include "log.h"
#include "vxcr/vserver-abi.h"
#include "dump/dump.h"

struct whole_id {
	dev_t dev;
	ino_t ino;
};

struct dump_whole {
	unsigned int classes; /* VMAD_DUMP_* */
	struct whole_id exe;
	bool has_exe;
	struct whole_id *exec; /* files mapped executable */
	size_t n_exec;
	struct whole_id *refs; /* the library list's files */
	size_t n_refs;
};

static bool id_in(const struct whole_id *v, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].dev == st->st_dev && v[i].ino == st->st_ino)
			return true;
	return false;
}

/* Adds st's file to v (n entries, room for it) unless it is there. */
static void id_add(struct whole_id *v, size_t *n, const struct stat *st)
{
	if (id_in(v, *n, st))
		return;
	v[*n].dev = st->st_dev;
	v[*n].ino = st->st_ino;
	(*n)++;
}

/* The files of raw mapped executable somewhere, through map_files. */
static void note_exec_files(struct dump_whole *w, pid_t pid, const struct proc_vma_list *raw)
{
	const struct proc_vma *pv;
	char path[96];
	struct stat st;
	size_t i;

	for (i = 0; i < raw->n; i++) {
		pv = &raw->v[i];
		if (!(pv->prot & PROT_EXEC) || !pv->ino || pv->name[0] != '/')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid,
			 (unsigned long)pv->start, (unsigned long)pv->end);
		if (!stat(path, &st) && S_ISREG(st.st_mode))
			id_add(w->exec, &w->n_exec, &st);
	}
}

int whole_prepare(const struct dump_op *op, pid_t pid, const struct proc_vma_list *raw,
		  struct dump_whole **out)
{
	const struct vxcr_dump_opts *o = op->opts;
	struct dump_whole *w;
	char path[64];
	struct stat st;
	size_t i;

	*out = NULL;
	if (!(o->file_contents & VMAD_DUMP_ALL))
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->classes = o->file_contents & VMAD_DUMP_ALL;
	w->exec = calloc(raw->n + 1, sizeof(*w->exec));
	w->refs = calloc(o->n_file_refs + 1, sizeof(*w->refs));
	if (!w->exec || !w->refs) {
		whole_free(w);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (!stat(path, &st)) {
		w->exe.dev = st.st_dev;
		w->exe.ino = st.st_ino;
		w->has_exe = true;
	}
	note_exec_files(w, pid, raw);
	/* a path of the list that names nothing now matches no area */
	for (i = 0; i < o->n_file_refs; i++)
		if (o->file_refs[i] && !stat(o->file_refs[i], &st))
			id_add(w->refs, &w->n_refs, &st);
	*out = w;
	return 0;
}

bool whole_area(const struct dump_whole *w, const struct stat *st)
{
	unsigned int cls;

	if (!w || id_in(w->refs, w->n_refs, st))
		return false;
	if (w->has_exe && w->exe.dev == st->st_dev && w->exe.ino == st->st_ino)
		cls = VMAD_DUMP_EXEC;
	else if (id_in(w->exec, w->n_exec, st))
		cls = VMAD_DUMP_LIBS;
	else
		cls = VMAD_DUMP_OTHER;
	return w->classes & cls;
}

bool whole_exe(const struct dump_whole *w, const struct stat *st)
{
	return w && (w->classes & VMAD_DUMP_EXEC) && !id_in(w->refs, w->n_refs, st);
}

void whole_free(struct dump_whole *w)
{
	if (!w)
		return;
	free(w->exec);
	free(w->refs);
	free(w);
}
