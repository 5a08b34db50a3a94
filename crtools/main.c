/*
 * vxcr: the command line shell over libvxcr.  Dispatches subcommands from a
 * table; invoked as vxdump or vxrestore it runs that command directly.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

#define NEEDS_ROOT 0x1

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
	const char *help;
};

/* a table read by column */
/* clang-format off */
static const struct command commands[] = {
	{ "dump",    cmd_dump,    NEEDS_ROOT, "checkpoint a process into an image" },
	{ "restore", cmd_restore, NEEDS_ROOT, "restart a process from an image" },
	{ "img",     cmd_img,     0,          "show, verify or print an image as JSON" },
	{ "check",   cmd_check,   0,          "report which kernel features are usable" },
	{ "ctx",     cmd_ctx,     NEEDS_ROOT, "create, enter, list and control contexts" },
	{ "key",     cmd_key,     0,          "make a key pair to sign images with" },
	{ "netlock", cmd_netlock, NEEDS_ROOT, "list or drop network locks kept by vxdump" },
	{ "migrate", cmd_migrate, NEEDS_ROOT, "move a running process or context to another host" },
	{ "serve",   cmd_serve,   NEEDS_ROOT, "accept migrations from other hosts and restore them" },
	{ "nodes",   cmd_nodes,   0,          "list the nodes processes move to (vx_move): up, load" },
	{ "ps",      cmd_ps,      0,          "list the processes moved to nodes (--nodes)" },
	{ "ghost",   cmd_ghost,   0,          "the ghost of a moved process (run by vx_move only)" },
	{ "snap",    cmd_snap,    NEEDS_ROOT, "snapshot testing: take a ready process, run fresh copies" },
	{ "binfmt",  cmd_binfmt,  0,          "make images with the execute bit run by themselves" },
};
/* clang-format on */

/*
 * Writes msg on one line: control characters (a newline in a path from a
 * hostile image, say) and every byte >= 0x80 (an escape sequence in
 * disguise, or not text at all) are shown as \n, \t or \xNN.
 */
static void put_one_line(const char *msg)
{
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p; p++) {
		if (*p == '\n' && !p[1])
			break;
		if (*p == '\n')
			fputs("\\n", stderr);
		else if (*p == '\t')
			fputs("\\t", stderr);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	fputc('\n', stderr);
}

/* The command run, for the error of its library call. */
static const char *cli_cmd;

void cli_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	fputs("vxcr: ", stderr);
	if (!fmt) {
		const struct vxcr_error *e = vxcr_error();

		if (cli_cmd)
			fprintf(stderr, "%s: ", cli_cmd);
		put_one_line(e->msg[0] ? e->msg : e->code ? strerror(-e->code) : "failed");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put_one_line(buf);
}

void cli_refused(const char *line, void *arg)
{
	(void)arg;
	fputs("vxcr: ", stderr);
	put_one_line(line);
}

static void log_to_stderr(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	(void)arg;
	if (lvl == VXCR_LOG_ERR && !cli_verbose)
		return; /* errors are reported once, by the command, from vxcr_error() */
	fprintf(stderr, "vxcr: %s: ", names[lvl]);
	put_one_line(msg);
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
	const char *d = s + (*s == '-' && min < 0);
	char *end;
	long v;

	if (*d < '0' || *d > '9' || (d[0] == '0' && d[1]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

bool cli_verbose;

void cli_set_verbose(void)
{
	cli_verbose = true;
	vxcr_set_log_level(VXCR_LOG_DEBUG);
}

void cli_common_help(FILE *f)
{
	fprintf(f, "  -v, --verbose        log each step on stderr (as VXCR_LOG=3)\n"
		   "  -h, --help           print this help and exit\n"
		   "      --version        print the version and exit\n");
}

int cli_print_version(void)
{
	printf("vxcr %s\n", VXCR_VERSION);
	return 0;
}

int cli_bad_option(const char *cmd, const char *help, int c, char **argv)
{
	/* glibc: optopt is 0 for an unknown long option; optind is past the
	 * word that lacks its argument */
	const char *word = optind > 0 ? argv[optind - 1] : "";
	int len = (int)strcspn(word, "=");

	if (c == '?' && optopt)
		cli_error("%s: unknown option -%c (see %s --help)", cmd, optopt, help);
	else if (c == '?')
		cli_error("%s: unknown option %.*s (see %s --help)", cmd, len, word, help);
	else if (strncmp(word, "--", 2))
		cli_error("%s: option -%c needs an argument (see %s --help)", cmd, optopt, help);
	else
		cli_error("%s: option %s needs an argument (see %s --help)", cmd, word, help);
	return EXIT_USAGE;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vxcr [-v] COMMAND [ARGS...]\n"
		   "       vxcr --help | --version\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\noptions:\n");
	cli_common_help(f);
	fprintf(f, "\nvxdump and vxrestore are vxcr dump and vxcr restore.\n"
		   "Run vxcr COMMAND --help for a command's options.\n");
}

/* True for "CMD --help", "CMD SUB --help" (or -h, --version): any user may
 * ask a command that needs root for its help. */
static bool asks_for_help(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && argv[1][0] != '-')
		i = 2;
	return argc == i + 1 && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
				 !strcmp(argv[i], "--version"));
}

static int run(const struct command *c, int argc, char **argv)
{
	if ((c->flags & NEEDS_ROOT) && geteuid() != 0 && !asks_for_help(argc, argv)) {
		cli_error("%s: must be run as root", c->name);
		return 1;
	}
	cli_cmd = c->name;
	optind = 1;
	opterr = 0; /* a refused option is reported by cli_bad_option() */
	return c->fn(argc, argv);
}

static const struct command *find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *self = basename(argv[0]);
	const struct command *c;
	const char *v = getenv("VXCR_LOG");
	long level;

	vxcr_set_log(log_to_stderr, NULL);
	if (v && !cli_parse_long(v, VXCR_LOG_ERR, VXCR_LOG_DEBUG, &level))
		vxcr_set_log_level(level);

	if (!strcmp(self, "vxdump"))
		return run(find("dump"), argc, argv);
	if (!strcmp(self, "vxrestore"))
		return run(find("restore"), argc, argv);

	while (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"))) {
		cli_set_verbose();
		argv++, argc--;
	}
	if (argc < 2) {
		cli_error("no command given (see vxcr --help)");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cli_print_version();
	c = find(argv[1]);
	if (!c && argv[1][0] == '-') {
		cli_error("unknown option %s (see vxcr --help)", argv[1]);
		return EXIT_USAGE;
	}
	if (!c) {
		cli_error("unknown command '%s' (see vxcr --help)", argv[1]);
		return EXIT_USAGE;
	}
	return run(c, argc - 1, argv + 1);
}
