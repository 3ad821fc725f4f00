// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the net_device: allocation and setup, ndo_init/ndo_uninit
 * (everything an interface owns), open and stop, transmit, header_ops,
 * features, MTU and mode.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

#include "ipoib.h"

#define IPOIB_HWADDR_CM		0x80	/* first address byte: peer does CM */

/*
 * Take rtnl from a work item of @priv, giving up once IPOIB_FLAG_OPER_UP is
 * clear: whoever clears it may be holding rtnl while it waits for us.
 */
bool ipoib_rtnl_lock_or_bail(struct ipoib_dev_priv *priv)
{
	while (!rtnl_trylock()) {
		if (!test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
			return false;
		schedule_timeout_uninterruptible(1);
	}
	if (!test_bit(IPOIB_FLAG_OPER_UP, &priv->flags)) {
		rtnl_unlock();
		return false;
	}
	return true;
}

/* Transmit */

/* Connected mode is wanted for this destination. */
static bool ipoib_cm_wanted(struct ipoib_dev_priv *priv, const u8 *daddr)
{
	return ipoib_cm_admin(priv) && (daddr[0] & IPOIB_HWADDR_CM) &&
	       priv->cm.supported;
}

/* Unicast over UD; in connected mode a packet too big for it bounces. */
static void ipoib_ud_unicast(struct ipoib_dev_priv *priv, struct sk_buff *skb,
			     struct ipoib_ah *ah, const u8 *daddr)
{
	unsigned int mtu = ipoib_ud_mtu(priv->max_ib_mtu);

	if (ipoib_cm_admin(priv)) {
		if (skb->len > mtu + IPOIB_ENCAP_LEN) {
			ipoib_cm_too_big(priv, skb, mtu);
			return;
		}
		if (daddr[0] & IPOIB_HWADDR_CM)
			priv->cm.tx_ud_fallback++;
	}
	ipoib_send(priv, skb, ah, ipoib_hwaddr_qpn(daddr));
}

static void ipoib_unicast_slow(struct ipoib_dev_priv *priv,
			       struct sk_buff *skb, const u8 *daddr)
{
	struct ipoib_cm_conn *conn = NULL;
	struct ipoib_neigh *neigh;
	struct ipoib_path *path;
	struct ipoib_ah *ah = NULL;
	unsigned long flags;
	bool queued;

	spin_lock_irqsave(&priv->lock, flags);
	neigh = rhashtable_lookup_fast(&priv->neigh_table, daddr,
				       ipoib_neigh_params);
	if (!neigh) {
		if (priv->neigh_count >= READ_ONCE(ipoib_max_neighs)) {
			priv->tx_neigh_refused++;
			goto drop;
		}
		path = ipoib_path_get(priv, ipoib_hwaddr_gid(daddr));
		if (path)
			neigh = ipoib_neigh_create(priv, daddr, path);
		if (!neigh)
			goto drop;
	}
	path = neigh->path;
	ah = rcu_dereference_protected(neigh->ah, lockdep_is_held(&priv->lock));
	if (ah) {
		/* RCU covers a connection returned until we sent on it */
		rcu_read_lock();
		if (ipoib_cm_wanted(priv, daddr)) {
			WRITE_ONCE(neigh->alive, jiffies);
			conn = ipoib_cm_xmit_locked(priv, neigh, skb, &queued);
			if (queued) {
				spin_unlock_irqrestore(&priv->lock, flags);
				rcu_read_unlock();
				return;
			}
		}
		kref_get(&ah->ref);
		spin_unlock_irqrestore(&priv->lock, flags);
		goto send;
	}
	if (skb_queue_len(&neigh->queue) >= IPOIB_MAX_PENDING)
		goto drop;
	skb_push(skb, IPOIB_PSEUDO_LEN);
	__skb_queue_tail(&neigh->queue, skb);
	ipoib_path_start(priv, path);
	spin_unlock_irqrestore(&priv->lock, flags);
	return;

drop:
	priv->tx_no_path++;
	spin_unlock_irqrestore(&priv->lock, flags);
	DEV_STATS_INC(priv->dev, tx_dropped);
	dev_kfree_skb_any(skb);
	return;

send:
	if (conn)
		ipoib_cm_send(priv, skb, conn);
	else
		ipoib_ud_unicast(priv, skb, ah, daddr);
	rcu_read_unlock();
	ipoib_put_ah(ah);
}

static netdev_tx_t ipoib_start_xmit(struct sk_buff *skb,
				    struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	struct ipoib_cm_conn *conn;
	struct ipoib_neigh *neigh;
	struct ipoib_ah *ah;
	u8 daddr[IPOIB_ALEN];

	if (unlikely(skb->len < IPOIB_HARD_LEN ||
		     !test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))) {
		DEV_STATS_INC(dev, tx_dropped);
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}

	/*
	 * From here the skb is sent, or held (bounded per destination) until
	 * its path, group or connection is ready, which a peer may never
	 * answer: it no longer counts against its socket, so no sender blocks
	 * on it and TCP's small-queue limit does not wait for late completions.
	 */
	skb_orphan(skb);
	memcpy(daddr, skb->data, IPOIB_ALEN);
	skb_pull(skb, IPOIB_PSEUDO_LEN);

	if (ipoib_hwaddr_is_mcast(daddr)) {
		ipoib_mcast_send(priv, daddr, skb);
		return NETDEV_TX_OK;
	}

	rcu_read_lock();
	neigh = rhashtable_lookup(&priv->neigh_table, daddr,
				  ipoib_neigh_params);
	ah = neigh ? rcu_dereference(neigh->ah) : NULL;
	if (likely(ah)) {
		if (time_after(jiffies, READ_ONCE(neigh->alive)))
			WRITE_ONCE(neigh->alive, jiffies);
		if (!ipoib_cm_wanted(priv, daddr)) {
			ipoib_ud_unicast(priv, skb, ah, daddr);
			rcu_read_unlock();
			return NETDEV_TX_OK;
		}
		conn = rcu_dereference(neigh->cm);
		if (conn && test_bit(IPOIB_CM_CONNECTED, &conn->flags)) {
			ipoib_cm_send(priv, skb, conn);
			rcu_read_unlock();
			return NETDEV_TX_OK;
		}
		/* connecting, backing off, or no connection yet */
	}
	rcu_read_unlock();

	ipoib_unicast_slow(priv, skb, daddr);
	return NETDEV_TX_OK;
}

