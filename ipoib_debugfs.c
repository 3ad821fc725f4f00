// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: everything in debugfs, under /sys/kernel/debug/ipoib/: the
 * root, the per-interface files and the fault injection knobs.
 *
 *   /sys/kernel/debug/ipoib/<ifname>_mcg, <ifname>_path
 *
 * Multicast groups and paths of one interface, following the interface's
 * name and network namespace (see ipoib_debugfs_name()).
 *
 * Fault injection, in the spirit of netdevsim:
 *
 *   /sys/kernel/debug/ipoib/fault/<site>
 *
 * Writing "COUNT ERRNO [DELAY_MS [IFNAME]]" makes the next COUNT operations
 * at that site fail with -ERRNO; ERRNO 0 lets them succeed after DELAY_MS.
 * With IFNAME, only operations of the interface of that name count, so that
 * a busy sibling cannot take a fault meant for another interface.  Reading
 * shows "COUNT ERRNO DELAY_MS injected N", followed by "dev IFNAME" when the
 * site is limited to one interface.
 *
 * COUNT is at most IPOIB_FAULT_MAX_COUNT.  Where a delay runs decides how
 * long it may be; a write beyond a site's bound is refused (-EINVAL):
 *  - mcast_join: in the join task on the interface's own workqueue, without
 *    rtnl; up to IPOIB_FAULT_MAX_DELAY_MS.  ipoib_ib_down() flushes that
 *    queue with rtnl held, so the delay ends early (within one
 *    IPOIB_FAULT_SLICE_MS) once the interface leaves OPER_UP.
 *  - qp_create, cq_create, srq_create, mtu_apply, cm_listen: with rtnl held
 *    (open, ring resize, child creation, mode switch), and for qp_create
 *    also inside ib_cm's REQ handler (passive connections); up to
 *    IPOIB_FAULT_MAX_LOCKED_MS.
 *  - mcast_done: in a join's completion (the interface's workqueue on RoCE,
 *    ib_sa's callback on InfiniBand), without rtnl; up to
 *    IPOIB_FAULT_MAX_DONE_MS.  A down flushes that workqueue with rtnl held
 *    and may wait that long.
 *  - flush: in an IB event's flush task on the global ordered flush queue,
 *    before the task takes rtnl; up to IPOIB_FAULT_MAX_FLUSH_MS.  Every
 *    other flush task, of any interface, waits behind it: for tests of the
 *    order of flushes only.  The delay ends early (within one
 *    IPOIB_FAULT_SLICE_MS) once the interface is being unregistered, whose
 *    ipoib_flush_stop() waits for the task with rtnl held.
 *  - path_resolve, rx_alloc, post_recv, cm_send_short: in atomic context;
 *    no delay at all.
 *
 * Sites that do not simply fail an operation:
 *  - mcast_done: a join completion taking it fails with -ERRNO (0: it keeps
 *    its own status), and the arming of the join task that follows it is
 *    held back by DELAY_MS.
 *  - drain: a stop that takes it does not poll its CQs, as if the device
 *    held its completions back, and gives up after its timeout (5 s); the
 *    completions are then found by the next open.
 *  - cm_send_short: a connected-mode send that takes it carries only its
 *    first ERRNO - 1 bytes (ERRNO 1..4: a 0..3 byte message).
 *  - flush: a flush cannot fail; only its delay is injected, and a non-zero
 *    ERRNO is refused.
 *
 *   /sys/kernel/debug/ipoib/fault/transport_error
 *
 * Writing "IFNAME [qp|send_cq|recv_cq]" does at once what a device does on
 * a fatal error of that interface's UD QP (the default) or CQ: the QP goes
 * to the error state, and the object's event handler is called.  The
 * interface must be in the initial network namespace and running.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>

#include "ipoib.h"

#define IPOIB_FAULT_MAX_COUNT		1000000
#define IPOIB_FAULT_MAX_DELAY_MS	10000	/* no lock held, abortable */
#define IPOIB_FAULT_MAX_LOCKED_MS	200	/* rtnl or ib_cm's handler */
#define IPOIB_FAULT_MAX_DONE_MS		5000	/* a join completion */
#define IPOIB_FAULT_MAX_FLUSH_MS	2000	/* holds up every flush task */
#define IPOIB_FAULT_SLICE_MS		10

