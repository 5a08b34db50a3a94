/*
 * The image header read from bytes peeked at the start of a stream, for a
 * caller that must not consume them (the switch's restart compares the
 * image's checkpoint id before vxcr_restore() reads the stream).  The
 * header's layout: docs/image-format.md section 2, vxcr/image.h.
 */
#ifndef VXCR_IMG_PEEK_H
#define VXCR_IMG_PEEK_H

#include <stddef.h>
#include <stdint.h>

#define IMG_ID_LEN	16	/* ImgHeader.image_id */

/*
 * Parses the preamble, header and header crc at the start of buf (len
 * bytes).  Returns 0 with the image id in id; -EAGAIN with *need set when
 * len is shorter than they are (call again with *need bytes); -EBADMSG
 * when they are not a vxcr image header, with *why saying so in a few
 * words (nothing is logged: the caller names the stream).  -ENOMEM.
 */
int img_header_peek(const void *buf, size_t len, size_t *need, uint8_t id[IMG_ID_LEN],
		    const char **why);

#endif
