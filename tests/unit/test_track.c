/*
 * The dirty tracker (lib/dump/track.c) on real processes: a target that
 * keeps writing a known pattern while rounds run; after the last round
 * (the target stopped) the store plus the last dirty set must equal its
 * memory byte for byte (read through /proc/PID/mem), and every non-zero
 * page of its own areas must be held.  Cases: writes between rounds,
 * munmap, MADV_DONTNEED, a new mmap after round 0, an exec between rounds,
 * a child forked after the start, a seccomp filter denying userfaultfd,
 * pages the kernel writes (read(2)), a target frozen by its cgroup,
 * track_free and a killed tracker (no "uw" left in smaps, the target runs
 * on), and a dump with a migration's tracker (PARENT ranges).
 *
 * `test_track bench MIB DIRTY_MIB` times a round instead (NOTES).
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>

#include "vxcr/vxcr.h"
#include "dump/track.h"
#include "img/img.h"
#include "img/stream.h"
#include "proc/proc.h"

#define PG 4096ul
#define AREA_PAGES 2048 /* 8 MiB */
#define HASH 65536

/* The test's store: (key, addr) -> page. */
struct page {
	uint32_t key;
	uint64_t addr;
	struct page *next;
	uint8_t data[PG];
};

static struct page *store[HASH];
static uint64_t store_n;

static size_t hslot(uint32_t key, uint64_t addr)
{
	return ((addr / PG) * 2654435761u + key) % HASH;
}

static struct page **store_find(uint32_t key, uint64_t addr)
{
	struct page **pp = &store[hslot(key, addr)];

	while (*pp && ((*pp)->key != key || (*pp)->addr != addr))
		pp = &(*pp)->next;
	return pp;
}

static int sink_pages(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len)
{
	size_t i;

	if (addr % PG || len % PG || !len)
		return -EINVAL;
	for (i = 0; i < len; i += PG) {
		struct page **pp = store_find(key, addr + i), *p = *pp;

		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				return -ENOMEM;
			p->key = key;
			p->addr = addr + i;
			*pp = p;
			store_n++;
		}
		memcpy(p->data, (const uint8_t *)data + i, PG);
	}
	return 0;
}

static void unlink_page(struct page **pp)
{
	struct page *p = *pp;

	*pp = p->next;
	free(p);
	store_n--;
}

static int sink_drop(void *arg, uint32_t key, uint64_t addr, uint64_t len)
{
	struct page **pp;
	uint64_t a;
	size_t h;

	if (len > (1ull << 32)) { /* whole key, or huge: walk the table */
		for (h = 0; h < HASH; h++)
			for (pp = &store[h]; *pp;)
				if ((*pp)->key == key && (*pp)->addr >= addr &&
				    (*pp)->addr - addr < len)
					unlink_page(pp);
				else
					pp = &(*pp)->next;
		return 0;
	}
	for (a = addr; a < addr + len; a += PG) {
		pp = store_find(key, a);
		if (*pp)
			unlink_page(pp);
	}
	return 0;
}

static void store_clear(void)
{
	size_t h;

	for (h = 0; h < HASH; h++)
		while (store[h])
			unlink_page(&store[h]);
}

static uint64_t store_count(uint32_t key)
{
	uint64_t n = 0;
	struct page *p;
	size_t h;

	for (h = 0; h < HASH; h++)
		for (p = store[h]; p; p = p->next)
			n += p->key == key;
	return n;
}

static const struct track_sink sink = { sink_pages, sink_drop, NULL };

static char warned[1024]; /* the library's warnings and errors since the last clear */

static void on_log(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	if (lvl <= VXCR_LOG_WARN)
		strncat(warned, msg, sizeof(warned) - strlen(warned) - 1);
}

/* The target.  Commands on its pipe: one byte each, acknowledged. */
struct target {
	pid_t pid;
	int cmd, ack;
	volatile uint64_t *beat; /* shared: loops done */
	uint8_t *m;		 /* AREA_PAGES private pages */
	uint8_t *extra;		 /* the area of 'n' */
};

static volatile uint64_t *beat_page;

