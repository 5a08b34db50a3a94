/*
 * vxcr dump / vxdump: checkpoint a process tree (every thread, every
 * descendant) into an image file or stdout, through the switch
 * (vxcr_checkpoint2(): the kernel module when there is one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vxcr/vxcr.h"
#include "vxcr/vserver.h"
#include "cmd.h"

static void dump_usage(FILE *f)
{
	fprintf(f,
		"usage: vxdump [-o FILE] [--leave-running] [--tcp-established] [--no-sync]\n"
		"              [--compress auto|zstd[:N]|none] [--zstd-level N] [--sign KEYFILE]\n"
		"              [--keep-net-lock] [--parent IMAGE] [--file-contents CLASSES]\n"
		"              [--stats] [-v] PID\n"
		"       vxdump --ctx XID [--rundir DIR] [-o FILE] [options]\n"
		"       vxdump --kernel [--kernel-store CLASSES] [-o FILE] [--leave-running]\n"
		"              [--no-sync] [--compress none] PID\n"
		"       vxdump --help | --version\n"
		"\n"
		"Checkpoints the process tree rooted at PID (all its threads and descendants)\n"
		"into FILE, or to stdout when it is not a terminal.  Once the image is\n"
		"complete the whole tree is killed, unless --leave-running.  On any\n"
		"failure every process keeps running as before.  With --ctx, the whole\n"
		"context XID: its init and every task, with the pids they have inside,\n"
		"its flags, caps, limits and uname; vxrestore recreates it.\n"
		"FILE must not be a symlink or exist as anything but a regular file; the\n"
		"image is written to a new 0600 file that replaces FILE only once complete.\n"
		"\n"
		"  -o, --output FILE    write the image to FILE\n"
		"      --ctx XID        checkpoint context XID\n"
		"      --rundir DIR     where context records are (default $VXCR_RUNDIR\n"
		"                       or /run/vxcr)\n"
		"      --leave-running  let the processes continue after the dump; they run on\n"
		"                       once all but memory is read (copy-on-write snapshot)\n"
		"      --no-cow         with --leave-running: frozen until every page is read\n"
		"      --tcp-established  dump established TCP connections (TCP_REPAIR);\n"
		"                       without it each one is refused\n"
		"      --no-sync        do not fsync the image (scratch images)\n"
		"      --compress KIND  auto (default: each 4 MiB frame compressed or stored\n"
		"                       raw, as its bytes and the output's speed say), zstd\n"
		"                       (every frame; zstd:N at level N, -7..22) or none\n"
		"      --zstd-level N   zstd on every frame at level N (-7..22)\n"
		"      --sign KEYFILE   sign the image with the secret key KEYFILE (NAME.key of\n"
		"                       vxcr key new); vxrestore --trusted-keys checks it\n"
		"      --keep-net-lock  leave the tree's TCP connections locked (nftables table\n"
		"                       vxcr_img_ID) until vxrestore of the image removes it\n"
		"      --parent IMAGE   an incremental image: pages equal to those IMAGE (an\n"
		"                       earlier image of the tree) holds are not written again;\n"
		"                       vxrestore needs --parent IMAGE too; repeated: IMAGE's\n"
		"                       own parents after it, nearest first\n"
		"      --file-contents CLASSES  private file-backed areas of these classes\n"
		"                       stored with their contents, so the restore needs no\n"
		"                       file: libs (files mapped executable), exec (the\n"
		"                       program's), other, all (comma-separated); the tree\n"
		"                       stays frozen until its pages are read\n"
		"      --stats          print timings and sizes as one line on stderr\n"
		"      --kernel         the kernel module (vxcr.ko) checkpoints the process\n"
		"                       (task_dump): one process, no children, fds 0-2 only\n"
		"      --kernel-store CLASSES  with --kernel: file-backed areas stored with\n"
		"                       their contents: libs, exec, other, all (comma-separated)\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 the image is complete, 1 failure, 2 usage.\n");
}

enum {
	OPT_LEAVE = 256,
	OPT_COMPRESS,
	OPT_LEVEL,
	OPT_STATS,
	OPT_CTX,
	OPT_RUNDIR,
	OPT_NO_SYNC,
	OPT_SIGN,
	OPT_TCP_EST,
	OPT_KEEP_NET_LOCK,
	OPT_NO_COW,
	OPT_PARENT,
	OPT_KERNEL,
	OPT_KERNEL_STORE,
	OPT_FILE_CONTENTS
};

static const struct option dump_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "leave-running", no_argument, NULL, OPT_LEAVE },
	{ "tcp-established", no_argument, NULL, OPT_TCP_EST },
	{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
	{ "compress", required_argument, NULL, OPT_COMPRESS },
	{ "zstd-level", required_argument, NULL, OPT_LEVEL },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "ctx", required_argument, NULL, OPT_CTX },
	{ "rundir", required_argument, NULL, OPT_RUNDIR },
	{ "sign", required_argument, NULL, OPT_SIGN },
	{ "keep-net-lock", no_argument, NULL, OPT_KEEP_NET_LOCK },
	{ "no-cow", no_argument, NULL, OPT_NO_COW },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "kernel-store", required_argument, NULL, OPT_KERNEL_STORE },
	{ "file-contents", required_argument, NULL, OPT_FILE_CONTENTS },
	CLI_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

#define MAX_PARENTS 64

struct dump_target {
	pid_t pid;
	long xid; /* --ctx, else 0 */
	const char *rundir;
	const char *sign;		 /* --sign KEYFILE */
	const char *parent[MAX_PARENTS]; /* --parent IMAGE, nearest first */
	size_t n_parents;
	bool kernel;		/* --kernel: the module's task_dump */
	bool kernel_store;	/* --kernel-store given */
	unsigned int kflags;	/* its VMAD_DUMP_* classes */
	const char *not_kernel; /* the last option --kernel cannot honour */
};

