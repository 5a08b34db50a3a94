// SPDX-License-Identifier: GPL-2.0
/*
 * The address space of a restart: rst_mm_plan() checks the image's areas
 * and opens the files they map (with the caller's credentials, no symlink
 * followed, the identity the image records checked); rst_mm_commit(),
 * past the point of no return, unmaps every area of the caller, maps the
 * image's at their addresses, puts the vdso where the image has it and
 * sets the mm fields.  Runs in the caller's context, which is single
 * threaded and owns its mm alone (restart.c checks both), so nothing else
 * maps or faults in this mm meanwhile.
 */
#include <linux/auxvec.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <asm/vdso.h>

#include "rst.h"

#define RST_USER_TOP 0x7ffffffff000ull /* areas end at most here (4-level) */
#define RST_USER_BOTTOM 0x10000ull     /* vm.mmap_min_addr's default */
#define RST_MAP_FLAGS (MAP_PRIVATE | MAP_SHARED | MAP_GROWSDOWN | MAP_NORESERVE)

static struct rst_file *rst_file_by_id(struct rst_image *img, u32 id)
{
	u32 i;

	for (i = 0; i < img->n_files; i++)
		if (img->files[i].id == id)
			return &img->files[i];
	return NULL;
}

/* The file's identity against its record (type, dev, ino, size, mtime:
 * the userspace restore's checks).  0 or -ESTALE. */
static int rst_file_same(const struct rst_file *fe, const struct path *path)
{
	struct kstat st;
	u64 mtime;
	int ret;

	ret = vfs_getattr(path, &st, STATX_BASIC_STATS, AT_STATX_SYNC_AS_STAT);
	if (ret)
		return ret;
	mtime = (u64)st.mtime.tv_sec * NSEC_PER_SEC + st.mtime.tv_nsec;
	if (!S_ISREG(st.mode) || (fe->has_mode && (fe->mode & S_IFMT) != (st.mode & S_IFMT)))
		return -ESTALE;
	if ((fe->has_dev && fe->dev != new_encode_dev(st.dev)) ||
	    (fe->has_ino && fe->ino != st.ino) || (fe->has_size && fe->size != st.size) ||
	    (fe->has_mtime && fe->mtime_ns != mtime))
		return -ESTALE;
	return 0;
}

/*
 * Opens the file of record fe for mapping, as the caller: path absolute,
 * resolved with no symlink crossed, checked against the record, the
 * caller's read (and write, for a shared writable area) permission.
 */
static int rst_file_open(struct rst_file *fe)
{
	int mask = MAY_READ | (fe->writable ? MAY_WRITE : 0);
	struct path path;
	struct file *filp;
	int ret;

	if (fe->deleted || fe->other || !fe->path || fe->path[0] != '/')
		return -ENOTTY;
	if (fe->kind != RST_FILE_MAPONLY && fe->kind != RST_FILE_REG)
		return -ENOTTY;
	ret = kern_path(fe->path, LOOKUP_NO_SYMLINKS, &path);
	if (ret)
		return ret;
	ret = rst_file_same(fe, &path);
	if (ret)
		goto out_put;
	ret = inode_permission(mnt_user_ns(path.mnt), d_inode(path.dentry), mask);
	if (ret)
		goto out_put;
	ret = -EACCES; /* mmap's own check, made before the point of no return */
	if (fe->exec &&
	    ((path.mnt->mnt_flags & MNT_NOEXEC) || (path.mnt->mnt_sb->s_iflags & SB_I_NOEXEC)))
		goto out_put;
	filp = dentry_open(&path, (fe->writable ? O_RDWR : O_RDONLY) | O_LARGEFILE, current_cred());
	ret = PTR_ERR_OR_ZERO(filp);
	if (!ret)
		fe->filp = filp;
out_put:
	path_put(&path);
	return ret;
}

/* One area's own fields.  0, -EINVAL (malformed), -ENOTTY (a kind the
 * module does not restore). */