/*
 * The watchdog: the queue has been stopped for a while.  Completions may only
 * be waiting for a poll, so poll.  If the UD send ring has not moved since
 * the previous timeout either, the device lost them (rxe on 6.1 has been
 * seen to): reopen, as in-tree does after a timeout.  Connected mode stops
 * the queue for its own connections' rings; this ring is empty then, and
 * those connections time out on their own.
 */
static void ipoib_tx_timeout(struct net_device *dev, unsigned int txqueue)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	unsigned int tail = READ_ONCE(priv->tx_tail);
	unsigned int pending = READ_ONCE(priv->tx_head) - tail;

	ipoib_warn(priv, "transmit timeout: %u sends outstanding\n", pending);
	if (pending && priv->tx_timeout_pending &&
	    tail == priv->tx_timeout_tail)
		ipoib_schedule_recovery(priv, "transmit timeout");
	priv->tx_timeout_pending = pending;
	priv->tx_timeout_tail = tail;
	napi_schedule(&priv->send_napi);
}

/*
 * header_ops->create: push the encapsulation header, then the destination
 * address as a pseudo header that ipoib_start_xmit() takes off again.
 */
static int ipoib_hard_header(struct sk_buff *skb, struct net_device *dev,
			     unsigned short type, const void *daddr,
			     const void *saddr, unsigned int len)
{
	struct ipoib_pseudo_header *phdr;
	struct ipoib_header *hdr;

	hdr = skb_push(skb, sizeof(*hdr));
	hdr->proto = htons(type);
	hdr->reserved = 0;

	phdr = skb_push(skb, sizeof(*phdr));
	if (daddr)
		memcpy(phdr->hwaddr, daddr, IPOIB_ALEN);
	else
		memset(phdr->hwaddr, 0, IPOIB_ALEN);

	return IPOIB_HARD_LEN;
}

static const struct header_ops ipoib_header_ops = {
	.create = ipoib_hard_header,
};

/* net_device operations */

static void ipoib_set_dev_features(struct ipoib_dev_priv *priv)
{
	struct net_device *dev = priv->dev;

	dev->hw_features = 0;
	dev->features = NETIF_F_VLAN_CHALLENGED | NETIF_F_HIGHDMA;
	/* no UD checksum offload here, so SG is only for the stack's benefit */
	if (priv->max_send_sge > 1)
		dev->hw_features |= NETIF_F_SG;
	dev->features |= dev->hw_features;
}

