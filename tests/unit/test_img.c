/*
 * Unit tests of the image stream (lib/img): round trips of every record
 * type, crc32c, and hostile input (truncation, flipped bytes, absurd
 * lengths, unknown types, newer versions, trailing garbage).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <CUnit/Basic.h>
#include <zstd.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/records.h"
#include "img/text.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"

#define PAGE 4096

struct buf {
	uint8_t *p;
	size_t len;
};

/* ---- helpers ---- */

static size_t body_start(const struct buf *img);

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("img", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static struct buf slurp(int fd)
{
	struct buf b = { NULL, 0 };
	off_t end = lseek(fd, 0, SEEK_END);

	b.p = malloc(end ? end : 1);
	b.len = end;
	if (pread(fd, b.p, end, 0) != end)
		b.len = 0;
	return b;
}

typedef int (*body_fn)(struct img_writer *w, void *arg);

/* Writes an image with body() into memory. */
static struct buf make_image(bool compress, int threads, body_fn body, void *arg)
{
	struct img_write_opts o = { .compress = compress, .threads = threads,
				    .root_pid = 42 };
	struct img_writer *w;
	struct buf b = { NULL, 0 };
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_FATAL(body(w, arg) == 0);
	CU_ASSERT_FATAL(img_writer_finish(w) == 0);
	img_writer_free(w);
	b = slurp(fd);
	close(fd);
	return b;
}

static uint32_t last_digest;	/* crc32c over the records read_image() read */
static int read_threads;	/* img_reader_set_threads() of read_image() */

/* Reads a whole image; returns 0, or the first error.  *n counts records. */
static int read_image(const void *data, size_t len, uint64_t *n, char *msg, size_t msglen)
{
	struct img_reader *r;
	struct img_record rec;
	int fd = memfd_with(data, len), ret;

	if (n)
		*n = 0;
	CU_ASSERT_FATAL(fd >= 0);
	ret = img_reader_open(fd, &r);
	if (ret) {
		if (msg)
			snprintf(msg, msglen, "%s", img_last_open_error());
		close(fd);
		return ret;
	}
	if (read_threads)
		CU_ASSERT_FATAL(img_reader_set_threads(r, read_threads) == 0);
	last_digest = 0;
	while ((ret = img_read_record(r, &rec)) == 1) {
		last_digest = crc32c(last_digest, &rec.type, sizeof(rec.type));
		last_digest = crc32c(last_digest, rec.payload, rec.length);
		if (n)
			(*n)++;
	}
	if (msg)
		snprintf(msg, msglen, "%s", img_reader_error(r));
	img_reader_free(r);
	close(fd);
	return ret;
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (i & 0x100) ? (uint8_t)(seed >> 16) : (uint8_t)(i * 7);
	}
}

/* ---- populated messages of every protobuf type ---- */

static RlimitEntry rl[2] = { RLIMIT_ENTRY__INIT, RLIMIT_ENTRY__INIT };
static RlimitEntry *rlp[2] = { &rl[0], &rl[1] };
static uint32_t tids[3] = { 100, 101, 102 };
static TaskEntry task = TASK_ENTRY__INIT;
static X86Regs regs = X86_REGS__INIT;
static SiginfoEntry sinfo = SIGINFO_ENTRY__INIT;
static SiginfoEntry *sinfop[1] = { &sinfo };
static SigaltstackEntry alt = SIGALTSTACK_ENTRY__INIT;
static uint8_t xsave[1088], siginfo_raw[128];
static CoreEntry core = CORE_ENTRY__INIT;
static uint32_t groups[2] = { 4, 27 };
static CredsEntry creds = CREDS_ENTRY__INIT;
static SigactionEntry sa = SIGACTION_ENTRY__INIT;
static SigactionEntry *sap[1] = { &sa };
static ItimerEntry it = ITIMER_ENTRY__INIT;
static ItimerEntry *itp[1] = { &it };
static SignalsEntry sigs = SIGNALS_ENTRY__INIT;
static VmaEntry vma[2] = { VMA_ENTRY__INIT, VMA_ENTRY__INIT };
static VmaEntry *vmap[2] = { &vma[0], &vma[1] };
static uint64_t auxv[4] = { 6, 4096, 0, 0 };
static uint8_t sha[32];
static MmEntry mm = MM_ENTRY__INIT;
static FileEntry file = FILE_ENTRY__INIT;
static FdEntry fde[2] = { FD_ENTRY__INIT, FD_ENTRY__INIT };
static FdEntry *fdep[2] = { &fde[0], &fde[1] };
static FdtableEntry fdt = FDTABLE_ENTRY__INIT;

