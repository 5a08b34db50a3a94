/*
 * vxcr ctx: contexts, through the public context API (vxcr/vserver.h: the
 * vx_* calls and vxcr's vxcr_ctx_* additions).  Subcommands create, exec,
 * list, info, stat, flags, caps, bcaps, uname, kill, wait; --rundir (or
 * VXCR_RUNDIR) chooses the run directory for all of them.  With the kernel
 * module, create, list, info and stat go through it too (ctx-kmod.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/reboot.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "vxcr/vserver.h"
#include "cmd.h"
#include "ctx-kmod.h"

struct ctx_opts {
	const char *rundir;
	const char *flags, *hostname, *bcaps, *ccaps;
	const char *set, *clear;
	const char *pid, *sig;
	const char *nproc;
	const char *net;
	const char *root;
	const char *limit;
	uint32_t xid;
	char **rest; /* after XID */
	int nrest;
};

static void ctx_usage(FILE *f)
{
	fprintf(f,
		"usage: vxcr ctx [--rundir DIR] [-v] SUBCOMMAND ...\n"
		"       vxcr ctx --help | --version\n"
		"\n"
		"  create XID [--flags F,F] [--hostname H] [--bcaps all|C,C|~C,~C] [--ccaps C,C]\n"
		"         [--nproc N] [--net veth[:HOSTIF][,addr=A/P][,host-addr=B/P]]\n"
		"         [--limit memory.max=BYTES,cpu.max=QUOTA PERIOD,...]\n"
		"         (--limit io.max=MAJ:MIN rbps=N wbps=N riops=N wiops=N, one item\n"
		"          per device; io.weight=N)\n"
		"         [--root DIR] -- CMD [ARG...]\n"
		"         (--root DIR: pivot_root into DIR, a fresh /proc, /sys read-only,\n"
		"          a minimal /dev; without it the host's / is shared; bcaps 'all':\n"
		"          every capability, not Linux-VServer's guest set, the default)\n"
		"         (--nproc N: at most N tasks, with --flags INFO_NPROC;\n"
		"          with --net, a network namespace of its own (HIDE_NETIF) and a\n"
		"          veth: eth0 inside, HOSTIF (default vxXID) on the host)\n"
		"  exec XID -- CMD [ARG...]      run CMD inside, wait, exit with its status\n"
		"  list                          one line per context: XID INITPID TASKS FLAGS\n"
		"  info XID | stat XID\n"
		"  flags XID [--set F,F] [--clear F,F]\n"
		"  caps XID [--set C,C] [--clear C,C]      context caps (SET_UTSNAME, ...)\n"
		"  bcaps XID [--set C,C] [--clear C,C]     bounding caps (CHOWN, NET_RAW, ...)\n"
		"  uname XID [--set FIELD=VALUE]\n"
		"  kill XID [--pid P] [--sig S]  P 0 (default) all tasks, 1 the init\n"
		"  wait XID                      prints and exits with the context's exit code\n"
		"                                (and 'reboot_cmd: 0x...' if a reboot ended it)\n"
		"XID: 2..65535 (create: 'dynamic' picks one).  Names are the VXF_/VXC_/CAP_\n"
		"constants without prefix.  Options may come before or after XID; those\n"
		"below go with every subcommand, and also before it.\n"
		"\n"
		"      --rundir DIR     context records (default $VXCR_RUNDIR or /run/vxcr)\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 ok (exec, wait: the command's or context's code),\n"
		   "1 failure, 2 usage.\n");
}

static int parse_xid(const char *s, uint32_t *xid, int dynamic_ok)
{
	long v;

	if (dynamic_ok && !strcmp(s, "dynamic")) {
		*xid = VXCR_XID_DYNAMIC;
		return 0;
	}
	if (cli_parse_long(s, 0, VXCR_XID_MAX, &v)) {
		cli_error("ctx: bad xid '%s' (a number up to %d)", s, VXCR_XID_MAX);
		return -1;
	}
	*xid = (uint32_t)v;
	return 0;
}

