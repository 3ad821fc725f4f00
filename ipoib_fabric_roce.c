// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the RoCE fabric back end.
 *
 * A RoCE port has no subnet manager, so nothing answers SA queries.  Paths
 * are resolved locally: the peer's GID in its hardware address is its
 * default (link-local, EUI-64) GID, from which its MAC follows.  A
 * multicast "join" attaches to the MGID, which on RoCE v2 is an IPv6
 * multicast address: the underlying net_device must be a member of that
 * IPv6 group, or the IP layer drops the packets before the RoCE stack
 * sees them.  Completions are delivered from priv->wq, asynchronously as
 * the SA would, so the shared state machines run the same on both fabrics.
 *
 * Every queue pair is in the default partition (P_Key 0xffff); a child's
 * P_Key only separates its broadcast domain through the MGID.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <net/addrconf.h>
#include <net/if_inet6.h>
#include <rdma/ib_addr.h>
#include <rdma/ib_cache.h>

#include "ipoib.h"

#define IPOIB_DEFAULT_QKEY	0x00000b1b

#define IPOIB_ROCE_HOP_LIMIT	64
/*
 * 4.096 us * 2^18, about a second: the RDMA CM assumes a quarter, which
 * software RoCE under load exceeds, and each overrun costs a retransmission
 */
#define IPOIB_ROCE_PACKET_LIFE	18

/* The net_device carrying our GID, with a reference, or NULL. */
static struct net_device *ipoib_roce_ndev(struct ipoib_dev_priv *priv);

/*
 * Port facts without ib_query_port(): RoCE drivers take rtnl in it (for the
 * link speed), and we are often called with rtnl held.  The MTU follows
 * from the Ethernet MTU, as for every RoCE consumer; the GID and P_Key
 * come from the core's caches.
 */
static int ipoib_roce_port_query(struct ipoib_dev_priv *priv)
{
	struct net_device *ndev;
	u16 pkey;
	int ret;

	priv->local_lid = 0;
	priv->gid_index = 0;
	ret = rdma_query_gid(priv->ca, priv->port, priv->gid_index,
			     &priv->local_gid);
	if (ret)
		return ret;

	ndev = ipoib_roce_ndev(priv);
	if (!ndev)
		return -ENODEV;
	priv->max_ib_mtu = ib_mtu_enum_to_int(iboe_get_mtu(READ_ONCE(ndev->mtu)));
	dev_put(ndev);

	/* one P_Key, the default one, at index 0 */
	ret = ib_get_cached_pkey(priv->ca, priv->port, 0, &pkey);
	if (ret)
		return ret;
	if (!test_bit(IPOIB_FLAG_CHILD, &priv->flags))
		priv->pkey = pkey | 0x8000;
	priv->pkey_index = 0;
	set_bit(IPOIB_FLAG_PKEY_OK, &priv->flags);
	return 0;
}

/* The net_device carrying our GID, with a reference, or NULL. */
static struct net_device *ipoib_roce_ndev(struct ipoib_dev_priv *priv)
{
	const struct ib_gid_attr *attr;
	struct net_device *ndev;

	attr = rdma_get_gid_attr(priv->ca, priv->port, priv->gid_index);
	if (IS_ERR(attr))
		return NULL;
	rcu_read_lock();
	ndev = rdma_read_gid_attr_ndev_rcu(attr);
	if (IS_ERR(ndev))
		ndev = NULL;
	else
		dev_hold(ndev);
	rcu_read_unlock();
	rdma_put_gid_attr(attr);
	return ndev;
}

static void ipoib_roce_ah_attr(struct ipoib_dev_priv *priv,
			       struct rdma_ah_attr *attr,
			       union ib_gid *dgid, u8 hop_limit)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = rdma_ah_find_type(priv->ca, priv->port);
	rdma_ah_set_port_num(attr, priv->port);
	rdma_ah_set_grh(attr, dgid, 0, priv->gid_index, hop_limit, 0);
}

static bool ipoib_gid_is_link_local(const union ib_gid *gid)
{
	return gid->global.subnet_prefix == cpu_to_be64(0xfe80000000000000ULL);
}

/* Paths */

static void ipoib_roce_path_work(struct work_struct *work)
{
	struct ipoib_path *path = container_of(work, struct ipoib_path,
					       fab.roce.work);
	struct ipoib_dev_priv *priv = path->priv;
	struct rdma_ah_attr attr;
	int status = 0;

	/*
	 * Our hardware addresses carry the default GID, fe80::EUI-64(MAC);
	 * any other GID would need an IP neighbour lookup we do not do.
	 */
	if (!ipoib_gid_is_link_local(&path->dgid)) {
		status = -EHOSTUNREACH;
	} else {
		ipoib_roce_ah_attr(priv, &attr, &path->dgid,
				   IPOIB_ROCE_HOP_LIMIT);
		rdma_get_ll_mac((struct in6_addr *)path->dgid.raw,
				attr.roce.dmac);
	}
	ipoib_path_resolved(path, status, status ? NULL : &attr);
	complete(&path->done);
}

static int ipoib_roce_path_resolve(struct ipoib_dev_priv *priv,
				   struct ipoib_path *path)
{
	lockdep_assert_held(&priv->lock);

	/* the path is zeroed when allocated: set the work up on first use */
	if (!path->fab.roce.work.func)
		INIT_WORK(&path->fab.roce.work, ipoib_roce_path_work);
	reinit_completion(&path->done);
	if (!queue_work(priv->wq, &path->fab.roce.work))
		complete(&path->done);
	return 0;
}

static void ipoib_roce_path_cancel(struct ipoib_dev_priv *priv,
				   struct ipoib_path *path)
{
	if (path->fab.roce.work.func &&
	    cancel_work_sync(&path->fab.roce.work))
		complete(&path->done);
}

