/* vxcr img (stub, to be written) */
#include "cmd.h"

int cmd_img(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_error("img: not implemented yet");
	return 1;
}
