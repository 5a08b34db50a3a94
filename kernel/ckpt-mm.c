// SPDX-License-Identifier: GPL-2.0
/*
 * The address space of the dumped task: the MM record (mm fields, auxv,
 * every area with its kind, protection, flags and madvise state, the vdso
 * digest) and one
 * FILE_MAPONLY record per file behind its mappings and its exe link, as
 * the userspace dump records them (lib/dump/mem.c, files.c).  Built under
 * the mmap read lock, which is never held while the image is written: the
 * record is only built here, written by the caller after the unlock.
 *
 * What is refused (-ENOTTY, as a userspace dump would refuse it): shared
 * or private mappings of shared memory objects and deleted files (shared
 * anonymous, memfd, SysV), device mappings (VM_IO, VM_PFNMAP,
 * VM_MIXEDMAP), hugetlb, userfaultfd-registered areas, VM_DONTEXPAND
 * mappings of drivers, special mappings other than the vdso and vvar.
 */
#include <linux/file.h>
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/kdev_t.h>

#include "vxcr/image.h"
#include "vxcr/vserver-abi.h"
#include "ckpt.h"
#include "vxcr.h"

/* vma_kind (images/mm.proto) */
#define VMA_ANON 0
#define VMA_FILE_PRIVATE 1
#define VMA_FILE_SHARED 2
#define VMA_VDSO 4
#define VMA_VVAR 5
#define VMA_VVAR_VCLOCK 6

#define FILE_MAPONLY 6 /* file_kind */

#define VX_AREAS_MAX 65536 /* sysctl vm.max_map_count's default, 65530 */

static const struct {
	unsigned long vm;
	u32 madv;
} madv_map[] = {
	{ VM_DONTDUMP, VXCR_MADV_DONTDUMP },	 { VM_DONTCOPY, VXCR_MADV_DONTFORK },
	{ VM_HUGEPAGE, VXCR_MADV_HUGEPAGE },	 { VM_NOHUGEPAGE, VXCR_MADV_NOHUGEPAGE },
	{ VM_WIPEONFORK, VXCR_MADV_WIPEONFORK }, { VM_MERGEABLE, VXCR_MADV_MERGEABLE },
	{ VM_RAND_READ, VXCR_MADV_RANDOM },	 { VM_SEQ_READ, VXCR_MADV_SEQUENTIAL },
	{ VM_LOCKED, VXCR_MADV_LOCKED },	 { VM_LOCKONFAULT, VXCR_MADV_LOCKONFAULT },
};

const char *vx_file_path(struct vx_dump *d, struct file *f)
{
	char *s = d_path(&f->f_path, d->path_buf, PATH_MAX);

	return IS_ERR(s) ? NULL : s;
}

/* The kernel's own areas by their special mapping's name, else -1. */
static int special_kind(struct vm_area_struct *vma)
{
	const char *name;

	if (!vma->vm_ops || !vma->vm_ops->name)
		return -1;
	name = vma->vm_ops->name(vma);
	if (!name)
		return -1;
	if (!strcmp(name, "[vdso]"))
		return VMA_VDSO;
	if (!strcmp(name, "[vvar]"))
		return VMA_VVAR;
	if (!strcmp(name, "[vvar_vclock]"))
		return VMA_VVAR_VCLOCK;
	return -ENOTTY;
}

/* The id of f's FILE_MAPONLY entry, added if new (one per inode). */
static int mfile_id(struct vx_dump *d, struct file *f, u32 *id)
{
	unsigned int i;

	for (i = 0; i < d->nr_mfiles; i++) {
		if (file_inode(d->mfiles[i].file) == file_inode(f)) {
			*id = d->mfiles[i].id;
			return 0;
		}
	}
	if (d->nr_mfiles == VX_MFILES_MAX)
		return -ENOTTY;
	get_file(f);
	d->mfiles[d->nr_mfiles].file = f;
	d->mfiles[d->nr_mfiles].id = d->nr_mfiles + 1;
	*id = ++d->nr_mfiles;
	return 0;
}

