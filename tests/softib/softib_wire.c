// SPDX-License-Identifier: GPL-2.0
/*
 * softib wire: packets leave a port, cross the cable, and are forwarded by
 * the switch (LFT by DLID, MFT by MLID, directed route hop by hop) until an
 * HCA port delivers them to a QP.  Everything runs in one work item on an
 * ordered workqueue, so a sender never re-enters itself.
 *
 * RC: a QP has at most one message on the wire (the head of its send
 * queue, sib_qp.inflight).  At the responder it is accepted (the send
 * completes: the ack), NAKed for want of a receive WQE (RNR: parked for the
 * responder's RNR timer and sent again while rnr_retry allows; 7 is
 * forever), refused as too long (invalid request: both QPs to ERR), or
 * dropped anywhere (no such QP, QP not ready, P_Key, link down, no route:
 * parked for the requester's ack timeout, then sent again while retry_cnt
 * allows, else IB_WC_RETRY_EXC_ERR).  Parked messages wait on fab->parked
 * and come back through the wire (retry_work), so every completion is
 * pushed from the wire's work item, which destroy_qp waits for.
 */
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/wait_bit.h>
#include <linux/random.h>
#include <linux/hrtimer.h>
#include <rdma/ib_mad.h>

#include "softib.h"

#define SIB_QP1_QKEY	0x80010000

