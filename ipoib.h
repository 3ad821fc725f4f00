/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ib_ipoib: IP over InfiniBand (RFC 4391/4392) for InfiniBand and RoCE ports.
 *
 * Shared definitions.  One struct ipoib_dev_priv exists per net_device; the
 * fabric back ends (ipoib_fabric_ib.c for InfiniBand/SA, ipoib_fabric_roce.c
 * for RoCE) sit behind struct ipoib_fabric_ops and everything else is shared.
 *
 * Work placement (the design every change keeps):
 *  - priv->wq is an ordered workqueue owned by one net_device.  It is created
 *    in ipoib_dev_init() and destroyed in ipoib_dev_uninit().  Every work
 *    item of that interface (multicast join and restart, carrier-on,
 *    neighbour/AH reaping, fabric completions, the reopen after a QP or CQ
 *    error) runs there.
 *  - ipoib_flush_wq is global and ordered, and carries only the
 *    light/normal/heavy flush tasks raised by IB events, one at a time in
 *    the order the events came.  A flush task may flush a per-device queue.
 *  - Code that waits for priv->wq while holding rtnl first clears
 *    IPOIB_FLAG_OPER_UP; every work item that needs rtnl takes it with
 *    ipoib_rtnl_lock_or_bail(), which gives up once that bit is clear.  So
 *    taking one interface down never waits for any other interface.
 */
#ifndef _IPOIB_H
#define _IPOIB_H

#include <linux/if_infiniband.h>
#include <linux/if_link.h>
#include <linux/irq_work.h>
#include <linux/kref.h>
#include <linux/netdevice.h>
#include <linux/rbtree.h>
#include <linux/rhashtable.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_pack.h>
#include <rdma/ib_sa.h>
#include <rdma/ib_verbs.h>

#include "ipoib_addr.h"

#define DRV_NAME	"ib_ipoib"
/* the Makefile passes the git description of the tree it builds */
#ifdef IPOIB_BUILD_VERSION
#define DRV_VERSION	IPOIB_BUILD_VERSION
#else
#define DRV_VERSION	"0.3.0"
#endif

/* IPOIB_ALEN, IPOIB_ENCAP_LEN and the address layout are in ipoib_addr.h. */
#define IPOIB_PSEUDO_LEN	20	/* destination address kept in headroom */
#define IPOIB_HARD_LEN		(IPOIB_ENCAP_LEN + IPOIB_PSEUDO_LEN)

#define IPOIB_MIN_QUEUE_SIZE	2
#define IPOIB_MAX_QUEUE_SIZE	8192

#define IPOIB_NUM_WC		16
#define IPOIB_MAX_PENDING	8	/* skbs held per unresolved destination */
#define IPOIB_REAP_INTERVAL	HZ

/*
 * Connected mode (RFC 4755).  A receive buffer is a linear head plus page
 * fragments, IPOIB_CM_BUF_SIZE bytes in all; receives of up to
 * IPOIB_CM_COPYBREAK bytes are copied and the buffer reposted.
 */
#define IPOIB_CM_MTU		(0x10000 - 0x10)	/* 16-byte aligned */
#define IPOIB_CM_BUF_SIZE	(IPOIB_CM_MTU + IPOIB_ENCAP_LEN)
#define IPOIB_CM_HEAD_SIZE	2048
#define IPOIB_CM_RX_FRAGS	DIV_ROUND_UP(IPOIB_CM_BUF_SIZE - IPOIB_CM_HEAD_SIZE, \
					     PAGE_SIZE)
#define IPOIB_CM_RX_SG		(1 + IPOIB_CM_RX_FRAGS)
#define IPOIB_CM_COPYBREAK	256
/* work request IDs of connected-mode buffers carry this bit */
#define IPOIB_WR_CM		BIT_ULL(32)
/*
 * and every work request ID carries the generation of the open that posted
 * it (bits 40..63), so a completion left over from before a drain timeout
 * is recognised and ignored instead of freeing a buffer posted since
 */
#define IPOIB_WR_GEN_SHIFT	40
#define IPOIB_WR_GEN_MASK	0xffffffu