/* --compress auto | zstd[:LEVEL] | none into o: 0, or -1 (usage error). */
static int parse_compress(const char *arg, struct vxcr_dump_opts *o)
{
	long v;

	o->compress = strcmp(arg, "none") != 0;
	o->zstd_every_frame = false;
	o->zstd_level = 0;
	if (!strcmp(arg, "auto") || !strcmp(arg, "none"))
		return 0;
	if (!strcmp(arg, "zstd")) {
		o->zstd_every_frame = true;
		return 0;
	}
	if (!strncmp(arg, "zstd:", 5) && !cli_parse_long(arg + 5, -7, 22, &v) && v) {
		o->zstd_every_frame = true;
		o->zstd_level = v;
		return 0;
	}
	cli_error("dump: --compress takes auto, zstd, zstd:N (N in -7..22, not 0) or none, not "
		  "'%s'",
		  arg);
	return -1;
}

/* Parses options into o; returns -1 on a usage error (after one line),
 * 1 for --help, 2 for --version. */
static int parse_dump_args(int argc, char **argv, struct vxcr_dump_opts *o, const char **out,
			   struct dump_target *tg, bool *stats)
{
	long v;
	int c;

	while ((c = getopt_long(argc, argv, ":o:vh", dump_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			*out = optarg;
			break;
		case OPT_LEAVE:
			o->leave_running = true;
			break;
		case OPT_NO_COW:
			o->no_cow = true;
			tg->not_kernel = "--no-cow";
			break;
		case OPT_TCP_EST:
			o->tcp_established = true;
			tg->not_kernel = "--tcp-established";
			break;
		case OPT_NO_SYNC:
			o->fsync = false;
			break;
		case OPT_COMPRESS:
			if (parse_compress(optarg, o))
				return -1;
			if (strcmp(optarg, "none"))
				tg->not_kernel = "--compress";
			break;
		case OPT_LEVEL:
			if (cli_parse_long(optarg, -7, 22, &v)) {
				cli_error("dump: bad --zstd-level '%s' (-7..22)", optarg);
				return -1;
			}
			o->zstd_level = v;
			o->zstd_every_frame = true;
			tg->not_kernel = "--zstd-level";
			break;
		case 'v':
			cli_set_verbose();
			break;
		case OPT_STATS:
			*stats = true;
			tg->not_kernel = "--stats";
			break;
		case OPT_CTX:
			if (cli_parse_long(optarg, 2, 65535, &tg->xid)) {
				cli_error("dump: bad --ctx '%s' (an xid, 2..65535)", optarg);
				return -1;
			}
			tg->not_kernel = "--ctx";
			break;
		case OPT_RUNDIR:
			tg->rundir = optarg;
			tg->not_kernel = "--rundir";
			break;
		case OPT_SIGN:
			tg->sign = optarg;
			tg->not_kernel = "--sign";
			break;
		case OPT_KEEP_NET_LOCK:
			o->keep_net_lock = true;
			tg->not_kernel = "--keep-net-lock";
			break;
		case OPT_PARENT:
			if (tg->n_parents == MAX_PARENTS) {
				cli_error("dump: at most %d --parent images", MAX_PARENTS);
				return -1;
			}
			tg->parent[tg->n_parents++] = optarg;
			tg->not_kernel = "--parent";
			break;
		case OPT_KERNEL:
			tg->kernel = true;
			break;
		case OPT_KERNEL_STORE:
			if (kernel_store_flags("--kernel-store", optarg, &tg->kflags))
				return -1;
			tg->kernel_store = true;
			break;
		case OPT_FILE_CONTENTS:
			if (kernel_store_flags("--file-contents", optarg, &o->file_contents))
				return -1;
			tg->not_kernel = "--file-contents (with --kernel: --kernel-store)";
			break;
		case 'h':
			return 1;
		case OPT_VERSION:
			return 2;
		default:
			cli_bad_option("dump", "vxdump", c, argv);
			return -1;
		}
	}
	if (tg->kernel && tg->not_kernel) {
		cli_error("dump: --kernel cannot honour %s (the kernel's checkpoint of one process "
			  "writes a plain image)",
			  tg->not_kernel);
		return -1;
	}
	if (tg->kernel_store && !tg->kernel) {
		cli_error("dump: --kernel-store needs --kernel");
		return -1;
	}
	if (o->keep_net_lock && o->leave_running) {
		cli_error(
			"dump: --keep-net-lock would cut off the tree --leave-running lets run on");
		return -1;
	}
	if (tg->xid) {
		if (optind != argc) {
			cli_error("dump: --ctx XID takes no PID (see vxdump --help)");
			return -1;
		}
		return 0;
	}
	if (optind != argc - 1) {
		cli_error("dump: expected one PID or --ctx XID (see vxdump --help)");
		return -1;
	}
	if (cli_parse_long(argv[optind], 1, INT_MAX, &v)) {
		cli_error("dump: bad PID '%s' (a decimal number, 1..%d)", argv[optind], INT_MAX);
		return -1;
	}
	tg->pid = v;
	return 0;
}

static void print_stats(const struct dump_target *tg, const struct vxcr_dump_stats *st)
{
	fprintf(stderr,
		"vxcr: dumped %s %ld: %llu processes, %llu threads, %llu pages written "
		"(%llu zero skipped, %llu scanned), image %llu bytes, frozen %.1f ms, "
		"total %.1f ms\n",
		tg->xid ? "context" : "pid", tg->xid ? tg->xid : (long)tg->pid,
		(unsigned long long)st->tasks, (unsigned long long)st->threads,
		(unsigned long long)st->pages_written, (unsigned long long)st->pages_zero,
		(unsigned long long)st->pages_scanned, (unsigned long long)st->image_bytes,
		st->frozen_ns / 1e6, st->total_ns / 1e6);
}

/* One machine-readable line for scripts and bench/. */
static void print_stats_line(const struct vxcr_dump_stats *st)
{
	fprintf(stderr,
		"stats: frozen_ms=%.3f total_ms=%.3f pages_written=%llu "
		"pages_zero=%llu pages_scanned=%llu image_bytes=%llu tasks=%llu threads=%llu\n",
		st->frozen_ns / 1e6, st->total_ns / 1e6, (unsigned long long)st->pages_written,
		(unsigned long long)st->pages_zero, (unsigned long long)st->pages_scanned,
		(unsigned long long)st->image_bytes, (unsigned long long)st->tasks,
		(unsigned long long)st->threads);
}

/* The commit step of the library: the synced image replaces -o PATH. */
static int commit_output(int fd, void *arg)
{
	struct out_file *of = arg;

	(void)fd;
	return out_file_commit(of, of->sync);
}

/* Dumps the target into fd (of: the -o file, or NULL for stdout). */
static int run_dump(const struct dump_target *tg, struct vxcr_dump_opts *o, struct out_file *of,
		    struct vxcr_dump_stats *st)
{
	int fd = of ? of->fd : STDOUT_FILENO;
	long crid;
	int ret, cret;

