/*
 * The tree's mount namespace (records MOUNTS and TMPFS_DATA): kept as read
 * (one MOUNTS, before every TASK) and checked as hostile here, by itself:
 * ids, parents before children, kinds, clean absolute paths (no "." or
 * "..", components of at most 255 bytes), filesystem types and options
 * from closed lists, tmpfs nodes forming one tree per tmpfs mount, data
 * inside its file.  mntns-build.c builds the namespace.
 */
#define LOG_PREFIX "restore/mntns: "
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "img/img.h"
#include "img/records.h"
#include "proc/mountinfo.h"
#include "restore/restore.h"
#include "restore/mntns.h"

int mntns_plan_read(struct rst_image *img, const struct img_record *rec)
{
	ProtobufCMessage *m;
	int ret;

	if (img->mounts || img->recs.n_task) {
		pr_err("image: record %llu: MOUNTS must come once, before every TASK\n",
		       (unsigned long long)rec->index);
		return -EBADMSG;
	}
	ret = img_unpack(rec, &mounts_entry__descriptor, &m);
	if (ret) {
		pr_err("image: MOUNTS record %llu does not unpack\n",
		       (unsigned long long)rec->index);
		return ret;
	}
	img->mounts = (MountsEntry *)m;
	return 0;
}

/* A path from the image: "/" or "/a/b", each component 1..255 bytes, not
 * "." or "..", no control byte; sub: "" is allowed too. */
bool mntns_clean_path(const char *p, bool sub)
{
	size_t comp = 0, len;

	if (!p)
		return false;
	len = strlen(p);
	if (sub && !len)
		return true;
	if (p[0] != '/' || len >= PATH_MAX)
		return false;
	if (!strcmp(p, "/"))
		return !sub;
	for (const char *c = p + 1;; c++) {
		if (*c == '/' || !*c) {
			if (!comp || comp > 255 || (comp == 1 && c[-1] == '.') ||
			    (comp == 2 && c[-1] == '.' && c[-2] == '.'))
				return false;
			if (!*c)
				return true;
			comp = 0;
			continue;
		}
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
		comp++;
	}
}

/* No control byte (mountinfo shows them escaped; the image has them raw). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* One component: 1..255 bytes, no '/', not "." or "..". */
static bool clean_name(const char *n)
{
	size_t l = n ? strlen(n) : 0;

	return l && l <= 255 && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..");
}

ssize_t mntns_mount_idx(const MountsEntry *ms, uint32_t id)
{
	for (size_t i = 0; id && i < ms->n_mounts; i++)
		if (ms->mounts[i]->id == id)
			return (ssize_t)i;
	return -1;
}

const MountEntry *mntns_mount(const MountsEntry *ms, uint32_t id)
{
	ssize_t i = mntns_mount_idx(ms, id);

	return i < 0 ? NULL : ms->mounts[i];
}

static int bad_mount(const MountEntry *e, size_t i, const char *why)
{
	pr_err("image: MOUNTS mount %zu (%s): %s\n", i, e->point ? e->point : "?", why);
	return -EBADMSG;
}

/* Layers only on an overlay, which has some: known keys, clean paths, identities. */
static bool check_layers(const MountEntry *e)
{
	bool ovl = !strcmp(e->fstype, "overlay");

	if (ovl != (e->n_layers > 0) || e->n_layers > 512)
		return false;
	for (size_t i = 0; i < e->n_layers; i++) {
		const OverlayLayer *l = e->layers[i];

		if (!l->key || !l->has_dev || !l->has_ino || !mntns_clean_path(l->path, false) ||
		    (strcmp(l->key, "lowerdir+") && strcmp(l->key, "upperdir") &&
		     strcmp(l->key, "workdir")))
			return false;
	}
	return true;
}

