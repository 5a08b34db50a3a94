/*
 * vxcr binfmt: executable images through binfmt_misc.
 *
 *   vxcr binfmt install [--name N] [--interpreter PATH] [--dir DIR]
 *   vxcr binfmt uninstall [--name N] [--dir DIR]
 *   vxcr binfmt status [--name N] [--dir DIR]
 *
 * install registers an entry matching the image header's magic
 * ("VXCRIMG\n" at offset 0) whose interpreter is vxcr-exec (beside this
 * vxcr unless --interpreter), so that an image with the execute bit runs
 * by itself: `./snap.vx` becomes the process it holds (vmad_undump) with
 * the shell's pid and stdio.  Flags: F (the interpreter is opened once,
 * here: later exec's use that file, whatever its path holds then, and it
 * works in other mount namespaces and chroots) and O (the kernel opens the
 * image and hands vxcr-exec the fd: no second lookup of a path someone
 * could swap, and an image the invoker cannot read makes the process
 * non-dumpable, which the undump's helper then cannot trace: refused).
 * Never C: credentials come from the invoker, never from the image file
 * (no setuid-like images).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"
#define BINFMT_MAGIC_FS 0x42494e4d /* "BINM", statfs f_type */
#define BINFMT_NAME "vxcr"
/* the image header's magic (vxcr/image.h IMG_MAGIC), as binfmt_misc reads it */
#define BINFMT_IMG_MAGIC "VXCRIMG\\x0a"

struct binfmt_opts {
	const char *name;
	const char *dir;
	const char *interp;
};

static void binfmt_usage(FILE *f)
{
	fprintf(f, "usage: vxcr binfmt install [-v] [--name N] [--interpreter PATH] [--dir DIR]\n"
		   "       vxcr binfmt uninstall [-v] [--name N] [--dir DIR]\n"
		   "       vxcr binfmt status [-v] [--name N] [--dir DIR]\n"
		   "       vxcr binfmt --help | --version\n\n"
		   "Executable images: install registers a binfmt_misc entry (default name\n"
		   "vxcr) matching the image magic, with vxcr-exec (beside vxcr) as its\n"
		   "interpreter and flags F and O, so that an image with the execute bit\n"
		   "runs by itself and becomes the process it holds, with the invoker's pid,\n"
		   "stdio and rights.  uninstall removes the entry, status shows it.\n\n"
		   "      --name N         the entry's name (default " BINFMT_NAME ")\n"
		   "      --interpreter PATH  install: the interpreter (default vxcr-exec\n"
		   "                       beside vxcr)\n"
		   "      --dir DIR        where binfmt_misc is mounted (default\n"
		   "                       " BINFMT_DIR ")\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 ok, 1 failure (not mounted, not writable, not\n"
		   "installed), 2 usage.\n");
}

/* binfmt_misc is mounted at dir.  0, or 1 after one line. */
static int check_mounted(const char *dir)
{
	struct statfs sf;
	char reg[PATH_MAX];

	if (statfs(dir, &sf) || sf.f_type != BINFMT_MAGIC_FS) {
		cli_error("binfmt: binfmt_misc is not mounted at %s (mount -t binfmt_misc "
			  "binfmt_misc %s)",
			  dir, dir);
		return 1;
	}
	snprintf(reg, sizeof(reg), "%s/register", dir);
	if (access(reg, F_OK)) {
		cli_error("binfmt: %s: no register file: %s", dir, strerror(errno));
		return 1;
	}
	return 0;
}

/* A name binfmt_misc takes and that cannot name another of its files. */
static bool good_name(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 64 || !strcmp(n, "register") || !strcmp(n, "status") || n[0] == '.')
		return false;
	return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       len;
}

/* vxcr-exec beside our own binary, into buf.  0 or 1 after one line. */
static int default_interp(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0) {
		cli_error("binfmt: cannot read /proc/self/exe: %s", strerror(errno));
		return 1;
	}
	self[n] = 0;
	snprintf(buf, len, "%s/vxcr-exec", dirname(self));
	return 0;
}

