/*
 * Names of context flags, context caps, capabilities and uname fields as
 * the command line spells them: the vserver.h constants without prefix.
 */
#define LOG_PREFIX "ctx/names: "
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"

struct bitname {
	const char *name;
	uint64_t bit;
	const char *why; /* non-NULL: known but refused, and why */
};

static const struct bitname flag_names[] = {
	{ "INFO_LOCK", 0x1ULL, "needs the kernel module (context switch lock)" },
	{ "INFO_SCHED", 0x2ULL, "needs the kernel module (per-context scheduler accounting)" },
	{ "INFO_NPROC", VXCTX_F_INFO_NPROC, NULL },
	{ "INFO_PRIVATE", VXCTX_F_INFO_PRIVATE, NULL },
	{ "INFO_INIT", VXCTX_F_INFO_INIT, NULL },
	{ "INFO_HIDE", 0x20ULL, "needs the kernel module" },
	{ "INFO_ULIMIT", 0x40ULL, "needs the kernel module" },
	{ "INFO_NSPACE", 0x80ULL, "needs the kernel module" },
	{ "SCHED_HARD", 0x100ULL, "needs the kernel module (token bucket scheduler)" },
	{ "SCHED_PRIO", 0x200ULL, "needs the kernel module (token bucket scheduler)" },
	{ "SCHED_PAUSE", VXCTX_F_SCHED_PAUSE, NULL },
	{ "VIRT_MEM", 0x10000ULL, "needs the kernel module" },
	{ "VIRT_UPTIME", VXCTX_F_VIRT_UPTIME, NULL },
	{ "VIRT_CPU", 0x40000ULL, "needs the kernel module" },
	{ "VIRT_LOAD", 0x80000ULL, "needs the kernel module" },
	{ "VIRT_TIME", 0x100000ULL, "needs the kernel module" },
	{ "HIDE_MOUNT", 0x1000000ULL, "needs the kernel module" },
	{ "HIDE_NETIF", VXCTX_F_HIDE_NETIF, NULL },
	{ "HIDE_VINFO", 0x4000000ULL, "needs the kernel module" },
	{ "STATE_SETUP", 1ULL << 32, "internal state flag, set by the kernel module" },
	{ "STATE_INIT", 1ULL << 33, "internal state flag, set by the kernel module" },
	{ "STATE_ADMIN", 1ULL << 34, "internal state flag, set by the kernel module" },
	{ "SC_HELPER", 1ULL << 36, "needs the kernel module" },
	{ "REBOOT_KILL", VXCTX_F_REBOOT_KILL, NULL },
	{ "PERSISTENT", VXCTX_F_PERSISTENT, NULL },
	{ "FORK_RSS", 1ULL << 48, "needs the kernel module" },
	{ "PROLIFIC", VXCTX_F_PROLIFIC, NULL },
	{ "IGNEG_NICE", 1ULL << 52, "needs the kernel module" },
};

static const struct bitname ccap_names[] = {
	{ "SET_UTSNAME", VXCTX_C_SET_UTSNAME, NULL },
	{ "SET_RLIMIT", VXCTX_C_SET_RLIMIT, NULL },
	{ "RAW_ICMP", VXCTX_C_RAW_ICMP, NULL },
	{ "SYSLOG", VXCTX_C_SYSLOG, NULL },
	{ "SECURE_MOUNT", VXCTX_C_SECURE_MOUNT, NULL },
	{ "SECURE_REMOUNT", VXCTX_C_SECURE_REMOUNT, NULL },
	{ "BINARY_MOUNT", VXCTX_C_BINARY_MOUNT, NULL },
	{ "QUOTA_CTL", VXCTX_C_QUOTA_CTL, NULL },
	{ "ADMIN_MAPPER", VXCTX_C_ADMIN_MAPPER, NULL },
	{ "ADMIN_CLOOP", VXCTX_C_ADMIN_CLOOP, NULL },
};

static const char *const cap_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
	"PERFMON",
	"BPF",
	"CHECKPOINT_RESTORE",
};