/* priv->flags */
enum {
	IPOIB_FLAG_INITIALIZED,	/* ipoib_dev_init() done, transport exists */
	IPOIB_FLAG_ADMIN_UP,	/* between ndo_open and ndo_stop */
	IPOIB_FLAG_OPER_UP,	/* QP in RTS, work may run; cleared first on the way down */
	IPOIB_FLAG_MCAST_RUN,	/* the multicast join task may be queued */
	IPOIB_FLAG_UMCAST,	/* leave user-joined groups to user space */
	IPOIB_FLAG_CHILD,	/* a P_Key child of another interface */
	IPOIB_FLAG_PKEY_OK,	/* our P_Key is in the port's table */
	IPOIB_FLAG_MTU_SYNC,	/* MTU set by the driver, not the user */
	IPOIB_FLAG_MCAST_REJOIN, /* restart task: leave and rejoin everything */
	IPOIB_FLAG_NOTIFY_PEERS, /* address changed: announce it at carrier on */
	IPOIB_FLAG_ADMIN_CM,	/* connected mode chosen (sysfs/netlink mode) */
};

/* cm_conn->flags */
enum {
	IPOIB_CM_PASSIVE,	/* the peer connected to us: we receive */
	IPOIB_CM_NEED_START,	/* active, waiting for the start task */
	IPOIB_CM_CONNECTED,	/* active: REP handled, sends go over RC */
	IPOIB_CM_DEAD,		/* on cm.dead_list, being torn down */
	IPOIB_CM_SHUT,		/* DREQ sent and QP in error: draining */
	IPOIB_CM_FAILED,	/* never got connected: counted, backs off */
};

/* mcast->flags */
enum {
	IPOIB_MCAST_SENDONLY,	/* we only send to this group */
	IPOIB_MCAST_BUSY,	/* a fabric join is outstanding */
	IPOIB_MCAST_JOINED,	/* the fabric reported the join complete */
	IPOIB_MCAST_ATTACHED,	/* our QP is attached (full members only) */
	IPOIB_MCAST_FOUND,	/* still wanted, used by the restart task */
};

struct ipoib_dev_priv;
struct seq_file;

/* Encapsulation header (RFC 4391 section 6). */
struct ipoib_header {
	__be16 proto;
	__be16 reserved;
};

/* Destination kept in front of the encapsulation header until transmit. */
struct ipoib_pseudo_header {
	u8 hwaddr[IPOIB_ALEN];
};

/*
 * An address handle with a reference count.  The last put moves it to
 * priv->dead_ahs; the reaper destroys it once every send that used it has
 * completed (last_send is behind tx_tail) and an RCU grace period has passed.
 */
struct ipoib_ah {
	struct ipoib_dev_priv *priv;
	struct ib_ah *ah;
	struct list_head list;
	struct kref ref;
	unsigned int last_send;
};

struct ipoib_rx_buf {
	struct sk_buff *skb;
	u64 mapping;
};

struct ipoib_tx_buf {
	struct sk_buff *skb;
	u64 mapping[MAX_SKB_FRAGS + 1];
	unsigned int nr_maps;
};

/* Group parameters a fabric back end reports when a join completes. */
struct ipoib_mcast_params {
	u32 qkey;
	u16 mlid;
	enum ib_mtu mtu;
	struct rdma_ah_attr ah_attr;
};

struct ipoib_mcast {
	union ib_gid mgid;
	struct rb_node rb;		/* priv->mcast_tree, under priv->lock */
	struct list_head list;		/* priv->mcast_list, under priv->lock */
	struct ipoib_dev_priv *priv;
	unsigned long flags;
	struct ipoib_mcast_params params;
	struct ipoib_ah *ah;		/* set once joined; under priv->lock */
	struct sk_buff_head pkt_queue;	/* sends waiting for the join */
	unsigned long backoff;
	unsigned long retry_at;
	unsigned long created;
	unsigned long last_used;	/* send-only groups are reaped when idle */
	/* fabric back-end state; only the back end touches it */
	union {
		struct {
			struct ib_sa_multicast *mc;
			struct ib_sa_mcmember_rec rec;
		} ib;
		struct {
			struct work_struct work;
			/* holds the IPv6 membership (and a reference) */
			struct net_device *ndev;
		} roce;
	} fab;
};

/* Per-destination-GID state: resolution and the address handle. */
struct ipoib_path {
	union ib_gid dgid;
	struct rb_node rb;		/* priv->path_tree, under priv->lock */
	struct list_head list;		/* priv->path_list */
	struct list_head neigh_list;	/* neighbours using this path */
	struct ipoib_dev_priv *priv;
	struct ipoib_ah *ah;		/* valid path when non-NULL */
	bool resolving;
	bool dead;			/* unlinked, being freed */
	unsigned long last_try;
	struct completion done;		/* completed when no query is outstanding */
	union {
		struct {
			struct ib_sa_query *query;
			int query_id;
			struct sa_path_rec rec;
		} ib;
		struct {
			struct work_struct work;
		} roce;
	} fab;
};

