/*
 * Compile-only test of lib/include/vxcr/image.h (tests/header/check.sh):
 * built freestanding with -nostdinc and only the kernel's uapi headers
 * (linux/, asm/, asm-generic/) on the include path, as kernel/ will build
 * it: the header must need no libc and no protobuf-c.  The assertions
 * freeze every number and layout of format v1 as released: a change here
 * changes the format (see the versioning rules in the header).
 */
#include "vxcr/image.h"

#define OFF(type, field) __builtin_offsetof(struct type, field)

/* preamble and header */
_Static_assert(sizeof(IMG_MAGIC) - 1 == IMG_MAGIC_LEN, "magic length");
_Static_assert(IMG_MAGIC_LEN == 8, "magic length");
_Static_assert(IMG_FORMAT_VERSION == 1, "format version");
_Static_assert(sizeof(struct img_preamble) == IMG_PREAMBLE_LEN, "preamble size");
_Static_assert(IMG_PREAMBLE_LEN == 16, "preamble size");
_Static_assert(OFF(img_preamble, version) == 8 && OFF(img_preamble, hdr_len) == 12,
	       "preamble layout");
_Static_assert(IMG_MAX_HEADER == 65536, "header limit");
_Static_assert(IMG_CRC_LEN == 4, "crc size");

/* records */
_Static_assert(sizeof(struct img_rec_hdr) == IMG_REC_HDR_LEN, "record head size");
_Static_assert(IMG_REC_HDR_LEN == 16, "record head size");
_Static_assert(OFF(img_rec_hdr, type) == 0 && OFF(img_rec_hdr, flags) == 4 &&
	       OFF(img_rec_hdr, length) == 8, "record head layout");
_Static_assert(IMG_MAX_RECORD == 268435456ull, "record limit");
_Static_assert(IMG_RF_OPTIONAL == 1, "optional flag");

_Static_assert(IMG_REC_TRAILER == 1, "TRAILER");
_Static_assert(IMG_REC_TASK == 2, "TASK");
_Static_assert(IMG_REC_CORE == 3, "CORE");
_Static_assert(IMG_REC_CREDS == 4, "CREDS");
_Static_assert(IMG_REC_SIGNALS == 5, "SIGNALS");
_Static_assert(IMG_REC_MM == 6, "MM");
_Static_assert(IMG_REC_FILE == 7, "FILE");
_Static_assert(IMG_REC_FDTABLE == 8, "FDTABLE");
_Static_assert(IMG_REC_PAGES == 9, "PAGES");
_Static_assert(IMG_REC_FILE_DATA == 10, "FILE_DATA");
_Static_assert(IMG_REC_PIPE_DATA == 11, "PIPE_DATA");
_Static_assert(IMG_REC_SHMEM_PAGES == 12, "SHMEM_PAGES");
_Static_assert(IMG_REC_SYSV_SHM == 13, "SYSV_SHM");
_Static_assert(IMG_REC_CONTEXT == 14, "CONTEXT");
_Static_assert(IMG_REC_SECCOMP == 15, "SECCOMP");
_Static_assert(IMG_REC_LOCK == 16, "LOCK");
_Static_assert(IMG_REC_SIGNATURE == 17, "SIGNATURE");
_Static_assert(IMG_REC_CGROUP == 19, "CGROUP");
_Static_assert(IMG_REC_SK_QUEUE == 20, "SK_QUEUE");

/* compression */
_Static_assert(IMG_FRAME_BYTES == 4194304, "frame size");
_Static_assert(1u << IMG_ZSTD_WINDOW_LOG == IMG_FRAME_BYTES, "zstd window = one frame");

/* raw prefixes */
_Static_assert(sizeof(struct img_pages_prefix) == 16, "pages prefix size");
_Static_assert(OFF(img_pages_prefix, addr) == 0 && OFF(img_pages_prefix, mm_id) == 8 &&
	       OFF(img_pages_prefix, flags) == 12, "pages prefix layout");
_Static_assert(_Alignof(struct img_pages_prefix) == 1, "pages prefix packed");
_Static_assert(IMG_PAGES_ZERO == 1, "zero range flag");
_Static_assert(IMG_PAGES_PARENT == 2, "parent range flag");
_Static_assert(sizeof(struct img_data_prefix) == 16, "data prefix size");
_Static_assert(OFF(img_data_prefix, id) == 0 && OFF(img_data_prefix, flags) == 4 &&
	       OFF(img_data_prefix, offset) == 8, "data prefix layout");
_Static_assert(_Alignof(struct img_data_prefix) == 1, "data prefix packed");

/* field values */
_Static_assert(TASK_STATE_ALIVE == 1 && TASK_STATE_DEAD == 2 && TASK_STATE_STOPPED == 3,
	       "task states");
_Static_assert(VXCR_CTTY_NONE == 0 && VXCR_CTTY_OUTSIDE == 1 && VXCR_CTTY_PTY == 2,
	       "task_entry.ctty values");
_Static_assert(VXCR_MADV_DONTFORK == 0x1 && VXCR_MADV_DONTDUMP == 0x2 &&
	       VXCR_MADV_HUGEPAGE == 0x4 && VXCR_MADV_NOHUGEPAGE == 0x8 &&
	       VXCR_MADV_WIPEONFORK == 0x10 && VXCR_MADV_MERGEABLE == 0x20, "madvise bits");
_Static_assert(IMG_VDSO_DIGEST_LEN == 12, "vdso digest");

/* signatures */
_Static_assert(IMG_KEY_ID_LEN == 8 && IMG_SIG_DIGEST_LEN == 32 && IMG_SIG_LEN == 64,
	       "signature sizes");
_Static_assert(IMG_SIG_SCOPE_PLAN == 1 && IMG_SIG_SCOPE_FINAL == 2, "signature scopes");
_Static_assert(IMG_SIG_SCHEME == 2, "signature scheme");

/* The fixed-width types are the kernel's own. */
static __le64 le64_of(const struct img_pages_prefix *p)
{
	return p->addr;
}

__u32 image_h_check(const struct img_rec_hdr *h, const struct img_pages_prefix *p);

__u32 image_h_check(const struct img_rec_hdr *h, const struct img_pages_prefix *p)
{
	return (__u32)h->type + (__u32)le64_of(p);
}