static int check_kind(const MountsEntry *ms, size_t i)
{
	const MountEntry *e = ms->mounts[i], *from;
	ssize_t fi;

	switch (e->kind) {
	case MOUNT_KIND__MNT_HOST:
		return e->has_dev_major && e->has_dev_minor ? 0 : bad_mount(e, i, "no device");
	case MOUNT_KIND__MNT_CTX:
		return 0; /* compared with what the context's settings made (ctx-mounts.c) */
	case MOUNT_KIND__MNT_FRESH:
		if (!mntns_fresh_type(e->fstype))
			return bad_mount(e, i, "a filesystem type restore does not make");
		if (strcmp(e->root, "/"))
			return bad_mount(e, i, "a new mount of a subdirectory");
		if (!mntns_super_ok(e->fstype, e->super))
			return bad_mount(e, i, "bad options");
		return check_layers(e) ? 0 : bad_mount(e, i, "bad overlay layers");
	case MOUNT_KIND__MNT_BIND_HOST:
		if (!mntns_clean_path(e->bind_path, false) || !e->has_bind_dev || !e->has_bind_ino)
			return bad_mount(e, i, "bad bind source");
		break;
	case MOUNT_KIND__MNT_BIND_OWN:
		fi = mntns_mount_idx(ms, e->bind_from);
		from = fi < 0 ? NULL : ms->mounts[fi];
		if (!from || (size_t)fi >= i || !mntns_clean_path(e->bind_sub, true) ||
		    (from->kind != MOUNT_KIND__MNT_FRESH && from->kind != MOUNT_KIND__MNT_BIND_OWN))
			return bad_mount(e, i, "bad bind source");
		break;
	default:
		return bad_mount(e, i, "unknown kind");
	}
	if (e->bind_mode != S_IFDIR && e->bind_mode != S_IFREG && e->bind_mode != S_IFCHR)
		return bad_mount(e, i, "binds a directory, a file or a character device only");
	return 0;
}

/* A context's mounts are MNT_CTX or MNT_FRESH, a tree's never MNT_CTX. */
static bool kind_fits(const MountEntry *e, bool ctx)
{
	if (ctx)
		return e->kind == MOUNT_KIND__MNT_CTX || e->kind == MOUNT_KIND__MNT_FRESH;
	return e->kind != MOUNT_KIND__MNT_CTX;
}

static int check_mounts(const MountsEntry *ms, bool ctx)
{
	for (size_t i = 0; i < ms->n_mounts; i++) {
		const MountEntry *e = ms->mounts[i];
		ssize_t pi = mntns_mount_idx(ms, e->parent);
		MountKind root = ctx ? MOUNT_KIND__MNT_CTX : MOUNT_KIND__MNT_HOST;

		if (!e->has_id || !e->id || !e->point || !e->fstype || !e->source || !e->root ||
		    !e->opts || !e->super)
			return bad_mount(e, i, "a field is missing");
		/* a host mount may be a namespace bound to a file (ip netns) */
		if (!mntns_clean_path(e->point, false) ||
		    !(mntns_clean_path(e->root, false) ||
		      (e->kind == MOUNT_KIND__MNT_HOST && proc_mount_nsfs_name(e->root))) ||
		    strlen(e->fstype) > 64 || strlen(e->source) >= PATH_MAX || !*e->source ||
		    !printable(e->source) || !printable(e->fstype) || strlen(e->super) > 4096 ||
		    !mntns_opts_ok(e->opts))
			return bad_mount(e, i, "bad point, root, type, source or options");
		if (mntns_mount_idx(ms, e->id) != (ssize_t)i)
			return bad_mount(e, i, "its id is not unique");
		if (e->parent && (pi < 0 || (size_t)pi >= i))
			return bad_mount(e, i, "its parent does not come before it");
		if (!kind_fits(e, ctx))
			return bad_mount(e, i,
					 ctx ? "a kind a context's namespace does not hold" :
					       "a context's kind in a tree's namespace");
		if (!e->parent && (i || e->kind != root))
			return bad_mount(e, i, "only the first mount, a host one, is the root");
		if (check_kind(ms, i))
			return -EBADMSG;
	}
	return 0;
}

static int bad_node(const TmpfsNode *n, size_t i, const char *why)
{
	pr_err("image: MOUNTS tmpfs node %zu (%s): %s\n", i, n->name ? n->name : "?", why);
	return -EBADMSG;
}

ssize_t mntns_node_idx(const MountsEntry *ms, uint32_t id)
{
	for (size_t i = 0; id && i < ms->n_nodes; i++)
		if (ms->nodes[i]->id == id)
			return (ssize_t)i;
	return -1;
}

const TmpfsNode *mntns_node(const MountsEntry *ms, uint32_t id)
{
	ssize_t i = mntns_node_idx(ms, id);

	return i < 0 ? NULL : ms->nodes[i];
}

/* At most 64 xattrs, user.* or trusted.* names of at most 255 printable
 * bytes, values of at most 64 KiB; none on a hard link (its first has them). */
static bool check_xattrs(const TmpfsNode *n)
{
	if (n->n_xattrs > 64 || (n->n_xattrs && n->link))
		return false;
	for (size_t i = 0; i < n->n_xattrs; i++) {
		const TmpfsXattr *x = n->xattrs[i];

		if (!x->name || strlen(x->name) > 255 || !printable(x->name) ||
		    (strncmp(x->name, "user.", 5) && strncmp(x->name, "trusted.", 8)) ||
		    x->value.len > 65536)
			return false;
	}
	return true;
}

