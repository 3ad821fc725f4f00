// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: multicast groups.
 *
 * The broadcast group is joined first; the carrier comes on once our QP is
 * attached to it.  Then full-member joins follow for the groups the stack
 * asks for (ndo_set_rx_mode), and send-only joins for groups we only send
 * to.  The join task, the restart task and the carrier-on task all run on
 * the interface's ordered workqueue, so they never run concurrently; the
 * fabric back end reports join results through ipoib_mcast_join_done().
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/rtnetlink.h>
#include <net/neighbour.h>
#include <net/arp.h>

#include "ipoib.h"

#define IPOIB_MCAST_QPN		0xffffffu
#define IPOIB_MAX_BACKOFF	(16 * HZ)

bool ipoib_mcast_is_broadcast(struct ipoib_dev_priv *priv,
			      const struct ipoib_mcast *mcast)
{
	return !memcmp(mcast->mgid.raw, priv->dev->broadcast + 4,
		       sizeof(mcast->mgid));
}

static struct ipoib_mcast *ipoib_mcast_alloc(struct ipoib_dev_priv *priv,
					     const union ib_gid *mgid,
					     bool sendonly)
{
	struct ipoib_mcast *mcast = kzalloc(sizeof(*mcast), GFP_ATOMIC);

	if (!mcast)
		return NULL;
	mcast->priv = priv;
	mcast->mgid = *mgid;
	mcast->created = jiffies;
	mcast->last_used = jiffies;
	mcast->backoff = HZ;
	RB_CLEAR_NODE(&mcast->rb);
	INIT_LIST_HEAD(&mcast->list);
	skb_queue_head_init(&mcast->pkt_queue);
	if (sendonly)
		set_bit(IPOIB_MCAST_SENDONLY, &mcast->flags);
	return mcast;
}

static struct ipoib_mcast *ipoib_mcast_find(struct ipoib_dev_priv *priv,
					    const union ib_gid *mgid)
{
	struct rb_node *n = priv->mcast_tree.rb_node;

	lockdep_assert_held(&priv->lock);
	while (n) {
		struct ipoib_mcast *mcast = rb_entry(n, struct ipoib_mcast, rb);
		int cmp = memcmp(mgid->raw, mcast->mgid.raw, sizeof(*mgid));

		if (cmp < 0)
			n = n->rb_left;
		else if (cmp > 0)
			n = n->rb_right;
		else
			return mcast;
	}
	return NULL;
}

static void ipoib_mcast_link(struct ipoib_dev_priv *priv,
			     struct ipoib_mcast *mcast)
{
	struct rb_node **n = &priv->mcast_tree.rb_node, *parent = NULL;

	lockdep_assert_held(&priv->lock);
	while (*n) {
		struct ipoib_mcast *m = rb_entry(*n, struct ipoib_mcast, rb);
		int cmp = memcmp(mcast->mgid.raw, m->mgid.raw,
				 sizeof(mcast->mgid));

		parent = *n;
		n = cmp < 0 ? &(*n)->rb_left : &(*n)->rb_right;
	}
	rb_link_node(&mcast->rb, parent, n);
	rb_insert_color(&mcast->rb, &priv->mcast_tree);
	list_add_tail(&mcast->list, &priv->mcast_list);
}

/* Unlink @mcast onto @dead; it is left and freed by ipoib_mcast_free_list(). */
static void ipoib_mcast_unlink(struct ipoib_dev_priv *priv,
			       struct ipoib_mcast *mcast, struct list_head *dead)
{
	lockdep_assert_held(&priv->lock);
	rb_erase(&mcast->rb, &priv->mcast_tree);
	RB_CLEAR_NODE(&mcast->rb);
	list_move_tail(&mcast->list, dead);
	if (test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags))
		priv->sendonly_count--;
	if (priv->broadcast == mcast)
		priv->broadcast = NULL;
}

/*
 * Leave and free unlinked groups, with rtnl held (leaving may need it).
 * The back end's leave returns only when no completion for the group runs
 * any more, so detaching after it is safe.
 */