/* Kind of an ordinary area, or -ENOTTY for what this dump does not store. */
static int area_kind(struct vm_area_struct *vma)
{
	struct file *f = vma->vm_file;

	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB | VM_DONTEXPAND |
			     VM_UFFD_MISSING | VM_UFFD_WP))
		return -ENOTTY;
	if (!f || vma_is_anonymous(vma)) /* a private /dev/zero mapping is anonymous */
		return (vma->vm_flags & VM_MAYSHARE) ? -ENOTTY : VMA_ANON;
	if (d_unlinked(f->f_path.dentry) || !S_ISREG(file_inode(f)->i_mode))
		return -ENOTTY; /* shared memory objects, deleted files, devices */
	return (vma->vm_flags & VM_MAYSHARE) ? VMA_FILE_SHARED : VMA_FILE_PRIVATE;
}

/*
 * The classes are per file, as BProc's: EXEC the exe's areas, LIBS every
 * area of another file that is mapped executable somewhere (a library's
 * data and relro too), OTHER the rest.  Notes the files mapped executable
 * (at most VX_MFILES_MAX; more count as OTHER).  Under the mmap lock.
 */
static void note_exec_files(struct vx_dump *d, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long addr = 0;
	unsigned int i;

	while ((vma = find_vma(mm, addr)) && d->nr_exec_inodes < VX_MFILES_MAX) {
		addr = vma->vm_end;
		if (!vma->vm_file || !(vma->vm_flags & VM_EXEC))
			continue;
		for (i = 0; i < d->nr_exec_inodes; i++)
			if (d->exec_inodes[i] == file_inode(vma->vm_file))
				break;
		if (i == d->nr_exec_inodes)
			d->exec_inodes[d->nr_exec_inodes++] = file_inode(vma->vm_file);
	}
}

/*
 * With a VMAD_DUMP_* class a private file area is stored with its
 * contents: it becomes anonymous memory holding the file's bytes and its
 * own, so the restore needs no file.  Shared file areas stay references.
 */
static bool area_whole(struct vx_dump *d, struct vm_area_struct *vma)
{
	struct inode *ino = file_inode(vma->vm_file);
	unsigned int i;

	if (ino == d->exe_inode)
		return d->flags & VMAD_DUMP_EXEC;
	for (i = 0; i < d->nr_exec_inodes; i++)
		if (d->exec_inodes[i] == ino)
			return d->flags & VMAD_DUMP_LIBS;
	return d->flags & VMAD_DUMP_OTHER;
}

/*
 * Notes an area whose pages are stored: anonymous, private of a file
 * (file: only its copied pages), or a file's made anonymous (whole).
 */
static void area_add(struct vx_dump *d, struct vm_area_struct *vma, bool file, bool whole)
{
	struct vx_area *a;

	if (!vma->anon_vma && !whole)
		return; /* never written to: no anonymous page */
	a = &d->areas[d->nr_areas++];
	a->start = vma->vm_start;
	a->end = vma->vm_end;
	a->anon_only = file;
}

