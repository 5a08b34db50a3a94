/*
 * The dirty tracker (lib/dump/track.c) on real processes: a target that
 * keeps writing a known pattern while rounds run; after the last round
 * (the target stopped) the store plus the last dirty set must equal its
 * memory byte for byte (read through /proc/PID/mem), and every non-zero
 * page of its own areas must be held.  Cases: writes between rounds,
 * munmap, MADV_DONTNEED, a new mmap after round 0, an area moved by
 * mremap, pages the kernel writes (read(2)), and a dump with a migration's
 * tracker (PARENT ranges).  Processes that exec, fork, filter syscalls,
 * are frozen or outlive their tracker: test_track_procs.c.
 *
 * `test_track bench MIB DIRTY_MIB` times a round instead (NOTES).
 */
#include "track-test.h"

static void test_rounds(void)
{
	struct target tg = { 0 };
	struct track *t = NULL;
	uint64_t m;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, TARGET_RATE, NO_FILTER) == 0);
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
	struct target tg = { 0 };
	struct track *t = NULL;
	uint64_t m, a;
	unsigned left = 0;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, TARGET_RATE, NO_FILTER) == 0);
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
	struct target tg = { 0 };
	struct track *t = NULL;
	struct track_round st;
	uint64_t m, x, a;
	unsigned left = 0;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, TARGET_RATE, NO_FILTER) == 0);
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
	struct target tg = { 0 };
	struct track *t = NULL;
	struct track_round st;
	uint64_t x;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, TARGET_RATE, NO_FILTER) == 0);
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
			const uint8_t *want = p->flags & IMG_PAGES_PARENT ? sp ? sp->data : NULL :
									    data + i;

			a = p->addr + i;
			if (pread(fd, buf, PG, a) != PG || !want || memcmp(want, buf, PG)) {
				size_t k, nd = 0, first = PG;

				for (k = 0; want && k < PG; k++)
					if (want[k] != buf[k]) {
						nd++;
						first = first < k ? first : k;
					}
				fprintf(stderr,
					"image page %#llx [own %d] (%s) differs%s: %zu bytes from %zu\n",
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
	struct target tg = { 0 };
	struct track *t = NULL;
	uint64_t m, parent = 0, beat0;
	const void *img;
	size_t len = 0;
	int ret;

	CU_ASSERT_FATAL(start_target(&tg, AREA_PAGES, TARGET_RATE, NO_FILTER) == 0);
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
	struct target tg = { 0 };
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
	CU_add_test(s, "a dump with the tracker: PARENT ranges", test_dump);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