static void build_msgs(void)
{
	rl[0].has_resource = rl[0].has_cur = rl[0].has_max = true;
	rl[0].resource = 7, rl[0].cur = 1024, rl[0].max = UINT64_MAX;
	rl[1].has_resource = true, rl[1].resource = 3;
	task.has_pid = task.has_ppid = task.has_oom_score_adj = true;
	task.pid = 1234, task.ppid = 1, task.oom_score_adj = -17;
	task.comm = "sleep \"x\"\n";
	task.n_rlimits = 2, task.rlimits = rlp;
	task.n_threads = 3, task.threads = tids;
	task.has_child_subreaper = true, task.child_subreaper = true;
	task.cwd = "/tmp";

	fill_pattern(xsave, sizeof(xsave), 1);
	fill_pattern(siginfo_raw, sizeof(siginfo_raw), 2);
	regs.has_ip = regs.has_sp = regs.has_ax = true;
	regs.ip = 0x7fffdeadbeefull, regs.sp = 0x7ffc0000f000ull, regs.ax = -38ull;
	sinfo.has_siginfo = true;
	sinfo.siginfo = (ProtobufCBinaryData){ sizeof(siginfo_raw), siginfo_raw };
	alt.has_sp = alt.has_size = true, alt.sp = 0x1000, alt.size = 8192;
	core.has_tid = core.has_xsave = core.has_nice = core.has_in_syscall_restart = true;
	core.tid = 101, core.nice = -5, core.in_syscall_restart = true;
	core.regs = &regs, core.altstack = &alt;
	core.xsave = (ProtobufCBinaryData){ sizeof(xsave), xsave };
	core.n_pending = 1, core.pending = sinfop;
	core.comm = "worker";

	creds.has_uid = creds.has_cap_eff = creds.has_no_new_privs = true;
	creds.uid = 1000, creds.cap_eff = 0x1ffffffffffull, creds.no_new_privs = true;
	creds.n_groups = 2, creds.groups = groups;

	sa.has_signo = sa.has_handler = sa.has_flags = true;
	sa.signo = 10, sa.handler = 0x401000, sa.flags = 0x04000000;
	it.has_which = it.has_value_us = true, it.which = 0, it.value_us = 500000;
	sigs.has_pid = true, sigs.pid = 1234;
	sigs.n_actions = 1, sigs.actions = sap;
	sigs.n_shared_pending = 1, sigs.shared_pending = sinfop;
	sigs.n_itimers = 1, sigs.itimers = itp;

	vma[0].has_start = vma[0].has_end = vma[0].has_kind = vma[0].has_prot = true;
	vma[0].start = 0x400000, vma[0].end = 0x401000, vma[0].kind = VMA_KIND__VMA_FILE_PRIVATE;
	vma[0].prot = 5, vma[0].name = "/bin/sleep";
	vma[1].has_start = vma[1].has_end = vma[1].has_kind = true;
	vma[1].start = 0x7ff000000000ull, vma[1].end = 0x7ff000021000ull;
	vma[1].kind = VMA_KIND__VMA_ANON, vma[1].name = "[heap]";
	fill_pattern(sha, sizeof(sha), 3);
	mm.has_mm_id = mm.has_brk = mm.has_vdso_sha = true;
	mm.mm_id = 1, mm.brk = 0x602000;
	mm.n_auxv = 4, mm.auxv = auxv;
	mm.n_vmas = 2, mm.vmas = vmap;
	mm.vdso_sha = (ProtobufCBinaryData){ sizeof(sha), sha };

	file.has_id = file.has_kind = file.has_pos = file.has_deleted = true;
	file.id = 3, file.kind = FILE_KIND__FILE_PIPE, file.pos = 1ull << 40;
	file.deleted = true, file.path = "pipe:[1234]";

	fde[0].has_fd = fde[0].has_file_id = true, fde[0].fd = 0, fde[0].file_id = 3;
	fde[1].has_fd = fde[1].has_cloexec = true, fde[1].fd = 9, fde[1].cloexec = true;
	fdt.has_files_id = true, fdt.files_id = 1;
	fdt.n_fds = 2, fdt.fds = fdep;
}

/* The sample message for a protobuf record type (NULL for TRAILER). */
static const ProtobufCMessage *sample_msg(uint32_t type)
{
	switch (type) {
	case IMG_REC_TASK: return &task.base;
	case IMG_REC_CORE: return &core.base;
	case IMG_REC_CREDS: return &creds.base;
	case IMG_REC_SIGNALS: return &sigs.base;
	case IMG_REC_MM: return &mm.base;
	case IMG_REC_FILE: return &file.base;
	case IMG_REC_FDTABLE: return &fdt.base;
	}
	return NULL;
}

/* Raw payload of a raw type: prefix + data of type-dependent size. */
static size_t raw_data_len(uint32_t type)
{
	return type == IMG_REC_PAGES ? 3 * PAGE : 1000 + type;
}

static void raw_prefix(uint32_t type, uint8_t prefix[16])
{
	struct img_pages_prefix pp = { .addr = 0x7f0000001000ull + type, .mm_id = type };
	struct img_data_prefix dp = { .id = type, .offset = 4096 * type };

	if (type == IMG_REC_PAGES || type == IMG_REC_SHMEM_PAGES)
		memcpy(prefix, &pp, 16);
	else
		memcpy(prefix, &dp, 16);
}

