/*
 * libnftables loaded on first use (nft.h), and a table lookup through
 * nfnetlink that needs no libnftables.
 */
#define LOG_PREFIX "net/nft: "
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "log.h"
#include "net/nft.h"

/* The soname of libnftables 1.x (Debian's libnftables1). */
#define NFT_SONAME "libnftables.so.1"

static struct {
	__typeof__(&nft_ctx_new) ctx_new;
	__typeof__(&nft_ctx_free) ctx_free;
	__typeof__(&nft_ctx_buffer_output) buffer_output;
	__typeof__(&nft_ctx_buffer_error) buffer_error;
	__typeof__(&nft_ctx_get_output_buffer) get_output;
	__typeof__(&nft_ctx_get_error_buffer) get_error;
	__typeof__(&nft_ctx_output_set_flags) set_flags;
	__typeof__(&nft_run_cmd_from_buffer) run;
} nftl;

static pthread_once_t nftl_once = PTHREAD_ONCE_INIT;
static int nftl_err;

/* Resolves name in h into *slot; false (logged) if it is missing. */
static bool nftl_sym(void *h, const char *name, void *slot)
{
	void *p = dlsym(h, name);

	if (!p) {
		pr_err("%s has no %s: %s\n", NFT_SONAME, name, dlerror());
		return false;
	}
	memcpy(slot, &p, sizeof(p));
	return true;
}

static void nftl_open(void)
{
	void *h = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);

	nftl_err = -EPROTONOSUPPORT;
	if (!h) {
		pr_err("nftables cannot be used here: %s\n", dlerror());
		return;
	}
	if (!nftl_sym(h, "nft_ctx_new", &nftl.ctx_new) ||
	    !nftl_sym(h, "nft_ctx_free", &nftl.ctx_free) ||
	    !nftl_sym(h, "nft_ctx_buffer_output", &nftl.buffer_output) ||
	    !nftl_sym(h, "nft_ctx_buffer_error", &nftl.buffer_error) ||
	    !nftl_sym(h, "nft_ctx_get_output_buffer", &nftl.get_output) ||
	    !nftl_sym(h, "nft_ctx_get_error_buffer", &nftl.get_error) ||
	    !nftl_sym(h, "nft_ctx_output_set_flags", &nftl.set_flags) ||
	    !nftl_sym(h, "nft_run_cmd_from_buffer", &nftl.run)) {
		dlclose(h);
		return;
	}
	nftl_err = 0; /* the handle stays open for the life of the process */
}

int nftl_load(void)
{
	pthread_once(&nftl_once, nftl_open);
	return nftl_err;
}

struct nft_ctx *nftl_ctx_new(uint32_t flags)
{
	struct nft_ctx *nft;

	if (nftl_load()) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	nft = nftl.ctx_new(flags);
	if (!nft)
		errno = ENOMEM;
	return nft;
}

void nftl_ctx_free(struct nft_ctx *nft)
{
	if (nft)
		nftl.ctx_free(nft);
}

int nftl_ctx_buffer_output(struct nft_ctx *nft)
{
	return nftl.buffer_output(nft);
}

int nftl_ctx_buffer_error(struct nft_ctx *nft)
{
	return nftl.buffer_error(nft);
}

const char *nftl_ctx_get_output_buffer(struct nft_ctx *nft)
{
	return nftl.get_output(nft);
}

const char *nftl_ctx_get_error_buffer(struct nft_ctx *nft)
{
	return nftl.get_error(nft);
}

void nftl_ctx_output_set_flags(struct nft_ctx *nft, unsigned int flags)
{
	nftl.set_flags(nft, flags);
}

int nftl_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf)
{
	return nftl.run(nft, buf);
}

/* The GETTABLE request for "inet name" with sequence number seq. */
struct table_req {
	struct nlmsghdr nh;
	struct nfgenmsg g;
	struct nlattr name_attr;
	char name[NFT_TABLE_MAXNAMELEN];
};

static int send_table_req(int sk, const char *name, uint32_t seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct table_req req;
	size_t len = strlen(name) + 1;

	if (len > sizeof(req.name))
		return -ENAMETOOLONG;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = seq;
	req.g.nfgen_family = NFPROTO_INET;
	req.g.version = NFNETLINK_V0;
	req.name_attr.nla_type = NFTA_TABLE_NAME;
	req.name_attr.nla_len = NLA_HDRLEN + len;
	memcpy(req.name, name, len);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.g)) + NLA_ALIGN(req.name_attr.nla_len);
	if (sendto(sk, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/*
 * Reads the kernel's answers to seq until its ack or error: 1 if a table
 * came back, 0 (ENOENT), -errno.  Every length is checked (NLMSG_OK).
 */
static int read_table_reply(int sk, uint32_t seq)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsgerr *e;
	struct nlmsghdr *nh;
	int found = 0;
	ssize_t n;

	for (;;) {
		n = recv(sk, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
				found = 1;
				continue;
			}
			if (nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			e = NLMSG_DATA(nh);
			if (e->error == -ENOENT)
				return 0;
			return e->error ? e->error : found;
		}
	}
}

int nft_inet_table_exists(const char *name)
{
	uint32_t seq = (uint32_t)getpid();
	int sk, ret;

	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (sk < 0)
		return -errno;
	ret = send_table_req(sk, name, seq);
	if (!ret)
		ret = read_table_reply(sk, seq);
	close(sk);
	return ret;
}