static void target_cmd(uint8_t *m, char c, int ack)
{
	uint8_t *x = NULL;
	size_t i;

	switch (c) {
	case 'u': /* munmap pages 100-199 */
		munmap(m + 100 * PG, 100 * PG);
		break;
	case 'd': /* pages 300-399 zapped */
		madvise(m + 300 * PG, 100 * PG, MADV_DONTNEED);
		break;
	case 'n': /* a new area of 64 pages, filled */
		x = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		for (i = 0; i < 64; i++)
			memset(x + i * PG, 0x40 + i, PG);
		break;
	case 'f': /* a child that writes on its own */
		if (fork() == 0) {
			for (i = 0;; i++) {
				m[(i % 50) * PG + 8]++;
				usleep(1000);
			}
		}
		break;
	case 'm': /* pages 600-699 moved elsewhere (mremap), grown by one page */
		x = mremap(m + 600 * PG, 100 * PG, 101 * PG, MREMAP_MAYMOVE);
		if (x == MAP_FAILED)
			_exit(4);
		break;
	case 'r': /* the kernel writes pages 500-509 (read(2) into them) */
		i = (size_t)open("/dev/urandom", O_RDONLY);
		if (read((int)i, m + 500 * PG, 10 * PG) != 10 * PG)
			_exit(3);
		close((int)i);
		break;
	case 'x':
		execl("/bin/sleep", "sleep", "100", (char *)NULL);
		_exit(1);
	case 'w': /* dirty the first `dirty` pages once (bench) */
		for (i = 0; i < *(beat_page + 1); i++)
			m[i * PG + 16]++;
		break;
	}
	if (write(ack, &x, sizeof(x)) != sizeof(x))
		_exit(1);
}

/*
 * Writes page (n % pages) of m, a counter in its first bytes, a few pages
 * a millisecond; zero pages at 1000-1099 stay zero.  rate 0: only commands.
 */
static void target_main(uint8_t *m, size_t pages, int cmd, int ack, unsigned rate)
{
	uint64_t n = 0, k;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fcntl(cmd, F_SETFL, O_NONBLOCK);
	for (;;) {
		for (k = 0; k < rate; k++, n++) {
			size_t pg = n % pages;

			if (pg >= 1000 && pg < 1100)
				continue;
			if ((pg >= 100 && pg < 400) || (pg >= 500 && pg < 510) ||
			    (pg >= 600 && pg < 700))
				continue; /* munmapped, zapped, read into, moved by commands */
			memcpy(m + pg * PG, &n, sizeof(n));
		}
		(*beat_page)++;
		if (read(cmd, &c, 1) == 1)
			target_cmd(m, c, ack);
		usleep(1000);
	}
}

/* Seccomp filters of a target: none, userfaultfd failed, killed for it, another call failed. */
enum filter { NO_FILTER, DENY_UFFD, KILL_UFFD, DENY_OTHER };

static void install_filter(enum filter how)
{
	scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);
	int nr = how == DENY_OTHER ? SCMP_SYS(mincore) : SCMP_SYS(userfaultfd);
	uint32_t act = how == KILL_UFFD ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);

	if (!sc || seccomp_rule_add(sc, act, nr, 0) || seccomp_load(sc))
		_exit(2);
	seccomp_release(sc);
}

static int start_target(struct target *tg, size_t pages, unsigned rate, enum filter how)
{
	int c[2], a[2];
	size_t i;

	beat_page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	tg->m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (beat_page == MAP_FAILED || tg->m == MAP_FAILED || pipe(c) || pipe(a))
		return -1;
	for (i = 0; i < pages; i++)
		if (i < 1000 || i >= 1100)
			memset(tg->m + i * PG, (int)(i % 251) + 1, PG);
	tg->beat = beat_page;
	tg->pid = fork();
	if (tg->pid == 0) {
		if (how != NO_FILTER)
			install_filter(how);
		target_main(tg->m, pages, c[0], a[1], rate);
	}
	munmap(tg->m, pages * PG); /* ours: not needed */
	close(c[0]);
	close(a[1]);
	tg->cmd = c[1];
	tg->ack = a[0];
	return tg->pid > 0 ? 0 : -1;
}

