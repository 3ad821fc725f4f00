/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softib: a simulated InfiniBand subnet (HCAs cabled to one switch) for the
 * ib_ipoib lab.  Test infrastructure only; see README.md.
 */
#ifndef SOFTIB_H
#define SOFTIB_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/idr.h>
#include <linux/hrtimer.h>
#include <rdma/ib_verbs.h>
#include <rdma/ib_mad.h>
#include <rdma/ib_smi.h>

#include "softib_compat.h"

#define SIB_MAX_HCAS		16
#define SIB_MAX_HCA_PORTS	2
#define SIB_MAX_SW_PORTS	(SIB_MAX_HCAS * SIB_MAX_HCA_PORTS)
#define SIB_HCA_PKEYS		128	/* four P_KeyTable blocks */
#define SIB_SW_PKEYS		128	/* four blocks per switch port */
#define SIB_LFT_CAP		1024	/* unicast LIDs 0..1023 */
#define SIB_MFT_CAP		1024	/* MLIDs 0xc000..0xc3ff */
#define SIB_MLID_BASE		0xc000
#define SIB_LID_PERMISSIVE	0xffff
#define SIB_MAX_WR		1024
#define SIB_MAX_SGE		32	/* ipoib CM: 16 per SRQ receive */
#define SIB_MAX_SRQ		256
#define SIB_MAX_MSG		BIT(20)		/* RC message */
#define SIB_MAX_RD_ATOM		16	/* recorded only: no RDMA READ */
#define SIB_MAX_CQE		65536	/* ipoib without SRQ asks ~33000 */
#define SIB_MAX_QP		1024
#define SIB_MAX_MCAST		2048	/* attachments per HCA: 65 interfaces x ~6 groups */
#define SIB_MAX_MCAST_QPS	64	/* QPs attached to one group (on the stack) */
#define SIB_MTU_BYTES		4096
#define SIB_GRH_BYTES		40
#define SIB_DROP_MAX		100	/* drop knob: percent */
#define SIB_DELAY_MAX_US	1000000	/* delay knob: at most 1 s */
#define SIB_DELAYQ_MAX		1024	/* packets held per port */

/* IB PortInfo encodings (IBA 14.2.5.6) */
enum {
	SIB_PHYS_POLLING = 2,
	SIB_PHYS_DISABLED = 3,
	SIB_PHYS_LINKUP = 5,
};

struct sib_node;

/*
 * One end of a cable: an HCA port or a switch port (switch port 0 is the
 * switch's management port and has no cable).  All fields below "peer" are
 * the port's PortInfo and tables; they, and peer, are under fab->lock.
 */
struct sib_port {
	struct sib_node *node;
	u8 num;
	struct sib_port *peer;

	u8 state;		/* enum ib_port_state */
	u8 phys;		/* SIB_PHYS_* */
	bool unplugged;		/* debugfs link knob at 0: the link never trains */
	u16 lid;
	u8 lmc;
	u16 sm_lid;
	u8 sm_sl;
	u64 mkey;
	u16 mkey_lease;
	u8 mkey_protect;
	u64 gid_prefix;
	u32 cap_mask;
	u8 subnet_timeout;
	u8 resp_time;
	u8 neighbor_mtu;
	u8 op_vls;
	u8 vl_high_limit;
	u8 pkey_enforce;	/* PartitionEnforcementInbound/Outbound bits */
	u8 link_width_enabled;
	u8 link_speed_enabled;
	u8 vl_arb[4][64];
	u8 sl2vl[8];		/* HCA ports; switches keep theirs per port pair */
	u16 pkeys[SIB_HCA_PKEYS];

	/* PortInfo counters, saturating */
	u16 mkey_violations;
	u16 pkey_violations;
	u16 qkey_violations;
	/* port counters (PMA-style), for debugging and the future PMA */
	u64 xmit_pkts, rcv_pkts, xmit_discards, rcv_errors;

	/*
	 * Loss and delay knobs (debugfs) for the packets crossing this
	 * port's cable, either way; see softib_wire.c.  All under fab->lock.
	 * delayq holds the packets this port sent that wait out a delay
	 * (sib_pkt.list, due times in order); delay_timer puts them back on
	 * the wire and is armed while delayq is not empty.
	 */
	u8 drop_pct;
	u32 delay_us;
	u64 loss_dropped, loss_delayed, delay_full;
	struct list_head delayq;
	u32 delayq_len;
	ktime_t delayq_tail;		/* due time of delayq's last packet */
	struct hrtimer delay_timer;
	bool loss_stopped;		/* no more holding (removal); fab->lock */
};