static int rst_vma_check(const struct rst_vma *v)
{
	u32 type = v->flags & (MAP_PRIVATE | MAP_SHARED);

	if (v->kind == RST_VMA_VSYSCALL)
		return 0;
	if (!PAGE_ALIGNED(v->start) || !PAGE_ALIGNED(v->end) || v->start >= v->end ||
	    v->end > RST_USER_TOP || v->end > TASK_SIZE || v->start < RST_USER_BOTTOM)
		return -EINVAL;
	if (v->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (v->madv & ~(u64)VXCR_MADV_KNOWN)
		return -EINVAL;
	if (v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR)
		return 0; /* the kernel's own flags (DONTDUMP on vvar) */
	if (v->madv)
		return -ENOTTY;
	if (v->flags & ~RST_MAP_FLAGS)
		return v->flags & VXCR_MAP_DROPPABLE ? -ENOTTY : -EINVAL;
	if (type != MAP_PRIVATE && type != MAP_SHARED)
		return -EINVAL;
	switch (v->kind) {
	case RST_VMA_ANON:
		return type == MAP_PRIVATE ? 0 : -EINVAL;
	case RST_VMA_FILE_PRIVATE:
		return type == MAP_PRIVATE && PAGE_ALIGNED(v->pgoff) ? 0 : -EINVAL;
	case RST_VMA_FILE_SHARED:
		return type == MAP_SHARED && PAGE_ALIGNED(v->pgoff) ? 0 : -EINVAL;
	case RST_VMA_SHMEM:
	case RST_VMA_VVAR_VCLOCK:
		return -ENOTTY;
	}
	return -EINVAL;
}

/*
 * map_vdso_once() (arch/x86/entry/vdso/vma.c, what arch_prctl's
 * ARCH_MAP_VDSO_64 calls) maps the vdso and its vvar at an address, once
 * no vdso is mapped.  It is not exported: its address is found with a
 * kprobe registered and removed at once.  With IBT the probe's address is
 * past the function's endbr64, which an indirect call needs: step back.
 */
static void *rst_map_vdso_lookup(void)
{
	static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static void *found; /* once per load: the same answer every time */
	struct kprobe kp = { .symbol_name = "map_vdso_once" };
	u8 *addr;

	if (READ_ONCE(found))
		return found;
	if (register_kprobe(&kp))
		return NULL;
	addr = (u8 *)kp.addr;
	unregister_kprobe(&kp);
	if (addr && !memcmp(addr - 4, endbr64, 4))
		addr -= 4;
	/* a kernel with IBT seals the endbr64 of functions nobody calls
	 * indirectly: calling this one would fault, so it is not called */
	if (addr && IS_ENABLED(CONFIG_X86_KERNEL_IBT) && memcmp(addr, endbr64, 4))
		return NULL;
	WRITE_ONCE(found, addr);
	return addr;
}

/* The vdso and vvar of the image against the caller's kernel's: the same
 * sizes, vvar right below the vdso, the same text (vdso_digest). */
static int rst_vdso_plan(struct rst_image *img, const struct rst_vma *vdso,
			 const struct rst_vma *vvar)
{
	const struct vdso_image *vi = current->mm->context.vdso_image;
	u8 d[IMG_VDSO_DIGEST_LEN];
	u32 c1, c2, len;

	if (!vdso && !vvar)
		return 0;
	if (!vdso || !vvar || !vi)
		return -ENOTTY;
	if (vdso->end - vdso->start != vi->size || vvar->end - vvar->start != -vi->sym_vvar_start ||
	    vvar->end != vdso->start)
		return -ENOTTY;
	if (img->mm.has_vdso_digest) {
		len = vi->size;
		c1 = rst_crc32c(0, vi->data, len);
		c2 = rst_crc32c(0x5a5a5a5a, vi->data, len);
		memcpy(d, &c1, 4);
		memcpy(d + 4, &c2, 4);
		memcpy(d + 8, &len, 4);
		if (memcmp(d, img->mm.vdso_digest, sizeof(d)))
			return -ENOTTY;
	}
	img->map_vdso = rst_map_vdso_lookup();
	if (!img->map_vdso)
		return -ENOTTY;
	img->vdso_image = vi;
	img->vvar_start = vvar->start;
	return 0;
}

/* The mm fields: inside user space, in order.  0 or -EINVAL. */
static int rst_mm_fields_check(const struct rst_mm *mm)
{
	const u64 f[] = { mm->start_code, mm->end_code,	 mm->start_data,  mm->end_data,
			  mm->start_brk,  mm->brk,	 mm->start_stack, mm->arg_start,
			  mm->arg_end,	  mm->env_start, mm->env_end };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(f); i++)
		if (f[i] >= RST_USER_TOP)
			return -EINVAL;
	if (mm->start_code > mm->end_code || mm->start_data > mm->end_data ||
	    mm->start_brk > mm->brk || mm->arg_start > mm->arg_end || mm->env_start > mm->env_end)
		return -EINVAL;
	/* auxv: (type, value) pairs, the last AT_NULL, as saved_auxv holds */
	if (mm->n_auxv % 2 || mm->n_auxv > AT_VECTOR_SIZE)
		return -EINVAL;
	if (mm->n_auxv && mm->auxv[mm->n_auxv - 2] != AT_NULL)
		return -EINVAL;
	return 0;
}

