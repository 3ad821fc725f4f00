// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the data path: receive and send rings and their NAPI pollers,
 * and bringing the UD QP up and down (open, stop, drain, the reopen after
 * a QP or CQ error).  The verbs objects themselves are in ipoib_verbs.c.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <rdma/ib_cache.h>

#include "ipoib.h"

#define IPOIB_NAPI_WEIGHT	64

static inline bool ipoib_wr_is_cm(u64 wr_id)
{
	return wr_id & IPOIB_WR_CM;
}

/*
 * Hardware calls completion handlers from interrupts; software devices
 * such as rxe call them from a work item, where a raised softirq would
 * wait for the next interrupt.  Run it when bottom halves are re-enabled.
 */
void ipoib_napi_kick(struct napi_struct *napi)
{
	if (!in_task() || irqs_disabled()) {
		napi_schedule(napi);
		return;
	}
	local_bh_disable();
	napi_schedule(napi);
	local_bh_enable();
}

/*
 * A completion upcall.  rxe (6.12) makes it from its work item with
 * interrupts off, under its CQ lock: a softirq raised there only wakes
 * ksoftirqd, and every completion then waits for a context switch (the
 * echo stage breakdown in README.md measured it).  An irq_work raises a
 * self-interrupt that fires as soon as interrupts are on again; the poller
 * it schedules runs when that interrupt returns, in the same context.
 */
void ipoib_cq_kick(struct napi_struct *napi, struct irq_work *kick)
{
	if (in_task() && irqs_disabled())
		irq_work_queue(kick);
	else
		ipoib_napi_kick(napi);
}

static void ipoib_recv_kick(struct irq_work *kick)
{
	struct ipoib_dev_priv *priv =
		container_of(kick, struct ipoib_dev_priv, recv_kick);

	napi_schedule(&priv->recv_napi);
}

static void ipoib_send_kick(struct irq_work *kick)
{
	struct ipoib_dev_priv *priv =
		container_of(kick, struct ipoib_dev_priv, send_kick);

	napi_schedule(&priv->send_napi);
}

/* Receive ring */

static void ipoib_rx_free(struct ipoib_dev_priv *priv, unsigned int id)
{
	struct ipoib_rx_buf *buf = &priv->rx_ring[id];

	if (!buf->skb)
		return;
	ib_dma_unmap_single(priv->ca, buf->mapping, priv->rx_buf_size,
			    DMA_FROM_DEVICE);
	dev_kfree_skb_any(buf->skb);
	buf->skb = NULL;
}

/* Post ring slot @id, whose buffer is mapped already, on its own. */
static int ipoib_rx_post_buf(struct ipoib_dev_priv *priv, unsigned int id)
{
	struct ib_recv_wr *wr = &priv->rx_wr[0];
	int ret = ipoib_fault_inject_atomic(priv, IPOIB_FAULT_POST_RECV);

	if (unlikely(ret))
		return ret;
	priv->rx_sge[0].addr = priv->rx_ring[id].mapping;
	priv->rx_sge[0].length = priv->rx_buf_size;
	wr->wr_id = ipoib_wr_gen(priv) | id;
	wr->next = NULL;
	return ib_post_recv(priv->qp, wr, NULL);
}

/* Give ring slot @id a new buffer, mapped; the old one is the caller's. */
static int ipoib_rx_alloc(struct ipoib_dev_priv *priv, unsigned int id,
			  gfp_t gfp)
{
	struct ipoib_rx_buf *buf = &priv->rx_ring[id];
	struct sk_buff *skb;
	u64 addr;

	if (unlikely(ipoib_fault_inject_atomic(priv, IPOIB_FAULT_RX_ALLOC)))
		return -ENOMEM;
	skb = __netdev_alloc_skb(priv->dev, priv->rx_buf_size, gfp);
	if (unlikely(!skb))
		return -ENOMEM;

	addr = ib_dma_map_single(priv->ca, skb->data, priv->rx_buf_size,
				 DMA_FROM_DEVICE);
	if (unlikely(ib_dma_mapping_error(priv->ca, addr))) {
		dev_kfree_skb_any(skb);
		return -EIO;
	}
	buf->skb = skb;
	buf->mapping = addr;
	return 0;
}

static int ipoib_rx_post(struct ipoib_dev_priv *priv, unsigned int id,
			 gfp_t gfp)
{
	int ret = ipoib_rx_alloc(priv, id, gfp);

	if (unlikely(ret))
		return ret;
	ret = ipoib_rx_post_buf(priv, id);
	if (unlikely(ret))
		ipoib_rx_free(priv, id);
	return ret;
}