/* One vma_entry (field 15 of mm_entry).  0 or -ENOTTY/-ENOMEM. */
static int put_area(struct vx_dump *d, struct vm_area_struct *vma)
{
	struct pb_buf *b = &d->pb;
	int kind = special_kind(vma);
	u32 flags, madv = 0, file_id = 0;
	bool whole;
	unsigned int i;
	size_t m;
	int ret;

	if (kind == -1)
		kind = area_kind(vma);
	if (kind < 0)
		return kind;
	whole = kind == VMA_FILE_PRIVATE && area_whole(d, vma);
	if (whole)
		kind = VMA_ANON;
	if (kind == VMA_FILE_PRIVATE || kind == VMA_FILE_SHARED) {
		ret = mfile_id(d, vma->vm_file, &file_id);
		if (ret)
			return ret;
	}
	if (kind == VMA_ANON || kind == VMA_FILE_PRIVATE)
		area_add(d, vma, kind == VMA_FILE_PRIVATE, whole);
	flags = (vma->vm_flags & VM_MAYSHARE) ? MAP_SHARED : MAP_PRIVATE;
	if (vma->vm_flags & VM_GROWSDOWN)
		flags |= MAP_GROWSDOWN;
	if (vma->vm_flags & VM_NORESERVE)
		flags |= MAP_NORESERVE;
	for (i = 0; i < ARRAY_SIZE(madv_map); i++)
		if (vma->vm_flags & madv_map[i].vm)
			madv |= madv_map[i].madv;

	m = pb_nest_begin(b, 15);
	pb_u64(b, 1, vma->vm_start);
	pb_u64(b, 2, vma->vm_end);
	pb_u64(b, 3,
	       (vma->vm_flags & VM_READ ? PROT_READ : 0) |
		       (vma->vm_flags & VM_WRITE ? PROT_WRITE : 0) |
		       (vma->vm_flags & VM_EXEC ? PROT_EXEC : 0));
	pb_u64(b, 4, flags);
	pb_u64(b, 5, kind);
	if (file_id) {
		pb_u64(b, 6, (u64)vma->vm_pgoff << PAGE_SHIFT);
		pb_u64(b, 7, file_id);
	}
	pb_u64(b, 8, madv);
	if (kind == VMA_VDSO)
		pb_str(b, 9, "[vdso]");
	else if (kind == VMA_VVAR)
		pb_str(b, 9, "[vvar]");
	else if (kind == VMA_VVAR_VCLOCK)
		pb_str(b, 9, "[vvar_vclock]");
	else if (file_id)
		pb_str(b, 9, vx_file_path(d, vma->vm_file));
	else if (vma->vm_start <= vma->vm_mm->brk && vma->vm_end >= vma->vm_mm->start_brk)
		pb_str(b, 9, "[heap]");
	else if (vma->vm_start <= vma->vm_mm->start_stack && vma->vm_end >= vma->vm_mm->start_stack)
		pb_str(b, 9, "[stack]");
	pb_nest_end(b, m);
	return 0;
}

/*
 * The [vdso] digest (mm_entry field 16, lib/img/vdso-digest.h): crc32c
 * seeded 0, crc32c seeded 0x5a5a5a5a and the length of its text, u32 each
 * in host order; the format's crc32c(seed, ...) is ~__crc32c_le(~seed,
 * ...).  Read under the mmap read lock (the caller's); 0, or -errno and
 * no digest (absent: restore does not check it).
 */
static int vdso_digest(struct mm_struct *mm, struct vm_area_struct *vma,
		       u8 out[IMG_VDSO_DIGEST_LEN])
{
	u32 c1 = ~0u, c2 = ~0x5a5a5a5au, len = vma->vm_end - vma->vm_start;
	unsigned long addr;
	struct page *page;
	void *p;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		if (get_user_pages_remote(mm, addr, 1, FOLL_FORCE, &page, NULL, NULL) != 1)
			return -EFAULT;
		p = kmap_local_page(page);
		c1 = __crc32c_le(c1, p, PAGE_SIZE);
		c2 = __crc32c_le(c2, p, PAGE_SIZE);
		kunmap_local(p);
		put_page(page);
	}
	c1 = ~c1;
	c2 = ~c2;
	memcpy(out, &c1, 4);
	memcpy(out + 4, &c2, 4);
	memcpy(out + 8, &len, 4);
	return 0;
}

/* mm_entry's fields besides the areas. */
static void put_mm_fields(struct vx_dump *d, struct mm_struct *mm)
{
	struct pb_buf *b = &d->pb;
	unsigned int i;

	pb_u64(b, 1, 1);
	pb_u64(b, 2, mm->start_code);
	pb_u64(b, 3, mm->end_code);
	pb_u64(b, 4, mm->start_data);
	pb_u64(b, 5, mm->end_data);
	pb_u64(b, 6, mm->start_brk);
	pb_u64(b, 7, mm->brk);
	pb_u64(b, 8, mm->start_stack);
	spin_lock(&mm->arg_lock);
	pb_u64(b, 9, mm->arg_start);
	pb_u64(b, 10, mm->arg_end);
	pb_u64(b, 11, mm->env_start);
	pb_u64(b, 12, mm->env_end);
	spin_unlock(&mm->arg_lock);
	for (i = 0; i + 1 < ARRAY_SIZE(mm->saved_auxv); i += 2) {
		pb_u64(b, 13, mm->saved_auxv[i]);
		pb_u64(b, 13, mm->saved_auxv[i + 1]);
		if (mm->saved_auxv[i] == AT_NULL)
			break;
	}
	if (d->exe_file_id)
		pb_u64(b, 14, d->exe_file_id);
}

