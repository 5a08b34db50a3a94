/*
 * Packet sockets (fd kind "packetsk"), in the root's C part: a new
 * AF_PACKET socket of the recorded type made with protocol 0 (so it
 * receives nothing yet) as the recorded owner (fsuid/fsgid), its PACKET_*
 * and SOL_SOCKET options set and read back, then bound to the recorded
 * ethertype and interface, the interface looked up by its recorded name
 * (refused if there is none of that name here), then O_NONBLOCK.  Binding
 * last means no frame reaches it before it is what it was.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

#include "log.h"
#include "net/sockopt.h"
#include "restore/restore.h"
#include "packetsk.pb-c.h"

/* The image alone: the entry there and every field in range. */
static int check_packetsk(const struct rst_image *img, const struct rst_file *f)
{
	const PacketskEntry *e = f->fe->packetsk;
	char who[64];

	if (!e || !e->has_type || !e->has_protocol || !e->has_uid || !e->has_gid) {
		pr_err("image: packet socket (file id %u) has no packetsk entry or misses its "
		       "type, protocol or owner\n",
		       f->fe->id);
		return -EBADMSG;
	}
	if ((e->type != SOCK_RAW && e->type != SOCK_DGRAM) || e->protocol > 0xffff ||
	    e->version > TPACKET_V3 || e->reserve > INT32_MAX || e->timestamp > INT32_MAX ||
	    e->uid == UINT32_MAX || e->gid == UINT32_MAX ||
	    (e->ifname &&
	     (!e->ifname[0] || strlen(e->ifname) >= IF_NAMESIZE || strchr(e->ifname, '/')))) {
		pr_err("image: packet socket (file id %u): type %u, protocol %#x, version %u, "
		       "reserve, timestamp, owner or interface out of range\n",
		       f->fe->id, e->type, e->protocol, e->version);
		return -EBADMSG;
	}
	snprintf(who, sizeof(who), "packet socket (file id %u)", f->fe->id);
	return e->opts ? net_skopts_check(e->opts, who) : 0;
}

/* The PACKET_* options that differ from a new socket's, read back. */
static int set_options(int sk, const PacketskEntry *e, const char *who)
{
	const struct net_int_set opts[] = {
		{ SOL_PACKET, PACKET_VERSION, "PACKET_VERSION", e->version != 0, (int)e->version },
		{ SOL_PACKET, PACKET_RESERVE, "PACKET_RESERVE", e->reserve != 0, (int)e->reserve },
		{ SOL_PACKET, PACKET_AUXDATA, "PACKET_AUXDATA", e->auxdata, 1 },
		{ SOL_PACKET, PACKET_ORIGDEV, "PACKET_ORIGDEV", e->origdev, 1 },
		{ SOL_PACKET, PACKET_VNET_HDR, "PACKET_VNET_HDR", e->vnet_hdr, 1 },
		{ SOL_PACKET, PACKET_TIMESTAMP, "PACKET_TIMESTAMP", e->timestamp != 0,
		  (int)e->timestamp },
		{ SOL_PACKET, PACKET_LOSS, "PACKET_LOSS", e->loss, 1 },
		{ SOL_PACKET, PACKET_QDISC_BYPASS, "PACKET_QDISC_BYPASS", e->qdisc_bypass, 1 },
		{ SOL_PACKET, PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING", e->ignore_outgoing,
		  1 },
		{ SOL_PACKET, PACKET_TX_HAS_OFF, "PACKET_TX_HAS_OFF", e->tx_has_off, 1 },
	};
	int ret;

	ret = net_set_ints(sk, opts, sizeof(opts) / sizeof(opts[0]), who);
	if (ret)
		return ret;
	return e->opts ? net_skopts_apply(sk, e->opts, who) : 0;
}

/* Binds to the recorded ethertype and interface (by name).  0 or -errno. */
static int bind_packet(int sk, const PacketskEntry *e, const char *who)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)e->protocol };

	if (e->ifname) {
		sa.sll_ifindex = (int)if_nametoindex(e->ifname);
		if (!sa.sll_ifindex) {
			pr_err("%s: its interface %s is not here: refused\n", who, e->ifname);
			return -ENODEV;
		}
	}
	if (!e->protocol && !e->ifname)
		return 0;
	if (bind(sk, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_perror("%s: cannot bind to protocol %#x on %s", who, ntohs(sa.sll_protocol),
			  e->ifname ? e->ifname : "every interface");
		return -errno;
	}
	return 0;
}

/* A new packet socket in the recorded state.  fd or -errno (logged). */
static int make_socket(const PacketskEntry *e, const char *who)
{
	int sk, ret = 0, old_uid, old_gid;

	old_gid = setfsgid(e->gid);
	old_uid = setfsuid(e->uid);
	sk = socket(AF_PACKET, (int)e->type | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		ret = -errno;
		pr_perror("%s: cannot create it here", who);
	}
	setfsuid(old_uid);
	setfsgid(old_gid);
	ret = ret ?: set_options(sk, e, who) ?: bind_packet(sk, e, who);
	if (ret && sk >= 0)
		close(sk);
	return ret ?: sk;
}

static int open_packetsk(const struct rst_image *img, struct rst_file *f)
{
	char who[64];
	int sk;

	snprintf(who, sizeof(who), "packet socket (file id %u)", f->fe->id);
	sk = make_socket(f->fe->packetsk, who);
	if (sk < 0)
		return sk;
	f->stage_fd = rst_stage_fd(img, sk);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_packetsk = {
	.kind = FILE_KIND__FILE_PACKETSK,
	.name = "packetsk",
	.check_image = check_packetsk,
	.open = open_packetsk,
};