/* Writes one record of every type in the table (but TRAILER). */
static int write_all_types(struct img_writer *w, void *arg)
{
	const struct img_rec_desc *t;
	uint8_t prefix[16], data[3 * PAGE];
	unsigned n, i;
	int ret;

	t = img_rec_table(&n);
	for (i = 0; i < n; i++) {
		if (t[i].type == IMG_REC_TRAILER)
			continue;
		if (t[i].pb) {
			ret = img_write_msg(w, t[i].type, sample_msg(t[i].type));
		} else {
			raw_prefix(t[i].type, prefix);
			fill_pattern(data, raw_data_len(t[i].type), t[i].type);
			ret = img_write_raw2(w, t[i].type, 0, prefix, t[i].prefix_len,
					     data, raw_data_len(t[i].type));
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* Packs m into a fresh buffer (protobuf-c packs fields in order). */
static struct buf pack(const ProtobufCMessage *m)
{
	struct buf b;

	b.len = protobuf_c_message_get_packed_size(m);
	b.p = malloc(b.len + 1);
	protobuf_c_message_pack(m, b.p);
	return b;
}

/* Checks one read record against what write_all_types() wrote. */
static void check_record(const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	uint8_t prefix[16], data[3 * PAGE];
	ProtobufCMessage *m;
	struct buf a, b;

	CU_ASSERT_FATAL(d != NULL);
	if (!d->pb) {
		raw_prefix(rec->type, prefix);
		fill_pattern(data, raw_data_len(rec->type), rec->type);
		CU_ASSERT_EQUAL(rec->length, 16 + raw_data_len(rec->type));
		CU_ASSERT(!memcmp(rec->payload, prefix, 16));
		CU_ASSERT(!memcmp((uint8_t *)rec->payload + 16, data, raw_data_len(rec->type)));
		return;
	}
	CU_ASSERT_FATAL(img_unpack(rec, d->pb, &m) == 0);
	a = pack(m);
	b = pack(sample_msg(rec->type));
	CU_ASSERT_EQUAL(a.len, b.len);
	CU_ASSERT(a.len == b.len && !memcmp(a.p, b.p, a.len));
	if (rec->type == IMG_REC_TASK) {
		TaskEntry *t = (TaskEntry *)m;

		CU_ASSERT_STRING_EQUAL(t->comm, task.comm);
		CU_ASSERT_EQUAL(t->oom_score_adj, -17);
		CU_ASSERT_EQUAL(t->n_rlimits, 2);
		CU_ASSERT_EQUAL(t->rlimits[0]->max, UINT64_MAX);
	} else if (rec->type == IMG_REC_MM) {
		MmEntry *e = (MmEntry *)m;

		CU_ASSERT_EQUAL(e->n_vmas, 2);
		CU_ASSERT_EQUAL(e->vmas[0]->kind, VMA_KIND__VMA_FILE_PRIVATE);
		CU_ASSERT_EQUAL(e->vmas[1]->end, 0x7ff000021000ull);
	}
	free(a.p);
	free(b.p);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void roundtrip(bool compress, int threads)
{
	struct buf img = make_image(compress, threads, write_all_types, NULL);
	struct img_reader *r;
	struct img_record rec;
	unsigned n, seen = 0;
	const ImgHeader *h;
	int fd, ret;

	img_rec_table(&n);
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	h = img_reader_header(r);
	CU_ASSERT_EQUAL(h->compression, compress ? IMG_COMPRESSION__COMP_ZSTD :
			IMG_COMPRESSION__COMP_NONE);
	CU_ASSERT_EQUAL(h->root_pid, 42);
	CU_ASSERT_EQUAL(h->image_id.len, 16);
	CU_ASSERT_EQUAL(h->page_size, (uint32_t)sysconf(_SC_PAGESIZE));
	CU_ASSERT(h->arch && h->arch[0]);
	CU_ASSERT_STRING_EQUAL(h->tool_version, VXCR_VERSION);
	CU_ASSERT_EQUAL(img_reader_version(r), IMG_FORMAT_VERSION);
	while ((ret = img_read_record(r, &rec)) == 1) {
		CU_ASSERT_EQUAL(rec.index, seen);
		CU_ASSERT_EQUAL(rec.type, seen + 2);	/* table order after TRAILER */
		check_record(&rec);
		seen++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "\n%s\n", img_reader_error(r));
	CU_ASSERT_EQUAL(seen, n - 1);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 0);	/* stays at the end */
	img_reader_free(r);
	close(fd);
	free(img.p);
}

/* ---- tests ---- */

static void test_record_table(void)
{
	const struct img_rec_desc *t;
	unsigned n, i;

	t = img_rec_table(&n);
	CU_ASSERT_EQUAL(n, 12);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(t[i].type, i + 1);
		CU_ASSERT_PTR_EQUAL(img_rec_lookup(i + 1), &t[i]);
		CU_ASSERT((t[i].pb != NULL) != (t[i].prefix_len != 0));
		CU_ASSERT_EQUAL(t[i].flags & IMG_RF_OPTIONAL, 0);
	}
	CU_ASSERT_PTR_NULL(img_rec_lookup(0));
	CU_ASSERT_PTR_NULL(img_rec_lookup(n + 1));
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_PAGES), "PAGES");
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_SHMEM_PAGES), "SHMEM_PAGES");
	CU_ASSERT_PTR_EQUAL(img_rec_lookup(IMG_REC_TASK)->pb, &task_entry__descriptor);
	CU_ASSERT_EQUAL(img_rec_lookup(IMG_REC_PIPE_DATA)->prefix_len, 16);
}

