/*
 * Unit tests of the dump side of seccomp filters (lib/dump/seccomp.c):
 * collect_seccomp() on live, stopped children (filters oldest first, LOG
 * flag, strict mode refused, no filter = nothing), and write_seccomp()'s
 * numbering (same program and flags = one id across tasks and threads,
 * ids in core order, no record without filters).  The restore side's
 * checks of the record are in test_restore.c.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <CUnit/Basic.h>

#include "img-test.h"
#include "dump/dump.h"
#include "seccomp.pb-c.h"

#define MODE_NONE	0
#define MODE_TWO	1	/* two filters, the second with SECCOMP_FILTER_FLAG_LOG */
#define MODE_STRICT	2

/* A child in the given seccomp state, blocked in read() until killed. */
static pid_t child(int mode)
{
	struct sock_filter one[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter two[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p1 = { 1, one }, p2 = { 2, two };
	int ready[2], block[2];
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(block))
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (mode == MODE_TWO &&
		    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		     syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p1) ||
		     syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &p2)))
			_exit(1);
		if (mode == MODE_STRICT && syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			syscall(SYS_exit, 1);
		for (;;)	/* we hold block[1]: blocks for good */
			if (read(block[0], &c, 1) < 0)
				syscall(SYS_exit, 2);
	}
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	close(ready[1]);
	close(block[0]);
	close(block[1]);
	return pid;
}

/* Seizes and stops pid, fills t (its status) and th as the dump would. */
static int stop(pid_t pid, struct dump_task *t, struct dump_thread *th)
{
	char *text;
	int st;

	memset(t, 0, sizeof(*t));
	memset(th, 0, sizeof(*th));
	t->pid = th->tid = pid;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) || ptrace(PTRACE_INTERRUPT, pid, 0, 0) ||
	    waitpid(pid, &st, __WALL) != pid)
		return -errno;
	if (proc_read_file(pid, "status", &text, NULL))
		return -EIO;
	st = proc_parse_status(text, &t->status);
	free(text);
	return st;
}

static void finish(pid_t pid, struct dump_task *t, struct dump_thread *th)
{
	free_filters(th);
	proc_status_free(&t->status);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
}

static void test_collect(void)
{
	struct dump_task t;
	struct dump_thread th;
	pid_t pid;

	pid = child(MODE_TWO);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(stop(pid, &t, &th) == 0);
	CU_ASSERT_EQUAL(t.status.seccomp_mode, 2);
	CU_ASSERT_EQUAL(t.status.seccomp_filters, 2);
	CU_ASSERT_EQUAL(collect_seccomp(&t, &th), 0);
	CU_ASSERT_EQUAL_FATAL(th.n_filters, 2);
	CU_ASSERT_PTR_NOT_NULL(th.filter_ids);
	/* oldest first: the one-instruction filter, no flags */
	CU_ASSERT_EQUAL(th.filters[0].len, sizeof(struct sock_filter));
	CU_ASSERT_EQUAL(th.filters[0].flags, 0);
	CU_ASSERT_EQUAL(th.filters[1].len, 2 * sizeof(struct sock_filter));
	CU_ASSERT_EQUAL(th.filters[1].flags, SECCOMP_FILTER_FLAG_LOG);
	CU_ASSERT_EQUAL(((struct sock_filter *)th.filters[1].prog)[1].k, SECCOMP_RET_ALLOW);
	finish(pid, &t, &th);

	pid = child(MODE_NONE);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(stop(pid, &t, &th) == 0);
	CU_ASSERT_EQUAL(collect_seccomp(&t, &th), 0);
	CU_ASSERT_EQUAL(th.n_filters, 0);
	finish(pid, &t, &th);

	pid = child(MODE_STRICT);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(stop(pid, &t, &th) == 0);
	CU_ASSERT_EQUAL(t.status.seccomp_mode, 1);
	CU_ASSERT_EQUAL(collect_seccomp(&t, &th), -EOPNOTSUPP);
	finish(pid, &t, &th);
}

