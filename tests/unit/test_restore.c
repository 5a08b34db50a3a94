/*
 * Unit tests of restore's pure parts (lib/restore/layout.c, check.c,
 * seccomp.c): choosing the scratch address, the ranges unmapped in the
 * clone, vdso move plans (direct and through temporary addresses), rlimit
 * checks, checks of the SECCOMP record and the threads' filter ids.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/seccomp.h>
#include <CUnit/Basic.h>

#include "restore/restore.h"

#define P RST_PAGE

static void test_find_free(void)
{
	struct rst_range busy[] = {
		{ 0x100000, 0x200000 }, { 0x200000, 0x201000 }, { 0x203000, 0x300000 },
	};

	CU_ASSERT_EQUAL(layout_find_free(busy, 3, P, 0x100000, RST_TASK_TOP), 0x201000);
	CU_ASSERT_EQUAL(layout_find_free(busy, 3, 2 * P, 0x100000, RST_TASK_TOP), 0x201000);
	CU_ASSERT_EQUAL(layout_find_free(busy, 3, 3 * P, 0x100000, RST_TASK_TOP), 0x300000);
	CU_ASSERT_EQUAL(layout_find_free(busy, 3, P, 0x50000, RST_TASK_TOP), 0x50000);
	CU_ASSERT_EQUAL(layout_find_free(busy, 3, P, 0x100000, 0x201000), 0);
	/* unsorted input, min not aligned */
	{
		struct rst_range b2[] = { { 0x303000, 0x400000 }, { 0x300000, 0x302000 } };

		CU_ASSERT_EQUAL(layout_find_free(b2, 2, P, 0x300001, RST_TASK_TOP), 0x302000);
	}
}

static void test_holes(void)
{
	struct rst_range keep[] = {
		{ 0x7ff000, 0x800000 }, { 0x100000, 0x102000 }, { 0x800000, 0x804000 },
	};
	struct rst_range h[8];
	size_t n;

	n = layout_holes(keep, 3, RST_TASK_TOP, h, 8);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(h[0].start, 0);
	CU_ASSERT_EQUAL(h[0].end, 0x100000);
	CU_ASSERT_EQUAL(h[1].start, 0x102000);
	CU_ASSERT_EQUAL(h[1].end, 0x7ff000);
	CU_ASSERT_EQUAL(h[2].start, 0x804000);
	CU_ASSERT_EQUAL(h[2].end, RST_TASK_TOP);
	/* a kept range at 0 and one reaching the top: only the middle */
	{
		struct rst_range k2[] = { { 0, P }, { RST_TASK_TOP - P, RST_TASK_TOP } };

		n = layout_holes(k2, 2, RST_TASK_TOP, h, 8);
		CU_ASSERT_EQUAL(n, 1);
		CU_ASSERT_EQUAL(h[0].start, P);
		CU_ASSERT_EQUAL(h[0].end, RST_TASK_TOP - P);
	}
}

static void set_vdso(struct rst_vdso *v, uint64_t ours, uint64_t target, uint64_t len)
{
	v->ours = (struct rst_range){ ours, ours + len };
	v->target = (struct rst_range){ target, target + len };
	v->have_ours = v->have_target = true;
}