struct ipoib_cm_rx_buf {
	struct sk_buff *skb;
	u64 mapping[IPOIB_CM_RX_SG];
};

/*
 * One RC connection.  An active one belongs to a neighbour and sends; a
 * passive one receives, on the shared receive queue or, without one, on
 * its own ring.  Its list linkage and neigh are under priv->lock; its QP
 * (the pointer, never dereferenced: a completion may outlive the QP) maps
 * to it in priv->cm.qps, looked up under RCU by the completion handlers.
 * Teardown (on priv->wq, or in ipoib_cm_dev_stop) destroys the cm_id
 * before the QP, and frees the connection after an RCU grace period.
 */
struct ipoib_cm_conn {
	struct ipoib_dev_priv *priv;
	struct list_head list;
	unsigned long flags;
	struct ib_cm_id *id;
	struct ib_qp *qp;
	u32 qpn;			/* the QP's number, for messages */
	struct rhash_head node;		/* priv->cm.qps, keyed by qp */
	unsigned long stamp;		/* passive: last receive (jiffies) */
	/* active */
	struct ipoib_neigh *neigh;	/* NULL once dead */
	u8 daddr[IPOIB_ALEN];
	unsigned int mtu;		/* largest IP packet the peer takes */
	struct ipoib_tx_buf *tx_ring;	/* priv->sendq_size entries */
	unsigned int tx_head;		/* xmit (tx lock) */
	unsigned int tx_tail;		/* send completions */
	struct sk_buff_head requeue;	/* sends parked when it died */
	/* passive without SRQ */
	struct ipoib_cm_rx_buf *rx_ring;
	unsigned int rx_posted;		/* NAPI, or the drain with NAPI off */
	struct rcu_head rcu;
};

/* Per-hardware-address state, in an RCU hash table (priv->neigh_table). */
struct ipoib_neigh {
	u8 daddr[IPOIB_ALEN];		/* key */
	struct rhash_head node;
	struct list_head list;		/* path->neigh_list, under priv->lock */
	struct ipoib_path *path;
	struct ipoib_ah __rcu *ah;	/* written under priv->lock */
	struct ipoib_cm_conn __rcu *cm;	/* written under priv->lock */
	unsigned long cm_retry_at;	/* no new connection before */
	struct sk_buff_head queue;
	unsigned long alive;		/* jiffies of the last send */
	bool dead;			/* unhashed; under priv->lock */
	struct rcu_head rcu;
};

/*
 * priv->neigh_table: keyed by the whole 20-byte address, so peers that
 * differ only in QPN (children on one port) or only in GID never collide.
 * Here rather than in ipoib_path.c so the KUnit suite tests these very
 * parameters.
 */
static const struct rhashtable_params ipoib_neigh_params __maybe_unused = {
	.key_len = IPOIB_ALEN,
	.key_offset = offsetof(struct ipoib_neigh, daddr),
	.head_offset = offsetof(struct ipoib_neigh, node),
	.automatic_shrinking = true,
};

struct ipoib_fabric_ops;

/* Counters of frames the receive path refused, for ethtool -S. */
struct ipoib_rx_drops {
	u64 short_frame;
	u64 bad_header;
	u64 unknown_proto;
	u64 oversize;
	u64 own_echo;
	u64 no_buffer;
};

/* Connected-mode state of one interface. */
struct ipoib_cm {
	bool supported;			/* the port does RC over ib_cm */
	/*
	 * open_sem: write-held while the listener and the SRQ are set up or
	 * torn down; the REQ handler holds it for reading.  Never taken
	 * with priv->lock held; the REQ handler never takes rtnl.
	 */
	struct rw_semaphore open_sem;
	bool open;			/* accepting connections; open_sem */
	struct ib_cm_id *listen;
	struct ib_srq *srq;
	struct ipoib_cm_rx_buf *srq_ring;
	unsigned int srq_size;
	/* fill_lock: posting the SRQ ring; taken under open_sem (read) */
	struct mutex fill_lock;
	bool srq_filled;
	unsigned int nonsrq_max;	/* passive connections without SRQ */
	/*
	 * live: the connection table exists and the listener ran (rtnl,
	 * written with NAPI off).  rx_slots: passive connections accepted
	 * and not yet destroyed, dead ones included, since their receives
	 * still count against the CQ; under priv->lock.
	 */
	bool live;
	unsigned int rx_slots;
	/* lists of struct ipoib_cm_conn, under priv->lock */
	struct list_head tx_list;
	struct list_head rx_list;
	struct list_head dead_list;
	unsigned int rx_count;
	struct rhashtable qps;		/* ib_qp pointer -> conn, while open */
	atomic_t tx_inflight;		/* RC sends posted, not completed */
	struct ib_send_wr tx_wr;
	struct work_struct start_task;	/* on priv->wq */
	struct work_struct dead_task;	/* on priv->wq */
	/* statistics */
	atomic_t tx_conns;
	u64 tx_packets;
	u64 rx_packets;
	u64 tx_ud_fallback;
	u64 tx_connect_failed;	/* attempts that never connected */
	u64 rx_refused;		/* connection requests over the bound */
	u64 icmp_too_big;
};

