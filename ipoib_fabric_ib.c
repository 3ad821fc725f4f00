// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the InfiniBand fabric back end.  Paths are resolved with SA
 * PathRecord queries and groups are joined through the core's SA multicast
 * layer, which shares one SA membership per port and group between users.
 */

#include <linux/bits.h>
#include <linux/ethtool.h>
#include <linux/completion.h>
#include <linux/if_infiniband.h>
#include <linux/netdevice.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <rdma/ib_cache.h>
#include <rdma/ib_sa.h>

#include "ipoib.h"

/* SA retries inside this budget; the shared code retries after it. */
#define IPOIB_SA_PATH_TIMEOUT_MS	1000

/* MCMemberRecord JoinState is a bit mask; the core enum numbers the bits. */
#define IPOIB_JOIN_FULL		BIT(FULLMEMBER_JOIN)
#define IPOIB_JOIN_SO_NON	BIT(SENDONLY_NONMEBER_JOIN)
#define IPOIB_JOIN_SO_FULL	BIT(SENDONLY_FULLMEMBER_JOIN)

#define IPOIB_PKEY_FULL		0x8000
#define IPOIB_PKEY_BASE		0x7fff

static struct ib_sa_client ipoib_sa_client;

int ipoib_fabric_ib_register(void)
{
	ib_sa_register_client(&ipoib_sa_client);
	return 0;
}

/* Waits until every query and join made through the client has ended. */
void ipoib_fabric_ib_unregister(void)
{
	ib_sa_unregister_client(&ipoib_sa_client);
}

static int ipoib_sa_init(struct ipoib_dev_priv *priv)
{
	/* Everything below needs a subnet administrator on the port. */
	if (!rdma_cap_ib_sa(priv->ca, priv->port))
		return -EOPNOTSUPP;
	return 0;
}

static void ipoib_sa_cleanup(struct ipoib_dev_priv *priv)
{
}

static int ipoib_sa_port_query(struct ipoib_dev_priv *priv)
{
	struct ib_port_attr attr;
	union ib_gid gid;
	unsigned long flags;
	u16 pkey, index = 0;
	bool pkey_ok;
	int mtu;
	int ret;

	ret = ib_query_port(priv->ca, priv->port, &attr);
	if (ret)
		return ret;

	/* A port that is not up yet may have no active MTU to report. */
	mtu = ib_mtu_enum_to_int(attr.active_mtu);
	if (mtu < 0)
		mtu = ib_mtu_enum_to_int(attr.max_mtu);
	if (mtu < 0)
		return -EINVAL;

	ret = rdma_query_gid(priv->ca, priv->port, 0, &gid);
	if (ret)
		return ret;

	/*
	 * A parent follows whatever the SM put at index 0.  A missing or
	 * invalid P_Key is a state, not a failure: the carrier stays off
	 * until a P_Key change event brings it into the table.
	 */
	pkey = priv->pkey;
	pkey_ok = true;
	if (!test_bit(IPOIB_FLAG_CHILD, &priv->flags)) {
		if (ib_query_pkey(priv->ca, priv->port, 0, &pkey)) {
			/* keep the old P_Key rather than invent one */
			pkey = priv->pkey;
			pkey_ok = false;
		} else {
			pkey |= IPOIB_PKEY_FULL;
		}
	}
	if (pkey_ok)
		pkey_ok = (pkey & IPOIB_PKEY_BASE) &&
			  !ib_find_pkey(priv->ca, priv->port, pkey, &index);

	/* path_resolve and mcast_join read these under priv->lock. */
	spin_lock_irqsave(&priv->lock, flags);
	priv->max_ib_mtu = mtu;
	priv->local_lid = attr.lid;
	priv->gid_index = 0;
	priv->local_gid = gid;
	priv->pkey = pkey;
	if (pkey_ok)
		priv->pkey_index = index;
	spin_unlock_irqrestore(&priv->lock, flags);

	if (pkey_ok) {
		set_bit(IPOIB_FLAG_PKEY_OK, &priv->flags);
	} else {
		clear_bit(IPOIB_FLAG_PKEY_OK, &priv->flags);
		ipoib_dbg(priv, "P_Key 0x%04x is not in the port's table\n",
			  pkey);
	}
	return 0;
}

