// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the UD transport's verbs objects: PD, CQs and a QP left in
 * RESET, the two rings, their event handlers (which queue the reopen after
 * a QP or CQ error), and the ring resize of ethtool -G.  Bringing the QP up
 * and the data path are in ipoib_ib.c.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

#include "ipoib.h"

static void ipoib_recv_cq_event(struct ib_cq *cq, void *ctx)
{
	struct ipoib_dev_priv *priv = ctx;

	ipoib_cq_kick(&priv->recv_napi, &priv->recv_kick);
}

static void ipoib_send_cq_event(struct ib_cq *cq, void *ctx)
{
	struct ipoib_dev_priv *priv = ctx;

	ipoib_cq_kick(&priv->send_napi, &priv->send_kick);
}

/*
 * An error event on our QP or a CQ: the device stopped them and traffic
 * would stay stopped, so the interface is reopened (the handlers may run in
 * interrupt context).  Events from a transport that a ring resize already
 * replaced are ignored.
 */
static void ipoib_qp_event(struct ib_event *event, void *ctx)
{
	struct ipoib_dev_priv *priv = ctx;

	switch (event->event) {
	case IB_EVENT_QP_FATAL:
	case IB_EVENT_QP_REQ_ERR:
	case IB_EVENT_QP_ACCESS_ERR:
		if (event->element.qp == READ_ONCE(priv->qp))
			ipoib_schedule_recovery(priv,
						ib_event_msg(event->event));
		break;
	default:
		ipoib_dbg(priv, "QP event %s\n", ib_event_msg(event->event));
		break;
	}
}

static void ipoib_cq_event(struct ib_event *event, void *ctx)
{
	struct ipoib_dev_priv *priv = ctx;
	struct ib_cq *cq = event->element.cq;

	if (event->event == IB_EVENT_CQ_ERR &&
	    (cq == READ_ONCE(priv->recv_cq) || cq == READ_ONCE(priv->send_cq)))
		ipoib_schedule_recovery(priv, ib_event_msg(event->event));
}

/* PD, CQs, a UD QP left in RESET, and the two rings. */
int ipoib_transport_init(struct ipoib_dev_priv *priv, unsigned int recvq_size,
			 unsigned int sendq_size)
{
	struct ib_qp_init_attr qp_attr = {
		.event_handler = ipoib_qp_event,
		.qp_context = priv,
		.qp_type = IB_QPT_UD,
		.sq_sig_type = IB_SIGNAL_ALL_WR,
	};
	struct ib_cq_init_attr cq_attr = {};
	struct ib_device *ca = priv->ca;
	unsigned int i, srq_size, nonsrq_max;
	int ret;

	priv->sendq_size = sendq_size;
	priv->recvq_size = recvq_size;

	priv->rx_ring = kvcalloc(priv->recvq_size, sizeof(*priv->rx_ring),
				 GFP_KERNEL);
	if (!priv->rx_ring)
		return -ENOMEM;
	priv->tx_ring = kvcalloc(priv->sendq_size, sizeof(*priv->tx_ring),
				 GFP_KERNEL);
	if (!priv->tx_ring) {
		ret = -ENOMEM;
		goto err_rx_ring;
	}

	priv->pd = ib_alloc_pd(ca, 0);
	if (IS_ERR(priv->pd)) {
		ret = PTR_ERR(priv->pd);
		goto err_tx_ring;
	}

	/* connected-mode receives complete here too */
	cq_attr.cqe = priv->recvq_size +
		      ipoib_cm_recv_cq_extra(priv, priv->recvq_size, &srq_size,
					     &nonsrq_max);
	ret = ipoib_fault_inject(priv, IPOIB_FAULT_CQ_CREATE);
	priv->recv_cq = ret ? ERR_PTR(ret) :
		ib_create_cq(ca, ipoib_recv_cq_event, ipoib_cq_event, priv,
			     &cq_attr);
	if (IS_ERR(priv->recv_cq)) {
		ret = PTR_ERR(priv->recv_cq);
		goto err_pd;
	}
	/* a new CQ (ethtool -G) keeps the moderation ethtool -c reports */
	if (priv->rx_coal_usecs || priv->rx_coal_frames) {
		ret = rdma_set_cq_moderation(priv->recv_cq,
					     priv->rx_coal_frames,
					     priv->rx_coal_usecs);
		if (ret)
			goto err_recv_cq;
	}

	cq_attr.cqe = priv->sendq_size;
	ret = ipoib_fault_inject(priv, IPOIB_FAULT_CQ_CREATE);
	priv->send_cq = ret ? ERR_PTR(ret) :
		ib_create_cq(ca, ipoib_send_cq_event, ipoib_cq_event, priv,
			     &cq_attr);
	if (IS_ERR(priv->send_cq)) {
		ret = PTR_ERR(priv->send_cq);
		goto err_recv_cq;
	}

	qp_attr.send_cq = priv->send_cq;
	qp_attr.recv_cq = priv->recv_cq;
	qp_attr.cap.max_send_wr = priv->sendq_size;
	qp_attr.cap.max_recv_wr = priv->recvq_size;
	qp_attr.cap.max_send_sge = min_t(u32, ca->attrs.max_send_sge,
					 MAX_SKB_FRAGS + 1);
	qp_attr.cap.max_recv_sge = 1;
	ret = ipoib_fault_inject(priv, IPOIB_FAULT_QP_CREATE);
	priv->qp = ret ? ERR_PTR(ret) : ib_create_qp(priv->pd, &qp_attr);
	if (IS_ERR(priv->qp)) {
		ret = PTR_ERR(priv->qp);
		goto err_send_cq;
	}
	priv->max_send_sge = qp_attr.cap.max_send_sge;

	for (i = 0; i < ARRAY_SIZE(priv->rx_wr); i++) {
		priv->rx_sge[i].lkey = priv->pd->local_dma_lkey;
		priv->rx_wr[i].sg_list = &priv->rx_sge[i];
		priv->rx_wr[i].num_sge = 1;
	}

	for (i = 0; i < ARRAY_SIZE(priv->tx_sge); i++)
		priv->tx_sge[i].lkey = priv->pd->local_dma_lkey;
	priv->tx_wr.wr.opcode = IB_WR_SEND;
	priv->tx_wr.wr.send_flags = IB_SEND_SIGNALED;
	priv->tx_wr.wr.sg_list = priv->tx_sge;
	/* connected mode sizes its receives to this CQ */
	priv->cm.srq_size = srq_size;
	priv->cm.nonsrq_max = nonsrq_max;
	return 0;

err_send_cq:
	ib_destroy_cq(priv->send_cq);
err_recv_cq:
	ib_destroy_cq(priv->recv_cq);
err_pd:
	ib_dealloc_pd(priv->pd);
err_tx_ring:
	kvfree(priv->tx_ring);
err_rx_ring:
	kvfree(priv->rx_ring);
	return ret;
}

