/*
 * vxcr serve: accept migrations (vxcr migrate) and restore them.  Each
 * connection is served by a child process; restored trees end up as our
 * children (we are their subreaper) and are reaped as they exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "cmd.h"
#include "mig-net.h"

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: vxcr serve [--listen [ADDR]:PORT] [--keys DIR] [--pidns]\n"
		"                  [--manage-cgroups] [--once] [--timeout SEC] [-v]\n"
		"\n"
		"Accepts migrations from `vxcr migrate` on hosts whose keys it trusts and\n"
		"restores them: a tree runs here only once its source has let go of it;\n"
		"a migration that fails or is cut before that leaves nothing here.\n"
		"\n"
		"      --listen ADDR:PORT  where to listen (default :%d, every address)\n"
		"      --keys DIR       DIR/host.key is our key pair, DIR/trusted/ the public\n"
		"                       keys of the hosts we accept (default " MIG_DEFAULT_KEYS
		")\n"
		"      --pidns          restore each tree in a new pid namespace (its pids\n"
		"                       may be in use here)\n"
		"      --manage-cgroups create the cgroups of the tree that are missing\n"
		"      --once           serve one migration, then exit with its status\n"
		"      --timeout SEC    the longest silence of a source (default 30)\n"
		"\n"
		"Each migration is reported on stderr: the source's key, the pid it runs\n"
		"as here, or why it failed.\n",
		MIG_DEFAULT_PORT);
	cli_common_help(f);
	fprintf(f, "\nExit status: 0, 1 failure (with --once: of the migration), 2 usage.\n");
}

enum { OPT_LISTEN = 256, OPT_KEYS, OPT_PIDNS, OPT_CGROUPS, OPT_ONCE, OPT_TIMEOUT };

static const struct option serve_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "pidns", no_argument, NULL, OPT_PIDNS },
	{ "manage-cgroups", no_argument, NULL, OPT_CGROUPS },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	CLI_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct serve_args {
	const char *listen;
	const char *keys;
	bool once;
};

static int parse_serve_args(int argc, char **argv, struct vxcr_serve_opts *o, struct serve_args *a)
{
	long v;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", serve_options, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			a->listen = optarg;
			break;
		case OPT_KEYS:
			a->keys = optarg;
			break;
		case OPT_PIDNS:
			o->restore.pidns = true;
			break;
		case OPT_CGROUPS:
			o->restore.manage_cgroups = true;
			break;
		case OPT_ONCE:
			a->once = true;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_long(optarg, 1, 86400, &v)) {
				cli_error("serve: bad --timeout '%s' (1..86400)", optarg);
				return -1;
			}
			o->timeout_ms = (int)v * 1000;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			return 1;
		case OPT_VERSION:
			return 2;
		default:
			cli_bad_option("serve", "vxcr serve", c, argv);
			return -1;
		}
	}
	if (optind != argc) {
		cli_error("serve: unexpected argument '%s' (see vxcr serve --help)", argv[optind]);
		return -1;
	}
	return 0;
}

/* A moved process (vx_move) runs here: said before the call waits for it. */
static void moved_report(const struct vxcr_serve_stats *st, void *arg)
{
	(void)arg;
	fprintf(stderr, "vxcr: serve: from %s: moved here, running as pid %d\n", st->peer,
		(int)st->pid);
}

/* One connection: 0 if the tree it brought runs here. */
static int serve_one(int fd, const struct vxcr_serve_opts *o)
{
	struct vxcr_serve_stats st;

	if (vxcr_serve_conn(fd, o, &st)) {
		cli_error("serve: %s%s%smigration failed: %s", st.peer[0] ? "from " : "", st.peer,
			  st.peer[0] ? ": " : "", vxcr_last_error());
		return 1;
	}
	if (st.status_only) {
		fprintf(stderr, "vxcr: serve: from %s: status asked\n", st.peer);
		return 0;
	}
	if (st.moved) {
		int w = st.move_status;

		fprintf(stderr, "vxcr: serve: from %s: the moved process %d ended (%s %d)\n",
			st.peer, (int)st.pid, WIFEXITED(w) ? "exit" : "signal",
			WIFEXITED(w) ? WEXITSTATUS(w) : WTERMSIG(w));
		return 0;
	}
	fprintf(stderr,
		"vxcr: serve: from %s: running as pid %d%s, %.1f MiB pre-copied, restored in "
		"%.1f ms\n",
		st.peer, (int)st.pid, st.xid ? " (a context)" : "", st.precopy_bytes / 1048576.0,
		st.restore_ns / 1e6);
	if (st.lazy_ns)
		fprintf(stderr,
			"vxcr: serve: post-copy: %llu pages copied in, %llu faults asked for, "
			"all in after %.1f ms\n",
			(unsigned long long)st.lazy_pages, (unsigned long long)st.lazy_faults,
			st.lazy_ns / 1e6);
	if (st.local_pages)
		fprintf(stderr,
			"vxcr: serve: %llu pages filled from the store after the commit (%llu "
			"faults first), all in after %.1f ms\n",
			(unsigned long long)st.local_pages, (unsigned long long)st.local_faults,
			st.local_ns / 1e6);
	return 0;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_args a = { ":7411", MIG_DEFAULT_KEYS, false };
	struct vxcr_keyring *kr = NULL;
	struct vxcr_key *key = NULL;
	struct vxcr_serve_opts o;
	int lfd, ret;

	vxcr_serve_opts_init(&o);
	ret = parse_serve_args(argc, argv, &o, &a);
	if (ret < 0)
		return EXIT_USAGE;
	if (ret == 1)
		serve_usage(stdout);
	if (ret)
		return ret == 2 ? cli_print_version() : 0;
	if (mig_keys_load("serve", a.keys, &key, &kr))
		return 1;
	o.key = key;
	o.trusted = kr;
	o.report = moved_report;
	/* the moved processes running here, counted by the serving children */
	o.moved = mmap(NULL, sizeof(*o.moved), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (o.moved == MAP_FAILED)
		o.moved = NULL;
	signal(SIGPIPE, SIG_IGN);
	lfd = mig_listen("serve", a.listen);
	if (lfd < 0)
		return 1;
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fprintf(stderr, "vxcr: serve: listening on %s\n", a.listen);
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		pid_t child;
		int fd;

		reap();
		if (poll(&p, 1, 1000) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (a.once) {
			close(lfd);
			ret = serve_one(fd, &o);
			break;
		}
		child = fork();
		if (child == 0) {
			close(lfd);
			_exit(serve_one(fd, &o));
		}
		if (child < 0)
			fprintf(stderr, "vxcr: serve: cannot fork: %s\n", strerror(errno));
		close(fd);
	}
	vxcr_keyring_free(kr);
	vxcr_key_free(key);
	return ret;
}
