/*
 * vxcr nodes: the nodes of the node list (vxcr/bproc.h), each asked for
 * its status over the authenticated migration channel.  vxcr ghost: the
 * program a moved process's original execs (vx_move), not for people.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "cmd.h"

static void nodes_usage(FILE *f)
{
	fprintf(f, "usage: vxcr nodes [--nodes FILE] [-v]\n"
		   "\n"
		   "Lists the nodes processes move to with vx_move(3) (bproc(3)): each node's\n"
		   "number, address, and whether it is up (it answered a status request over\n"
		   "the authenticated channel, with our keys: $VXCR_KEYS, default\n"
		   "/etc/vxcr/migrate): its load and the moved processes running there; or\n"
		   "why it is down.\n"
		   "\n"
		   "      --nodes FILE     the node list (default $VXCR_NODES, /etc/vxcr/nodes)\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: 0 (every node up), 1 a node down or the list bad, 2 usage.\n");
}

enum { OPT_NODES = 256 };

static const struct option nodes_options[] = {
	{ "nodes", required_argument, NULL, OPT_NODES },
	CLI_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

int cmd_nodes(int argc, char **argv)
{
	struct vx_node_status *v;
	const char *file = NULL;
	int c, down = 0;
	size_t n;

	while ((c = getopt_long(argc, argv, ":vh", nodes_options, NULL)) != -1) {
		switch (c) {
		case OPT_NODES:
			file = optarg;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			nodes_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			cli_bad_option("nodes", "vxcr nodes", c, argv);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("nodes: unexpected argument '%s' (see vxcr nodes --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (vx_nodes_status(file, &v, &n)) {
		cli_error("nodes: %s", vxcr_last_error());
		return 1;
	}
	printf("%-5s %-24s %-5s %-8s %-6s %s\n", "NODE", "ADDRESS", "STATE", "LOAD", "MOVED",
	       "CPUS");
	for (size_t i = 0; i < n; i++) {
		if (v[i].up) {
			printf("%-5d %-24s %-5s %-8.2f %-6u %u\n", v[i].node, v[i].addr, "up",
			       v[i].load_milli / 1000.0, v[i].moved, v[i].ncpu);
			continue;
		}
		down++;
		printf("%-5d %-24s %-5s (%s)\n", v[i].node, v[i].addr, "down", v[i].why);
	}
	free(v);
	return down ? 1 : 0;
}

int cmd_ghost(int argc, char **argv)
{
	long fd;

	/* FD COMM NODE PID: the last two only for vxcr ps --nodes to read */
	if (argc < 2 || argc > 6 || cli_parse_long(argv[1], 3, 1023, &fd)) {
		cli_error("ghost: run by vx_move only (usage: vxcr ghost FD [COMM NODE PID])");
		return EXIT_USAGE;
	}
	vx_ghost_run((int)fd, argc >= 3 ? argv[2] : NULL);
}
