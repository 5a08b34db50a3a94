/*
 * Dump of a real process tree (lib/dump), image checked record by record:
 * preorder TASKs with ids, a zombie, threads, a POSIX timer, one pipe seen
 * by two processes, a shmem object written once, and the copy-on-write
 * pages of a child (only what differs from its parent, zero ranges where
 * it reads zeros).  The tree keeps running (leave_running) and is checked
 * to be untraced afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>

#include "vxcr/vxcr.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "task.pb-c.h"
#include "files.pb-c.h"

#define PG 4096ul
#define NPAGES 32

struct tree {
	pid_t parent, child, zombie;
	uint8_t *m, *sh;
};

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* The child: pages 0-1 rewritten, 2-3 zeroed, 4 dropped; one more thread. */
static void child_main(uint8_t *m, int ready)
{
	pthread_t t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(m, 0xaa, 2 * PG);
	memset(m + 2 * PG, 0, 2 * PG);
	madvise(m + 4 * PG, PG, MADV_DONTNEED);
	pthread_create(&t, NULL, sleeper, NULL);
	if (write(ready, "c", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* The parent of the tree: memory, pipe, timer, a zombie and the child. */
static void parent_main(int ready)
{
	struct itimerspec its = { { 3, 0 }, { 40, 0 } };
	struct sigevent se = { 0 };
	uint8_t *area, *m, *sh;
	int p[2], cr[2], i;
	timer_t tm;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	i = open("/dev/null", O_RDWR);	/* stdio of the test may be pipes */
	dup2(i, 0);
	dup2(i, 1);
	dup2(i, 2);
	dup2(ready, 3);	/* and nothing else the test runner left open */
	ready = 3;
	close_range(4, ~0u, 0);
	area = mmap(NULL, (NPAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m = area + PG;	/* guarded, so it merges with nothing */
	mprotect(m, NPAGES * PG, PROT_READ | PROT_WRITE);
	for (i = 0; i < NPAGES; i++)
		memset(m + i * PG, i + 1, PG);
	sh = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(sh, 0x55, 4 * PG);
	if (pipe(p) || write(p[1], "hey", 3) != 3)
		_exit(1);
	signal(SIGUSR2, SIG_IGN);
	se.sigev_notify = SIGEV_SIGNAL;
	se.sigev_signo = SIGUSR2;
	timer_create(CLOCK_MONOTONIC, &se, &tm);
	timer_settime(tm, 0, &its, NULL);
	if (fork() == 0)
		_exit(3);
	if (pipe(cr))
		_exit(1);
	if (fork() == 0)
		child_main(m, cr[1]);
	if (read(cr[0], &c, 1) != 1)
		_exit(1);
	memset(m + 10 * PG, 0xbb, PG);	/* the parent's copy diverges */
	if (write(ready, &m, sizeof(m)) != sizeof(m) || write(ready, &sh, sizeof(sh)) != sizeof(sh))
		_exit(1);
	for (;;)
		pause();
}

static int start_tree(struct tree *tr)
{
	int ready[2];
	char path[64], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (pipe(ready))
		return -1;
	tr->parent = fork();
	if (tr->parent == 0) {
		close(ready[0]);
		parent_main(ready[1]);
	}
	close(ready[1]);
	if (read(ready[0], &tr->m, sizeof(tr->m)) != sizeof(tr->m) ||
	    read(ready[0], &tr->sh, sizeof(tr->sh)) != sizeof(tr->sh))
		return -1;
	close(ready[0]);
	usleep(50000);	/* the zombie has exited by now */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", tr->parent, tr->parent);
	f = fopen(path, "r");
	if (!f || getline(&text, &len, f) < 0 || sscanf(text, "%d %d", &tr->zombie, &tr->child) != 2)
		return -1;
	fclose(f);
	free(text);
	return 0;
}

/* The zombie exited first, so it has the lower pid unless pids wrapped. */
static void order_pair(struct tree *tr)
{
	char path[64], st = 0, buf[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", tr->zombie);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		st = strrchr(buf, ')')[2];
	if (f)
		fclose(f);
	if (st != 'Z') {
		pid_t t = tr->zombie;

		tr->zombie = tr->child;
		tr->child = t;
	}
}

static int traced_by(pid_t pid)
{
	char path[64], line[128];
	int tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	if (f)
		fclose(f);
	return tracer;
}

/* What the checks need from the image. */
struct seen {
	int tasks, cores, creds, signals, mms, fdtables, shmem_records, zero_pages;
	pid_t order[4];
	int zombie_state, zombie_exit, child_threads, timers;
	uint64_t timer_interval;
	uint32_t pipe_ids[8];		/* per pipe FILE entry */
	bool pipe_ext[8];
	int n_pipes, pipe_data;
	uint8_t child_data[NPAGES];	/* first byte of each stored page + 1, 0 = none */
	uint8_t child_zero[NPAGES];
	int parent_pages_in_m;
};

static void see_task(struct seen *s, const struct tree *tr, const TaskEntry *te)
{
	if (s->tasks < 4)
		s->order[s->tasks] = te->pid;
	s->tasks++;
	if ((pid_t)te->pid == tr->zombie) {
		s->zombie_state = te->state;
		s->zombie_exit = te->exit_code;
		CU_ASSERT_EQUAL(te->mm_id, 0);
	} else {
		CU_ASSERT_EQUAL(te->mm_id, (uint32_t)s->tasks);
		CU_ASSERT_EQUAL(te->files_id, (uint32_t)s->tasks);
		/* nothing shared here: every live task has its own fs_id */
		CU_ASSERT_TRUE(te->has_fs_id);
		CU_ASSERT_EQUAL(te->fs_id, (uint32_t)s->tasks);
	}
	if ((pid_t)te->pid == tr->child)
		s->child_threads = te->n_threads;
}

static void see_pages(struct seen *s, const struct tree *tr, const struct img_record *rec,
		      uint32_t child_mm)
{
	const struct img_pages_prefix *p = rec->payload;
	const uint8_t *data = (const uint8_t *)(p + 1);
	uint64_t m = (uintptr_t)tr->m, a, len;

	if (p->flags & IMG_PAGES_ZERO) {
		memcpy(&len, data, sizeof(len));
		s->zero_pages += len / PG;
	} else {
		len = rec->length - sizeof(*p);
	}
	for (a = p->addr; a < p->addr + len; a += PG) {
		if (a < m || a >= m + NPAGES * PG)
			continue;
		if (p->mm_id != child_mm)
			s->parent_pages_in_m++;
		else if (p->flags & IMG_PAGES_ZERO)
			s->child_zero[(a - m) / PG] = 1;
		else
			s->child_data[(a - m) / PG] = data[a - p->addr] + 1;
	}
}

static void see_file(struct seen *s, const FileEntry *fe)
{
	if (!fe->has_pipe_id || s->n_pipes == 8)
		return;
	s->pipe_ids[s->n_pipes] = fe->pipe_id;
	s->pipe_ext[s->n_pipes++] = fe->external;
}

static void see_record(struct seen *s, const struct tree *tr, const struct img_record *rec,
		       uint32_t child_mm)
{
	ProtobufCMessage *msg = NULL;

	switch (rec->type) {
	case IMG_REC_TASK:
		CU_ASSERT_EQUAL_FATAL(img_unpack(rec, &task_entry__descriptor, &msg), 0);
		see_task(s, tr, (TaskEntry *)msg);
		break;
	case IMG_REC_SIGNALS:
		CU_ASSERT_EQUAL_FATAL(img_unpack(rec, &signals_entry__descriptor, &msg), 0);
		s->signals++;
		if (((SignalsEntry *)msg)->pid == (uint32_t)tr->parent &&
		    ((SignalsEntry *)msg)->n_timers == 1) {
			s->timers++;
			s->timer_interval = ((SignalsEntry *)msg)->timers[0]->interval_ns;
		}
		break;
	case IMG_REC_FILE:
		CU_ASSERT_EQUAL_FATAL(img_unpack(rec, &file_entry__descriptor, &msg), 0);
		see_file(s, (FileEntry *)msg);
		break;
	case IMG_REC_CORE: s->cores++; break;
	case IMG_REC_CREDS: s->creds++; break;
	case IMG_REC_MM: s->mms++; break;
	case IMG_REC_FDTABLE: s->fdtables++; break;
	case IMG_REC_SHMEM_PAGES: s->shmem_records++; break;
	case IMG_REC_PIPE_DATA: s->pipe_data++; break;
	case IMG_REC_PAGES: see_pages(s, tr, rec, child_mm); break;
	}
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

static int read_image(int fd, const struct tree *tr, struct seen *s, uint32_t child_mm)
{
	struct img_reader *r;
	struct img_record rec;
	int ret;

	lseek(fd, 0, SEEK_SET);
	if (img_reader_open(fd, &r))
		return -1;
	while ((ret = img_read_record(r, &rec)) == 1)
		see_record(s, tr, &rec, child_mm);
	img_reader_free(r);
	return ret;
}

static void check_cow(const struct seen *s)
{
	int i;

	CU_ASSERT_EQUAL(s->parent_pages_in_m, NPAGES);	/* no zero page there */
	CU_ASSERT_EQUAL(s->child_data[0], 0xaa + 1);
	CU_ASSERT_EQUAL(s->child_data[1], 0xaa + 1);
	for (i = 2; i <= 4; i++) {
		CU_ASSERT_TRUE(s->child_zero[i]);
		CU_ASSERT_EQUAL(s->child_data[i], 0);
	}
	CU_ASSERT_EQUAL(s->child_data[10], 11 + 1);	/* the child kept the old page */
	for (i = 5; i < NPAGES; i++) {
		if (i == 10)
			continue;
		CU_ASSERT_EQUAL(s->child_data[i], 0);	/* shared with the parent */
		CU_ASSERT_FALSE(s->child_zero[i]);
	}
}

/*
 * Pipes: "p" (both ends, 3 bytes buffered) and "cr" (both ends) are held
 * by parent and child through the same descriptions; "ready" only by its
 * write end (the reader is this test): 5 descriptions, one external.
 */
static void check_pipes(const struct seen *s)
{
	int i, j, same, external = 0;

	CU_ASSERT_EQUAL(s->n_pipes, 5);
	for (i = 0; i < s->n_pipes; i++) {
		for (j = 0, same = 0; j < s->n_pipes; j++)
			same += s->pipe_ids[j] == s->pipe_ids[i];
		CU_ASSERT_EQUAL(same, s->pipe_ext[i] ? 1 : 2);
		external += s->pipe_ext[i];
	}
	CU_ASSERT_EQUAL(external, 1);
	CU_ASSERT_EQUAL(s->pipe_data, 1);
}

static void test_tree(void)
{
	struct vxcr_dump_opts o;
	struct vxcr_dump_stats st;
	struct seen s;
	struct tree tr;
	int fd, ret;

	memset(&tr, 0, sizeof(tr));
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(start_tree(&tr), 0);
	order_pair(&tr);
	fd = memfd_create("img", MFD_CLOEXEC);
	vxcr_dump_opts_init(&o);
	o.leave_running = true;
	o.compress = false;
	ret = vxcr_dump(tr.parent, fd, &o, &st);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(st.tasks, 3);
	CU_ASSERT_EQUAL(st.threads, 3);
	CU_ASSERT_EQUAL(traced_by(tr.parent), 0);
	CU_ASSERT_EQUAL(traced_by(tr.child), 0);
	if (!ret) {
		uint32_t child_mm = tr.child < tr.zombie ? 2 : 3;

		CU_ASSERT_EQUAL(read_image(fd, &tr, &s, child_mm), 0);
		CU_ASSERT_EQUAL(s.tasks, 3);
		CU_ASSERT_EQUAL(s.order[0], tr.parent);
		CU_ASSERT_EQUAL(s.order[1], tr.child < tr.zombie ? tr.child : tr.zombie);
		CU_ASSERT_EQUAL(s.zombie_state, TASK_STATE_DEAD);
		CU_ASSERT_EQUAL(s.zombie_exit, 3 << 8);
		CU_ASSERT_EQUAL(s.child_threads, 2);
		CU_ASSERT_EQUAL(s.cores, 3);
		CU_ASSERT_EQUAL(s.creds, 2);
		CU_ASSERT_EQUAL(s.signals, 2);
		CU_ASSERT_EQUAL(s.mms, 2);
		CU_ASSERT_EQUAL(s.fdtables, 2);
		CU_ASSERT_EQUAL(s.shmem_records, 1);
		CU_ASSERT_EQUAL(s.timers, 1);
		CU_ASSERT_EQUAL(s.timer_interval, 3000000000ull);
		check_pipes(&s);
		check_cow(&s);
	}
	close(fd);
	kill(tr.child, SIGKILL);
	kill(tr.parent, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)	/* orphans come to us (subreaper) */
		;
}

/* Which object ranges are in the image: every page once (shmem.c). */
static void test_shmem_ranges(void)
{
	struct dump_shmem sh;
	uint64_t lo, end;

	memset(&sh, 0, sizeof(sh));
	lo = 0;
	CU_ASSERT_EQUAL(shmem_gap(&sh, &lo, 100), 100);
	CU_ASSERT_EQUAL(lo, 0);
	CU_ASSERT_EQUAL(shmem_mark_done(&sh, 10, 20), 0);
	CU_ASSERT_EQUAL(shmem_mark_done(&sh, 40, 50), 0);
	CU_ASSERT_EQUAL(sh.n_done, 2);
	lo = 0;
	CU_ASSERT_EQUAL(shmem_gap(&sh, &lo, 100), 10);
	CU_ASSERT_EQUAL(lo, 0);
	lo = 10;
	end = shmem_gap(&sh, &lo, 100);
	CU_ASSERT_EQUAL(lo, 20);
	CU_ASSERT_EQUAL(end, 40);
	lo = 12;
	end = shmem_gap(&sh, &lo, 18);	/* inside a written range: nothing */
	CU_ASSERT_EQUAL(lo, 18);
	lo = 45;
	end = shmem_gap(&sh, &lo, 100);
	CU_ASSERT_EQUAL(lo, 50);
	CU_ASSERT_EQUAL(end, 100);
	/* touching and overlapping ranges merge */
	CU_ASSERT_EQUAL(shmem_mark_done(&sh, 20, 30), 0);
	CU_ASSERT_EQUAL(sh.n_done, 2);
	CU_ASSERT_EQUAL(sh.done[0].lo, 10);
	CU_ASSERT_EQUAL(sh.done[0].hi, 30);
	CU_ASSERT_EQUAL(shmem_mark_done(&sh, 0, 5), 0);
	CU_ASSERT_EQUAL(sh.n_done, 3);
	CU_ASSERT_EQUAL(sh.done[0].hi, 5);
	CU_ASSERT_EQUAL(shmem_mark_done(&sh, 2, 45), 0);
	CU_ASSERT_EQUAL_FATAL(sh.n_done, 1);
	CU_ASSERT_EQUAL(sh.done[0].lo, 0);
	CU_ASSERT_EQUAL(sh.done[0].hi, 50);
	lo = 0;
	end = shmem_gap(&sh, &lo, 50);
	CU_ASSERT_EQUAL(lo, 50);
	free(sh.done);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (geteuid() != 0) {
		printf("SKIP test_dump_tree: needs root (ptrace, kcmp, pagemap frames)\n");
		return 77;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("dump tree", NULL, NULL);
	CU_add_test(s, "tree with threads, zombie, timer, pipe, shmem, cow", test_tree);
	CU_add_test(s, "shmem ranges written once", test_shmem_ranges);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