static int command(struct target *tg, char c)
{
	uint8_t *x;

	if (write(tg->cmd, &c, 1) != 1 || read(tg->ack, &x, sizeof(x)) != sizeof(x))
		return -1;
	if (c == 'n' || c == 'm')
		tg->extra = x;
	return 0;
}

static void end_target(struct target *tg)
{
	kill(tg->pid, SIGKILL);
	waitpid(tg->pid, NULL, 0);
	close(tg->cmd);
	close(tg->ack);
	munmap((void *)beat_page, PG);
	store_clear();
}

/* Waits until the target has done n more loops (it is not blocked). */
static bool runs_on(struct target *tg, uint64_t n)
{
	uint64_t b = *tg->beat;
	int i;

	for (i = 0; i < 2000 && *tg->beat < b + n; i++)
		usleep(1000);
	return *tg->beat >= b + n;
}

static bool stop_target(struct target *tg)
{
	int st;

	kill(tg->pid, SIGSTOP);
	return waitpid(tg->pid, &st, WUNTRACED) == tg->pid && WIFSTOPPED(st);
}

static bool page_zero(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Stopped target against the store: every held page of its private areas
 * is in the store and equal to memory; the store has nothing else of it;
 * every non-zero page of [own, own_end) is held.  Returns the mismatches.
 */
static unsigned check_memory(const struct track *t, pid_t pid, uint64_t own, uint64_t own_end)
{
	struct proc_vma_list l = { 0 };
	uint8_t buf[PG];
	uint64_t a, s, e, held = 0;
	unsigned bad = 0;
	char path[64], *text = NULL;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || proc_read_file(pid, "maps", &text, NULL) || proc_parse_smaps(text, &l))
		return 1000000;
	free(text);
	for (i = 0; i < l.n; i++) {
		const struct proc_vma *v = &l.v[i];

		if (v->shared || (v->name[0] == '[' && strcmp(v->name, "[heap]") &&
					 strcmp(v->name, "[stack]")))
			continue;
		for (a = v->start; a < v->end; a += PG) {
			bool h = track_held(t, pid, a, a + PG, &s, &e);
			struct page *p = *store_find(pid, a);

			if (pread(fd, buf, PG, a) != PG)
				memset(buf, 0, PG); /* a guard or the like: never held */
			held += h;
			if (h && (!p || memcmp(p->data, buf, PG)))
				bad++;
			if (!h && a >= own && a < own_end && !page_zero(buf))
				bad++;
		}
	}
	proc_vma_list_free(&l);
	close(fd);
	if (held != store_count(pid))
		bad += 1000;
	if (bad)
		fprintf(stderr, "pid %d: %u mismatches, %llu held, %llu in the store\n", pid, bad,
			(unsigned long long)held, (unsigned long long)store_count(pid));
	return bad;
}

/* No "uw" in the VmFlags of pid's smaps. */
static bool unregistered(pid_t pid)
{
	char *text = NULL, *p;
	bool none = true;

	if (proc_read_file(pid, "smaps", &text, NULL))
		return false;
	for (p = text; (p = strstr(p, "VmFlags:")); p++) {
		char *end = strchr(p, '\n');

		if (end)
			*end = '\0';
		if (strstr(p, " uw"))
			none = false;
		if (!end)
			break;
		*end = '\n';
	}
	free(text);
	return none;
}

/* Round 0, then n rounds with the target writing; the target never waits. */
static void rounds(struct track *t, struct target *tg, int n)
{
	struct track_round st;
	int i;

	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(st.round == 0 && st.pages_dirty >= AREA_PAGES - 100);
	for (i = 0; i < n; i++) {
		CU_ASSERT(runs_on(tg, 10));
		CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
		CU_ASSERT(st.pages_dirty > 0 && st.pages_dirty < AREA_PAGES);
	}
}

/* n more rounds, the target writing meanwhile. */
static void more_rounds(struct track *t, struct target *tg, int n)
{
	struct track_round st;

	while (n--) {
		CU_ASSERT(runs_on(tg, 10));
		CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	}
}

