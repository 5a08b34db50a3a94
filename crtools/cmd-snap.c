/*
 * vxcr snap: snapshot testing.
 *
 *   vxcr snap take NAME [--store DIR] [--leave-running] -- CMD [ARG...]
 *   vxcr snap take NAME [--store DIR] [--leave-running] --pid PID [--ready-call]
 *   vxcr snap run NAME [--store DIR] [-n N] [-d] [-o FILE] [-- ARG...]
 *   vxcr snap serve NAME [--store DIR] --socket PATH
 *
 * take runs CMD until it says ready (vxcr_snap_ready(), vxcr/snap.h) and
 * stores its image; run restores N fresh copies, each in its own PID
 * namespace with our stdio and ARGs ("{}" in one: the copy's index)
 * delivered through the ready channel, and waits for them; serve keeps one
 * copy as a template and forks a copy from it per client request.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "vxcr/snap.h"
#include "cmd.h"

#define RUN_MAX 4096 /* copies of one snap run */

static void snap_usage(FILE *f)
{
	fprintf(f, "usage: vxcr snap take NAME [--store DIR] [--leave-running] -- CMD [ARG...]\n"
		   "       vxcr snap take NAME [--store DIR] [--leave-running] --pid PID\n"
		   "                      [--ready-call]\n"
		   "       vxcr snap run NAME [--store DIR] [-n N] [-d] [-o FILE] [-- ARG...]\n"
		   "       vxcr snap serve NAME [--store DIR] --socket PATH\n"
		   "       vxcr snap --help | --version\n"
		   "\n"
		   "take starts CMD with a ready channel (VXCR_SNAP_FD, see vxcr(1)), waits\n"
		   "until it says ready, checkpoints it and stores the image as snapshot NAME\n"
		   "(then kills it); --pid takes a running process blocked in its ready call.\n"
		   "run restores N fresh copies of NAME, each in its own PID namespace with\n"
		   "our stdin, stdout and stderr, and gives each the ARGs as the result of\n"
		   "its ready call ({} in an ARG becomes the copy's index, 0..N-1).\n"
		   "serve restores NAME once and forks a fresh copy from it for each request\n"
		   "on the unix socket PATH (vxcr_snap_spawn(), vxcr/snap.h) until SIGINT or\n"
		   "SIGTERM; NAME's program must have called vxcr_snap_ready().\n"
		   "\n"
		   "      --store DIR      the snapshot store (default $VXCR_SNAP_DIR, else\n"
		   "                       /var/lib/vxcr/snap)\n"
		   "      --leave-running  take: keep the program running (it gets no\n"
		   "                       arguments); we wait for it to end\n"
		   "      --pid PID        take: a running process instead of CMD\n"
		   "      --ready-call     take --pid: it waits in vxcr_snap_ready() (so snap\n"
		   "                       serve can fork it)\n"
		   "  -n, --copies N       run: N copies at once (default 1)\n"
		   "  -d, --detach         run: print each copy's pid and return\n"
		   "  -o, --output FILE    run: each copy's stdout and stderr to FILE ({} in it:\n"
		   "                       the copy's index), created or truncated\n"
		   "      --socket PATH    serve: the unix socket to create\n");
	cli_common_help(f);
	fprintf(f,
		"\nExit status: take and serve 0 or 1; run: the copy's status with one copy (128+N\n"
		"if killed by signal N), else 0 if every copy exited 0, 1 otherwise;\n"
		"2 usage.\n");
}

/* Options of both subcommands. */
struct snap_args {
	const char *name, *store, *socket, *output;
	char *const *rest; /* after "--" (NULL: none) */
	pid_t pid;
	long copies;
	bool leave_running, detach, ready_call;
};