/* Add ring slot @id, its buffer mapped, to the poller's batch. */
static void ipoib_rx_queue(struct ipoib_dev_priv *priv, unsigned int id)
{
	unsigned int n = priv->rx_post_n++;
	struct ib_recv_wr *wr = &priv->rx_wr[n];

	priv->rx_sge[n].addr = priv->rx_ring[id].mapping;
	priv->rx_sge[n].length = priv->rx_buf_size;
	wr->wr_id = ipoib_wr_gen(priv) | id;
	wr->next = NULL;
	if (n)
		priv->rx_wr[n - 1].next = wr;
}

/*
 * Post the poller's batch in one call.  The slots from the first that
 * failed on are emptied for the refill (ipoib_rx_refill()).
 */
static void ipoib_rx_post_batch(struct ipoib_dev_priv *priv)
{
	const struct ib_recv_wr *bad = priv->rx_wr;
	unsigned int i, n = priv->rx_post_n;

	if (!n)
		return;
	priv->rx_post_n = 0;
	if (likely(!ipoib_fault_inject_atomic(priv, IPOIB_FAULT_POST_RECV) &&
		   !ib_post_recv(priv->qp, priv->rx_wr, &bad)))
		return;
	/* @bad is where the device stopped; anything else: all of them */
	i = bad > priv->rx_wr && bad < priv->rx_wr + n ? bad - priv->rx_wr : 0;
	for (; i < n; i++)
		ipoib_rx_free(priv, lower_32_bits(priv->rx_wr[i].wr_id));
	WRITE_ONCE(priv->rx_refill, true);
}

/* Is the payload after the encapsulation header plausible for @proto? */
static bool ipoib_rx_header_ok(struct sk_buff *skb, __be16 proto)
{
	const u8 *p = skb->data;

	switch (proto) {
	case htons(ETH_P_IP):
		return skb->len >= sizeof(struct iphdr) && (p[0] >> 4) == 4;
	case htons(ETH_P_IPV6):
		return skb->len >= sizeof(struct ipv6hdr) && (p[0] >> 4) == 6;
	case htons(ETH_P_ARP):
	case htons(ETH_P_RARP):
		return skb->len >= sizeof(struct arphdr);
	default:
		return false;
	}
}

static bool ipoib_known_proto(__be16 proto)
{
	return proto == htons(ETH_P_IP) || proto == htons(ETH_P_IPV6) ||
	       proto == htons(ETH_P_ARP) || proto == htons(ETH_P_RARP);
}

/* Deliver one received frame; @skb holds GRH + encapsulation + payload. */
static void ipoib_rx_deliver(struct ipoib_dev_priv *priv, struct ib_wc *wc,
			     struct sk_buff *skb)
{
	struct net_device *dev = priv->dev;
	const struct ib_grh *grh = (const struct ib_grh *)skb->data;

	if (unlikely(wc->byte_len < IPOIB_GRH_LEN + IPOIB_ENCAP_LEN)) {
		priv->rx_drops.short_frame++;
		DEV_STATS_INC(dev, rx_length_errors);
		DEV_STATS_INC(dev, rx_errors);
		goto drop;
	}
	skb_put(skb, wc->byte_len);

	/* multicast comes back to its sender; so might a looped unicast */
	if (wc->src_qp == priv->qp->qp_num &&
	    ((wc->wc_flags & IB_WC_GRH) ?
	     !memcmp(&grh->sgid, &priv->local_gid, sizeof(grh->sgid)) :
	     wc->slid == priv->local_lid)) {
		priv->rx_drops.own_echo++;
		dev_kfree_skb_any(skb);
		return;
	}

	if ((wc->wc_flags & IB_WC_GRH) && grh->dgid.raw[0] == 0xff)
		skb->pkt_type = memcmp(grh->dgid.raw, dev->broadcast + 4,
				       sizeof(grh->dgid)) ?
				PACKET_MULTICAST : PACKET_BROADCAST;
	else
		skb->pkt_type = PACKET_HOST;

	skb_pull(skb, IPOIB_GRH_LEN);
	if (unlikely(skb->len > dev->max_mtu + IPOIB_ENCAP_LEN)) {
		priv->rx_drops.oversize++;
		DEV_STATS_INC(dev, rx_length_errors);
		DEV_STATS_INC(dev, rx_errors);
		goto drop;
	}
	ipoib_rx_pass_up(priv, skb);
	return;

drop:
	DEV_STATS_INC(dev, rx_dropped);
	dev_kfree_skb_any(skb);
}

/*
 * Hand a received frame to the stack: @skb->data is the encapsulation
 * header, skb->pkt_type is set.  Frames of either QP type come here.
 */
