/*
 * /proc/PID/mountinfo (proc(5)): "ID PARENT MAJ:MIN ROOT POINT OPTS
 * [TAG...] - FSTYPE SOURCE SUPER\n".  Fields are separated by exactly one
 * space; the kernel escapes space, tab, newline and backslash in paths as
 * \ooo, so a field never holds them raw.  Anything else is refused: the
 * line number is logged, the whole text is rejected.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "proc/mountinfo: "
#include "log.h"
#include "proc/proc.h"
#include "proc/mountinfo.h"

#define MAX_TAGS 8

/* Next field of *s up to sep or end of line; NULL if empty or missing. */
static char *next_field(char **s)
{
	char *f = *s, *e;

	if (!f || !*f)
		return NULL;
	e = strchr(f, ' ');
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = NULL;
	}
	return *f ? f : NULL;
}

/* Decimal u32 without sign, leading zeros or junk. */
static bool parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (unsigned)(*s - '0');
	}
	if (x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* \ooo escapes in place; false on a bad escape, a NUL or a control byte. */
static bool unescape(char *s)
{
	char *w = s;
	unsigned c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if (c == '\\') {
			if (s[1] < '0' || s[1] > '3' || s[2] < '0' || s[2] > '7' || s[3] < '0' ||
			    s[3] > '7')
				return false;
			c = (unsigned)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			if (!c)
				return false;
			s += 3;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
		*w++ = (char)c;
	}
	*w = '\0';
	return true;
}

static char *dup_field(char *f, bool path)
{
	if (!f || strlen(f) >= PROC_MNT_FIELD_MAX || !unescape(f))
		return NULL;
	if (path && f[0] != '/')
		return NULL;
	return strdup(f);
}

static bool parse_tag(struct proc_mount *m, const char *t)
{
	const char *v;

	if (!strcmp(t, "unbindable") && !m->unbindable)
		return m->unbindable = true;
	v = strchr(t, ':');
	if (!v)
		return false;
	v++;
	if (!strncmp(t, "shared:", 7) && !m->shared)
		return parse_u32(v, &m->shared) && m->shared;
	if (!strncmp(t, "master:", 7) && !m->master)
		return parse_u32(v, &m->master) && m->master;
	if (!strncmp(t, "propagate_from:", 15) && !m->propagate_from)
		return parse_u32(v, &m->propagate_from) && m->propagate_from;
	return false;
}

static bool parse_devnum(const char *s, struct proc_mount *m)
{
	char buf[32], *c;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	c = strchr(buf, ':');
	if (!c)
		return false;
	*c = '\0';
	return parse_u32(buf, &m->major) && parse_u32(c + 1, &m->minor);
}

static void mount_free(struct proc_mount *m)
{
	free(m->root);
	free(m->point);
	free(m->opts);
	free(m->fstype);
	free(m->source);
	free(m->super);
}

bool proc_mount_nsfs_name(const char *f)
{
	const char *b = strchr(f, ':');
	size_t i;

	if (!b || b == f || b[1] != '[' || !b[2])
		return false;
	for (i = 0; f + i < b; i++)
		if (!((f[i] >= 'a' && f[i] <= 'z') || f[i] == '_'))
			return false;
	for (b += 2; *b >= '0' && *b <= '9'; b++)
		;
	return b[0] == ']' && !b[1] && b[-1] != '[';
}

/* One line (without its newline) into m.  true if well formed. */
static bool parse_line(char *s, struct proc_mount *m)
{
	char *f[6], *t;
	int i, ntags = 0;

	for (i = 0; i < 6; i++)
		if (!(f[i] = next_field(&s)))
			return false;
	if (!parse_u32(f[0], &m->id) || !parse_u32(f[1], &m->parent) || !parse_devnum(f[2], m))
		return false;
	/* a path in the filesystem, or an nsfs file's name ("net:[N]": a
	 * namespace bound to a file, such as ip netns's /run/netns/NAME) */
	m->root = dup_field(f[3], !proc_mount_nsfs_name(f[3]));
	m->point = dup_field(f[4], true);
	m->opts = dup_field(f[5], false);
	for (;;) {
		t = next_field(&s);
		if (!t)
			return false;
		if (!strcmp(t, "-"))
			break;
		if (++ntags > MAX_TAGS || !parse_tag(m, t))
			return false;
	}
	m->fstype = dup_field(next_field(&s), false);
	m->source = dup_field(next_field(&s), false);
	m->super = s ? dup_field(s, false) : NULL; /* the rest: may hold no space */
	if (m->super && strchr(m->super, ' '))
		return false;
	return m->root && m->point && m->opts && m->fstype && m->source && m->super;
}

int proc_parse_mountinfo(const char *text, struct proc_mount_list *l)
{
	const char *p = text, *nl;
	struct proc_mount *nv;
	size_t lineno = 0, i;
	char *line;
	bool ok;

	l->v = NULL;
	l->n = 0;
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		lineno++;
		if (!nl || (size_t)(nl - p) > 5 * PROC_MNT_FIELD_MAX)
			goto bad;
		nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		line = strndup(p, (size_t)(nl - p));
		if (!nv || !line) {
			free(line);
			if (nv)
				l->v = nv;
			proc_mount_list_free(l);
			return -ENOMEM;
		}
		l->v = nv;
		memset(&l->v[l->n], 0, sizeof(l->v[0]));
		ok = parse_line(line, &l->v[l->n]);
		free(line);
		l->n++;
		for (i = 0; ok && i + 1 < l->n; i++)
			ok = l->v[i].id != l->v[l->n - 1].id;
		if (!ok)
			goto bad;
	}
	return 0;
bad:
	pr_err("line %zu is not a mountinfo line\n", lineno);
	proc_mount_list_free(l);
	return -EINVAL;
}

int proc_read_mountinfo(pid_t pid, struct proc_mount_list *l)
{
	char path[64], *text = NULL;
	int ret;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	ret = proc_read_path(path, &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_mountinfo(text, l);
	free(text);
	return ret;
}

void proc_mount_list_free(struct proc_mount_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		mount_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct proc_mount *proc_mount_by_id(const struct proc_mount_list *l, uint32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

bool proc_mount_has_opt(const char *opts, const char *word)
{
	size_t wl = strlen(word);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, word, wl) && (p[wl] == ',' || !p[wl]))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}
