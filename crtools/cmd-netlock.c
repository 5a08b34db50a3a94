/*
 * vxcr netlock: the network locks vxdump --keep-net-lock left in place.
 *
 *   vxcr netlock list       the image ids of the kept locks, one a line
 *   vxcr netlock drop ID    removes the lock of image ID
 *
 * Both act on the network namespace vxcr runs in (nsenter --net=... for
 * another one).  vxrestore of the image removes its lock by itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

static void netlock_usage(FILE *f)
{
	fprintf(f, "usage: vxcr netlock list [-v]\n"
		   "       vxcr netlock drop [-v] ID\n"
		   "       vxcr netlock --help | --version\n\n"
		   "The network locks vxdump --keep-net-lock left in this network namespace\n"
		   "(nftables tables inet vxcr_img_ID, dropping the packets of the dumped\n"
		   "tree's TCP connections until vxrestore of image ID removes them).\n"
		   "list prints the image id of each, drop removes one.\n\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 ok, 1 failure (no such lock), 2 usage.\n");
}

static void print_id(const char *id, void *arg)
{
	(void)arg;
	printf("%s\n", id);
}

int cmd_netlock(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *sub;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			netlock_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("netlock", "vxcr netlock", c, argv);
		}
	}
	sub = optind < argc ? argv[optind] : "";
	if (!strcmp(sub, "list") && argc - optind == 1) {
		if (!vxcr_netlock_list(print_id, NULL))
			return 0;
		cli_error(NULL);
		return 1;
	}
	if (!strcmp(sub, "drop") && argc - optind == 2) {
		c = vxcr_netlock_drop(argv[optind + 1]);
		if (!c)
			return 0;
		cli_error(NULL);
		return c == -EINVAL ? EXIT_USAGE : 1;
	}
	cli_error("netlock: expected 'list' or 'drop ID' (see vxcr netlock --help)");
	return EXIT_USAGE;
}