static void test_crc_vectors(void)
{
	uint8_t b[32];
	int i;

	CU_ASSERT_EQUAL(crc32c(0, "123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(crc32c_hw(0, "123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(crc32c(0, "", 0), 0);
	memset(b, 0, sizeof(b));
	CU_ASSERT_EQUAL(crc32c(0, b, 32), 0x8A9136AAu);	/* RFC 3720 B.4 */
	memset(b, 0xff, sizeof(b));
	CU_ASSERT_EQUAL(crc32c(0, b, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		b[i] = i;
	CU_ASSERT_EQUAL(crc32c(0, b, 32), 0x46DD794Eu);
	CU_ASSERT_EQUAL(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_crc_hw_vs_sw(void)
{
	static const size_t lens[] = { 0, 1, 7, 8, 9, 63, 4095, 4096, 12287, 12288,
				       12289, 3 * 4096 * 5 + 13, 1 << 20 };
	size_t i, off, len;
	uint8_t *b = malloc((1 << 20) + 16);
	uint32_t c;

	CU_ASSERT_FATAL(b != NULL);
	if (!crc32c_hw_available()) {
		fprintf(stderr, "(no SSE4.2: hw == sw trivially) ");
	}
	fill_pattern(b, (1 << 20) + 16, 99);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (off = 0; off < 8; off += 3) {
			len = lens[i];
			c = crc32c_sw(0x1234567u * i, b + off, len);
			CU_ASSERT_EQUAL(crc32c_hw(0x1234567u * i, b + off, len), c);
			CU_ASSERT_EQUAL(crc32c(0x1234567u * i, b + off, len), c);
		}
	}
	/* chaining across a lane boundary equals one pass */
	c = crc32c(crc32c(0, b, 5000), b + 5000, 40000);
	CU_ASSERT_EQUAL(c, crc32c_sw(0, b, 45000));
	free(b);
}

static void test_roundtrip_plain(void)
{
	roundtrip(false, 0);
}

static void test_roundtrip_zstd(void)
{
	roundtrip(true, 0);
}

static void test_roundtrip_zstd_threads(void)
{
	roundtrip(true, 2);
}

/* A small image: a few protobuf records and two short raw records. */
static int write_small(struct img_writer *w, void *arg)
{
	struct img_pages_prefix pp = { .addr = 0x1000, .mm_id = 1 };
	uint8_t data[300];
	int ret;

	fill_pattern(data, sizeof(data), 5);
	ret = img_write_msg(w, IMG_REC_TASK, &task.base);
	if (!ret)
		ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, sizeof(data));
	if (!ret)
		ret = img_write_msg(w, IMG_REC_FDTABLE, &fdt.base);
	if (!ret)
		ret = img_write_raw(w, IMG_REC_PIPE_DATA, 0, data, 100);
	return ret;
}

static void truncation(bool compress)
{
	struct buf img = make_image(compress, 0, write_small, NULL);
	uint64_t n;
	size_t cut;
	int ret, bad = 0;

	CU_ASSERT_EQUAL(read_image(img.p, img.len, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 4);
	for (cut = 0; cut < img.len; cut++) {
		ret = read_image(img.p, cut, NULL, NULL, 0);
		if (ret != -ENODATA && !(compress && ret == -EBADMSG)) {
			if (!bad++)
				fprintf(stderr, "\ncut at %zu of %zu: %d\n", cut, img.len, ret);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(img.p);
}

static void test_truncate_plain(void)
{
	truncation(false);
}

static void test_truncate_zstd(void)
{
	truncation(true);
	read_threads = 2;	/* the same through the pool */
	truncation(true);
	read_threads = 0;
}

/*
 * Flips bits of every byte, one byte at a time: each must fail.  The one
 * exception, compressed only: a flip that zstd decodes to exactly the same
 * records (a match offset that is equivalent in periodic data, a reserved
 * bit zstd ignores) changes nothing that is checked or restored; such flips
 * are counted, and must be rare.
 */
static void flips(bool compress)
{
	static const uint8_t masks[] = { 0x01, 0x10, 0x80, 0xff };
	struct buf img = make_image(compress, 0, write_small, NULL);
	size_t i, m, body = body_start(&img);
	int ret, bad = 0, same = 0;
	uint32_t digest;

	CU_ASSERT_FATAL(read_image(img.p, img.len, NULL, NULL, 0) == 0);
	digest = last_digest;
	for (i = 0; i < img.len; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			img.p[i] ^= masks[m];
			ret = read_image(img.p, img.len, NULL, NULL, 0);
			img.p[i] ^= masks[m];
			if (ret < 0)
				continue;
			if (compress && i >= body + 6 && last_digest == digest) {
				same++;
				continue;
			}
			if (bad++ < 5)
				fprintf(stderr, "\nflip 0x%02x at %zu of %zu undetected\n",
					masks[m], i, img.len);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(same * 100 <= (int)img.len);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, NULL, NULL, 0), 0);
	free(img.p);
}

static void test_flip_plain(void)
{
	flips(false);
}

static void test_flip_zstd(void)
{
	flips(true);
	read_threads = 2;
	flips(true);
	read_threads = 0;
}

static int write_unknown_opt(struct img_writer *w, void *arg)
{
	int ret;

	ret = img_write_raw(w, 99, IMG_RF_OPTIONAL, "future", 6);
	if (!ret)
		ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
	return ret;
}

static int write_unknown_req(struct img_writer *w, void *arg)
{
	int ret;

	ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
	if (!ret)
		ret = img_write_raw(w, 100, 0, "future", 6);
	return ret;
}

static void test_unknown_types(void)
{
	struct buf img = make_image(false, 0, write_unknown_opt, NULL);
	struct img_reader *r;
	struct img_record rec;
	char msg[256];
	uint64_t n;
	int fd;

	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
	CU_ASSERT_EQUAL(rec.type, 99);
	CU_ASSERT_EQUAL(rec.length, 6);
	CU_ASSERT_PTR_NULL(img_rec_lookup(rec.type));	/* caller skips it */
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
	CU_ASSERT_EQUAL(rec.type, IMG_REC_CREDS);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 0);
	img_reader_free(r);
	close(fd);
	free(img.p);

	img = make_image(true, 0, write_unknown_req, NULL);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, &n, msg, sizeof(msg)), -EPROTO);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 1 (UNKNOWN) at body offset"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "unknown required record type 100"));
	free(img.p);
}

/* Offset of the body in an image (after magic, version, header, crc). */
static size_t body_start(const struct buf *img)
{
	uint32_t hlen;

	memcpy(&hlen, img->p + IMG_MAGIC_LEN + 4, 4);
	return IMG_MAGIC_LEN + 8 + hlen + 4;
}

static void test_absurd_length(void)
{
	struct buf img = make_image(false, 0, write_small, NULL);
	size_t body = body_start(&img);
	uint64_t len = 1ull << 40;
	char msg[256];

	memcpy(img.p + body + 8, &len, 8);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, NULL, msg, sizeof(msg)), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 0 (TASK) at body offset 0"));
	/* a large but allowed length on a short stream: truncated, no crash */
	len = IMG_MAX_RECORD;
	memcpy(img.p + body + 8, &len, 8);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, NULL, NULL, 0), -ENODATA);
	/* absurd header length */
	memset(img.p + IMG_MAGIC_LEN + 4, 0xff, 4);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, NULL, NULL, 0), -E2BIG);
	free(img.p);
}