/* Stops the target, runs the last round, checks memory against the store. */
static void finish(struct track *t, struct target *tg, uint64_t own, uint64_t own_end)
{
	struct track_round st;

	CU_ASSERT(stop_target(tg));
	CU_ASSERT_EQUAL(track_final(t, &sink, &st), 0);
	CU_ASSERT_EQUAL(check_memory(t, tg->pid, own, own_end), 0);
	CU_ASSERT_EQUAL(track_store_pages(t), store_n);
}

static void test_rounds(void)
{
	struct target tg;
	struct track *t = NULL;
	uint64_t m;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 4);
	CU_ASSERT(!unregistered(tg.pid));
	CU_ASSERT(command(&tg, 'r') == 0); /* written by the kernel, not the process */
	more_rounds(t, &tg, 1);
	CU_ASSERT(command(&tg, 'r') == 0); /* and again, for the last round */
	finish(t, &tg, m, m + AREA_PAGES * PG);
	CU_ASSERT(store_count(tg.pid) > AREA_PAGES - 400);
	CU_ASSERT(!unregistered(tg.pid)); /* until track_free */
	track_free(t);
	CU_ASSERT(unregistered(tg.pid));
	end_target(&tg);
}

/* munmap and MADV_DONTNEED of tracked pages: dropped from the store. */
static void test_unmap_zap(void)
{
	struct target tg;
	struct track *t = NULL;
	uint64_t m, a;
	unsigned left = 0;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 1);
	CU_ASSERT(*store_find(tg.pid, m + 150 * PG) && *store_find(tg.pid, m + 350 * PG));
	CU_ASSERT(command(&tg, 'u') == 0 && command(&tg, 'd') == 0);
	more_rounds(t, &tg, 1);
	finish(t, &tg, m, m + AREA_PAGES * PG);
	for (a = m + 100 * PG; a < m + 400 * PG; a += PG) /* 200-299 stay */
		left += (a < m + 200 * PG || a >= m + 300 * PG) && *store_find(tg.pid, a);
	CU_ASSERT_EQUAL(left, 0);
	track_free(t);
	end_target(&tg);
}

/* An area moved by mremap: dropped where it was, copied whole where it is. */
static void test_mremap(void)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	uint64_t m, x, a;
	unsigned left = 0;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 1);
	CU_ASSERT_FATAL(command(&tg, 'm') == 0);
	x = (uintptr_t)tg.extra;
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(st.pages_sent >= 100);
	for (a = m + 600 * PG; a < m + 700 * PG; a += PG)
		left += *store_find(tg.pid, a) != NULL;
	CU_ASSERT_EQUAL(left, 0);
	CU_ASSERT(*store_find(tg.pid, x) && *store_find(tg.pid, x + 99 * PG));
	finish(t, &tg, x, x + 101 * PG);
	track_free(t);
	end_target(&tg);
}

/* A new area after round 0 is registered and copied whole. */
static void test_new_area(void)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	uint64_t x;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 1);
	CU_ASSERT_FATAL(command(&tg, 'n') == 0);
	x = (uintptr_t)tg.extra;
	CU_ASSERT(*store_find(tg.pid, x) == NULL);
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(st.pages_sent >= 64);
	CU_ASSERT(*store_find(tg.pid, x) && *store_find(tg.pid, x + 63 * PG));
	finish(t, &tg, x, x + 64 * PG);
	track_free(t);
	end_target(&tg);
}

/* An exec between rounds: the store forgets the process. */
static void test_exec(void)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	uint64_t s, e;
	bool tracked = true;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 1);
	CU_ASSERT(store_count(tg.pid) > 0);
	CU_ASSERT(write(tg.cmd, "x", 1) == 1);
	usleep(100000);
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT_EQUAL(store_count(tg.pid), 0);
	CU_ASSERT(stop_target(&tg));
	CU_ASSERT_EQUAL(track_final(t, &sink, &st), 0);
	CU_ASSERT(!track_held(t, tg.pid, 0, UINT64_MAX, &s, &e));
	track_key_of(t, tg.pid, &tracked);
	CU_ASSERT(!tracked);
	track_free(t);
	end_target(&tg);
}

