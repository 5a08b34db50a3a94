/*
 * Unit tests of the tree parts of the format: the copy-on-write rule both
 * sides share (img_vma_inherits) and restore's plan of a tree image
 * (lib/restore/plan.c): processes matched with their records and parents,
 * threads with their CORE records, zombies, and refused trees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <CUnit/Basic.h>

#include "restore/restore.h"

#define P RST_PAGE

static VmaEntry vma(uint64_t s, uint64_t e, int kind, uint32_t flags)
{
	VmaEntry v = VMA_ENTRY__INIT;

	v.start = s;
	v.end = e;
	v.kind = kind;
	v.flags = flags;
	v.has_start = v.has_end = v.has_kind = v.has_flags = 1;
	return v;
}

static void test_inherits(void)
{
	VmaEntry p = vma(0x10000, 0x20000, VMA_KIND__VMA_ANON, MAP_PRIVATE);
	VmaEntry c = vma(0x12000, 0x14000, VMA_KIND__VMA_ANON, MAP_PRIVATE);

	CU_ASSERT(img_vma_inherits(&p, &c));
	c.end = 0x21000;			/* sticks out */
	CU_ASSERT(!img_vma_inherits(&p, &c));
	c.end = 0x14000;
	c.flags = MAP_SHARED;			/* other sharing */
	CU_ASSERT(!img_vma_inherits(&p, &c));
	c.flags = MAP_PRIVATE;
	p.madv = VXCR_MADV_DONTFORK;		/* fork does not pass it on */
	CU_ASSERT(!img_vma_inherits(&p, &c));
	p.madv = VXCR_MADV_WIPEONFORK;
	CU_ASSERT(!img_vma_inherits(&p, &c));
	p.madv = VXCR_MADV_HUGEPAGE;
	CU_ASSERT(img_vma_inherits(&p, &c));

	/* private file areas: same file, offsets that line up */
	p = vma(0x10000, 0x20000, VMA_KIND__VMA_FILE_PRIVATE, MAP_PRIVATE);
	c = vma(0x12000, 0x14000, VMA_KIND__VMA_FILE_PRIVATE, MAP_PRIVATE);
	p.file_id = c.file_id = 3;
	p.pgoff = 0x1000;
	c.pgoff = 0x3000;
	CU_ASSERT(img_vma_inherits(&p, &c));
	c.pgoff = 0x2000;
	CU_ASSERT(!img_vma_inherits(&p, &c));
	c.pgoff = 0x3000;
	c.file_id = 4;
	CU_ASSERT(!img_vma_inherits(&p, &c));

	/* shmem: the same object only */
	p = vma(0x10000, 0x20000, VMA_KIND__VMA_SHMEM, MAP_SHARED);
	c = p;
	CU_ASSERT(!img_vma_inherits(&p, &c));	/* no object ids */
	p.has_shmem_id = c.has_shmem_id = 1;
	p.shmem_id = c.shmem_id = 2;
	CU_ASSERT(img_vma_inherits(&p, &c));
	c.shmem_id = 5;
	CU_ASSERT(!img_vma_inherits(&p, &c));

	/* shared file areas and the vdso never: they are mapped again */
	p = vma(0x10000, 0x20000, VMA_KIND__VMA_FILE_SHARED, MAP_SHARED);
	c = p;
	CU_ASSERT(!img_vma_inherits(&p, &c));
	p = vma(0x10000, 0x20000, VMA_KIND__VMA_VDSO, MAP_PRIVATE);
	c = p;
	CU_ASSERT(!img_vma_inherits(&p, &c));
}

/* One process of a test image. */
struct tproc {
	uint32_t pid, ppid, state;
	uint32_t threads[3];
	size_t nthreads;
};

static void put(struct img_writer *w, uint32_t type, const ProtobufCMessage *m)
{
	CU_ASSERT_EQUAL_FATAL(img_write_msg(w, type, m), 0);
}

