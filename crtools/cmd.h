/* Subcommands of vxcr.  Each returns the process exit code: 0 ok, 1 failure, 2 usage. */
#ifndef VXCR_CMD_H
#define VXCR_CMD_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2

/*
 * Options every command and subcommand takes, with one meaning everywhere:
 * -v/--verbose, -h/--help and --version (long only).  Parsers use an
 * optstring starting with ':' (after '+' if any) so that getopt_long()
 * reports a missing argument as ':' and prints nothing itself.
 */
#define OPT_VERSION 0x1000
#define CLI_COMMON_OPTIONS                                                         \
	{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, \
	{                                                                          \
		"version", no_argument, NULL, OPT_VERSION                          \
	}

/* -v: every library log line down to debug, and the command's summary. */
extern bool cli_verbose;
void cli_set_verbose(void);
/* The lines of a usage text that describe the common options. */
void cli_common_help(FILE *f);
/* --version: "vxcr VERSION" on stdout; returns 0. */
int cli_print_version(void);
/*
 * Reports the option getopt_long() refused (c: '?' unknown, ':' missing
 * argument) as one line naming cmd ("dump", "ctx create") and pointing to
 * "HELP --help"; returns EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, const char *help, int c, char **argv);

int cmd_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_img(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ctx(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_netlock(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_ghost(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_snap(int argc, char **argv);
int cmd_binfmt(int argc, char **argv);

/* Prints "vxcr: <msg>" to stderr; with fmt NULL, "vxcr: <command>: " and
 * the error of the command's failed library call (vxcr_error()). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vxcr_dump_opts.refused: prints "vxcr: <line>" (escaped) to stderr. */
void cli_refused(const char *line, void *arg);

/*
 * Parses s as a decimal number in [min, max], strictly: digits only (a
 * leading '-' if min < 0), no sign, space or leading zero.  0 or -1.
 */
int cli_parse_long(const char *s, long min, long max, long *out);

/* The image file of vxdump -o (crtools/image-file.c). */
struct out_file {
	const char *path;
	int dirfd; /* PATH's directory, opened once */
	int fd;	   /* the new image file */
	bool sync; /* fsync the directory once PATH is replaced */
	char dirpath[PATH_MAX];
	char base[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];	  /* its temporary name, "" while unnamed or once PATH */
	char err[PATH_MAX + 128]; /* the one line saying why it failed */
};

int out_file_open(struct out_file *of, const char *path);
int out_file_commit(struct out_file *of, bool sync);
int out_file_close(struct out_file *of);
/* The image at path (NULL or "-": stdin) for reading, with trusted only
 * if nobody else can have written or replaced it; -1 after one line. */
int image_open_input(const char *what, const char *path, bool trusted);

/* vxdump --kernel (crtools/cmd-kernel.c): the kernel module checkpoints
 * pid into of (NULL: stdout); the exit code. */
int kernel_dump(pid_t pid, struct out_file *of, unsigned int flags, bool sync, bool leave_running);
/* --kernel-store or --file-contents (opt) LIST into VMAD_DUMP_* flags: 0,
 * or -1 after one line naming opt. */
int kernel_store_flags(const char *opt, const char *arg, unsigned int *flags);

#endif
