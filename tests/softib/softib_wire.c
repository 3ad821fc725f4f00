// SPDX-License-Identifier: GPL-2.0
/*
 * softib wire: packets leave a port, cross the cable, and are forwarded by
 * the switch (LFT by DLID, MFT by MLID, directed route hop by hop) until an
 * HCA port delivers them to a QP.  Everything runs in one work item on an
 * ordered workqueue, so a sender never re-enters itself.
 */
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/wait_bit.h>
#include <rdma/ib_mad.h>

#include "softib.h"

#define SIB_QP1_QKEY	0x80010000

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
	list_add_tail(&pkt->list, &fab->wire);
	queue_work(fab->wq, &fab->wire_work);
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
	kfree(pkt);
}

static void hca_rx(struct sib_fabric *fab, struct sib_port *port,
		   struct sib_pkt *pkt)
{
	struct sib_hca *hca = port->node->hca;
	struct sib_qp *targets[SIB_MAX_MCAST];
	u16 pkey_index[SIB_MAX_MCAST];
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
			if (n < SIB_MAX_MCAST) {
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
	if (!qp || qp->port != port->num)
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
	port->rcv_errors++;
	spin_unlock_irqrestore(&fab->lock, flags);
	kfree(pkt);
}

static void complete_send(struct sib_pkt *pkt)
{
	struct sib_qp *qp = pkt->sqp;
	struct ib_wc wc = {
		.wr_id = pkt->wr_id,
		.status = IB_WC_SUCCESS,
		.opcode = IB_WC_SEND,
		.qp = &qp->ibqp,
		.byte_len = pkt->len,
		.port_num = qp->port,
	};

	pkt->sqp = NULL;
	if (pkt->signaled)
		sib_cq_push(to_cq(qp->ibqp.send_cq), &wc, false);
}

static void wire_one(struct sib_fabric *fab, struct sib_pkt *pkt)
{
	struct sib_port *from, *to;
	unsigned long flags;

	if (pkt->sqp)
		complete_send(pkt);

	spin_lock_irqsave(&fab->lock, flags);
	from = pkt->from;
	to = from->peer;
	if (!to || from->phys != SIB_PHYS_LINKUP || to->phys != SIB_PHYS_LINKUP ||
	    from->state < IB_PORT_INIT || to->state < IB_PORT_INIT ||
	    (!pkt->vl15 && (from->state != IB_PORT_ACTIVE ||
			    to->state < IB_PORT_ARMED))) {
		from->xmit_discards++;
		spin_unlock_irqrestore(&fab->lock, flags);
		kfree(pkt);
		return;
	}
	from->xmit_pkts++;
	spin_unlock_irqrestore(&fab->lock, flags);

	if (to->node->is_switch)
		switch_rx(fab, to, pkt);
	else
		hca_rx(fab, to, pkt);
}

void sib_wire_work(struct work_struct *work)
{
	struct sib_fabric *fab = container_of(work, struct sib_fabric,
					      wire_work);
	unsigned long flags;

	for (;;) {
		struct sib_pkt *pkt;
		struct sib_qp *qp;

		spin_lock_irqsave(&fab->lock, flags);
		qp = list_first_entry_or_null(&fab->flushq, struct sib_qp,
					      flush_node);
		pkt = NULL;
		if (qp) {
			list_del_init(&qp->flush_node);
			qp->flush_queued = false;
		} else {
			pkt = list_first_entry_or_null(&fab->wire,
						       struct sib_pkt, list);
			if (pkt)
				list_del(&pkt->list);
		}
		if (qp || pkt)
			fab->wire_taken++;
		spin_unlock_irqrestore(&fab->lock, flags);
		if (qp)
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
