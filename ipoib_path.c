// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: address handles, neighbours (one per 20-byte destination
 * address) and paths (one per destination GID), and the reaper that
 * garbage-collects them on the interface's workqueue.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rtnetlink.h>
#include <net/arp.h>
#include <net/neighbour.h>

#include "ipoib.h"

/* Address handles */

struct ipoib_ah *ipoib_create_ah(struct ipoib_dev_priv *priv,
				 struct rdma_ah_attr *attr)
{
	struct ipoib_ah *ah;
	struct ib_ah *ibah;

	ah = kzalloc(sizeof(*ah), GFP_KERNEL);
	if (!ah)
		return ERR_PTR(-ENOMEM);

	ibah = rdma_create_ah(priv->pd, attr, RDMA_CREATE_AH_SLEEPABLE);
	if (IS_ERR(ibah)) {
		kfree(ah);
		return ERR_CAST(ibah);
	}
	atomic_inc(&priv->ah_count);
	ah->priv = priv;
	ah->ah = ibah;
	kref_init(&ah->ref);
	/* never used yet: reapable as soon as it dies */
	ah->last_send = READ_ONCE(priv->tx_tail);
	return ah;
}

void ipoib_ah_release(struct kref *ref)
{
	struct ipoib_ah *ah = container_of(ref, struct ipoib_ah, ref);
	struct ipoib_dev_priv *priv = ah->priv;
	unsigned long flags;

	spin_lock_irqsave(&priv->dead_lock, flags);
	list_add_tail(&ah->list, &priv->dead_ahs);
	spin_unlock_irqrestore(&priv->dead_lock, flags);
}

/*
 * Destroy dead address handles whose sends have all completed.  Senders
 * use an AH inside an RCU read section and record last_send there, so one
 * grace period after an AH was unlinked its last_send is final.  With @all
 * the send queue is known to be empty (the QP is drained).  The grace
 * period is synchronize_net()'s: expedited under rtnl (the interface going
 * down), normal from the reap task.
 */
void ipoib_reap_dead_ahs(struct ipoib_dev_priv *priv, bool all)
{
	struct ipoib_ah *ah, *tmp;
	LIST_HEAD(batch);

	spin_lock_irq(&priv->dead_lock);
	list_splice_init(&priv->dead_ahs, &batch);
	spin_unlock_irq(&priv->dead_lock);

	if (list_empty(&batch))
		return;

	synchronize_net();

	list_for_each_entry_safe(ah, tmp, &batch, list) {
		if (!all &&
		    (int)(READ_ONCE(priv->tx_tail) - ah->last_send) < 0)
			continue;
		list_del(&ah->list);
		rdma_destroy_ah(ah->ah, RDMA_DESTROY_AH_SLEEPABLE);
		atomic_dec(&priv->ah_count);
		kfree(ah);
	}

	if (!list_empty(&batch)) {
		spin_lock_irq(&priv->dead_lock);
		list_splice(&batch, &priv->dead_ahs);
		spin_unlock_irq(&priv->dead_lock);
	}
}

/* Neighbours: one per 20-byte destination address */

/*
 * Unhash and free @neigh; queued packets are dropped.  priv->lock held.
 * Its address handle reference is dropped here, not in an RCU callback:
 * the dead AH then waits in priv->dead_ahs, where the reaper's grace
 * period covers senders that still see it, and teardown destroys it
 * before the PD.  Only the neighbour's memory waits for RCU.
 */
static void ipoib_neigh_kill(struct ipoib_dev_priv *priv,
			     struct ipoib_neigh *neigh)
{
	struct ipoib_ah *ah;

	lockdep_assert_held(&priv->lock);

	if (neigh->dead)
		return;
	neigh->dead = true;
	priv->neigh_count--;
	rhashtable_remove_fast(&priv->neigh_table, &neigh->node,
			       ipoib_neigh_params);
	list_del(&neigh->list);
	ipoib_cm_neigh_detach(priv, neigh);
	DEV_STATS_ADD(priv->dev, tx_dropped, skb_queue_len(&neigh->queue));
	__skb_queue_purge(&neigh->queue);
	ah = rcu_replace_pointer(neigh->ah, NULL, lockdep_is_held(&priv->lock));
	if (ah)
		ipoib_put_ah(ah);
	kfree_rcu(neigh, rcu);
}

struct ipoib_neigh *ipoib_neigh_create(struct ipoib_dev_priv *priv,
				       const u8 *daddr,
				       struct ipoib_path *path)
{
	struct ipoib_neigh *neigh, *old;

	lockdep_assert_held(&priv->lock);

	neigh = kzalloc(sizeof(*neigh), GFP_ATOMIC);
	if (!neigh)
		return NULL;
	memcpy(neigh->daddr, daddr, IPOIB_ALEN);
	skb_queue_head_init(&neigh->queue);
	neigh->path = path;
	neigh->alive = jiffies;
	if (path->ah) {
		kref_get(&path->ah->ref);
		RCU_INIT_POINTER(neigh->ah, path->ah);
	}