static void ipoib_mcast_free_list(struct ipoib_dev_priv *priv,
				  struct list_head *dead)
{
	struct ipoib_mcast *mcast, *tmp;

	ASSERT_RTNL();
	list_for_each_entry_safe(mcast, tmp, dead, list) {
		list_del(&mcast->list);
		ipoib_dbg_mcast(priv, "leaving %pI6\n", mcast->mgid.raw);
		priv->fabric->mcast_leave(priv, mcast);
		if (test_and_clear_bit(IPOIB_MCAST_ATTACHED, &mcast->flags))
			ib_detach_mcast(priv->qp, &mcast->mgid,
					mcast->params.mlid);
		if (mcast->ah)
			ipoib_put_ah(mcast->ah);
		DEV_STATS_ADD(priv->dev, tx_dropped,
			      skb_queue_len(&mcast->pkt_queue));
		skb_queue_purge(&mcast->pkt_queue);
		kfree(mcast);
	}
}

/*
 * Arm the join task.  Testing IPOIB_FLAG_MCAST_RUN and arming are one step
 * under priv->lock, which ipoib_mcast_stop() takes to clear the bit: a
 * completion (SA callback, RoCE join work) racing with stop either armed
 * the task before stop cancels it, or sees the bit clear.
 */
static void __ipoib_mcast_kick(struct ipoib_dev_priv *priv,
			       unsigned long delay)
{
	lockdep_assert_held(&priv->lock);
	if (!test_bit(IPOIB_FLAG_MCAST_RUN, &priv->flags))
		return;
	if (delay)
		queue_delayed_work(priv->wq, &priv->mcast_join_task, delay);
	else
		mod_delayed_work(priv->wq, &priv->mcast_join_task, 0);
}

static void ipoib_mcast_kick(struct ipoib_dev_priv *priv, unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	__ipoib_mcast_kick(priv, delay);
	spin_unlock_irqrestore(&priv->lock, flags);
}

/*
 * The data path is up (an open, or a reopen after a flush, a ring resize or
 * a recovery): join the broadcast group, and the device's multicast list
 * again, which nothing else would replay (ndo_set_rx_mode only runs when the
 * list changes, and ipoib_ib_down() left every group).
 */
void ipoib_mcast_start(struct ipoib_dev_priv *priv)
{
	set_bit(IPOIB_FLAG_MCAST_RUN, &priv->flags);
	ipoib_mcast_kick(priv, 0);
	queue_work(priv->wq, &priv->mcast_restart_task);
}

/*
 * No join is started after this returns, and the join task is neither
 * queued nor armed (uninit relies on it before the workqueue goes).
 */
void ipoib_mcast_stop(struct ipoib_dev_priv *priv)
{
	spin_lock_irq(&priv->lock);
	clear_bit(IPOIB_FLAG_MCAST_RUN, &priv->flags);
	spin_unlock_irq(&priv->lock);
	cancel_delayed_work_sync(&priv->mcast_join_task);
}

/*
 * Leave every group.  Callers have stopped the join task and made sure no
 * restart task runs (ipoib_ib_down() flushed priv->wq, or uninit).
 */
void ipoib_mcast_flush(struct ipoib_dev_priv *priv)
{
	struct ipoib_mcast *mcast, *tmp;
	LIST_HEAD(dead);

	spin_lock_irq(&priv->lock);
	list_for_each_entry_safe(mcast, tmp, &priv->mcast_list, list)
		ipoib_mcast_unlink(priv, mcast, &dead);
	spin_unlock_irq(&priv->lock);

	ipoib_mcast_free_list(priv, &dead);
}