void ipoib_rx_pass_up(struct ipoib_dev_priv *priv, struct sk_buff *skb)
{
	struct net_device *dev = priv->dev;
	struct ipoib_header *hdr;
	u8 *pseudo;

	hdr = (struct ipoib_header *)skb->data;
	skb_pull(skb, IPOIB_ENCAP_LEN);

	if (unlikely(!ipoib_known_proto(hdr->proto))) {
		priv->rx_drops.unknown_proto++;
		dev_core_stats_rx_nohandler_inc(dev);
		goto drop;
	}
	if (unlikely(!ipoib_rx_header_ok(skb, hdr->proto))) {
		priv->rx_drops.bad_header++;
		DEV_STATS_INC(dev, rx_frame_errors);
		DEV_STATS_INC(dev, rx_errors);
		goto drop;
	}

	/*
	 * The link header seen by the stack and packet sockets is a zeroed
	 * pseudo address followed by the encapsulation header.
	 */
	skb->protocol = hdr->proto;
	pseudo = skb_push(skb, IPOIB_HARD_LEN);
	memset(pseudo, 0, IPOIB_PSEUDO_LEN);
	skb_reset_mac_header(skb);
	skb_pull(skb, IPOIB_HARD_LEN);

	if (skb->pkt_type != PACKET_HOST)
		DEV_STATS_INC(dev, multicast);
	DEV_STATS_INC(dev, rx_packets);
	DEV_STATS_ADD(dev, rx_bytes, skb->len + IPOIB_ENCAP_LEN);
	skb->dev = dev;
	skb_checksum_none_assert(skb);
	napi_gro_receive(&priv->recv_napi, skb);
	return;

drop:
	DEV_STATS_INC(dev, rx_dropped);
	dev_kfree_skb_any(skb);
}

static void ipoib_rx_complete(struct ipoib_dev_priv *priv, struct ib_wc *wc,
			      bool drain)
{
	unsigned int id = lower_32_bits(wc->wr_id);
	struct ipoib_rx_buf *buf;
	struct sk_buff *skb;
	u64 addr;

	if (ipoib_wr_stale(priv, wc->wr_id) ||
	    WARN_ON_ONCE(id >= priv->recvq_size))
		return;
	buf = &priv->rx_ring[id];

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		if (wc->status != IB_WC_WR_FLUSH_ERR) {
			if (wc->status == IB_WC_LOC_LEN_ERR) {
				priv->rx_drops.oversize++;
				DEV_STATS_INC(priv->dev, rx_length_errors);
			}
			DEV_STATS_INC(priv->dev, rx_errors);
			net_dbg_ratelimited("%s: receive error %d (vendor %u)\n",
					    priv->dev->name, wc->status,
					    wc->vendor_err);
		}
		/* a flush means the QP is in error: nothing to post to */
		if (drain || wc->status == IB_WC_WR_FLUSH_ERR)
			ipoib_rx_free(priv, id);
		else
			ipoib_rx_queue(priv, id);
		return;
	}

	if (drain) {
		ipoib_rx_free(priv, id);
		return;
	}

	/* a new buffer for the slot first; without one the frame is dropped */
	skb = buf->skb;
	addr = buf->mapping;
	if (unlikely(ipoib_rx_alloc(priv, id, GFP_ATOMIC))) {
		priv->rx_drops.no_buffer++;
		DEV_STATS_INC(priv->dev, rx_dropped);
		/* the old buffer serves again */
		ipoib_rx_queue(priv, id);
		return;
	}
	ipoib_rx_queue(priv, id);
	ib_dma_unmap_single(priv->ca, addr, priv->rx_buf_size,
			    DMA_FROM_DEVICE);
	ipoib_rx_deliver(priv, wc, skb);
}

/*
 * Post every empty slot of the UD ring again (receive NAPI).  Returns
 * false when some slot is still empty.
 */
static bool ipoib_rx_refill_ud(struct ipoib_dev_priv *priv)
{
	bool all = true;
	unsigned int i;

	for (i = 0; i < priv->recvq_size; i++) {
		if (priv->rx_ring[i].skb)
			continue;
		if (ipoib_rx_post(priv, i, GFP_ATOMIC))
			all = false;
		else
			priv->rx_refilled++;
	}
	return all;
}

/* Let the receive poller run again soon, to retry a refill. */
void ipoib_rx_refill_later(struct ipoib_dev_priv *priv)
{
	queue_delayed_work(priv->wq, &priv->rx_refill_task, HZ / 10);
}

/* rx_refill_task (priv->wq): only schedules the receive poller */
static void ipoib_rx_refill_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv = container_of(work, struct ipoib_dev_priv,
						   rx_refill_task.work);

	ipoib_napi_kick(&priv->recv_napi);
}

/*
 * Slots emptied by a failed allocation or post are filled here, in the
 * poller, which owns the rings; what still fails is retried from
 * rx_refill_task, since an empty ring brings no completion to poll for.
 */