struct ipoib_dev_priv {
	/*
	 * priv->lock (irq-safe spinlock) protects the path tree and list, the
	 * multicast tree and list, neighbour linkage, mcast->ah, and the dead
	 * AH list.  It is a leaf lock: nothing sleeps or takes rtnl under it.
	 */
	spinlock_t lock;

	struct net_device *dev;
	struct ib_device *ca;
	u32 port;
	const struct ipoib_fabric_ops *fabric;
	void *fabric_data;		/* owned by the back end */
	unsigned long flags;

	/* see the comment at the top of this file */
	struct workqueue_struct *wq;

	/* children (P_Key interfaces) of a parent */
	struct ipoib_dev_priv *parent;
	struct list_head child_list;	/* parent's list, under parent->child_lock */
	struct list_head children;
	/* child_lock: guards children; taken under rtnl, sleeps, never nests */
	struct mutex child_lock;
	/*
	 * child_list_lock (spinlock, bh-safe): taken inside child_lock by the
	 * two places that link or unlink a child, and alone by readers that
	 * must not sleep or wait for rtnl (rdma_cm's net_device lookup).
	 * Only a child's priv->lock nests inside it.
	 */
	spinlock_t child_list_lock;
	/*
	 * Made by sysfs create_child: its P_Key is unique among such children
	 * and differs from the parent's, since delete_child names it by P_Key.
	 * Netlink children may share any P_Key.  Set before registration.
	 */
	bool sysfs_child;

	/* port facts, refreshed by the fabric back end's port_query */
	u16 pkey;
	u16 pkey_index;
	u32 gid_index;
	union ib_gid local_gid;
	u32 local_lid;
	unsigned int max_ib_mtu;	/* the port's active IB MTU in bytes */
	unsigned int mcast_mtu;		/* datagram MTU the broadcast group allows */
	unsigned int admin_mtu;		/* what the user asked for */
	u32 qkey;

	/* transport */
	struct ib_pd *pd;
	struct ib_cq *recv_cq;
	struct ib_cq *send_cq;
	struct ib_qp *qp;
	unsigned int max_send_sge;
	unsigned int recvq_size;
	unsigned int sendq_size;
	unsigned int rx_buf_size;
	/* generation of the current open, in every work request ID (rtnl) */
	u32 wr_gen;

	struct ipoib_rx_buf *rx_ring;
	/*
	 * UD receive work requests: the receive poller gathers the slots of
	 * one completion batch here (rx_post_n of them, chained) and posts
	 * them in one call once their frames are up the stack; a single post
	 * (open, refill) uses the first.  Used by the receive poller and by
	 * open, which never run together.
	 */
	struct ib_recv_wr rx_wr[IPOIB_NUM_WC];
	struct ib_sge rx_sge[IPOIB_NUM_WC];
	unsigned int rx_post_n;

	/* tx_head: written by xmit (tx lock); tx_tail: written by send NAPI */
	struct ipoib_tx_buf *tx_ring;
	unsigned int tx_head;
	unsigned int tx_tail;
	unsigned int tx_outstanding;
	struct ib_sge tx_sge[MAX_SKB_FRAGS + 1];
	struct ib_ud_wr tx_wr;

	struct napi_struct recv_napi;
	struct napi_struct send_napi;
	/*
	 * recv_kick, send_kick: schedule a poller from a completion upcall
	 * made in task context with interrupts off (ipoib_cq_kick()).
	 */
	struct irq_work recv_kick;
	struct irq_work send_kick;
	/*
	 * rx_refill: some receive slot (UD, SRQ or a connection's ring) is
	 * empty; the receive poller fills it.  Set by the poller and by the
	 * REQ handler, cleared by the poller only.  rx_refill_task (priv->wq)
	 * schedules the poller again while a refill keeps failing.
	 */
	bool rx_refill;
	struct delayed_work rx_refill_task;
	/* completion batches, used only by the NAPI pollers and the drain */
	struct ib_wc rx_wc[IPOIB_NUM_WC];
	struct ib_wc tx_wc[IPOIB_NUM_WC];