struct ipoib_fault {
	const char *name;
	unsigned int max_delay_ms;	/* the site's bound, 0: atomic */
	bool cut_at_down;		/* the delay ends once !OPER_UP */
	bool cut_at_uninit;		/* the delay ends once !INITIALIZED */
	bool delay_only;		/* ERRNO must be 0 */
	unsigned int count;
	int err;
	unsigned int delay_ms;
	unsigned long injected;
	char ifname[IFNAMSIZ];	/* empty: any interface */
};

/* fault_lock guards every site's counters; a leaf, irq-safe */
static DEFINE_SPINLOCK(fault_lock);

static struct ipoib_fault ipoib_faults[IPOIB_FAULT_NR] = {
	[IPOIB_FAULT_MCAST_JOIN]	= { .name = "mcast_join",
					    .max_delay_ms = IPOIB_FAULT_MAX_DELAY_MS,
					    .cut_at_down = true },
	[IPOIB_FAULT_PATH]		= { .name = "path_resolve" },
	[IPOIB_FAULT_QP_CREATE]		= { .name = "qp_create",
					    .max_delay_ms = IPOIB_FAULT_MAX_LOCKED_MS },
	[IPOIB_FAULT_CQ_CREATE]		= { .name = "cq_create",
					    .max_delay_ms = IPOIB_FAULT_MAX_LOCKED_MS },
	[IPOIB_FAULT_RX_ALLOC]		= { .name = "rx_alloc" },
	[IPOIB_FAULT_SRQ_CREATE]	= { .name = "srq_create",
					    .max_delay_ms = IPOIB_FAULT_MAX_LOCKED_MS },
	[IPOIB_FAULT_MTU_APPLY]		= { .name = "mtu_apply",
					    .max_delay_ms = IPOIB_FAULT_MAX_LOCKED_MS },
	[IPOIB_FAULT_POST_RECV]		= { .name = "post_recv" },
	[IPOIB_FAULT_CM_LISTEN]		= { .name = "cm_listen",
					    .max_delay_ms = IPOIB_FAULT_MAX_LOCKED_MS },
	[IPOIB_FAULT_DRAIN]		= { .name = "drain" },
	[IPOIB_FAULT_CM_SEND_SHORT]	= { .name = "cm_send_short" },
	[IPOIB_FAULT_MCAST_DONE]	= { .name = "mcast_done",
					    .max_delay_ms = IPOIB_FAULT_MAX_DONE_MS },
	[IPOIB_FAULT_FLUSH]		= { .name = "flush",
					    .max_delay_ms = IPOIB_FAULT_MAX_FLUSH_MS,
					    .cut_at_uninit = true, .delay_only = true },
};

static struct dentry *ipoib_debug_root;

static struct dentry *ipoib_debugfs_root(void)
{
	return ipoib_debug_root;
}

/*
 * Take one armed fault of @site for @priv's interface: its errno, and how
 * long to delay.  The name is compared as the interface has it now; a
 * rename racing with this only decides whether this operation is the one
 * that fails.
 */
int ipoib_fault_take(struct ipoib_dev_priv *priv, enum ipoib_fault_site site,
		     unsigned int *delay)
{
	struct ipoib_fault *f = &ipoib_faults[site];
	unsigned long flags;
	int err = 0;

	*delay = 0;
	if (likely(!READ_ONCE(f->count)))
		return 0;

	spin_lock_irqsave(&fault_lock, flags);
	if (f->count &&
	    (!f->ifname[0] || !strncmp(priv->dev->name, f->ifname, IFNAMSIZ))) {
		f->count--;
		f->injected++;
		err = f->err;
		*delay = f->delay_ms;
	}
	spin_unlock_irqrestore(&fault_lock, flags);
	return err;
}

/* Whether a delay at @f's site should end now, before its time. */
static bool ipoib_fault_cut(const struct ipoib_fault *f,
			    struct ipoib_dev_priv *priv)
{
	return (f->cut_at_down &&
		!test_bit(IPOIB_FLAG_OPER_UP, &priv->flags)) ||
	       (f->cut_at_uninit &&
		!test_bit(IPOIB_FLAG_INITIALIZED, &priv->flags));
}

int ipoib_fault_inject(struct ipoib_dev_priv *priv,
		       enum ipoib_fault_site site)
{
	const struct ipoib_fault *f = &ipoib_faults[site];
	unsigned long end;
	unsigned int delay;
	int err = ipoib_fault_take(priv, site, &delay);

