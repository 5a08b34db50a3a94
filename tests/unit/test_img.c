/*
 * Unit tests of the image stream (lib/img): round trips of every record
 * type, crc32c, and hostile input (truncation, flipped bytes, absurd
 * lengths, unknown types, newer versions, trailing garbage).  Multi-frame
 * images, the thread pools and pipes: test_img_streams.c.
 */
#include "img-test.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"
#include "ctx.pb-c.h"
#include "seccomp.pb-c.h"
#include "lock.pb-c.h"
#include "cgroup.pb-c.h"
#include "netns.pb-c.h"
#include "ipcns.pb-c.h"
#include "limits.pb-c.h"

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
static SysvShmEntry sysv = SYSV_SHM_ENTRY__INIT;
static CtxEntry ctxe = CTX_ENTRY__INIT;
static uint32_t filter_ids[3] = { 1, 2, 1 };
static uint8_t bpf[2][24];
static SeccompFilter sf[2] = { SECCOMP_FILTER__INIT, SECCOMP_FILTER__INIT };
static SeccompFilter *sfp[2] = { &sf[0], &sf[1] };
static SeccompEntry seccomp = SECCOMP_ENTRY__INIT;
static LockEntry lock = LOCK_ENTRY__INIT;
static CgroupHierarchyEntry cgh[2] = { CGROUP_HIERARCHY_ENTRY__INIT, CGROUP_HIERARCHY_ENTRY__INIT };
static CgroupHierarchyEntry *cghp[2] = { &cgh[0], &cgh[1] };
static CgroupDirEntry cgd[2] = { CGROUP_DIR_ENTRY__INIT, CGROUP_DIR_ENTRY__INIT };
static CgroupDirEntry *cgdp[2] = { &cgd[0], &cgd[1] };
static uint32_t cgm_dirs[2] = { 2, 0 };
static CgroupMemberEntry cgm = CGROUP_MEMBER_ENTRY__INIT;
static CgroupMemberEntry *cgmp[1] = { &cgm };
static CgroupEntry cgroup = CGROUP_ENTRY__INIT;
static NetnsLink netns_lo = NETNS_LINK__INIT;
static NetnsLink *netns_links[1] = { &netns_lo };
static NetnsEntry netns = NETNS_ENTRY__INIT;
static IpcMqEntry ipcns_mq = IPC_MQ_ENTRY__INIT;
static IpcMqEntry *ipcns_mqs[1] = { &ipcns_mq };
static IpcnsEntry ipcns = IPCNS_ENTRY__INIT;
static CgSettingEntry limset = CG_SETTING_ENTRY__INIT, *limsetp[] = { &limset };
static LimitsEntry limits = LIMITS_ENTRY__INIT;