/* Parses the options allowed for sub (letters in allowed) and XID: 0, or
 * -1 after a one-line usage error, 1 for --help, 2 for --version. */
static int parse(int argc, char **argv, const char *allowed, struct ctx_opts *o)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "flags", required_argument, NULL, 'f' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "bcaps", required_argument, NULL, 'b' },
		{ "ccaps", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "clear", required_argument, NULL, 'C' },
		{ "pid", required_argument, NULL, 'p' },
		{ "sig", required_argument, NULL, 'S' },
		{ "nproc", required_argument, NULL, 'n' },
		{ "net", required_argument, NULL, 'N' },
		{ "root", required_argument, NULL, 'R' },
		{ "limit", required_argument, NULL, 'L' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	char what[32];
	int c, i;

	/* argv[0] is the subcommand, or "ctx" for the options before it */
	snprintf(what, sizeof(what), strcmp(argv[0], "ctx") ? "ctx %s" : "%s", argv[0]);
	while ((c = getopt_long(argc, argv, "+:r:vh", opts, NULL)) != -1) {
		if (c == 'h' || c == OPT_VERSION)
			return c == 'h' ? 1 : 2;
		if (c == 'v') {
			cli_set_verbose();
			continue;
		}
		if (c == '?' || c == ':') {
			cli_bad_option(what, "vxcr ctx", c, argv);
			return -1;
		}
		if (c != 'r' && !strchr(allowed, c)) {
			for (i = 0; opts[i].name; i++)
				if (opts[i].val == c)
					cli_error("%s: option --%s not valid here "
						  "(see vxcr ctx --help)",
						  what, opts[i].name);
			return -1;
		}
		switch (c) {
		case 'r':
			o->rundir = optarg;
			break;
		case 'f':
			o->flags = optarg;
			break;
		case 'H':
			o->hostname = optarg;
			break;
		case 'b':
			o->bcaps = optarg;
			break;
		case 'c':
			o->ccaps = optarg;
			break;
		case 's':
			o->set = optarg;
			break;
		case 'C':
			o->clear = optarg;
			break;
		case 'p':
			o->pid = optarg;
			break;
		case 'S':
			o->sig = optarg;
			break;
		case 'n':
			o->nproc = optarg;
			break;
		case 'N':
			o->net = optarg;
			break;
		case 'R': /* "DIR/" is DIR: the record and the image keep it clean */
			for (size_t l = strlen(optarg); l > 1 && optarg[l - 1] == '/'; l--)
				optarg[l - 1] = '\0';
			o->root = optarg;
			break;
		case 'L':
			o->limit = optarg;
			break;
		}
	}
	return 0;
}

/* Options may come before or after XID: parse, take XID, parse again.
 * Returns what parse() returns. */
static int parse_all(int argc, char **argv, const char *allowed, int need_xid, int dynamic_ok,
		     struct ctx_opts *o)
{
	int ret;

	optind = 0;
	ret = parse(argc, argv, allowed, o);
	if (ret)
		return ret;
	if (need_xid) {
		if (optind >= argc) {
			cli_error("ctx %s: missing XID (see vxcr ctx --help)", argv[0]);
			return -1;
		}
		if (parse_xid(argv[optind], &o->xid, dynamic_ok))
			return -1;
		argv += optind;
		argc -= optind;
		optind = 0;
		ret = parse(argc, argv, allowed, o);
		if (ret)
			return ret;
	}
	o->rest = argv + optind;
	o->nrest = argc - optind;
	return 0;
}

static int fail(int ret)
{
	(void)ret;
	cli_error(NULL);
	return 1;
}

/*
 * --limit: pids.max=N is --nproc N with INFO_NPROC; the rest (memory, cpu)
 * goes to the library as given, into rest.  0 or EXIT_USAGE.
 */