/* Leave and rejoin every group (SM change, client re-register). */
void ipoib_mcast_rejoin(struct ipoib_dev_priv *priv)
{
	set_bit(IPOIB_FLAG_MCAST_REJOIN, &priv->flags);
	if (test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		queue_work(priv->wq, &priv->mcast_restart_task);
}

/*
 * @hold_ms (fault injection, mcast_done) holds back the arming of the
 * retry, widening the window in which the interface may be stopped.
 */
static void ipoib_mcast_failed(struct ipoib_dev_priv *priv,
			       struct ipoib_mcast *mcast, int status,
			       unsigned int hold_ms)
{
	struct ipoib_ah *old;
	bool bcast = ipoib_mcast_is_broadcast(priv, mcast);
	unsigned long delay;
	LIST_HEAD(drop);

	if (test_and_clear_bit(IPOIB_MCAST_ATTACHED, &mcast->flags))
		ib_detach_mcast(priv->qp, &mcast->mgid, mcast->params.mlid);

	spin_lock_irq(&priv->lock);
	old = mcast->ah;
	mcast->ah = NULL;
	delay = mcast->backoff;
	mcast->retry_at = jiffies + delay;
	mcast->backoff = min_t(unsigned long, mcast->backoff * 2,
			       IPOIB_MAX_BACKOFF);
	DEV_STATS_ADD(priv->dev, tx_dropped, skb_queue_len(&mcast->pkt_queue));
	__skb_queue_purge(&mcast->pkt_queue);
	clear_bit(IPOIB_MCAST_JOINED, &mcast->flags);
	clear_bit(IPOIB_MCAST_BUSY, &mcast->flags);
	spin_unlock_irq(&priv->lock);

	if (old)
		ipoib_put_ah(old);
	if (bcast)
		netif_carrier_off(priv->dev);

	if (status != -ENETRESET)
		ipoib_dbg_mcast(priv, "join %pI6 failed (%d), retry in %u ms\n",
				mcast->mgid.raw, status,
				jiffies_to_msecs(delay));
	if (hold_ms)
		msleep(hold_ms);
	ipoib_mcast_kick(priv, status == -ENETRESET ? 0 : delay);
}

/*
 * Completion of a join, from the fabric back end, in process context.  It
 * may run more than once for one join (a group can be lost later).
 */
void ipoib_mcast_join_done(struct ipoib_mcast *mcast, int status,
			   const struct ipoib_mcast_params *params)
{
	struct ipoib_dev_priv *priv = mcast->priv;
	bool bcast = ipoib_mcast_is_broadcast(priv, mcast);
	struct rdma_ah_attr attr;
	struct sk_buff_head ready;
	struct ipoib_ah *ah, *old;
	unsigned int hold_ms;
	struct sk_buff *skb;
	int ret;

	/* fault injection: fail this completion, delay what it arms */
	ret = ipoib_fault_take(priv, IPOIB_FAULT_MCAST_DONE, &hold_ms);
	if (ret && !status)
		status = ret;
	if (status)
		goto fail;

	if (bcast) {
		unsigned int mtu = ipoib_ud_mtu(ib_mtu_enum_to_int(params->mtu));

		ret = ipoib_set_qkey(priv, params->qkey);
		if (ret) {
			ipoib_warn(priv, "cannot set Q_Key 0x%x: %d\n",
				   params->qkey, ret);
			status = ret;
			goto fail;
		}
		WRITE_ONCE(priv->mcast_mtu,
			   min_t(unsigned int, mtu,
				 ipoib_ud_mtu(priv->max_ib_mtu)));
	}

	attr = params->ah_attr;
	ah = ipoib_create_ah(priv, &attr);
	if (IS_ERR(ah)) {
		status = PTR_ERR(ah);
		goto fail;
	}

	if (!test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags) &&
	    !test_bit(IPOIB_MCAST_ATTACHED, &mcast->flags)) {
		ret = ib_attach_mcast(priv->qp, &mcast->mgid, params->mlid);
		if (ret) {
			ipoib_warn(priv, "cannot attach to %pI6: %d\n",
				   mcast->mgid.raw, ret);
			ipoib_put_ah(ah);
			status = ret;
			goto fail;
		}
		set_bit(IPOIB_MCAST_ATTACHED, &mcast->flags);
	}

	__skb_queue_head_init(&ready);
	spin_lock_irq(&priv->lock);
	mcast->params.qkey = params->qkey;
	mcast->params.mlid = params->mlid;
	mcast->params.mtu = params->mtu;
	old = mcast->ah;
	mcast->ah = ah;
	mcast->backoff = HZ;
	skb_queue_splice_tail_init(&mcast->pkt_queue, &ready);
	set_bit(IPOIB_MCAST_JOINED, &mcast->flags);
	clear_bit(IPOIB_MCAST_BUSY, &mcast->flags);
	spin_unlock_irq(&priv->lock);

	if (old)
		ipoib_put_ah(old);
	ipoib_dbg_mcast(priv, "joined %pI6%s\n", mcast->mgid.raw,
			test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags) ?
			" (send-only)" : "");

	while ((skb = __skb_dequeue(&ready))) {
		skb->dev = priv->dev;
		dev_queue_xmit(skb);
	}

	if (bcast && test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		queue_work(priv->wq, &priv->carrier_on_task);
	if (hold_ms)
		msleep(hold_ms);
	ipoib_mcast_kick(priv, 0);
	return;

fail:
	ipoib_mcast_failed(priv, mcast, status, hold_ms);
}

