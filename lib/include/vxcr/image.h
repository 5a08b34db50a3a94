/*
 * vxcr image format v1: the numbers and fixed layouts of an image stream.
 *
 * docs/image-format.md is the specification (stream layout, record order,
 * ids, what each record requires); this header is its C form, shared by
 * lib/img and kernel/.  It needs nothing but <linux/types.h>, which both
 * the kernel and userspace have: no libc, no protobuf-c.  The protobuf
 * payloads are defined in the .proto files of images/.
 *
 * Byte order: every integer stored outside protobuf is little-endian
 * (__le32/__le64).  The userspace engine runs on x86_64 and reads and
 * writes them natively; a big-endian writer converts (cpu_to_le*).
 *
 * Stream: preamble (struct img_preamble), header (protobuf img_header,
 * hdr_len bytes), __le32 crc32c of the header, then the body: records
 * (struct img_rec_hdr, payload, __le32 crc32c), through zstd when the
 * header says so, the trailer record last.
 *
 * Versioning: IMG_FORMAT_VERSION is bumped only when an old reader would
 * misread a new image (a framing change, a required record whose meaning
 * changes).  New optional protobuf fields and new optional record types do
 * not bump it.  A reader refuses versions newer than its own.  Numbers are
 * never reused: a retired record type keeps its number, marked retired.
 *
 * When adding a record type: a number in enum img_rec_type; a row in the
 * table of lib/img/records.c (name, optional bit, protobuf descriptor or
 * raw prefix); its frozen value in tests/header/image-h.c; a
 * round-trip case in tests/unit/test_img.c; its section in
 * docs/image-format.md (order, ids, required fields); a one-line comment
 * on its message and every field in images/; its writer's row in
 * writers[] of lib/dump/dump.c; restore's row in RST_KEPT_RECORDS
 * (lib/restore/restore.h) or readers[] (lib/restore/plan.c).
 */
#ifndef _VXCR_IMAGE_H
#define _VXCR_IMAGE_H

#include <linux/types.h>

/* ---- Preamble and header ---- */

#define IMG_MAGIC "VXCRIMG\n" /* 8 bytes, no terminating NUL */
#define IMG_MAGIC_LEN 8
#define IMG_FORMAT_VERSION 1

/* First bytes of every image.  hdr_len bytes of protobuf img_header and
 * their __le32 crc32c follow; neither is ever compressed. */
struct img_preamble {
	__u8 magic[IMG_MAGIC_LEN]; /* IMG_MAGIC */
	__le32 version;		   /* IMG_FORMAT_VERSION of the writer, >= 1 */
	__le32 hdr_len;		   /* header bytes, at most IMG_MAX_HEADER */
} __attribute__((packed));

#define IMG_PREAMBLE_LEN 16	   /* sizeof(struct img_preamble) */
#define IMG_MAX_HEADER (64u << 10) /* readers refuse a longer header */
#define IMG_CRC_LEN 4		   /* a __le32 crc32c (Castagnoli) */

/* ---- Records ---- */

/* Head of every record.  length payload bytes and a __le32 crc32c over
 * this head and the payload follow. */
struct img_rec_hdr {
	__le32 type;   /* enum img_rec_type */
	__le32 flags;  /* IMG_RF_* */
	__le64 length; /* payload bytes, at most IMG_MAX_RECORD */
} __attribute__((packed));

#define IMG_REC_HDR_LEN 16	      /* sizeof(struct img_rec_hdr) */
#define IMG_MAX_RECORD (256ull << 20) /* readers refuse a longer payload */

/* img_rec_hdr.flags.  IMG_RF_OPTIONAL: a reader that does not know the
 * type skips the record; without it an unknown type fails the image. */
#define IMG_RF_OPTIONAL 0x1u

/*
 * Record types.  The payload is the protobuf message named, or for raw
 * records a packed prefix and bytes.  Never renumber; a retired type keeps
 * its number.
 */
