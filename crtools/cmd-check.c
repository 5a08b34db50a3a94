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
	fprintf(f, "usage: vxcr check [-q]\n"
		   "  -q, --quiet   print only missing required features\n"
		   "Exit status: 0 if every required feature works, 1 otherwise.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vxcr_feature f[32];
	int i, n, c, missing = 0, quiet = 0;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'h':
			check_usage(stdout);
			return 0;
		default:
			check_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		check_usage(stderr);
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
		cli_error("check: %d required feature%s missing", missing,
			  missing == 1 ? "" : "s");
	return missing ? 1 : 0;
}