/* IBA's RNR NAK timer field, in microseconds (code 0 is the longest) */
static const u32 rnr_usecs[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* The local ack timeout, 4.096 us << timeout; 0 (infinite) taken as 31. */
static unsigned long ack_timeout(u8 timeout)
{
	u64 ms = (4096ULL << (timeout ? timeout : 31)) / 1000000;

	return max_t(unsigned long, msecs_to_jiffies(ms), 1);
}

struct sib_pkt *sib_pkt_alloc(u32 len, gfp_t gfp)
{
	struct sib_pkt *pkt = kmalloc(struct_size(pkt, data, len), gfp);

	if (pkt) {
		memset(pkt, 0, sizeof(*pkt));
		pkt->len = len;
	}
	return pkt;
}

/* fab->lock held: put pkt on the wire at port from. */
void sib_wire_send(struct sib_fabric *fab, struct sib_port *from,
		   struct sib_pkt *pkt)
{
	lockdep_assert_held(&fab->lock);
	pkt->from = from;
	list_add_tail(&pkt->list, pkt->vl15 ? &fab->wire_vl15 : &fab->wire);
	queue_work(fab->wq, &fab->wire_work);
}

/* fab->lock held: move @node's packets on one of the wire's lists to @dead */
static void unhook_node_locked(struct list_head *list, struct sib_node *node,
			       struct list_head *dead)
{
	struct sib_pkt *pkt, *tmp;

	list_for_each_entry_safe(pkt, tmp, list, list) {
		if (pkt->from->node != node)
			continue;
		WARN_ON(pkt->sqp);
		list_move_tail(&pkt->list, dead);
	}
}

/*
 * Hot-removal, fab->lock held: move the packets that node's ports put on
 * the wire to dead (the caller frees them after unlocking).  Its QPs are
 * destroyed by then, so no packet there owes a completion; with its cables
 * cut, nothing else on the wire leads to the node.
 */
void sib_wire_unhook_locked(struct sib_fabric *fab, struct sib_node *node,
			    struct list_head *dead)
{
	struct sib_pkt *pkt;

	lockdep_assert_held(&fab->lock);
	unhook_node_locked(&fab->wire_vl15, node, dead);
	unhook_node_locked(&fab->wire, node, dead);
	list_for_each_entry(pkt, &fab->parked, list)
		WARN_ON(pkt->from->node == node);
}

/* P_Key match rule: same partition, not both limited members. */
static bool pkey_ok(u16 a, u16 b)
{
	return (a & 0x7fff) && (a & 0x7fff) == (b & 0x7fff) &&
	       ((a & 0x8000) || (b & 0x8000));
}

int sib_pkey_find(struct sib_port *p, u16 pkey)
{
	int i;

	for (i = 0; i < SIB_HCA_PKEYS; i++)
		if (pkey_ok(p->pkeys[i], pkey))
			return i;
	return -1;
}

static void sat_inc(u16 *c)
{
	if (*c != 0xffff)
		(*c)++;
}

/* fab->lock held: park an RC message for a retry after delay jiffies. */
static void park_locked(struct sib_fabric *fab, struct sib_pkt *pkt,
			unsigned long delay, bool rnr)
{
	pkt->parked = true;
	pkt->rnr = rnr;
	pkt->due = jiffies + delay;
	list_add_tail(&pkt->list, &fab->parked);
	if (!fab->retry_armed || time_before(pkt->due, fab->retry_due)) {
		fab->retry_armed = true;
		fab->retry_due = pkt->due;
		mod_delayed_work(fab->wq, &fab->retry_work, delay);
	}
}

/*
 * Wire work, no lock held: the answer to an RC message (its requester's
 * side).  Completes it, parks it for a retry, or leaves it to the flush.
 */
static void rc_result(struct sib_fabric *fab, struct sib_pkt *pkt,
		      enum sib_rc_result res)
{
	struct ib_wc wc = {};
	struct sib_qp *qp;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	qp = pkt->sqp;
	if (!qp) {			/* the requester dropped it */
		spin_unlock_irqrestore(&fab->lock, flags);
		kfree(pkt);
		return;
	}
	if (qp->state == IB_QPS_ERR) {	/* the flush completes it, in order */
		qp->inflight = NULL;
		sib_qp_to_err_locked(fab, qp);
		spin_unlock_irqrestore(&fab->lock, flags);
		return;
	}
	switch (res) {
	case SIB_RC_ACK:
		wc.status = IB_WC_SUCCESS;
		break;
	case SIB_RC_RNR:
		if (qp->rnr_left) {
			if (qp->rnr_left != 7)
				qp->rnr_left--;
			park_locked(fab, pkt,
				    max_t(unsigned long, 1,
					  usecs_to_jiffies(rnr_usecs[pkt->rnr_timer & 31])),
				    true);
			spin_unlock_irqrestore(&fab->lock, flags);
			return;
		}
		wc.status = IB_WC_RNR_RETRY_EXC_ERR;
		break;
	case SIB_RC_LOST:
		/* no answer: the requester learns only at its ack timeout */
		park_locked(fab, pkt, ack_timeout(qp->timeout), false);
		spin_unlock_irqrestore(&fab->lock, flags);
		return;
	case SIB_RC_REM_ERR:
		wc.status = IB_WC_REM_INV_REQ_ERR;
		break;
	case SIB_RC_TIMEOUT:
		wc.status = IB_WC_RETRY_EXC_ERR;
		qp->hca->rc_retry_exc++;
		break;
	}
	list_del_init(&pkt->sq_node);
	qp->sq_count--;
	qp->inflight = NULL;
	if (wc.status != IB_WC_SUCCESS)
		sib_qp_to_err_locked(fab, qp);
	else
		sib_rc_kick_locked(fab, qp);
	spin_unlock_irqrestore(&fab->lock, flags);
	/* destroy_qp waits for this work item: qp stays valid */
	if (wc.status != IB_WC_SUCCESS || pkt->signaled) {
		wc.wr_id = pkt->wr_id;
		wc.opcode = IB_WC_SEND;
		wc.qp = &qp->ibqp;
		wc.byte_len = pkt->len;
		wc.port_num = qp->port;
		sib_cq_push(to_cq(qp->ibqp.send_cq), &wc, false);
	}
	kfree(pkt);
}

/*
 * Wire work, no lock held: an RC message's retry time came (back from
 * fab->parked).  After an RNR NAK it is sent again; after a loss it is
 * sent again while retry_cnt allows, else the send fails.
 */
static void rc_expired(struct sib_fabric *fab, struct sib_pkt *pkt)
{
	struct sib_qp *qp;
	unsigned long flags;
	bool resend;

	spin_lock_irqsave(&fab->lock, flags);
	pkt->expired = false;
	qp = pkt->sqp;
	resend = qp && qp->state == IB_QPS_RTS && (pkt->rnr || qp->retry_left);
	if (resend) {
		if (!pkt->rnr) {
			qp->retry_left--;
			qp->hca->rc_retry++;
		} else {
			qp->hca->rc_rnr_retry++;
		}
		sib_wire_send(fab, &qp->hca->ports[qp->port - 1], pkt);
	}
	spin_unlock_irqrestore(&fab->lock, flags);
	if (!resend)
		rc_result(fab, pkt, SIB_RC_TIMEOUT);
}

/* Wire work, no lock held: a packet is dropped (an RC message is lost). */
static void pkt_drop(struct sib_fabric *fab, struct sib_pkt *pkt)
{
	if (pkt->rc)
		rc_result(fab, pkt, SIB_RC_LOST);
	else
		kfree(pkt);
}

static void switch_rx(struct sib_fabric *fab, struct sib_port *in,
		      struct sib_pkt *pkt)
{
	struct sib_switch *sw = in->node->sw;
	const struct ib_mad_hdr *mh = (const void *)pkt->data;
	unsigned long flags;
	u16 dlid = pkt->dlid;
	bool smp = pkt->vl15 && pkt->dst_qpn == 0 &&
		   pkt->len >= sizeof(struct ib_smp);
	int p;

	if (smp && mh->mgmt_class == IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE) {
		sib_switch_smp(fab, in, pkt);
		return;
	}

	spin_lock_irqsave(&fab->lock, flags);
	if (pkt->rc && dlid >= SIB_MLID_BASE)
		goto drop;		/* RC is unicast only */
	if (dlid >= SIB_MLID_BASE && dlid != SIB_LID_PERMISSIVE) {
		u64 mask = dlid - SIB_MLID_BASE < SIB_MFT_CAP ?
			   sw->mft[dlid - SIB_MLID_BASE] : 0;

		for (p = 1; p <= sw->node.nports; p++) {
			struct sib_port *out = &sw->ports[p];
			struct sib_pkt *copy;

			if (p == in->num || !(mask & BIT_ULL(p)) ||
			    out->state != IB_PORT_ACTIVE)
				continue;
			copy = kmemdup(pkt, struct_size(pkt, data, pkt->len),
				       GFP_ATOMIC);
			if (!copy) {
				out->xmit_discards++;
				continue;
			}
			sib_wire_send(fab, out, copy);
		}
		spin_unlock_irqrestore(&fab->lock, flags);
		kfree(pkt);
		return;
	}
	if (dlid >= SIB_LFT_CAP || dlid > sw->lft_top)
		goto drop;
	p = sw->lft[dlid];
	if (p == 0) {
		spin_unlock_irqrestore(&fab->lock, flags);
		if (smp && mh->mgmt_class == IB_MGMT_CLASS_SUBN_LID_ROUTED) {
			sib_switch_smp(fab, in, pkt);
			return;
		}
		if (!pkt->vl15 && pkt->dst_qpn == 1 && !pkt->rc) {
			sib_switch_gmp(fab, in, pkt);
			return;
		}
		spin_lock_irqsave(&fab->lock, flags);
		goto drop;
	}
	if (p > sw->node.nports)
		goto drop;
	if (!pkt->vl15 && sw->ports[p].state != IB_PORT_ACTIVE)
		goto drop;
	sib_wire_send(fab, &sw->ports[p], pkt);
	spin_unlock_irqrestore(&fab->lock, flags);
	return;
drop:
	sw->dropped++;
	spin_unlock_irqrestore(&fab->lock, flags);
	pkt_drop(fab, pkt);
}

/*
 * An RC message at its responder's port: find the RC QP by QPN and hand
 * the message over; whatever happens, rc_result() answers the requester.
 */
static void hca_rx_rc(struct sib_fabric *fab, struct sib_port *port,
		      struct sib_pkt *pkt)
{
	struct sib_hca *hca = port->node->hca;
	enum sib_rc_result res;
	struct sib_qp *qp;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	qp = xa_load(&hca->qps, pkt->dst_qpn);
	if (pkt->dlid >= SIB_MLID_BASE ||
	    (pkt->dlid & ~((1 << port->lmc) - 1)) != port->lid ||
	    !qp || qp->ibqp.qp_type != IB_QPT_RC || qp->port != port->num ||
	    !pkt->sqp || pkt->sqp->state == IB_QPS_ERR)
		goto lost;
	if (!pkey_ok(port->pkeys[qp->pkey_index % SIB_HCA_PKEYS], pkt->pkey)) {
		sat_inc(&port->pkey_violations);
		goto lost;
	}
	pkt->rnr_timer = qp->min_rnr_timer;
	port->rcv_pkts++;
	spin_unlock_irqrestore(&fab->lock, flags);
	/* as in hca_rx: destroy_qp waits for this work item */
	res = sib_rc_deliver(qp, pkt);
	spin_lock_irqsave(&fab->lock, flags);
	if (res == SIB_RC_ACK)
		hca->rc_rx++;
	else if (res == SIB_RC_RNR)
		hca->rc_rnr++;
	else if (res == SIB_RC_LOST)
		hca->rc_lost++;
	spin_unlock_irqrestore(&fab->lock, flags);
	rc_result(fab, pkt, res);
	return;
lost:
	port->rcv_errors++;
	hca->rc_lost++;
	spin_unlock_irqrestore(&fab->lock, flags);
	rc_result(fab, pkt, SIB_RC_LOST);
}

static void hca_rx(struct sib_fabric *fab, struct sib_port *port,
		   struct sib_pkt *pkt)
{
	struct sib_hca *hca = port->node->hca;
	struct sib_qp *targets[SIB_MAX_MCAST_QPS];
	u16 pkey_index[SIB_MAX_MCAST_QPS];
	struct sib_qp *qp = NULL;
	struct sib_mcast *m;
	unsigned long flags;
	int n = 0, i, idx;
	bool mcast = pkt->dlid >= SIB_MLID_BASE &&
		     pkt->dlid != SIB_LID_PERMISSIVE;

	spin_lock_irqsave(&fab->lock, flags);
	if (pkt->dst_qpn == 0) {
		if (!pkt->vl15 || (pkt->dlid != SIB_LID_PERMISSIVE &&
				   (pkt->dlid & ~((1 << port->lmc) - 1)) !=
				   port->lid))
			goto drop;
		qp = hca->qp0[port->num - 1];
		if (!qp)
			goto drop;
		targets[n] = qp;
		pkey_index[n++] = 0;
		goto deliver;
	}
	if (pkt->vl15)
		goto drop;
	if (!mcast && (pkt->dlid & ~((1 << port->lmc) - 1)) != port->lid)
		goto drop;

	if (mcast) {
		if (pkt->dst_qpn != 0xffffff)
			goto drop;
		list_for_each_entry(m, &hca->mcast, list) {
			if (m->mlid != pkt->dlid || m->qp->port != port->num ||
			    (pkt->has_grh &&
			     memcmp(&m->mgid, &pkt->grh.dgid, sizeof(m->mgid))))
				continue;
			qp = m->qp;
			if (!pkey_ok(port->pkeys[qp->pkey_index % SIB_HCA_PKEYS],
				     pkt->pkey)) {
				sat_inc(&port->pkey_violations);
				continue;
			}
			if (pkt->qkey != READ_ONCE(qp->qkey)) {
				sat_inc(&port->qkey_violations);
				continue;
			}
			if (n < SIB_MAX_MCAST_QPS) {
				targets[n] = qp;
				pkey_index[n++] = qp->pkey_index;
			}
		}
		goto deliver;
	}

	if (pkt->dst_qpn == 1) {
		qp = hca->qp1[port->num - 1];
		idx = sib_pkey_find(port, pkt->pkey);
		if (idx < 0) {
			sat_inc(&port->pkey_violations);
			goto drop;
		}
		if (!qp)
			goto drop;
		if (pkt->qkey != SIB_QP1_QKEY) {
			sat_inc(&port->qkey_violations);
			goto drop;
		}
		targets[n] = qp;
		pkey_index[n++] = idx;
		goto deliver;
	}

	qp = xa_load(&hca->qps, pkt->dst_qpn);
	if (!qp || qp->ibqp.qp_type != IB_QPT_UD || qp->port != port->num)
		goto drop;
	if (!pkey_ok(port->pkeys[qp->pkey_index % SIB_HCA_PKEYS], pkt->pkey)) {
		sat_inc(&port->pkey_violations);
		goto drop;
	}
	if (pkt->qkey != READ_ONCE(qp->qkey)) {
		sat_inc(&port->qkey_violations);
		goto drop;
	}
	targets[n] = qp;
	pkey_index[n++] = qp->pkey_index;

deliver:
	if (!pkt->local)
		port->rcv_pkts++;
	spin_unlock_irqrestore(&fab->lock, flags);
	/*
	 * The QPs stay valid without the lock: destroy_qp unhooks a QP under
	 * fab->lock and then waits for this work item.
	 */
	for (i = 0; i < n; i++) {
		if (!sib_qp_deliver(targets[i], pkt, pkey_index[i])) {
			spin_lock_irqsave(&fab->lock, flags);
			port->rcv_errors++;
			spin_unlock_irqrestore(&fab->lock, flags);
		}
	}
	kfree(pkt);
	return;
drop:
	if (!pkt->local)
		port->rcv_errors++;
	spin_unlock_irqrestore(&fab->lock, flags);
	kfree(pkt);
}

/*
 * Wire work, no lock held: an HCA replicates a multicast send to its own QPs
 * attached to the group on the sending port, the sender's included (as an
 * HCA without multicast loopback blocking does), before the packet takes the
 * cable: the switch never sends it back out of the port it came in by, so
 * this is the only way two interfaces on one port hear each other.  The copy
 * crosses no cable: no loss, no delay, no port counters.
 */
static void mcast_loopback(struct sib_fabric *fab, struct sib_pkt *pkt)
{
	struct sib_port *port = pkt->from;
	struct sib_pkt *copy;
	unsigned long flags;
	bool active;

	spin_lock_irqsave(&fab->lock, flags);
	active = port->state == IB_PORT_ACTIVE;
	spin_unlock_irqrestore(&fab->lock, flags);
	if (!active)
		return;
	copy = kmemdup(pkt, struct_size(pkt, data, pkt->len), GFP_KERNEL);
	if (!copy)
		return;
	copy->local = true;
	hca_rx(fab, port, copy);
}

/*
 * fab->lock held: take the oldest UD send owed a completion off fab->txdone
 * and fill its work completion in; returns its QP (the wire pushes the
 * completion without the lock: destroy_qp waits for that item), or NULL.
 */
static struct sib_qp *take_send_locked(struct sib_fabric *fab,
				       struct ib_wc *wc)
{
	struct sib_pkt *pkt;
	struct sib_qp *qp;

	pkt = list_first_entry_or_null(&fab->txdone, struct sib_pkt, sq_node);
	if (!pkt)
		return NULL;
	list_del_init(&pkt->sq_node);
	qp = pkt->sqp;
	pkt->sqp = NULL;
	*wc = (struct ib_wc) {
		.wr_id = pkt->wr_id,
		.status = IB_WC_SUCCESS,
		.opcode = IB_WC_SEND,
		.qp = &qp->ibqp,
		.byte_len = pkt->len,
		.port_num = qp->port,
	};
	return qp;
}

/*
 * The loss and delay knobs.  A port's drop and delay apply to every packet
 * crossing its cable, either way, except subnet management packets (VL15:
 * the SM keeps its view of the subnet).  A packet is dropped with the
 * sender's share (a discard at the sending port, PortXmitDiscards) and then
 * with the receiver's (lost on the cable: the receiving port counts it in
 * PortRcvErrors, as it would a packet that failed its CRC).  The delays of
 * both ends add up: the packet waits on the sending port's delayq (FIFO:
 * a due time is never before the one ahead of it) and comes back through
 * the wire, where the link is checked again.  A port holds at most
 * SIB_DELAYQ_MAX packets; beyond that it discards (PortXmitDiscards).
 * An RC message dropped here is lost: its requester times out and retries.
 */
enum sib_loss {
	SIB_PASS,		/* on across the cable now */
	SIB_DROPPED,		/* the caller drops it */
	SIB_HELD,		/* on from->delayq */
};

static enum sib_loss loss_locked(struct sib_fabric *fab, struct sib_pkt *pkt,
				 struct sib_port *from, struct sib_port *to)
{
	u32 delay;
	ktime_t due;

	lockdep_assert_held(&fab->lock);
	if (from->drop_pct && get_random_u32_below(100) < from->drop_pct) {
		from->loss_dropped++;
		from->xmit_discards++;
		return SIB_DROPPED;
	}
	if (to->drop_pct && get_random_u32_below(100) < to->drop_pct) {
		to->loss_dropped++;
		from->xmit_pkts++;
		to->rcv_errors++;
		return SIB_DROPPED;
	}
	delay = from->delay_us + to->delay_us;
	if (!delay || fab->loss_stopped || from->loss_stopped)
		return SIB_PASS;
	if (from->delayq_len >= SIB_DELAYQ_MAX) {
		from->delay_full++;
		from->xmit_discards++;
		return SIB_DROPPED;
	}
	if (from->delay_us)
		from->loss_delayed++;
	if (to->delay_us)
		to->loss_delayed++;
	due = ktime_add_us(ktime_get(), delay);
	if (from->delayq_len && ktime_before(due, from->delayq_tail))
		due = from->delayq_tail;
	from->delayq_tail = due;
	pkt->held_until = due;
	pkt->held = true;
	list_add_tail(&pkt->list, &from->delayq);
	if (!from->delayq_len++)
		hrtimer_start(&from->delay_timer, due, HRTIMER_MODE_ABS_SOFT);
	return SIB_HELD;
}

/* A port's delay is over for the packets at the head of its delayq. */
static enum hrtimer_restart delay_timer_fn(struct hrtimer *t)
{
	struct sib_port *p = container_of(t, struct sib_port, delay_timer);
	struct sib_fabric *fab = p->node->fab;
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	ktime_t now = ktime_get();
	struct sib_pkt *pkt, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	list_for_each_entry_safe(pkt, tmp, &p->delayq, list) {
		if (ktime_after(pkt->held_until, now)) {
			hrtimer_set_expires(t, pkt->held_until);
			ret = HRTIMER_RESTART;
			break;
		}
		list_del(&pkt->list);
		p->delayq_len--;
		sib_wire_send(fab, p, pkt);	/* held: the knobs pass it */
	}
	spin_unlock_irqrestore(&fab->lock, flags);
	return ret;
}

/* At sib_port_init(), after the memset. */
void sib_loss_init(struct sib_port *p)
{
	INIT_LIST_HEAD(&p->delayq);
	hrtimer_init(&p->delay_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	p->delay_timer.function = delay_timer_fn;
}

/*
 * Port p's delays end (an unload, or p's HCA being hot-removed): it holds
 * nothing back any more, so nothing arms its timer again; the timer is
 * cancelled and the packets it held go back to the wire, in order.
 */
void sib_loss_stop_port(struct sib_fabric *fab, struct sib_port *p)
{
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	p->loss_stopped = true;
	spin_unlock_irqrestore(&fab->lock, flags);
	hrtimer_cancel(&p->delay_timer);
	spin_lock_irqsave(&fab->lock, flags);
	list_splice_tail_init(&p->delayq, &fab->wire);
	p->delayq_len = 0;
	spin_unlock_irqrestore(&fab->lock, flags);
}

/*
 * Unload, once the HCAs are unregistered (no QP left): no more delays, and
 * every packet still held goes back to the wire, which the caller drains
 * (the cables are cut: they are discarded there).
 */
void sib_loss_stop(struct sib_fabric *fab)
{
	unsigned long flags;
	int i, p;

	spin_lock_irqsave(&fab->lock, flags);
	fab->loss_stopped = true;
	spin_unlock_irqrestore(&fab->lock, flags);
	for (i = 0; i < fab->nhcas; i++)
		for (p = 0; fab->hcas[i] && p < fab->hcas[i]->node.nports; p++)
			sib_loss_stop_port(fab, &fab->hcas[i]->ports[p]);
	for (p = 0; p <= fab->sw->node.nports; p++)
		sib_loss_stop_port(fab, &fab->sw->ports[p]);
	queue_work(fab->wq, &fab->wire_work);
}

static void wire_one(struct sib_fabric *fab, struct sib_pkt *pkt)
{
	struct sib_port *from, *to;
	unsigned long flags;
	bool held;

	if (pkt->expired) {
		rc_expired(fab, pkt);
		return;
	}
	/* a UD send completed before the wire took it (fab->txdone) */
	WARN_ON_ONCE(pkt->sqp && !pkt->rc);
	if (pkt->loop) {
		pkt->loop = false;
		mcast_loopback(fab, pkt);
	}

	spin_lock_irqsave(&fab->lock, flags);
	/* a packet back from a delay crosses now, whatever becomes of it */
	held = pkt->held;
	pkt->held = false;
	from = pkt->from;
	to = from->peer;
	if (!to || from->phys != SIB_PHYS_LINKUP || to->phys != SIB_PHYS_LINKUP ||
	    from->state < IB_PORT_INIT || to->state < IB_PORT_INIT ||
	    (!pkt->vl15 && (from->state != IB_PORT_ACTIVE ||
			    to->state < IB_PORT_ARMED))) {
		from->xmit_discards++;
		spin_unlock_irqrestore(&fab->lock, flags);
		pkt_drop(fab, pkt);
		return;
	}
	if (!held && !pkt->vl15) {
		enum sib_loss l = loss_locked(fab, pkt, from, to);

		if (l != SIB_PASS) {
			spin_unlock_irqrestore(&fab->lock, flags);
			if (l == SIB_DROPPED)
				pkt_drop(fab, pkt);
			return;
		}
	}
	from->xmit_pkts++;
	spin_unlock_irqrestore(&fab->lock, flags);

	if (to->node->is_switch)
		switch_rx(fab, to, pkt);
	else if (pkt->rc)
		hca_rx_rc(fab, to, pkt);
	else
		hca_rx(fab, to, pkt);
}

/* fab->lock held: the next packet to move, VL15 first, or NULL. */
static struct sib_pkt *take_pkt_locked(struct sib_fabric *fab)
{
	struct sib_pkt *pkt;

	pkt = list_first_entry_or_null(&fab->wire_vl15, struct sib_pkt, list);
	if (!pkt)
		pkt = list_first_entry_or_null(&fab->wire, struct sib_pkt,
					       list);
	if (pkt)
		list_del(&pkt->list);
	return pkt;
}

void sib_wire_work(struct work_struct *work)
{
	struct sib_fabric *fab = container_of(work, struct sib_fabric,
					      wire_work);
	unsigned long flags;

	for (;;) {
		struct sib_pkt *pkt = NULL;
		struct sib_qp *sqp, *qp = NULL;
		struct ib_wc wc;

		/* send completions, QP flushes, VL15, the data VL */
		spin_lock_irqsave(&fab->lock, flags);
		sqp = take_send_locked(fab, &wc);
		if (!sqp) {
			qp = list_first_entry_or_null(&fab->flushq,
						      struct sib_qp, flush_node);
			if (qp) {
				list_del_init(&qp->flush_node);
				qp->flush_queued = false;
			} else {
				pkt = take_pkt_locked(fab);
			}
		}
		if (sqp || qp || pkt)
			fab->wire_taken++;
		spin_unlock_irqrestore(&fab->lock, flags);
		if (sqp)
			sib_cq_push(to_cq(sqp->ibqp.send_cq), &wc, false);
		else if (qp)
			sib_qp_flush(qp);
		else if (pkt)
			wire_one(fab, pkt);
		else
			break;
		/* pairs with the acquire in sib_wire_sync() */
		smp_store_release(&fab->wire_done, fab->wire_done + 1);
		wake_up_var(&fab->wire_done);
		cond_resched();
	}
}

static bool wire_done_by(struct sib_fabric *fab, u64 target)
{
	/* pairs with the release in sib_wire_work() */
	return smp_load_acquire(&fab->wire_done) >= target;
}

/*
 * Wait until the wire has finished every item it had taken when this was
 * called.  After a QP is unhooked under fab->lock, that is the only item
 * that may still use it; unlike flush_work(), this does not wait for the
 * packets that keep coming while other QPs send.
 */
void sib_wire_sync(struct sib_fabric *fab)
{
	unsigned long flags;
	u64 target;

	spin_lock_irqsave(&fab->lock, flags);
	target = fab->wire_taken;
	spin_unlock_irqrestore(&fab->lock, flags);
	wait_var_event(&fab->wire_done, wire_done_by(fab, target));
}

/*
 * Put the RC messages whose retry time came back on the wire (marked
 * expired: rc_expired() decides there), and re-arm for the next one.
 */
void sib_retry_work(struct work_struct *work)
{
	struct sib_fabric *fab = container_of(to_delayed_work(work),
					      struct sib_fabric, retry_work);
	struct sib_pkt *pkt, *tmp;
	unsigned long flags, next = 0;
	bool more = false;

	spin_lock_irqsave(&fab->lock, flags);
	fab->retry_armed = false;
	list_for_each_entry_safe(pkt, tmp, &fab->parked, list) {
		if (time_before(jiffies, pkt->due)) {
			if (!more || time_before(pkt->due, next))
				next = pkt->due;
			more = true;
			continue;
		}
		list_del(&pkt->list);
		pkt->parked = false;
		pkt->expired = true;
		sib_wire_send(fab, pkt->from, pkt);
	}
	if (more) {
		fab->retry_armed = true;
		fab->retry_due = next;
		mod_delayed_work(fab->wq, &fab->retry_work,
				 time_after(next, jiffies) ? next - jiffies : 0);
	}
	spin_unlock_irqrestore(&fab->lock, flags);
}