static int check_node(const MountsEntry *ms, size_t i, ssize_t *last_root, unsigned *dirs)
{
	const TmpfsNode *n = ms->nodes[i], *p, *l;
	ssize_t pi = mntns_node_idx(ms, n->parent), li = mntns_node_idx(ms, n->link);
	const MountEntry *m = mntns_mount(ms, n->mount);
	unsigned type = n->mode & S_IFMT;

	if (!n->id || (i && ms->nodes[i - 1]->id >= n->id) || !n->name)
		return bad_node(n, i, "ids must grow");
	if (!m || m->kind != MOUNT_KIND__MNT_FRESH || strcmp(m->fstype, "tmpfs"))
		return bad_node(n, i, "not in a tmpfs mount of the image");
	if (n->mode & ~(S_IFMT | 07777) ||
	    (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFIFO))
		return bad_node(n, i, "bad mode");
	if (!check_xattrs(n))
		return bad_node(n, i, "bad xattrs");
	if (S_ISDIR(n->mode) && (!n->parent ? (*dirs = 1) : ++*dirs) > MNTNS_RST_DIRS_MAX)
		return bad_node(n, i, "too many directories in its mount");
	if (!n->parent) { /* the root of its mount, first of them; mounts in image order */
		if (*n->name || type != S_IFDIR || (i && ms->nodes[i - 1]->mount == n->mount) ||
		    mntns_mount_idx(ms, n->mount) <= *last_root)
			return bad_node(n, i, "a second root");
		*last_root = mntns_mount_idx(ms, n->mount);
		return 0;
	}
	if (!i || ms->nodes[i - 1]->mount != n->mount)
		return bad_node(n, i, "the nodes of a mount must come together, root first");
	p = pi < 0 ? NULL : ms->nodes[pi];
	if (!p || (size_t)pi >= i || p->mount != n->mount || (p->mode & S_IFMT) != S_IFDIR ||
	    !clean_name(n->name))
		return bad_node(n, i, "bad parent or name");
	if (type == S_IFLNK && (!n->target || !*n->target || strlen(n->target) >= PATH_MAX))
		return bad_node(n, i, "bad symlink target");
	if (n->link) {
		l = li < 0 ? NULL : ms->nodes[li];
		if (!l || (size_t)li >= i || l->mount != n->mount ||
		    (l->mode & S_IFMT) != S_IFREG || l->link || type != S_IFREG)
			return bad_node(n, i, "bad hard link");
	}
	if (n->size > MNTNS_RST_TMPFS_MAX)
		return bad_node(n, i, "too big");
	return 0;
}

static int check_data(const struct rst_image *img)
{
	uint64_t total = 0;

	for (size_t i = 0; i < img->nr_tdata; i++) {
		const struct rst_chunk *c = &img->tdata[i];
		const TmpfsNode *n = mntns_node(img->mounts, c->id);

		if (!n || (n->mode & S_IFMT) != S_IFREG || n->link || c->offset > n->size ||
		    c->len > n->size - c->offset) {
			pr_err("image: TMPFS_DATA %zu (node %u): not inside a file of a tmpfs\n", i,
			       c->id);
			return -EBADMSG;
		}
		total += c->len;
	}
	if (total > MNTNS_RST_TMPFS_MAX * 16) {
		pr_err("image: TMPFS_DATA: too many bytes\n");
		return -EBADMSG;
	}
	return 0;
}

static const char *const fresh_types[] = { "tmpfs",  "proc",	"sysfs",  "devpts",
					   "mqueue", "cgroup2", "overlay" };

/* Superblock options restore passes to fsconfig, by type (values checked below). */
static const struct {
	const char *type;
	const char *keys; /* ",key," list */
} super_keys[] = {
	{ "tmpfs", ",size,nr_inodes,nr_blocks,mode,uid,gid,inode32,inode64,huge,noswap," },
	{ "proc", ",hidepid,subset,gid," },
	{ "devpts", ",mode,ptmxmode,gid,uid,max,newinstance," },
	{ "sysfs", "," },
	{ "mqueue", "," },
	{ "overlay", ",lowerdir,upperdir,workdir,uuid,redirect_dir,index,xino,metacopy,nfs_export,"
		     "volatile,userxattr," },
	{ "cgroup2", ",nsdelegate,favordynmods,memory_localevents,memory_recursiveprot,"
		     "memory_hugetlb_accounting,pids_localevents," },
};