static void build_msgs(void)
{
	netns_lo.has_ifindex = true, netns_lo.ifindex = 1;
	netns_lo.name = "lo", netns_lo.kind = "lo";
	netns.n_links = 1, netns.links = netns_links;
	ipcns_mq.name = "q", ipcns.n_mqs = 1, ipcns.mqs = ipcns_mqs;
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
	core.n_seccomp_filters = 3, core.seccomp_filters = filter_ids;

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
	mm.has_mm_id = mm.has_brk = mm.has_vdso_digest = true;
	mm.mm_id = 1, mm.brk = 0x602000;
	mm.n_auxv = 4, mm.auxv = auxv;
	mm.n_vmas = 2, mm.vmas = vmap;
	mm.vdso_digest = (ProtobufCBinaryData){ sizeof(sha), sha };

	file.has_id = file.has_kind = file.has_pos = file.has_deleted = true;
	file.id = 3, file.kind = FILE_KIND__FILE_PIPE, file.pos = 1ull << 40;
	file.deleted = true, file.path = "pipe:[1234]";

	fde[0].has_fd = fde[0].has_file_id = true, fde[0].fd = 0, fde[0].file_id = 3;
	fde[1].has_fd = fde[1].has_cloexec = true, fde[1].fd = 9, fde[1].cloexec = true;
	fdt.has_files_id = true, fdt.files_id = 1;
	fdt.n_fds = 2, fdt.fds = fdep;
	sysv.has_shmid = sysv.has_key = sysv.has_size = true;
	sysv.shmid = 32769, sysv.key = 0x1234, sysv.size = 3 * PAGE;
	ctxe.has_xid = ctxe.has_flags = ctxe.has_monotonic_ns = true;
	ctxe.xid = 4242, ctxe.flags = 1ULL << 38, ctxe.monotonic_ns = -5;
	ctxe.nodename = "ctx-host";
	fill_pattern(bpf[0], sizeof(bpf), 4);
	sf[0].has_id = sf[0].has_prog = true, sf[0].id = 1;
	sf[0].prog = (ProtobufCBinaryData){ sizeof(bpf[0]), bpf[0] };
	sf[1].has_id = sf[1].has_flags = sf[1].has_prog = true, sf[1].id = 2, sf[1].flags = 2;
	sf[1].prog = (ProtobufCBinaryData){ sizeof(bpf[1]), bpf[1] };
	seccomp.n_filters = 2, seccomp.filters = sfp;
	lock.has_kind = lock.has_type = lock.has_start = lock.has_len = true;
	lock.kind = LOCK_KIND__LOCK_OFD, lock.type = LOCK_TYPE__LOCK_WRITE;
	lock.start = 1ull << 30, lock.len = 0;
	lock.has_files_id = lock.has_fd = lock.has_file_id = true;
	lock.files_id = 2, lock.fd = 7, lock.file_id = 3;
	cgh[0].controllers = "", cgh[1].controllers = "cpu,cpuacct";
	cgd[0].has_hierarchy = true, cgd[0].hierarchy = 0, cgd[0].path = "kid";
	cgd[1].has_hierarchy = cgd[1].has_threaded = true, cgd[1].hierarchy = 0;
	cgd[1].path = "kid/thr", cgd[1].threaded = true;
	cgm.has_tid = true, cgm.tid = 101, cgm.n_dirs = 2, cgm.dirs = cgm_dirs;
	cgroup.n_hierarchies = 2, cgroup.hierarchies = cghp;
	cgroup.n_dirs = 2, cgroup.dirs = cgdp;
	cgroup.n_members = 1, cgroup.members = cgmp;
	limset.has_dir = true, limset.dir = 1, limset.file = "pids.max", limset.value = "12";
	limits.n_settings = 1, limits.settings = limsetp;
	limits.has_timens = limits.has_monotonic_ns = true, limits.timens = true;
	limits.monotonic_ns = 1234567890123LL;
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
	case IMG_REC_SYSV_SHM: return &sysv.base;
	case IMG_REC_CONTEXT: return &ctxe.base;
	case IMG_REC_SECCOMP: return &seccomp.base;
	case IMG_REC_LOCK: return &lock.base;
	case IMG_REC_CGROUP: return &cgroup.base;
	case IMG_REC_NETNS: return &netns.base;
	case IMG_REC_IPCNS: return &ipcns.base;
	case IMG_REC_LIMITS: return &limits.base;
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

/* Writes one record of every type in the table (but TRAILER and holes). */
static int write_all_types(struct img_writer *w, void *arg)
{
	const struct img_rec_desc *t;
	uint8_t prefix[16], data[3 * PAGE];
	unsigned n, i;
	int ret;

	t = img_rec_table(&n);
	for (i = 0; i < n; i++) {
		if (t[i].type == IMG_REC_TRAILER || !t[i].type ||
		    t[i].type == IMG_REC_SIGNATURE)	/* the writer's own: test_img_sign */
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
	} else if (rec->type == IMG_REC_CORE) {
		CoreEntry *c = (CoreEntry *)m;

		CU_ASSERT_EQUAL_FATAL(c->n_seccomp_filters, 3);
		CU_ASSERT_EQUAL(c->seccomp_filters[1], 2);
	} else if (rec->type == IMG_REC_SECCOMP) {
		SeccompEntry *e = (SeccompEntry *)m;

		CU_ASSERT_EQUAL_FATAL(e->n_filters, 2);
		CU_ASSERT_EQUAL(e->filters[1]->flags, 2);
		CU_ASSERT_EQUAL_FATAL(e->filters[1]->prog.len, sizeof(bpf[1]));
		CU_ASSERT(!memcmp(e->filters[1]->prog.data, bpf[1], sizeof(bpf[1])));
	} else if (rec->type == IMG_REC_LOCK) {
		LockEntry *e = (LockEntry *)m;

		CU_ASSERT_EQUAL(e->kind, LOCK_KIND__LOCK_OFD);
		CU_ASSERT_EQUAL(e->start, 1ull << 30);
		CU_ASSERT(e->has_len && e->len == 0);
		CU_ASSERT_EQUAL(e->fd, 7);
	} else if (rec->type == IMG_REC_CGROUP) {
		CgroupEntry *e = (CgroupEntry *)m;

		CU_ASSERT_EQUAL_FATAL(e->n_hierarchies, 2);
		CU_ASSERT_STRING_EQUAL(e->hierarchies[1]->controllers, "cpu,cpuacct");
		CU_ASSERT_EQUAL_FATAL(e->n_dirs, 2);
		CU_ASSERT_STRING_EQUAL(e->dirs[1]->path, "kid/thr");
		CU_ASSERT(e->dirs[1]->threaded && !e->dirs[0]->threaded);
		CU_ASSERT_EQUAL_FATAL(e->n_members, 1);
		CU_ASSERT_EQUAL_FATAL(e->members[0]->n_dirs, 2);
		CU_ASSERT_EQUAL(e->members[0]->dirs[0], 2);
	}
	free(a.p);
	free(b.p);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void roundtrip(bool compress, int threads)
{
	struct buf img = make_image(compress, threads, write_all_types, NULL);
	struct img_reader *r;
	const struct img_rec_desc *t;
	struct img_record rec;
	unsigned n, seen = 0, next = 1, known = 0, i;
	const ImgHeader *h;
	int fd, ret;

	t = img_rec_table(&n);
	for (i = 0; i < n; i++)
		known += t[i].type != 0 && t[i].type != IMG_REC_SIGNATURE;
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
		while (++next <= n && (!t[next - 1].type || next == IMG_REC_SIGNATURE))
			;			/* table order after TRAILER, holes skipped */
		CU_ASSERT_EQUAL(rec.type, next);
		check_record(&rec);
		seen++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "\n%s\n", img_reader_error(r));
	CU_ASSERT_EQUAL(seen, known - 1);
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
	CU_ASSERT_EQUAL(n, 24);
	for (i = 0; i < n; i++) {
		if (!t[i].type) {	/* a number taken by another branch */
			CU_ASSERT_PTR_NULL(img_rec_lookup(i + 1));
			continue;
		}
		CU_ASSERT_EQUAL(t[i].type, i + 1);
		CU_ASSERT_PTR_EQUAL(img_rec_lookup(i + 1), &t[i]);
		CU_ASSERT((t[i].pb != NULL) != (t[i].prefix_len != 0));
		CU_ASSERT_EQUAL(t[i].flags & IMG_RF_OPTIONAL,
				t[i].type == IMG_REC_SIGNATURE ? IMG_RF_OPTIONAL : 0);
	}
	CU_ASSERT_PTR_NULL(img_rec_lookup(0));
	CU_ASSERT_PTR_NULL(img_rec_lookup(n + 1));
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_PAGES), "PAGES");
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_SHMEM_PAGES), "SHMEM_PAGES");
	CU_ASSERT_PTR_EQUAL(img_rec_lookup(IMG_REC_TASK)->pb, &task_entry__descriptor);
	CU_ASSERT_EQUAL(img_rec_lookup(IMG_REC_PIPE_DATA)->prefix_len, 16);
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_SECCOMP), "SECCOMP");
	CU_ASSERT_PTR_EQUAL(img_rec_lookup(IMG_REC_SECCOMP)->pb, &seccomp_entry__descriptor);
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_LOCK), "LOCK");
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_CGROUP), "CGROUP");
	CU_ASSERT_PTR_EQUAL(img_rec_lookup(IMG_REC_CGROUP)->pb, &cgroup_entry__descriptor);
	CU_ASSERT_STRING_EQUAL(img_rec_name(IMG_REC_SK_QUEUE), "SK_QUEUE");
	CU_ASSERT_EQUAL(img_rec_lookup(IMG_REC_SK_QUEUE)->prefix_len, 16);
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

