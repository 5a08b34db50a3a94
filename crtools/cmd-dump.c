/* vxcr dump (stub, to be written) */
#include "cmd.h"

int cmd_dump(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_error("dump: not implemented yet");
	return 1;
}