bool mntns_fresh_type(const char *t)
{
	for (size_t i = 0; t && i < sizeof(fresh_types) / sizeof(fresh_types[0]); i++)
		if (!strcmp(t, fresh_types[i]))
			return true;
	return false;
}

/* Each item of the comma list opts, checked by ok(item, arg). */
static bool each_item(const char *opts, bool (*ok)(const char *item, const void *arg),
		      const void *arg)
{
	char item[128];
	const char *p = opts, *c;
	size_t l;

	if (!opts || !*opts)
		return false;
	for (;;) {
		c = strchr(p, ',');
		l = c ? (size_t)(c - p) : strlen(p);
		if (!l || l >= sizeof(item))
			return false;
		memcpy(item, p, l);
		item[l] = '\0';
		if (!ok(item, arg))
			return false;
		if (!c)
			return true;
		p = c + 1;
	}
}

/* An overlay layer value: clean absolute paths separated by ':'. */
static bool layer_paths_ok(const char *v)
{
	char p[PATH_MAX];
	const char *c;
	size_t l;

	for (;; v = c + 1) {
		c = strchr(v, ':');
		l = c ? (size_t)(c - v) : strlen(v);
		if (l >= sizeof(p))
			return false;
		memcpy(p, v, l);
		p[l] = '\0';
		if (!mntns_clean_path(p, false))
			return false;
		if (!c)
			return true;
	}
}

static bool super_item_ok(const char *item, const void *arg)
{
	const char *keys = arg, *eq = strchr(item, '=');
	char key[72];
	size_t kl = eq ? (size_t)(eq - item) : strlen(item);

	if (!strcmp(item, "rw") || !strcmp(item, "ro"))
		return true;
	if (!kl || kl > 64)
		return false;
	snprintf(key, sizeof(key), ",%.*s,", (int)kl, item);
	if (!strstr(keys, key))
		return false;
	if (!strcmp(key, ",lowerdir,") || !strcmp(key, ",upperdir,") || !strcmp(key, ",workdir,"))
		return eq && layer_paths_ok(eq + 1);
	for (const char *v = eq ? eq + 1 : ""; *v; v++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-",
			    *v))
			return false;
	return true;
}

bool mntns_super_ok(const char *type, const char *super)
{
	for (size_t i = 0; i < sizeof(super_keys) / sizeof(super_keys[0]); i++)
		if (!strcmp(type, super_keys[i].type))
			return each_item(super, super_item_ok, super_keys[i].keys);
	return false;
}

static bool opt_item_ok(const char *item, const void *arg)
{
	static const char *const known[] = { "rw",	   "ro",	 "nosuid",  "nodev",
					     "noexec",	   "relatime",	 "noatime", "strictatime",
					     "nodiratime", "nosymfollow" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(item, known[i]))
			return true;
	return false;
}

bool mntns_opts_ok(const char *opts)
{
	return each_item(opts, opt_item_ok, NULL);
}

int mntns_check_image(const struct rst_image *img)
{
	const MountsEntry *ms = img->mounts;
	ssize_t last_root = -1;
	unsigned dirs = 0;
	int ret;

	if (!ms) {
		if (img->nr_tdata)
			pr_err("image: TMPFS_DATA without MOUNTS\n");
		return img->nr_tdata ? -EBADMSG : 0;
	}
	if (img->ctxe && !img->ctxe->root) {
		pr_err("image: MOUNTS in the image of a context without a root of its own\n");
		return -EBADMSG;
	}
	if (!ms->n_mounts || ms->n_mounts > MNTNS_RST_MOUNTS_MAX ||
	    ms->n_nodes > MNTNS_RST_NODES_MAX) {
		pr_err("image: MOUNTS: %zu mounts, %zu tmpfs nodes: out of range\n", ms->n_mounts,
		       ms->n_nodes);
		return -EBADMSG;
	}
	ret = check_mounts(ms, img->ctxe != NULL);
	for (size_t i = 0; !ret && i < ms->n_nodes; i++)
		ret = check_node(ms, i, &last_root, &dirs);
	return ret ?: check_data(img);
}

void rst_mntns_free(struct rst_image *img)
{
	if (img->mntns_fd >= 0)
		close(img->mntns_fd);
	img->mntns_fd = -1;
	if (img->mounts)
		mounts_entry__free_unpacked(img->mounts, NULL);
	img->mounts = NULL;
	mntns_files_reset(); /* it pointed into img->mounts */
}