static const char *const uname_names[] = {
	"CONTEXT", "SYSNAME", "NODENAME", "RELEASE", "VERSION", "MACHINE", "DOMAINNAME",
};

/* Parses "A,B,C" against tbl; a refused name fails with its reason. */
static int parse_list(const char *list, const struct bitname *tbl, size_t n, const char *what,
		      uint64_t *bits)
{
	_cleanup_free_ char *copy = strdup(list ? list : "");
	char *tok, *save = NULL;
	size_t i;

	if (!copy)
		return -ENOMEM;
	*bits = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n; i++)
			if (!strcasecmp(tok, tbl[i].name))
				break;
		if (i == n) {
			pr_err("unknown %s '%s'\n", what, tok);
			return -EINVAL;
		}
		if (tbl[i].why) {
			pr_err("%s %s: %s\n", what, tbl[i].name, tbl[i].why);
			return -ENOTTY;
		}
		*bits |= tbl[i].bit;
	}
	return 0;
}

int vxctx_flag_parse(const char *list, uint64_t *bits)
{
	return parse_list(list, flag_names, ARRAY_SIZE(flag_names), "flag", bits);
}

int vxctx_ccap_parse(const char *list, uint64_t *bits)
{
	return parse_list(list, ccap_names, ARRAY_SIZE(ccap_names), "context cap", bits);
}

/* Index of capability name (with or without CAP_), -1 if unknown. */
static int cap_index(const char *name)
{
	size_t i;

	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

int vxctx_bcap_parse(const char *list, uint64_t *bits)
{
	_cleanup_free_ char *copy = strdup(list ? list : "");
	uint64_t keep = 0, drop = 0;
	char *tok, *save = NULL;
	int i, plain = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int neg = (*tok == '~' || *tok == '!');

		if (!neg && !strcasecmp(tok, "ALL")) { /* the explicit opt-out of the guest set */
			keep = VXCTX_BCAPS_ALL, plain = 1;
			continue;
		}
		i = cap_index(tok + neg);
		if (i < 0) {
			pr_err("unknown capability '%s'\n", tok + neg);
			return -EINVAL;
		}
		if (neg)
			drop |= 1ULL << i;
		else
			keep |= 1ULL << i, plain = 1;
	}
	*bits = (plain ? keep : VXCTX_BCAPS_ALL) & ~drop;
	return 0;
}

static void format_bits(uint64_t bits, const struct bitname *tbl, size_t n, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < n && off < len; i++)
		if (bits & tbl[i].bit)
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", tbl[i].name);
	if (!off)
		snprintf(buf, len, "-");
}

void vxctx_flag_format(uint64_t bits, char *buf, size_t len)
{
	format_bits(bits, flag_names, ARRAY_SIZE(flag_names), buf, len);
}

void vxctx_ccap_format(uint64_t bits, char *buf, size_t len)
{
	format_bits(bits, ccap_names, ARRAY_SIZE(ccap_names), buf, len);
}

/* "ALL", "ALL,~X,~Y" or the list of kept capabilities. */
void vxctx_bcap_format(uint64_t bits, char *buf, size_t len)
{
	size_t i, off, n = ARRAY_SIZE(cap_names);
	uint64_t all = (1ULL << n) - 1;
	int dropped = __builtin_popcountll(all & ~bits);

	if (dropped <= (int)n / 2) {
		off = snprintf(buf, len, "ALL");
		for (i = 0; i < n && off < len; i++)
			if (!(bits & (1ULL << i)))
				off += snprintf(buf + off, len - off, ",~%s", cap_names[i]);
		return;
	}
	buf[0] = 0;
	for (i = 0, off = 0; i < n && off < len; i++)
		if (bits & (1ULL << i))
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", cap_names[i]);
	if (!off)
		snprintf(buf, len, "-");
}

int vxctx_uname_field(const char *name)
{
	size_t i;

	if (!strncasecmp(name, "VHIN_", 5))
		name += 5;
	for (i = 0; i < ARRAY_SIZE(uname_names); i++)
		if (!strcasecmp(name, uname_names[i]))
			return (int)i;
	return -1;
}
