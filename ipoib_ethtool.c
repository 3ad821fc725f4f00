// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: ethtool operations and statistics.  Ring sizes are per interface
 * and can be changed while the interface runs (the transport is rebuilt in
 * place); coalescing goes to the RDMA device's CQ moderation when it has one.
 * Per-queue statistics for the netdev netlink family are at the end.
 */

#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/netdev_queues.h>

#include "ipoib.h"

static void ipoib_get_drvinfo(struct net_device *dev,
			      struct ethtool_drvinfo *info)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	strscpy(info->driver, DRV_NAME, sizeof(info->driver));
	strscpy(info->version, DRV_VERSION, sizeof(info->version));
	strscpy(info->bus_info, dev_name(&priv->ca->dev),
		sizeof(info->bus_info));
	ib_get_device_fw_str(priv->ca, info->fw_version);
}

/* Every counter the driver keeps, queue 0 first (one queue per direction). */
enum {
	IPOIB_STAT_RX_Q0_PACKETS,
	IPOIB_STAT_RX_Q0_BYTES,
	IPOIB_STAT_TX_Q0_PACKETS,
	IPOIB_STAT_TX_Q0_BYTES,
	IPOIB_STAT_RX_ERRORS,
	IPOIB_STAT_RX_DROPPED,
	IPOIB_STAT_RX_SHORT,
	IPOIB_STAT_RX_BAD_HEADER,
	IPOIB_STAT_RX_UNKNOWN_PROTO,
	IPOIB_STAT_RX_OVERSIZE,
	IPOIB_STAT_RX_OWN_ECHO,
	IPOIB_STAT_RX_NO_BUFFER,
	IPOIB_STAT_RX_MULTICAST,
	IPOIB_STAT_RX_REFILLED,
	IPOIB_STAT_STALE_COMPLETIONS,
	IPOIB_STAT_TX_ERRORS,
	IPOIB_STAT_TX_DROPPED,
	IPOIB_STAT_TX_NO_PATH,
	IPOIB_STAT_TX_QUEUE_FULL,
	IPOIB_STAT_TX_NEIGH_REFUSED,
	IPOIB_STAT_TX_PATH_REFUSED,
	IPOIB_STAT_TX_MCAST_REFUSED,
	IPOIB_STAT_CM_TX_CONNS,
	IPOIB_STAT_CM_RX_CONNS,
	IPOIB_STAT_CM_TX_PACKETS,
	IPOIB_STAT_CM_RX_PACKETS,
	IPOIB_STAT_CM_TX_UD_FALLBACK,
	IPOIB_STAT_CM_TX_CONNECT_FAILED,
	IPOIB_STAT_CM_ICMP_TOO_BIG,
	IPOIB_STAT_ERROR_RECOVERIES,
	IPOIB_STAT_CM_RX_REFUSED,
	IPOIB_STAT_NR,
};