	/* address state */
	struct rb_root path_tree;
	struct list_head path_list;
	struct rhashtable neigh_table;
	struct rb_root mcast_tree;
	struct list_head mcast_list;
	struct ipoib_mcast *broadcast;	/* under priv->lock */
	/* dead_lock (irq-safe) guards dead_ahs; a leaf, may nest in lock */
	spinlock_t dead_lock;
	struct list_head dead_ahs;
	atomic_t ah_count;		/* AHs created on priv->pd, not destroyed */
	unsigned long neigh_gc_at;
	struct list_head ca_list;	/* the RDMA device's list of ports */

	/* per-interface work, on priv->wq */
	struct delayed_work mcast_join_task;
	struct work_struct mcast_restart_task;
	struct work_struct carrier_on_task;
	struct delayed_work reap_task;
	/*
	 * Reopen after a QP or CQ error event, or a send ring that stopped
	 * moving (ipoib_recover_work).
	 */
	struct work_struct recover_task;
	const char *recover_why;	/* what asked for it, a static string */
	u64 recoveries;			/* reopens done, for ethtool -S */
	/* the send ring at the last transmit timeout (the watchdog only) */
	unsigned int tx_timeout_tail;
	bool tx_timeout_pending;

	/* IB event flushes, on the global ipoib_flush_wq */
	struct work_struct flush_gid;
	struct work_struct flush_light;
	struct work_struct flush_normal;
	struct ib_event_handler event_handler;

	/* receive coalescing last applied to recv_cq (ethtool -C) */
	u16 rx_coal_usecs;
	u16 rx_coal_frames;

	struct ipoib_rx_drops rx_drops;
	u64 rx_refilled;		/* empty receive slots posted again */
	u64 stale_completions;		/* of an earlier open: ignored */
	u64 tx_no_path;
	u64 tx_queue_full;
	/*
	 * Entries in use against their bounds (ipoib_max_neighs, _paths,
	 * _sendonly), and sends refused at a bound; all under priv->lock.
	 */
	unsigned int neigh_count;
	unsigned int path_count;
	unsigned int sendonly_count;
	u64 tx_neigh_refused;
	u64 tx_path_refused;
	u64 tx_mcast_refused;

	struct ipoib_cm cm;

	struct dentry *mcg_dentry;	/* debugfs ipoib/<ifname>_mcg */
	struct dentry *path_dentry;	/* debugfs ipoib/<ifname>_path */
};

/*
 * A fabric back end: how paths are resolved and multicast groups joined.
 * Completions are always delivered asynchronously through
 * ipoib_path_resolved() and ipoib_mcast_join_done(), in process context.
 */
struct ipoib_fabric_ops {
	const char *name;
	/* optional: back-end state for one interface (rtnl held) */
	int (*init)(struct ipoib_dev_priv *priv);
	void (*cleanup)(struct ipoib_dev_priv *priv);
	/*
	 * Refresh pkey_index, gid_index, local_gid, local_lid and max_ib_mtu;
	 * sets or clears IPOIB_FLAG_PKEY_OK.  May sleep.
	 */
	int (*port_query)(struct ipoib_dev_priv *priv);
	/*
	 * Start resolving path->dgid, with priv->lock held (no sleeping).
	 * 0 means ipoib_path_resolved() will run; an error (such as -EBUSY
	 * while the previous completion is still finishing) means try later.
	 */
	int (*path_resolve)(struct ipoib_dev_priv *priv, struct ipoib_path *path);
	/* stop a resolution; on return no completion is running or will run */
	void (*path_cancel)(struct ipoib_dev_priv *priv, struct ipoib_path *path);
	/* debugfs <ifname>_path: how a resolved path routes (priv->lock held) */
	void (*path_show)(struct seq_file *m, struct ipoib_path *path);
	/*
	 * Start a join; 0 means ipoib_mcast_join_done() will run (maybe
	 * again).  Must cope with what a failed earlier join of the same
	 * group left behind.  Runs on priv->wq, without rtnl.
	 */
	int (*mcast_join)(struct ipoib_dev_priv *priv, struct ipoib_mcast *mcast);
	/*
	 * Leave; on return no completion is running or will run.  Called
	 * with rtnl held; may sleep.
	 */
	void (*mcast_leave)(struct ipoib_dev_priv *priv, struct ipoib_mcast *mcast);
	/*
	 * The primary path of a connection request to @path's GID (resolved:
	 * path->ah is set), with priv->lock held; no sleeping.  RoCE returns
	 * a reference to the source GID attribute in *sgid_attr, which the
	 * caller puts; InfiniBand leaves it NULL.
	 */
	int (*cm_path)(struct ipoib_dev_priv *priv, struct ipoib_path *path,
		       struct sa_path_rec *rec,
		       const struct ib_gid_attr **sgid_attr);
	/* link speed in Mb/s for ethtool, or SPEED_UNKNOWN (rtnl held) */
	u32 (*link_speed)(struct ipoib_dev_priv *priv);
	/* true when user space joined this group itself (umcast) */
	bool (*mcast_user_joined)(struct ipoib_dev_priv *priv,
				  const union ib_gid *mgid);
};

