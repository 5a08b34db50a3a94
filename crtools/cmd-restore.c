/* vxcr restore (stub, to be written) */
#include "cmd.h"

int cmd_restore(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_error("restore: not implemented yet");
	return 1;
}
