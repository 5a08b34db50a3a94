/*
 * vxcr ps --nodes: the processes moved from here to nodes (vx_move,
 * vxcr/bproc.h), as their ghosts' command lines say.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "cmd.h"

enum { OPT_NODES = 256 };

static void ps_usage(FILE *f)
{
	fprintf(f, "usage: vxcr ps --nodes\n"
		   "\n"
		   "Lists the processes moved from here to nodes (vx_move(3), bproc(3)): the\n"
		   "pid here (its ghost's), the node, the pid there and the command.\n"
		   "\n"
		   "      --nodes          where moved processes run (the only listing yet)\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0, 1 failure, 2 usage.\n");
}

static const struct option ps_options[] = {
	{ "nodes", no_argument, NULL, OPT_NODES },
	CLI_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

int cmd_ps(int argc, char **argv)
{
	struct vx_moved *v;
	bool nodes = false;
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, ":vh", ps_options, NULL)) != -1) {
		switch (c) {
		case OPT_NODES:
			nodes = true;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			ps_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			cli_bad_option("ps", "vxcr ps", c, argv);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !nodes) {
		cli_error("ps: %s (see vxcr ps --help)",
			  nodes ? "unexpected argument" : "--nodes is the only listing");
		return EXIT_USAGE;
	}
	if (vx_moved_list(&v, &n)) {
		cli_error("ps: %s", vxcr_last_error());
		return 1;
	}
	printf("%-8s %-5s %-8s %s\n", "PID", "NODE", "NODEPID", "COMMAND");
	for (size_t i = 0; i < n; i++)
		printf("%-8d %-5d %-8d %s\n", (int)v[i].pid, v[i].node, (int)v[i].node_pid,
		       v[i].comm);
	free(v);
	return 0;
}