enum img_rec_type {
	IMG_REC_TRAILER = 1,	  /* img_trailer: last record */
	IMG_REC_TASK = 2,	  /* task_entry: one per process */
	IMG_REC_CORE = 3,	  /* core_entry: one per thread */
	IMG_REC_CREDS = 4,	  /* creds_entry: one per live process */
	IMG_REC_SIGNALS = 5,	  /* signals_entry: one per live process */
	IMG_REC_MM = 6,		  /* mm_entry: one per address space */
	IMG_REC_FILE = 7,	  /* file_entry: one per file description */
	IMG_REC_FDTABLE = 8,	  /* fdtable_entry: one per fd table */
	IMG_REC_PAGES = 9,	  /* raw: struct img_pages_prefix + pages */
	IMG_REC_FILE_DATA = 10,	  /* raw: struct img_data_prefix + bytes */
	IMG_REC_PIPE_DATA = 11,	  /* raw: struct img_data_prefix + bytes */
	IMG_REC_SHMEM_PAGES = 12, /* raw: struct img_pages_prefix (mm_id =
					 * shmem id, addr = offset) + pages */
	IMG_REC_SYSV_SHM = 13,	  /* sysv_shm_entry: one per SysV segment */
	IMG_REC_CONTEXT = 14,	  /* ctx_entry: first record of a context image */
	IMG_REC_SECCOMP = 15,	  /* seccomp_entry: one, if any thread has a filter */
	IMG_REC_LOCK = 16,	  /* lock_entry: one per held file lock */
	IMG_REC_SIGNATURE = 17,	  /* sig_entry: optional (IMG_RF_OPTIONAL) */
	IMG_REC_CGROUP = 19,	  /* cgroup_entry: one, if some thread is not in
					 * the root's cgroup (18: another branch's) */
	IMG_REC_SK_QUEUE = 20,	  /* raw: struct img_data_prefix (id = file id of
					 * an AF_UNIX or TCP socket, or of a UDP
					 * socket: one datagram) + bytes it has queued */
	IMG_REC_MOUNTS = 21,	  /* mounts_entry: one, if the root is in a mount
					 * namespace of its own */
	IMG_REC_IPCNS = 22,	  /* ipcns_entry: one, if the root is in an IPC
					 * namespace of its own */
	IMG_REC_NETNS = 23,	  /* netns_entry: one, if the root is in a network
					 * namespace of its own */
	IMG_REC_LIMITS = 24,	  /* limits_entry: one, if some group has settings
					 * or the tree has a time namespace of its own */
	IMG_REC_TMPFS_DATA = 25,  /* raw: struct img_data_prefix (id = tmpfs_node
					 * id) + bytes of that file at offset */
};

/* The kinds of record, other than pages, the trailer and optional ones,
 * of a single-process image the kernel module's restart (vmad_undump)
 * restores; it refuses an image with any other required kind.  vxrestore
 * --kernel asks the same before it makes a process. */
static inline int img_rec_vmad_restores(__u32 type)
{
	switch (type) {
	case IMG_REC_TASK:
	case IMG_REC_CORE:
	case IMG_REC_CREDS:
	case IMG_REC_SIGNALS:
	case IMG_REC_MM:
	case IMG_REC_FILE:
	case IMG_REC_FDTABLE:
		return 1;
	default:
		return 0;
	}
}

/* ---- Compression (img_header.compression = COMP_ZSTD) ---- */

/* The body is cut into independent zstd frames of at most this much input;
 * a signature segment is one frame as stored (see IMG_SIG_*). */
#define IMG_FRAME_BYTES (4u << 20)
/* Every frame: window exactly 2^IMG_ZSTD_WINDOW_LOG, no dictionary id, no
 * reserved or unused header bit set; readers refuse other frame headers. */
#define IMG_ZSTD_WINDOW_LOG 22

/* ---- Raw record prefixes ---- */

/*
 * PAGES: whole pages, contiguous from addr, inside one memory area of
 * address space mm_id.  SHMEM_PAGES: the same with mm_id = shmem id and
 * addr = byte offset in the object.
 */
struct img_pages_prefix {
	__le64 addr;  /* address, or offset for SHMEM_PAGES */
	__le32 mm_id; /* mm_entry.mm_id, or the shmem id */
	__le32 flags; /* IMG_PAGES_* */
} __attribute__((packed));

/*
 * img_pages_prefix.flags (PAGES only).  IMG_PAGES_ZERO: no page bytes
 * follow the prefix but a __le64 length; the range [addr, addr + length)
 * must read as zeros in mm_id (a child's area inherited from its parent,
 * where the parent's copy would otherwise show through).
 */
#define IMG_PAGES_ZERO 0x1
/*
 * IMG_PAGES_PARENT: no page bytes follow the prefix but a __le64 length;
 * the pages of [addr, addr + length) in mm_id are those of the parent
 * store (an earlier image, or pages a live migration copied before the
 * freeze), keyed by the pid of the TASK whose address space mm_id is.
 * The image header's parent_id names the store; a reader without it, or
 * whose store lacks a page of the range, refuses the image.
 */
