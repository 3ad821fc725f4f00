// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: module parameters, the IB client (one interface per IB or RoCE
 * port) and module init/exit.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/inetdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/addrconf.h>

#include "ipoib.h"

#define IPOIB_DEF_SEND_QUEUE	128
#define IPOIB_DEF_RECV_QUEUE	256
#define IPOIB_CM_MAX_NONSRQ	4096	/* max_nonsrq_conn_qp's upper bound */

MODULE_AUTHOR("The ib_ipoib project");
MODULE_DESCRIPTION("IP over InfiniBand for InfiniBand and RoCE ports");
MODULE_LICENSE("GPL");
MODULE_VERSION(DRV_VERSION);
/* ip link add ... type ipoib loads us */
MODULE_ALIAS_RTNL_LINK("ipoib");

int ipoib_sendq_size __read_mostly = IPOIB_DEF_SEND_QUEUE;
int ipoib_recvq_size __read_mostly = IPOIB_DEF_RECV_QUEUE;
int ipoib_debug_level;
int ipoib_mcast_debug_level;

module_param_named(send_queue_size, ipoib_sendq_size, int, 0444);
MODULE_PARM_DESC(send_queue_size,
		 "Send ring entries per interface, rounded up to a power of two (2-8192, default 128)");
module_param_named(recv_queue_size, ipoib_recvq_size, int, 0444);
MODULE_PARM_DESC(recv_queue_size,
		 "Receive ring entries per interface, rounded up to a power of two (2-8192, default 256)");
module_param_named(debug_level, ipoib_debug_level, int, 0644);
MODULE_PARM_DESC(debug_level, "Enable debug messages when > 0 (default 0)");
module_param_named(mcast_debug_level, ipoib_mcast_debug_level, int, 0644);
MODULE_PARM_DESC(mcast_debug_level,
		 "Enable multicast debug messages when > 0 (default 0)");

int ipoib_max_nonsrq_conn_qp __read_mostly = 128;