/* A child forked after the start is not tracked; the parent still is. */
static void test_fork_after(void)
{
	struct target tg;
	struct track *t = NULL;
	char path[64], *text = NULL;
	pid_t child = 0;
	bool tracked = true;
	uint64_t m;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 1);
	CU_ASSERT_FATAL(command(&tg, 'f') == 0);
	snprintf(path, sizeof(path), "task/%d/children", tg.pid);
	CU_ASSERT(proc_read_file(tg.pid, path, &text, NULL) == 0);
	child = text ? atoi(text) : 0;
	free(text);
	CU_ASSERT(child > 0);
	more_rounds(t, &tg, 2);
	track_key_of(t, child, &tracked);
	CU_ASSERT(!tracked);
	CU_ASSERT(unregistered(child));
	finish(t, &tg, m, m + AREA_PAGES * PG);
	if (child > 0)
		kill(child, SIGKILL);
	track_free(t);
	end_target(&tg);
}

/*
 * Seccomp filters: one that fails userfaultfd or kills for it leaves the
 * process untracked (and alive), one about other calls lets it be tracked.
 */
static void seccomp_case(enum filter how)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	bool tracked = false;
	uint64_t m;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, how) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT(runs_on(&tg, 5)); /* the filter is in */
	warned[0] = '\0';
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	CU_ASSERT(how != DENY_UFFD || strstr(warned, "its seccomp filter fails userfaultfd"));
	CU_ASSERT(how != KILL_UFFD || strstr(warned, "its seccomp filter would kill"));
	CU_ASSERT(how != DENY_OTHER || !strstr(warned, "not tracked"));
	track_key_of(t, tg.pid, &tracked);
	CU_ASSERT_EQUAL(tracked, how == DENY_OTHER);
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(how == DENY_OTHER ? st.pages_sent > 0 : st.pages_sent == 0);
	CU_ASSERT(runs_on(&tg, 10)); /* alive: never killed by its filter */
	CU_ASSERT(stop_target(&tg));
	CU_ASSERT_EQUAL(track_final(t, &sink, &st), 0);
	CU_ASSERT_EQUAL(check_memory(t, tg.pid, how == DENY_OTHER ? m : 0,
				     how == DENY_OTHER ? m + AREA_PAGES * PG : 0),
			0);
	if (how != DENY_OTHER)
		CU_ASSERT_EQUAL(store_count(tg.pid), 0);
	track_free(t);
	end_target(&tg);
}

static void test_seccomp(void)
{
	seccomp_case(DENY_UFFD);
	seccomp_case(KILL_UFFD);
	seccomp_case(DENY_OTHER);
}

static int write_str(const char *dir, const char *file, const char *v)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

static pid_t tracer_of(pid_t pid)
{
	struct proc_status st;
	pid_t t;

	if (proc_read_status(pid, &st))
		return -1;
	t = st.tracer_pid;
	proc_status_free(&st);
	return t;
}

/*
 * A target its cgroup holds frozen (its injected call would wait for the
 * thaw): not tracked, never traced, runs on once thawed.
 */
static void test_frozen(void)
{
	char mnt[256], dir[300], pid[16];
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	bool tracked = true;

	CU_ASSERT_FATAL(proc_cgroup2_mount(mnt, sizeof(mnt)) == 0);
	snprintf(dir, sizeof(dir), "%s/vxcr-test-track-%d", mnt, getpid());
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	snprintf(pid, sizeof(pid), "%d", tg.pid);
	CU_ASSERT(write_str(dir, "cgroup.procs", pid) == 0);
	CU_ASSERT(write_str(dir, "cgroup.freeze", "1") == 0);
	usleep(50000);
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	track_key_of(t, tg.pid, &tracked);
	CU_ASSERT(!tracked);
	CU_ASSERT(write_str(dir, "cgroup.freeze", "0") == 0);
	usleep(50000);
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT_EQUAL(tracer_of(tg.pid), 0);
	CU_ASSERT(runs_on(&tg, 10));
	track_free(t);
	end_target(&tg);
	CU_ASSERT(rmdir(dir) == 0);
}