/* Runs one printer of text.c over img; returns what it printed (malloc'ed). */
static char *text_of(const struct buf *img, int (*print)(struct img_reader *, FILE *),
		     size_t *olen)
{
	struct img_reader *r;
	char *out = NULL;
	FILE *f;
	int fd = memfd_with(img->p, img->len);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	f = open_memstream(&out, olen);
	CU_ASSERT_EQUAL(print(r, f), 0);
	fclose(f);
	img_reader_free(r);
	close(fd);
	return out;
}

/* The verify/json printers run over a full image and report an error. */
static void test_text(void)
{
	struct buf img = make_image(true, 0, write_all_types, NULL);
	char *out = NULL;
	size_t olen = 0;

	out = text_of(&img, img_text_verify, &olen);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok: 20 records, 12288 bytes of pages"));
	free(out);

	out = text_of(&img, img_text_json, &olen);
	CU_ASSERT(out[0] == '{' && out[olen - 2] == '}');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"comm\":\"sleep \\\"x\\\"\\n\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"kind\":\"VMA_FILE_PRIVATE\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"max\":18446744073709551615"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"oom_score_adj\":-17"));
	free(out);

	out = text_of(&img, img_text_show, &olen);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "TASK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pid=1234"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "SHMEM_PAGES"));
	free(out);
	free(img.p);
}