/*
 * The primary path of a connection request.  Nothing answers path queries
 * here, so the record is built the way the RDMA CM builds one for RoCE:
 * resolved already, with the peer's MAC, in the default partition.
 */
static int ipoib_roce_cm_path(struct ipoib_dev_priv *priv,
			      struct ipoib_path *path, struct sa_path_rec *rec,
			      const struct ib_gid_attr **sgid_attr)
{
	const struct ib_gid_attr *attr;
	u8 dmac[ETH_ALEN];

	lockdep_assert_held(&priv->lock);
	if (!ipoib_gid_is_link_local(&path->dgid))
		return -EHOSTUNREACH;
	attr = rdma_get_gid_attr(priv->ca, priv->port, priv->gid_index);
	if (IS_ERR(attr))
		return PTR_ERR(attr);

	memset(rec, 0, sizeof(*rec));
	rec->rec_type = sa_conv_gid_to_pathrec_type(attr->gid_type);
	rec->sgid = attr->gid;
	rec->dgid = path->dgid;
	rec->hop_limit = IPOIB_ROCE_HOP_LIMIT;
	rec->reversible = 1;
	rec->pkey = cpu_to_be16(0xffff);
	rec->mtu_selector = IB_SA_EQ;
	rec->mtu = ib_mtu_int_to_enum(priv->max_ib_mtu);
	rec->rate_selector = IB_SA_EQ;
	rec->rate = IB_RATE_PORT_CURRENT;
	rec->packet_life_time_selector = IB_SA_EQ;
	rec->packet_life_time = IPOIB_ROCE_PACKET_LIFE;
	rdma_get_ll_mac((struct in6_addr *)path->dgid.raw, dmac);
	sa_path_set_dmac(rec, dmac);
	rec->roce.route_resolved = true;
	*sgid_attr = attr;
	return 0;
}

/* Multicast */

static void ipoib_roce_join_work(struct work_struct *work)
{
	struct ipoib_mcast *mcast = container_of(work, struct ipoib_mcast,
						 fab.roce.work);
	struct ipoib_dev_priv *priv = mcast->priv;
	struct in6_addr *addr = (struct in6_addr *)mcast->mgid.raw;
	struct ipoib_mcast_params params = {};
	int ret;

	/* a send-only member receives nothing: no IPv6 membership needed */
	if (!test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags) &&
	    !mcast->fab.roce.ndev) {
		struct net_device *ndev = ipoib_roce_ndev(priv);

		if (!ndev) {
			ipoib_mcast_join_done(mcast, -ENODEV, NULL);
			return;
		}
		ret = ipv6_dev_mc_inc(ndev, addr);
		if (ret) {
			dev_put(ndev);
			ipoib_mcast_join_done(mcast, ret, NULL);
			return;
		}
		mcast->fab.roce.ndev = ndev;
	}

	params.qkey = IPOIB_DEFAULT_QKEY;
	params.mlid = 0;
	params.mtu = ib_mtu_int_to_enum(priv->max_ib_mtu);
	/* link-scope groups (ff12::) never leave the subnet */
	ipoib_roce_ah_attr(priv, &params.ah_attr, &mcast->mgid, 1);
	ipv6_eth_mc_map(addr, params.ah_attr.roce.dmac);

	ipoib_mcast_join_done(mcast, 0, &params);
}

static int ipoib_roce_mcast_join(struct ipoib_dev_priv *priv,
				 struct ipoib_mcast *mcast)
{
	if (!mcast->fab.roce.work.func)
		INIT_WORK(&mcast->fab.roce.work, ipoib_roce_join_work);
	queue_work(priv->wq, &mcast->fab.roce.work);
	return 0;
}

static void ipoib_roce_mcast_leave(struct ipoib_dev_priv *priv,
				   struct ipoib_mcast *mcast)
{
	struct net_device *ndev = mcast->fab.roce.ndev;

	ASSERT_RTNL();
	if (mcast->fab.roce.work.func)
		cancel_work_sync(&mcast->fab.roce.work);
	if (!ndev)
		return;
	ipv6_dev_mc_dec(ndev, (struct in6_addr *)mcast->mgid.raw);
	dev_put(ndev);
	mcast->fab.roce.ndev = NULL;
}

/* The Ethernet device's speed; we hold rtnl, as ethtool requires. */
static u32 ipoib_roce_link_speed(struct ipoib_dev_priv *priv)
{
	struct ethtool_link_ksettings ks = {};
	struct net_device *ndev = ipoib_roce_ndev(priv);
	u32 speed = SPEED_UNKNOWN;

	if (!ndev)
		return speed;
	if (!__ethtool_get_link_ksettings(ndev, &ks))
		speed = ks.base.speed;
	dev_put(ndev);
	return speed;
}

/* debugfs <ifname>_path: the resolved route (priv->lock held) */
static void ipoib_roce_path_show(struct seq_file *m, struct ipoib_path *path)
{
	seq_puts(m, "  route:      RoCE, MAC from the GID\n");
}

const struct ipoib_fabric_ops ipoib_fabric_roce_ops = {
	.name			= "roce",
	.port_query		= ipoib_roce_port_query,
	.path_resolve		= ipoib_roce_path_resolve,
	.path_cancel		= ipoib_roce_path_cancel,
	.path_show		= ipoib_roce_path_show,
	.cm_path		= ipoib_roce_cm_path,
	.mcast_join		= ipoib_roce_mcast_join,
	.mcast_leave		= ipoib_roce_mcast_leave,
	.link_speed		= ipoib_roce_link_speed,
};