static inline struct ipoib_dev_priv *ipoib_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

static inline bool ipoib_cm_admin(const struct ipoib_dev_priv *priv)
{
	return test_bit(IPOIB_FLAG_ADMIN_CM, &priv->flags);
}

/* the generation bits of a work request ID posted now */
static inline u64 ipoib_wr_gen(const struct ipoib_dev_priv *priv)
{
	return (u64)(priv->wr_gen & IPOIB_WR_GEN_MASK) << IPOIB_WR_GEN_SHIFT;
}

/* a completion posted before the current open: count it, touch nothing */
static inline bool ipoib_wr_stale(struct ipoib_dev_priv *priv, u64 wr_id)
{
	if (likely((wr_id >> IPOIB_WR_GEN_SHIFT) ==
		   (priv->wr_gen & IPOIB_WR_GEN_MASK)))
		return false;
	priv->stale_completions++;
	return true;
}

/* ipoib_main.c: module parameters, the flush workqueue */
extern struct workqueue_struct *ipoib_flush_wq;
extern int ipoib_sendq_size;
extern int ipoib_recvq_size;
extern int ipoib_debug_level;
extern int ipoib_mcast_debug_level;
extern int ipoib_max_nonsrq_conn_qp;
extern unsigned int ipoib_max_neighs;
extern unsigned int ipoib_max_paths;
extern unsigned int ipoib_max_sendonly;

/* ipoib_netdev.c: the net_device, its ops, MTU and mode */
void ipoib_setup(struct net_device *dev);
struct net_device *ipoib_alloc_netdev(const char *name);
struct net_device *ipoib_create_netdev(struct ib_device *ca, u32 port,
				       const char *name, u16 pkey,
				       struct ipoib_dev_priv *parent);
bool ipoib_is_ipoib_dev(const struct net_device *dev);
bool ipoib_rtnl_lock_or_bail(struct ipoib_dev_priv *priv);
void ipoib_set_dev_addr(struct ipoib_dev_priv *priv);
void ipoib_update_sg_feature(struct ipoib_dev_priv *priv);
unsigned int ipoib_mtu_limit(struct ipoib_dev_priv *priv);
void ipoib_update_max_mtu(struct ipoib_dev_priv *priv);
int ipoib_apply_mtu(struct ipoib_dev_priv *priv);
int ipoib_set_mode(struct ipoib_dev_priv *priv, bool connected,
		   struct netlink_ext_ack *extack);

/* ipoib_wq.c (ipoib_wq_control.c in the control build): workqueues */
struct workqueue_struct *ipoib_wq_create(struct net_device *dev);
void ipoib_wq_destroy(struct ipoib_dev_priv *priv);
int ipoib_shared_wq_init(void);
void ipoib_shared_wq_exit(void);

/* ipoib_path.c: address handles, neighbours, paths */
void ipoib_path_setup(struct ipoib_dev_priv *priv);
struct ipoib_ah *ipoib_create_ah(struct ipoib_dev_priv *priv,
				 struct rdma_ah_attr *attr);
void ipoib_ah_release(struct kref *ref);
void ipoib_reap_dead_ahs(struct ipoib_dev_priv *priv, bool all);
struct ipoib_neigh *ipoib_neigh_create(struct ipoib_dev_priv *priv,
				       const u8 *daddr,
				       struct ipoib_path *path);
struct ipoib_path *ipoib_path_get(struct ipoib_dev_priv *priv,
				  const union ib_gid *gid);
