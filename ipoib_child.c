// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: child (P_Key) interfaces; upstream keeps them in ipoib_vlan.c,
 * though they are no VLANs.
 *
 * A child has everything of its own (QP, workqueue, broadcast group,
 * counters); it shares the RDMA port with its parent and gets its parent's
 * IB-event flushes.  Children are created through sysfs (create_child, in
 * ipoib_sysfs.c) or netlink (ip link add ... type ipoib, in ipoib_netlink.c)
 * and both paths meet in ipoib_child_register().  A parent's children list
 * is guarded by its child_lock, always taken with rtnl held; linking and
 * unlinking also take child_list_lock, for rdma_cm's lookup (ipoib_main.c).
 *
 * Only sysfs children are named by their P_Key (delete_child), so only they
 * must have one of their own: no other sysfs child and not the parent may
 * use it.  Netlink children are named by their net_device, and any number
 * of them may share a P_Key (one per container, as ipoib-cni makes them).
 * Nothing else is looked up by P_Key: each child has its own QP, broadcast
 * membership, workqueue and debugfs files, and IB events reach every child
 * through its parent's list.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rtnetlink.h>

#include "ipoib.h"

/* Fill in what a child takes from its parent, before registration. */
void ipoib_child_setup(struct ipoib_dev_priv *priv,
		       struct ipoib_dev_priv *ppriv, u16 pkey)
{
	struct net_device *dev = priv->dev;

	priv->ca = ppriv->ca;
	priv->port = ppriv->port;
	priv->fabric = ppriv->fabric;
	priv->parent = ppriv;
	priv->pkey = pkey | IPOIB_PKEY_FULL;	/* always a full member */
	set_bit(IPOIB_FLAG_CHILD, &priv->flags);
	if (test_bit(IPOIB_FLAG_UMCAST, &ppriv->flags))
		set_bit(IPOIB_FLAG_UMCAST, &priv->flags);
	SET_NETDEV_DEV(dev, ppriv->dev->dev.parent);
	dev->dev_port = ppriv->dev->dev_port;
	dev->dev_id = ppriv->dev->dev_id;
}

/* The sysfs child of @ppriv with @pkey (either membership), or NULL. */
struct ipoib_dev_priv *ipoib_find_sysfs_child(struct ipoib_dev_priv *ppriv,
					      u16 pkey)
{
	struct ipoib_dev_priv *priv;

	lockdep_assert_held(&ppriv->child_lock);
	list_for_each_entry(priv, &ppriv->children, child_list)
		if (priv->sysfs_child &&
		    priv->pkey == (pkey | IPOIB_PKEY_FULL))
			return priv;
	return NULL;
}

/*
 * Register a child set up by ipoib_child_setup(), with rtnl held.  On
 * failure nothing is left registered; the caller frees the net_device.
 */
int ipoib_child_register(struct ipoib_dev_priv *priv,
			 struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *ppriv = priv->parent;
	int ret;

	ASSERT_RTNL();

	if (test_bit(IPOIB_FLAG_CHILD, &ppriv->flags)) {
		NL_SET_ERR_MSG(extack, "a child interface cannot have children");
		return -EOPNOTSUPP;
	}
	if (!test_bit(IPOIB_FLAG_INITIALIZED, &ppriv->flags))
		return -ENODEV;

	if (priv->sysfs_child) {
		bool taken;

		/* the parent's P_Key follows the port: compare it under rtnl */
		mutex_lock(&ppriv->child_lock);
		taken = (ppriv->pkey | IPOIB_PKEY_FULL) == priv->pkey ||
			ipoib_find_sysfs_child(ppriv, priv->pkey);
		mutex_unlock(&ppriv->child_lock);
		if (taken)
			return -ENOTUNIQ;
	}

	/* ipoib_dev_init() runs here and creates the child's own workqueue */
	ret = register_netdevice(priv->dev);
	if (ret)
		return ret;

	mutex_lock(&ppriv->child_lock);
	spin_lock_bh(&ppriv->child_list_lock);
	list_add_tail(&priv->child_list, &ppriv->children);
	spin_unlock_bh(&ppriv->child_list_lock);
	mutex_unlock(&ppriv->child_lock);
	dev_hold(ppriv->dev);
	return 0;
}

/* From ipoib_dev_uninit() of a child, rtnl held. */
void ipoib_child_unlink(struct ipoib_dev_priv *priv)
{
	struct ipoib_dev_priv *ppriv = priv->parent;

	mutex_lock(&ppriv->child_lock);
	spin_lock_bh(&ppriv->child_list_lock);
	list_del_init(&priv->child_list);
	spin_unlock_bh(&ppriv->child_list_lock);
	mutex_unlock(&ppriv->child_lock);
	dev_put(ppriv->dev);
}

/* Queue every child of @ppriv for unregistration, rtnl held. */
void ipoib_children_unregister(struct ipoib_dev_priv *ppriv,
			       struct list_head *kill)
{
	struct ipoib_dev_priv *priv;

	ASSERT_RTNL();
	mutex_lock(&ppriv->child_lock);
	list_for_each_entry(priv, &ppriv->children, child_list)
		unregister_netdevice_queue(priv->dev, kill);
	mutex_unlock(&ppriv->child_lock);
}

/* Bring children down with their parent, or back up with it (rtnl held). */
void ipoib_children_set_up(struct ipoib_dev_priv *ppriv, bool up)
{
	struct ipoib_dev_priv *priv;

	ASSERT_RTNL();
	mutex_lock(&ppriv->child_lock);
	list_for_each_entry(priv, &ppriv->children, child_list) {
		struct net_device *dev = priv->dev;

		/* a child opened while we were down only waits for us */
		if (up && (dev->flags & IFF_UP)) {
			int ret = ipoib_ib_up(priv);

			if (ret)
				ipoib_warn(priv, "cannot start: %d\n", ret);
		} else if (up) {
			dev_open(dev, NULL);
		}
		/* a child already in a batch close (unregistration) is left to it */
		else if ((dev->flags & IFF_UP) && list_empty(&dev->close_list))
			dev_close(dev);
	}
	mutex_unlock(&ppriv->child_lock);
}
