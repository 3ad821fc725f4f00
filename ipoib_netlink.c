// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: rtnl_link_ops for "ipoib" links, with the in-tree driver's
 * IFLA_IPOIB_* attributes so that stock iproute2 works:
 *   ip link add link ib0 name ib0.8001 type ipoib pkey 0x8001
 */

#include <linux/if_link.h>
#include <net/rtnetlink.h>

#include "ipoib.h"

static const struct nla_policy ipoib_nl_policy[IFLA_IPOIB_MAX + 1] = {
	[IFLA_IPOIB_PKEY]	= { .type = NLA_U16 },
	[IFLA_IPOIB_MODE]	= { .type = NLA_U16 },
	[IFLA_IPOIB_UMCAST]	= { .type = NLA_U16 },
};

static int ipoib_nl_apply(struct ipoib_dev_priv *priv, struct nlattr *data[],
			  struct netlink_ext_ack *extack)
{
	bool registered = priv->dev->reg_state == NETREG_REGISTERED;
	u16 mode = IPOIB_MODE_DATAGRAM, umcast = 0;

	if (!data)
		return 0;
	if (data[IFLA_IPOIB_MODE])
		mode = nla_get_u16(data[IFLA_IPOIB_MODE]);
	if (data[IFLA_IPOIB_UMCAST]) {
		umcast = nla_get_u16(data[IFLA_IPOIB_UMCAST]);
		if (umcast > 1) {
			NL_SET_ERR_MSG_ATTR(extack, data[IFLA_IPOIB_UMCAST],
					    "umcast is 0 or 1");
			return -EINVAL;
		}
	}
	if (mode != IPOIB_MODE_DATAGRAM && mode != IPOIB_MODE_CONNECTED) {
		NL_SET_ERR_MSG_ATTR(extack, data[IFLA_IPOIB_MODE],
				    "mode is datagram (0) or connected (1)");
		return -EINVAL;
	}
	/* a new link learns what its port can do in ndo_init */
	if (mode == IPOIB_MODE_CONNECTED && registered && !priv->cm.supported) {
		NL_SET_ERR_MSG_ATTR(extack, data[IFLA_IPOIB_MODE],
				    "the port cannot do connected mode");
		return -EOPNOTSUPP;
	}

	/*
	 * Everything checked: now change state.  The mode goes first; when
	 * it fails (its MTU could not be applied) it changed nothing, and
	 * neither does the rest.
	 */
	if (data[IFLA_IPOIB_MODE]) {
		if (registered) {
			int ret = ipoib_set_mode(priv,
						 mode == IPOIB_MODE_CONNECTED,
						 extack);

			if (ret)
				return ret;
		} else if (mode == IPOIB_MODE_CONNECTED) {
			set_bit(IPOIB_FLAG_ADMIN_CM, &priv->flags);
		}
	}
	if (data[IFLA_IPOIB_UMCAST]) {
		if (umcast)
			set_bit(IPOIB_FLAG_UMCAST, &priv->flags);
		else
			clear_bit(IPOIB_FLAG_UMCAST, &priv->flags);
	}
	return 0;
}

static int ipoib_nl_changelink(struct net_device *dev, struct nlattr *tb[],
			       struct nlattr *data[],
			       struct netlink_ext_ack *extack)
{
	if (data && data[IFLA_IPOIB_PKEY]) {
		NL_SET_ERR_MSG_ATTR(extack, data[IFLA_IPOIB_PKEY],
				    "the P_Key of an interface cannot change");
		return -EOPNOTSUPP;
	}
	return ipoib_nl_apply(ipoib_priv(dev), data, extack);
}

static int ipoib_nl_newlink(struct net *src_net, struct net_device *dev,
			    struct nlattr *tb[], struct nlattr *data[],
			    struct netlink_ext_ack *extack)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev), *ppriv;
	struct net_device *pdev;
	u16 pkey;
	int ret;

	if (!tb[IFLA_LINK]) {
		NL_SET_ERR_MSG(extack, "an ipoib link needs a parent (link DEV)");
		return -EINVAL;
	}
	pdev = __dev_get_by_index(src_net, nla_get_u32(tb[IFLA_LINK]));
	if (!pdev) {
		NL_SET_ERR_MSG(extack, "parent device not found");
		return -ENODEV;
	}
	if (!ipoib_is_ipoib_dev(pdev)) {
		NL_SET_ERR_MSG(extack, "the parent is not an IPoIB interface");
		return -EOPNOTSUPP;
	}
	ppriv = ipoib_priv(pdev);

	pkey = ppriv->pkey;
	if (data && data[IFLA_IPOIB_PKEY]) {
		pkey = nla_get_u16(data[IFLA_IPOIB_PKEY]);
		if (!ipoib_pkey_valid(pkey)) {
			NL_SET_ERR_MSG_ATTR(extack, data[IFLA_IPOIB_PKEY],
					    "P_Key must be 0x0001-0xffff, not 0x8000");
			return -EINVAL;
		}
	}

	ipoib_child_setup(priv, ppriv, pkey);
	ret = ipoib_nl_apply(priv, data, extack);
	if (ret)
		return ret;
	return ipoib_child_register(priv, extack);
}

static void ipoib_nl_dellink(struct net_device *dev, struct list_head *head)
{
	/* ports go away with their RDMA device, not through netlink */
	if (!test_bit(IPOIB_FLAG_CHILD, &ipoib_priv(dev)->flags))
		return;
	unregister_netdevice_queue(dev, head);
}

static size_t ipoib_nl_get_size(const struct net_device *dev)
{
	return nla_total_size(2) +	/* IFLA_IPOIB_PKEY */
	       nla_total_size(2) +	/* IFLA_IPOIB_MODE */
	       nla_total_size(2);	/* IFLA_IPOIB_UMCAST */
}

static int ipoib_nl_fill_info(struct sk_buff *skb,
			      const struct net_device *dev)
{
	struct ipoib_dev_priv *priv = ipoib_priv(dev);

	if (nla_put_u16(skb, IFLA_IPOIB_PKEY, priv->pkey) ||
	    nla_put_u16(skb, IFLA_IPOIB_MODE,
			ipoib_cm_admin(priv) ? IPOIB_MODE_CONNECTED :
					       IPOIB_MODE_DATAGRAM) ||
	    nla_put_u16(skb, IFLA_IPOIB_UMCAST,
			test_bit(IPOIB_FLAG_UMCAST, &priv->flags)))
		return -EMSGSIZE;
	return 0;
}

struct rtnl_link_ops ipoib_link_ops __read_mostly = {
	.kind		= "ipoib",
	.netns_refund	= true,	/* back to init_net when a namespace dies */
	.maxtype	= IFLA_IPOIB_MAX,
	.policy		= ipoib_nl_policy,
	.priv_size	= sizeof(struct ipoib_dev_priv),
	.setup		= ipoib_setup,
	.newlink	= ipoib_nl_newlink,
	.changelink	= ipoib_nl_changelink,
	.dellink	= ipoib_nl_dellink,
	.get_size	= ipoib_nl_get_size,
	.fill_info	= ipoib_nl_fill_info,
};
