// SPDX-License-Identifier: GPL-2.0
/*
 * softib test knobs in debugfs:
 *
 *   /sys/kernel/debug/softib/<hca>/port<P>/link     HCA port P's cable
 *   /sys/kernel/debug/softib/switch/port<P>/link    switch port P's cable
 *   /sys/kernel/debug/softib/<hca>/rc               RC messages
 *   .../port<P>/drop, delay, counters                 (HCA and switch ports)
 *   /sys/kernel/debug/softib/slot<N>/present        HCA index N plugged in
 *   /sys/kernel/debug/softib/mad                    SMA error answers, drops
 *
 * link reads 1 while the cable is plugged in (the port trains when it can)
 * and 0 while pulled; writing 0 pulls it (both ends DOWN, Polling), writing
 * 1 plugs it back (both ends train to LinkUp and wait in INIT for the SM).
 * rc (read only) counts the RC messages the HCA accepted (rx), answered
 * with an RNR NAK (rnr) and dropped (lost) as responder, and as requester
 * sent again after an ack timeout (retry) or an RNR NAK (rnr_retry) and
 * failed with IB_WC_RETRY_EXC_ERR (retry_exc), one "name value" per line.
 * drop (percent, 0-100) and delay (microseconds, 0-1000000) apply to the
 * packets crossing the port's cable either way, SMPs excepted (see
 * softib_wire.c); counters (read only) has the port's counters.
 * present reads 1 while slot N holds an HCA; writing 0 hot-removes it (as a
 * PCI removal: ib_unregister_device, then its cables pulled), writing 1
 * plugs a fresh one back (same GUIDs, name softib<N>).  The write returns
 * when that is done.  A <hca> directory exists while its HCA does.
 * mad (read only) counts the MADs softib's SMAs and the switch's QP1
 * answered with an error status (rejected) and the malformed ones they
 * dropped (dropped), in the same format.
 */
#include <linux/seq_file.h>
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>

#include "softib.h"

static ssize_t link_read(struct file *f, char __user *buf, size_t len,
			 loff_t *pos)
{
	struct sib_port *p = file_inode(f)->i_private;
	unsigned long flags;
	char s[3];

	spin_lock_irqsave(&p->node->fab->lock, flags);
	s[0] = p->unplugged ? '0' : '1';
	spin_unlock_irqrestore(&p->node->fab->lock, flags);
	s[1] = '\n';
	s[2] = 0;
	return simple_read_from_buffer(buf, len, pos, s, 2);
}

static ssize_t link_write(struct file *f, const char __user *buf, size_t len,
			  loff_t *pos)
{
	struct sib_port *p = file_inode(f)->i_private;
	bool up;
	int ret;

	ret = kstrtobool_from_user(buf, len, &up);
	if (ret)
		return ret;
	sib_port_set_link(p, up);
	return len;
}

static const struct file_operations link_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = link_read,
	.write = link_write,
	.llseek = default_llseek,
};

static int rc_show(struct seq_file *m, void *unused)
{
	struct sib_hca *hca = m->private;
	struct sib_fabric *fab = hca->node.fab;
	u64 rx, rnr, lost, retry, rnr_retry, retry_exc;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	rx = hca->rc_rx;
	rnr = hca->rc_rnr;
	lost = hca->rc_lost;
	retry = hca->rc_retry;
	rnr_retry = hca->rc_rnr_retry;
	retry_exc = hca->rc_retry_exc;
	spin_unlock_irqrestore(&fab->lock, flags);
	seq_printf(m, "rx %llu\nrnr %llu\nlost %llu\n", rx, rnr, lost);
	seq_printf(m, "retry %llu\nrnr_retry %llu\nretry_exc %llu\n",
		   retry, rnr_retry, retry_exc);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rc);

/* A port's loss knob: drop (percent) or delay (microseconds). */
static ssize_t loss_read(struct sib_port *p, bool delay, char __user *buf,
			 size_t len, loff_t *pos)
{
	unsigned long flags;
	char s[16];
	u32 v;

	spin_lock_irqsave(&p->node->fab->lock, flags);
	v = delay ? p->delay_us : p->drop_pct;
	spin_unlock_irqrestore(&p->node->fab->lock, flags);
	return simple_read_from_buffer(buf, len, pos, s,
				       scnprintf(s, sizeof(s), "%u\n", v));
}

static ssize_t loss_write(struct sib_port *p, bool delay,
			  const char __user *buf, size_t len)
{
	unsigned long flags;
	u32 v;
	int ret;

	ret = kstrtou32_from_user(buf, len, 0, &v);
	if (ret)
		return ret;
	if (v > (delay ? SIB_DELAY_MAX_US : SIB_DROP_MAX))
		return -ERANGE;
	spin_lock_irqsave(&p->node->fab->lock, flags);
	if (delay)
		p->delay_us = v;
	else
		p->drop_pct = v;
	spin_unlock_irqrestore(&p->node->fab->lock, flags);
	return len;
}

static ssize_t drop_read(struct file *f, char __user *buf, size_t len,
			 loff_t *pos)
{
	return loss_read(file_inode(f)->i_private, false, buf, len, pos);
}

static ssize_t drop_write(struct file *f, const char __user *buf, size_t len,
			  loff_t *pos)
{
	return loss_write(file_inode(f)->i_private, false, buf, len);
}

static ssize_t delay_read(struct file *f, char __user *buf, size_t len,
			  loff_t *pos)
{
	return loss_read(file_inode(f)->i_private, true, buf, len, pos);
}

static ssize_t delay_write(struct file *f, const char __user *buf, size_t len,
			   loff_t *pos)
{
	return loss_write(file_inode(f)->i_private, true, buf, len);
}