struct sib_hca;
struct sib_switch;
struct sib_fabric;

struct sib_node {
	struct sib_fabric *fab;
	bool is_switch;
	u8 nports;
	u64 node_guid;
	u64 sys_guid;
	char desc[IB_DEVICE_NODE_DESC_MAX];
	struct sib_hca *hca;		/* when !is_switch */
	struct sib_switch *sw;		/* when is_switch */
};

struct sib_mcast {
	struct list_head list;
	union ib_gid mgid;
	u16 mlid;
	struct sib_qp *qp;
};

struct sib_hca {
	struct ib_device ibdev;
	struct sib_node node;
	struct sib_port ports[SIB_MAX_HCA_PORTS];
	int index;
	bool registered;
	struct ida qpn_ida;
	u32 qpn_next;			/* where the next QPN search starts */
	struct xarray qps;		/* QPN -> sib_qp (data QPs); own lock */
	struct sib_qp *qp0[SIB_MAX_HCA_PORTS];	/* fab->lock */
	struct sib_qp *qp1[SIB_MAX_HCA_PORTS];	/* fab->lock */
	struct list_head mcast;		/* sib_mcast, fab->lock */
	atomic_t nqps, ncqs, npds, nahs, nsrqs;
	/* RC messages received (acked), RNR NAKs sent, lost; fab->lock */
	u64 rc_rx, rc_rnr, rc_lost;
	/*
	 * As requester: messages sent again after an ack timeout (retry) or
	 * an RNR NAK (rnr_retry), sends failed IB_WC_RETRY_EXC_ERR; fab->lock
	 */
	u64 rc_retry, rc_rnr_retry, rc_retry_exc;
	struct dentry *debugfs;		/* softib/<name>/, fab->hotplug_lock */
	/*
	 * ib_events recorded for this HCA (under fab->lock, while registered)
	 * and not yet dispatched: removal waits for 0 before unregistering.
	 */
	atomic_t ev_busy;
};

struct sib_switch {
	struct sib_node node;
	struct sib_port ports[SIB_MAX_SW_PORTS + 1];	/* [0]: management */
	/* all below under fab->lock */
	u16 lft_top;
	u8 life_state;			/* LifeTimeValue<<3 | PortStateChange<<2 */
	u8 lft[SIB_LFT_CAP];
	u64 mft[SIB_MFT_CAP];		/* port masks */
	u16 mft_top;
	u8 sl2vl[SIB_MAX_SW_PORTS + 1][SIB_MAX_SW_PORTS + 1][8];
	u16 pkeys[SIB_MAX_SW_PORTS + 1][SIB_SW_PKEYS];
	u64 dropped;			/* unroutable packets */
};

/*
 * The whole subnet.  lock protects every node's SMA state, the cabling, the
 * packet queue and the flush list; it is taken with interrupts disabled
 * (post_send may run in any context).  QP and CQ locks nest inside it, never
 * the other way round.
 */
struct sib_fabric {
	spinlock_t lock;		/* see above */
	struct workqueue_struct *wq;	/* ordered: the wire */
	struct work_struct wire_work;
	struct list_head wire;		/* sib_pkt in flight */
	/*
	 * VL15 (subnet management) packets in flight: moved before any of
	 * wire, as VL arbitration sends VL15 ahead of every data VL.  Data
	 * traffic then cannot time the SM's SMPs out.
	 */
	struct list_head wire_vl15;
	struct list_head flushq;	/* sib_qp to flush into their CQs */
	/*
	 * UD sends whose completion the sender is owed, through sib_pkt.sq_node.
	 * The wire takes these before anything else: a UD send completes once
	 * its HCA took it, not after every packet queued ahead of it on the
	 * one wire (a real port schedules its QPs' sends; ib_mad's retries and
	 * cancellation assume a send CQE is not long behind the send).
	 */
	struct list_head txdone;
	u64 wire_taken;			/* items the wire took off its lists */
	/* of those, finished: the wire work writes, sib_wire_sync() reads */
	u64 wire_done;
	/*
	 * RC messages waiting for a retry (RNR NAK timer, ack timeout),
	 * through sib_pkt.list; retry_work puts them back on the wire when due.
	 */
	struct list_head parked;
	struct delayed_work retry_work;
	bool retry_armed;		/* retry_work queued for retry_due */
	unsigned long retry_due;
	struct sib_switch *sw;
	struct sib_hca *hcas[SIB_MAX_HCAS];
	int nhcas;
	bool dying;
	struct dentry *debugfs;		/* softib/ in debugfs, or NULL */
	bool loss_stopped;		/* no more delays (unload); fab->lock */
	/*
	 * Hot-plug (softib_main.c): hotplug_lock (a mutex) serialises removing
	 * and adding HCAs (hcas[i] becomes NULL while slot i is empty) and
	 * their debugfs directories.  Unload runs after the slot knobs are gone.
	 */
	struct mutex hotplug_lock;
	struct sib_slot {
		struct sib_fabric *fab;
		int index;
	} slots[SIB_MAX_HCAS];		/* the slot knobs' private data */
	/*
	 * MADs the SMAs (and the switch's QP1) answered with an error status,
	 * and malformed ones they dropped; fab->lock.
	 */
	u64 mad_rejected, mad_dropped;
};

