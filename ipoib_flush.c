// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: IB events of the port and the flush tasks they raise, on the
 * global ipoib_flush_wq: light (paths and groups forgotten), normal (the
 * interface down and up), heavy (also a new address or P_Key).  A parent's
 * flush also flushes its children.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

#include "ipoib.h"

enum ipoib_flush_level {
	IPOIB_FLUSH_GID,	/* only if our GID, P_Key or its index changed */
	IPOIB_FLUSH_LIGHT,
	IPOIB_FLUSH_NORMAL,
	IPOIB_FLUSH_HEAVY,
};

static void ipoib_event(struct ib_event_handler *handler,
			struct ib_event *event)
{
	struct ipoib_dev_priv *priv =
		container_of(handler, struct ipoib_dev_priv, event_handler);
	struct work_struct *work;

	if (event->element.port_num != priv->port)
		return;

	switch (event->event) {
	case IB_EVENT_SM_CHANGE:
	case IB_EVENT_CLIENT_REREGISTER:
		work = &priv->flush_light;
		break;
	case IB_EVENT_GID_CHANGE:
		/* on RoCE every IP address change of the netdev raises it */
	case IB_EVENT_PKEY_CHANGE:
		/*
		 * The SM rewrote the P_Key table, usually for someone else's
		 * partition: an interface whose P_Key did not come or go or
		 * move keeps running (a heavy flush if it did).
		 */
		work = &priv->flush_gid;
		break;
	case IB_EVENT_PORT_ERR:
	case IB_EVENT_PORT_ACTIVE:
	case IB_EVENT_LID_CHANGE:
		work = &priv->flush_normal;
		break;
	default:
		return;
	}
	ipoib_dbg(priv, "event %s: queueing flush\n",
		  ib_event_msg(event->event));
	queue_work(ipoib_flush_wq, work);
}

/*
 * Flush tasks run on the global flush queue and take rtnl, unless the
 * interface is being unregistered: ipoib_dev_uninit() clears INITIALIZED
 * (holding rtnl) before it cancels them.
 */
static bool ipoib_flush_rtnl_lock(struct ipoib_dev_priv *priv)
{
	while (!rtnl_trylock()) {
		if (!test_bit(IPOIB_FLAG_INITIALIZED, &priv->flags))
			return false;
		schedule_timeout_uninterruptible(1);
	}
	if (!test_bit(IPOIB_FLAG_INITIALIZED, &priv->flags)) {
		rtnl_unlock();
		return false;
	}
	return true;
}

static void ipoib_flush_one(struct ipoib_dev_priv *priv,
			    enum ipoib_flush_level level)
{
	struct net_device *dev = priv->dev;
	union ib_gid old_gid = priv->local_gid;
	u16 old_pkey = priv->pkey;
	u16 old_index = priv->pkey_index;
	bool had_pkey = test_bit(IPOIB_FLAG_PKEY_OK, &priv->flags);

	if (priv->fabric->port_query(priv)) {
		ipoib_warn(priv, "port query failed during flush\n");
		level = IPOIB_FLUSH_NORMAL;
	}
	if (memcmp(&old_gid, &priv->local_gid, sizeof(old_gid)) ||
	    old_pkey != priv->pkey || old_index != priv->pkey_index ||
	    had_pkey != test_bit(IPOIB_FLAG_PKEY_OK, &priv->flags))
		level = IPOIB_FLUSH_HEAVY;

	ipoib_dbg(priv, "flush level %d\n", level);
	if (level == IPOIB_FLUSH_GID)
		return;

	if (level == IPOIB_FLUSH_LIGHT) {
		if (!test_bit(IPOIB_FLAG_OPER_UP, &priv->flags)) {
			ipoib_ib_up(priv);
			return;
		}
		/* forget paths and groups; rejoin from the broadcast group */
		ipoib_invalidate_paths(priv);
		ipoib_mcast_rejoin(priv);
		return;
	}

	ipoib_ib_down(priv);
	if (level == IPOIB_FLUSH_HEAVY) {
		u8 addr[IPOIB_ALEN];

		memcpy(addr, dev->dev_addr, IPOIB_ALEN);
		memcpy(addr + 4, priv->local_gid.raw, sizeof(priv->local_gid));
		if (memcmp(addr, dev->dev_addr, IPOIB_ALEN)) {
			dev_addr_set(dev, addr);
			call_netdevice_notifiers(NETDEV_CHANGEADDR, dev);
		}
		ipoib_build_broadcast(dev->broadcast, priv->pkey);
	}
	ipoib_ib_up(priv);
}

static void ipoib_flush(struct ipoib_dev_priv *priv,
			enum ipoib_flush_level level)
{
	struct ipoib_dev_priv *child;

	ipoib_fault_inject(priv, IPOIB_FAULT_FLUSH);
	if (!ipoib_flush_rtnl_lock(priv))
		return;

	ipoib_flush_one(priv, level);
	mutex_lock(&priv->child_lock);
	list_for_each_entry(child, &priv->children, child_list)
		ipoib_flush_one(child, level);
	mutex_unlock(&priv->child_lock);

	rtnl_unlock();
}

static void ipoib_flush_gid_work(struct work_struct *work)
{
	ipoib_flush(container_of(work, struct ipoib_dev_priv, flush_gid),
		    IPOIB_FLUSH_GID);
}

static void ipoib_flush_light_work(struct work_struct *work)
{
	ipoib_flush(container_of(work, struct ipoib_dev_priv, flush_light),
		    IPOIB_FLUSH_LIGHT);
}

static void ipoib_flush_normal_work(struct work_struct *work)
{
	ipoib_flush(container_of(work, struct ipoib_dev_priv, flush_normal),
		    IPOIB_FLUSH_NORMAL);
}

/* At allocation (ipoib_setup()). */
void ipoib_flush_setup(struct ipoib_dev_priv *priv)
{
	INIT_WORK(&priv->flush_gid, ipoib_flush_gid_work);
	INIT_WORK(&priv->flush_light, ipoib_flush_light_work);
	INIT_WORK(&priv->flush_normal, ipoib_flush_normal_work);
}

/* From ipoib_dev_init(): a parent listens; its children get its flushes. */
void ipoib_flush_start(struct ipoib_dev_priv *priv)
{
	if (!test_bit(IPOIB_FLAG_CHILD, &priv->flags)) {
		INIT_IB_EVENT_HANDLER(&priv->event_handler, priv->ca,
				      ipoib_event);
		ib_register_event_handler(&priv->event_handler);
	}
}

/*
 * From ipoib_dev_uninit(), rtnl held: no more events, and no flush task
 * running or queued on return.
 */
void ipoib_flush_stop(struct ipoib_dev_priv *priv)
{
	if (!test_bit(IPOIB_FLAG_CHILD, &priv->flags))
		ib_unregister_event_handler(&priv->event_handler);
	/* flush tasks see this and give up waiting for rtnl */
	clear_bit(IPOIB_FLAG_INITIALIZED, &priv->flags);
	cancel_work_sync(&priv->flush_gid);
	cancel_work_sync(&priv->flush_light);
	cancel_work_sync(&priv->flush_normal);
}
