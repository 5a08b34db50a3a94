/*
 * img_header_peek(): the image header from peeked bytes (img/peek.h).
 * Checks what identifying the image needs (magic, header length, crc, an
 * image id); the reader checks the rest (version, compression) when the
 * stream is read.
 */
#include <errno.h>
#include <string.h>

#include "img/img.h"
#include "img/img-internal.h"
#include "img/peek.h"

int img_header_peek(const void *buf, size_t len, size_t *need, uint8_t id[IMG_ID_LEN],
		    const char **why)
{
	const uint8_t *p = buf;
	uint32_t hlen;
	ImgHeader *h;

	*why = "not a vxcr image";
	if (len < IMG_PREAMBLE_LEN) {
		*need = IMG_PREAMBLE_LEN;
		return -EAGAIN;
	}
	hlen = get_le32(p + IMG_MAGIC_LEN + 4);
	if (memcmp(p, IMG_MAGIC, IMG_MAGIC_LEN) || hlen > IMG_MAX_HEADER)
		return -EBADMSG;
	if (len < IMG_PREAMBLE_LEN + (size_t)hlen + 4) {
		*need = IMG_PREAMBLE_LEN + (size_t)hlen + 4;
		return -EAGAIN;
	}
	p += IMG_PREAMBLE_LEN;
	if (crc32c(0, p, hlen) != get_le32(p + hlen)) {
		*why = "image header checksum mismatch";
		return -EBADMSG;
	}
	h = img_header__unpack(NULL, hlen, p);
	if (!h || !h->has_image_id || h->image_id.len != IMG_ID_LEN) {
		*why = "image header without an image id";
		if (h)
			img_header__free_unpacked(h, NULL);
		return -EBADMSG;
	}
	memcpy(id, h->image_id.data, IMG_ID_LEN);
	img_header__free_unpacked(h, NULL);
	return 0;
}