/* Parses argv up to "--" (argv[0] is the subcommand).  0, or an exit code. */
static int parse(int argc, char **argv, struct snap_args *a)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "leave-running", no_argument, NULL, 'L' },
		{ "pid", required_argument, NULL, 'p' },
		{ "copies", required_argument, NULL, 'n' },
		{ "detach", no_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 'S' },
		{ "ready-call", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, n, dashes;
	long v;

	for (dashes = 1; dashes < argc && strcmp(argv[dashes], "--"); dashes++)
		;
	a->rest = dashes < argc ? argv + dashes + 1 : NULL;
	n = dashes;
	optind = 1;
	while ((c = getopt_long(n, argv, ":n:do:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->store = optarg;
			break;
		case 'L':
			a->leave_running = true;
			break;
		case 'p':
			if (cli_parse_long(optarg, 1, INT_MAX, &v)) {
				cli_error("snap: --pid '%s': not a pid", optarg);
				return EXIT_USAGE;
			}
			a->pid = (pid_t)v;
			break;
		case 'n':
			if (cli_parse_long(optarg, 1, RUN_MAX, &a->copies)) {
				cli_error("snap: -n '%s': not a number of copies in 1..%d", optarg,
					  RUN_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			a->detach = true;
			break;
		case 'S':
			a->socket = optarg;
			break;
		case 'R':
			a->ready_call = true;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			snap_usage(stdout);
			return -1;
		case OPT_VERSION:
			cli_print_version();
			return -1;
		default:
			return cli_bad_option("snap", "vxcr snap", c, argv);
		}
	}
	if (n - optind != 1) {
		cli_error("snap %s: expected one NAME (see vxcr snap --help)", argv[0]);
		return EXIT_USAGE;
	}
	a->name = argv[optind];
	if (vxcr_snap_name_check(a->name)) {
		cli_error("snap %s: %s", argv[0], vxcr_last_error());
		return EXIT_USAGE;
	}
	return 0;
}

static int snap_take(struct snap_args *a, const char *store)
{
	struct vxcr_snap_take_opts o = { .argv = NULL };
	int status;

	if (a->detach || a->copies || a->socket || a->output) {
		cli_error("snap take: -n, --detach, --output and --socket are not options of snap "
			  "take");
		return EXIT_USAGE;
	}
	if (a->ready_call && !a->pid) {
		cli_error("snap take: --ready-call goes with --pid");
		return EXIT_USAGE;
	}
	if (!a->pid == !(a->rest && a->rest[0])) {
		cli_error("snap take: give either -- CMD or --pid PID");
		return EXIT_USAGE;
	}
	o.argv = a->pid ? NULL : a->rest;
	o.pid = a->pid;
	o.leave_running = a->leave_running;
	o.serve = a->ready_call;
	if (vxcr_snap_take(store, a->name, &o, &status)) {
		cli_error(NULL);
		return 1;
	}
	return 0;
}

/* s with each "{}" replaced by i (the first only), or a copy.  NULL: no memory. */
static char *with_index(const char *s, long i)
{
	const char *at = strstr(s, "{}");
	char *out;

	if (!at)
		return strdup(s);
	if (asprintf(&out, "%.*s%ld%s", (int)(at - s), s, i, at + 2) < 0)
		return NULL;
	return out;
}

/*
 * Copy i of si with its output to FILE (a->output, {} its index): our fds
 * 1 and 2 point there for the time of the restore (the copy takes them).
 */
static int copy_to_output(const struct vxcr_snap_image *si, const char *output, char **args, long i,
			  pid_t *pid, pid_t *init)
{
	char *path = with_index(output, i);
	int fd, saved[2], ret;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_error("snap run: --output %s: %s", path, strerror(errno));
		free(path);
		return -errno;
	}
	free(path);
	fflush(NULL);
	saved[0] = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved[1] = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	ret = vxcr_snap_copy(si, args, pid, init);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	return ret;
}

static void free_args(char **v)
{
	size_t k;

	for (k = 0; v && v[k]; k++)
		free(v[k]);
	free(v);
}

/* The ARGs of copy i: each "{}" replaced by i.  NULL without memory. */
static char **copy_args(char *const *rest, long i)
{
	size_t n = 0, k;
	char **v;

	while (rest && rest[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	for (k = 0; v && k < n; k++) {
		v[k] = with_index(rest[k], i);
		if (!v[k]) {
			free_args(v);
			return NULL;
		}
	}
	return v;
}

/* Waits for the copies (their namespaces' inits); the exit code. */
static int wait_copies(const pid_t *pids, const pid_t *inits, long n)
{
	int status, code, worst = 0;
	long i;

	for (i = 0; i < n; i++) {
		while (waitpid(inits[i], &status, 0) < 0)
			if (errno != EINTR)
				return 1;
		code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		if (n > 1)
			fprintf(stderr, "vxcr: snap run: copy %ld (pid %d): exit %d\n", i, pids[i],
				code);
		if (n == 1)
			return code;
		if (code)
			worst = 1;
	}
	return worst;
}

static int snap_run(struct snap_args *a, const char *store)
{
	struct vxcr_snap_image si;
	pid_t *pids, *inits;
	long i, n = a->copies ? a->copies : 1;
	int ret = 0;

	if (a->pid || a->leave_running || a->socket || a->ready_call) {
		cli_error(
			"snap run: --pid, --leave-running and --socket are not options of snap run");
		return EXIT_USAGE;
	}
	pids = calloc(n, sizeof(*pids));
	inits = calloc(n, sizeof(*inits));
	if (!pids || !inits || vxcr_snap_image_open(store, a->name, &si)) {
		cli_error(pids && inits ? NULL : "snap run: out of memory");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n && !ret; i++) {
		char **args = copy_args(a->rest, i);

		if (!args)
			ret = -ENOMEM;
		else if (a->output)
			ret = copy_to_output(&si, a->output, args, i, &pids[i], &inits[i]);
		else
			ret = vxcr_snap_copy(&si, args, &pids[i], &inits[i]);
		free_args(args);
	}
	vxcr_snap_image_close(&si);
	if (ret) {
		cli_error(NULL);
		while (--i > 0) { /* the copies made before the failure, whole namespaces */
			kill(inits[i - 1], SIGKILL);
			waitpid(inits[i - 1], NULL, 0);
		}
		return 1;
	}
	if (a->detach) {
		for (i = 0; i < n; i++)
			printf("%d\n", pids[i]);
		return 0;
	}
	return wait_copies(pids, inits, n);
}

static int snap_serve(struct snap_args *a, const char *store)
{
	sigset_t stop;
	int fd, ret;

	if (a->pid || a->leave_running || a->copies || a->detach || a->rest || a->ready_call ||
	    a->output || !a->socket) {
		cli_error("snap serve: takes NAME, --socket PATH and --store DIR only");
		return EXIT_USAGE;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (fd < 0) {
		cli_error("snap serve: signalfd: %s", strerror(errno));
		return 1;
	}
	ret = vxcr_snap_serve(store, a->name, a->socket, fd);
	close(fd);
	if (ret) {
		cli_error(NULL);
		return 1;
	}
	return 0;
}

int cmd_snap(int argc, char **argv)
{
	struct snap_args a = { .name = NULL };
	char store[PATH_MAX];
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc < 2) {
			cli_error("snap: expected take, run or serve (see vxcr snap --help)");
			return EXIT_USAGE;
		}
		snap_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cli_print_version();
	if (strcmp(argv[1], "take") && strcmp(argv[1], "run") && strcmp(argv[1], "serve")) {
		cli_error("snap: unknown subcommand '%s' (see vxcr snap --help)", argv[1]);
		return EXIT_USAGE;
	}
	ret = parse(argc - 1, argv + 1, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (vxcr_snap_store(a.store, store, sizeof(store))) {
		cli_error("snap: %s", vxcr_last_error());
		return 1;
	}
	if (!strcmp(argv[1], "take"))
		return snap_take(&a, store);
	if (!strcmp(argv[1], "serve"))
		return snap_serve(&a, store);
	return snap_run(&a, store);
}
