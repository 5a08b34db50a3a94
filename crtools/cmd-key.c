/*
 * vxcr key: keys that sign images.
 *
 *   vxcr key new DIR/NAME
 *
 * Makes an Ed25519 key pair: DIR/NAME.key (secret, 0600: for vxdump --sign)
 * and DIR/NAME.pub (public: copy it into the --trusted-keys directory of
 * the hosts that restore).  Never replaces an existing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

static void key_usage(FILE *f)
{
	fprintf(f, "usage: vxcr key new [-v] DIR/NAME\n"
		   "       vxcr key --help | --version\n\n"
		   "Makes an Ed25519 key pair to sign images: DIR/NAME.key (secret, 0600,\n"
		   "for vxdump --sign) and DIR/NAME.pub (public, for the directory given to\n"
		   "vxrestore --trusted-keys and vxcr img verify --trusted-keys).  Never\n"
		   "replaces an existing file.\n\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 the pair is made, 1 failure, 2 usage.\n");
}

/* vxcr key new DIR/NAME: 0 or 1 after one line. */
static int key_new(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], id[17];
	int dirfd, ret;

	if (slash && (size_t)(slash - path) >= sizeof(dir)) {
		cli_error("key new: %s: name too long", path);
		return 1;
	}
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		cli_error("key new: directory %s: %s", dir, strerror(errno));
		return 1;
	}
	ret = vxcr_key_new(dirfd, slash ? slash + 1 : path, id);
	close(dirfd);
	if (ret) {
		cli_error("key new: %s", vxcr_last_error());
		return 1;
	}
	printf("%s.key (secret) and %s.pub (public): key %s\n", path, path, id);
	return 0;
}

int cmd_key(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			key_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("key", "vxcr key", c, argv);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "new")) {
		cli_error("key: expected 'new DIR/NAME' (see vxcr key --help)");
		return EXIT_USAGE;
	}
	if (argc - optind != 2) {
		cli_error("key new: expected one DIR/NAME (see vxcr key --help)");
		return EXIT_USAGE;
	}
	return key_new(argv[optind + 1]);
}