static void ipoib_sa_path_done(int status, struct sa_path_rec *resp,
			       compat_sa_num_prs_t num_prs, void *context)
{
	struct ipoib_path *path = context;
	struct ipoib_dev_priv *priv = path->priv;
	netdevice_tracker tracker;
	struct rdma_ah_attr attr;
	unsigned long flags;

	if (!status && (!resp || !num_prs))
		status = -EHOSTUNREACH;

	if (!status) {
		/* Unidirectional queries only return outbound primaries. */
		spin_lock_irqsave(&priv->lock, flags);
		path->fab.ib.rec = resp[0];
		spin_unlock_irqrestore(&priv->lock, flags);
		status = ib_init_ah_attr_from_path(priv->ca, priv->port,
						   &resp[0], &attr, NULL);
	}

	if (!status) {
		ipoib_path_resolved(path, 0, &attr);
		rdma_destroy_ah_attr(&attr);
	} else {
		ipoib_dbg(priv, "path record for %pI6 failed: %d\n",
			  path->dgid.raw, status);
		ipoib_path_resolved(path, status, NULL);
	}

	/*
	 * Clearing the query and completing under priv->lock keeps
	 * path_resolve from starting a new query in between.  Once done
	 * is complete the path, and during teardown the interface, may go
	 * away, so the reference covers the unlock.
	 */
	netdev_hold(priv->dev, &tracker, GFP_ATOMIC);
	spin_lock_irqsave(&priv->lock, flags);
	path->fab.ib.query = NULL;
	complete(&path->done);
	spin_unlock_irqrestore(&priv->lock, flags);
	netdev_put(priv->dev, &tracker);
}

/* The SA's answer is the connection's primary path (priv->lock held). */
static int ipoib_sa_cm_path(struct ipoib_dev_priv *priv,
			    struct ipoib_path *path, struct sa_path_rec *rec,
			    const struct ib_gid_attr **sgid_attr)
{
	lockdep_assert_held(&priv->lock);
	if (!path->ah)
		return -EAGAIN;
	*rec = path->fab.ib.rec;
	*sgid_attr = NULL;
	return 0;
}

static int ipoib_sa_path_resolve(struct ipoib_dev_priv *priv,
				 struct ipoib_path *path)
{
	struct sa_path_rec req = {};
	int id;

	lockdep_assert_held(&priv->lock);

	/*
	 * The last answer is still being delivered and done belongs to it;
	 * it is completed as soon as that callback finishes.
	 */
	if (path->fab.ib.query)
		return -EBUSY;

	req.rec_type = SA_PATH_REC_TYPE_IB;
	req.dgid = path->dgid;
	req.sgid = priv->local_gid;
	req.pkey = cpu_to_be16(priv->pkey);
	req.numb_path = 1;
	req.reversible = 1;

	reinit_completion(&path->done);

	/*
	 * The callback can run on another CPU before this returns; it
	 * clears the query under priv->lock, which we hold, so it cannot
	 * race with storing the id.  REVERSIBLE stays out of the mask:
	 * with it the local SA would also hand back inbound records.
	 */
	id = ib_sa_path_rec_get(&ipoib_sa_client, priv->ca, priv->port, &req,
				IB_SA_PATH_REC_DGID | IB_SA_PATH_REC_SGID |
				IB_SA_PATH_REC_NUMB_PATH |
				IB_SA_PATH_REC_TRAFFIC_CLASS |
				IB_SA_PATH_REC_PKEY,
				IPOIB_SA_PATH_TIMEOUT_MS, GFP_ATOMIC,
				ipoib_sa_path_done, path, &path->fab.ib.query);
	if (id < 0) {
		ipoib_dbg(priv, "path record query for %pI6 not sent: %d\n",
			  path->dgid.raw, id);
		path->fab.ib.query = NULL;
		complete(&path->done);
		return id;
	}

	path->fab.ib.query_id = id;
	return 0;
}

static void ipoib_sa_path_cancel(struct ipoib_dev_priv *priv,
				 struct ipoib_path *path)
{
	unsigned long flags;

	might_sleep();

	/*
	 * Cancelling only marks the query; the callback still runs, with
	 * -EINTR, from the SA's own context, so holding the lock is safe.
	 */
	spin_lock_irqsave(&priv->lock, flags);
	if (path->fab.ib.query)
		ib_sa_cancel_query(path->fab.ib.query_id, path->fab.ib.query);
	spin_unlock_irqrestore(&priv->lock, flags);

	wait_for_completion(&path->done);
}

/*
 * Send-only full membership (8) lets the SM create the group but older SMs
 * reject it, and the core no longer exports the SA's capability bit.  So a
 * send-only join the SA refused is retried with the other send-only state.
 * The choice is kept in the saved record; a successful join writes the same
 * value back.  Called with priv->lock held.
 */