/* track_free, or a killed tracker: every area unregistered, the target runs on. */
static void test_free_and_kill(void)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	int p[2], status;
	pid_t tracker;
	char c;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(!unregistered(tg.pid));
	track_free(t);
	CU_ASSERT(unregistered(tg.pid));
	CU_ASSERT(runs_on(&tg, 10));

	CU_ASSERT_FATAL(pipe(p) == 0);
	tracker = fork();
	if (tracker == 0) {
		if (track_start(tg.pid, NULL, &t) || track_round(t, &sink, &st) ||
		    write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	CU_ASSERT(read(p[0], &c, 1) == 1);
	close(p[0]);
	CU_ASSERT(!unregistered(tg.pid));
	kill(tracker, SIGKILL);
	waitpid(tracker, &status, 0);
	CU_ASSERT(unregistered(tg.pid));
	CU_ASSERT(runs_on(&tg, 10));
	end_target(&tg);
}

#ifndef IMG_PAGES_PARENT
#define IMG_PAGES_PARENT 0x2
#endif

/*
 * Image pages of mm 1 (PAGES bytes, PARENT ranges from the store) against
 * the stopped target's memory: every page the image gives equals memory,
 * and every non-zero page of [own, own_end) is given.  Mismatches.
 */
static unsigned check_image(const void *img, size_t len, pid_t pid, uint64_t own, uint64_t own_end,
			    uint64_t *parent_pages)
{
	struct img_source *src = NULL;
	struct img_reader *r = NULL;
	struct img_record rec;
	uint8_t buf[PG], *given;
	unsigned bad = 0;
	char path[64];
	uint64_t a, n, i;
	int fd, ret;

	given = calloc((own_end - own) / PG, 1);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	if (!given || fd < 0 || img_source_mem(img, len, &src) || img_reader_open_source(src, &r))
		return 1000000;
	while ((ret = img_read_record(r, &rec)) == 1) {
		const struct img_pages_prefix *p = rec.payload;
		const uint8_t *data = (const uint8_t *)rec.payload + sizeof(*p);

		if (rec.type != IMG_REC_PAGES || p->mm_id != 1)
			continue;
		if (p->flags & IMG_PAGES_PARENT) {
			memcpy(&n, data, sizeof(n));
			*parent_pages += n / PG;
		} else {
			n = rec.length - sizeof(*p);
		}
		for (i = 0; i < n; i += PG) {
			struct page *sp = *store_find(pid, p->addr + i);
			const uint8_t *want = p->flags & IMG_PAGES_PARENT ? sp ? sp->data : NULL : data + i;

			a = p->addr + i;
			if (pread(fd, buf, PG, a) != PG || !want || memcmp(want, buf, PG)) {
				size_t k, nd = 0, first = PG;

				for (k = 0; want && k < PG; k++)
					if (want[k] != buf[k]) {
						nd++;
						first = first < k ? first : k;
					}
				fprintf(stderr, "image page %#llx [own %d] (%s) differs%s: %zu bytes from %zu\n",
					(unsigned long long)a, a >= own && a < own_end,
					p->flags & IMG_PAGES_PARENT ? "parent" : "data",
					want ? "" : ": not in the store", nd, first);
				bad++;
			}
			if (a >= own && a < own_end)
				given[(a - own) / PG] = 1;
		}
	}
	if (ret)
		bad += 1000;
	for (a = own; a < own_end; a += PG)
		if (!given[(a - own) / PG] && pread(fd, buf, PG, a) == PG && !page_zero(buf)) {
			fprintf(stderr, "page %#llx not in the image\n", (unsigned long long)a);
			bad++;
		}
	free(given);
	close(fd);
	img_reader_free(r);
	img_source_free(src);
	return bad;
}

/* A dump with a migration's tracker: PARENT ranges for what the store holds. */
static void test_dump(void)
{
	static const uint8_t id[16] = { 1, 2, 3 };
	struct vxcr_dump_opts o;
	struct vxcr_dump_mig mig;
	struct track_round fin;
	struct img_sink *out = NULL;
	struct target tg;
	struct track *t = NULL;
	uint64_t m, parent = 0, beat0;
	const void *img;
	size_t len = 0;
	int ret;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, 16, NO_FILTER) == 0);
	m = (uintptr_t)tg.m;
	CU_ASSERT_FATAL(track_start(tg.pid, NULL, &t) == 0);
	rounds(t, &tg, 2);
	CU_ASSERT_FATAL(img_sink_mem(0, &out) == 0);
	vxcr_dump_opts_init(&o);
	o.leave_running = true;
	o.compress = false;
	memset(&mig, 0, sizeof(mig));
	mig.sink = out;
	mig.track = t;
	mig.track_sink = &sink;
	mig.final = &fin;
	mig.parent_id = id;
	o.mig = &mig;
	CU_ASSERT(stop_target(&tg)); /* the memory the image has, after it */
	beat0 = *tg.beat;
	ret = vxcr_dump(tg.pid, -1, &o, NULL);
	usleep(10000);
	CU_ASSERT_EQUAL(*tg.beat, beat0); /* stopped still */
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "dump: %s\n", vxcr_last_error());
	CU_ASSERT(fin.pages_held > AREA_PAGES - 500);
	img = img_sink_mem_data(out, &len);
	CU_ASSERT_EQUAL(check_image(img, len, tg.pid, m, m + AREA_PAGES * PG, &parent), 0);
	CU_ASSERT_EQUAL(parent, fin.pages_held);
	img_sink_free(out);
	track_free(t);
	CU_ASSERT(unregistered(tg.pid));
	end_target(&tg);
}

