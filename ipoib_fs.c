// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: per-interface debugfs files, ipoib/<ifname>_mcg (multicast
 * groups) and ipoib/<ifname>_path (paths), following the interface's name
 * and network namespace.
 */

#include <linux/debugfs.h>
#include <linux/netdevice.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "ipoib.h"

static const char *ipoib_mcast_state(const struct ipoib_mcast *mcast)
{
	if (test_bit(IPOIB_MCAST_JOINED, &mcast->flags))
		return "joined";
	if (test_bit(IPOIB_MCAST_BUSY, &mcast->flags))
		return "joining";
	if (mcast->retry_at)
		return "retrying";
	return "idle";
}

static int ipoib_mcg_show(struct seq_file *m, void *v)
{
	struct ipoib_dev_priv *priv = m->private;
	struct ipoib_mcast *mcast;

	spin_lock_irq(&priv->lock);
	list_for_each_entry(mcast, &priv->mcast_list, list) {
		seq_printf(m, "GID: %pI6\n", mcast->mgid.raw);
		seq_printf(m, "  state:    %s%s\n", ipoib_mcast_state(mcast),
			   test_bit(IPOIB_MCAST_ATTACHED, &mcast->flags) ?
			   ", attached" : "");
		seq_printf(m, "  member:   %s%s\n",
			   test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags) ?
			   "send-only" : "full",
			   mcast == priv->broadcast ? " (broadcast)" : "");
		seq_printf(m, "  queue:    %u\n",
			   skb_queue_len(&mcast->pkt_queue));
		seq_printf(m, "  created:  %u s ago\n",
			   jiffies_to_msecs(jiffies - mcast->created) / 1000);
		seq_printf(m, "  mlid:     0x%04x  qkey: 0x%08x  mtu: %d\n",
			   mcast->params.mlid, mcast->params.qkey,
			   ib_mtu_enum_to_int(mcast->params.mtu));
	}
	spin_unlock_irq(&priv->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ipoib_mcg);

static int ipoib_path_show(struct seq_file *m, void *v)
{
	struct ipoib_dev_priv *priv = m->private;
	struct ipoib_path *path;
	struct ipoib_neigh *neigh;

	spin_lock_irq(&priv->lock);
	list_for_each_entry(path, &priv->path_list, list) {
		unsigned int n = 0;

		list_for_each_entry(neigh, &path->neigh_list, list)
			n++;
		seq_printf(m, "GID: %pI6\n", path->dgid.raw);
		seq_printf(m, "  resolved:   %s\n",
			   path->ah ? "yes" : path->resolving ? "resolving" :
			   "no");
		seq_printf(m, "  neighbours: %u\n", n);
		list_for_each_entry(neigh, &path->neigh_list, list)
			seq_printf(m, "    QPN 0x%06x, %u pending\n",
				   ipoib_hwaddr_qpn(neigh->daddr),
				   skb_queue_len(&neigh->queue));
		if (path->ah && priv->fabric == &ipoib_fabric_ib_ops)
			seq_printf(m, "  DLID: 0x%04x  SL: %u  rate: %u\n",
				   be32_to_cpu(sa_path_get_dlid(&path->fab.ib.rec)),
				   path->fab.ib.rec.sl,
				   ib_rate_to_mbps(path->fab.ib.rec.rate));
		else if (path->ah)
			seq_puts(m, "  route:      RoCE, MAC from the GID\n");
	}
	spin_unlock_irq(&priv->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ipoib_path);

/*
 * Interface names are unique only within a network namespace, and netlink
 * children with one name (one per container) may live in several.  Files
 * of an interface outside init_net carry its namespace's inode number:
 * ipoib/<ifname>@<netns inode>_mcg.
 */
static void ipoib_debugfs_name(struct ipoib_dev_priv *priv, char *name,
			       size_t len, const char *what)
{
	struct net *net = dev_net(priv->dev);

	if (net_eq(net, &init_net))
		snprintf(name, len, "%s_%s", priv->dev->name, what);
	else
		snprintf(name, len, "%s@%u_%s", priv->dev->name, net->ns.inum,
			 what);
}

void ipoib_debugfs_dev_add(struct ipoib_dev_priv *priv)
{
	struct dentry *root = ipoib_debugfs_root();
	char name[IFNAMSIZ + 24];

	if (!root)
		return;
	ipoib_debugfs_name(priv, name, sizeof(name), "mcg");
	priv->mcg_dentry = debugfs_create_file(name, 0400, root, priv,
					       &ipoib_mcg_fops);
	ipoib_debugfs_name(priv, name, sizeof(name), "path");
	priv->path_dentry = debugfs_create_file(name, 0400, root, priv,
						&ipoib_path_fops);
}

void ipoib_debugfs_dev_del(struct ipoib_dev_priv *priv)
{
	debugfs_remove(priv->mcg_dentry);
	debugfs_remove(priv->path_dentry);
	priv->mcg_dentry = NULL;
	priv->path_dentry = NULL;
}

/*
 * Files follow the interface: created, renamed and removed with it.  A move
 * to another namespace is an unregister and a register here.
 */
static int ipoib_netdev_event(struct notifier_block *nb, unsigned long event,
			      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (!ipoib_is_ipoib_dev(dev))
		return NOTIFY_DONE;

	switch (event) {
	case NETDEV_REGISTER:
		ipoib_debugfs_dev_add(ipoib_priv(dev));
		break;
	case NETDEV_CHANGENAME:
		ipoib_debugfs_dev_del(ipoib_priv(dev));
		ipoib_debugfs_dev_add(ipoib_priv(dev));
		break;
	case NETDEV_UNREGISTER:
		ipoib_debugfs_dev_del(ipoib_priv(dev));
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block ipoib_netdev_nb = {
	.notifier_call = ipoib_netdev_event,
};

int ipoib_fs_init(void)
{
	return register_netdevice_notifier(&ipoib_netdev_nb);
}

void ipoib_fs_exit(void)
{
	unregister_netdevice_notifier(&ipoib_netdev_nb);
}
