/*
 * vxcr migrate: move a running process tree or context to the host that
 * runs `vxcr serve`, with pre-copy (the tree is frozen only for the last
 * dirty set and the rest of its state).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/vxcr.h"
#include "cmd.h"
#include "mig-net.h"

#define EXIT_UNKNOWN 3 /* the link failed between the two commits */
#define EXIT_LOST 4    /* --lazy: the link failed during post-copy */

static void migrate_usage(FILE *f)
{
	fprintf(f,
		"usage: vxcr migrate [--keys DIR] [--no-precopy | --lazy] [--max-rounds N]\n"
		"                    [--stop-kib N] [--tcp-established] [--compress auto|zstd|none]\n"
		"                    [--timeout SEC] [--stats] [-v] PID HOST[:PORT]\n"
		"       vxcr migrate --ctx XID [--rundir DIR] [options] HOST[:PORT]\n"
		"\n"
		"Moves the running process tree rooted at PID (or the whole context XID) to\n"
		"HOST, where `vxcr serve` restores it.  Memory is copied while the tree runs,\n"
		"then again the pages it wrote meanwhile, round after round, until few are\n"
		"left; then it is frozen for the last ones and the rest of its state.  The\n"
		"tree here is killed only once HOST has restored all of it; until then any\n"
		"failure leaves it running here as before and nothing on HOST.  The channel\n"
		"is encrypted and both hosts authenticate with their keys.\n"
		"\n"
		"      --keys DIR       DIR/host.key is our key pair, DIR/trusted/ the public\n"
		"                       keys of the hosts we migrate to (default " MIG_DEFAULT_KEYS
		")\n"
		"      --ctx XID        migrate context XID\n"
		"      --rundir DIR     where context records are (default $VXCR_RUNDIR or\n"
		"                       /run/vxcr)\n"
		"      --no-precopy     freeze at once and send everything frozen\n"
		"      --lazy           post-copy: HOST runs the tree at once and takes its\n"
		"                       private memory on fault and in the background while\n"
		"                       ours stays frozen; a link failure meanwhile loses it\n"
		"      --max-rounds N   pre-copy rounds at most (default 8)\n"
		"      --stop-kib N     freeze once a round leaves at most N KiB written\n"
		"                       (default 4096)\n"
		"      --tcp-established  move established TCP connections (TCP_REPAIR)\n"
		"      --compress KIND  the image: auto (default: each frame compressed or\n"
		"                       raw as it pays), zstd (every frame) or none\n"
		"      --timeout SEC    the longest wait for HOST at any step (default 30)\n"
		"      --stats          print the migration's numbers as one JSON line on stderr\n"
		"\n"
		"On a terminal, stderr shows the progress (bytes, rate, round, dirty rate).\n"
		"Port %d unless given.  stdout gets the root's pid on HOST.\n",
		MIG_DEFAULT_PORT);
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 it runs on HOST and no more here, 1 failure (it runs here as\n"
		   "before), 2 usage, 3 the link failed after HOST restored it and ours was\n"
		   "killed: it runs on HOST only if HOST got the commit (see its log), 4 --lazy:\n"
		   "the link failed during post-copy: the process is lost (killed on both).\n");
}

enum {
	OPT_KEYS = 256,
	OPT_CTX,
	OPT_RUNDIR,
	OPT_NO_PRECOPY,
	OPT_ROUNDS,
	OPT_STOP,
	OPT_TCP_EST,
	OPT_COMPRESS,
	OPT_TIMEOUT,
	OPT_STATS,
	OPT_LAZY,
};

static const struct option migrate_options[] = {
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "ctx", required_argument, NULL, OPT_CTX },
	{ "rundir", required_argument, NULL, OPT_RUNDIR },
	{ "no-precopy", no_argument, NULL, OPT_NO_PRECOPY },
	{ "max-rounds", required_argument, NULL, OPT_ROUNDS },
	{ "stop-kib", required_argument, NULL, OPT_STOP },
	{ "tcp-established", no_argument, NULL, OPT_TCP_EST },
	{ "compress", required_argument, NULL, OPT_COMPRESS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "lazy", no_argument, NULL, OPT_LAZY },
	CLI_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct migrate_args {
	const char *keys;
	const char *dest;
	pid_t pid;
	bool stats;
};

static int parse_number(const char *opt, const char *arg, long min, long max, long *v)
{
	if (cli_parse_long(arg, min, max, v)) {
		cli_error("migrate: bad %s '%s' (%ld..%ld)", opt, arg, min, max);
		return -1;
	}
	return 0;
}