void ipoib_transport_cleanup(struct ipoib_dev_priv *priv)
{
	ib_destroy_qp(priv->qp);
	ib_destroy_cq(priv->send_cq);
	ib_destroy_cq(priv->recv_cq);
	/* the CQs make no more upcalls: let the last kicks finish */
	irq_work_sync(&priv->recv_kick);
	irq_work_sync(&priv->send_kick);
	/* every address handle on this PD was destroyed by the final reap */
	WARN_ONCE(atomic_read(&priv->ah_count),
		  "%s: %d address handles outlive their PD\n",
		  priv->dev->name, atomic_read(&priv->ah_count));
	ib_dealloc_pd(priv->pd);
	kvfree(priv->tx_ring);
	kvfree(priv->rx_ring);
}

/* What ipoib_transport_init() sets up, to keep the old one during a resize. */
struct ipoib_transport {
	struct ib_pd *pd;
	struct ib_cq *recv_cq, *send_cq;
	struct ib_qp *qp;
	struct ipoib_rx_buf *rx_ring;
	struct ipoib_tx_buf *tx_ring;
	unsigned int recvq_size, sendq_size, max_send_sge;
};

static void ipoib_transport_swap(struct ipoib_dev_priv *priv,
				 struct ipoib_transport *t)
{
	swap(priv->pd, t->pd);
	swap(priv->recv_cq, t->recv_cq);
	swap(priv->send_cq, t->send_cq);
	swap(priv->qp, t->qp);
	swap(priv->rx_ring, t->rx_ring);
	swap(priv->tx_ring, t->tx_ring);
	swap(priv->recvq_size, t->recvq_size);
	swap(priv->sendq_size, t->sendq_size);
	swap(priv->max_send_sge, t->max_send_sge);
}

/*
 * ethtool -G: new rings need a new QP.  The new transport is built while
 * the old one still exists, so a failure leaves everything as it was.  The
 * QPN, and with it the hardware address, changes: peers learn the new one
 * from the gratuitous ARP / unsolicited NA sent once the carrier is back.
 * Called with rtnl held.
 */
int ipoib_resize_rings(struct ipoib_dev_priv *priv, unsigned int recvq_size,
		       unsigned int sendq_size, struct netlink_ext_ack *extack)
{
	struct ipoib_transport parked = {};
	int ret;

	ASSERT_RTNL();
	ipoib_ib_down(priv);

	/* park the current transport and build the new one in its place */
	ipoib_transport_swap(priv, &parked);
	ret = ipoib_transport_init(priv, recvq_size, sendq_size);
	/* now priv holds the current transport again, parked the new one */
	ipoib_transport_swap(priv, &parked);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot set up rings of that size");
	} else {
		ipoib_transport_cleanup(priv);
		ipoib_transport_swap(priv, &parked);
		ipoib_set_dev_addr(priv);
		call_netdevice_notifiers(NETDEV_CHANGEADDR, priv->dev);
		set_bit(IPOIB_FLAG_NOTIFY_PEERS, &priv->flags);
		ipoib_update_sg_feature(priv);
	}

	/* back up with whichever transport we have now */
	ipoib_ib_up(priv);
	return ret;
}