static uint64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The bench's sink: counts (scan and read are timed, not a store). */
static int count_pages(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len)
{
	*(uint64_t *)arg += len / PG;
	return 0;
}

static int count_drop(void *arg, uint32_t key, uint64_t addr, uint64_t len)
{
	return 0;
}

/* bench MIB DIRTY_MIB: round 0, then rounds after DIRTY_MIB written. */
static int bench(size_t mib, size_t dirty)
{
	struct target tg;
	struct track *t = NULL;
	struct track_round st;
	uint64_t t0, n = 0;
	struct track_sink cs = { count_pages, count_drop, &n };
	int i;

	if (start_target(&tg, mib * 256, 0, NO_FILTER))
		return 1;
	beat_page[1] = dirty * 256;
	t0 = ns_now();
	if (track_start(tg.pid, NULL, &t))
		return 1;
	printf("start: %.2f ms\n", (ns_now() - t0) / 1e6);
	t0 = ns_now();
	if (track_round(t, &cs, &st))
		return 1;
	printf("round 0 (%zu MiB): %.1f ms (scan %.1f, read %.1f, store %.1f), %llu pages\n", mib,
	       (ns_now() - t0) / 1e6, st.scan_ns / 1e6, st.read_ns / 1e6, st.send_ns / 1e6,
	       (unsigned long long)st.pages_sent);
	for (i = 1; i <= 3; i++) {
		if (command(&tg, 'w'))
			return 1;
		t0 = ns_now();
		if (track_round(t, &cs, &st))
			return 1;
		printf("round %d (%zu MiB dirty): %.2f ms (PAGEMAP_SCAN %.2f, read %.2f, sink "
		       "%.2f, rest %.2f), %llu pages\n",
		       i, dirty, (ns_now() - t0) / 1e6, st.scan_ns / 1e6, st.read_ns / 1e6,
		       st.send_ns / 1e6, (st.total_ns - st.scan_ns - st.read_ns - st.send_ns) / 1e6,
		       (unsigned long long)st.pages_dirty);
	}
	if (command(&tg, 'w') || !stop_target(&tg))
		return 1;
	t0 = ns_now();
	if (track_final(t, &cs, &st))
		return 1;
	printf("last round (%zu MiB dirty, stopped): %.2f ms (PAGEMAP_SCAN %.2f, read %.2f), "
	       "%llu pages\n",
	       dirty, (ns_now() - t0) / 1e6, st.scan_ns / 1e6, st.read_ns / 1e6,
	       (unsigned long long)st.pages_dirty);
	track_free(t);
	end_target(&tg);
	return 0;
}