/*
 * A packet on the wire.  Local route header fields and BTH/DETH fields are
 * kept decoded; data holds the payload (the MAD for QP0/QP1).
 */
struct sib_pkt {
	struct list_head list;
	struct sib_port *from;		/* port that put it on the wire */
	u16 slid, dlid;
	u8 sl;
	bool vl15;
	bool has_grh;
	struct ib_grh grh;
	u16 pkey;
	u32 src_qpn, dst_qpn, qkey;
	u32 imm;
	bool has_imm;
	/*
	 * Send completion still owed to the sender (taken by the wire).  For
	 * an RC message, sqp (fab->lock) is cleared when the sender drops the
	 * message (destroy, RESET); the wire then frees it.
	 */
	struct sib_qp *sqp;
	u64 wr_id;
	bool signaled;
	bool rc;			/* an RC SEND: see softib_wire.c */
	bool parked;			/* on fab->parked (fab->lock) */
	bool expired;			/* back from fab->parked (fab->lock) */
	bool rnr;			/* parked for an RNR NAK, not a loss */
	u8 rnr_timer;			/* the responder's min_rnr_timer */
	unsigned long due;		/* jiffies, while parked */
	/* RC: in sqp->sq; UD: in fab->txdone until completed (fab->lock) */
	struct list_head sq_node;
	bool held;			/* back from a port's delayq */
	/*
	 * A UD multicast send the sending HCA still owes its own QPs (wire_one
	 * replicates it once, before the cable); local marks that copy.
	 */
	bool loop;
	bool local;
	ktime_t held_until;		/* while on a delayq */
	u32 len;
	u8 data[];
};

struct sib_pd {
	struct ib_pd ibpd;
};

struct sib_ah {
	struct ib_ah ibah;
	struct rdma_ah_attr attr;
};

struct sib_cq {
	struct ib_cq ibcq;
	spinlock_t lock;		/* everything below; nests in fab->lock */
	struct ib_wc *q;
	u32 size, head, count;
	u8 notify;			/* IB_CQ_NEXT_COMP / IB_CQ_SOLICITED, 0 */
	u64 overflows;
};

struct sib_rwqe {
	u64 wr_id;
	int num_sge;
	struct ib_sge sg[SIB_MAX_SGE];
};

struct sib_srq {
	struct ib_srq ibsrq;
	/* everything below; nests in fab->lock and in a QP's lock */
	spinlock_t lock;
	struct sib_rwqe *rq;
	u32 size, head, count;
	u32 max_sge;
	u32 limit;			/* armed while non-zero */
};

struct sib_qp {
	struct ib_qp ibqp;
	struct sib_hca *hca;
	u8 port;			/* 1-based */
	/* state, attributes, receive queue; nests in fab->lock */
	spinlock_t lock;
	enum ib_qp_state state;
	u32 qkey;
	u16 pkey_index;
	bool sig_all;
	struct sib_rwqe *rq;
	u32 rq_size, rq_head, rq_count;
	bool flush_queued;		/* fab->lock */
	struct list_head flush_node;	/* fab->lock */

