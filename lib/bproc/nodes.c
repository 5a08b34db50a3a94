/*
 * The node list (vxcr/bproc.h): NUMBER HOST:PORT [KEYNAME] a line, read
 * as hostile input: a line longer than BPROC_LINE_MAX, a number out of
 * 0..VX_NODES_MAX-1 or given twice, an address or key name with other
 * characters than their own, or more fields: the whole list is refused
 * with the line's number.
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "error.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "bproc/bproc.h"

#define BPROC_LINE_MAX 512

static bool addr_chars(const char *s)
{
	if (!*s || strlen(s) >= BPROC_ADDR_LEN)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:[]_",
			    *s))
			return false;
	return true;
}

static bool name_chars(const char *s)
{
	if (!*s || strlen(s) >= BPROC_NAME_LEN)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_",
			    *s))
			return false;
	return true;
}

static int bad(const char *path, unsigned line, const char *why)
{
	err_set(-EINVAL, "node list %s, line %u: %s", path, line, why);
	return -EINVAL;
}

/* One line (no newline) into *n; 1 for a node, 0 for none, -errno. */
static int parse_line(char *s, const char *path, unsigned line, struct bproc_node *n)
{
	char *f[4], *save = NULL, *end;
	int nf = 0;
	long v;

	if (strchr(s, '#'))
		*strchr(s, '#') = '\0';
	for (char *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (nf == 3)
			return bad(path, line, "more than NUMBER HOST:PORT [KEYNAME]");
		f[nf++] = t;
	}
	if (!nf)
		return 0;
	if (nf < 2)
		return bad(path, line, "a node needs NUMBER HOST:PORT");
	errno = 0;
	v = strtol(f[0], &end, 10);
	if (errno || *end || end == f[0] || v < 0 || v >= VX_NODES_MAX || f[0][0] == '+')
		return bad(path, line, "the node number is not 0..4095");
	if (!addr_chars(f[1]) || !strrchr(f[1], ':'))
		return bad(path, line, "the address is not HOST:PORT");
	if (nf == 3 && !name_chars(f[2]))
		return bad(path, line, "the key name has characters other than [A-Za-z0-9._-]");
	memset(n, 0, sizeof(*n));
	n->num = (int)v;
	snprintf(n->addr, sizeof(n->addr), "%s", f[1]);
	if (nf == 3)
		snprintf(n->key, sizeof(n->key), "%s", f[2]);
	return 1;
}

int bproc_nodes_parse(FILE *f, const char *path, struct bproc_nodes *out)
{
	char buf[BPROC_LINE_MAX + 2];
	unsigned line = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	while (fgets(buf, sizeof(buf), f)) {
		struct bproc_node n, *grown;
		size_t len = strlen(buf);

		line++;
		if (len && buf[len - 1] == '\n') {
			buf[--len] = '\0';
		} else if (!feof(f)) { /* or a NUL byte inside: refused the same */
			ret = bad(path, line, "longer than 512 bytes, or a NUL byte in it");
			goto fail;
		}
		ret = parse_line(buf, path, line, &n);
		if (ret < 0)
			goto fail;
		if (!ret)
			continue;
		for (size_t i = 0; i < out->n; i++)
			if (out->v[i].num == n.num) {
				ret = bad(path, line, "the node number is given twice");
				goto fail;
			}
		if (out->n >= VX_NODES_MAX) {
			ret = bad(path, line, "more than 4096 nodes");
			goto fail;
		}
		grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
		if (!grown) {
			ret = -ENOMEM;
			err_set(ret, "node list %s: out of memory", path);
			goto fail;
		}
		out->v = grown;
		out->v[out->n++] = n;
	}
	if (ferror(f)) {
		ret = -EIO;
		err_set(ret, "node list %s: read error", path);
		goto fail;
	}
	return 0;
fail:
	bproc_nodes_free(out);
	return ret;
}

void bproc_nodes_free(struct bproc_nodes *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The list's path: file, $VXCR_NODES, /etc/vxcr/nodes (root), else the
 * user's config. */
static int nodes_path(const char *file, char *buf, size_t size)
{
	const char *env = getenv("VXCR_NODES"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (file)
		n = snprintf(buf, size, "%s", file);
	else if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (!geteuid())
		n = snprintf(buf, size, "/etc/vxcr/nodes");
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/vxcr/nodes", xdg);
	else if (home && *home)
		n = snprintf(buf, size, "%s/.config/vxcr/nodes", home);
	else
		n = snprintf(buf, size, "/etc/vxcr/nodes");
	if (n < 0 || (size_t)n >= size) {
		err_set(-ENAMETOOLONG, "node list: path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

int bproc_nodes_load(const char *file, struct bproc_nodes *out)
{
	char path[PATH_MAX];
	FILE *f;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	ret = nodes_path(file, path, sizeof(path));
	if (ret)
		return ret;
	/* it says where processes go: nobody else may have written it */
	fd = vxcr_open_trusted(path, O_RDONLY, "node list", "set VXCR_NODES or write it");
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		err_set(ret, "node list %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = bproc_nodes_parse(f, path, out);
	fclose(f);
	return ret;
}

const struct bproc_node *bproc_node_find(const struct bproc_nodes *l, int num)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].num == num)
			return &l->v[i];
	return NULL;
}