static const char ipoib_stat_names[IPOIB_STAT_NR][ETH_GSTRING_LEN] = {
	[IPOIB_STAT_RX_Q0_PACKETS]	= "rx_queue_0_packets",
	[IPOIB_STAT_RX_Q0_BYTES]	= "rx_queue_0_bytes",
	[IPOIB_STAT_TX_Q0_PACKETS]	= "tx_queue_0_packets",
	[IPOIB_STAT_TX_Q0_BYTES]	= "tx_queue_0_bytes",
	[IPOIB_STAT_RX_ERRORS]		= "rx_errors",
	[IPOIB_STAT_RX_DROPPED]		= "rx_dropped",
	[IPOIB_STAT_RX_SHORT]		= "rx_short_frame",
	[IPOIB_STAT_RX_BAD_HEADER]	= "rx_bad_header",
	[IPOIB_STAT_RX_UNKNOWN_PROTO]	= "rx_unknown_proto",
	[IPOIB_STAT_RX_OVERSIZE]	= "rx_oversize",
	[IPOIB_STAT_RX_OWN_ECHO]	= "rx_own_echo",
	[IPOIB_STAT_RX_NO_BUFFER]	= "rx_no_buffer",
	[IPOIB_STAT_RX_MULTICAST]	= "rx_multicast",
	[IPOIB_STAT_RX_REFILLED]	= "rx_refilled",
	[IPOIB_STAT_STALE_COMPLETIONS]	= "stale_completions",
	[IPOIB_STAT_TX_ERRORS]		= "tx_errors",
	[IPOIB_STAT_TX_DROPPED]		= "tx_dropped",
	[IPOIB_STAT_TX_NO_PATH]		= "tx_no_path",
	[IPOIB_STAT_TX_QUEUE_FULL]	= "tx_queue_full",
	[IPOIB_STAT_TX_NEIGH_REFUSED]	= "tx_neigh_refused",
	[IPOIB_STAT_TX_PATH_REFUSED]	= "tx_path_refused",
	[IPOIB_STAT_TX_MCAST_REFUSED]	= "tx_mcast_refused",
	[IPOIB_STAT_CM_TX_CONNS]	= "cm_tx_conns",
	[IPOIB_STAT_CM_RX_CONNS]	= "cm_rx_conns",
	[IPOIB_STAT_CM_TX_PACKETS]	= "cm_tx_packets",
	[IPOIB_STAT_CM_RX_PACKETS]	= "cm_rx_packets",
	[IPOIB_STAT_CM_TX_UD_FALLBACK]	= "cm_tx_ud_fallback",
	[IPOIB_STAT_CM_TX_CONNECT_FAILED] = "cm_tx_connect_failed",
	[IPOIB_STAT_CM_ICMP_TOO_BIG]	= "cm_icmp_too_big",
	[IPOIB_STAT_ERROR_RECOVERIES]	= "error_recoveries",
	[IPOIB_STAT_CM_RX_REFUSED]	= "cm_rx_refused",
};

static int ipoib_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? IPOIB_STAT_NR : -EOPNOTSUPP;
}

static void ipoib_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, ipoib_stat_names, sizeof(ipoib_stat_names));
}

static void ipoib_get_ethtool_stats(struct net_device *dev,
				    struct ethtool_stats *stats, u64 *data)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	const struct ipoib_rx_drops *d = &priv->rx_drops;
	struct rtnl_link_stats64 s;

	dev_get_stats(dev, &s);
	data[IPOIB_STAT_RX_Q0_PACKETS] = s.rx_packets;
	data[IPOIB_STAT_RX_Q0_BYTES] = s.rx_bytes;
	data[IPOIB_STAT_TX_Q0_PACKETS] = s.tx_packets;
	data[IPOIB_STAT_TX_Q0_BYTES] = s.tx_bytes;
	data[IPOIB_STAT_RX_ERRORS] = s.rx_errors;
	data[IPOIB_STAT_RX_DROPPED] = s.rx_dropped;
	data[IPOIB_STAT_RX_SHORT] = READ_ONCE(d->short_frame);
	data[IPOIB_STAT_RX_BAD_HEADER] = READ_ONCE(d->bad_header);
	data[IPOIB_STAT_RX_UNKNOWN_PROTO] = READ_ONCE(d->unknown_proto);
	data[IPOIB_STAT_RX_OVERSIZE] = READ_ONCE(d->oversize);
	data[IPOIB_STAT_RX_OWN_ECHO] = READ_ONCE(d->own_echo);
	data[IPOIB_STAT_RX_NO_BUFFER] = READ_ONCE(d->no_buffer);
	data[IPOIB_STAT_RX_MULTICAST] = s.multicast;
	data[IPOIB_STAT_RX_REFILLED] = READ_ONCE(priv->rx_refilled);
	data[IPOIB_STAT_STALE_COMPLETIONS] = READ_ONCE(priv->stale_completions);
	data[IPOIB_STAT_TX_ERRORS] = s.tx_errors;
	data[IPOIB_STAT_TX_DROPPED] = s.tx_dropped;
	data[IPOIB_STAT_TX_NO_PATH] = READ_ONCE(priv->tx_no_path);
	data[IPOIB_STAT_TX_QUEUE_FULL] = READ_ONCE(priv->tx_queue_full);
	data[IPOIB_STAT_TX_NEIGH_REFUSED] = READ_ONCE(priv->tx_neigh_refused);
	data[IPOIB_STAT_TX_PATH_REFUSED] = READ_ONCE(priv->tx_path_refused);
	data[IPOIB_STAT_TX_MCAST_REFUSED] = READ_ONCE(priv->tx_mcast_refused);
	data[IPOIB_STAT_CM_TX_CONNS] = atomic_read(&priv->cm.tx_conns);
	data[IPOIB_STAT_CM_RX_CONNS] = READ_ONCE(priv->cm.rx_count);
	data[IPOIB_STAT_CM_TX_PACKETS] = READ_ONCE(priv->cm.tx_packets);
	data[IPOIB_STAT_CM_RX_PACKETS] = READ_ONCE(priv->cm.rx_packets);
	data[IPOIB_STAT_CM_TX_UD_FALLBACK] = READ_ONCE(priv->cm.tx_ud_fallback);
	data[IPOIB_STAT_CM_TX_CONNECT_FAILED] =
		READ_ONCE(priv->cm.tx_connect_failed);
	data[IPOIB_STAT_CM_ICMP_TOO_BIG] = READ_ONCE(priv->cm.icmp_too_big);
	data[IPOIB_STAT_ERROR_RECOVERIES] = READ_ONCE(priv->recoveries);
	data[IPOIB_STAT_CM_RX_REFUSED] = READ_ONCE(priv->cm.rx_refused);
}

