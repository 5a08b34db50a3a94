/*
 * /proc/PID/stat parser.  comm may hold spaces and parentheses, so it is
 * taken between the first '(' and the last ')'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

/* Field numbers (1-based, as in proc(5)) of the fields kept. */
enum {
	F_STATE = 3,
	F_PPID = 4,
	F_PGRP = 5,
	F_SESSION = 6,
	F_TTY_NR = 7,
	F_TPGID = 8,
	F_FLAGS = 9,
	F_NICE = 19,
	F_NUM_THREADS = 20,
	F_START_CODE = 26,
	F_END_CODE = 27,
	F_START_STACK = 28,
	F_EXIT_SIGNAL = 38,
	F_START_DATA = 45,
	F_END_DATA = 46,
	F_START_BRK = 47,
	F_ARG_START = 48,
	F_ARG_END = 49,
	F_ENV_START = 50,
	F_ENV_END = 51,
	F_EXIT_CODE = 52,
};

static void store_field(struct proc_stat *st, int field, const char *tok)
{
	unsigned long long u = strtoull(tok, NULL, 10);

	switch (field) {
	case F_STATE:
		st->state = tok[0];
		break;
	case F_PPID:
		st->ppid = atoi(tok);
		break;
	case F_PGRP:
		st->pgrp = atoi(tok);
		break;
	case F_SESSION:
		st->session = atoi(tok);
		break;
	case F_TTY_NR:
		st->tty_nr = (uint32_t)strtoul(tok, NULL, 10);
		break;
	case F_TPGID:
		st->tpgid = atoi(tok);
		break;
	case F_FLAGS:
		st->flags = u;
		break;
	case F_NICE:
		st->nice = strtol(tok, NULL, 10);
		break;
	case F_NUM_THREADS:
		st->num_threads = u;
		break;
	case F_START_CODE:
		st->start_code = u;
		break;
	case F_END_CODE:
		st->end_code = u;
		break;
	case F_START_STACK:
		st->start_stack = u;
		break;
	case F_EXIT_SIGNAL:
		st->exit_signal = atoi(tok);
		break;
	case F_START_DATA:
		st->start_data = u;
		break;
	case F_END_DATA:
		st->end_data = u;
		break;
	case F_START_BRK:
		st->start_brk = u;
		break;
	case F_ARG_START:
		st->arg_start = u;
		break;
	case F_ARG_END:
		st->arg_end = u;
		break;
	case F_ENV_START:
		st->env_start = u;
		break;
	case F_ENV_END:
		st->env_end = u;
		break;
	case F_EXIT_CODE:
		st->exit_code = atoi(tok);
		break;
	}
}

/*
 * Fills st from stat text.  Requires at least the fields up to num_threads;
 * the mm fields are taken when present.  Returns 0 or -EINVAL.
 */
int proc_parse_stat(const char *text, struct proc_stat *st)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	const char *p;
	size_t clen;
	int field = F_STATE;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open || close[1] != ' ')
		return -EINVAL;
	st->pid = atoi(text);
	clen = close - open - 1;
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, clen);
	st->comm[clen] = '\0';

	for (p = close + 2; *p && *p != '\n'; field++) {
		store_field(st, field, p);
		p = strchrnul(p, ' ');
		if (*p == ' ')
			p++;
	}
	return field > F_NUM_THREADS ? 0 : -EINVAL;
}

/* /proc/PID/stat of pid, parsed.  0 or -errno. */
int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char *text;
	int ret;

	ret = proc_read_file(pid, "stat", &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_stat(text, st);
	free(text);
	return ret;
}
