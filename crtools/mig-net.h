/* vxcr migrate / vxcr serve: key directory and addresses (mig-net.c). */
#ifndef VXCR_CLI_MIG_NET_H
#define VXCR_CLI_MIG_NET_H

#include <stddef.h>

#define MIG_DEFAULT_PORT 7411
#define MIG_DEFAULT_KEYS "/etc/vxcr/migrate"

struct vxcr_key;
struct vxcr_keyring;

/* DIR/host.key (ours) and DIR/trusted/ (the peers' NAME.pub): 0, or -1
 * after one line. */
int mig_keys_load(const char *cmd, const char *dir, struct vxcr_key **key,
		  struct vxcr_keyring **kr);
/* HOST, HOST:PORT, [V6]:PORT, or :PORT (any address) into host and port. */
int mig_split_addr(const char *cmd, const char *arg, char *host, size_t hsize, char *port,
		   size_t psize);
/* A TCP connection to arg within timeout_ms (TCP_NODELAY), or -1 after
 * one line. */
int mig_connect(const char *cmd, const char *arg, int timeout_ms);
/* A listening TCP socket on arg, or -1 after one line. */
int mig_listen(const char *cmd, const char *arg);

#endif
