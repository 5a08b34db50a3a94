/*
 * Default context engine: every context command is "function not
 * implemented" until lib/ctx links in its strong vxctx_call().
 */
#include <errno.h>

#include "switch/engine.h"

long vxctx_call_none(uint32_t cmd, uint32_t id, void *data)
{
	(void)cmd;
	(void)id;
	(void)data;
	return -ENOSYS;
}

long vxctx_call(uint32_t cmd, uint32_t id, void *data)
	__attribute__((weak, alias("vxctx_call_none")));