#define IMG_PAGES_PARENT 0x2
/*
 * IMG_PAGES_LAZY: no page bytes follow the prefix but a __le64 length;
 * [addr, addr + length) of mm_id (in a private anonymous area) comes
 * later, from a live migration's page server (vxcr migrate --lazy): the
 * restore registers it with a userfaultfd and the pages are copied in on
 * fault.  Only a restore with a page server accepts it; vxrestore of a
 * file refuses the image.
 */
#define IMG_PAGES_LAZY 0x4
#define IMG_PAGES_KNOWN (IMG_PAGES_ZERO | IMG_PAGES_PARENT | IMG_PAGES_LAZY)

/* FILE_DATA (id = file_entry.id of a deleted file) and PIPE_DATA (id =
 * file_entry.pipe_id): bytes of object id starting at offset.  SK_QUEUE
 * (id = file_entry.id of a FILE_UNIXSK socket): bytes of its receive
 * queue starting at offset, records of a socket in order; for a datagram
 * or seqpacket socket each record is one whole message. */
struct img_data_prefix {
	__le32 id;     /* file id or pipe id */
	__le32 flags;  /* 0: none defined */
	__le64 offset; /* in the file, or in the pipe's buffered
					 * bytes (records of a pipe in order) */
} __attribute__((packed));

/* ---- Values of protobuf fields that are plain integers ---- */

/* task_entry.state */
#define TASK_STATE_ALIVE 1
#define TASK_STATE_DEAD 2    /* zombie */
#define TASK_STATE_STOPPED 3 /* job-control stopped: stays stopped */

/* task_entry.ctty: its controlling terminal */
#define VXCR_CTTY_NONE 0
#define VXCR_CTTY_OUTSIDE 1 /* the tree's terminal outside it: the invoking one */
#define VXCR_CTTY_PTY 2	    /* a pty pair of the tree: task_entry.ctty_pty_id */

/* vma_entry.madv bits */
#define VXCR_MADV_DONTFORK 0x1
#define VXCR_MADV_DONTDUMP 0x2
#define VXCR_MADV_HUGEPAGE 0x4
#define VXCR_MADV_NOHUGEPAGE 0x8
#define VXCR_MADV_WIPEONFORK 0x10
#define VXCR_MADV_MERGEABLE 0x20
#define VXCR_MADV_RANDOM 0x40	    /* MADV_RANDOM ("rr") */
#define VXCR_MADV_SEQUENTIAL 0x80   /* MADV_SEQUENTIAL ("sr") */
#define VXCR_MADV_LOCKED 0x100	    /* mlock()ed ("lo"), locked at the end of restore */
#define VXCR_MADV_LOCKONFAULT 0x200 /* with MLOCK_ONFAULT ("lf"); needs LOCKED */
#define VXCR_MADV_SEALED 0x400	    /* mseal()ed ("sl"), sealed last */
#define VXCR_MADV_GUARD 0x800	    /* may hold guard regions ("gu"): vma_entry.guards */
#define VXCR_MADV_KNOWN 0xfff	    /* every bit this version restores */

/* vma_entry.flags: MAP_DROPPABLE (Linux 6.11+, "dp"), a map type instead of
 * MAP_PRIVATE; only for VMA_ANON */
#define VXCR_MAP_DROPPABLE 0x08

/* mm_entry.mlockall: the MCL_* flags of mlockall() that outlive the call */
#define VXCR_MCL_FUTURE 0x2  /* MCL_FUTURE: new areas are locked */
#define VXCR_MCL_ONFAULT 0x4 /* MCL_ONFAULT: ... on fault; needs FUTURE */

/* mm_entry.vdso_digest: __u32 crc32c seeded 0, __u32 crc32c seeded
 * 0x5a5a5a5a, __u32 length, of the [vdso] text (host order). */
#define IMG_VDSO_DIGEST_LEN 12

/* ---- Signatures (SIGNATURE record, sig_entry) ---- */

#define IMG_KEY_ID_LEN 8      /* sig_entry.key_id */
#define IMG_SIG_DIGEST_LEN 32 /* sig_entry.digest */
#define IMG_SIG_LEN 64	      /* sig_entry.signature: Ed25519 */
#define IMG_SIG_SCOPE_PLAN 1  /* sig_entry.scope: before the first page record */
#define IMG_SIG_SCOPE_FINAL 2 /* just before the trailer */
/* sig_entry.scheme: what digest covers (docs/image-format.md, section 10);
 * absent: 1, retired (BLAKE2b over the uncompressed body) */
#define IMG_SIG_SCHEME 2

#endif
