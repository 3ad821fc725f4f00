// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: every sysfs attribute of an interface (pkey, umcast, mode,
 * and create_child/delete_child/parent for P_Key children), with the
 * in-tree driver's names and formats so that existing tools keep working.
 */

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

#include "ipoib.h"

static struct ipoib_dev_priv *to_priv(struct device *d)
{
	return ipoib_priv(to_net_dev(d));
}

static ssize_t pkey_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", to_priv(d)->pkey);
}
static DEVICE_ATTR_RO(pkey);

static ssize_t umcast_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  test_bit(IPOIB_FLAG_UMCAST, &to_priv(d)->flags));
}

static ssize_t umcast_store(struct device *d, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct ipoib_dev_priv *priv = to_priv(d);
	unsigned int on;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	/* 0 or 1 and nothing else, as the attribute reads */
	if (kstrtouint(buf, 10, &on) || on > 1)
		return -EINVAL;
	if (on)
		set_bit(IPOIB_FLAG_UMCAST, &priv->flags);
	else
		clear_bit(IPOIB_FLAG_UMCAST, &priv->flags);
	return count;
}
static DEVICE_ATTR_RW(umcast);

static ssize_t mode_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", ipoib_cm_admin(to_priv(d)) ?
			  "connected" : "datagram");
}

static ssize_t mode_store(struct device *d, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct ipoib_dev_priv *priv = to_priv(d);
	bool connected;
	int ret;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (sysfs_streq(buf, "connected"))
		connected = true;
	else if (sysfs_streq(buf, "datagram"))
		connected = false;
	else
		return -EINVAL;

	/* as for create_child: never sleep on rtnl under the sysfs lock */
	if (!rtnl_trylock())
		return restart_syscall();
	ret = ipoib_set_mode(priv, connected, NULL);
	rtnl_unlock();
	return ret ?: count;
}
static DEVICE_ATTR_RW(mode);

/* create_child / delete_child on a parent, parent on a child */

/* Who may write, and which P_Key was written; nothing changes before this. */
static int ipoib_child_attr_pkey(const char *buf, u16 *pkey)
{
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	return ipoib_parse_pkey(buf, pkey);
}

static ssize_t create_child_store(struct device *d,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct ipoib_dev_priv *ppriv = ipoib_priv(to_net_dev(d));
	char name[IFNAMSIZ];
	struct net_device *dev;
	u16 pkey;
	int ret;

	ret = ipoib_child_attr_pkey(buf, &pkey);
	if (ret)
		return ret;

	/* sysfs removal of this attribute waits for us under rtnl */
	if (!rtnl_trylock())
		return restart_syscall();

	/* the parent's name is stable under rtnl */
	if (snprintf(name, sizeof(name), "%s.%04x", ppriv->dev->name, pkey) >=
	    sizeof(name)) {
		ret = -EINVAL;
		goto out;
	}
	dev = ipoib_alloc_netdev(name);
	if (!dev) {
		ret = -ENOMEM;
		goto out;
	}
	ipoib_child_setup(ipoib_priv(dev), ppriv, pkey);
	ipoib_priv(dev)->sysfs_child = true;
	ret = ipoib_child_register(ipoib_priv(dev), NULL);
	if (ret)
		free_netdev(dev);
out:
	rtnl_unlock();
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(create_child);

static ssize_t delete_child_store(struct device *d,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct ipoib_dev_priv *ppriv = ipoib_priv(to_net_dev(d));
	struct ipoib_dev_priv *priv;
	u16 pkey;
	int ret;

	ret = ipoib_child_attr_pkey(buf, &pkey);
	if (ret)
		return ret;

	if (!rtnl_trylock())
		return restart_syscall();

	mutex_lock(&ppriv->child_lock);
	/* netlink children are deleted through netlink, as in-tree */
	priv = ipoib_find_sysfs_child(ppriv, pkey);
	mutex_unlock(&ppriv->child_lock);
	if (priv)
		unregister_netdevice(priv->dev);
	rtnl_unlock();

	return priv ? count : -ENODEV;
}
static DEVICE_ATTR_WO(delete_child);

static ssize_t parent_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct ipoib_dev_priv *priv = ipoib_priv(to_net_dev(d));

	return sysfs_emit(buf, "%s\n", priv->parent->dev->name);
}
static DEVICE_ATTR_RO(parent);

static struct attribute *ipoib_attrs[] = {
	&dev_attr_pkey.attr,
	&dev_attr_umcast.attr,
	&dev_attr_mode.attr,
	&dev_attr_create_child.attr,
	&dev_attr_delete_child.attr,
	&dev_attr_parent.attr,
	NULL,
};

/* create_child/delete_child on parents, parent on children */
static umode_t ipoib_attr_visible(struct kobject *kobj, struct attribute *attr,
				  int n)
{
	struct ipoib_dev_priv *priv = ipoib_priv(to_net_dev(kobj_to_dev(kobj)));
	bool child = test_bit(IPOIB_FLAG_CHILD, &priv->flags);

	if (attr == &dev_attr_parent.attr)
		return child ? attr->mode : 0;
	if (attr == &dev_attr_create_child.attr ||
	    attr == &dev_attr_delete_child.attr)
		return child ? 0 : attr->mode;
	return attr->mode;
}

/* the core allows one driver group per net_device (sysfs_groups[0]) */
const struct attribute_group ipoib_attr_group = {
	.attrs = ipoib_attrs,
	.is_visible = ipoib_attr_visible,
};
