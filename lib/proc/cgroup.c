/*
 * cgroup membership as /proc tells it: the lines of /proc/PID/cgroup and
 * the mount of a hierarchy in /proc/self/mountinfo.  Errors are returned,
 * not logged.  Both files are parsed as hostile text: lengths are
 * checked, nothing is trusted to be terminated or well formed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

/*
 * Parses the text of /proc/PID/cgroup ("ID:CONTROLLERS:PATH" lines) into
 * out[0 .. max).  Returns the number of lines, or -EINVAL for a line that
 * is not of that form or too long, -E2BIG for more than max lines.
 */
int proc_parse_cgroup(const char *text, struct proc_cgroup_line *out, int max)
{
	const char *line = text, *end, *c1, *c2;
	int n = 0;

	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (end == line)
			continue;
		c1 = memchr(line, ':', end - line);
		c2 = c1 ? memchr(c1 + 1, ':', end - c1 - 1) : NULL;
		if (!c2 || c2 - c1 - 1 >= (long)sizeof(out->controllers) ||
		    end - c2 - 1 >= (long)sizeof(out->path) || c2 + 1 == end || c2[1] != '/')
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		memcpy(out[n].controllers, c1 + 1, c2 - c1 - 1);
		out[n].controllers[c2 - c1 - 1] = '\0';
		memcpy(out[n].path, c2 + 1, end - c2 - 1);
		out[n].path[end - c2 - 1] = '\0';
		n++;
	}
	return n;
}

/* mountinfo's octal escapes (\040 ...) undone in place; false if malformed. */
static bool unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		if (s[1] < '0' || s[1] > '3' || s[2] < '0' || s[2] > '7' || s[3] < '0' ||
		    s[3] > '7')
			return false;
		*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
		s += 3;
	}
	*w = '\0';
	return true;
}

/* Is every comma-separated word of want one of the words of opts? */
static bool has_words(const char *opts, const char *want)
{
	char w[128];
	const char *p = want, *q;
	size_t l;

	while (*p) {
		q = strchr(p, ',');
		l = q ? (size_t)(q - p) : strlen(p);
		if (!l || l >= sizeof(w))
			return false;
		memcpy(w, p, l);
		w[l] = '\0';
		for (const char *o = opts;; o++) {
			o = strstr(o, w);
			if (!o)
				return false;
			if ((o == opts || o[-1] == ',') && (o[l] == ',' || o[l] == '\0'))
				break;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	return true;
}

/* Does mountinfo line (after " - ") mount the hierarchy named controllers? */
static bool line_mounts(const char *tail, const char *controllers)
{
	char fstype[32], opts[1024];

	if (sscanf(tail, " - %31s %*s %1023s", fstype, opts) != 2)
		return false;
	if (!controllers[0])
		return !strcmp(fstype, "cgroup2");
	return !strcmp(fstype, "cgroup") && has_words(opts, controllers);
}

/*
 * The mount of the hierarchy /proc/PID/cgroup names controllers ("" for
 * cgroup v2) in our /proc/self/mountinfo: its mount point and the group it
 * shows (the mount's root, "/" unless a subtree is bind mounted).  0,
 * -ENOENT if none, -ENAMETOOLONG, or -errno reading mountinfo.
 */
int proc_cgroup_mount(const char *controllers, char *mnt, size_t mlen, char *root, size_t rlen)
{
	char line[8192], r[4096], m[4096], *sep;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret == -ENOENT && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || !line_mounts(sep, controllers))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 || !unescape(r) ||
		    !unescape(m))
			continue;
		if (strlen(r) >= rlen || strlen(m) >= mlen) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(root, r, strlen(r) + 1);
		memcpy(mnt, m, strlen(m) + 1);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * The directory of group path (as /proc/PID/cgroup shows it) under a mount
 * of its hierarchy whose root is root: mnt + the part of path below root.
 * 0, or -ENOENT when path is not at or below root, -ENAMETOOLONG.
 */
int proc_cgroup_dir(const char *mnt, const char *root, const char *path, char *out, size_t len)
{
	size_t rl = strlen(root);

	if (!strcmp(root, "/"))
		rl = 0;
	else if (strncmp(path, root, rl) || (path[rl] != '/' && path[rl] != '\0'))
		return -ENOENT;
	if ((size_t)snprintf(out, len, "%s%s", mnt, path + rl) >= len)
		return -ENAMETOOLONG;
	return 0;
}