/*
 * For t-track: `hold PID` tracks PID's tree, says "tracking" after three
 * rounds and goes on with a round every 5 ms until killed; `final PID`
 * runs three rounds 20 ms apart, stops the tree's processes (SIGSTOP),
 * runs the last round, checks each process's memory against the store
 * and says "PASS" or "FAIL ..." (the tree is left stopped).
 */
static int external(const char *mode, pid_t pid)
{
	struct track *t = NULL;
	struct track_round st;
	pid_t kids[64];
	size_t n = 0, i;
	unsigned bad = 0;
	char path[64], *text = NULL, *p;
	bool tracked;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (track_start(pid, NULL, &t))
		return 1;
	for (r = 0; r < 3; r++) {
		if (track_round(t, &sink, &st))
			return 1;
		usleep(20000);
	}
	if (!strcmp(mode, "hold")) {
		printf("tracking %llu pages\n", (unsigned long long)track_store_pages(t));
		for (;;) {
			if (track_round(t, &sink, &st))
				return 1;
			usleep(5000);
		}
	}
	kids[n++] = pid; /* the root and its children (tree-basic: one level) */
	snprintf(path, sizeof(path), "task/%d/children", pid);
	if (!proc_read_file(pid, path, &text, NULL))
		for (p = text; n < 64 && *p;) {
			long v = strtol(p, &p, 10);

			if (v <= 0)
				break;
			kids[n++] = (pid_t)v;
		}
	free(text);
	for (i = 0; i < n; i++)
		kill(kids[i], SIGSTOP);
	usleep(50000);
	if (track_final(t, &sink, &st))
		return 1;
	for (i = 0; i < n; i++) {
		track_key_of(t, kids[i], &tracked);
		bad += !tracked;
		bad += check_memory(t, kids[i], 0, 0) ? 1 : 0;
	}
	bad += track_store_pages(t) != store_n; /* grandchildren (not checked) hold none */
	track_free(t);
	for (i = 0; i < n; i++)
		bad += !unregistered(kids[i]);
	if (bad)
		printf("FAIL %u mismatches in %zu processes\n", bad, n);
	else
		printf("PASS %zu processes, %llu pages held\n", n, (unsigned long long)store_n);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
#ifdef __SANITIZE_ADDRESS__
	/* make asan: the first round on a forked ASan target never ends
	 * (NOTES, "Where issue 15 stands": open); make check runs it */
	printf("SKIP test_track: under ASan a round on a forked ASan target hangs (NOTES)\n");
	return 77;
#endif
	CU_pSuite s;
	unsigned fails;

	if (argc == 4 && !strcmp(argv[1], "bench"))
		return bench(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
	if (argc == 3 && (!strcmp(argv[1], "hold") || !strcmp(argv[1], "final")))
		return external(argv[1], atoi(argv[2]));
	if (geteuid() != 0) {
		printf("SKIP test_track: needs root\n");
		return 77;
	}
	vxcr_set_log(on_log, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("track", NULL, NULL);
	CU_add_test(s, "rounds while the target writes", test_rounds);
	CU_add_test(s, "munmap and MADV_DONTNEED dropped", test_unmap_zap);
	CU_add_test(s, "a new area copied whole", test_new_area);
	CU_add_test(s, "an area moved by mremap", test_mremap);
	CU_add_test(s, "exec between rounds", test_exec);
	CU_add_test(s, "a child forked after the start", test_fork_after);
	CU_add_test(s, "seccomp filters: failing, killing, other calls", test_seccomp);
	CU_add_test(s, "track_free and a killed tracker", test_free_and_kill);
	CU_add_test(s, "a dump with the tracker: PARENT ranges", test_dump);
	CU_add_test(s, "a frozen target: not tracked, released", test_frozen);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