/* The interpreter is an absolute path to an executable regular file. */
static int check_interp(const char *p)
{
	struct stat st;

	if (p[0] != '/' || strpbrk(p, ": \n")) {
		cli_error("binfmt: interpreter %s: must be an absolute path without ':', "
			  "spaces or newlines",
			  p);
		return 1;
	}
	if (stat(p, &st) || !S_ISREG(st.st_mode) || access(p, X_OK)) {
		cli_error("binfmt: interpreter %s is not there or not executable (make "
			  "install puts vxcr-exec beside vxcr)",
			  p);
		return 1;
	}
	return 0;
}

/* Writes s to dir/file.  0, or 1 after one line saying why. */
static int write_entry(const char *dir, const char *file, const char *s, const char *what)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("binfmt: binfmt_misc at %s is not writable (%s): %s", dir, path,
			  strerror(errno));
		return 1;
	}
	n = write(fd, s, strlen(s));
	if (n != (ssize_t)strlen(s)) {
		cli_error("binfmt: %s: %s refused: %s", path, what, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static bool installed(const struct binfmt_opts *o)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", o->dir, o->name);
	return !access(path, F_OK);
}

static int binfmt_install(const struct binfmt_opts *o)
{
	char interp[PATH_MAX], reg[PATH_MAX + 128];

	if (o->interp)
		snprintf(interp, sizeof(interp), "%s", o->interp);
	else if (default_interp(interp, sizeof(interp)))
		return 1;
	if (check_interp(interp) || check_mounted(o->dir))
		return 1;
	if (installed(o)) {
		cli_error("binfmt: %s/%s exists already (vxcr binfmt uninstall --name %s first)",
			  o->dir, o->name, o->name);
		return 1;
	}
	snprintf(reg, sizeof(reg), ":%s:M:0:%s::%s:FO", o->name, BINFMT_IMG_MAGIC, interp);
	if (write_entry(o->dir, "register", reg, "the registration"))
		return 1;
	if (cli_verbose)
		fprintf(stderr, "vxcr: binfmt: %s registered, interpreter %s\n", o->name, interp);
	return 0;
}

static int binfmt_uninstall(const struct binfmt_opts *o)
{
	if (check_mounted(o->dir))
		return 1;
	if (!installed(o)) {
		cli_error("binfmt: %s is not installed in %s", o->name, o->dir);
		return 1;
	}
	return write_entry(o->dir, o->name, "-1", "the removal");
}

static int binfmt_status(const struct binfmt_opts *o)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	if (check_mounted(o->dir))
		return 1;
	snprintf(path, sizeof(path), "%s/%s", o->dir, o->name);
	f = fopen(path, "re");
	if (!f) {
		printf("%s: not installed in %s\n", o->name, o->dir);
		return 1;
	}
	printf("%s: installed in %s\n", o->name, o->dir);
	while (fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
	return 0;
}

int cmd_binfmt(int argc, char **argv)
{
	enum { OPT_NAME = 0x2000, OPT_INTERP, OPT_DIR };
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "interpreter", required_argument, NULL, OPT_INTERP },
		{ "dir", required_argument, NULL, OPT_DIR },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct binfmt_opts o = { BINFMT_NAME, BINFMT_DIR, NULL };
	const char *sub;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_INTERP:
			o.interp = optarg;
			break;
		case OPT_DIR:
			o.dir = optarg;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			binfmt_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("binfmt", "vxcr binfmt", c, argv);
		}
	}
	if (!good_name(o.name)) {
		cli_error("binfmt: bad name '%s' (letters, digits, '_', '.', '-'; at most 64)",
			  o.name);
		return EXIT_USAGE;
	}
	sub = optind < argc ? argv[optind] : "";
	if (argc - optind == 1 && !strcmp(sub, "install"))
		return binfmt_install(&o);
	if (argc - optind == 1 && !strcmp(sub, "uninstall"))
		return binfmt_uninstall(&o);
	if (argc - optind == 1 && !strcmp(sub, "status"))
		return binfmt_status(&o);
	cli_error("binfmt: expected 'install', 'uninstall' or 'status' (see vxcr binfmt --help)");
	return EXIT_USAGE;
}
