/*
 * The [vdso] digest of image format v1 (mm_entry.vdso_digest): dump records it,
 * restore refuses an image whose digest differs from its own vdso's.  One
 * definition so both sides always agree.
 */
#ifndef VXCR_VDSO_DIGEST_H
#define VXCR_VDSO_DIGEST_H

#include <stdint.h>
#include <string.h>

#include "img/img.h"

/* crc32c seeded 0, crc32c seeded 0x5a5a5a5a, the length; u32 each, host order
 * (IMG_VDSO_DIGEST_LEN bytes, vxcr/image.h). */
static inline void vdso_digest_of(const void *text, uint32_t len, uint8_t out[IMG_VDSO_DIGEST_LEN])
{
	uint32_t c1 = crc32c(0, text, len), c2 = crc32c(0x5a5a5a5a, text, len);

	memcpy(out, &c1, 4);
	memcpy(out + 4, &c2, 4);
	memcpy(out + 8, &len, 4);
}

#endif