static void test_newer_version(void)
{
	struct buf img = make_image(true, 0, write_small, NULL);
	uint32_t v = IMG_FORMAT_VERSION + 1;
	char msg[256], want[128];

	memcpy(img.p + IMG_MAGIC_LEN, &v, 4);
	CU_ASSERT_EQUAL(read_image(img.p, img.len, NULL, msg, sizeof(msg)), -EPROTONOSUPPORT);
	snprintf(want, sizeof(want), "image format version %u is newer than this vxcr (max %u)",
		 v, IMG_FORMAT_VERSION);
	CU_ASSERT_STRING_EQUAL(msg, want);
	free(img.p);
}

static void garbage(bool compress)
{
	struct buf img = make_image(compress, 0, write_small, NULL);
	uint8_t *p = malloc(img.len + 64);
	size_t zlen;
	char msg[256];

	memcpy(p, img.p, img.len);
	memcpy(p + img.len, "garbage", 7);
	CU_ASSERT_EQUAL(read_image(p, img.len + 7, NULL, msg, sizeof(msg)), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(TRAILER)"));
	CU_ASSERT_EQUAL(read_image(p, img.len + 1, NULL, NULL, 0), -EBADMSG);
	/* an empty but valid zstd frame after the trailer */
	zlen = ZSTD_compress(p + img.len, 64, "", 0, 1);
	CU_ASSERT_FATAL(!ZSTD_isError(zlen));
	CU_ASSERT(read_image(p, img.len + zlen, NULL, NULL, 0) < 0);
	CU_ASSERT_EQUAL(read_image(p, img.len, NULL, NULL, 0), 0);
	free(p);
	free(img.p);
}

static void test_garbage_plain(void)
{
	garbage(false);
}

static void test_garbage_zstd(void)
{
	garbage(true);
	read_threads = 2;
	garbage(true);
	read_threads = 0;
}

static void test_checksum_message(void)
{
	struct buf img = make_image(false, 0, write_small, NULL);
	size_t body = body_start(&img);
	uint32_t task_len;
	char msg[256], want[128];
	uint64_t n;

	memcpy(&task_len, img.p + body + 8, 4);
	/* second record (PAGES): after TASK's 16 + len + 4; flip a page byte */
	img.p[body + 20 + task_len + 16 + 16 + 5] ^= 0x40;
	CU_ASSERT_EQUAL(read_image(img.p, img.len, &n, msg, sizeof(msg)), -EBADMSG);
	CU_ASSERT_EQUAL(n, 1);
	snprintf(want, sizeof(want), "record 1 (PAGES) at body offset %u: checksum mismatch",
		 20 + task_len);
	CU_ASSERT_STRING_EQUAL(msg, want);
	free(img.p);
}

/* More than 2 frames of pages; arg: number of 4 MiB page records. */
static int write_big(struct img_writer *w, void *arg)
{
	size_t len = 4u << 20, i, nrec = *(size_t *)arg;
	uint8_t *data = malloc(len);
	struct img_pages_prefix pp = { .mm_id = 7 };
	int ret = 0;

	if (!data)
		return -ENOMEM;
	for (i = 0; i < nrec && !ret; i++) {
		fill_pattern(data, len, i);
		pp.addr = i * len;
		ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
		if (!ret)
			ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	}
	free(data);
	return ret;
}

/* Counts the zstd frames of a compressed image's body. */
static int count_frames(const struct buf *img)
{
	size_t off = body_start(img), fl;
	int n = 0;

	while (off < img->len) {
		fl = ZSTD_findFrameCompressedSize(img->p + off, img->len - off);
		if (ZSTD_isError(fl))
			return -1;
		off += fl;
		n++;
	}
	return n;
}

/* Writes a multi-frame image with threads and checks it reads back. */
static struct buf multiframe(int threads)
{
	size_t nrec = 3, got = 0;
	struct buf img = make_image(true, threads, write_big, &nrec);
	uint8_t *want = malloc(4u << 20);
	struct img_reader *r;
	struct img_record rec;
	int fd, ret;

	CU_ASSERT(count_frames(&img) >= 3);
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	while ((ret = img_read_record(r, &rec)) == 1) {
		if (rec.type != IMG_REC_PAGES)
			continue;
		fill_pattern(want, 4u << 20, got);
		CU_ASSERT_EQUAL(rec.length, 16 + (4u << 20));
		CU_ASSERT(!memcmp((uint8_t *)rec.payload + 16, want, 4u << 20));
		got++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(got, nrec);
	CU_ASSERT_EQUAL(img_reader_raw_bytes(r), img.len);
	img_reader_free(r);
	close(fd);
	free(want);
	return img;
}

/* Caller's thread and two workers: same frames, byte for byte. */
static void test_multiframe(void)
{
	struct buf one = multiframe(1), two = multiframe(2);
	size_t off = body_start(&one);

	CU_ASSERT_EQUAL(count_frames(&one), count_frames(&two));
	CU_ASSERT_EQUAL(off, body_start(&two));
	CU_ASSERT_FATAL(one.len == two.len);
	CU_ASSERT(!memcmp(one.p + off, two.p + off, one.len - off));
	free(one.p);
	free(two.p);
}

/* Uncompressed, caller's thread and writer thread: the same bytes after
 * the header (which differs in id and time), over more chunks than are in
 * flight, and the image reads back. */
static void test_store_equals_sync(void)
{
	size_t nrec = 6;
	struct buf one = make_image(false, 1, write_big, &nrec);
	struct buf two = make_image(false, 2, write_big, &nrec);
	size_t off = body_start(&one);
	uint64_t n;

	CU_ASSERT(one.len > nrec * (4u << 20));
	CU_ASSERT_EQUAL(off, body_start(&two));
	CU_ASSERT_FATAL(one.len == two.len);
	CU_ASSERT(!memcmp(one.p, two.p, IMG_MAGIC_LEN + 8));
	CU_ASSERT(!memcmp(one.p + off, two.p + off, one.len - off));
	CU_ASSERT_EQUAL(read_image(two.p, two.len, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 2 * nrec);
	free(one.p);
	free(two.p);
}

/* Result of reading an image with some decompression threads. */
struct read_result {
	int ret;
	uint64_t n;
	uint32_t digest;
	char msg[256];
};

static struct read_result read_with(const struct buf *img, size_t len, int threads)
{
	struct read_result res;

	read_threads = threads;
	res.ret = read_image(img->p, len, &res.n, res.msg, sizeof(res.msg));
	res.digest = last_digest;
	read_threads = 0;
	return res;
}

/* Reading through the pool gives what the caller's thread alone gives. */
static bool same_result(const struct buf *img, size_t len, int threads)
{
	struct read_result one = read_with(img, len, 1), many;

	many = read_with(img, len, threads);
	if (one.ret == many.ret && one.n == many.n && one.digest == many.digest &&
	    !strcmp(one.msg, many.msg))
		return true;
	fprintf(stderr, "\n%zu of %zu bytes: %d %llu \"%s\" vs %d threads: %d %llu \"%s\"\n",
		len, img->len, one.ret, (unsigned long long)one.n, one.msg, threads,
		many.ret, (unsigned long long)many.n, many.msg);
	return false;
}

/* Cuts and flips of a multi-frame image: through the pool exactly the
 * records, errors and messages of the caller's thread alone. */
static void test_pool_equals_sync(void)
{
	size_t nrec = 3, body, cut, off, fl, i;
	struct buf img = make_image(true, 2, write_big, &nrec);
	struct read_result ok;
	int bad = 0;

	CU_ASSERT_FATAL(count_frames(&img) >= 3);
	ok = read_with(&img, img.len, 2);
	CU_ASSERT_EQUAL(ok.ret, 0);
	CU_ASSERT_EQUAL(ok.n, 2 * nrec);
	bad += !same_result(&img, img.len, 0);	/* automatic */
	bad += !same_result(&img, img.len, 2);
	bad += !same_result(&img, img.len, 3);
	/* cuts around each frame boundary and inside frames */
	body = body_start(&img);
	for (off = body; off < img.len; off += fl) {
		fl = ZSTD_findFrameCompressedSize(img.p + off, img.len - off);
		CU_ASSERT_FATAL(!ZSTD_isError(fl));
		for (cut = off > 8 ? off - 8 : 0; cut < off + 8 && cut <= img.len; cut++)
			bad += !same_result(&img, cut, 2);
		for (i = 1; i < 8; i++)
			bad += !same_result(&img, off + fl * i / 8, 2);
	}
	/* flips in block headers and data, the last frame's end */
	for (i = body; i < img.len; i += img.len / 97) {
		img.p[i] ^= 0x5a;
		bad += !same_result(&img, img.len, 2);
		img.p[i] ^= 0x5a;
	}
	for (i = img.len - 12; i < img.len; i++) {
		img.p[i] ^= 0x01;
		bad += !same_result(&img, img.len, 2);
		img.p[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(img.p);
}

struct part_writer {
	int fd;
	const uint8_t *data;
	size_t len;
};

/* Writes part of an image to a pipe and leaves it open. */
static void *part_writer_main(void *arg)
{
	struct part_writer *pw = arg;
	size_t off = 0;
	ssize_t n;

	while (off < pw->len && (n = write(pw->fd, pw->data + off, pw->len - off)) > 0)
		off += n;
	return NULL;
}

/* The consumer stops early: freeing the reader stops the pool, also while
 * its reader thread waits on a pipe that stays open. */
static void test_pool_stop_early(void)
{
	size_t nrec = 4;
	struct buf img = make_image(true, 2, write_big, &nrec);
	struct img_reader *r;
	struct img_record rec;
	struct part_writer pw;
	pthread_t th;
	int fd, p[2], i;

	alarm(60);		/* a hang kills the test run */
	for (i = 0; i < 4; i++) {
		fd = memfd_with(img.p, img.len);
		CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
		CU_ASSERT_EQUAL(img_reader_set_threads(r, i ? i + 1 : 0), 0);
		CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
		if (i)
			CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
		CU_ASSERT_EQUAL(rec.type, i ? IMG_REC_PAGES : IMG_REC_CREDS);
		img_reader_free(r);
		close(fd);
	}
	/* the first frame and a half in a pipe whose write end stays open */
	CU_ASSERT_FATAL(pipe(p) == 0);
	pw.fd = p[1];
	pw.data = img.p;
	pw.len = body_start(&img);
	pw.len += ZSTD_findFrameCompressedSize(img.p + pw.len, img.len - pw.len);
	pw.len += 100000;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, part_writer_main, &pw) == 0);
	CU_ASSERT_FATAL(img_reader_open(p[0], &r) == 0);
	CU_ASSERT_EQUAL(img_reader_set_threads(r, 2), 0);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
	pthread_join(th, NULL);
	usleep(10000);		/* the reader thread now waits for more */
	img_reader_free(r);
	alarm(0);
	close(p[0]);
	close(p[1]);
	free(img.p);
}

/* Reads a little of the image, then closes the read end. */
static void *early_closer_main(void *arg)
{
	int fd = *(int *)arg;
	static char buf[64 << 10];
	size_t total = 0;
	ssize_t n;

	while (total < (256u << 10) && (n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return NULL;
}

/* The reader goes away midway: the error comes back, sticky, no hang;
 * compressing on workers, or uncompressed through the writer thread. */
static void write_error_threads(bool compress)
{
	struct img_write_opts o = { .compress = compress, .threads = 2, .level = -5 };
	struct img_writer *w;
	size_t nrec = 16;
	pthread_t th;
	int p[2], ret;

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, early_closer_main, &p[0]) == 0);
	alarm(60);		/* a hang kills the test run */
	CU_ASSERT_FATAL(img_writer_open(p[1], &o, &w) == 0);
	ret = write_big(w, &nrec);
	if (!ret)
		ret = img_writer_finish(w);
	CU_ASSERT_EQUAL(ret, -EPIPE);
	CU_ASSERT_EQUAL(img_write_raw(w, IMG_REC_PIPE_DATA, 0, "x", 1), -EPIPE);
	CU_ASSERT_EQUAL(img_writer_finish(w), -EPIPE);
	img_writer_free(w);
	alarm(0);
	pthread_join(th, NULL);
	close(p[1]);
}

static void test_write_error_threads(void)
{
	write_error_threads(true);
}

static void test_write_error_store(void)
{
	write_error_threads(false);
}

/* Freeing a threaded writer before finish stops its workers. */
static void test_free_unfinished(void)
{
	struct img_write_opts o = { .compress = true, .threads = 3 };
	struct img_writer *w;
	size_t nrec = 5;
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_EQUAL(write_big(w, &nrec), 0);
	img_writer_free(w);
	o.compress = false;	/* the writer thread of an uncompressed image */
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_EQUAL(write_big(w, &nrec), 0);
	img_writer_free(w);
	o.threads = -1;
	CU_ASSERT_EQUAL(img_writer_open(fd, &o, &w), -EINVAL);
	close(fd);
}

struct pipe_writer {
	int fd;
	bool compress;
	int ret;
};

static void *pipe_writer_main(void *arg)
{
	struct pipe_writer *pw = arg;
	struct img_write_opts o = { .compress = pw->compress };
	struct img_writer *w;
	size_t nrec = 2;

	pw->ret = img_writer_open(pw->fd, &o, &w);
	if (!pw->ret)
		pw->ret = write_big(w, &nrec);
	if (!pw->ret)
		pw->ret = img_writer_finish(w);
	img_writer_free(w);
	close(pw->fd);
	return NULL;
}

/* Writer and reader on the two ends of a pipe: no seeking, short reads. */
static void through_pipe(bool compress)
{
	struct pipe_writer pw = { .compress = compress };
	struct img_reader *r = NULL;
	struct img_record rec;
	pthread_t th;
	int p[2], ret, pages = 0;

	CU_ASSERT_FATAL(pipe(p) == 0);
	pw.fd = p[1];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, pipe_writer_main, &pw) == 0);
	ret = img_reader_open(p[0], &r);
	CU_ASSERT_EQUAL(ret, 0);
	while (!ret && (ret = img_read_record(r, &rec)) == 1) {
		pages += rec.type == IMG_REC_PAGES;
		ret = 0;
	}
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "\nret %d: %s\n", ret, !r ? img_last_open_error() :
			img_reader_error(r));
	CU_ASSERT_EQUAL(pages, 2);
	close(p[0]);	/* unblocks the writer if reading failed */
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(pw.ret, 0);
	img_reader_free(r);
}