static int split_limits(const char *spec, struct vxcr_ctx_create_opts *a, char *rest, size_t len)
{
	char copy[512], *save = NULL, *item;
	size_t used = 0;
	long n;

	if (snprintf(copy, sizeof(copy), "%s", spec) >= (int)sizeof(copy)) {
		cli_error("ctx create: --limit is too long");
		return EXIT_USAGE;
	}
	rest[0] = '\0';
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "pids.max=", 9)) {
			used += snprintf(rest + used, len - used, "%s%s", used ? "," : "", item);
			continue;
		}
		if (cli_parse_long(item + 9, 1, 4194304, &n)) {
			cli_error("ctx create: bad --limit %s (a task count, at least 1)", item);
			return EXIT_USAGE;
		}
		a->nproc = n;
		a->flags |= VXF_INFO_NPROC;
	}
	a->limits = rest[0] ? rest : NULL;
	return 0;
}

static int do_create(struct ctx_opts *o)
{
	char limits[512];
	struct vxcr_ctx_create_opts a;
	xid_t xid;

	vxcr_ctx_create_opts_init(&a);
	a.xid = o->xid;
	if (o->nrest < 1) {
		cli_error("ctx create: no command (vxcr ctx create XID -- CMD [ARG...])");
		return EXIT_USAGE;
	}
	if ((o->flags && vxcr_ctx_names_parse(VXCR_CTX_FLAG_NAMES, o->flags, &a.flags)) ||
	    (o->bcaps && vxcr_ctx_names_parse(VXCR_CTX_BCAP_NAMES, o->bcaps, &a.bcaps)) ||
	    (o->ccaps && vxcr_ctx_names_parse(VXCR_CTX_CCAP_NAMES, o->ccaps, &a.ccaps)))
		return fail(-EINVAL);
	/* without --bcaps: the guest set (the library's default); --bcaps all opts out */
	if (o->nproc) {
		long n;

		if (cli_parse_long(o->nproc, 1, LONG_MAX, &n)) {
			cli_error("ctx create: bad --nproc '%s' (a task count, at least 1)",
				  o->nproc);
			return EXIT_USAGE;
		}
		a.nproc = n;
	}
	a.hostname = o->hostname;
	if (o->net) {
		a.net = o->net;
		a.flags |= VXF_HIDE_NETIF;
	}
	a.root = o->root;
	if (o->limit && split_limits(o->limit, &a, limits, sizeof(limits)))
		return EXIT_USAGE;
	a.argv = o->rest;
	if (ctx_kmod_present()) {
		if (ctx_kmod_create(&a, &xid))
			return 1;
	} else if (vxcr_ctx_create(&a, &xid, NULL)) {
		return fail(-1);
	}
	printf("%u\n", xid);
	return 0;
}