	/*
	 * RC.  The attributes are written under fab->lock and lock together
	 * (modify_qp) and read under either.  The send queue is under
	 * fab->lock: sib_pkts through sq_node, oldest first; inflight is the
	 * one message on the wire or parked for a retry (the sq head), NULL
	 * when none is.  One message at a time keeps RC order through retries.
	 */
	struct sib_srq *srq;
	struct list_head sq;
	u32 sq_size, sq_count;
	struct sib_pkt *inflight;
	u8 rnr_left, retry_left;	/* retries left for inflight */
	bool last_wqe_sent;		/* IB_EVENT_QP_LAST_WQE_REACHED given */
	u32 dest_qpn, rq_psn, sq_psn;
	enum ib_mtu path_mtu;
	struct rdma_ah_attr ah;
	u8 timeout, retry_cnt, rnr_retry, min_rnr_timer;
	u8 max_rd_atomic, max_dest_rd_atomic;
	int access;
};

static inline struct sib_hca *to_hca(struct ib_device *d)
{
	return container_of(d, struct sib_hca, ibdev);
}

static inline struct sib_qp *to_qp(struct ib_qp *q)
{
	return container_of(q, struct sib_qp, ibqp);
}

static inline struct sib_srq *to_srq(struct ib_srq *s)
{
	return container_of(s, struct sib_srq, ibsrq);
}

static inline struct sib_cq *to_cq(struct ib_cq *c)
{
	return container_of(c, struct sib_cq, ibcq);
}

/* softib_verbs.c */
extern const struct ib_device_ops sib_dev_ops;
void sib_cq_push(struct sib_cq *cq, const struct ib_wc *wc, bool solicited);
bool sib_qp_deliver(struct sib_qp *qp, struct sib_pkt *pkt, u16 pkey_index);
void sib_qp_flush(struct sib_qp *qp);
void sib_qp_to_err_locked(struct sib_fabric *fab, struct sib_qp *qp);
void sib_rc_kick_locked(struct sib_fabric *fab, struct sib_qp *qp);

/* what became of an RC message at the responder */
enum sib_rc_result {
	SIB_RC_ACK,		/* accepted into a receive WQE */
	SIB_RC_RNR,		/* no receive WQE posted: RNR NAK */
	SIB_RC_LOST,		/* dropped: no answer, the requester times out */
	SIB_RC_REM_ERR,		/* NAK: invalid request (message too long) */
	SIB_RC_TIMEOUT,		/* lost, and no retry left (requester side) */
};

enum sib_rc_result sib_rc_deliver(struct sib_qp *qp, struct sib_pkt *pkt);

/* softib_wire.c */
void sib_wire_send(struct sib_fabric *fab, struct sib_port *from,
		   struct sib_pkt *pkt);
void sib_wire_work(struct work_struct *work);
void sib_wire_sync(struct sib_fabric *fab);
void sib_retry_work(struct work_struct *work);
struct sib_pkt *sib_pkt_alloc(u32 len, gfp_t gfp);
void sib_loss_init(struct sib_port *p);
void sib_loss_stop(struct sib_fabric *fab);
void sib_loss_stop_port(struct sib_fabric *fab, struct sib_port *p);
void sib_wire_unhook_locked(struct sib_fabric *fab, struct sib_node *node,
			    struct list_head *dead);

/* softib_sma.c */
int sib_process_mad(struct ib_device *ibdev, int flags, u32 port_num,
		    const struct ib_wc *in_wc, const struct ib_grh *in_grh,
		    const struct ib_mad *in, struct ib_mad *out,
		    size_t *out_mad_size, u16 *out_mad_pkey_index);
void sib_switch_smp(struct sib_fabric *fab, struct sib_port *in,
		    struct sib_pkt *pkt);
void sib_switch_gmp(struct sib_fabric *fab, struct sib_port *in,
		    struct sib_pkt *pkt);
void sib_port_init(struct sib_port *p, struct sib_node *node, u8 num);
void sib_link_up(struct sib_port *a, struct sib_port *b);
u16 sib_port_pkey(struct sib_port *p, u16 index);
void sib_port_set_link(struct sib_port *p, bool up);
void sib_port_cable(struct sib_port *hp, struct sib_port *sp);
void sib_port_uncable(struct sib_port *p);

/* softib_main.c */
int sib_hca_remove(struct sib_fabric *fab, int index);
int sib_hca_add(struct sib_fabric *fab, int index);

/* softib_debugfs.c */
void sib_debugfs_init(struct sib_fabric *fab);
void sib_debugfs_exit(struct sib_fabric *fab);
void sib_debugfs_hca_add(struct sib_fabric *fab, struct sib_hca *hca);
void sib_debugfs_hca_remove(struct sib_hca *hca);
int sib_pkey_find(struct sib_port *p, u16 pkey);

#endif /* SOFTIB_H */
