/*
 * What the parts of mutate-image share: the decoded image, the generator
 * and the value and record helpers of mutate-image.c, and the tree-aware
 * mutations of mutate/tree.c.
 */
#ifndef VXCR_FUZZ_MUTATE_H
#define VXCR_FUZZ_MUTATE_H

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/text.h"
#include "img/records.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"

#define PAGE		4096ull
#define MAX_DEPTH	3

/* One record of the image; msg for protobuf types, buf/len for raw ones. */
struct rec {
	uint32_t type;
	uint32_t flags;
	ProtobufCMessage *msg;
	uint8_t *buf;
	size_t len;
};

struct image {
	struct rec *recs;
	size_t n;
	size_t cap;
	bool compress;
	uint32_t root_pid;
	uint8_t parent_id[16];
	bool has_parent;
	bool tree;	/* several tasks/threads or shmem objects: see mutate_tree() */
	bool kinds;	/* a FILE of an fd kind of kinds.c or an SK_QUEUE record */
};

struct rng {
	uint64_t s;
};

ProtobufCMessage *clone_msg(const ProtobufCMessage *m);
struct rec copy_rec(const struct rec *r);
int32_t hostile_i32(struct rng *g);
char *hostile_string(struct rng *g);
void hostile_bytes(struct rng *g, ProtobufCBinaryData *b);
uint32_t hostile_u32(struct rng *g, uint32_t old);
uint64_t hostile_u64(struct rng *g, uint64_t old);
void insert_rec(struct image *im, size_t at, const struct rec *r);
/* image.c: a whole image in memory and back; 0 or -1 (said on stderr). */
int image_load(const char *path, struct image *im);
int image_save(const char *path, const struct image *im);
void mutate_msg(struct rng *g, ProtobufCMessage *m, int depth);
ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d);
long pick(struct rng *g, const struct image *im, uint32_t want);
uint64_t rnd(struct rng *g, uint64_t n);
uint64_t rnd64(struct rng *g);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
bool is_tree(const struct image *im);

/*
 * kinds.c: what a kind mutation may name, ids of the image being mutated:
 * every file id and its kind, unix socket inodes, pids of live and zombie
 * processes, tids that are no leader's.
 */
struct kind_refs {
	uint32_t *files;
	int32_t *kinds;
	size_t nf;
	uint32_t *inos, *pids, *zombies, *tids;
	size_t ni, np, nz, nt;
};
bool kind_known(int32_t kind);
/* fe's kind sub-message gets hostile values and cross-references. */
void mutate_kind(struct rng *g, FileEntry *fe, const struct kind_refs *r);
/* Wires copy (fe unpacked again, with a fresh id) to fe: epolls watching
 * each other, sockets paired crosswise, ...; false if fe's kind has no twin. */
bool kind_twin(struct rng *g, FileEntry *fe, FileEntry *copy);
/* An SK_QUEUE prefix's id and offset. */
void mutate_skq(struct rng *g, uint32_t *id, uint64_t *offset, const struct kind_refs *r);
void mutate_tree(struct rng *g, struct image *im);

#endif