/* msg printed by print (img_json_msg or img_text_msg), NUL-terminated. */
static char *msg_text(void (*print)(FILE *, const ProtobufCMessage *), const ProtobufCMessage *m)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CU_ASSERT_FATAL(f != NULL);
	print(f, m);
	fclose(f);
	return out;
}

/*
 * Strings that are not UTF-8 (a path from a hostile image): JSON keeps
 * well-formed UTF-8 (é, a C1 control) and writes every other byte >= 0x80
 * as \u00XX, so the document stays valid; text mode writes \xXX and
 * escapes C1 controls too.
 */
static void test_json_bytes(void)
{
	TaskEntry t = TASK_ENTRY__INIT;
	char *out;

	t.comm = "a\xff\xc3\xa9\xed\xa0\x80\xc2\x85\x01\xe2\x82\xf0\x80\x80\x80" "b";
	out = msg_text(img_json_msg, &t.base);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"comm\":\"a\\u00ff\xc3\xa9\\u00ed\\u00a0\\u0080"
					   "\xc2\x85\\u0001\\u00e2\\u0082\\u00f0\\u0080"
					   "\\u0080\\u0080b\""));
	free(out);
	out = msg_text(img_text_msg, &t.base);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "comm=\"a\\xff\xc3\xa9\\xed\\xa0\\x80\\xc2\\x85"
					   "\\x01\\xe2\\x82\\xf0\\x80\\x80\\x80b\""));
	free(out);
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
	CU_add_test(s, "writer rejects", test_writer_rejects);
	CU_add_test(s, "text, json, verify", test_text);
	CU_add_test(s, "json of bytes that are not UTF-8", test_json_bytes);
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
