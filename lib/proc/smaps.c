/*
 * /proc/PID/smaps parser: memory areas with the VmFlags the dumper needs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "proc/proc.h"

static const struct {
	char code[3];
	uint32_t bit;
} vmflag_codes[] = {
	{ "gd", PROC_VMF_GD }, { "dd", PROC_VMF_DD }, { "dc", PROC_VMF_DC }, { "hg", PROC_VMF_HG },
	{ "nh", PROC_VMF_NH }, { "wf", PROC_VMF_WF }, { "mg", PROC_VMF_MG }, { "io", PROC_VMF_IO },
	{ "pf", PROC_VMF_PF }, { "um", PROC_VMF_UM }, { "uw", PROC_VMF_UW }, { "lo", PROC_VMF_LO },
	{ "ss", PROC_VMF_SS }, { "nr", PROC_VMF_NR }, { "lf", PROC_VMF_LF }, { "rr", PROC_VMF_RR },
	{ "sr", PROC_VMF_SR }, { "sl", PROC_VMF_SL }, { "gu", PROC_VMF_GU }, { "de", PROC_VMF_DE },
	{ "ht", PROC_VMF_HT }, { "ui", PROC_VMF_UI }, { "mm", PROC_VMF_MM }, { "dp", PROC_VMF_DP },
};

/*
 * VmFlags that follow from what a restore maps anyway (protection, sharing,
 * accounting, soft-dirty): anything else not in vmflag_codes is reported in
 * proc_vma.other_flag so the dump can refuse what it cannot restore.
 */
static const char derived_flags[][3] = {
	"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "ac", "sd"
};

static bool vmflag_is(const char *p, const char *code)
{
	return p[0] == code[0] && p[1] == code[1];
}

bool proc_strip_deleted(char *path)
{
	static const char suffix[] = " (deleted)";
	size_t n = strlen(path), s = sizeof(suffix) - 1;

	if (n < s || strcmp(path + n - s, suffix))
		return false;
	path[n - s] = '\0';
	return true;
}

/* A VMA header line starts with lower-case hex and a '-'; keys start upper-case. */
static bool is_vma_header(const char *line)
{
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p != line && *p == '-';
}

/*
 * Parses "start-end perms offset maj:min inode   name" (line without '\n').
 * sscanf runs on a copy of the fields: on the whole text it would measure
 * the rest of the text at every line.
 */
static int parse_vma_header(const char *line, size_t len, struct proc_vma *v)
{
	char perms[8], head[128];
	int name_off = 0;
	unsigned long long ino;

	memcpy(head, line, len < sizeof(head) - 1 ? len : sizeof(head) - 1);
	head[len < sizeof(head) - 1 ? len : sizeof(head) - 1] = '\0';
	if (sscanf(head, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %llu %n", &v->start,
		   &v->end, perms, &v->pgoff, &v->dev_major, &v->dev_minor, &ino, &name_off) < 7 ||
	    !name_off)
		return -EINVAL;
	if (strlen(perms) != 4 || v->end <= v->start || (size_t)name_off >= sizeof(head) - 1)
		return -EINVAL;
	v->ino = ino;
	v->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	v->shared = perms[3] == 's';
	if ((size_t)name_off > len)
		name_off = len;
	v->name = strndup(line + name_off, len - name_off);
	if (!v->name)
		return -ENOMEM;
	v->deleted = proc_strip_deleted(v->name);
	return 0;
}

static void parse_vmflags(const char *p, struct proc_vma *v)
{
	size_t i;
	bool known;

	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		if (!p[0] || p[0] == '\n' || !p[1])
			break;
		known = false;
		for (i = 0; i < sizeof(vmflag_codes) / sizeof(vmflag_codes[0]); i++) {
			if (vmflag_is(p, vmflag_codes[i].code)) {
				v->vmflags |= vmflag_codes[i].bit;
				known = true;
			}
		}
		for (i = 0; i < sizeof(derived_flags) / sizeof(derived_flags[0]); i++)
			known = known || vmflag_is(p, derived_flags[i]);
		if (!known && !v->other_flag[0]) {
			v->other_flag[0] = p[0];
			v->other_flag[1] = p[1];
		}
		p += 2;
	}
}

/* The number after "Key:" when line starts with key (given with its ':'). */
static bool field_kb(const char *line, const char *key, uint64_t *kb)
{
	size_t n = strlen(key);
	char *end;

	if (strncmp(line, key, n))
		return false;
	*kb = strtoull(line + n, &end, 10);
	return end != line + n;
}

/* One "Key:   N kB" or "VmFlags: .." line of the current VMA. */
static void parse_vma_field(const char *line, struct proc_vma *v)
{
	uint64_t kb;

	if (!strncmp(line, "VmFlags:", 8))
		parse_vmflags(line + 8, v);
	else if (field_kb(line, "Rss:", &kb))
		v->rss_kb = kb;
	else if (field_kb(line, "Anonymous:", &kb))
		v->anon_kb = kb;
	else if (field_kb(line, "Swap:", &kb))
		v->swap_kb = kb;
	else if (field_kb(line, "ProtectionKey:", &kb))
		v->pkey = (uint32_t)kb;
}

static int vma_list_grow(struct proc_vma_list *l, size_t *cap)
{
	struct proc_vma *nv;
	size_t ncap = *cap ? *cap * 2 : 64;

	if (l->n < *cap)
		return 0;
	nv = realloc(l->v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	*cap = ncap;
	return 0;
}

/*
 * Parses the whole smaps text into out (also works on /proc/PID/maps text,
 * which simply has no field lines).  Returns 0 or -errno; out is empty on
 * failure.
 */
int proc_parse_smaps(const char *text, struct proc_vma_list *out)
{
	const char *line = text, *nl;
	size_t cap = 0, len;
	int ret = 0;

	out->v = NULL;
	out->n = 0;
	for (; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		len = nl - line;
		if (is_vma_header(line)) {
			ret = vma_list_grow(out, &cap);
			if (ret)
				break;
			memset(&out->v[out->n], 0, sizeof(out->v[0]));
			ret = parse_vma_header(line, len, &out->v[out->n]);
			if (ret)
				break;
			out->n++;
		} else if (out->n) {
			parse_vma_field(line, &out->v[out->n - 1]);
		} else if (len) {
			ret = -EINVAL;
			break;
		}
		if (!*nl)
			break;
	}
	if (ret)
		proc_vma_list_free(out);
	return ret;
}

void proc_vma_list_free(struct proc_vma_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
