/*
 * The net sysctls of a namespace that matter to the programs in it, and
 * its nftables ruleset.  Sysctls are read and written through
 * /proc/sys/net by a thread inside the namespace (those files belong to
 * the namespace of the thread that opens them): the global ones, then
 * conf/all, conf/default and each link's conf (in that order, because
 * writing "all" changes every link's value).  A link's key equal to
 * conf/default's is not recorded: at restore the global, lo, all and
 * default values are written before the links are made, and a new link
 * copies default.  At restore a value is written only where the new
 * namespace's differs.  The ruleset: one
 * `list table` in JSON per table (libnftables), tables named vxcr* left
 * out (the network lock's), applied in the new namespace with JSON input.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "net/nft.h"

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "util/cleanup.h"
#include "net/netns-int.h"

/* Below /proc/sys/net: the namespace-wide ones. */
static const char *const globals[] = {
	"ipv4/ip_forward",
	"ipv4/ip_default_ttl",
	"ipv4/ip_local_port_range",
	"ipv4/ip_local_reserved_ports",
	"ipv4/ip_nonlocal_bind",
	"ipv4/ip_unprivileged_port_start",
	"ipv4/ping_group_range",
	"ipv4/icmp_echo_ignore_all",
	"ipv4/icmp_echo_ignore_broadcasts",
	"ipv4/tcp_syncookies",
	"ipv4/tcp_keepalive_time",
	"ipv4/tcp_keepalive_intvl",
	"ipv4/tcp_keepalive_probes",
	"ipv4/tcp_fin_timeout",
	"ipv4/tcp_tw_reuse",
	"ipv4/tcp_timestamps",
	"ipv4/tcp_sack",
	"ipv4/tcp_window_scaling",
	"ipv4/tcp_ecn",
	"ipv4/tcp_max_syn_backlog",
	"ipv6/ip_nonlocal_bind",
	"core/somaxconn",
};

/* Below /proc/sys/net/ipv4/conf/DEV. */
static const char *const conf4[] = {
	"forwarding",	    "rp_filter",    "accept_redirects", "send_redirects",
	"secure_redirects", "proxy_arp",    "arp_ignore",	"arp_announce",
	"arp_filter",	    "accept_local", "route_localnet",	"accept_source_route",
};

/* Below /proc/sys/net/ipv6/conf/DEV. */
static const char *const conf6[] = {
	"disable_ipv6",	     "forwarding", "accept_ra",	       "accept_dad",
	"autoconf",	     "hop_limit",  "use_tempaddr",     "addr_gen_mode",
	"keep_addr_on_down", "proxy_ndp",  "accept_redirects",
};

#define NGLOBALS (sizeof(globals) / sizeof(globals[0]))
#define NCONF4 (sizeof(conf4) / sizeof(conf4[0]))
#define NCONF6 (sizeof(conf6) / sizeof(conf6[0]))

/* Reads /proc/sys/net/name into buf (its newline cut).  0, -ENOENT, -errno. */
static int sysctl_read(const char *name, char *buf, size_t size)
{
	char path[256];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static int sysctl_write(const char *name, const char *value)
{
	char path[256];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len) {
		int ret = -errno;

		pr_perror("cannot set sysctl net/%s to \"%s\"", name, value);
		return ret;
	}
	return 0;
}

/* The value recorded for name, or NULL. */
static const char *taken(const NetnsEntry *e, const char *name)
{
	for (size_t i = 0; i < e->n_sysctls; i++)
		if (!strcmp(e->sysctls[i]->name, name))
			return e->sysctls[i]->value;
	return NULL;
}

/* Appends name's value (if the file exists) to the entry, unless it is
 * the value dflt names (a link's key equal to conf/default's). */
static int take(struct netns_dump *d, const char *name, const char *dflt, size_t max)
{
	char value[512];
	const char *dv;
	NetnsSysctl *s;
	int ret = sysctl_read(name, value, sizeof(value));

	if (ret == -ENOENT)
		return 0;
	dv = dflt ? taken(d->e, dflt) : NULL;
	if (!ret && dv && !strcmp(dv, value))
		return 0;
	if (ret) {
		pr_err("cannot read sysctl net/%s: %s\n", name, strerror(-ret));
		return ret;
	}
	if (d->e->n_sysctls >= max)
		return -EOVERFLOW;
	s = netns_alloc(&d->a, sizeof(*s));
	if (!s)
		return -ENOMEM;
	netns_sysctl__init(s);
	s->name = netns_strdup(&d->a, name);
	s->value = netns_strdup(&d->a, value);
	if (!s->name || !s->value)
		return -ENOMEM;
	d->e->sysctls[d->e->n_sysctls++] = s;
	return 0;
}

