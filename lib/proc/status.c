/*
 * /proc/PID/status parser: identity, credentials, capabilities, umask,
 * ignored and caught signals, seccomp mode and filter count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

/* Parses the space/tab separated decimal list of "Groups:". */
static int parse_groups(const char *p, struct proc_status *st)
{
	size_t cap = 0;
	uint32_t *ng;
	char *end;
	unsigned long v;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		v = strtoul(p, &end, 10);
		if (st->n_groups == cap) {
			cap = cap ? cap * 2 : 16;
			ng = realloc(st->groups, cap * sizeof(*ng));
			if (!ng)
				return -ENOMEM;
			st->groups = ng;
		}
		st->groups[st->n_groups++] = v;
		p = end;
	}
}

static int parse_ids(const char *p, uint32_t ids[4])
{
	return sscanf(p, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4 ? 0 : -EINVAL;
}

static int parse_hex64(const char *p, uint64_t *cap)
{
	return sscanf(p, "%" SCNx64, cap) == 1 ? 0 : -EINVAL;
}

/*
 * "Seccomp:" is 0 (disabled), 1 (SECCOMP_MODE_STRICT) or 2
 * (SECCOMP_MODE_FILTER); the line exists only with CONFIG_SECCOMP, and
 * "Seccomp_filters:" (the number of filters attached, Linux 5.9) only
 * with CONFIG_SECCOMP_FILTER.
 */
static int parse_seccomp_mode(const char *p, struct proc_status *st)
{
	if (*p < '0' || *p > '2' || (p[1] && p[1] != '\n'))
		return -EINVAL;
	st->seccomp_mode = *p - '0';
	st->has_seccomp = true;
	return 0;
}

/* "NSpid:": the pid in every pid namespace from ours inwards. */
static void parse_nspid(const char *p, struct proc_status *st)
{
	char *end;

	for (;;) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		st->nspid = (pid_t)v;
		st->ns_levels++;
		p = end;
	}
}

/* Handles one "Key:\tvalue" line; unknown keys are ignored. */
static int parse_status_line(const char *key, size_t klen, const char *val, struct proc_status *st,
			     unsigned *seen)
{
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))
	if (KEY("State")) {
		st->state = *val;
		*seen |= 1;
	} else if (KEY("Tgid")) {
		st->tgid = atoi(val);
	} else if (KEY("Pid")) {
		st->pid = atoi(val);
		*seen |= 2;
	} else if (KEY("PPid")) {
		st->ppid = atoi(val);
	} else if (KEY("TracerPid")) {
		st->tracer_pid = atoi(val);
	} else if (KEY("Uid")) {
		*seen |= 4;
		return parse_ids(val, st->uid);
	} else if (KEY("Gid")) {
		*seen |= 8;
		return parse_ids(val, st->gid);
	} else if (KEY("Groups")) {
		return parse_groups(val, st);
	} else if (KEY("CapInh")) {
		return parse_hex64(val, &st->cap_inh);
	} else if (KEY("CapPrm")) {
		return parse_hex64(val, &st->cap_prm);
	} else if (KEY("CapEff")) {
		return parse_hex64(val, &st->cap_eff);
	} else if (KEY("CapBnd")) {
		return parse_hex64(val, &st->cap_bnd);
	} else if (KEY("CapAmb")) {
		return parse_hex64(val, &st->cap_amb);
	} else if (KEY("Umask")) {
		st->umask = strtoul(val, NULL, 8);
		st->has_umask = true;
	} else if (KEY("SigIgn")) {
		*seen |= 0x10;
		return parse_hex64(val, &st->sig_ign);
	} else if (KEY("SigCgt")) {
		*seen |= 0x20;
		return parse_hex64(val, &st->sig_cgt);
	} else if (KEY("NoNewPrivs")) {
		st->no_new_privs = atoi(val) != 0;
	} else if (KEY("Kthread")) {
		st->kthread = atoi(val) != 0;
	} else if (KEY("Threads")) {
		st->threads = strtoul(val, NULL, 10);
	} else if (KEY("Seccomp")) {
		return parse_seccomp_mode(val, st);
	} else if (KEY("Seccomp_filters")) {
		st->seccomp_filters = strtoul(val, NULL, 10);
	} else if (KEY("NSpid")) {
		parse_nspid(val, st);
	}
	return 0;
#undef KEY
}

/*
 * Fills st from status text.  State, Pid, Uid and Gid must be present.
 * Returns 0 or -errno; st->groups must be released with proc_status_free().
 */
int proc_parse_status(const char *text, struct proc_status *st)
{
	const char *line = text, *colon, *nl, *val;
	unsigned seen = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	for (; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		colon = memchr(line, ':', nl - line);
		if (colon) {
			val = colon + 1;
			while (*val == ' ' || *val == '\t')
				val++;
			ret = parse_status_line(line, colon - line, val, st, &seen);
			if (ret) {
				proc_status_free(st);
				return ret;
			}
		}
		if (!*nl)
			break;
	}
	if ((seen & 0xf) != 0xf) {
		proc_status_free(st);
		return -EINVAL;
	}
	st->has_sig_masks = (seen & 0x30) == 0x30;
	return 0;
}

void proc_status_free(struct proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->n_groups = 0;
}

/* /proc/PID/status of pid, parsed.  0 or -errno. */
int proc_read_status(pid_t pid, struct proc_status *st)
{
	char *text;
	int ret;

	ret = proc_read_file(pid, "status", &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_status(text, st);
	free(text);
	return ret;
}