static int ipoib_get_link_ksettings(struct net_device *dev,
				    struct ethtool_link_ksettings *cmd)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	ethtool_link_ksettings_zero_link_mode(cmd, supported);
	ethtool_link_ksettings_zero_link_mode(cmd, advertising);
	cmd->base.speed = netif_carrier_ok(dev) ?
			  priv->fabric->link_speed(priv) : SPEED_UNKNOWN;
	cmd->base.duplex = netif_carrier_ok(dev) ? DUPLEX_FULL :
						   DUPLEX_UNKNOWN;
	cmd->base.port = PORT_OTHER;
	cmd->base.autoneg = AUTONEG_DISABLE;
	return 0;
}

static void ipoib_get_ringparam(struct net_device *dev,
				struct ethtool_ringparam *ring,
				struct kernel_ethtool_ringparam *kring,
				struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	ring->rx_max_pending = IPOIB_MAX_QUEUE_SIZE;
	ring->tx_max_pending = IPOIB_MAX_QUEUE_SIZE;
	ring->rx_pending = priv->recvq_size;
	ring->tx_pending = priv->sendq_size;
}

static int ipoib_set_ringparam(struct net_device *dev,
			       struct ethtool_ringparam *ring,
			       struct kernel_ethtool_ringparam *kring,
			       struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	const struct ib_device_attr *a = &priv->ca->attrs;
	unsigned int rx = ring->rx_pending, tx = ring->tx_pending;

	if (ring->rx_mini_pending || ring->rx_jumbo_pending) {
		NL_SET_ERR_MSG(extack, "only rx and tx rings exist");
		return -EINVAL;
	}
	if (rx < IPOIB_MIN_QUEUE_SIZE || tx < IPOIB_MIN_QUEUE_SIZE) {
		NL_SET_ERR_MSG(extack, "rings hold at least 2 entries");
		return -EINVAL;
	}
	/* the core already refused more than the maximum; sizes are 2^n */
	rx = roundup_pow_of_two(rx);
	tx = roundup_pow_of_two(tx);
	if (rx == priv->recvq_size && tx == priv->sendq_size)
		return 0;
	/* what the device cannot take is refused before anything changes */
	if (max(rx, tx) > (unsigned int)a->max_qp_wr ||
	    max(rx, tx) > (unsigned int)a->max_cqe) {
		NL_SET_ERR_MSG(extack, "rings larger than the device allows");
		return -EINVAL;
	}
	return ipoib_resize_rings(priv, rx, tx, extack);
}

static int ipoib_get_coalesce(struct net_device *dev,
			      struct ethtool_coalesce *coal,
			      struct kernel_ethtool_coalesce *kcoal,
			      struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	coal->rx_coalesce_usecs = priv->rx_coal_usecs;
	coal->rx_max_coalesced_frames = priv->rx_coal_frames;
	return 0;
}

