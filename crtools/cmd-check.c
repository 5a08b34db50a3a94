/*
 * vxcr check: probes the kernel features the engine uses and prints one line
 * per feature ("ok", "MISSING" for a required one, "no" for an optional or
 * informational one) with the reason.  Exits 1 if a required one is missing.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

static void check_usage(FILE *f)
{
	fprintf(f, "usage: vxcr check [-q] [-v]\n"
		   "       vxcr check --help | --version\n\n"
		   "Prints one line per kernel feature vxcr uses: ok, MISSING (a required\n"
		   "one) or no (an optional one), and why.\n\n"
		   "  -q, --quiet          print only missing required features\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 if every required feature works, 1 otherwise, 2 usage.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct vxcr_feature f[32];
	int i, n, c, missing = 0, quiet = 0;

	while ((c = getopt_long(argc, argv, ":qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			check_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("check", "vxcr check", c, argv);
		}
	}
	if (optind < argc) {
		cli_error("check: unexpected argument '%s' (see vxcr check --help)", argv[optind]);
		return EXIT_USAGE;
	}

	n = vxcr_check_features(f, (int)(sizeof(f) / sizeof(f[0])));
	for (i = 0; i < n; i++) {
		const char *state = f[i].present ? "ok" : f[i].required ? "MISSING" : "no";

		if (!f[i].present && f[i].required)
			missing++;
		else if (quiet)
			continue;
		printf("%-8s %-24s %s\n", state, f[i].name, f[i].detail);
	}
	if (missing)
		cli_error("check: %d required feature%s missing", missing, missing == 1 ? "" : "s");
	return missing ? 1 : 0;
}