/* The areas, in order and apart; the vdso's; the files they map, opened.
 * 0 or -errno; what was opened stays in img for rst_mm_unplan(). */
int rst_mm_plan(struct rst_image *img)
{
	struct rst_vma *vdso = NULL, *vvar = NULL, *v;
	struct rst_mm *mm = &img->mm;
	u64 prev_end = 0;
	u32 i;
	int ret;

	if (!mm->n_vmas)
		return -EINVAL;
	ret = rst_mm_fields_check(mm);
	if (ret)
		return ret;
	if (mm->exe_file_id && !rst_file_by_id(img, mm->exe_file_id))
		return -EINVAL;
	for (i = 0; i < mm->n_vmas; i++) {
		ret = rst_vma_check(&mm->vmas[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < mm->n_vmas; i++) {
		v = &mm->vmas[i];
		if (v->kind == RST_VMA_VSYSCALL) {
			if (i != mm->n_vmas - 1) /* above every other area */
				return -EINVAL;
			continue;
		}
		if (v->start < prev_end)
			return -EINVAL;
		prev_end = v->end;
		if (v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR) {
			struct rst_vma **slot = v->kind == RST_VMA_VDSO ? &vdso : &vvar;

			if (*slot)
				return -EINVAL;
			*slot = v;
			continue;
		}
		if (v->kind == RST_VMA_ANON)
			continue;
		v->file = rst_file_by_id(img, v->file_id);
		if (!v->file)
			return -EINVAL;
		v->file->writable |= v->kind == RST_VMA_FILE_SHARED && (v->prot & PROT_WRITE);
		v->file->exec |= !!(v->prot & PROT_EXEC);
	}
	ret = rst_vdso_plan(img, vdso, vvar);
	for (i = 0; !ret && i < mm->n_vmas; i++) {
		v = &mm->vmas[i];
		if (v->file && !v->file->filp)
			ret = rst_file_open(v->file);
	}
	return ret;
}

void rst_mm_unplan(struct rst_image *img)
{
	u32 i;

	for (i = 0; i < img->n_files; i++) {
		if (img->files[i].filp)
			fput(img->files[i].filp);
		img->files[i].filp = NULL;
	}
}

/*
 * A page range of a PAGES record: page-aligned, inside one area the image
 * maps privately (never a shared file area: an image never writes into a
 * file, nor the vdso).  0, -EINVAL, or -ENOTTY for pages of an area
 * without access (the write through FOLL_FORCE would fail past the point
 * of no return).
 */
int rst_pages_check(struct rst_image *img, u64 addr, u64 len)
{
	const struct rst_mm *mm = &img->mm;
	u32 lo = 0, hi = mm->n_vmas;

	if (!PAGE_ALIGNED(addr) || !PAGE_ALIGNED(len) || !len || addr + len < addr)
		return -EINVAL;
	while (lo < hi) { /* the first area that ends above addr */
		u32 mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == mm->n_vmas)
		return -EINVAL;
	switch (mm->vmas[lo].kind) {
	case RST_VMA_ANON:
	case RST_VMA_FILE_PRIVATE:
		break;
	default:
		return -EINVAL;
	}
	if (addr < mm->vmas[lo].start || addr + len > mm->vmas[lo].end)
		return -EINVAL;
	if (!(mm->vmas[lo].prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -ENOTTY; /* pages of a PROT_NONE area: not written here */
	return 0;
}

/* Maps area v of the image at its address.  0 or -errno. */
static int rst_vma_map(const struct rst_vma *v)
{
	unsigned long flags = (v->flags & RST_MAP_FLAGS) | MAP_FIXED_NOREPLACE;
	struct file *filp = v->file ? v->file->filp : NULL;
	unsigned long addr;

	if (!filp)
		flags |= MAP_ANONYMOUS;
	addr = vm_mmap(filp, v->start, v->end - v->start, v->prot, flags, filp ? v->pgoff : 0);
	if (IS_ERR_VALUE(addr))
		return (long)addr;
	return addr == v->start ? 0 : -EEXIST;
}

/* Puts the vdso where the image has it (or none).  0 or -errno. */
static int rst_vdso_commit(struct rst_image *img)
{
	int (*map_vdso)(const struct vdso_image *image, unsigned long addr) = img->map_vdso;
	const struct vdso_image *vi = img->vdso_image;
	struct mm_struct *mm = current->mm;
	int ret;

	if (!img->vvar_start) {
		mmap_write_lock(mm);
		mm->context.vdso = NULL;
		mmap_write_unlock(mm);
		return 0;
	}
	ret = map_vdso(vi, img->vvar_start);
	if (ret)
		return ret;
	if ((unsigned long)mm->context.vdso != img->vvar_start - vi->sym_vvar_start)
		return -EEXIST;
	return 0;
}

/*
 * Past the point of no return: the caller's areas go, the image's come at
 * their addresses, the vdso where the image has it, then the mm fields
 * (under the mmap lock, as PR_SET_MM_MAP sets them).  0 or -errno (the
 * caller is killed then).
 */
int rst_mm_commit(struct rst_image *img)
{
	struct mm_struct *mm = current->mm;
	const struct rst_mm *m = &img->mm;
	u32 i;
	int ret;

	ret = vm_munmap(0, TASK_SIZE);
	if (ret)
		return ret;
	mmap_write_lock(mm);
	mm->def_flags &= ~(VM_LOCKED | VM_LOCKONFAULT); /* the caller's mlockall(MCL_FUTURE) */
	mmap_write_unlock(mm);
	/* the vdso first: its address is a hint to get_unmapped_area(),
	 * which the stack's guard gap could turn away once the stack is in */
	ret = rst_vdso_commit(img);
	if (ret)
		return ret;
	for (i = 0; i < m->n_vmas; i++) {
		const struct rst_vma *v = &m->vmas[i];

		if (v->kind == RST_VMA_VDSO || v->kind == RST_VMA_VVAR ||
		    v->kind == RST_VMA_VSYSCALL)
			continue;
		ret = rst_vma_map(v);
		if (ret)
			return ret;
	}
	mmap_write_lock(mm);
	mm->start_code = m->start_code;
	mm->end_code = m->end_code;
	mm->start_data = m->start_data;
	mm->end_data = m->end_data;
	mm->start_brk = m->start_brk;
	mm->brk = m->brk;
	mm->start_stack = m->start_stack;
	mm->arg_start = m->arg_start;
	mm->arg_end = m->arg_end;
	mm->env_start = m->env_start;
	mm->env_end = m->env_end;
	if (m->n_auxv) {
		memset(mm->saved_auxv, 0, sizeof(mm->saved_auxv));
		memcpy(mm->saved_auxv, m->auxv, m->n_auxv * sizeof(m->auxv[0]));
	}
	mmap_write_unlock(mm);
	return 0;
}