	might_sleep();
	if (!delay)
		return err;
	if (!f->cut_at_down && !f->cut_at_uninit) {
		msleep(delay);
		return err;
	}
	end = jiffies + msecs_to_jiffies(delay);
	while (time_before(jiffies, end) && !ipoib_fault_cut(f, priv))
		msleep(IPOIB_FAULT_SLICE_MS);
	return err;
}

int ipoib_fault_inject_atomic(struct ipoib_dev_priv *priv,
			      enum ipoib_fault_site site)
{
	unsigned int delay;

	return ipoib_fault_take(priv, site, &delay);
}

static ssize_t ipoib_fault_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct ipoib_fault f;
	char buf[64 + IFNAMSIZ];
	int n;

	spin_lock_irq(&fault_lock);
	f = *(struct ipoib_fault *)file->private_data;
	spin_unlock_irq(&fault_lock);
	n = scnprintf(buf, sizeof(buf), "%u %d %u injected %lu%s%s\n",
		      f.count, -f.err, f.delay_ms, f.injected,
		      f.ifname[0] ? " dev " : "", f.ifname);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static ssize_t ipoib_fault_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct ipoib_fault *f = file->private_data;
	unsigned int count, err, delay = 0;
	char ifname[IFNAMSIZ] = "";
	char buf[64 + IFNAMSIZ];
	int n, end = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';

	/* the %n after each accepted form proves nothing but blanks follow */
	n = sscanf(buf, "%u %u %n%u %n%15s %n", &count, &err, &end, &delay,
		   &end, ifname, &end);
	if (n < 2 || buf[end] || count > IPOIB_FAULT_MAX_COUNT ||
	    err > MAX_ERRNO || delay > f->max_delay_ms ||
	    (err && f->delay_only))
		return -EINVAL;
	if (ifname[0] && !dev_valid_name(ifname))
		return -EINVAL;

	spin_lock_irq(&fault_lock);
	f->count = count;
	f->err = -(int)err;
	f->delay_ms = delay;
	strscpy(f->ifname, ifname, sizeof(f->ifname));
	spin_unlock_irq(&fault_lock);
	return len;
}

static const struct file_operations ipoib_fault_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= ipoib_fault_read,
	.write	= ipoib_fault_write,
	.llseek	= default_llseek,
};

static ssize_t ipoib_transport_error_write(struct file *file,
					   const char __user *ubuf,
					   size_t len, loff_t *ppos)
{
	char ifname[IFNAMSIZ], what[8] = "qp";
	char buf[IFNAMSIZ + sizeof(what) + 2];
	struct net_device *dev;
	int n, end = 0, ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	n = sscanf(buf, "%15s %n%7s %n", ifname, &end, what, &end);
	if (n < 1 || buf[end])
		return -EINVAL;

	rtnl_lock();
	dev = __dev_get_by_name(&init_net, ifname);
	if (!dev || !ipoib_is_ipoib_dev(dev))
		ret = -ENODEV;
	else
		ret = ipoib_force_error(ipoib_priv(dev), what);
	rtnl_unlock();
	return ret ?: len;
}

static const struct file_operations ipoib_transport_error_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= ipoib_transport_error_write,
	.llseek	= default_llseek,
};

void ipoib_debugfs_init(void)
{
	struct dentry *dir;
	unsigned int i;

	ipoib_debug_root = debugfs_create_dir("ipoib", NULL);
	dir = debugfs_create_dir("fault", ipoib_debug_root);
	for (i = 0; i < IPOIB_FAULT_NR; i++)
		debugfs_create_file(ipoib_faults[i].name, 0600, dir,
				    &ipoib_faults[i], &ipoib_fault_fops);
	debugfs_create_file("transport_error", 0200, dir, NULL,
			    &ipoib_transport_error_fops);
}

void ipoib_debugfs_exit(void)
{
	debugfs_remove_recursive(ipoib_debug_root);
	ipoib_debug_root = NULL;
}

/* Per-interface files: ipoib/<ifname>_mcg and ipoib/<ifname>_path */

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
		if (path->ah)
			priv->fabric->path_show(m, path);
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

static void ipoib_debugfs_dev_add(struct ipoib_dev_priv *priv)
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

static void ipoib_debugfs_dev_del(struct ipoib_dev_priv *priv)
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