/* Start at most one join per run; completions kick the task again. */
static void ipoib_mcast_join_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv = container_of(work, struct ipoib_dev_priv,
						   mcast_join_task.work);
	struct ipoib_mcast *mcast, *next = NULL;
	unsigned long wait = 0;
	int ret;

	if (!test_bit(IPOIB_FLAG_MCAST_RUN, &priv->flags) ||
	    !test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		return;

	spin_lock_irq(&priv->lock);
	if (!priv->broadcast) {
		union ib_gid mgid;

		memcpy(mgid.raw, priv->dev->broadcast + 4, sizeof(mgid));
		priv->broadcast = ipoib_mcast_alloc(priv, &mgid, false);
		if (!priv->broadcast) {
			spin_unlock_irq(&priv->lock);
			ipoib_mcast_kick(priv, HZ);
			return;
		}
		ipoib_mcast_link(priv, priv->broadcast);
	}

	list_for_each_entry(mcast, &priv->mcast_list, list) {
		if (test_bit(IPOIB_MCAST_BUSY, &mcast->flags) ||
		    test_bit(IPOIB_MCAST_JOINED, &mcast->flags))
			continue;
		/* other groups wait until the broadcast group is joined */
		if (mcast != priv->broadcast &&
		    !test_bit(IPOIB_MCAST_JOINED, &priv->broadcast->flags))
			continue;
		if (time_before(jiffies, mcast->retry_at)) {
			unsigned long left = mcast->retry_at - jiffies;

			if (!wait || left < wait)
				wait = left;
			continue;
		}
		if (mcast == priv->broadcast || !next)
			next = mcast;
		if (mcast == priv->broadcast)
			break;
	}
	if (next)
		set_bit(IPOIB_MCAST_BUSY, &next->flags);
	spin_unlock_irq(&priv->lock);

	if (!next) {
		if (wait)
			ipoib_mcast_kick(priv, wait);
		return;
	}

	ipoib_dbg_mcast(priv, "joining %pI6\n", next->mgid.raw);
	ret = ipoib_fault_inject(priv, IPOIB_FAULT_MCAST_JOIN);
	if (!ret)
		ret = priv->fabric->mcast_join(priv, next);
	if (ret) {
		ipoib_mcast_failed(priv, next, ret, 0);
		return;
	}
	/* more groups may be waiting */
	ipoib_mcast_kick(priv, 0);
}

