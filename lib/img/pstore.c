/*
 * The page store (pstore.h).  Page bytes live in slots of one memfd,
 * mapped shared and grown by a quarter at a time (ftruncate + mremap: no
 * copy, and a slot takes memory only once written); an open addressing
 * hash table (linear probing, at most half full) maps (key, page address)
 * to a slot; dropped slots go on a free stack and are reused before a
 * fresh one.  So the store's memory is the most pages it held at once,
 * plus at most 64 bytes of index and 5 of free stack per page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "img/pstore.h"

#define PS_PAGE 4096u
#define PS_MIN_SLOTS 64u
#define PS_MAX_SLOTS (1u << 30) /* 4 TiB of pages: slots are u32 */

struct ps_ent {
	uint64_t addr; /* page address */
	uint32_t key;
	uint32_t slot; /* slot + 1; 0: an empty entry */
};

struct vxcr_pstore {
	uint8_t id[16];
	int fd;		    /* the memfd holding the slots */
	uint8_t *map;	    /* nr_slots pages, shared */
	uint32_t nr_slots;  /* slots mapped */
	uint32_t used;	    /* slots ever handed out (the rest are fresh) */
	uint32_t *free;	    /* stack of dropped slots */
	uint32_t nr_free;   /* on the stack */
	uint32_t free_cap;  /* its room */
	struct ps_ent *tab; /* the index, tab_size entries */
	uint32_t tab_size;  /* a power of two */
	uint32_t nr_ents;   /* pages held */
};

static uint32_t ps_hash(uint32_t key, uint64_t addr)
{
	uint64_t h = (addr / PS_PAGE) * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)key * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

/* The entry of (key, addr), or the empty one where it would go. */
static struct ps_ent *ps_find(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr)
{
	uint32_t mask = ps->tab_size - 1, i = ps_hash(key, addr) & mask;

	while (ps->tab[i].slot && (ps->tab[i].key != key || ps->tab[i].addr != addr))
		i = (i + 1) & mask;
	return &ps->tab[i];
}

/* Rebuilds the index with size entries (a power of two). */
static int ps_rehash(struct vxcr_pstore *ps, uint32_t size)
{
	struct ps_ent *old = ps->tab, *e;
	uint32_t i, old_size = ps->tab_size;

	ps->tab = calloc(size, sizeof(*ps->tab));
	if (!ps->tab) {
		ps->tab = old;
		return -ENOMEM;
	}
	ps->tab_size = size;
	for (i = 0; i < old_size; i++) {
		if (!old[i].slot)
			continue;
		e = ps_find(ps, old[i].key, old[i].addr);
		*e = old[i];
	}
	free(old);
	return 0;
}

int pstore_new(const uint8_t id[16], struct vxcr_pstore **out)
{
	struct vxcr_pstore *ps = calloc(1, sizeof(*ps));
	int ret;

	if (!ps)
		return -ENOMEM;
	memcpy(ps->id, id, sizeof(ps->id));
	ps->fd = memfd_create("vxcr-pstore", MFD_CLOEXEC);
	if (ps->fd < 0) {
		ret = -errno;
		free(ps);
		return ret;
	}
	ret = ps_rehash(ps, 2 * PS_MIN_SLOTS);
	if (ret) {
		close(ps->fd);
		free(ps);
		return ret;
	}
	*out = ps;
	return 0;
}

const uint8_t *pstore_id(const struct vxcr_pstore *ps)
{
	return ps->id;
}

