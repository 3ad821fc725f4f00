/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-queue statistics for the netdev netlink family (struct netdev_stat_ops,
 * dev->stat_ops) appeared in 6.10.  On older trees the driver's callbacks
 * still build, against local definitions of the fields it fills, and are
 * never attached: those kernels have no qstats to report them through.
 */
#ifndef _IPOIB_COMPAT_NET_NETDEV_QUEUES_H
#define _IPOIB_COMPAT_NET_NETDEV_QUEUES_H

#ifdef IPOIB_HAVE_NET_NETDEV_QUEUES_H
#include_next <net/netdev_queues.h>
#endif
#include <linux/netdevice.h>

#ifdef IPOIB_HAVE_NETDEV_STAT_OPS
static inline void compat_netdev_set_stat_ops(struct net_device *dev,
					      const struct netdev_stat_ops *ops)
{
	dev->stat_ops = ops;
}
#else
struct netdev_queue_stats_rx {
	u64 bytes;
	u64 packets;
	u64 alloc_fail;
	u64 hw_drops;
};

struct netdev_queue_stats_tx {
	u64 bytes;
	u64 packets;
	u64 hw_drops;
};

struct netdev_stat_ops {
	void (*get_queue_stats_rx)(struct net_device *dev, int idx,
				   struct netdev_queue_stats_rx *stats);
	void (*get_queue_stats_tx)(struct net_device *dev, int idx,
				   struct netdev_queue_stats_tx *stats);
	void (*get_base_stats)(struct net_device *dev,
			       struct netdev_queue_stats_rx *rx,
			       struct netdev_queue_stats_tx *tx);
};

static inline void compat_netdev_set_stat_ops(struct net_device *dev,
					      const struct netdev_stat_ops *ops)
{
}
#endif

#endif