static const struct file_operations drop_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = drop_read,
	.write = drop_write,
	.llseek = default_llseek,
};

static const struct file_operations delay_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = delay_read,
	.write = delay_write,
	.llseek = default_llseek,
};

/* A port's counters, one "name value" a line. */
static int counters_show(struct seq_file *m, void *unused)
{
	struct sib_port *p = m->private;
	u64 v[9];
	unsigned long flags;

	spin_lock_irqsave(&p->node->fab->lock, flags);
	v[0] = p->xmit_pkts;
	v[1] = p->rcv_pkts;
	v[2] = p->xmit_discards;
	v[3] = p->rcv_errors;
	v[4] = p->loss_dropped;
	v[5] = p->loss_delayed;
	v[6] = p->delay_full;
	v[7] = p->delayq_len;
	v[8] = p->pkey_violations;
	spin_unlock_irqrestore(&p->node->fab->lock, flags);
	seq_printf(m, "xmit_pkts %llu\nrcv_pkts %llu\n", v[0], v[1]);
	seq_printf(m, "xmit_discards %llu\nrcv_errors %llu\n", v[2], v[3]);
	seq_printf(m, "dropped %llu\ndelayed %llu\ndelay_full %llu\n",
		   v[4], v[5], v[6]);
	seq_printf(m, "held %llu\npkey_violations %llu\n", v[7], v[8]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counters);

static int mad_show(struct seq_file *m, void *unused)
{
	struct sib_fabric *fab = m->private;
	u64 rejected, dropped;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	rejected = fab->mad_rejected;
	dropped = fab->mad_dropped;
	spin_unlock_irqrestore(&fab->lock, flags);
	seq_printf(m, "rejected %llu\ndropped %llu\n", rejected, dropped);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mad);

static void add_port(struct dentry *dir, struct sib_port *p)
{
	char name[16];
	struct dentry *d;

	snprintf(name, sizeof(name), "port%u", p->num);
	d = debugfs_create_dir(name, dir);
	debugfs_create_file("link", 0600, d, p, &link_fops);
	debugfs_create_file("drop", 0600, d, p, &drop_fops);
	debugfs_create_file("delay", 0600, d, p, &delay_fops);
	debugfs_create_file("counters", 0400, d, p, &counters_fops);
}

static ssize_t present_read(struct file *f, char __user *buf, size_t len,
			    loff_t *pos)
{
	struct sib_slot *slot = file_inode(f)->i_private;
	struct sib_fabric *fab = slot->fab;
	char s[3];

	mutex_lock(&fab->hotplug_lock);
	s[0] = fab->hcas[slot->index] ? '1' : '0';
	mutex_unlock(&fab->hotplug_lock);
	s[1] = '\n';
	s[2] = 0;
	return simple_read_from_buffer(buf, len, pos, s, 2);
}

static ssize_t present_write(struct file *f, const char __user *buf,
			     size_t len, loff_t *pos)
{
	struct sib_slot *slot = file_inode(f)->i_private;
	bool plug;
	int ret;

	ret = kstrtobool_from_user(buf, len, &plug);
	if (ret)
		return ret;
	if (plug)
		ret = sib_hca_add(slot->fab, slot->index);
	else
		ret = sib_hca_remove(slot->fab, slot->index);
	return ret ? ret : len;
}

/* .owner: an open knob pins the module, so unload never races a write */
static const struct file_operations present_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = present_read,
	.write = present_write,
	.llseek = default_llseek,
};

/*
 * softib/<hca>/ for a registered HCA (its name is known).  fab->hotplug_lock
 * held, or the fabric not live yet.
 */
void sib_debugfs_hca_add(struct sib_fabric *fab, struct sib_hca *hca)
{
	struct dentry *d;
	int p;

	if (!fab->debugfs)
		return;
	d = debugfs_create_dir(dev_name(&hca->ibdev.dev), fab->debugfs);
	if (IS_ERR(d))
		return;
	hca->debugfs = d;
	for (p = 0; p < hca->node.nports; p++)
		add_port(d, &hca->ports[p]);
	debugfs_create_file("rc", 0400, d, hca, &rc_fops);
}

/* Before the HCA goes: returns once none of its knobs' handlers runs. */
void sib_debugfs_hca_remove(struct sib_hca *hca)
{
	debugfs_remove_recursive(hca->debugfs);
	hca->debugfs = NULL;
}

/*
 * After the HCAs are registered (their names are known).  debugfs errors
 * are not fatal: the knobs are missing, the subnet works.
 */
void sib_debugfs_init(struct sib_fabric *fab)
{
	struct dentry *root, *d;
	char name[16];
	int i, p;

	root = debugfs_create_dir("softib", NULL);
	if (IS_ERR(root))
		return;
	fab->debugfs = root;
	for (i = 0; i < fab->nhcas; i++) {
		sib_debugfs_hca_add(fab, fab->hcas[i]);
		snprintf(name, sizeof(name), "slot%d", i);
		d = debugfs_create_dir(name, root);
		debugfs_create_file("present", 0600, d, &fab->slots[i],
				    &present_fops);
	}
	debugfs_create_file("mad", 0400, root, fab, &mad_fops);
	d = debugfs_create_dir("switch", root);
	for (p = 1; p <= fab->sw->node.nports; p++)
		add_port(d, &fab->sw->ports[p]);
}

/*
 * Before the HCAs go (no knob is open: each pins the module).  The HCAs'
 * directories go with the rest.
 */
void sib_debugfs_exit(struct sib_fabric *fab)
{
	int i;

	debugfs_remove_recursive(fab->debugfs);
	fab->debugfs = NULL;
	for (i = 0; i < fab->nhcas; i++)
		if (fab->hcas[i])
			fab->hcas[i]->debugfs = NULL;
}