static void test_vdso_direct(void)
{
	struct rst_vdso v[RST_NR_VDSO] = { 0 };
	struct rst_range busy = { 0x100000, 0x102000 };
	struct rst_move m[6];
	size_t n;

	set_vdso(&v[RST_VVAR], 0x7f0000000000, 0x7e0000000000, 4 * P);
	set_vdso(&v[RST_VVAR_VCLOCK], 0x7f0000004000, 0x7e0000004000, 2 * P);
	set_vdso(&v[RST_VDSO], 0x7f0000006000, 0x7f0000006000, 2 * P);	/* stays */
	CU_ASSERT_EQUAL(layout_vdso_moves(v, RST_NR_VDSO, &busy, 1, m, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(m[0].from, 0x7f0000000000);
	CU_ASSERT_EQUAL(m[0].to, 0x7e0000000000);
	CU_ASSERT_EQUAL(m[1].len, 2 * P);
}

static void test_vdso_overlap(void)
{
	struct rst_vdso v[RST_NR_VDSO] = { 0 };
	struct rst_range busy = { 0x100000, 0x102000 };
	struct rst_move m[6];
	size_t n, i, j;

	/* whole block shifted by 2 pages: each target overlaps some source */
	set_vdso(&v[RST_VVAR], 0x7f0000000000, 0x7f0000002000, 4 * P);
	set_vdso(&v[RST_VVAR_VCLOCK], 0x7f0000004000, 0x7f0000006000, 2 * P);
	set_vdso(&v[RST_VDSO], 0x7f0000006000, 0x7f0000008000, 2 * P);
	CU_ASSERT_EQUAL(layout_vdso_moves(v, RST_NR_VDSO, &busy, 1, m, &n), 0);
	CU_ASSERT_EQUAL(n, 6);
	for (i = 0; i < 3; i++) {
		/* temporaries avoid the scratch area and every source and target */
		CU_ASSERT(m[i].to >= busy.end || m[i].to + m[i].len <= busy.start);
		for (j = 0; j < RST_NR_VDSO; j++) {
			CU_ASSERT(m[i].to + m[i].len <= v[j].ours.start || m[i].to >= v[j].ours.end);
			CU_ASSERT(m[i].to + m[i].len <= v[j].target.start ||
				  m[i].to >= v[j].target.end);
		}
		CU_ASSERT_EQUAL(m[i + 3].from, m[i].to);
	}
	CU_ASSERT_EQUAL(m[3].to, 0x7f0000002000);
	CU_ASSERT_EQUAL(m[5].to, 0x7f0000008000);
}

static void test_vdso_missing(void)
{
	struct rst_vdso v[RST_NR_VDSO] = { 0 };
	struct rst_move m[6];
	size_t n;

	/* the image has no vdso: nothing moves (the clone's is unmapped) */
	v[RST_VDSO].ours = (struct rst_range){ 0x7f0000000000, 0x7f0000002000 };
	v[RST_VDSO].have_ours = true;
	CU_ASSERT_EQUAL(layout_vdso_moves(v, RST_NR_VDSO, NULL, 0, m, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
}

static void test_rlimits(void)
{
	struct rlimit ours[RLIM_NLIMITS];
	RlimitEntry a = RLIMIT_ENTRY__INIT, b = RLIMIT_ENTRY__INIT;
	const RlimitEntry *rl[] = { &a, &b };
	char why[256] = "";
	unsigned i;

	for (i = 0; i < RLIM_NLIMITS; i++)
		ours[i] = (struct rlimit){ 1024, 4096 };
	ours[RLIMIT_CORE] = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	a.resource = RLIMIT_CORE;
	a.cur = 0;
	a.max = RLIM_INFINITY;
	b.resource = RLIMIT_NOFILE;
	b.cur = 1024;
	b.max = 4096;
	CU_ASSERT_EQUAL(check_rlimits(rl, 2, ours, RLIM_NLIMITS, false, why, sizeof(why)), 0);
	b.max = 1048576;
	CU_ASSERT_EQUAL(check_rlimits(rl, 2, ours, RLIM_NLIMITS, false, why, sizeof(why)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "RLIMIT_NOFILE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "CAP_SYS_RESOURCE"));
	CU_ASSERT_EQUAL(check_rlimits(rl, 2, ours, RLIM_NLIMITS, true, why, sizeof(why)), 0);
	b.cur = b.max + 1;
	CU_ASSERT_EQUAL(check_rlimits(rl, 2, ours, RLIM_NLIMITS, true, why, sizeof(why)), -EINVAL);
	b.cur = 0;
	b.resource = RLIM_NLIMITS;
	CU_ASSERT_EQUAL(check_rlimits(rl, 2, ours, RLIM_NLIMITS, true, why, sizeof(why)), -EINVAL);
}

static void test_seccomp_plan(void)
{
	static uint8_t prog[4097 * 8];
	SeccompFilter f[2] = { SECCOMP_FILTER__INIT, SECCOMP_FILTER__INIT };
	SeccompFilter *pf[2] = { &f[0], &f[1] };
	SeccompEntry se = SECCOMP_ENTRY__INIT, *pse = &se;
	CoreEntry core = CORE_ENTRY__INIT;
	TaskEntry task = TASK_ENTRY__INIT;
	CredsEntry creds = CREDS_ENTRY__INIT;
	struct rst_thread th = { .tid = 100, .core = &core };
	struct rst_image img;
	struct rst_proc root, *procs[1] = { &root };
	uint32_t ids[2] = { 2, 1 };
	size_t max = 1;

	memset(&img, 0, sizeof(img));
	memset(&root, 0, sizeof(root));
	task.state = TASK_STATE_ALIVE;
	root.img = &img;
	root.role = RST_ROOT;
	root.task = &task;
	root.creds = &creds;
	root.threads = &th;
	root.nr_threads = 1;
	img.procs = procs;
	img.nr_procs = 1;
	/* no record, no ids: nothing to do */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), 0);
	CU_ASSERT_EQUAL(max, 0);

	f[0].has_id = f[0].has_prog = true, f[0].id = 1;
	f[0].prog = (ProtobufCBinaryData){ 16, prog };
	f[1].has_id = f[1].has_prog = f[1].has_flags = true, f[1].id = 2;
	f[1].flags = SECCOMP_FILTER_FLAG_LOG;
	f[1].prog = (ProtobufCBinaryData){ 4096 * 8, prog };
	se.filters = pf, se.n_filters = 2;
	img.recs.seccomp = &pse, img.recs.n_seccomp = 1;
	core.seccomp_filters = ids, core.n_seccomp_filters = 2;
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), 0);
	CU_ASSERT_EQUAL(max, 4096 * 8);		/* BPF_MAXINSNS: the scratch tail must hold it */

	ids[0] = 3;				/* a filter the image lacks */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	task.state = TASK_STATE_DEAD;		/* zombies have no threads to check */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), 0);
	task.state = TASK_STATE_ALIVE;
	ids[0] = 2;
	f[1].id = 1;				/* one id twice */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].id = 0;
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].id = 2;
	f[1].prog.len = 4097 * 8;		/* over BPF_MAXINSNS */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].prog.len = 12;			/* not whole instructions */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].prog.len = 0;
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].prog.len = 8;
	f[1].flags = SECCOMP_FILTER_FLAG_TSYNC;	/* never recorded by a dump */
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), -EBADMSG);
	f[1].flags = 0;
	CU_ASSERT_EQUAL(seccomp_plan(&img, &max), 0);
	CU_ASSERT_EQUAL(max, 16);

	/* where the filters go: after the creds only if they allow seccomp() */
	creds.cap_eff = 1ull << 21;		/* CAP_SYS_ADMIN */
	CU_ASSERT_TRUE(seccomp_after_creds(&root));
	creds.cap_eff = ~(1ull << 21);
	CU_ASSERT_FALSE(seccomp_after_creds(&root));
	creds.no_new_privs = true;
	CU_ASSERT_TRUE(seccomp_after_creds(&root));
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("restore", NULL, NULL);
	CU_add_test(s, "find_free", test_find_free);
	CU_add_test(s, "holes", test_holes);
	CU_add_test(s, "vdso_direct", test_vdso_direct);
	CU_add_test(s, "vdso_overlap", test_vdso_overlap);
	CU_add_test(s, "vdso_missing", test_vdso_missing);
	CU_add_test(s, "rlimits", test_rlimits);
	CU_add_test(s, "seccomp_plan", test_seccomp_plan);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