static uint8_t prog_a[8] = { 6, 0, 0, 0, 0, 0, 0xff, 0x7f };	/* ret ALLOW */
static uint8_t prog_b[16] = { 0x20, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0xff, 0x7f };

/* Two processes, three threads: [A], [A, B], [A, B(LOG)]; and one without. */
static struct dump_filter fl0[1] = { { 0, prog_a, 8 } };
static struct dump_filter fl1[2] = { { 0, prog_a, 8 }, { 0, prog_b, 16 } };
static struct dump_filter fl2[2] = { { 0, prog_a, 8 }, { SECCOMP_FILTER_FLAG_LOG, prog_b, 16 } };
static uint32_t ids0[1], ids1[2], ids2[2];

static int write_body(struct img_writer *w, void *arg)
{
	struct dump_op *op = arg;

	op->w = w;
	return write_seccomp(op);
}

static void setup_ctx(struct dump_op *op, struct dump_task *t, struct dump_task **tp,
		      struct dump_thread *th)
{
	memset(op, 0, sizeof(*op));
	memset(t, 0, 3 * sizeof(*t));
	memset(th, 0, 4 * sizeof(*th));
	th[0] = (struct dump_thread){ .tid = 10, .filters = fl0, .filter_ids = ids0, .n_filters = 1 };
	th[1] = (struct dump_thread){ .tid = 20, .filters = fl1, .filter_ids = ids1, .n_filters = 2 };
	th[2] = (struct dump_thread){ .tid = 21, .filters = fl2, .filter_ids = ids2, .n_filters = 2 };
	th[3] = (struct dump_thread){ .tid = 30 };
	t[0].threads = &th[0], t[0].n_threads = 1;
	t[1].threads = &th[1], t[1].n_threads = 2;
	t[2].threads = &th[3], t[2].n_threads = 1;
	tp[0] = &t[0], tp[1] = &t[1], tp[2] = &t[2];
	op->tasks = tp;
	op->n_tasks = 3;
}

static void test_write(void)
{
	struct dump_op op;
	struct dump_task t[3], *tp[3];
	struct dump_thread th[4];
	struct img_reader *r;
	struct img_record rec;
	SeccompEntry *se;
	struct buf img;
	int fd;

	setup_ctx(&op, t, tp, th);
	img = make_image(false, 1, write_body, &op);
	CU_ASSERT_EQUAL(ids0[0], 1);
	CU_ASSERT(ids1[0] == 1 && ids1[1] == 2);
	CU_ASSERT(ids2[0] == 1 && ids2[1] == 3);	/* B with LOG is another filter */
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	CU_ASSERT_FATAL(img_read_record(r, &rec) == 1);
	CU_ASSERT_EQUAL_FATAL(rec.type, IMG_REC_SECCOMP);
	CU_ASSERT_FATAL(img_unpack(&rec, &seccomp_entry__descriptor, (ProtobufCMessage **)&se) == 0);
	CU_ASSERT_EQUAL_FATAL(se->n_filters, 3);
	CU_ASSERT_EQUAL(se->filters[0]->id, 1);
	CU_ASSERT_EQUAL(se->filters[0]->prog.len, 8);
	CU_ASSERT_EQUAL(se->filters[1]->flags, 0);
	CU_ASSERT_EQUAL(se->filters[2]->flags, SECCOMP_FILTER_FLAG_LOG);
	CU_ASSERT(!memcmp(se->filters[2]->prog.data, prog_b, 16));
	protobuf_c_message_free_unpacked(&se->base, NULL);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 0);	/* nothing else */
	img_reader_free(r);
	close(fd);
	free(img.p);

	/* no filter anywhere: no record */
	th[0].n_filters = th[1].n_filters = th[2].n_filters = 0;
	img = make_image(false, 1, write_body, &op);
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 0);
	img_reader_free(r);
	close(fd);
	free(img.p);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("seccomp", NULL, NULL);
	CU_add_test(s, "collect from live children", test_collect);
	CU_add_test(s, "SECCOMP record, ids", test_write);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