/* -1 usage error (after one line), 1 --help, 2 --version, else 0. */
static int parse_migrate_args(int argc, char **argv, struct vxcr_migrate_opts *o,
			      struct migrate_args *a)
{
	long v;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", migrate_options, NULL)) != -1) {
		switch (c) {
		case OPT_KEYS:
			a->keys = optarg;
			break;
		case OPT_CTX:
			if (parse_number("--ctx", optarg, 2, 65535, &v))
				return -1;
			o->xid = (uint32_t)v;
			break;
		case OPT_RUNDIR:
			o->rundir = optarg;
			break;
		case OPT_NO_PRECOPY:
			o->precopy = false;
			break;
		case OPT_LAZY:
			o->lazy = true;
			o->precopy = false;
			break;
		case OPT_ROUNDS:
			if (parse_number("--max-rounds", optarg, 1, 100, &v))
				return -1;
			o->max_rounds = (unsigned)v;
			break;
		case OPT_STOP:
			if (parse_number("--stop-kib", optarg, 0, 1L << 30, &v))
				return -1;
			o->stop_bytes = (uint64_t)v << 10;
			break;
		case OPT_TCP_EST:
			o->dump.tcp_established = true;
			break;
		case OPT_COMPRESS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "zstd") &&
			    strcmp(optarg, "none")) {
				cli_error("migrate: --compress takes auto, zstd or none, not '%s'",
					  optarg);
				return -1;
			}
			o->dump.compress = strcmp(optarg, "none") != 0;
			o->dump.zstd_every_frame = !strcmp(optarg, "zstd");
			break;
		case OPT_TIMEOUT:
			if (parse_number("--timeout", optarg, 1, 86400, &v))
				return -1;
			o->timeout_ms = (int)v * 1000;
			break;
		case OPT_STATS:
			a->stats = true;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			return 1;
		case OPT_VERSION:
			return 2;
		default:
			cli_bad_option("migrate", "vxcr migrate", c, argv);
			return -1;
		}
	}
	if (optind != argc - (o->xid ? 1 : 2)) {
		cli_error("migrate: expected %s (see vxcr migrate --help)",
			  o->xid ? "HOST[:PORT] after --ctx XID" : "PID HOST[:PORT]");
		return -1;
	}
	if (!o->xid) {
		if (parse_number("PID", argv[optind], 1, INT_MAX, &v))
			return -1;
		a->pid = (pid_t)v;
	}
	a->dest = argv[argc - 1];
	return 0;
}

/* On a terminal: one line, rewritten in place. */
static void show_progress(const struct vxcr_migrate_progress *p, void *arg)
{
	(void)arg;
	fprintf(stderr,
		"\r\033[Kvxcr: migrate: %s %u: %.1f MiB sent, %.0f MiB/s, dirty %.1f MiB/s, "
		"%.1f s",
		p->frozen ? "frozen, round" : "round", p->round, p->bytes_sent / 1048576.0,
		p->rate / 1048576.0, p->dirty_rate / 1048576.0, p->elapsed_ns / 1e9);
	if (p->frozen)
		fputc('\n', stderr);
	fflush(stderr);
}

static void print_stats_json(const struct vxcr_migrate_stats *st)
{
	fprintf(stderr,
		"{\"rounds\":%u,\"memory_bytes\":%llu,\"precopy_bytes\":%llu,"
		"\"final_pages\":%llu,\"held_pages\":%llu,\"wire_bytes\":%llu,"
		"\"frozen_ms\":%.3f,\"total_ms\":%.3f,\"crypt_ms\":%.3f,\"dest_pid\":%d,"
		"\"dest_xid\":%u,\"lazy_ms\":%.3f,\"lazy_pages\":%llu,\"lazy_faults\":%llu}\n",
		st->rounds, (unsigned long long)st->memory_bytes,
		(unsigned long long)st->precopy_bytes, (unsigned long long)st->final_pages,
		(unsigned long long)st->held_pages, (unsigned long long)st->wire_bytes,
		st->frozen_ns / 1e6, st->total_ns / 1e6, st->crypt_ns / 1e6, (int)st->dest_pid,
		st->dest_xid, st->lazy_ns / 1e6, (unsigned long long)st->lazy_pages,
		(unsigned long long)st->lazy_faults);
}

int cmd_migrate(int argc, char **argv)
{
	struct migrate_args a = { MIG_DEFAULT_KEYS, NULL, 0, false };
	struct vxcr_migrate_opts o;
	struct vxcr_migrate_stats st;
	struct vxcr_keyring *kr = NULL;
	struct vxcr_key *key = NULL;
	int ret, fd;

	vxcr_migrate_opts_init(&o);
	o.dump.refused = cli_refused;
	ret = parse_migrate_args(argc, argv, &o, &a);
	if (ret < 0)
		return EXIT_USAGE;
	if (ret == 1)
		migrate_usage(stdout);
	if (ret)
		return ret == 2 ? cli_print_version() : 0;
	if (mig_keys_load("migrate", a.keys, &key, &kr))
		return 1;
	o.key = key;
	o.trusted = kr;
	if (isatty(STDERR_FILENO))
		o.progress = show_progress;
	signal(SIGPIPE, SIG_IGN);
	fd = mig_connect("migrate", a.dest, o.timeout_ms);
	ret = fd < 0 ? -1 : vxcr_migrate(a.pid, fd, &o, &st);
	vxcr_keyring_free(kr);
	vxcr_key_free(key);
	if (fd < 0)
		return 1;
	if (ret) {
		cli_error(NULL);
		return ret == -EHOSTDOWN ? EXIT_UNKNOWN : ret == -ENOLINK ? EXIT_LOST : 1;
	}
	printf("%d\n", (int)st.dest_pid);
	if (cli_verbose)
		fprintf(stderr,
			"vxcr: migrated %s %ld to %s: pid %d there, %u rounds, frozen %.1f ms, "
			"%.1f MiB sent in %.1f ms\n",
			o.xid ? "context" : "pid", o.xid ? (long)o.xid : (long)a.pid, a.dest,
			(int)st.dest_pid, st.rounds, st.frozen_ns / 1e6, st.wire_bytes / 1048576.0,
			st.total_ns / 1e6);
	if (a.stats)
		print_stats_json(&st);
	return 0;
}
