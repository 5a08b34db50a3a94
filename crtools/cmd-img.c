/*
 * vxcr img: show, print as JSON, verify or size an image.  FILE may be "-"
 * for stdin; images are read as a stream, so pipes work.  With
 * --trusted-keys DIR the image must carry a valid signature by one of the
 * keys in DIR (verify then says who signed it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "vxcr/vxcr.h"

struct img_subcmd {
	const char *name;
	enum vxcr_img_view view;
	const char *help;
};

static const struct img_subcmd subcmds[] = {
	{ "show", VXCR_IMG_SHOW, "print the header, one line per record, and sizes" },
	{ "json", VXCR_IMG_JSON, "print the image as one JSON document" },
	{ "verify", VXCR_IMG_VERIFY, "check every record, checksum and the trailer" },
	{ "size", VXCR_IMG_SIZE, "print bytes and records per record kind" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vxcr img COMMAND [--trusted-keys DIR] [-v] FILE\n"
		   "       vxcr img --help | --version\n\n"
		   "FILE is an image, or - for stdin.\n\ncommands:\n");
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		fprintf(f, "  %-7s %s\n", subcmds[i].name, subcmds[i].help);
	fprintf(f, "\noptions:\n"
		   "      --trusted-keys DIR  the image must be signed by a key DIR/NAME.pub\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 ok, 1 the image is bad or unreadable, 2 usage.\n");
}

static const struct img_subcmd *find_subcmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (!strcmp(subcmds[i].name, name))
			return &subcmds[i];
	return NULL;
}

/* Opens the image and runs sub on it, checking signatures against kr if
 * set; returns the exit code. */
static int run_subcmd(const struct img_subcmd *sub, const char *file, const struct vxcr_keyring *kr)
{
	char what[32];
	int fd, ret, code = 0;

	snprintf(what, sizeof(what), "img %s", sub->name);
	fd = image_open_input(what, file, false);
	if (fd < 0)
		return 1;
	ret = vxcr_img_print(fd, sub->view, kr, stdout);
	if (fflush(stdout) || ferror(stdout)) {
		cli_error("img %s %s: writing output: %s", sub->name, file, strerror(errno));
		code = 1;
	} else if (ret) {
		cli_error("img %s %s: %s", sub->name, file, vxcr_last_error());
	}
	if (fd > 0)
		close(fd);
	return ret ? 1 : code;
}

/* Handles options at optind (--trusted-keys into *keydir): -1 to go on,
 * else the exit code (--help, --version, usage). */
static int parse_opts(int argc, char **argv, const char **keydir)
{
	static const struct option opts[] = {
		{ "trusted-keys", required_argument, NULL, 'K' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'K':
			*keydir = optarg;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("img", "vxcr img", c, argv);
		}
	}
	return -1;
}

int cmd_img(int argc, char **argv)
{
	const struct img_subcmd *sub;
	struct vxcr_keyring *kr = NULL;
	const char *keydir = NULL;
	int ret;

	ret = parse_opts(argc, argv, &keydir);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		cli_error("img: expected COMMAND FILE (see vxcr img --help)");
		return EXIT_USAGE;
	}
	sub = find_subcmd(argv[optind]);
	if (!sub) {
		cli_error("img: unknown command '%s' (see vxcr img --help)", argv[optind]);
		return EXIT_USAGE;
	}
	optind++;
	ret = parse_opts(argc, argv, &keydir);
	if (ret >= 0)
		return ret;
	if (argc - optind != 1) {
		cli_error("img %s: expected one FILE (see vxcr img --help)", sub->name);
		return EXIT_USAGE;
	}
	if (keydir && vxcr_keyring_load(keydir, &kr)) {
		cli_error("img %s: %s", sub->name, vxcr_last_error());
		return 1;
	}
	ret = run_subcmd(sub, argv[optind], kr);
	vxcr_keyring_free(kr);
	return ret;
}