static void ipoib_rx_refill(struct ipoib_dev_priv *priv)
{
	bool all;

	WRITE_ONCE(priv->rx_refill, false);
	all = ipoib_rx_refill_ud(priv);
	all &= ipoib_cm_rx_refill(priv);
	if (!all) {
		WRITE_ONCE(priv->rx_refill, true);
		ipoib_rx_refill_later(priv);
	}
}

static int ipoib_recv_poll(struct napi_struct *napi, int budget)
{
	struct ipoib_dev_priv *priv =
		container_of(napi, struct ipoib_dev_priv, recv_napi);
	int done = 0;

	while (done < budget) {
		int want = min(budget - done, IPOIB_NUM_WC);
		int n = ib_poll_cq(priv->recv_cq, want, priv->rx_wc);
		int i;

		for (i = 0; i < n; i++) {
			struct ib_wc *wc = &priv->rx_wc[i];

			if (ipoib_wr_is_cm(wc->wr_id))
				ipoib_cm_rx_complete(priv, wc, false);
			else
				ipoib_rx_complete(priv, wc, false);
		}
		/* the batch's frames are up the stack: their slots go back */
		ipoib_rx_post_batch(priv);
		done += max(n, 0);
		if (n < want)
			break;
	}
	if (unlikely(READ_ONCE(priv->rx_refill)))
		ipoib_rx_refill(priv);

	if (done < budget && napi_complete_done(napi, done) &&
	    ib_req_notify_cq(priv->recv_cq, IB_CQ_NEXT_COMP |
			     IB_CQ_REPORT_MISSED_EVENTS) > 0)
		napi_schedule(napi);
	return done;
}

/* Send ring */

void ipoib_tx_unmap(struct ipoib_dev_priv *priv, struct ipoib_tx_buf *tx)
{
	struct sk_buff *skb = tx->skb;
	unsigned int i;

	ib_dma_unmap_single(priv->ca, tx->mapping[0], skb_headlen(skb),
			    DMA_TO_DEVICE);
	for (i = 1; i < tx->nr_maps; i++)
		ib_dma_unmap_page(priv->ca, tx->mapping[i],
				  skb_frag_size(&skb_shinfo(skb)->frags[i - 1]),
				  DMA_TO_DEVICE);
}

static int ipoib_tx_map(struct ipoib_dev_priv *priv, struct ipoib_tx_buf *tx,
			struct sk_buff *skb)
{
	struct ib_device *ca = priv->ca;
	unsigned int i;
	u64 addr;

	addr = ib_dma_map_single(ca, skb->data, skb_headlen(skb),
				 DMA_TO_DEVICE);
	if (unlikely(ib_dma_mapping_error(ca, addr)))
		return -EIO;
	tx->skb = skb;
	tx->mapping[0] = addr;
	tx->nr_maps = 1;
	priv->tx_sge[0].addr = addr;
	priv->tx_sge[0].length = skb_headlen(skb);

	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

		addr = ib_dma_map_page(ca, skb_frag_page(frag),
				       skb_frag_off(frag), skb_frag_size(frag),
				       DMA_TO_DEVICE);
		if (unlikely(ib_dma_mapping_error(ca, addr))) {
			ipoib_tx_unmap(priv, tx);
			tx->skb = NULL;
			return -EIO;
		}
		tx->mapping[i + 1] = addr;
		priv->tx_sge[i + 1].addr = addr;
		priv->tx_sge[i + 1].length = skb_frag_size(frag);
		tx->nr_maps++;
	}
	return 0;
}

static unsigned int ipoib_tx_space(struct ipoib_dev_priv *priv)
{
	return priv->sendq_size -
	       (READ_ONCE(priv->tx_head) - READ_ONCE(priv->tx_tail));
}

/*
 * Sends in flight, UD and connected together, never exceed the send queue
 * size: that bounds every ring and the send CQ.
 */
static unsigned int ipoib_tx_budget(struct ipoib_dev_priv *priv)
{
	int left = ipoib_tx_space(priv) - atomic_read(&priv->cm.tx_inflight);

	return max(left, 0);
}

/*
 * Ready @skb for a send from @tx, UD or connected: a budget slot is free,
 * the skb fits the device's gather list, and it is DMA-mapped into @tx and
 * priv->tx_sge.  On failure nothing is held and the caller drops @skb.
 */
int ipoib_tx_prepare(struct ipoib_dev_priv *priv, struct ipoib_tx_buf *tx,
		     struct sk_buff *skb)
{
	if (unlikely(!ipoib_tx_budget(priv))) {
		/* the queue is stopped before this can happen */
		priv->tx_queue_full++;
		return -ENOBUFS;
	}
	if (skb_shinfo(skb)->nr_frags + 1 > priv->max_send_sge &&
	    skb_linearize(skb))
		return -ENOMEM;
	/* the route is not needed past this point (ndo_start_xmit orphaned it) */
	skb_dst_drop(skb);
	return ipoib_tx_map(priv, tx, skb);
}