/* Sync our groups with the device's multicast list (ndo_set_rx_mode). */
static void ipoib_mcast_restart_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv = container_of(work, struct ipoib_dev_priv,
						   mcast_restart_task);
	struct net_device *dev = priv->dev;
	struct ipoib_mcast *mcast, *tmp;
	struct netdev_hw_addr *ha;
	union ib_gid *mgids;
	unsigned int i, n = 0;
	bool rejoin;
	LIST_HEAD(dead);

	/*
	 * Leaving a group may need rtnl (IPv6 membership on RoCE).  If the
	 * interface goes down meanwhile, ipoib_ib_down() flushes every group.
	 */
	if (!ipoib_rtnl_lock_or_bail(priv))
		return;
	rejoin = test_and_clear_bit(IPOIB_FLAG_MCAST_REJOIN, &priv->flags);

	netif_addr_lock_bh(dev);
	mgids = kmalloc_array(max(netdev_mc_count(dev), 1), sizeof(*mgids),
			      GFP_ATOMIC);
	if (mgids)
		netdev_for_each_mc_addr(ha, dev)
			if (ipoib_mcast_addr_ok(dev->broadcast, ha->addr))
				memcpy(mgids[n++].raw, ha->addr + 4,
				       sizeof(*mgids));
	netif_addr_unlock_bh(dev);
	if (!mgids) {
		/* try again later rather than dropping groups */
		if (rejoin)
			set_bit(IPOIB_FLAG_MCAST_REJOIN, &priv->flags);
		queue_work(priv->wq, &priv->mcast_restart_task);
		rtnl_unlock();
		return;
	}

	/*
	 * Groups user space joined itself are left to it (umcast).  Ask only
	 * about groups we do not hold as a full member already: the fabric
	 * cannot tell our own memberships from user space's.
	 */
	if (test_bit(IPOIB_FLAG_UMCAST, &priv->flags) &&
	    priv->fabric->mcast_user_joined) {
		for (i = 0; i < n; i++) {
			spin_lock_irq(&priv->lock);
			mcast = ipoib_mcast_find(priv, &mgids[i]);
			if (mcast && test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags))
				mcast = NULL;
			spin_unlock_irq(&priv->lock);
			/* groups only change on priv->wq, where we are */
			if (!mcast &&
			    priv->fabric->mcast_user_joined(priv, &mgids[i]))
				memset(&mgids[i], 0, sizeof(mgids[i]));
		}
	}

	if (rejoin)
		netif_carrier_off(dev);

	spin_lock_irq(&priv->lock);
	list_for_each_entry_safe(mcast, tmp, &priv->mcast_list, list) {
		clear_bit(IPOIB_MCAST_FOUND, &mcast->flags);
		if (rejoin)
			ipoib_mcast_unlink(priv, mcast, &dead);
	}
	for (i = 0; i < n; i++) {
		if (!mgids[i].raw[0])
			continue;
		mcast = ipoib_mcast_find(priv, &mgids[i]);
		if (mcast && !test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags)) {
			set_bit(IPOIB_MCAST_FOUND, &mcast->flags);
			continue;
		}
		/* a send-only group becomes a full member */
		if (mcast)
			ipoib_mcast_unlink(priv, mcast, &dead);
		mcast = ipoib_mcast_alloc(priv, &mgids[i], false);
		if (!mcast)
			continue;
		set_bit(IPOIB_MCAST_FOUND, &mcast->flags);
		ipoib_mcast_link(priv, mcast);
	}
	list_for_each_entry_safe(mcast, tmp, &priv->mcast_list, list)
		if (mcast != priv->broadcast &&
		    !test_bit(IPOIB_MCAST_FOUND, &mcast->flags) &&
		    !test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags))
			ipoib_mcast_unlink(priv, mcast, &dead);
	spin_unlock_irq(&priv->lock);

	kfree(mgids);
	ipoib_mcast_free_list(priv, &dead);
	rtnl_unlock();
	ipoib_mcast_kick(priv, 0);
}

/* Leave send-only groups nobody sent to for the ARP stale time (rtnl held). */
void ipoib_mcast_reap_sendonly(struct ipoib_dev_priv *priv)
{
	unsigned long stale = NEIGH_VAR(&arp_tbl.parms, GC_STALETIME);
	struct ipoib_mcast *mcast, *tmp;
	LIST_HEAD(dead);

	ASSERT_RTNL();
	spin_lock_irq(&priv->lock);
	list_for_each_entry_safe(mcast, tmp, &priv->mcast_list, list)
		if (test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags) &&
		    !test_bit(IPOIB_MCAST_BUSY, &mcast->flags) &&
		    time_after(jiffies, READ_ONCE(mcast->last_used) + stale))
			ipoib_mcast_unlink(priv, mcast, &dead);
	spin_unlock_irq(&priv->lock);

	ipoib_mcast_free_list(priv, &dead);
}