/*
 * The conf keys of dev.  A link made at restore copies conf/default, which
 * is restored before the links are made: a link's key equal to default's
 * is left out (the dump reads it, the restore neither reads nor writes
 * it).  Not so for lo, all and default themselves (lo exists before).
 */
static int take_conf(struct netns_dump *d, const char *dev, size_t max)
{
	bool link = strcmp(dev, "all") && strcmp(dev, "default") && strcmp(dev, "lo");
	char name[128], dflt[128];
	int ret = 0;
	size_t i;

	for (i = 0; !ret && i < NCONF4; i++) {
		snprintf(name, sizeof(name), "ipv4/conf/%s/%s", dev, conf4[i]);
		snprintf(dflt, sizeof(dflt), "ipv4/conf/default/%s", conf4[i]);
		ret = take(d, name, link ? dflt : NULL, max);
	}
	for (i = 0; !ret && i < NCONF6; i++) {
		snprintf(name, sizeof(name), "ipv6/conf/%s/%s", dev, conf6[i]);
		snprintf(dflt, sizeof(dflt), "ipv6/conf/default/%s", conf6[i]);
		ret = take(d, name, link ? dflt : NULL, max);
	}
	return ret;
}

int netns_dump_sysctls(struct netns_dump *d)
{
	size_t max = NGLOBALS + (d->e->n_links + 2) * (NCONF4 + NCONF6);
	int ret = 0;
	size_t i;

	d->e->sysctls = netns_alloc(&d->a, max * sizeof(*d->e->sysctls));
	if (!d->e->sysctls)
		return -ENOMEM;
	for (i = 0; !ret && i < NGLOBALS; i++)
		ret = take(d, globals[i], NULL, max);
	ret = ret ?: take_conf(d, "all", max);
	ret = ret ?: take_conf(d, "default", max);
	for (i = 0; !ret && i < d->e->n_links; i++)
		ret = take_conf(d, d->e->links[i]->name, max);
	return ret;
}

/* Is name one of a link's conf keys (not lo, all or default)? */
static bool link_key(const char *name)
{
	const char *dev = name + 10;

	if (strncmp(name, "ipv4/conf/", 10) && strncmp(name, "ipv6/conf/", 10))
		return false;
	return strncmp(dev, "all/", 4) && strncmp(dev, "default/", 8) && strncmp(dev, "lo/", 3);
}

int netns_build_sysctls(struct netns_build *b, bool links)
{
	char now[512];
	int ret = 0;

	for (size_t i = 0; !ret && i < b->e->n_sysctls; i++) {
		const NetnsSysctl *s = b->e->sysctls[i];

		if (link_key(s->name) != links)
			continue;
		ret = sysctl_read(s->name, now, sizeof(now));
		if (ret == -ENOENT) {
			pr_warn("sysctl net/%s does not exist here: not set\n", s->name);
			ret = 0;
			continue;
		}
		if (ret) {
			pr_err("cannot read sysctl net/%s: %s\n", s->name, strerror(-ret));
			break;
		}
		if (strcmp(now, s->value))
			ret = sysctl_write(s->name, s->value);
	}
	return ret;
}

static bool name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

/* "all", "default" or a link of e. */
static bool conf_dev(const NetnsEntry *e, const char *dev, size_t len)
{
	if ((len == 3 && !strncmp(dev, "all", 3)) || (len == 7 && !strncmp(dev, "default", 7)))
		return true;
	for (size_t i = 0; i < e->n_links; i++)
		if (e->links[i]->name && strlen(e->links[i]->name) == len &&
		    !strncmp(e->links[i]->name, dev, len))
			return true;
	return false;
}

/* One of the names this file reads, nothing else. */
static bool sysctl_known(const NetnsEntry *e, const char *name)
{
	const char *dev, *key;
	bool v4;

	if (name_in(name, globals, NGLOBALS))
		return true;
	if (strncmp(name, "ipv4/conf/", 10) && strncmp(name, "ipv6/conf/", 10))
		return false;
	v4 = name[3] == '4';
	dev = name + 10;
	key = strchr(dev, '/');
	if (!key || !conf_dev(e, dev, key - dev))
		return false;
	return v4 ? name_in(key + 1, conf4, NCONF4) : name_in(key + 1, conf6, NCONF6);
}