/* Stop before the last free slot is used, so completions can wake us. */
void ipoib_tx_maybe_stop(struct ipoib_dev_priv *priv)
{
	if (ipoib_tx_budget(priv) <= 1) {
		netif_stop_queue(priv->dev);
		smp_mb(); /* pairs with ipoib_tx_maybe_wake() */
		if (ipoib_tx_budget(priv) > 1)
			netif_start_queue(priv->dev);
	}
}

void ipoib_tx_maybe_wake(struct ipoib_dev_priv *priv)
{
	smp_mb(); /* pairs with ipoib_tx_maybe_stop() */
	if (unlikely(netif_queue_stopped(priv->dev)) &&
	    ipoib_tx_budget(priv) > priv->sendq_size / 2 &&
	    test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		netif_wake_queue(priv->dev);
}

/*
 * Post one UD send.  Runs in ndo_start_xmit (tx lock held), inside an RCU
 * read section that keeps @ah alive; @skb->data is the encapsulation header.
 */
netdev_tx_t ipoib_send(struct ipoib_dev_priv *priv, struct sk_buff *skb,
		       struct ipoib_ah *ah, u32 qpn)
{
	struct net_device *dev = priv->dev;
	unsigned int head = priv->tx_head;
	struct ipoib_tx_buf *tx = &priv->tx_ring[head & (priv->sendq_size - 1)];
	unsigned int len = skb->len;

	if (unlikely(len > ipoib_ud_mtu(priv->max_ib_mtu) + IPOIB_ENCAP_LEN)) {
		DEV_STATS_INC(dev, tx_errors);
		goto drop;
	}
	if (unlikely(ipoib_tx_prepare(priv, tx, skb)))
		goto drop;

	priv->tx_wr.wr.wr_id = ipoib_wr_gen(priv) |
			       (head & (priv->sendq_size - 1));
	priv->tx_wr.wr.num_sge = tx->nr_maps;
	priv->tx_wr.ah = ah->ah;
	priv->tx_wr.remote_qpn = qpn;
	priv->tx_wr.remote_qkey = priv->qkey;

	/* the slot counts as used from here, for the budget */
	WRITE_ONCE(priv->tx_head, head + 1);
	ipoib_tx_maybe_stop(priv);

	if (unlikely(ib_post_send(priv->qp, &priv->tx_wr.wr, NULL))) {
		WRITE_ONCE(priv->tx_head, head);
		ipoib_tx_unmap(priv, tx);
		tx->skb = NULL;
		DEV_STATS_INC(dev, tx_errors);
		ipoib_tx_maybe_wake(priv);
		goto drop;
	}

	ah->last_send = head + 1;
	DEV_STATS_INC(dev, tx_packets);
	DEV_STATS_ADD(dev, tx_bytes, len);
	return NETDEV_TX_OK;

drop:
	DEV_STATS_INC(dev, tx_dropped);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static void ipoib_tx_complete(struct ipoib_dev_priv *priv, struct ib_wc *wc,
			      int budget)
{
	unsigned int slot = lower_32_bits(wc->wr_id);
	struct ipoib_tx_buf *tx;

	if (ipoib_wr_stale(priv, wc->wr_id) ||
	    WARN_ON_ONCE(slot >= priv->sendq_size))
		return;
	tx = &priv->tx_ring[slot];
	if (WARN_ON_ONCE(!tx->skb))
		return;

	ipoib_tx_unmap(priv, tx);
	napi_consume_skb(tx->skb, budget);
	tx->skb = NULL;

	if (unlikely(wc->status != IB_WC_SUCCESS &&
		     wc->status != IB_WC_WR_FLUSH_ERR)) {
		DEV_STATS_INC(priv->dev, tx_errors);
		net_dbg_ratelimited("%s: send error %d (vendor %u)\n",
				    priv->dev->name, wc->status,
				    wc->vendor_err);
	}
	WRITE_ONCE(priv->tx_tail, priv->tx_tail + 1);
}

static int ipoib_send_poll(struct napi_struct *napi, int budget)
{
	struct ipoib_dev_priv *priv =
		container_of(napi, struct ipoib_dev_priv, send_napi);
	int done = 0;

	while (done < budget) {
		int want = min(budget - done, IPOIB_NUM_WC);
		int n = ib_poll_cq(priv->send_cq, want, priv->tx_wc);
		int i;

		for (i = 0; i < n; i++) {
			struct ib_wc *wc = &priv->tx_wc[i];

			if (ipoib_wr_is_cm(wc->wr_id))
				ipoib_cm_tx_complete(priv, wc, budget);
			else
				ipoib_tx_complete(priv, wc, budget);
		}
		done += max(n, 0);
		if (n < want)
			break;
	}

	ipoib_tx_maybe_wake(priv);

	if (done < budget && napi_complete_done(napi, done) &&
	    ib_req_notify_cq(priv->send_cq, IB_CQ_NEXT_COMP |
			     IB_CQ_REPORT_MISSED_EVENTS) > 0)
		napi_schedule(napi);
	return done;
}

/* Bringing the QP up and down */

int ipoib_set_qkey(struct ipoib_dev_priv *priv, u32 qkey)
{
	struct ib_qp_attr attr = { .qkey = qkey };
	int ret;

	if (priv->qkey == qkey)
		return 0;
	ret = ib_modify_qp(priv->qp, &attr, IB_QP_QKEY);
	if (!ret)
		priv->qkey = qkey;
	return ret;
}

static int ipoib_qp_to(struct ipoib_dev_priv *priv, enum ib_qp_state state)
{
	struct ib_qp_attr attr = { .qp_state = state };
	int mask = IB_QP_STATE;

	switch (state) {
	case IB_QPS_INIT:
		attr.pkey_index = priv->pkey_index;
		attr.port_num = priv->port;
		attr.qkey = priv->qkey;
		mask |= IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY;
		break;
	case IB_QPS_RTS:
		attr.sq_psn = 0;
		mask |= IB_QP_SQ_PSN;
		break;
	default:
		break;
	}
	return ib_modify_qp(priv->qp, &attr, mask);
}

/*
 * Poll both CQs until every posted buffer has come back (the QP is in the
 * error state, so everything completes with a flush status).
 */
static void ipoib_drain(struct ipoib_dev_priv *priv)
{
	unsigned long deadline = jiffies + 5 * HZ;
	/* the fault: completions held back until the timeout */
	bool hold = ipoib_fault_inject(priv, IPOIB_FAULT_DRAIN);
	unsigned int i;

	for (;;) {
		bool rx_left = false;
		int n;

		while (!hold &&
		       (n = ib_poll_cq(priv->recv_cq, IPOIB_NUM_WC,
				       priv->rx_wc)) > 0)
			for (i = 0; i < n; i++) {
				struct ib_wc *wc = &priv->rx_wc[i];

				if (ipoib_wr_is_cm(wc->wr_id))
					ipoib_cm_rx_complete(priv, wc, true);
				else
					ipoib_rx_complete(priv, wc, true);
			}
		while (!hold &&
		       (n = ib_poll_cq(priv->send_cq, IPOIB_NUM_WC,
				       priv->tx_wc)) > 0)
			for (i = 0; i < n; i++) {
				struct ib_wc *wc = &priv->tx_wc[i];

				if (ipoib_wr_is_cm(wc->wr_id))
					ipoib_cm_tx_complete(priv, wc, 0);
				else
					ipoib_tx_complete(priv, wc, 0);
			}

		for (i = 0; i < priv->recvq_size; i++)
			rx_left |= !!priv->rx_ring[i].skb;
		if (!rx_left && priv->tx_head == priv->tx_tail &&
		    ipoib_cm_drained(priv))
			return;
		if (time_after(jiffies, deadline))
			break;
		usleep_range(500, 1000);
	}

	ipoib_warn(priv, "completions missing after stop; freeing buffers\n");
	for (i = 0; i < priv->recvq_size; i++)
		ipoib_rx_free(priv, i);
	while (priv->tx_tail != priv->tx_head) {
		struct ipoib_tx_buf *tx =
			&priv->tx_ring[priv->tx_tail & (priv->sendq_size - 1)];

		if (tx->skb) {
			ipoib_tx_unmap(priv, tx);
			dev_kfree_skb_any(tx->skb);
			tx->skb = NULL;
		}
		priv->tx_tail++;
	}
}

static int ipoib_ib_dev_open(struct ipoib_dev_priv *priv)
{
	unsigned int i;
	int ret;

	priv->rx_buf_size = ipoib_ud_buf_size(priv->max_ib_mtu);
	/* what completes from an earlier open (a drain that timed out) is stale */
	priv->wr_gen++;
	priv->rx_post_n = 0;
	WRITE_ONCE(priv->rx_refill, false);

	ret = ipoib_qp_to(priv, IB_QPS_INIT);
	if (ret) {
		ipoib_warn(priv, "QP to INIT failed: %d\n", ret);
		return ret;
	}
	for (i = 0; i < priv->recvq_size; i++) {
		ret = ipoib_rx_post(priv, i, GFP_KERNEL);
		if (ret) {
			ipoib_warn(priv, "cannot post receive %u: %d\n", i, ret);
			goto err_rx;
		}
	}
	ret = ipoib_qp_to(priv, IB_QPS_RTR);
	if (!ret)
		ret = ipoib_qp_to(priv, IB_QPS_RTS);
	if (ret) {
		ipoib_warn(priv, "QP to RTS failed: %d\n", ret);
		goto err_rx;
	}

	/*
	 * Connected mode (its connection table) is ready before the pollers
	 * may look at a completion.  A port that can do it and fails to set
	 * it up fails the open: half a connected mode is not left running.
	 */
	ret = ipoib_cm_dev_open(priv);
	if (ret)
		goto err_rx;

	napi_enable(&priv->recv_napi);
	napi_enable(&priv->send_napi);
	ib_req_notify_cq(priv->recv_cq, IB_CQ_NEXT_COMP);
	ib_req_notify_cq(priv->send_cq, IB_CQ_NEXT_COMP);
	/* completions that raced with the arming above */
	ipoib_napi_kick(&priv->recv_napi);
	return 0;

err_rx:
	ipoib_qp_to(priv, IB_QPS_ERR);
	ipoib_drain(priv);
	ipoib_qp_to(priv, IB_QPS_RESET);
	return ret;
}

static void ipoib_ib_dev_stop(struct ipoib_dev_priv *priv)
{
	napi_disable(&priv->recv_napi);
	napi_disable(&priv->send_napi);

	ipoib_cm_dev_stop(priv);
	/* the pollers and the REQ handler queue it; they are all done */
	cancel_delayed_work_sync(&priv->rx_refill_task);
	if (ipoib_qp_to(priv, IB_QPS_ERR))
		ipoib_warn(priv, "QP to ERR failed\n");
	ipoib_drain(priv);
	ipoib_cm_dev_stop_finish(priv);
	if (ipoib_qp_to(priv, IB_QPS_RESET))
		ipoib_warn(priv, "QP to RESET failed\n");

	/* the send queue is empty: every dead AH can go */
	cancel_delayed_work_sync(&priv->reap_task);
	ipoib_reap_dead_ahs(priv, true);
}

/*
 * Start the data path when the interface (and a child's parent) is
 * administratively up, the port is active and our P_Key is present.  Called
 * with rtnl held.
 */
int ipoib_ib_up(struct ipoib_dev_priv *priv)
{
	struct net_device *dev = priv->dev;
	enum ib_port_state state;
	int ret;

	ASSERT_RTNL();
	if (!test_bit(IPOIB_FLAG_ADMIN_UP, &priv->flags) ||
	    test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		return 0;
	/* a child waits for its parent; the parent's open starts it */
	if (priv->parent &&
	    !test_bit(IPOIB_FLAG_ADMIN_UP, &priv->parent->flags)) {
		ipoib_dbg(priv, "parent %s is down, waiting for it\n",
			  priv->parent->dev->name);
		return 0;
	}

	ret = priv->fabric->port_query(priv);
	if (ret)
		return ret;
	if (ib_get_cached_port_state(priv->ca, priv->port, &state) ||
	    state != IB_PORT_ACTIVE) {
		ipoib_dbg(priv, "port not active, waiting for a port event\n");
		return 0;
	}
	if (!test_bit(IPOIB_FLAG_PKEY_OK, &priv->flags)) {
		ipoib_dbg(priv, "P_Key 0x%04x absent, waiting\n", priv->pkey);
		return 0;
	}

	/*
	 * The port MTU may have shrunk while we were down.  The broadcast
	 * group's MTU stays the limit until the join tells us otherwise, as
	 * in-tree: a mode switch meanwhile must not offer more than the group
	 * carries.
	 */
	WRITE_ONCE(priv->mcast_mtu,
		   min(priv->mcast_mtu, ipoib_ud_mtu(priv->max_ib_mtu)));
	ipoib_update_max_mtu(priv);
	priv->admin_mtu = min(priv->admin_mtu, dev->max_mtu);
	if (dev->mtu > ipoib_mtu_limit(priv))
		ipoib_apply_mtu(priv);

	ret = ipoib_ib_dev_open(priv);
	if (ret)
		return ret;

	set_bit(IPOIB_FLAG_OPER_UP, &priv->flags);
	queue_delayed_work(priv->wq, &priv->reap_task, IPOIB_REAP_INTERVAL);
	ipoib_mcast_start(priv);
	if (test_bit(IPOIB_FLAG_ADMIN_UP, &priv->flags))
		netif_tx_wake_all_queues(dev);
	return 0;
}

/*
 * Stop the data path.  Called with rtnl held; clearing OPER_UP first lets
 * our own rtnl-waiting work give up, so flushing priv->wq cannot deadlock.
 * A work item of priv->wq itself passes @flush_wq false: the queue is
 * ordered, so nothing else of it runs meanwhile, and what is still queued
 * runs after the interface is up again.
 */
static void __ipoib_ib_down(struct ipoib_dev_priv *priv, bool flush_wq)
{
	ASSERT_RTNL();
	netif_carrier_off(priv->dev);
	if (!test_and_clear_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		return;

	netif_tx_disable(priv->dev);
	ipoib_mcast_stop(priv);
	if (flush_wq)
		flush_workqueue(priv->wq);
	/* a join completing meanwhile must not have re-armed the task */
	WARN_ON_ONCE(delayed_work_pending(&priv->mcast_join_task));
	ipoib_mcast_flush(priv);
	ipoib_flush_paths(priv);
	ipoib_ib_dev_stop(priv);
}

void ipoib_ib_down(struct ipoib_dev_priv *priv)
{
	__ipoib_ib_down(priv, true);
}

/*
 * On priv->wq: take the interface down and up again, as a transmit timeout
 * does in the in-tree driver; QP and CQs are kept, the QP goes through
 * RESET again.  rtnl is taken with ipoib_rtnl_lock_or_bail(), so whoever
 * takes the interface down meanwhile (and flushes this queue) wins, and
 * the reopen is then not needed.  priv->wq is ordered: none of its other
 * work runs now, so the down path must not flush it.
 */
static void ipoib_recover_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv =
		container_of(work, struct ipoib_dev_priv, recover_task);
	int ret;

	if (!ipoib_rtnl_lock_or_bail(priv))
		return;
	ipoib_warn(priv, "%s: reopening the interface\n",
		   READ_ONCE(priv->recover_why));
	WRITE_ONCE(priv->recoveries, priv->recoveries + 1);
	__ipoib_ib_down(priv, false);
	ret = ipoib_ib_up(priv);
	if (ret)
		ipoib_warn(priv, "reopen failed: %d\n", ret);
	rtnl_unlock();
}

/*
 * Ask for a reopen from priv->wq (any context): @why, a static string,
 * names the cause in the log line.
 */
void ipoib_schedule_recovery(struct ipoib_dev_priv *priv, const char *why)
{
	WRITE_ONCE(priv->recover_why, why);
	queue_work(priv->wq, &priv->recover_task);
}

/*
 * debugfs fault/transport_error: what a device does on a fatal error,
 * for tests.  "qp" moves our UD QP to the error state and raises
 * IB_EVENT_QP_FATAL through the QP's event handler; "send_cq" and
 * "recv_cq" raise IB_EVENT_CQ_ERR on that CQ.  rtnl held.
 */
int ipoib_force_error(struct ipoib_dev_priv *priv, const char *what)
{
	struct ib_event event = { .device = priv->ca };
	struct ib_cq *cq;
	int ret;

	ASSERT_RTNL();
	if (!test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		return -ENETDOWN;

	if (!strcmp(what, "qp")) {
		ret = ipoib_qp_to(priv, IB_QPS_ERR);
		if (ret)
			return ret;
		event.event = IB_EVENT_QP_FATAL;
		event.element.qp = priv->qp;
		if (priv->qp->event_handler)
			priv->qp->event_handler(&event, priv->qp->qp_context);
		return 0;
	}
	if (!strcmp(what, "send_cq"))
		cq = priv->send_cq;
	else if (!strcmp(what, "recv_cq"))
		cq = priv->recv_cq;
	else
		return -EINVAL;
	event.event = IB_EVENT_CQ_ERR;
	event.element.cq = cq;
	if (cq->event_handler)
		cq->event_handler(&event, cq->cq_context);
	return 0;
}

/*
 * Which poller serves which queue, for the netdev netlink family (queue-get,
 * napi-get): queue 0 each way, linked at ndo_init, once the core allocated
 * the queues, and unlinked at ndo_uninit.  rtnl held.
 */
void ipoib_ib_link_queues(struct ipoib_dev_priv *priv, bool link)
{
	struct net_device *dev = priv->dev;

	netif_queue_set_napi(dev, 0, NETDEV_QUEUE_TYPE_RX,
			     link ? &priv->recv_napi : NULL);
	netif_queue_set_napi(dev, 0, NETDEV_QUEUE_TYPE_TX,
			     link ? &priv->send_napi : NULL);
}

/* At allocation (ipoib_setup()): the pollers and the data path's work. */
void ipoib_ib_setup(struct ipoib_dev_priv *priv)
{
	struct net_device *dev = priv->dev;

	INIT_WORK(&priv->recover_task, ipoib_recover_work);
	INIT_DELAYED_WORK(&priv->rx_refill_task, ipoib_rx_refill_work);
	init_irq_work(&priv->recv_kick, ipoib_recv_kick);
	init_irq_work(&priv->send_kick, ipoib_send_kick);
	netif_napi_add_weight(dev, &priv->recv_napi, ipoib_recv_poll,
			      IPOIB_NAPI_WEIGHT);
	netif_napi_add_weight(dev, &priv->send_napi, ipoib_send_poll,
			      IPOIB_NAPI_WEIGHT);
}