static void ipoib_carrier_on_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv = container_of(work, struct ipoib_dev_priv,
						   carrier_on_task);
	bool attached;

	if (!ipoib_rtnl_lock_or_bail(priv))
		return;

	spin_lock_irq(&priv->lock);
	attached = priv->broadcast &&
		   test_bit(IPOIB_MCAST_ATTACHED, &priv->broadcast->flags);
	spin_unlock_irq(&priv->lock);

	if (attached) {
		ipoib_apply_mtu(priv);
		if (!netif_carrier_ok(priv->dev))
			netdev_info(priv->dev, "carrier on (MTU %u)\n",
				    priv->dev->mtu);
		netif_carrier_on(priv->dev);
		/* a new hardware address (ring resize): tell the neighbours */
		if (test_and_clear_bit(IPOIB_FLAG_NOTIFY_PEERS, &priv->flags))
			__netdev_notify_peers(priv->dev);
	}
	rtnl_unlock();
}

/* Transmit to a multicast hardware address; @skb->data is the IPoIB header. */
void ipoib_mcast_send(struct ipoib_dev_priv *priv, u8 *daddr,
		      struct sk_buff *skb)
{
	const union ib_gid *mgid = (const union ib_gid *)(daddr + 4);
	struct ipoib_mcast *mcast;
	struct ipoib_ah *ah = NULL;
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	if (!priv->broadcast ||
	    !test_bit(IPOIB_MCAST_JOINED, &priv->broadcast->flags))
		goto drop;

	mcast = ipoib_mcast_find(priv, mgid);
	if (!mcast) {
		/* the destination may come from a forged ARP reply: bounded */
		if (priv->sendonly_count >= READ_ONCE(ipoib_max_sendonly)) {
			priv->tx_mcast_refused++;
			goto drop;
		}
		mcast = ipoib_mcast_alloc(priv, mgid, true);
		if (!mcast)
			goto drop;
		ipoib_mcast_link(priv, mcast);
		priv->sendonly_count++;
		__ipoib_mcast_kick(priv, 0);
	}
	WRITE_ONCE(mcast->last_used, jiffies);

	if (mcast->ah) {
		ah = mcast->ah;
		kref_get(&ah->ref);
	} else if (skb_queue_len(&mcast->pkt_queue) < IPOIB_MAX_PENDING) {
		skb_push(skb, IPOIB_PSEUDO_LEN);
		__skb_queue_tail(&mcast->pkt_queue, skb);
		skb = NULL;
	}
	spin_unlock_irqrestore(&priv->lock, flags);

	if (ah) {
		ipoib_send(priv, skb, ah, IPOIB_MCAST_QPN);
		ipoib_put_ah(ah);
	} else if (skb) {
		DEV_STATS_INC(priv->dev, tx_dropped);
		dev_kfree_skb_any(skb);
	}
	return;

drop:
	spin_unlock_irqrestore(&priv->lock, flags);
	DEV_STATS_INC(priv->dev, tx_dropped);
	dev_kfree_skb_any(skb);
}

/* At allocation (ipoib_setup()): empty tables and the multicast work. */
void ipoib_mcast_init(struct ipoib_dev_priv *priv)
{
	priv->mcast_tree = RB_ROOT;
	INIT_LIST_HEAD(&priv->mcast_list);
	INIT_DELAYED_WORK(&priv->mcast_join_task, ipoib_mcast_join_work);
	INIT_WORK(&priv->mcast_restart_task, ipoib_mcast_restart_work);
	INIT_WORK(&priv->carrier_on_task, ipoib_carrier_on_work);
}