/* As in-tree: a number out of range is brought into it, not refused. */
static int ipoib_set_nonsrq(const char *val, const struct kernel_param *kp)
{
	int n, ret;

	ret = kstrtoint(val, 0, &n);
	if (ret)
		return ret;
	if (n < 0 || n > IPOIB_CM_MAX_NONSRQ) {
		int c = clamp(n, 0, IPOIB_CM_MAX_NONSRQ);

		pr_info("max_nonsrq_conn_qp %d adjusted to %d\n", n, c);
		n = c;
	}
	*(int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops ipoib_nonsrq_ops = {
	.set = ipoib_set_nonsrq,
	.get = param_get_int,
};
module_param_cb(max_nonsrq_conn_qp, &ipoib_nonsrq_ops,
		&ipoib_max_nonsrq_conn_qp, 0444);
MODULE_PARM_DESC(max_nonsrq_conn_qp,
		 "Connected mode on devices without SRQ: most receive connections per interface (0-4096, default 128)");

/*
 * Bounds on what a sender's choice of addresses can make us allocate: a
 * forged ARP reply can point any number of IP addresses at hardware
 * addresses of its choosing, unicast (a neighbour, a path) or multicast
 * (a send-only group joined on the fabric).  A send beyond a bound is
 * dropped and counted (ethtool -S tx_*_refused).
 */
unsigned int ipoib_max_neighs __read_mostly = 16384;
unsigned int ipoib_max_paths __read_mostly = 4096;
unsigned int ipoib_max_sendonly __read_mostly = 256;

module_param_named(max_neighbours, ipoib_max_neighs, uint, 0644);
MODULE_PARM_DESC(max_neighbours,
		 "Most destination hardware addresses per interface (default 16384)");
module_param_named(max_paths, ipoib_max_paths, uint, 0644);
MODULE_PARM_DESC(max_paths,
		 "Most destination GIDs (paths) per interface (default 4096)");
module_param_named(max_sendonly_groups, ipoib_max_sendonly, uint, 0644);
MODULE_PARM_DESC(max_sendonly_groups,
		 "Most send-only multicast groups per interface (default 256)");

struct workqueue_struct *ipoib_flush_wq;

/* Port interfaces of one RDMA device, the IB client's data. */
struct ipoib_ca {
	struct list_head ports;
};

static struct ib_client ipoib_client;

/* IB client */

static struct net_device *ipoib_add_port(struct ib_device *ca, u32 port)
{
	struct net_device *dev;
	int ret;

	dev = ipoib_create_netdev(ca, port, "ib%d", 0, NULL);
	if (IS_ERR(dev))
		return dev;

	ret = register_netdev(dev);
	if (ret) {
		free_netdev(dev);
		return ERR_PTR(ret);
	}
	netdev_info(dev, "%s port %u (%s)\n", dev_name(&ca->dev), port,
		    ipoib_priv(dev)->fabric->name);
	return dev;
}

/* Children go first, in the same batch; the core frees every device. */
static void ipoib_remove_port(struct ipoib_dev_priv *priv)
{
	LIST_HEAD(kill);

	rtnl_lock();
	ipoib_children_unregister(priv, &kill);
	unregister_netdevice_queue(priv->dev, &kill);
	unregister_netdevice_many(&kill);
	rtnl_unlock();
}

static int ipoib_add_one(struct ib_device *ca)
{
	struct ipoib_ca *ic;
	unsigned int p;

	ic = kzalloc(sizeof(*ic), GFP_KERNEL);
	if (!ic)
		return -ENOMEM;
	INIT_LIST_HEAD(&ic->ports);

	rdma_for_each_port(ca, p) {
		struct net_device *dev;

		if (!rdma_protocol_ib(ca, p) && !rdma_protocol_roce(ca, p))
			continue;
		dev = ipoib_add_port(ca, p);
		if (IS_ERR(dev)) {
			dev_warn(&ca->dev, "port %u: no IPoIB interface: %ld\n",
				 p, PTR_ERR(dev));
			continue;
		}
		list_add_tail(&ipoib_priv(dev)->ca_list, &ic->ports);
	}

	if (list_empty(&ic->ports)) {
		kfree(ic);
		return -EOPNOTSUPP;
	}
	ib_set_client_data(ca, &ipoib_client, ic);
	return 0;
}

static void ipoib_remove_one(struct ib_device *ca, void *client_data)
{
	struct ipoib_ca *ic = client_data;
	struct ipoib_dev_priv *priv, *tmp;

	list_for_each_entry_safe(priv, tmp, &ic->ports, ca_list) {
		list_del(&priv->ca_list);
		ipoib_remove_port(priv);
	}
	kfree(ic);
}

/*
 * rdma_cm's lookup of the interface an incoming connection is addressed to
 * (ib_get_net_dev_by_params()).  Candidates are the port's parent and its
 * children whose P_Key (either membership) and GID are those of the
 * request.  The one holding the destination IP address, directly or
 * through an upper device such as a bond (which is then returned), wins,
 * looked up in the interface's own network namespace; with no address, or
 * when no candidate holds it, a single candidate is the answer.  Anything
 * ambiguous (children sharing a P_Key and an address in two namespaces)
 * finds nothing.  It runs in rdma_cm's and ib_cm's work and so takes
 * neither rtnl nor child_lock, whose holders may wait for that work.
 */
struct ipoib_lookup {
	u16 pkey;
	const union ib_gid *gid;
	const struct sockaddr *addr;	/* NULL: match without an address */
	struct net_device *by_addr;	/* last candidate holding addr */
	unsigned int n_by_addr;
	struct net_device *any;		/* last candidate */
	unsigned int n_any;
};

/* An address to look for: IPv4 or IPv6 and not the wildcard, else NULL. */
static const struct sockaddr *ipoib_lookup_addr(const struct sockaddr *addr)
{
	if (!addr)
		return NULL;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

		return sin->sin_addr.s_addr != htonl(INADDR_ANY) ? addr : NULL;
	}
	if (IS_ENABLED(CONFIG_IPV6) && addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)addr;

		return !ipv6_addr_any(&sin6->sin6_addr) ? addr : NULL;
	}
	return NULL;		/* AF_IB and the rest name no IP address */
}

/* @dev holds @addr (rcu_read_lock held). */
static bool ipoib_dev_has_addr(struct net_device *dev,
			       const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		struct in_device *in_dev = __in_dev_get_rcu(dev);
		const struct in_ifaddr *ifa;

		if (!in_dev)
			return false;
		in_dev_for_each_ifa_rcu(ifa, in_dev)
			if (ifa->ifa_local == sin->sin_addr.s_addr)
				return true;
		return false;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)addr;

		/* strict: the address must be on @dev itself */
		return ipv6_chk_addr(dev_net(dev), &sin6->sin6_addr, dev, 1);
	}
#endif
	return false;
}

static int ipoib_upper_has_addr(struct net_device *upper,
				struct netdev_nested_priv *nest)
{
	struct ipoib_lookup *l = nest->data;

	if (!ipoib_dev_has_addr(upper, l->addr))
		return 0;
	l->by_addr = upper;
	return 1;		/* stops the walk */
}

/* Count @priv if it matches (its parent's child_list_lock, RCU held). */
static void ipoib_lookup_one(struct ipoib_dev_priv *priv,
			     struct ipoib_lookup *l)
{
	struct netdev_nested_priv nest = { .data = l };
	unsigned long flags;
	bool match;

