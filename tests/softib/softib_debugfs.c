// SPDX-License-Identifier: GPL-2.0
/*
 * softib test knobs in debugfs:
 *
 *   /sys/kernel/debug/softib/<hca>/port<P>/link     HCA port P's cable
 *   /sys/kernel/debug/softib/switch/port<P>/link    switch port P's cable
 *   /sys/kernel/debug/softib/<hca>/rc               RC messages, as responder
 *   /sys/kernel/debug/softib/mad                    SMA error answers, drops
 *
 * link reads 1 while the cable is plugged in (the port trains when it can)
 * and 0 while pulled; writing 0 pulls it (both ends DOWN, Polling), writing
 * 1 plugs it back (both ends train to LinkUp and wait in INIT for the SM).
 * rc (read only) counts the RC messages the HCA accepted (rx), answered
 * with an RNR NAK (rnr) and dropped (lost), one "name value" per line.
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
	u64 rx, rnr, lost;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	rx = hca->rc_rx;
	rnr = hca->rc_rnr;
	lost = hca->rc_lost;
	spin_unlock_irqrestore(&fab->lock, flags);
	seq_printf(m, "rx %llu\nrnr %llu\nlost %llu\n", rx, rnr, lost);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rc);

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
}

/*
 * After the HCAs are registered (their names are known).  debugfs errors
 * are not fatal: the knobs are missing, the subnet works.
 */
void sib_debugfs_init(struct sib_fabric *fab)
{
	struct dentry *root, *d;
	int i, p;

	root = debugfs_create_dir("softib", NULL);
	if (IS_ERR(root))
		return;
	fab->debugfs = root;
	for (i = 0; i < fab->nhcas; i++) {
		struct sib_hca *hca = fab->hcas[i];

		d = debugfs_create_dir(dev_name(&hca->ibdev.dev), root);
		for (p = 0; p < hca->node.nports; p++)
			add_port(d, &hca->ports[p]);
		debugfs_create_file("rc", 0400, d, hca, &rc_fops);
	}
	debugfs_create_file("mad", 0400, root, fab, &mad_fops);
	d = debugfs_create_dir("switch", root);
	for (p = 1; p <= fab->sw->node.nports; p++)
		add_port(d, &fab->sw->ports[p]);
}

/* Before the HCAs go: returns once no knob's handler runs any more. */
void sib_debugfs_exit(struct sib_fabric *fab)
{
	debugfs_remove_recursive(fab->debugfs);
	fab->debugfs = NULL;
}