static int do_exec(struct ctx_opts *o)
{
	pid_t pid;
	int st;

	if (o->nrest < 1) {
		cli_error("ctx exec: no command (vxcr ctx exec XID -- CMD [ARG...])");
		return EXIT_USAGE;
	}
	if (vx_migrate(o->xid, NULL))
		return fail(-1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execvp(o->rest[0], o->rest);
		fprintf(stderr, "vxcr: ctx exec: cannot run '%s': %s\n", o->rest[0],
			strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		cli_error("ctx exec: fork: %s", strerror(errno));
		return 1;
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int do_list(struct ctx_opts *o)
{
	xid_t xids[4096];
	vx_info_t r;
	vx_stat_t st;
	vx_flags_t f;
	char flags[512];
	int i, n;

	(void)o;
	if (ctx_kmod_present())
		return ctx_kmod_list();
	n = vxcr_ctx_list(xids, 4096);
	if (n < 0) {
		cli_error("ctx list: %s: %s", vxcr_ctx_rundir(), strerror(-n));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (vx_info(xids[i], &r) || vx_stat(xids[i], &st) || vx_flags_get(xids[i], &f))
			continue; /* ended meanwhile */
		vxcr_ctx_names_format(VXCR_CTX_FLAG_NAMES, f.flags, flags, sizeof(flags));
		printf("%u %d %u %s\n", r.xid, r.initpid, st.tasks, flags);
	}
	return 0;
}

/* uname field of the context into buf ("" if it cannot be read). */
static int uname_get(xid_t xid, int field, char *buf, size_t len)
{
	vx_uname_t u = { .id = (uint32_t)field };
	int ret = vx_uname_get(xid, &u);

	snprintf(buf, len, "%s", ret ? "" : u.value);
	return ret;
}

void ctx_print_bits(xid_t xid, uint64_t flags, uint64_t bcaps, uint64_t ccaps)
{
	char buf[1024], node[VHILEN] = "", dom[VHILEN] = "";

	uname_get(xid, VHIN_NODENAME, node, sizeof(node));
	uname_get(xid, VHIN_DOMAINNAME, dom, sizeof(dom));
	vxcr_ctx_names_format(VXCR_CTX_FLAG_NAMES, flags, buf, sizeof(buf));
	printf("flags: %s\n", buf);
	vxcr_ctx_names_format(VXCR_CTX_BCAP_NAMES, bcaps, buf, sizeof(buf));
	printf("bcaps: %s\n", buf);
	vxcr_ctx_names_format(VXCR_CTX_CCAP_NAMES, ccaps, buf, sizeof(buf));
	printf("ccaps: %s\nnodename: %s\ndomainname: %s\n", buf, node, dom);
}

static int do_info(struct ctx_opts *o)
{
	struct vxcr_ctx_info r;
	vx_flags_t f;

	if (ctx_kmod_present())
		return ctx_kmod_info(o->xid);
	if (vxcr_ctx_info(o->xid, &r) || vx_flags_get(o->xid, &f))
		return fail(-1);
	printf("xid: %u\ninitpid: %d\nsupervisor: %d\ncgroup: %s\n", r.xid, r.init_pid, r.super_pid,
	       r.cgroup);
	ctx_print_bits(o->xid, f.flags, r.bcaps, r.ccaps);
	if (r.flags & VXF_INFO_NPROC)
		printf("nproc: %llu\n", (unsigned long long)r.nproc);
	if (r.pids_cgroup[0])
		printf("pids cgroup: %s\n", r.pids_cgroup);
	if (r.net[0])
		printf("net: %s\n", r.net);
	printf("root: %s\n", r.root[0] ? r.root : "filesystem shared with the host");
	if (r.limits[0])
		printf("limits: %s\n", r.limits);
	if (r.namespaces[0])
		printf("namespaces: %s\n", r.namespaces);
	return 0;
}

static int do_stat(struct ctx_opts *o)
{
	struct vxcr_ctx_info r;
	vx_stat_t st;

	memset(&r, 0, sizeof(r)); /* the module has no nproc limits */
	if (vx_stat(o->xid, &st) || (!ctx_kmod_present() && vxcr_ctx_info(o->xid, &r)))
		return fail(-1);
	printf("usecnt: %u\ntasks: %u\nnr_threads: %u\nnr_running: %u\nnr_unintr: %u\n"
	       "nr_onhold: %u\nuptime: %.3f\n",
	       st.usecnt, st.tasks, st.nr_threads, st.nr_running, st.nr_unintr, st.nr_onhold,
	       st.uptime / 1e9);
	if ((r.flags & VXF_INFO_NPROC) && r.nproc)
		printf("nproc: %llu\nnproc_max: %llu\n", (unsigned long long)r.nproc_cur,
		       (unsigned long long)r.nproc);
	return 0;
}

typedef int (*parse_fn)(const char *, uint64_t *);

/* --set/--clear of flags, ccaps or bcaps: parsed into (value, mask). */
static int set_clear(struct ctx_opts *o, parse_fn parse_names, uint64_t *val, uint64_t *mask)
{
	uint64_t s = 0, c = 0;

	if ((o->set && parse_names(o->set, &s)) || (o->clear && parse_names(o->clear, &c)))
		return -1;
	if (s & c) {
		cli_error("ctx: the same name given to --set and --clear");
		return -1;
	}
	*val = s;
	*mask = s | c;
	return 0;
}

/* bcaps names: "A,B" means those capabilities (not "keep only"). */
static int bcap_names(const char *list, uint64_t *bits)
{
	if (list[0] == '~' || list[0] == '!') {
		cli_error("ctx bcaps: use --clear NAME to drop a capability");
		return -1;
	}
	return vxcr_ctx_names_parse(VXCR_CTX_BCAP_NAMES, list, bits) ? (cli_error(NULL), -1) : 0;
}

static int flag_names(const char *l, uint64_t *b)
{
	return vxcr_ctx_names_parse(VXCR_CTX_FLAG_NAMES, l, b) ? (cli_error(NULL), -1) : 0;
}

static int ccap_names(const char *l, uint64_t *b)
{
	return vxcr_ctx_names_parse(VXCR_CTX_CCAP_NAMES, l, b) ? (cli_error(NULL), -1) : 0;
}

/* flags, caps or bcaps: set and clear under a mask, then print them. */
static int do_bits(struct ctx_opts *o, const char *what)
{
	int (*set)(xid_t, vx_flags_t *), (*get)(xid_t, vx_flags_t *);
	enum vxcr_ctx_names names;
	parse_fn parse_names;
	vx_flags_t f;
	char buf[1024];

	if (!strcmp(what, "flags")) {
		set = vx_flags_set, get = vx_flags_get;
		names = VXCR_CTX_FLAG_NAMES, parse_names = flag_names;
	} else if (!strcmp(what, "bcaps")) {
		set = vx_bcaps_set, get = vx_bcaps_get;
		names = VXCR_CTX_BCAP_NAMES, parse_names = bcap_names;
	} else {
		set = vx_ccaps_set, get = vx_ccaps_get;
		names = VXCR_CTX_CCAP_NAMES, parse_names = ccap_names;
	}
	if (set_clear(o, parse_names, &f.flags, &f.mask))
		return 1;
	if (f.mask && set(o->xid, &f))
		return fail(-1);
	if (get(o->xid, &f))
		return fail(-1);
	vxcr_ctx_names_format(names, f.flags, buf, sizeof(buf));
	printf("%s\n", buf);
	return 0;
}

static int do_uname(struct ctx_opts *o)
{
	static const char *const names[] = { "CONTEXT", "SYSNAME", "NODENAME",	"RELEASE",
					     "VERSION", "MACHINE", "DOMAINNAME" };
	char buf[256], *eq;
	vx_uname_t u;
	int field;

	if (o->set) {
		snprintf(buf, sizeof(buf), "%s", o->set);
		eq = strchr(buf, '=');
		if (!eq) {
			cli_error("ctx uname: --set wants FIELD=VALUE");
			return EXIT_USAGE;
		}
		*eq = 0;
		field = vxcr_ctx_uname_field(buf);
		if (field < 0) {
			cli_error("ctx uname: unknown field '%s'", buf);
			return 1;
		}
		/* the library's message for a name vx_uname_t cannot hold (the
		 * other fields are refused whatever their value) */
		if (strlen(eq + 1) >= VHILEN &&
		    (field == VHIN_NODENAME || field == VHIN_DOMAINNAME)) {
			cli_error("ctx: uname %s: '%s' is longer than %d bytes", names[field],
				  eq + 1, VHILEN - 1);
			return 1;
		}
		u.id = (uint32_t)field;
		strncpy(u.value, eq + 1, sizeof(u.value) - 1);
		u.value[sizeof(u.value) - 1] = 0;
		if (vx_uname_set(o->xid, &u))
			return fail(-1);
		return 0;
	}
	for (field = 0; field <= VHIN_DOMAINNAME; field++) {
		if (uname_get(o->xid, field, buf, sizeof(buf)))
			return fail(-1);
		printf("%s=%s\n", names[field], buf);
	}
	return 0;
}

static int do_kill(struct ctx_opts *o)
{
	long pid = 0, v;
	int sig = SIGKILL;

	if (o->pid && cli_parse_long(o->pid, 0, INT_MAX, &pid)) {
		cli_error("ctx kill: bad pid '%s'", o->pid);
		return EXIT_USAGE;
	}
	if (o->sig) {
		sig = cli_parse_long(o->sig, 0, NSIG - 1, &v) ? -1 : (int)v;
		if (sig < 0 && *o->sig && (*o->sig < '0' || *o->sig > '9')) {
			const char *n = o->sig + (strncasecmp(o->sig, "SIG", 3) ? 0 : 3);

			for (sig = 1; sig < NSIG; sig++)
				if (sigabbrev_np(sig) && !strcasecmp(n, sigabbrev_np(sig)))
					break;
		}
		if (sig < 0 || sig >= NSIG) {
			cli_error("ctx kill: unknown signal '%s'", o->sig);
			return EXIT_USAGE;
		}
	}
	if (vx_kill(o->xid, (pid_t)pid, sig))
		return fail(-1);
	return 0;
}

static int do_wait(struct ctx_opts *o)
{
	vx_wait_t w;

	if (vx_wait(o->xid, &w))
		return fail(-1);
	printf("%d\n", w.exit_code);
	if (w.reboot_cmd)
		printf("reboot_cmd: %#x (%s)\n", (uint32_t)w.reboot_cmd,
		       (uint32_t)w.reboot_cmd == (uint32_t)RB_AUTOBOOT ? "RESTART" : "POWER_OFF");
	return w.exit_code;
}

static const struct {
	const char *name;
	const char *allowed; /* option letters */
	int need_xid;
} subs[] = {
	{ "create", "fHbcnNRL", 1 }, { "exec", "", 1 },	   { "list", "", 0 },
	{ "info", "", 1 },	     { "stat", "", 1 },	   { "flags", "sC", 1 },
	{ "caps", "sC", 1 },	     { "bcaps", "sC", 1 }, { "uname", "s", 1 },
	{ "kill", "pS", 1 },	     { "wait", "", 1 },
};

int cmd_ctx(int argc, char **argv)
{
	struct ctx_opts o = { 0 };
	const char *sub = "";
	size_t i;
	int ret;

	/* options before the subcommand: --rundir and the common ones */
	optind = 0;
	ret = parse(argc, argv, "", &o);
	if (!ret && optind >= argc) {
		cli_error("ctx: expected a subcommand (see vxcr ctx --help)");
		return EXIT_USAGE;
	}
	if (!ret) {
		argc -= optind;
		argv += optind;
		sub = argv[0];
		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			if (!strcmp(subs[i].name, sub))
				break;
		if (i == sizeof(subs) / sizeof(subs[0])) {
			cli_error("ctx: unknown subcommand '%s' (see vxcr ctx --help)", sub);
			return EXIT_USAGE;
		}
		ret = parse_all(argc, argv, subs[i].allowed, subs[i].need_xid,
				!strcmp(sub, "create"), &o);
	}
	if (ret == 1)
		ctx_usage(stdout);
	if (ret == 2)
		return cli_print_version();
	if (ret)
		return ret > 0 ? 0 : EXIT_USAGE;
	if (o.rundir && vxcr_ctx_set_rundir(o.rundir)) {
		cli_error("ctx: --rundir: %s", strerror(ENOMEM));
		return 1;
	}
	if (o.nrest && strcmp(sub, "create") && strcmp(sub, "exec")) {
		cli_error("ctx %s: unexpected argument '%s' (see vxcr ctx --help)", sub, o.rest[0]);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "create"))
		return do_create(&o);
	if (!strcmp(sub, "exec"))
		return do_exec(&o);
	if (!strcmp(sub, "list"))
		return do_list(&o);
	if (!strcmp(sub, "info"))
		return do_info(&o);
	if (!strcmp(sub, "stat"))
		return do_stat(&o);
	if (!strcmp(sub, "uname"))
		return do_uname(&o);
	if (!strcmp(sub, "kill"))
		return do_kill(&o);
	if (!strcmp(sub, "wait"))
		return do_wait(&o);
	return do_bits(&o, sub);
}