void ipoib_path_start(struct ipoib_dev_priv *priv, struct ipoib_path *path);
void ipoib_path_resolved(struct ipoib_path *path, int status,
			 struct rdma_ah_attr *attr);
void ipoib_invalidate_paths(struct ipoib_dev_priv *priv);
void ipoib_flush_paths(struct ipoib_dev_priv *priv);

static inline void ipoib_put_ah(struct ipoib_ah *ah)
{
	kref_put(&ah->ref, ipoib_ah_release);
}

/* ipoib_verbs.c: PD, CQs, QP and rings */
int ipoib_transport_init(struct ipoib_dev_priv *priv, unsigned int recvq_size,
			 unsigned int sendq_size);
void ipoib_transport_cleanup(struct ipoib_dev_priv *priv);
int ipoib_resize_rings(struct ipoib_dev_priv *priv, unsigned int recvq_size,
		       unsigned int sendq_size, struct netlink_ext_ack *extack);

/* ipoib_ib.c: the data path, the QP up and down */
void ipoib_ib_setup(struct ipoib_dev_priv *priv);
void ipoib_ib_link_queues(struct ipoib_dev_priv *priv, bool link);
void ipoib_napi_kick(struct napi_struct *napi);
void ipoib_cq_kick(struct napi_struct *napi, struct irq_work *kick);
void ipoib_rx_pass_up(struct ipoib_dev_priv *priv, struct sk_buff *skb);
void ipoib_rx_refill_later(struct ipoib_dev_priv *priv);
int ipoib_tx_prepare(struct ipoib_dev_priv *priv, struct ipoib_tx_buf *tx,
		     struct sk_buff *skb);
void ipoib_tx_unmap(struct ipoib_dev_priv *priv, struct ipoib_tx_buf *tx);
void ipoib_tx_maybe_stop(struct ipoib_dev_priv *priv);
void ipoib_tx_maybe_wake(struct ipoib_dev_priv *priv);
netdev_tx_t ipoib_send(struct ipoib_dev_priv *priv, struct sk_buff *skb,
		       struct ipoib_ah *ah, u32 qpn);
int ipoib_set_qkey(struct ipoib_dev_priv *priv, u32 qkey);
int ipoib_ib_up(struct ipoib_dev_priv *priv);
void ipoib_ib_down(struct ipoib_dev_priv *priv);
int ipoib_force_error(struct ipoib_dev_priv *priv, const char *what);
void ipoib_schedule_recovery(struct ipoib_dev_priv *priv, const char *why);

/* ipoib_flush.c: IB events and flush tasks */
void ipoib_flush_setup(struct ipoib_dev_priv *priv);
void ipoib_flush_start(struct ipoib_dev_priv *priv);
void ipoib_flush_stop(struct ipoib_dev_priv *priv);

/* ipoib_cm.c: connected mode */
void ipoib_cm_setup(struct ipoib_dev_priv *priv);
unsigned int ipoib_cm_recv_cq_extra(struct ipoib_dev_priv *priv,
				    unsigned int recvq_size,
				    unsigned int *srq_size,
				    unsigned int *nonsrq_max);
int ipoib_cm_dev_open(struct ipoib_dev_priv *priv);
void ipoib_cm_dev_stop(struct ipoib_dev_priv *priv);
void ipoib_cm_dev_stop_finish(struct ipoib_dev_priv *priv);
bool ipoib_cm_drained(struct ipoib_dev_priv *priv);
void ipoib_cm_rx_complete(struct ipoib_dev_priv *priv, struct ib_wc *wc,
			  bool drain);
bool ipoib_cm_rx_refill(struct ipoib_dev_priv *priv);
void ipoib_cm_tx_complete(struct ipoib_dev_priv *priv, struct ib_wc *wc,
			  int budget);
void ipoib_cm_send(struct ipoib_dev_priv *priv, struct sk_buff *skb,
		   struct ipoib_cm_conn *conn);
struct ipoib_cm_conn *ipoib_cm_xmit_locked(struct ipoib_dev_priv *priv,
					   struct ipoib_neigh *neigh,
					   struct sk_buff *skb, bool *queued);
void ipoib_cm_neigh_detach(struct ipoib_dev_priv *priv,
			   struct ipoib_neigh *neigh);
void ipoib_cm_flush_tx(struct ipoib_dev_priv *priv);
void ipoib_cm_reap(struct ipoib_dev_priv *priv);
void ipoib_cm_too_big(struct ipoib_dev_priv *priv, struct sk_buff *skb,
		      unsigned int mtu);