/*
 * After a new QP (ethtool -G): only scatter-gather depends on it.  Every
 * other feature, the stack's software ones (GRO, GSO) included, stays as
 * the user left it.  rtnl held.
 */
void ipoib_update_sg_feature(struct ipoib_dev_priv *priv)
{
	struct net_device *dev = priv->dev;
	bool sg = priv->max_send_sge > 1;

	if (sg == !!(dev->hw_features & NETIF_F_SG))
		return;
	if (sg) {
		dev->hw_features |= NETIF_F_SG;
		dev->wanted_features |= NETIF_F_SG;
	} else {
		dev->hw_features &= ~NETIF_F_SG;
		dev->wanted_features &= ~NETIF_F_SG;
		dev->features &= ~NETIF_F_SG;
	}
	netdev_update_features(dev);
}

/*
 * The largest MTU the mode allows: a connection's in connected mode, the
 * broadcast group's (within the port's) in datagram mode.
 */
unsigned int ipoib_mtu_limit(struct ipoib_dev_priv *priv)
{
	return ipoib_cm_admin(priv) ? IPOIB_CM_MTU : READ_ONCE(priv->mcast_mtu);
}

void ipoib_update_max_mtu(struct ipoib_dev_priv *priv)
{
	priv->dev->max_mtu = ipoib_cm_admin(priv) ? IPOIB_CM_MTU :
			     ipoib_ud_mtu(priv->max_ib_mtu);
}

/*
 * MTU: the smaller of what the user asked for and what the mode, the
 * broadcast group and the port allow.  Called with rtnl held.
 */
int ipoib_apply_mtu(struct ipoib_dev_priv *priv)
{
	struct net_device *dev = priv->dev;
	unsigned int mtu = ipoib_effective_mtu(priv->admin_mtu,
					       ipoib_mtu_limit(priv));
	int ret;

	ASSERT_RTNL();
	if (dev->mtu == mtu)
		return 0;
	ret = ipoib_fault_inject(priv, IPOIB_FAULT_MTU_APPLY);
	if (ret)
		goto out;
	set_bit(IPOIB_FLAG_MTU_SYNC, &priv->flags);
	ret = dev_set_mtu(dev, mtu);
	clear_bit(IPOIB_FLAG_MTU_SYNC, &priv->flags);
out:
	if (ret)
		ipoib_warn(priv, "cannot set MTU %u: %d\n", mtu, ret);
	return ret;
}

static int ipoib_change_mtu(struct net_device *dev, int new_mtu)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	/* the core already refused anything above dev->max_mtu */
	if (!test_bit(IPOIB_FLAG_MTU_SYNC, &priv->flags)) {
		priv->admin_mtu = new_mtu;
		new_mtu = min_t(unsigned int, new_mtu, ipoib_mtu_limit(priv));
	}
	WRITE_ONCE(dev->mtu, new_mtu);
	return 0;
}

static int ipoib_open(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	int ret;

	/*
	 * A child opens whatever its parent's state, as in-tree and as VLANs
	 * do: with the parent down it waits without carrier (operstate
	 * LOWERLAYERDOWN) and ipoib_ib_up() starts it when the parent opens.
	 */
	ipoib_dbg(priv, "bringing up interface\n");
	set_bit(IPOIB_FLAG_ADMIN_UP, &priv->flags);
	netif_carrier_off(dev);

	/* without an active port we stay down until a port event */
	ret = ipoib_ib_up(priv);
	if (ret) {
		clear_bit(IPOIB_FLAG_ADMIN_UP, &priv->flags);
		return ret;
	}
	netif_start_queue(dev);

	if (!priv->parent)
		ipoib_children_set_up(priv, true);
	return 0;
}

static int ipoib_stop(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	ipoib_dbg(priv, "stopping interface\n");
	if (!priv->parent)
		ipoib_children_set_up(priv, false);
	clear_bit(IPOIB_FLAG_ADMIN_UP, &priv->flags);
	netif_tx_disable(dev);
	ipoib_ib_down(priv);
	return 0;
}

/*
 * sysfs mode and IFLA_IPOIB_MODE.  Connected mode raises the MTU to what a
 * connection carries; datagram mode takes connections down and brings the
 * MTU back within the broadcast group's.  rtnl held.
 */
