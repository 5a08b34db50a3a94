/* protobuf-c helpers shared by every module that fills image messages. */
#ifndef VXCR_UTIL_PB_H
#define VXCR_UTIL_PB_H

/* Sets a proto2 optional scalar field and its has_ flag. */
#define PB_SET(msg, field, val)         \
	do {                            \
		(msg)->field = (val);   \
		(msg)->has_##field = 1; \
	} while (0)

#endif