/* The exe link's file, the first FILE_MAPONLY (not with VMAD_DUMP_EXEC). */
static int take_exe(struct vx_dump *d, struct mm_struct *mm)
{
	struct file *exe;
	int ret = 0;

	rcu_read_lock();
	exe = rcu_dereference(mm->exe_file);
	if (exe && !get_file_rcu(exe))
		exe = NULL;
	rcu_read_unlock();
	if (!exe)
		return 0;
	d->exe_inode = file_inode(exe);
	if (!(d->flags & VMAD_DUMP_EXEC))
		ret = mfile_id(d, exe, &d->exe_file_id);
	fput(exe);
	return ret;
}

/*
 * MM: built under the mmap read lock, written after it.  Fills d->areas
 * (whose pages ckpt-pages.c stores) and d->mfiles.  0 or -errno.
 */
int vx_dump_mm(struct vx_dump *d)
{
	u8 digest[IMG_VDSO_DIGEST_LEN];
	struct mm_struct *mm = d->mm;
	struct vm_area_struct *vma;
	unsigned long addr = 0;
	int ret;

	d->mfiles = kvcalloc(VX_MFILES_MAX, sizeof(*d->mfiles), GFP_KERNEL);
	if (!d->mfiles)
		return -ENOMEM;
	ret = mmap_read_lock_killable(mm);
	if (ret)
		return ret;
	d->areas = kvcalloc(max_t(unsigned long, mm->map_count, 1), sizeof(*d->areas), GFP_KERNEL);
	ret = d->areas ? take_exe(d, mm) : -ENOMEM;
	if (!ret && d->flags) {
		d->exec_inodes = kvcalloc(VX_MFILES_MAX, sizeof(*d->exec_inodes), GFP_KERNEL);
		if (d->exec_inodes)
			note_exec_files(d, mm);
		else
			ret = -ENOMEM;
	}
	if (!ret)
		put_mm_fields(d, mm);
	while (!ret && (vma = find_vma(mm, addr))) {
		ret = d->nr_areas < mm->map_count ? put_area(d, vma) : -EIO;
		if (!ret && special_kind(vma) == VMA_VDSO && !vdso_digest(mm, vma, digest))
			pb_bytes(&d->pb, 16, digest, sizeof(digest));
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	if (ret) {
		pb_reset(&d->pb);
		return ret;
	}
	return vx_img_pb_record(d, IMG_REC_MM);
}

/* A FILE_MAPONLY record per mapped file: path and identity. */
int vx_dump_mfiles(struct vx_dump *d)
{
	struct pb_buf *b = &d->pb;
	struct inode *ino;
	struct timespec64 mt;
	unsigned int i;
	int ret;

	for (i = 0; i < d->nr_mfiles; i++) {
		ino = file_inode(d->mfiles[i].file);
		mt = ino->i_mtime;
		pb_u64(b, 1, d->mfiles[i].id);
		pb_u64(b, 2, FILE_MAPONLY);
		pb_str(b, 3, vx_file_path(d, d->mfiles[i].file));
		pb_u64(b, 6, ino->i_mode);
		pb_u64(b, 7, new_encode_dev(ino->i_sb->s_dev));
		pb_u64(b, 8, ino->i_ino);
		pb_u64(b, 9, i_size_read(ino));
		pb_u64(b, 11, (u64)mt.tv_sec * NSEC_PER_SEC + mt.tv_nsec);
		ret = vx_img_pb_record(d, IMG_REC_FILE);
		if (ret)
			return ret;
	}
	return 0;
}