int ipoib_set_mode(struct ipoib_dev_priv *priv, bool connected,
		   struct netlink_ext_ack *extack)
{
	struct net_device *dev = priv->dev;
	unsigned int old_admin_mtu = priv->admin_mtu;
	int ret;

	ASSERT_RTNL();
	if (connected == ipoib_cm_admin(priv))
		return 0;
	if (connected && !priv->cm.supported) {
		NL_SET_ERR_MSG(extack, "the port cannot do connected mode");
		return -EOPNOTSUPP;
	}

	if (connected) {
		set_bit(IPOIB_FLAG_ADMIN_CM, &priv->flags);
		ipoib_update_max_mtu(priv);
		priv->admin_mtu = IPOIB_CM_MTU;
	} else {
		clear_bit(IPOIB_FLAG_ADMIN_CM, &priv->flags);
		ipoib_update_max_mtu(priv);
		priv->admin_mtu = min(priv->admin_mtu, dev->max_mtu);
	}
	ret = ipoib_apply_mtu(priv);
	if (ret) {
		/* the MTU did not change: neither does the mode */
		change_bit(IPOIB_FLAG_ADMIN_CM, &priv->flags);
		ipoib_update_max_mtu(priv);
		priv->admin_mtu = old_admin_mtu;
		NL_SET_ERR_MSG(extack,
			       "cannot apply the new mode's MTU; mode unchanged");
		return ret;
	}

	if (connected)
		netdev_info(dev, "connected mode: multicast larger than %u bytes is dropped\n",
			    READ_ONCE(priv->mcast_mtu));
	else
		ipoib_cm_flush_tx(priv);
	return 0;
}