static int ipoib_set_coalesce(struct net_device *dev,
			      struct ethtool_coalesce *coal,
			      struct kernel_ethtool_coalesce *kcoal,
			      struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);
	int ret;

	if (coal->rx_coalesce_usecs > U16_MAX ||
	    coal->rx_max_coalesced_frames > U16_MAX) {
		NL_SET_ERR_MSG(extack, "values are limited to 65535");
		return -EINVAL;
	}
	ret = rdma_set_cq_moderation(priv->recv_cq,
				     coal->rx_max_coalesced_frames,
				     coal->rx_coalesce_usecs);
	if (ret == -EOPNOTSUPP) {
		NL_SET_ERR_MSG(extack,
			       "the RDMA device has no CQ moderation");
		return ret;
	}
	if (ret)
		return ret;
	priv->rx_coal_usecs = coal->rx_coalesce_usecs;
	priv->rx_coal_frames = coal->rx_max_coalesced_frames;
	return 0;
}

/*
 * Per-queue statistics (the netdev netlink family's qstats).  An interface
 * has one queue each way, so queue 0 holds its whole totals, read from the
 * very counters rtnetlink reports in stats64: the two views always agree.
 * No queue ever goes away, so nothing is carried in the base but zeroes,
 * which tells the core that these fields are complete.
 */
static void ipoib_get_queue_stats_rx(struct net_device *dev, int idx,
				     struct netdev_queue_stats_rx *rx)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	rx->packets = DEV_STATS_READ(dev, rx_packets);
	rx->bytes = DEV_STATS_READ(dev, rx_bytes);
	/* frames dropped for want of a fresh buffer */
	rx->alloc_fail = READ_ONCE(priv->rx_drops.no_buffer);
	/* everything the receive path dropped, malformed frames included */
	rx->hw_drops = DEV_STATS_READ(dev, rx_dropped);
}

static void ipoib_get_queue_stats_tx(struct net_device *dev, int idx,
				     struct netdev_queue_stats_tx *tx)
{
	tx->packets = DEV_STATS_READ(dev, tx_packets);
	tx->bytes = DEV_STATS_READ(dev, tx_bytes);
	/* refused (no path, queue full) or failed on the wire */
	tx->hw_drops = DEV_STATS_READ(dev, tx_dropped) +
		       DEV_STATS_READ(dev, tx_errors);
}

static void ipoib_get_base_stats(struct net_device *dev,
				 struct netdev_queue_stats_rx *rx,
				 struct netdev_queue_stats_tx *tx)
{
	rx->packets = 0;
	rx->bytes = 0;
	rx->alloc_fail = 0;
	rx->hw_drops = 0;
	tx->packets = 0;
	tx->bytes = 0;
	tx->hw_drops = 0;
}

static const struct netdev_stat_ops ipoib_stat_ops = {
	.get_queue_stats_rx	= ipoib_get_queue_stats_rx,
	.get_queue_stats_tx	= ipoib_get_queue_stats_tx,
	.get_base_stats		= ipoib_get_base_stats,
};

/* At allocation (ipoib_setup()): the statistics the netdev family reports. */
void ipoib_stats_setup(struct net_device *dev)
{
	compat_netdev_set_stat_ops(dev, &ipoib_stat_ops);
}

const struct ethtool_ops ipoib_ethtool_ops = {
	.supported_coalesce_params = ETHTOOL_COALESCE_RX_USECS |
				     ETHTOOL_COALESCE_RX_MAX_FRAMES,
	.get_drvinfo		= ipoib_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_link_ksettings	= ipoib_get_link_ksettings,
	.get_sset_count		= ipoib_get_sset_count,
	.get_strings		= ipoib_get_strings,
	.get_ethtool_stats	= ipoib_get_ethtool_stats,
	.get_ringparam		= ipoib_get_ringparam,
	.set_ringparam		= ipoib_set_ringparam,
	.get_coalesce		= ipoib_get_coalesce,
	.set_coalesce		= ipoib_set_coalesce,
};
