/*
 * A page store: page contents keyed by (process, address), held in memory
 * (one memfd, mapped), for images that take some of their pages from
 * elsewhere: the pages a live migration copied before the freeze (the
 * destination fills the store round by round) and the pages of a parent
 * image (vxdump --parent).  A PAGES record with IMG_PAGES_PARENT refers to
 * a range of the store instead of carrying the bytes.
 *
 * The key of a process is the pid its TASK record carries (a context's
 * pids are those of its own pid namespace).  Pages are whole and aligned.
 * A page put again replaces the old copy.  Not thread-safe.
 */
#ifndef VXCR_IMG_PSTORE_H
#define VXCR_IMG_PSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vxcr_pstore;

/* An empty store whose id (matched against an image's parent_id) is id
 * (16 bytes, copied).  0 or -errno. */
int pstore_new(const uint8_t id[16], struct vxcr_pstore **out);
const uint8_t *pstore_id(const struct vxcr_pstore *ps);
/* Stores len bytes (whole pages) of process key from addr.  0 or -errno
 * (-EINVAL: not page-aligned; -ENOMEM, -ENOSPC). */
int pstore_put(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, const void *data, size_t len);
/* Forgets the pages of key in [addr, addr + len) (len UINT64_MAX and addr
 * 0: every page of key).  0 or -errno. */
int pstore_drop(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint64_t len);
/*
 * The bytes of the page of key at addr, or NULL if the store does not
 * have it.  Valid until the next put or drop.
 */
const void *pstore_get(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr);
/* True if the store has every page of key in [addr, addr + len). */
bool pstore_has(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint64_t len);
/* Pages held, and the store's own memory (bytes). */
uint64_t pstore_pages(const struct vxcr_pstore *ps);
uint64_t pstore_mem(const struct vxcr_pstore *ps);
void pstore_free(struct vxcr_pstore *ps);

struct img_reader;
struct vxcr_keyring;
/*
 * Puts the pages the image on r carries itself (PAGES records without
 * flags) into ps, keyed by the pid of the first TASK of their address
 * space; a ZERO range drops its pages; a PARENT range must be in ps
 * already, unless lenient (then it is skipped: a dump comparing with its
 * parent knows only the bytes the parent holds).  name ("parent 2")
 * names the image in messages; *pages (or NULL): pages put.  0 or -errno
 * (logged).
 */
int pstore_load_image(struct vxcr_pstore *ps, struct img_reader *r, const char *name, bool lenient,
		      uint64_t *pages);
/*
 * The store of an incremental image's parents: fds[0 .. n), nearest
 * first; each one's parent_id must be the next one's image_id and the
 * last must not be incremental.  Loaded farthest first (nearer ones
 * overwrite).  With kr, each parent must be signed by a key of kr.  The
 * store's id is the nearest parent's image_id.  0 or -errno (logged).
 */
int pstore_load_chain(const int *fds, size_t n, const struct vxcr_keyring *kr,
		      struct vxcr_pstore **out);

#endif