	spin_lock_irqsave(&priv->lock, flags);
	match = !((priv->pkey ^ l->pkey) & ~IPOIB_PKEY_FULL) &&
		(!l->gid || !memcmp(l->gid, &priv->local_gid, sizeof(*l->gid)));
	spin_unlock_irqrestore(&priv->lock, flags);
	if (!match)
		return;

	l->any = priv->dev;
	l->n_any++;
	if (!l->addr)
		return;
	if (ipoib_dev_has_addr(priv->dev, l->addr)) {
		l->by_addr = priv->dev;
		l->n_by_addr++;
	} else if (netdev_walk_all_upper_dev_rcu(priv->dev,
						 ipoib_upper_has_addr, &nest)) {
		l->n_by_addr++;
	}
}

static struct net_device *
ipoib_get_net_dev_by_params(struct ib_device *ca, u32 port, u16 pkey,
			    const union ib_gid *gid,
			    const struct sockaddr *addr, void *client_data)
{
	struct ipoib_ca *ic = client_data;
	struct ipoib_dev_priv *ppriv, *priv;
	struct ipoib_lookup l = {
		.pkey = pkey,
		.gid = gid,
		.addr = ipoib_lookup_addr(addr),
	};
	struct net_device *dev = NULL;

	/* the core calls us only between add and remove: ports is fixed */
	list_for_each_entry(ppriv, &ic->ports, ca_list) {
		if (ppriv->port != port)
			continue;
		rcu_read_lock();
		spin_lock_bh(&ppriv->child_list_lock);
		ipoib_lookup_one(ppriv, &l);
		list_for_each_entry(priv, &ppriv->children, child_list)
			ipoib_lookup_one(priv, &l);
		if (l.n_by_addr == 1)
			dev = l.by_addr;
		else if (!l.n_by_addr && l.n_any == 1)
			dev = l.any;
		/* a listed child is not freed yet: unregistration waits for us */
		if (dev)
			dev_hold(dev);
		spin_unlock_bh(&ppriv->child_list_lock);
		rcu_read_unlock();
		break;
	}
	return dev;
}

static struct ib_client ipoib_client = {
	.name			= "ipoib",
	.add			= ipoib_add_one,
	.remove			= ipoib_remove_one,
	.get_net_dev_by_params	= ipoib_get_net_dev_by_params,
};

static int ipoib_queue_size(int *size, const char *what)
{
	int v = clamp(*size, IPOIB_MIN_QUEUE_SIZE, IPOIB_MAX_QUEUE_SIZE);

	v = roundup_pow_of_two(v);
	if (v != *size)
		pr_info("%s %d adjusted to %d\n", what, *size, v);
	*size = v;
	return 0;
}

static int __init ipoib_init_module(void)
{
	int ret;

	ipoib_queue_size(&ipoib_sendq_size, "send_queue_size");
	ipoib_queue_size(&ipoib_recvq_size, "recv_queue_size");

	/*
	 * Only IB-event flush tasks run here (see ipoib.h), one at a time and
	 * in the order the events came.
	 */
	ipoib_flush_wq = alloc_ordered_workqueue("ipoib_flush", 0);
	if (!ipoib_flush_wq)
		return -ENOMEM;

	ret = ipoib_shared_wq_init();
	if (ret)
		goto err_wq;
	ipoib_debugfs_init();

	ret = ipoib_fabric_ib_register();
	if (ret)
		goto err_shared;

	ret = rtnl_link_register(&ipoib_link_ops);
	if (ret)
		goto err_sa;

	ret = ipoib_fs_init();
	if (ret)
		goto err_link;

	ret = ib_register_client(&ipoib_client);
	if (ret)
		goto err_fs;

	pr_info("version %s loaded\n", DRV_VERSION);
	return 0;

err_fs:
	ipoib_fs_exit();
err_link:
	rtnl_link_unregister(&ipoib_link_ops);
err_sa:
	ipoib_fabric_ib_unregister();
err_shared:
	ipoib_debugfs_exit();
	ipoib_shared_wq_exit();
err_wq:
	destroy_workqueue(ipoib_flush_wq);
	return ret;
}

static void __exit ipoib_cleanup_module(void)
{
	ib_unregister_client(&ipoib_client);
	ipoib_fs_exit();
	rtnl_link_unregister(&ipoib_link_ops);
	ipoib_fabric_ib_unregister();
	ipoib_debugfs_exit();
	ipoib_shared_wq_exit();
	destroy_workqueue(ipoib_flush_wq);
	/* neighbours are freed by RCU callbacks in this module's text */
	rcu_barrier();
}

module_init(ipoib_init_module);
module_exit(ipoib_cleanup_module);