/* ipoib_multicast.c: multicast groups */
void ipoib_mcast_init(struct ipoib_dev_priv *priv);
void ipoib_mcast_start(struct ipoib_dev_priv *priv);
void ipoib_mcast_stop(struct ipoib_dev_priv *priv);
void ipoib_mcast_flush(struct ipoib_dev_priv *priv);
void ipoib_mcast_send(struct ipoib_dev_priv *priv, u8 *daddr,
		      struct sk_buff *skb);
void ipoib_mcast_join_done(struct ipoib_mcast *mcast, int status,
			   const struct ipoib_mcast_params *params);
bool ipoib_mcast_is_broadcast(struct ipoib_dev_priv *priv,
			      const struct ipoib_mcast *mcast);
void ipoib_mcast_rejoin(struct ipoib_dev_priv *priv);
void ipoib_mcast_reap_sendonly(struct ipoib_dev_priv *priv);

/* ipoib_fabric_ib.c and ipoib_fabric_roce.c: the fabric back ends */
extern const struct ipoib_fabric_ops ipoib_fabric_ib_ops;
extern const struct ipoib_fabric_ops ipoib_fabric_roce_ops;
int ipoib_fabric_ib_register(void);
void ipoib_fabric_ib_unregister(void);

/* ipoib_child.c: P_Key child interfaces */
void ipoib_child_setup(struct ipoib_dev_priv *priv,
		       struct ipoib_dev_priv *ppriv, u16 pkey);
int ipoib_child_register(struct ipoib_dev_priv *priv,
			 struct netlink_ext_ack *extack);
struct ipoib_dev_priv *ipoib_find_sysfs_child(struct ipoib_dev_priv *ppriv,
					      u16 pkey);
void ipoib_child_unlink(struct ipoib_dev_priv *priv);
void ipoib_children_unregister(struct ipoib_dev_priv *ppriv,
			       struct list_head *kill);
void ipoib_children_set_up(struct ipoib_dev_priv *ppriv, bool up);

/* ipoib_netlink.c, ipoib_sysfs.c, ipoib_ethtool.c: user interfaces */
extern struct rtnl_link_ops ipoib_link_ops;
extern const struct attribute_group ipoib_attr_group;
extern const struct ethtool_ops ipoib_ethtool_ops;
void ipoib_stats_setup(struct net_device *dev);

/* ipoib_debugfs.c: debugfs files and fault injection */
enum ipoib_fault_site {
	IPOIB_FAULT_MCAST_JOIN,
	IPOIB_FAULT_PATH,
	IPOIB_FAULT_QP_CREATE,
	IPOIB_FAULT_CQ_CREATE,
	IPOIB_FAULT_RX_ALLOC,
	IPOIB_FAULT_SRQ_CREATE,
	IPOIB_FAULT_MTU_APPLY,
	IPOIB_FAULT_POST_RECV,
	IPOIB_FAULT_CM_LISTEN,
	IPOIB_FAULT_DRAIN,
	IPOIB_FAULT_CM_SEND_SHORT,
	IPOIB_FAULT_MCAST_DONE,
	IPOIB_FAULT_FLUSH,
	IPOIB_FAULT_NR,
};

void ipoib_debugfs_init(void);
void ipoib_debugfs_exit(void);
int ipoib_fs_init(void);
void ipoib_fs_exit(void);
/* 0, or the armed -errno for @priv's next operation at @site (may sleep) */
int ipoib_fault_inject(struct ipoib_dev_priv *priv,
		       enum ipoib_fault_site site);
/* the armed -errno, and in *@delay_ms the delay the caller takes itself */
int ipoib_fault_take(struct ipoib_dev_priv *priv, enum ipoib_fault_site site,
		     unsigned int *delay_ms);
/* the same for sites that cannot sleep: no delay */
int ipoib_fault_inject_atomic(struct ipoib_dev_priv *priv,
			      enum ipoib_fault_site site);

#define ipoib_warn(priv, fmt, ...) netdev_warn((priv)->dev, fmt, ##__VA_ARGS__)
#define ipoib_dbg(priv, fmt, ...)					\
	do {								\
		if (ipoib_debug_level > 0)				\
			netdev_dbg((priv)->dev, fmt, ##__VA_ARGS__);	\
	} while (0)
#define ipoib_dbg_mcast(priv, fmt, ...)					\
	do {								\
		if (ipoib_mcast_debug_level > 0)			\
			netdev_dbg((priv)->dev, fmt, ##__VA_ARGS__);	\
	} while (0)

#endif /* _IPOIB_H */