static u8 ipoib_sa_sendonly_state(const struct ipoib_mcast *mcast)
{
	if (mcast->fab.ib.rec.join_state == IPOIB_JOIN_SO_NON)
		return IPOIB_JOIN_SO_NON;
	return IPOIB_JOIN_SO_FULL;
}

static int ipoib_sa_join_done(int status, struct ib_sa_multicast *multicast)
{
	struct ipoib_mcast *mcast = multicast->context;
	struct ipoib_dev_priv *priv = mcast->priv;
	struct ib_sa_mcmember_rec rec = multicast->rec;
	struct ipoib_mcast_params p;
	unsigned long flags;
	int ret;

	/* Always return 0: a non-zero return makes the core free it. */
	if (status) {
		/* The SA refused it (-EINVAL); rec is still our request. */
		if (status == -EINVAL &&
		    (rec.join_state & (IPOIB_JOIN_SO_FULL | IPOIB_JOIN_SO_NON))) {
			spin_lock_irqsave(&priv->lock, flags);
			mcast->fab.ib.rec.join_state =
				rec.join_state == IPOIB_JOIN_SO_FULL ?
				IPOIB_JOIN_SO_NON : IPOIB_JOIN_SO_FULL;
			spin_unlock_irqrestore(&priv->lock, flags);
		}
		ipoib_mcast_join_done(mcast, status, NULL);
		return 0;
	}

	ret = ib_init_ah_from_mcmember(priv->ca, priv->port, &rec, NULL,
				       IB_GID_TYPE_IB, &p.ah_attr);
	if (ret) {
		ipoib_mcast_join_done(mcast, ret, NULL);
		return 0;
	}

	/* Other joins copy the broadcast group's record under the lock. */
	spin_lock_irqsave(&priv->lock, flags);
	mcast->fab.ib.rec = rec;
	spin_unlock_irqrestore(&priv->lock, flags);

	p.qkey = be32_to_cpu(rec.qkey);
	p.mlid = be16_to_cpu(rec.mlid);
	p.mtu = rec.mtu;
	ipoib_mcast_join_done(mcast, 0, &p);
	rdma_destroy_ah_attr(&p.ah_attr);
	return 0;
}

static void ipoib_sa_mcast_leave(struct ipoib_dev_priv *priv,
				 struct ipoib_mcast *mcast)
{
	struct ib_sa_multicast *mc;
	unsigned long flags;

	might_sleep();

	spin_lock_irqsave(&priv->lock, flags);
	mc = mcast->fab.ib.mc;
	mcast->fab.ib.mc = NULL;
	spin_unlock_irqrestore(&priv->lock, flags);

	/* Waits for a running callback; none is delivered afterwards. */
	if (mc)
		ib_sa_free_multicast(mc);
}

static int ipoib_sa_mcast_join(struct ipoib_dev_priv *priv,
			       struct ipoib_mcast *mcast)
{
	bool broadcast = ipoib_mcast_is_broadcast(priv, mcast);
	struct ib_sa_mcmember_rec rec = {};
	struct ib_sa_multicast *mc;
	ib_sa_comp_mask mask;
	unsigned long flags;

	/*
	 * A membership left from an earlier attempt (failed or reset) would
	 * leak and could still call back; drop it before asking again.
	 */
	ipoib_sa_mcast_leave(priv, mcast);

	rec.mgid = mcast->mgid;
	rec.join_state = IPOIB_JOIN_FULL;
	mask = IB_SA_MCMEMBER_REC_MGID | IB_SA_MCMEMBER_REC_PORT_GID |
	       IB_SA_MCMEMBER_REC_PKEY | IB_SA_MCMEMBER_REC_JOIN_STATE;

	spin_lock_irqsave(&priv->lock, flags);
	rec.port_gid = priv->local_gid;
	rec.pkey = cpu_to_be16(priv->pkey);

