/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netif_queue_set_napi() appeared in 6.8: it tells the netdev netlink family
 * which NAPI instance serves a queue.  Older trees have nothing to tell, so
 * there it does nothing.
 */
#ifndef _IPOIB_COMPAT_LINUX_NETDEVICE_H
#define _IPOIB_COMPAT_LINUX_NETDEVICE_H

#include_next <linux/netdevice.h>

#ifndef IPOIB_HAVE_NETIF_QUEUE_SET_NAPI
enum netdev_queue_type {
	NETDEV_QUEUE_TYPE_RX,
	NETDEV_QUEUE_TYPE_TX,
};

static inline void netif_queue_set_napi(struct net_device *dev,
					unsigned int queue_index,
					enum netdev_queue_type type,
					struct napi_struct *napi)
{
}
#endif

#endif
