/*
 * libnftables, loaded when first needed (dlopen): the network lock and the
 * netfilter part of a network namespace are the only users, and most
 * dumps and restores (a process without TCP sockets, in our namespace)
 * never need it.  Linked at start-up, it and what it drags in (nftnl, mnl,
 * xtables, jansson, gmp) cost every vxcr run ~0.35 ms of mapping and
 * relocation (NOTES "Small processes in milliseconds").
 *
 * The nftl_* calls are libnftables' nft_* calls of the same name.
 * nftl_ctx_new() returns NULL with errno EPROTONOSUPPORT when the library
 * cannot be loaded (logged once); the other calls are only made on a
 * context it returned.
 */
#ifndef VXCR_NET_NFT_H
#define VXCR_NET_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <nftables/libnftables.h>

/* Loads libnftables once.  0 or -EPROTONOSUPPORT (logged). */
int nftl_load(void);
/* A context as nft_ctx_new(flags); NULL with errno set. */
struct nft_ctx *nftl_ctx_new(uint32_t flags);
void nftl_ctx_free(struct nft_ctx *nft);
int nftl_ctx_buffer_output(struct nft_ctx *nft);
int nftl_ctx_buffer_error(struct nft_ctx *nft);
const char *nftl_ctx_get_output_buffer(struct nft_ctx *nft);
const char *nftl_ctx_get_error_buffer(struct nft_ctx *nft);
void nftl_ctx_output_set_flags(struct nft_ctx *nft, unsigned int flags);
int nftl_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf);

/*
 * Is there a table "inet name" in the network namespace of the calling
 * thread?  Asked with one nfnetlink NFT_MSG_GETTABLE, without libnftables
 * (no context, no cache of the whole ruleset).  1, 0 or -errno (nf_tables
 * missing: -EPROTONOSUPPORT or -EAFNOSUPPORT).
 */
int nft_inet_table_exists(const char *name);

#endif