/* Writes an image of the processes (in this order) into a memfd. */
static int write_tree(const struct tproc *t, size_t n)
{
	struct img_write_opts wo = { 0 };
	struct img_writer *w;
	X86Regs regs = X86_REGS__INIT;
	VmaEntry v = vma(0x400000, 0x401000, VMA_KIND__VMA_ANON, MAP_PRIVATE), *vp = &v;
	int fd = memfd_create("tree", 0);
	size_t i, j;

	CU_ASSERT_FATAL(fd >= 0);
	wo.compress = false;
	CU_ASSERT_EQUAL_FATAL(img_writer_open(fd, &wo, &w), 0);
	for (i = 0; i < n; i++) {
		TaskEntry te = TASK_ENTRY__INIT;

		te.pid = t[i].pid;
		te.ppid = t[i].ppid;
		te.pgid = te.sid = t[0].pid;
		te.has_pid = te.has_ppid = te.has_pgid = te.has_sid = 1;
		te.state = t[i].state;
		te.has_state = 1;
		te.threads = (uint32_t *)t[i].threads;
		te.n_threads = t[i].nthreads;
		if (t[i].state != TASK_STATE_DEAD) {
			te.mm_id = te.files_id = i + 1;
			te.has_mm_id = te.has_files_id = 1;
		}
		put(w, IMG_REC_TASK, &te.base);
	}
	for (i = 0; i < n; i++) {
		CredsEntry ce = CREDS_ENTRY__INIT;
		SignalsEntry se = SIGNALS_ENTRY__INIT;
		MmEntry mm = MM_ENTRY__INIT;
		FdtableEntry fdt = FDTABLE_ENTRY__INIT;

		if (t[i].state == TASK_STATE_DEAD)
			continue;
		ce.pid = se.pid = t[i].pid;
		ce.has_pid = se.has_pid = 1;
		put(w, IMG_REC_CREDS, &ce.base);
		put(w, IMG_REC_SIGNALS, &se.base);
		for (j = 0; j < t[i].nthreads; j++) {
			CoreEntry co = CORE_ENTRY__INIT;

			co.tid = t[i].threads[j];
			co.has_tid = 1;
			co.regs = &regs;
			put(w, IMG_REC_CORE, &co.base);
		}
		mm.mm_id = fdt.files_id = i + 1;
		mm.has_mm_id = fdt.has_files_id = 1;
		mm.vmas = &vp;
		mm.n_vmas = 1;
		put(w, IMG_REC_MM, &mm.base);
		put(w, IMG_REC_FDTABLE, &fdt.base);
	}
	CU_ASSERT_EQUAL_FATAL(img_writer_finish(w), 0);
	img_writer_free(w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* plan_read on the image; returns its result, *out the plan. */
static int plan(int fd, struct rst_image **out)
{
	static struct vxcr_restore_opts o;
	struct rst_image *img;
	int ret;

	vxcr_restore_opts_init(&o);
	img = rst_image_new(fd, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	ret = plan_read(img);
	if (ret)
		printf("\n      (%s)", vxcr_last_error());
	*out = img;
	return ret;
}

static void done(struct rst_image *img, int fd)
{
	rst_image_free(img);
	close(fd);
}

static void test_plan_tree(void)
{
	const struct tproc t[] = {
		{ 1000, 1, TASK_STATE_ALIVE, { 1000, 1003, 1004 }, 3 },
		{ 1001, 1000, TASK_STATE_STOPPED, { 1001 }, 1 },
		{ 1002, 1001, TASK_STATE_DEAD, { 1002 }, 1 },
		{ 1005, 1000, TASK_STATE_ALIVE, { 1005 }, 1 },
	};
	struct rst_image *img;
	struct rst_proc *root;
	int fd = write_tree(t, 4);

	CU_ASSERT_EQUAL_FATAL(plan(fd, &img), 0);
	CU_ASSERT_EQUAL(img->nr_procs, 4);
	root = img->procs[0];
	CU_ASSERT_EQUAL(root->role, RST_ROOT);
	CU_ASSERT_PTR_EQUAL(rst_root(img), root);
	CU_ASSERT_PTR_EQUAL(root->img, img);
	CU_ASSERT_PTR_NULL(root->parent);
	CU_ASSERT_EQUAL(root->nr_threads, 3);
	CU_ASSERT_EQUAL(root->threads[2].tid, 1004);
	CU_ASSERT_EQUAL(root->threads[2].core->tid, 1004);
	CU_ASSERT_PTR_EQUAL(root->core, root->threads[0].core);
	CU_ASSERT_PTR_EQUAL(img->procs[1]->parent, root);
	CU_ASSERT_PTR_EQUAL(img->procs[2]->parent, img->procs[1]);
	CU_ASSERT_PTR_EQUAL(img->procs[3]->parent, root);
	CU_ASSERT_EQUAL(img->procs[1]->role, RST_CHILD);
	CU_ASSERT_EQUAL(img->procs[2]->role, RST_CHILD);	/* a zombie is a child too */
	CU_ASSERT_EQUAL(img->procs[1]->creds->pid, 1001);
	CU_ASSERT_EQUAL(img->procs[3]->mm->mm_id, 4);
	CU_ASSERT_EQUAL(img->procs[3]->fdt->files_id, 4);
	CU_ASSERT_PTR_NULL(img->procs[2]->mm);		/* zombie: no records */
	CU_ASSERT_PTR_EQUAL(rst_proc_of_pid(img, 1005), img->procs[3]);
	CU_ASSERT_PTR_NULL(rst_proc_of_pid(img, 1003));	/* a thread, not a process */
	done(img, fd);
}

static void test_plan_refused(void)
{
	const struct tproc later[] = {		/* parent after its child */
		{ 2000, 1, TASK_STATE_ALIVE, { 2000 }, 1 },
		{ 2002, 2001, TASK_STATE_ALIVE, { 2002 }, 1 },
		{ 2001, 2000, TASK_STATE_ALIVE, { 2001 }, 1 },
	};
	const struct tproc zparent[] = {	/* a zombie cannot have children */
		{ 2000, 1, TASK_STATE_ALIVE, { 2000 }, 1 },
		{ 2001, 2000, TASK_STATE_DEAD, { 2001 }, 1 },
		{ 2002, 2001, TASK_STATE_ALIVE, { 2002 }, 1 },
	};
	const struct tproc twice[] = {
		{ 2000, 1, TASK_STATE_ALIVE, { 2000 }, 1 },
		{ 2000, 2000, TASK_STATE_ALIVE, { 2000 }, 1 },
	};
	const struct tproc leader[] = {		/* threads must start with the leader */
		{ 2000, 1, TASK_STATE_ALIVE, { 2001, 2000 }, 2 },
	};
	const struct tproc zroot[] = {
		{ 2000, 1, TASK_STATE_DEAD, { 2000 }, 1 },
	};
	struct rst_image *img;
	int fd;

	fd = write_tree(later, 3);
	CU_ASSERT_EQUAL(plan(fd, &img), -EBADMSG);
	done(img, fd);
	fd = write_tree(zparent, 3);
	CU_ASSERT_EQUAL(plan(fd, &img), -EBADMSG);
	done(img, fd);
	fd = write_tree(twice, 2);
	CU_ASSERT_EQUAL(plan(fd, &img), -EBADMSG);
	done(img, fd);
	fd = write_tree(leader, 1);
	CU_ASSERT_EQUAL(plan(fd, &img), -EBADMSG);
	done(img, fd);
	fd = write_tree(zroot, 1);
	CU_ASSERT_EQUAL(plan(fd, &img), -EINVAL);
	done(img, fd);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log_level(VXCR_LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("rst_tree_plan", NULL, NULL);
	CU_add_test(s, "img_vma_inherits", test_inherits);
	CU_add_test(s, "plan of a tree", test_plan_tree);
	CU_add_test(s, "refused trees", test_plan_refused);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