static void test_pipe_plain(void)
{
	through_pipe(false);
}

static void test_pipe_zstd(void)
{
	through_pipe(true);
}

static void test_writer_rejects(void)
{
	struct img_writer *w;
	int fd = memfd_with(NULL, 0);
	ImgTrailer t = IMG_TRAILER__INIT;
	uint8_t id[16] = { 1, 2, 3 };
	struct img_write_opts o = { .parent_id = id };

	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_EQUAL(img_writer_header(w)->parent_id.len, 16);
	CU_ASSERT_EQUAL(img_writer_header(w)->parent_id.data[2], 3);
	CU_ASSERT_EQUAL(img_write_msg(w, IMG_REC_TRAILER, &t.base), -EINVAL);
	CU_ASSERT_EQUAL(img_write_msg(w, IMG_REC_TASK, &creds.base), -EINVAL);
	CU_ASSERT_EQUAL(img_write_raw(w, IMG_REC_TASK, 0, "x", 1), -EINVAL);
	CU_ASSERT_EQUAL(img_write_raw(w, IMG_REC_PAGES, 0, "short", 5), -EINVAL);
	CU_ASSERT_EQUAL(img_write_raw2(w, IMG_REC_PAGES, 0, NULL, 0, NULL,
				       IMG_MAX_RECORD + 1), -E2BIG);
	CU_ASSERT_EQUAL(img_writer_finish(w), 0);
	CU_ASSERT_EQUAL(img_write_msg(w, IMG_REC_CREDS, &creds.base), -EINVAL);
	img_writer_free(w);
	close(fd);
}