int netns_check_sysctls(const NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const NetnsSysctl *s = e->sysctls[i];
		const char *v = s->value;

		if (!s->name || !v || !sysctl_known(e, s->name)) {
			pr_err("image: NETNS: sysctl %s is not one vxcr restores\n",
			       s->name ? s->name : "(none)");
			return -EBADMSG;
		}
		if (strlen(v) > 500) {
			pr_err("image: NETNS: sysctl %s: value too long\n", s->name);
			return -EBADMSG;
		}
		for (; *v; v++) {
			if (!isprint((unsigned char)*v) && *v != '\t') {
				pr_err("image: NETNS: sysctl %s: value is not text\n", s->name);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/* A libnftables context writing its output and errors into buffers. */
static struct nft_ctx *nft_open(bool json)
{
	struct nft_ctx *nft = nftl_ctx_new(NFT_CTX_DEFAULT);

	if (!nft) {
		pr_err("cannot make a libnftables context\n");
		return NULL;
	}
	if (nftl_ctx_buffer_output(nft) || nftl_ctx_buffer_error(nft)) {
		nftl_ctx_free(nft);
		return NULL;
	}
	if (json)
		nftl_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	return nft;
}

/* Error text of the last command, one line. */
static const char *nft_err(struct nft_ctx *nft, char *buf, size_t size)
{
	const char *e = nftl_ctx_get_error_buffer(nft);
	char *nl;

	snprintf(buf, size, "%s", e && *e ? e : "failed");
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return buf;
}

/* The table names of the ruleset ("FAMILY NAME" per line) into *out. */
static int nft_tables(struct nft_ctx *nft, char **out)
{
	char err[256];

	if (nftl_run_cmd_from_buffer(nft, "list tables")) {
		pr_err("nft list tables: %s\n", nft_err(nft, err, sizeof(err)));
		return -EIO;
	}
	*out = strdup(nftl_ctx_get_output_buffer(nft));
	return *out ? 0 : -ENOMEM;
}

static int take_table(struct netns_dump *d, struct nft_ctx *json, const char *family,
		      const char *name)
{
	char cmd[200], err[256];
	const char *text;

	snprintf(cmd, sizeof(cmd), "list table %s %s", family, name);
	if (nftl_run_cmd_from_buffer(json, cmd)) {
		pr_err("nft %s: %s\n", cmd, nft_err(json, err, sizeof(err)));
		return -EIO;
	}
	text = nftl_ctx_get_output_buffer(json);
	d->e->nft_tables[d->e->n_nft_tables] = netns_strdup(&d->a, text);
	if (!d->e->nft_tables[d->e->n_nft_tables])
		return -ENOMEM;
	d->e->n_nft_tables++;
	return 0;
}

int netns_dump_nft(struct netns_dump *d)
{
	struct nft_ctx *text = nft_open(false), *json = nft_open(true);
	char *list = NULL, *line, *save = NULL;
	size_t max = 0;
	int ret = text && json ? nft_tables(text, &list) : -ENOMEM;

	for (line = list; !ret && line && *line; line++)
		max += *line == '\n';
	if (!ret)
		d->e->nft_tables = netns_alloc(&d->a, (max + 1) * sizeof(char *));
	if (!ret && !d->e->nft_tables)
		ret = -ENOMEM;
	for (line = ret ? NULL : strtok_r(list, "\n", &save); line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		char family[32], name[128];

		if (sscanf(line, "table %31s %127s", family, name) != 2)
			continue;
		if (!strncmp(name, "vxcr", 4) || d->e->n_nft_tables >= max)
			continue;
		ret = take_table(d, json, family, name);
	}
	free(list);
	if (text)
		nftl_ctx_free(text);
	if (json)
		nftl_ctx_free(json);
	return ret;
}

int netns_build_nft(struct netns_build *b)
{
	struct nft_ctx *nft;
	char err[256];
	int ret = 0;

	if (!b->e->n_nft_tables)
		return 0;
	nft = nft_open(true);
	if (!nft)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < b->e->n_nft_tables; i++) {
		if (nftl_run_cmd_from_buffer(nft, b->e->nft_tables[i])) {
			pr_err("cannot load nftables table %zu of the image: %s\n", i,
			       nft_err(nft, err, sizeof(err)));
			ret = -EIO;
		}
	}
	nftl_ctx_free(nft);
	return ret;
}

/* JSON only (an object), of a sane size; applied in the new namespace only. */
int netns_check_nft(const NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_nft_tables; i++) {
		const char *t = e->nft_tables[i];

		while (t && isspace((unsigned char)*t))
			t++;
		if (!t || *t != '{' || strlen(t) > (16u << 20)) {
			pr_err("image: NETNS: nftables table %zu is not a JSON object\n", i);
			return -EBADMSG;
		}
	}
	return 0;
}