	if (of) {
		of->sync = o->fsync;
		o->commit = commit_output;
		o->commit_arg = of;
	}
	/* A reader that goes away must give EPIPE and a clean refusal, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (tg->xid)
		crid = vxcr_checkpoint2(0, (xid_t)tg->xid, tg->rundir, fd, o, st);
	else
		crid = vxcr_checkpoint2(tg->pid, 0, NULL, fd, o, st);
	ret = crid < 0 ? (int)crid : 0;
	cret = of ? out_file_close(of) : 0;
	if (cret && !ret) {
		snprintf(of->err, sizeof(of->err), "dump: closing %s: %s", of->path,
			 strerror(-cret));
		ret = cret;
	}
	if (ret && of && of->err[0])
		cli_error("%s", of->err);
	else if (ret)
		cli_error(NULL);
	return ret;
}

static void close_parents(int *fds, size_t n)
{
	while (n--)
		close(fds[n]);
}

/* The --parent image: a regular file.  Its fd, or -1 after one line. */
static int open_parent(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st)) {
		cli_error("dump: --parent %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("dump: --parent %s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens every --parent image into fds (all of them, or none: 0 or -1). */
static int open_parents(const struct dump_target *tg, int *fds)
{
	size_t i;

	for (i = 0; i < tg->n_parents; i++) {
		fds[i] = open_parent(tg->parent[i]);
		if (fds[i] < 0) {
			close_parents(fds, i);
			return -1;
		}
	}
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	struct vxcr_dump_opts o;
	struct vxcr_dump_stats st;
	struct dump_target tg = { 0 };
	int pfds[MAX_PARENTS];
	struct vxcr_key *key = NULL;
	struct out_file of;
	const char *out = NULL;
	bool stats = false;
	int ret;

	vxcr_dump_opts_init(&o);
	o.refused = cli_refused; /* every refused object, one line each */
	ret = parse_dump_args(argc, argv, &o, &out, &tg, &stats);
	if (ret < 0)
		return EXIT_USAGE;
	if (ret == 1)
		dump_usage(stdout);
	if (ret)
		return ret == 2 ? cli_print_version() : 0;
	if (!out && isatty(STDOUT_FILENO)) {
		cli_error("dump: refusing to write an image to a terminal (use -o FILE or a pipe)");
		return EXIT_USAGE;
	}
	if (tg.sign && vxcr_key_load(tg.sign, &key)) {
		cli_error("dump: %s", vxcr_last_error());
		return 1;
	}
	if (tg.kernel) {
		if (out && out_file_open(&of, out)) {
			cli_error("%s", of.err);
			return 1;
		}
		ret = kernel_dump(tg.pid, out ? &of : NULL, tg.kflags, o.fsync, o.leave_running);
		if (out && out_file_close(&of) && !ret) {
			cli_error("dump: closing %s", out);
			ret = 1;
		}
		return ret;
	}
	o.sign_key = key;
	if (open_parents(&tg, pfds)) {
		vxcr_key_free(key);
		return 1;
	}
	if (tg.n_parents) {
		o.parent_fd = pfds[0];
		o.ancestor_fds = pfds + 1;
		o.n_ancestors = tg.n_parents - 1;
	}
	if (out && out_file_open(&of, out)) {
		cli_error("%s", of.err);
		ret = 1;
	} else {
		ret = run_dump(&tg, &o, out ? &of : NULL, &st);
	}
	vxcr_key_free(key);
	close_parents(pfds, tg.n_parents);
	if (ret)
		return 1;
	if (cli_verbose)
		print_stats(&tg, &st);
	if (stats)
		print_stats_line(&st);
	return 0;
}
