// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: fault injection through debugfs, in the spirit of netdevsim.
 *
 *   /sys/kernel/debug/ipoib/fault/<site>
 *
 * Writing "COUNT ERRNO [DELAY_MS [IFNAME]]" makes the next COUNT operations
 * at that site fail with -ERRNO; ERRNO 0 lets them succeed after DELAY_MS.
 * With IFNAME, only operations of the interface of that name count, so that
 * a busy sibling cannot take a fault meant for another interface.  Delays
 * apply where the site may sleep (mcast_join, qp_create, cq_create,
 * srq_create); the others (path_resolve, rx_alloc) run in atomic context and
 * only fail.  mcast_done turns a join completion into a failure with
 * -ERRNO (0: the completion keeps its own status) and holds back, by
 * DELAY_MS, the arming of the join task that follows it; it runs on the
 * interface's workqueue (RoCE) or in ib_sa's callback (InfiniBand),
 * never under rtnl.  Reading shows "COUNT ERRNO DELAY_MS injected N", followed by
 * "dev IFNAME" when the site is limited to one interface.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "ipoib.h"

struct ipoib_fault {
	const char *name;
	unsigned int count;
	int err;
	unsigned int delay_ms;
	unsigned long injected;
	char ifname[IFNAMSIZ];	/* empty: any interface */
};

/* fault_lock guards every site's counters; a leaf, irq-safe */
static DEFINE_SPINLOCK(fault_lock);

static struct ipoib_fault ipoib_faults[IPOIB_FAULT_NR] = {
	[IPOIB_FAULT_MCAST_JOIN]	= { .name = "mcast_join" },
	[IPOIB_FAULT_PATH]		= { .name = "path_resolve" },
	[IPOIB_FAULT_QP_CREATE]		= { .name = "qp_create" },
	[IPOIB_FAULT_CQ_CREATE]		= { .name = "cq_create" },
	[IPOIB_FAULT_RX_ALLOC]		= { .name = "rx_alloc" },
	[IPOIB_FAULT_SRQ_CREATE]	= { .name = "srq_create" },
	[IPOIB_FAULT_MCAST_DONE]	= { .name = "mcast_done" },
};

static struct dentry *ipoib_debug_root;

struct dentry *ipoib_debugfs_root(void)
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

int ipoib_fault_inject(struct ipoib_dev_priv *priv,
		       enum ipoib_fault_site site)
{
	unsigned int delay;
	int err = ipoib_fault_take(priv, site, &delay);

	if (delay)
		msleep(delay);
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
	if (n < 2 || buf[end] || err > MAX_ERRNO || delay > 60000)
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

void ipoib_debugfs_init(void)
{
	struct dentry *dir;
	unsigned int i;

	ipoib_debug_root = debugfs_create_dir("ipoib", NULL);
	dir = debugfs_create_dir("fault", ipoib_debug_root);
	for (i = 0; i < IPOIB_FAULT_NR; i++)
		debugfs_create_file(ipoib_faults[i].name, 0600, dir,
				    &ipoib_faults[i], &ipoib_fault_fops);
}

void ipoib_debugfs_exit(void)
{
	debugfs_remove_recursive(ipoib_debug_root);
	ipoib_debug_root = NULL;
}