/* Doubles the slots (and the free stack's room). */
static int ps_grow(struct vxcr_pstore *ps)
{
	uint32_t n =
		ps->nr_slots + (ps->nr_slots / 4 > PS_MIN_SLOTS ? ps->nr_slots / 4 : PS_MIN_SLOTS);
	size_t old_len = (size_t)ps->nr_slots * PS_PAGE, len = (size_t)n * PS_PAGE;
	uint32_t *fr;
	void *m;

	if (n > PS_MAX_SLOTS)
		return -ENOSPC;
	fr = realloc(ps->free, (size_t)n * sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	ps->free = fr;
	ps->free_cap = n;
	if (ftruncate(ps->fd, (off_t)len))
		return errno == EFBIG ? -ENOSPC : -errno;
	if (ps->map)
		m = mremap(ps->map, old_len, len, MREMAP_MAYMOVE);
	else
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ps->fd, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	ps->map = m;
	ps->nr_slots = n;
	return 0;
}

/* A slot for a new page: a dropped one, else a fresh one. */
static int ps_slot(struct vxcr_pstore *ps, uint32_t *slot)
{
	int ret;

	if (ps->nr_free) {
		*slot = ps->free[--ps->nr_free];
		return 0;
	}
	if (ps->used == ps->nr_slots) {
		ret = ps_grow(ps);
		if (ret)
			return ret;
	}
	*slot = ps->used++;
	return 0;
}

/* One page: overwritten in place if held, else a new slot and entry. */
static int ps_put_page(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, const void *data)
{
	struct ps_ent *e;
	uint32_t slot;
	int ret;

	if ((uint64_t)ps->nr_ents + 1 > ps->tab_size / 2) {
		ret = ps_rehash(ps, ps->tab_size * 2);
		if (ret)
			return ret;
	}
	e = ps_find(ps, key, addr);
	if (!e->slot) {
		ret = ps_slot(ps, &slot);
		if (ret)
			return ret;
		e->key = key;
		e->addr = addr;
		e->slot = slot + 1;
		ps->nr_ents++;
	}
	memcpy(ps->map + (size_t)(e->slot - 1) * PS_PAGE, data, PS_PAGE);
	return 0;
}

int pstore_put(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t off;
	int ret;

	if (addr % PS_PAGE || len % PS_PAGE || addr + len < addr)
		return -EINVAL;
	for (off = 0; off < len; off += PS_PAGE) {
		ret = ps_put_page(ps, key, addr + off, p + off);
		if (ret)
			return ret;
	}
	return 0;
}

/* Frees e's slot and removes e, shifting back the entries after it. */
static void ps_remove(struct vxcr_pstore *ps, struct ps_ent *e)
{
	uint32_t mask = ps->tab_size - 1, i = (uint32_t)(e - ps->tab), j = i, home;

	ps->free[ps->nr_free++] = e->slot - 1;
	ps->nr_ents--;
	for (;;) {
		ps->tab[i].slot = 0;
		do {
			j = (j + 1) & mask;
			if (!ps->tab[j].slot)
				return;
			home = ps_hash(ps->tab[j].key, ps->tab[j].addr) & mask;
			/* j's entry may fill the hole at i unless its home lies
			 * cyclically in (i, j] */
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		ps->tab[i] = ps->tab[j];
		i = j;
	}
}

/* Whether (key, addr) lies in [from, from + len) of key k (len 0: all). */
static bool ps_in(const struct ps_ent *e, uint32_t k, uint64_t from, uint64_t len)
{
	return e->slot && e->key == k && e->addr >= from && e->addr - from < len;
}

/* Drops by a walk of the index: for a range larger than the table. */
static int ps_drop_scan(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint64_t len)
{
	struct ps_ent *old = ps->tab;
	uint32_t i, n = ps->tab_size;
	int ret;

	ps->tab = NULL;
	ps->tab_size = 0;
	ret = ps_rehash(ps, n);
	if (ret) {
		ps->tab = old;
		ps->tab_size = n;
		return ret;
	}
	ps->nr_ents = 0;
	for (i = 0; i < n; i++) {
		if (!old[i].slot)
			continue;
		if (ps_in(&old[i], key, addr, len)) {
			ps->free[ps->nr_free++] = old[i].slot - 1;
			continue;
		}
		*ps_find(ps, old[i].key, old[i].addr) = old[i];
		ps->nr_ents++;
	}
	free(old);
	return 0;
}

int pstore_drop(struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint64_t len)
{
	struct ps_ent *e;
	uint64_t a;

	if (len == UINT64_MAX && addr == 0)
		return ps_drop_scan(ps, key, 0, UINT64_MAX);
	if (addr % PS_PAGE || len % PS_PAGE || addr + len < addr)
		return -EINVAL;
	if (len / PS_PAGE > ps->tab_size)
		return ps_drop_scan(ps, key, addr, len);
	for (a = addr; a - addr < len; a += PS_PAGE) {
		e = ps_find(ps, key, a);
		if (e->slot)
			ps_remove(ps, e);
	}
	return 0;
}

const void *pstore_get(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr)
{
	const struct ps_ent *e;

	if (addr % PS_PAGE)
		return NULL;
	e = ps_find(ps, key, addr);
	return e->slot ? ps->map + (size_t)(e->slot - 1) * PS_PAGE : NULL;
}

bool pstore_has(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint64_t len)
{
	uint64_t a;

	if (addr % PS_PAGE || len % PS_PAGE || addr + len < addr || len / PS_PAGE > ps->nr_ents)
		return false;
	for (a = addr; a - addr < len; a += PS_PAGE)
		if (!ps_find(ps, key, a)->slot)
			return false;
	return true;
}

uint64_t pstore_pages(const struct vxcr_pstore *ps)
{
	return ps->nr_ents;
}

uint64_t pstore_mem(const struct vxcr_pstore *ps)
{
	return sizeof(*ps) + (uint64_t)ps->used * PS_PAGE +
	       (uint64_t)ps->tab_size * sizeof(*ps->tab) +
	       (uint64_t)ps->free_cap * sizeof(uint32_t);
}

void pstore_free(struct vxcr_pstore *ps)
{
	if (!ps)
		return;
	if (ps->map)
		munmap(ps->map, (size_t)ps->nr_slots * PS_PAGE);
	close(ps->fd);
	free(ps->tab);
	free(ps->free);
	free(ps);
}