	old = rhashtable_lookup_get_insert_fast(&priv->neigh_table,
						&neigh->node,
						ipoib_neigh_params);
	if (old) {
		/* cannot happen while priv->lock serialises creation */
		if (path->ah)
			ipoib_put_ah(path->ah);
		kfree(neigh);
		return IS_ERR(old) ? NULL : old;
	}
	list_add_tail(&neigh->list, &path->neigh_list);
	priv->neigh_count++;
	return neigh;
}

/*
 * Garbage-collect neighbours idle for longer than the ARP table's stale
 * time, and paths nobody uses any more, on the ARP table's GC interval.
 */
static bool ipoib_neigh_gc(struct ipoib_dev_priv *priv)
{
	unsigned long stale = NEIGH_VAR(&arp_tbl.parms, GC_STALETIME);
	struct ipoib_path *path, *ptmp;
	struct ipoib_neigh *neigh, *tmp;
	LIST_HEAD(dead_paths);
	unsigned long flags;

	if (time_before(jiffies, priv->neigh_gc_at))
		return false;
	priv->neigh_gc_at = jiffies + max_t(unsigned long,
					    READ_ONCE(arp_tbl.gc_interval), HZ);

	spin_lock_irqsave(&priv->lock, flags);
	list_for_each_entry_safe(path, ptmp, &priv->path_list, list) {
		list_for_each_entry_safe(neigh, tmp, &path->neigh_list, list)
			if (time_after(jiffies, READ_ONCE(neigh->alive) + stale))
				ipoib_neigh_kill(priv, neigh);
		if (list_empty(&path->neigh_list) && !path->resolving) {
			rb_erase(&path->rb, &priv->path_tree);
			priv->path_count--;
			path->dead = true;
			list_move_tail(&path->list, &dead_paths);
		}
	}
	spin_unlock_irqrestore(&priv->lock, flags);

	list_for_each_entry_safe(path, ptmp, &dead_paths, list) {
		list_del(&path->list);
		priv->fabric->path_cancel(priv, path);
		if (path->ah)
			ipoib_put_ah(path->ah);
		kfree(path);
	}
	return true;
}

/* Paths: one per destination GID */

static struct ipoib_path *ipoib_path_find(struct ipoib_dev_priv *priv,
					  const union ib_gid *gid)
{
	struct rb_node *n = priv->path_tree.rb_node;

	while (n) {
		struct ipoib_path *path = rb_entry(n, struct ipoib_path, rb);
		int cmp = memcmp(gid->raw, path->dgid.raw, sizeof(*gid));

		if (cmp < 0)
			n = n->rb_left;
		else if (cmp > 0)
			n = n->rb_right;
		else
			return path;
	}
	return NULL;
}

static void ipoib_path_insert(struct ipoib_dev_priv *priv,
			      struct ipoib_path *path)
{
	struct rb_node **n = &priv->path_tree.rb_node, *parent = NULL;

	while (*n) {
		struct ipoib_path *p = rb_entry(*n, struct ipoib_path, rb);
		int cmp = memcmp(path->dgid.raw, p->dgid.raw,
				 sizeof(path->dgid));

		parent = *n;
		n = cmp < 0 ? &(*n)->rb_left : &(*n)->rb_right;
	}
	rb_link_node(&path->rb, parent, n);
	rb_insert_color(&path->rb, &priv->path_tree);
	list_add_tail(&path->list, &priv->path_list);
}

struct ipoib_path *ipoib_path_get(struct ipoib_dev_priv *priv,
				  const union ib_gid *gid)
{
	struct ipoib_path *path;

	lockdep_assert_held(&priv->lock);

	path = ipoib_path_find(priv, gid);
	if (path)
		return path;

	if (priv->path_count >= READ_ONCE(ipoib_max_paths)) {
		priv->tx_path_refused++;
		return NULL;
	}
	path = kzalloc(sizeof(*path), GFP_ATOMIC);
	if (!path)
		return NULL;
	path->priv = priv;
	path->dgid = *gid;
	INIT_LIST_HEAD(&path->neigh_list);
	init_completion(&path->done);
	complete(&path->done);
	ipoib_path_insert(priv, path);
	priv->path_count++;
	return path;
}

/* Start resolving @path unless it is busy or failed a moment ago. */
void ipoib_path_start(struct ipoib_dev_priv *priv, struct ipoib_path *path)
{
	lockdep_assert_held(&priv->lock);

	if (path->resolving || path->ah)
		return;
	if (path->last_try && time_before(jiffies, path->last_try + HZ))
		return;
	path->last_try = jiffies;
	path->resolving = true;
	if (ipoib_fault_inject_atomic(priv, IPOIB_FAULT_PATH) ||
	    priv->fabric->path_resolve(priv, path))
		path->resolving = false;
}