	/*
	 * The SM creates the broadcast group.  Any other group must match it
	 * (RFC 4391), so ask for its parameters; that also lets
	 * the SM create the group with them.
	 */
	if (!broadcast) {
		const struct ib_sa_mcmember_rec *b;

		if (!priv->broadcast ||
		    !test_bit(IPOIB_MCAST_JOINED, &priv->broadcast->flags)) {
			spin_unlock_irqrestore(&priv->lock, flags);
			return -EAGAIN;
		}
		b = &priv->broadcast->fab.ib.rec;

		rec.qkey = b->qkey;
		rec.mtu_selector = IB_SA_EQ;
		rec.mtu = b->mtu;
		rec.traffic_class = b->traffic_class;
		rec.rate_selector = IB_SA_EQ;
		rec.rate = b->rate;
		rec.packet_life_time_selector = IB_SA_EQ;
		rec.packet_life_time = b->packet_life_time;
		rec.sl = b->sl;
		rec.flow_label = b->flow_label;
		rec.hop_limit = b->hop_limit;
		mask |= IB_SA_MCMEMBER_REC_QKEY |
			IB_SA_MCMEMBER_REC_MTU_SELECTOR |
			IB_SA_MCMEMBER_REC_MTU |
			IB_SA_MCMEMBER_REC_TRAFFIC_CLASS |
			IB_SA_MCMEMBER_REC_RATE_SELECTOR |
			IB_SA_MCMEMBER_REC_RATE |
			IB_SA_MCMEMBER_REC_PACKET_LIFE_TIME_SELECTOR |
			IB_SA_MCMEMBER_REC_PACKET_LIFE_TIME |
			IB_SA_MCMEMBER_REC_SL |
			IB_SA_MCMEMBER_REC_FLOW_LABEL |
			IB_SA_MCMEMBER_REC_HOP_LIMIT;

		if (test_bit(IPOIB_MCAST_SENDONLY, &mcast->flags))
			rec.join_state = ipoib_sa_sendonly_state(mcast);
	}
	spin_unlock_irqrestore(&priv->lock, flags);

	/* The callback may run before this returns; it uses its argument. */
	mc = ib_sa_join_multicast(&ipoib_sa_client, priv->ca, priv->port,
				  &rec, mask, GFP_KERNEL, ipoib_sa_join_done,
				  mcast);
	if (IS_ERR(mc)) {
		ipoib_dbg_mcast(priv, "join of %pI6 not started: %ld\n",
				mcast->mgid.raw, PTR_ERR(mc));
		return PTR_ERR(mc);
	}

	spin_lock_irqsave(&priv->lock, flags);
	mcast->fab.ib.mc = mc;
	spin_unlock_irqrestore(&priv->lock, flags);
	return 0;
}

static bool ipoib_sa_mcast_user_joined(struct ipoib_dev_priv *priv,
				       const union ib_gid *mgid)
{
	struct ib_sa_mcmember_rec rec;
	union ib_gid gid = *mgid;	/* the core takes a non-const MGID */

	return !ib_sa_get_mcmember_rec(priv->ca, priv->port, &gid, &rec);
}

/* Lane speed times lane count, from the port's active attributes. */
static u32 ipoib_sa_link_speed(struct ipoib_dev_priv *priv)
{
	struct ib_port_attr attr;
	int width;
	u32 lane;

	if (ib_query_port(priv->ca, priv->port, &attr))
		return SPEED_UNKNOWN;

	switch (attr.active_speed) {
	case IB_SPEED_SDR:
		lane = 2500;
		break;
	case IB_SPEED_DDR:
		lane = 5000;
		break;
	case IB_SPEED_QDR:
	case IB_SPEED_FDR10:
		lane = 10000;
		break;
	case IB_SPEED_FDR:
		lane = 14000;
		break;
	case IB_SPEED_EDR:
		lane = 25000;
		break;
	case IB_SPEED_HDR:
		lane = 50000;
		break;
	case IB_SPEED_NDR:
		lane = 100000;
		break;
	default:
		return SPEED_UNKNOWN;
	}
	width = ib_width_enum_to_int(attr.active_width);
	return width > 0 ? lane * width : SPEED_UNKNOWN;
}

/* debugfs <ifname>_path: the resolved route (priv->lock held) */
static void ipoib_sa_path_show(struct seq_file *m, struct ipoib_path *path)
{
	seq_printf(m, "  DLID: 0x%04x  SL: %u  rate: %u\n",
		   be32_to_cpu(sa_path_get_dlid(&path->fab.ib.rec)),
		   path->fab.ib.rec.sl,
		   ib_rate_to_mbps(path->fab.ib.rec.rate));
}

const struct ipoib_fabric_ops ipoib_fabric_ib_ops = {
	.name			= "infiniband",
	.init			= ipoib_sa_init,
	.cleanup		= ipoib_sa_cleanup,
	.port_query		= ipoib_sa_port_query,
	.path_resolve		= ipoib_sa_path_resolve,
	.path_cancel		= ipoib_sa_path_cancel,
	.path_show		= ipoib_sa_path_show,
	.cm_path		= ipoib_sa_cm_path,
	.mcast_join		= ipoib_sa_mcast_join,
	.mcast_leave		= ipoib_sa_mcast_leave,
	.mcast_user_joined	= ipoib_sa_mcast_user_joined,
	.link_speed		= ipoib_sa_link_speed,
};
