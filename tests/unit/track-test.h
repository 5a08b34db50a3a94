/*
 * Shared by the dirty tracker's unit tests (test_track.c: rounds, unmap,
 * mremap, new areas, a dump; test_track_procs.c: exec, fork, seccomp, a
 * frozen target, a killed tracker): a store of the pages the tracker
 * sends, and a target process that writes a known pattern on command.
 */
#ifndef VXCR_TEST_TRACK_H
#define VXCR_TEST_TRACK_H

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
#define TARGET_RATE 16					/* pages the target writes a loop */
#define LOOPS_BOUND ((AREA_PAGES - 1000) / TARGET_RATE) /* room for its other pages */

/* The test's store: (key, addr) -> page. */
struct page {
	uint32_t key;
	uint64_t addr;
	struct page *next;
	uint8_t data[PG];
};

static struct page *store[HASH] __attribute__((unused));
static uint64_t store_n __attribute__((unused));

static inline size_t hslot(uint32_t key, uint64_t addr)
{
	return ((addr / PG) * 2654435761u + key) % HASH;
}

static inline struct page **store_find(uint32_t key, uint64_t addr)
{
	struct page **pp = &store[hslot(key, addr)];

	while (*pp && ((*pp)->key != key || (*pp)->addr != addr))
		pp = &(*pp)->next;
	return pp;
}

static inline int sink_pages(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len)
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

static inline void unlink_page(struct page **pp)
{
	struct page *p = *pp;

	*pp = p->next;
	free(p);
	store_n--;
}

static inline int sink_drop(void *arg, uint32_t key, uint64_t addr, uint64_t len)
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

static inline void store_clear(void)
{
	size_t h;

	for (h = 0; h < HASH; h++)
		while (store[h])
			unlink_page(&store[h]);
}

static inline uint64_t store_count(uint32_t key)
{
	uint64_t n = 0;
	struct page *p;
	size_t h;

	for (h = 0; h < HASH; h++)
		for (p = store[h]; p; p = p->next)
			n += p->key == key;
	return n;
}

static const struct track_sink sink __attribute__((unused)) = { sink_pages, sink_drop, NULL };

static char warned[1024]
	__attribute__((unused)); /* the library's warnings and errors since the last clear */

static inline void on_log(enum vxcr_log_level lvl, const char *msg, void *arg)
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

static volatile uint64_t *beat_page __attribute__((unused));

static inline void target_cmd(uint8_t *m, char c, int ack)
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
		x = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
static inline void target_main(uint8_t *m, size_t pages, int cmd, int ack, unsigned rate)
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

static inline void install_filter(enum filter how)
{
	scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);
	int nr = how == DENY_OTHER ? SCMP_SYS(mincore) : SCMP_SYS(userfaultfd);
	uint32_t act = how == KILL_UFFD ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);

	if (!sc || seccomp_rule_add(sc, act, nr, 0) || seccomp_load(sc))
		_exit(2);
	seccomp_release(sc);
}

static inline int start_target(struct target *tg, size_t pages, unsigned rate, enum filter how)
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

static inline int command(struct target *tg, char c)
{
	uint8_t *x;

	if (write(tg->cmd, &c, 1) != 1 || read(tg->ack, &x, sizeof(x)) != sizeof(x))
		return -1;
	if (c == 'n' || c == 'm')
		tg->extra = x;
	return 0;
}

static inline void end_target(struct target *tg)
{
	kill(tg->pid, SIGKILL);
	waitpid(tg->pid, NULL, 0);
	close(tg->cmd);
	close(tg->ack);
	munmap((void *)beat_page, PG);
	store_clear();
}

/* Waits until the target has done n more loops (it is not blocked). */
static inline bool runs_on(struct target *tg, uint64_t n)
{
	uint64_t b = *tg->beat;
	int i;

	for (i = 0; i < 2000 && *tg->beat < b + n; i++)
		usleep(1000);
	return *tg->beat >= b + n;
}

static inline bool stop_target(struct target *tg)
{
	int st;

	kill(tg->pid, SIGSTOP);
	return waitpid(tg->pid, &st, WUNTRACED) == tg->pid && WIFSTOPPED(st);
}

static inline bool page_zero(const uint8_t *p)
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
static inline unsigned check_memory(const struct track *t, pid_t pid, uint64_t own,
				    uint64_t own_end)
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

		if (v->shared ||
		    (v->name[0] == '[' && strcmp(v->name, "[heap]") && strcmp(v->name, "[stack]")))
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
static inline bool unregistered(pid_t pid)
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

/*
 * Round 0, then n rounds with the target writing; the target never waits.
 * A round finds the pages written since the previous round started, at
 * most TARGET_RATE a loop of the target: fewer than the area when it looped
 * fewer than LOOPS_BOUND times meanwhile.  Not checked in round 1: under
 * CPU contention it can find nearly every page written (NOTES, "Where issue
 * 16 stands": open).
 */
static inline void rounds(struct track *t, struct target *tg, int n)
{
	struct track_round st;
	uint64_t prev = *tg->beat, cur;
	int i;

	CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	CU_ASSERT(st.round == 0 && st.pages_dirty >= AREA_PAGES - 100);
	for (i = 0; i < n; i++) {
		CU_ASSERT(runs_on(tg, 10));
		cur = *tg->beat;
		CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
		CU_ASSERT(st.pages_dirty > 0);
		if (i && *tg->beat - prev < LOOPS_BOUND)
			CU_ASSERT(st.pages_dirty < AREA_PAGES);
		prev = cur;
	}
}

/* n more rounds, the target writing meanwhile. */
static inline void more_rounds(struct track *t, struct target *tg, int n)
{
	struct track_round st;

	while (n--) {
		CU_ASSERT(runs_on(tg, 10));
		CU_ASSERT_EQUAL(track_round(t, &sink, &st), 0);
	}
}

/* Stops the target, runs the last round, checks memory against the store. */
static inline void finish(struct track *t, struct target *tg, uint64_t own, uint64_t own_end)
{
	struct track_round st;

	CU_ASSERT(stop_target(tg));
	CU_ASSERT_EQUAL(track_final(t, &sink, &st), 0);
	CU_ASSERT_EQUAL(check_memory(t, tg->pid, own, own_end), 0);
	CU_ASSERT_EQUAL(track_store_pages(t), store_n);
}

#endif