void ipoib_path_resolved(struct ipoib_path *path, int status,
			 struct rdma_ah_attr *attr)
{
	struct ipoib_dev_priv *priv = path->priv;
	struct ipoib_ah *ah = NULL, *old = NULL;
	struct ipoib_neigh *neigh;
	struct sk_buff_head ready;
	struct sk_buff *skb;
	unsigned long flags;

	__skb_queue_head_init(&ready);

	if (!status) {
		ah = ipoib_create_ah(priv, attr);
		if (IS_ERR(ah)) {
			status = PTR_ERR(ah);
			ah = NULL;
		}
	}
	if (status)
		ipoib_dbg(priv, "path %pI6 not resolved: %d\n",
			  path->dgid.raw, status);

	spin_lock_irqsave(&priv->lock, flags);
	path->resolving = false;
	if (path->dead) {
		spin_unlock_irqrestore(&priv->lock, flags);
		if (ah)
			ipoib_put_ah(ah);
		return;
	}

	if (ah) {
		old = path->ah;
		path->ah = ah;
		path->last_try = 0;
	}
	list_for_each_entry(neigh, &path->neigh_list, list) {
		if (ah) {
			struct ipoib_ah *prev;

			kref_get(&ah->ref);
			prev = rcu_replace_pointer(neigh->ah, ah,
						   lockdep_is_held(&priv->lock));
			if (prev)
				ipoib_put_ah(prev);
			skb_queue_splice_tail_init(&neigh->queue, &ready);
		} else {
			DEV_STATS_ADD(priv->dev, tx_dropped,
				      skb_queue_len(&neigh->queue));
			__skb_queue_purge(&neigh->queue);
		}
	}
	spin_unlock_irqrestore(&priv->lock, flags);

	if (old)
		ipoib_put_ah(old);

	/* queued skbs still carry their pseudo header: send them again */
	while ((skb = __skb_dequeue(&ready))) {
		skb->dev = priv->dev;
		if (dev_queue_xmit(skb))
			ipoib_dbg(priv, "requeue after path resolution failed\n");
	}
}

/*
 * Forget every path's address handle so the next send resolves again
 * (after SM, LID or GID changes).  Neighbours go too: they cache the AH.
 */
void ipoib_invalidate_paths(struct ipoib_dev_priv *priv)
{
	struct ipoib_path *path;
	struct ipoib_neigh *neigh, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	list_for_each_entry(path, &priv->path_list, list) {
		list_for_each_entry_safe(neigh, tmp, &path->neigh_list, list)
			ipoib_neigh_kill(priv, neigh);
		if (path->ah) {
			ipoib_put_ah(path->ah);
			path->ah = NULL;
		}
		path->last_try = 0;
	}
	spin_unlock_irqrestore(&priv->lock, flags);
}

/* Drop every path and neighbour; waits for outstanding resolutions. */
void ipoib_flush_paths(struct ipoib_dev_priv *priv)
{
	struct ipoib_path *path, *tmp;
	struct ipoib_neigh *neigh, *ntmp;
	LIST_HEAD(dead);
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	list_for_each_entry_safe(path, tmp, &priv->path_list, list) {
		list_for_each_entry_safe(neigh, ntmp, &path->neigh_list, list)
			ipoib_neigh_kill(priv, neigh);
		rb_erase(&path->rb, &priv->path_tree);
		priv->path_count--;
		path->dead = true;
		list_move_tail(&path->list, &dead);
	}
	spin_unlock_irqrestore(&priv->lock, flags);

	list_for_each_entry_safe(path, tmp, &dead, list) {
		list_del(&path->list);
		priv->fabric->path_cancel(priv, path);
		if (path->ah)
			ipoib_put_ah(path->ah);
		kfree(path);
	}
}

static void ipoib_reap_work(struct work_struct *work)
{
	struct ipoib_dev_priv *priv =
		container_of(work, struct ipoib_dev_priv, reap_task.work);

	ipoib_reap_dead_ahs(priv, false);
	ipoib_cm_reap(priv);
	if (ipoib_neigh_gc(priv) && ipoib_rtnl_lock_or_bail(priv)) {
		ipoib_mcast_reap_sendonly(priv);
		rtnl_unlock();
	}
	if (test_bit(IPOIB_FLAG_OPER_UP, &priv->flags))
		queue_delayed_work(priv->wq, &priv->reap_task,
				   IPOIB_REAP_INTERVAL);
}

/* At allocation (ipoib_setup()): empty tables and the reaper. */
void ipoib_path_setup(struct ipoib_dev_priv *priv)
{
	spin_lock_init(&priv->dead_lock);
	INIT_LIST_HEAD(&priv->path_list);
	INIT_LIST_HEAD(&priv->dead_ahs);
	priv->path_tree = RB_ROOT;
	INIT_DELAYED_WORK(&priv->reap_task, ipoib_reap_work);
}