static void test_unpack_bad(void)
{
	static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2 };
	struct img_record rec = { .type = IMG_REC_TASK, .length = sizeof(junk),
				  .payload = junk };
	ProtobufCMessage *m = NULL;

	CU_ASSERT_EQUAL(img_unpack(&rec, &task_entry__descriptor, &m), -EBADMSG);
	CU_ASSERT_PTR_NULL(m);
}

static void test_not_an_image(void)
{
	char msg[256];

	CU_ASSERT_EQUAL(read_image("hello world, not an image", 25, NULL, msg,
				   sizeof(msg)), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "magic"));
	CU_ASSERT_EQUAL(read_image("", 0, NULL, NULL, 0), -ENODATA);
}

/* The verify/json printers run over a full image and report an error. */
static void test_text(void)
{
	struct buf img = make_image(true, 0, write_all_types, NULL);
	struct img_reader *r;
	char *out = NULL;
	size_t olen = 0;
	FILE *f;
	int fd;

	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	f = open_memstream(&out, &olen);
	CU_ASSERT_EQUAL(img_text_verify(r, f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok: 11 records, 12288 bytes of pages"));
	free(out);
	img_reader_free(r);
	close(fd);

	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	f = open_memstream(&out, &olen);
	CU_ASSERT_EQUAL(img_text_json(r, f), 0);
	fclose(f);
	CU_ASSERT(out[0] == '{' && out[olen - 2] == '}');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"comm\":\"sleep \\\"x\\\"\\n\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"kind\":\"VMA_FILE_PRIVATE\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"max\":18446744073709551615"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"oom_score_adj\":-17"));
	free(out);
	img_reader_free(r);
	close(fd);

	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	f = open_memstream(&out, &olen);
	CU_ASSERT_EQUAL(img_text_show(r, f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "TASK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pid=1234"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "SHMEM_PAGES"));
	free(out);
	img_reader_free(r);
	close(fd);
	free(img.p);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	signal(SIGPIPE, SIG_IGN);
	build_msgs();
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("crc32c", NULL, NULL);
	CU_add_test(s, "known vectors", test_crc_vectors);
	CU_add_test(s, "hw equals table", test_crc_hw_vs_sw);
	s = CU_add_suite("records", NULL, NULL);
	CU_add_test(s, "table", test_record_table);
	CU_add_test(s, "round trip plain", test_roundtrip_plain);
	CU_add_test(s, "round trip zstd", test_roundtrip_zstd);
	CU_add_test(s, "round trip zstd threads", test_roundtrip_zstd_threads);
	CU_add_test(s, "multi-frame zstd", test_multiframe);
	CU_add_test(s, "decompression pool equals one thread", test_pool_equals_sync);
	CU_add_test(s, "decompression pool, consumer stops early", test_pool_stop_early);
	CU_add_test(s, "uncompressed writer thread equals one thread",
		    test_store_equals_sync);
	CU_add_test(s, "write error with workers", test_write_error_threads);
	CU_add_test(s, "write error with the writer thread", test_write_error_store);
	CU_add_test(s, "free before finish", test_free_unfinished);
	CU_add_test(s, "pipe plain", test_pipe_plain);
	CU_add_test(s, "pipe zstd", test_pipe_zstd);
	CU_add_test(s, "writer rejects", test_writer_rejects);
	CU_add_test(s, "text, json, verify", test_text);
	s = CU_add_suite("hostile input", NULL, NULL);
	CU_add_test(s, "truncation plain", test_truncate_plain);
	CU_add_test(s, "truncation zstd", test_truncate_zstd);
	CU_add_test(s, "flipped bytes plain", test_flip_plain);
	CU_add_test(s, "flipped bytes zstd", test_flip_zstd);
	CU_add_test(s, "unknown record types", test_unknown_types);
	CU_add_test(s, "absurd lengths", test_absurd_length);
	CU_add_test(s, "newer format version", test_newer_version);
	CU_add_test(s, "trailing garbage plain", test_garbage_plain);
	CU_add_test(s, "trailing garbage zstd", test_garbage_zstd);
	CU_add_test(s, "checksum message", test_checksum_message);
	CU_add_test(s, "bad protobuf payload", test_unpack_bad);
	CU_add_test(s, "not an image", test_not_an_image);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