static void ipoib_set_rx_mode(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	if (test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		queue_work(priv->wq, &priv->mcast_restart_task);
}

void ipoib_set_dev_addr(struct ipoib_dev_priv *priv)
{
	u8 addr[IPOIB_ALEN];

	ipoib_hwaddr_build(addr, priv->qp->qp_num, &priv->local_gid);
	/* we accept connections in either mode (RFC 4755 section 3) */
	if (priv->cm.supported)
		addr[0] |= IPOIB_HWADDR_CM;
	dev_addr_set(priv->dev, addr);
}

/*
 * ndo_init: everything the interface owns is created here, its workqueue
 * first, and destroyed in ipoib_dev_uninit() in reverse order.
 */
static int ipoib_dev_init(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	int ret;

	priv->wq = ipoib_wq_create(dev);
	if (!priv->wq)
		return -ENOMEM;

	ret = rhashtable_init(&priv->neigh_table, &ipoib_neigh_params);
	if (ret)
		goto err_wq;

	ret = priv->fabric->init ? priv->fabric->init(priv) : 0;
	if (ret)
		goto err_neigh;

	ret = priv->fabric->port_query(priv);
	if (ret) {
		ipoib_warn(priv, "port %u query failed: %d\n", priv->port, ret);
		goto err_fabric;
	}

	ret = ipoib_transport_init(priv, ipoib_recvq_size, ipoib_sendq_size);
	if (ret)
		goto err_fabric;

	/* a link created in connected mode (netlink) */
	if (ipoib_cm_admin(priv) && !priv->cm.supported) {
		ipoib_warn(priv, "the port cannot do connected mode\n");
		ret = -EOPNOTSUPP;
		goto err_transport;
	}
	priv->mcast_mtu = ipoib_ud_mtu(priv->max_ib_mtu);
	ipoib_update_max_mtu(priv);
	priv->admin_mtu = dev->max_mtu;
	dev->mtu = dev->max_mtu;

	ipoib_set_dev_addr(priv);
	ipoib_build_broadcast(dev->broadcast, priv->pkey);
	ipoib_set_dev_features(priv);

	ipoib_ib_link_queues(priv, true);
	ipoib_flush_start(priv);
	set_bit(IPOIB_FLAG_INITIALIZED, &priv->flags);
	return 0;

err_transport:
	ipoib_transport_cleanup(priv);
err_fabric:
	if (priv->fabric->cleanup)
		priv->fabric->cleanup(priv);
err_neigh:
	rhashtable_destroy(&priv->neigh_table);
err_wq:
	ipoib_wq_destroy(priv);
	return ret;
}

static void ipoib_dev_uninit(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	ASSERT_RTNL();

	/* no more flushes; clears IPOIB_FLAG_INITIALIZED */
	ipoib_flush_stop(priv);
	ipoib_ib_link_queues(priv, false);

	/* ndo_stop ran already; make sure nothing is left behind */
	ipoib_ib_down(priv);
	ipoib_mcast_stop(priv);
	ipoib_mcast_flush(priv);
	ipoib_flush_paths(priv);
	cancel_delayed_work_sync(&priv->reap_task);
	ipoib_reap_dead_ahs(priv, true);

	ipoib_transport_cleanup(priv);
	/* no more events; a reopen still queued gives up (OPER_UP is clear) */
	cancel_work_sync(&priv->recover_task);
	if (priv->fabric->cleanup)
		priv->fabric->cleanup(priv);
	rhashtable_destroy(&priv->neigh_table);
	ipoib_wq_destroy(priv);

	if (!list_empty(&priv->child_list))
		ipoib_child_unlink(priv);
}

static int ipoib_get_iflink(const struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	/* a child points at its parent; a parent at itself */
	if (priv->parent)
		return priv->parent->dev->ifindex;
	return dev->ifindex;
}

static const struct net_device_ops ipoib_netdev_ops = {
	.ndo_init		= ipoib_dev_init,
	.ndo_uninit		= ipoib_dev_uninit,
	.ndo_open		= ipoib_open,
	.ndo_stop		= ipoib_stop,
	.ndo_start_xmit		= ipoib_start_xmit,
	.ndo_tx_timeout		= ipoib_tx_timeout,
	.ndo_change_mtu		= ipoib_change_mtu,
	.ndo_set_rx_mode	= ipoib_set_rx_mode,
	.ndo_get_iflink		= ipoib_get_iflink,
};

bool ipoib_is_ipoib_dev(const struct net_device *dev)
{
	return dev->netdev_ops == &ipoib_netdev_ops;
}

void ipoib_setup(struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	dev->netdev_ops = &ipoib_netdev_ops;
	dev->header_ops = &ipoib_header_ops;
	dev->ethtool_ops = &ipoib_ethtool_ops;
	ipoib_stats_setup(dev);
	dev->rtnl_link_ops = &ipoib_link_ops;
	dev->sysfs_groups[0] = &ipoib_attr_group;
	/* freed by the core once unregistered, whoever unregisters it */
	dev->needs_free_netdev = true;

	dev->type = ARPHRD_INFINIBAND;
	dev->hard_header_len = IPOIB_HARD_LEN;
	dev->addr_len = IPOIB_ALEN;
	dev->min_mtu = IPV4_MIN_MTU;
	dev->tx_queue_len = ipoib_sendq_size * 2;
	dev->watchdog_timeo = 5 * HZ;
	dev->flags = IFF_BROADCAST | IFF_MULTICAST;
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	netif_keep_dst(dev);

	priv->dev = dev;
	spin_lock_init(&priv->lock);
	mutex_init(&priv->child_lock);
	spin_lock_init(&priv->child_list_lock);
	INIT_LIST_HEAD(&priv->children);
	INIT_LIST_HEAD(&priv->child_list);
	INIT_LIST_HEAD(&priv->ca_list);

	ipoib_mcast_init(priv);
	ipoib_cm_setup(priv);
	ipoib_path_setup(priv);
	ipoib_ib_setup(priv);
	ipoib_flush_setup(priv);
}

struct net_device *ipoib_alloc_netdev(const char *name)
{
	return alloc_netdev(sizeof(struct ipoib_dev_priv), name,
			    NET_NAME_UNKNOWN, ipoib_setup);
}

/* Allocate (not register) an IPoIB net_device for @ca/@port. */
struct net_device *ipoib_create_netdev(struct ib_device *ca, u32 port,
				       const char *name, u16 pkey,
				       struct ipoib_dev_priv *parent)
{
	struct ipoib_dev_priv *priv;
	struct net_device *dev;

	dev = ipoib_alloc_netdev(name);
	if (!dev)
		return ERR_PTR(-ENOMEM);

	priv = ipoib_priv(dev);
	priv->ca = ca;
	priv->port = port;
	priv->fabric = rdma_protocol_ib(ca, port) ? &ipoib_fabric_ib_ops :
						    &ipoib_fabric_roce_ops;
	priv->pkey = pkey;
	priv->parent = parent;
	if (parent)
		set_bit(IPOIB_FLAG_CHILD, &priv->flags);
	SET_NETDEV_DEV(dev, ca->dev.parent);
	dev->dev_port = port - 1;
	return dev;
}
