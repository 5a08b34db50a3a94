/* vxcr check (stub, to be written) */
#include "cmd.h"

int cmd_check(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_error("check: not implemented yet");
	return 1;
}
