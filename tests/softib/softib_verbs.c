// SPDX-License-Identifier: GPL-2.0
/*
 * softib verbs: PD, AH, CQ, SRQ, UD-style QPs (SMI, GSI, UD) and RC QPs
 * (SEND and SEND with immediate; the wire side of RC is in softib_wire.c).
 *
 * Buffers are kernel virtual addresses (the device has no dma_device, so
 * ib_uses_virt_dma() is true and ib_dma_map_*() returns the address).
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <rdma/ib_verbs.h>
#include <rdma/ib_mad.h>

#include "softib.h"

static struct sib_fabric *hca_fab(struct sib_hca *hca)
{
	return hca->node.fab;
}

static int sib_query_device(struct ib_device *ibdev, struct ib_device_attr *a,
			    struct ib_udata *udata)
{
	struct sib_hca *hca = to_hca(ibdev);

	if (udata && (udata->inlen || udata->outlen))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->fw_ver = 1;
	a->sys_image_guid = cpu_to_be64(hca->node.sys_guid);
	a->max_mr_size = U64_MAX;
	a->page_size_cap = PAGE_SIZE;
	a->vendor_id = 0;
	a->vendor_part_id = 0x5101;
	a->hw_ver = 1;
	a->max_qp = SIB_MAX_QP;
	a->max_qp_wr = SIB_MAX_WR;
	a->kernel_cap_flags = IBK_LOCAL_DMA_LKEY;
	a->max_send_sge = SIB_MAX_SGE;
	a->max_recv_sge = SIB_MAX_SGE;
	a->max_sge_rd = SIB_MAX_SGE;
	a->max_cq = 4 * SIB_MAX_QP;
	a->max_cqe = SIB_MAX_CQE;
	a->max_pd = SIB_MAX_QP;
	a->max_ah = 64 * SIB_MAX_QP;
	a->max_mcast_grp = SIB_MAX_MCAST;
	a->max_mcast_qp_attach = SIB_MAX_MCAST_QPS;
	a->max_total_mcast_qp_attach = SIB_MAX_MCAST;
	a->max_pkeys = SIB_HCA_PKEYS;
	a->local_ca_ack_delay = 15;
	a->device_cap_flags = IB_DEVICE_RC_RNR_NAK_GEN;
	a->max_qp_rd_atom = SIB_MAX_RD_ATOM;
	a->max_qp_init_rd_atom = SIB_MAX_RD_ATOM;
	a->max_res_rd_atom = SIB_MAX_RD_ATOM * SIB_MAX_QP;
	a->max_srq = SIB_MAX_SRQ;
	a->max_srq_wr = SIB_MAX_WR;
	a->max_srq_sge = SIB_MAX_SGE;
	return 0;
}

static int sib_modify_device(struct ib_device *ibdev, int mask,
			     struct ib_device_modify *m)
{
	struct sib_hca *hca = to_hca(ibdev);
	unsigned long flags;

	if (mask & ~IB_DEVICE_MODIFY_NODE_DESC)
		return -EOPNOTSUPP;
	spin_lock_irqsave(&hca->node.fab->lock, flags);
	if (mask & IB_DEVICE_MODIFY_NODE_DESC) {
		memcpy(ibdev->node_desc, m->node_desc, IB_DEVICE_NODE_DESC_MAX);
		memcpy(hca->node.desc, m->node_desc, IB_DEVICE_NODE_DESC_MAX);
	}
	spin_unlock_irqrestore(&hca->node.fab->lock, flags);
	return 0;
}

static struct sib_port *hca_port(struct sib_hca *hca, u32 port_num)
{
	if (port_num < 1 || port_num > hca->node.nports)
		return NULL;
	return &hca->ports[port_num - 1];
}

static int sib_query_port(struct ib_device *ibdev, u32 port_num,
			  struct ib_port_attr *a)
{
	struct sib_hca *hca = to_hca(ibdev);
	struct sib_port *p = hca_port(hca, port_num);
	unsigned long flags;

	if (!p)
		return -EINVAL;
	/* the core has zeroed *a */
	spin_lock_irqsave(&hca->node.fab->lock, flags);
	a->subnet_prefix = p->gid_prefix;
	a->state = p->state;
	a->max_mtu = IB_MTU_4096;
	a->active_mtu = p->state >= IB_PORT_INIT && p->neighbor_mtu ?
			min_t(int, p->neighbor_mtu, IB_MTU_4096) : IB_MTU_4096;
	a->phys_mtu = SIB_MTU_BYTES;
	a->gid_tbl_len = 1;
	a->port_cap_flags = p->cap_mask;
	a->max_msg_sz = SIB_MAX_MSG;	/* RC; UD is limited by the MTU */
	a->bad_pkey_cntr = p->pkey_violations;
	a->qkey_viol_cntr = p->qkey_violations;
	a->pkey_tbl_len = SIB_HCA_PKEYS;
	a->sm_lid = p->sm_lid;
	a->lid = p->lid;
	a->lmc = p->lmc;
	a->max_vl_num = 1;
	a->sm_sl = p->sm_sl;
	a->subnet_timeout = p->subnet_timeout;
	a->active_width = IB_WIDTH_4X;
	a->active_speed = IB_SPEED_QDR;
	a->phys_state = p->phys;
	spin_unlock_irqrestore(&hca->node.fab->lock, flags);
	return 0;
}

static int sib_get_port_immutable(struct ib_device *ibdev, u32 port_num,
				  struct ib_port_immutable *im)
{
	if (!hca_port(to_hca(ibdev), port_num))
		return -EINVAL;
	im->pkey_tbl_len = SIB_HCA_PKEYS;
	im->gid_tbl_len = 1;
	im->core_cap_flags = RDMA_CORE_PORT_IBA_IB;
	im->max_mad_size = IB_MGMT_MAD_SIZE;
	return 0;
}

static int sib_query_gid(struct ib_device *ibdev, u32 port_num, int index,
			 union ib_gid *gid)
{
	struct sib_hca *hca = to_hca(ibdev);
	struct sib_port *p = hca_port(hca, port_num);
	unsigned long flags;

	if (!p || index != 0)
		return -EINVAL;
	spin_lock_irqsave(&hca->node.fab->lock, flags);
	gid->global.subnet_prefix = cpu_to_be64(p->gid_prefix);
	gid->global.interface_id = cpu_to_be64(hca->node.node_guid + port_num);
	spin_unlock_irqrestore(&hca->node.fab->lock, flags);
	return 0;
}

static int sib_query_pkey(struct ib_device *ibdev, u32 port_num, u16 index,
			  u16 *pkey)
{
	struct sib_hca *hca = to_hca(ibdev);
	struct sib_port *p = hca_port(hca, port_num);
	unsigned long flags;

	if (!p || index >= SIB_HCA_PKEYS)
		return -EINVAL;
	spin_lock_irqsave(&hca->node.fab->lock, flags);
	*pkey = p->pkeys[index];
	spin_unlock_irqrestore(&hca->node.fab->lock, flags);
	return 0;
}

static int sib_modify_port(struct ib_device *ibdev, u32 port_num, int mask,
			   struct ib_port_modify *m)
{
	struct sib_hca *hca = to_hca(ibdev);
	struct sib_port *p = hca_port(hca, port_num);
	unsigned long flags;

	if (!p)
		return -EINVAL;
	spin_lock_irqsave(&hca->node.fab->lock, flags);
	p->cap_mask |= m->set_port_cap_mask;
	p->cap_mask &= ~m->clr_port_cap_mask;
	if (mask & IB_PORT_RESET_QKEY_CNTR)
		p->qkey_violations = 0;
	spin_unlock_irqrestore(&hca->node.fab->lock, flags);
	return 0;
}

static int sib_alloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	atomic_inc(&to_hca(ibpd->device)->npds);
	return 0;
}

static int sib_dealloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	atomic_dec(&to_hca(ibpd->device)->npds);
	return 0;
}

/*
 * Memory regions: only the all-of-memory DMA MR kernel users ask for (the
 * core requires the three MR verbs of every kernel verbs provider).  Local
 * keys are not checked: buffers are kernel virtual addresses.
 */
static struct ib_mr *sib_get_dma_mr(struct ib_pd *pd, int access)
{
	struct ib_mr *mr = kzalloc(sizeof(*mr), GFP_KERNEL);

	if (!mr)
		return ERR_PTR(-ENOMEM);
	return mr;
}

static struct ib_mr *sib_reg_user_mr(struct ib_pd *pd, u64 start, u64 length,
				     u64 virt, int access, struct ib_udata *udata)
{
	return ERR_PTR(-EOPNOTSUPP);	/* no userspace verbs */
}

static int sib_dereg_mr(struct ib_mr *mr, struct ib_udata *udata)
{
	kfree(mr);
	return 0;
}

static int sib_create_ah(struct ib_ah *ibah, struct rdma_ah_init_attr *init,
			 struct ib_udata *udata)
{
	struct sib_ah *ah = container_of(ibah, struct sib_ah, ibah);
	struct sib_hca *hca = to_hca(ibah->device);

	if (init->ah_attr->type != RDMA_AH_ATTR_TYPE_IB ||
	    !hca_port(hca, rdma_ah_get_port_num(init->ah_attr)))
		return -EINVAL;
	ah->attr = *init->ah_attr;
	/* the GID attribute reference belongs to the core; keep no pointer */
	ah->attr.grh.sgid_attr = NULL;
	atomic_inc(&hca->nahs);
	return 0;
}

/*
 * ib_mad matches a LID-routed response to its request only if it can read
 * the request's address back (rcv_has_same_gid()); without this every
 * response to a LID-routed SMP or a GMP (SA query) is dropped as a stray.
 * The core has set attr->type and cleared grh.sgid_attr; none is taken.
 */
static int sib_query_ah(struct ib_ah *ibah, struct rdma_ah_attr *attr)
{
	const struct sib_ah *ah = container_of(ibah, struct sib_ah, ibah);

	*attr = ah->attr;
	attr->grh.sgid_attr = NULL;
	return 0;
}

static int sib_destroy_ah(struct ib_ah *ibah, u32 flags)
{
	atomic_dec(&to_hca(ibah->device)->nahs);
	return 0;
}

static int sib_create_cq(struct ib_cq *ibcq, const struct ib_cq_init_attr *attr,
			 SIB_CREATE_CQ_ARG)
{
	struct sib_cq *cq = to_cq(ibcq);

	if (attr->flags || attr->cqe < 1 || attr->cqe > SIB_MAX_CQE)
		return -EINVAL;
	spin_lock_init(&cq->lock);
	cq->size = attr->cqe;
	cq->q = kvcalloc(cq->size, sizeof(*cq->q), GFP_KERNEL);
	if (!cq->q)
		return -ENOMEM;
	ibcq->cqe = attr->cqe;
	atomic_inc(&to_hca(ibcq->device)->ncqs);
	return 0;
}

static int sib_destroy_cq(struct ib_cq *ibcq, struct ib_udata *udata)
{
	struct sib_cq *cq = to_cq(ibcq);

	kvfree(cq->q);
	atomic_dec(&to_hca(ibcq->device)->ncqs);
	return 0;
}

/*
 * Queue one completion and, if the consumer armed the CQ, call its handler.
 * Called only from the wire's work item (never from a verb's caller), with
 * bottom halves disabled around the handler as a driver's interrupt path
 * would have them.
 */
void sib_cq_push(struct sib_cq *cq, const struct ib_wc *wc, bool solicited)
{
	unsigned long flags;
	bool fire = false;

	spin_lock_irqsave(&cq->lock, flags);
	if (cq->count == cq->size) {
		cq->overflows++;
		spin_unlock_irqrestore(&cq->lock, flags);
		if (cq->ibcq.event_handler) {
			struct ib_event ev = {
				.device = cq->ibcq.device,
				.event = IB_EVENT_CQ_ERR,
				.element.cq = &cq->ibcq,
			};

			cq->ibcq.event_handler(&ev, cq->ibcq.cq_context);
		}
		return;
	}
	cq->q[(cq->head + cq->count) % cq->size] = *wc;
	cq->count++;
	if (cq->notify == IB_CQ_NEXT_COMP ||
	    (cq->notify == IB_CQ_SOLICITED && solicited)) {
		cq->notify = 0;
		fire = true;
	}
	spin_unlock_irqrestore(&cq->lock, flags);
	if (fire && cq->ibcq.comp_handler) {
		local_bh_disable();
		cq->ibcq.comp_handler(&cq->ibcq, cq->ibcq.cq_context);
		local_bh_enable();
	}
}

static int sib_poll_cq(struct ib_cq *ibcq, int n, struct ib_wc *wc)
{
	struct sib_cq *cq = to_cq(ibcq);
	unsigned long flags;
	int i;

	spin_lock_irqsave(&cq->lock, flags);
	for (i = 0; i < n && cq->count; i++) {
		wc[i] = cq->q[cq->head];
		cq->head = (cq->head + 1) % cq->size;
		cq->count--;
	}
	spin_unlock_irqrestore(&cq->lock, flags);
	return i;
}

static int sib_req_notify_cq(struct ib_cq *ibcq, enum ib_cq_notify_flags f)
{
	struct sib_cq *cq = to_cq(ibcq);
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&cq->lock, flags);
	if (cq->notify != IB_CQ_NEXT_COMP)
		cq->notify = f & IB_CQ_SOLICITED_MASK;
	if ((f & IB_CQ_REPORT_MISSED_EVENTS) && cq->count)
		ret = 1;
	spin_unlock_irqrestore(&cq->lock, flags);
	return ret;
}

static int sib_create_srq(struct ib_srq *ibsrq, struct ib_srq_init_attr *init,
			  struct ib_udata *udata)
{
	struct sib_srq *srq = to_srq(ibsrq);

	if (udata || init->srq_type != IB_SRQT_BASIC)
		return -EOPNOTSUPP;
	if (!init->attr.max_wr || init->attr.max_wr > SIB_MAX_WR ||
	    init->attr.max_sge > SIB_MAX_SGE ||
	    init->attr.srq_limit > init->attr.max_wr)
		return -EINVAL;
	spin_lock_init(&srq->lock);
	srq->size = init->attr.max_wr;
	srq->max_sge = max_t(u32, init->attr.max_sge, 1);
	srq->limit = init->attr.srq_limit;
	srq->rq = kvcalloc(srq->size, sizeof(*srq->rq), GFP_KERNEL);
	if (!srq->rq)
		return -ENOMEM;
	init->attr.max_sge = srq->max_sge;
	atomic_inc(&to_hca(ibsrq->device)->nsrqs);
	return 0;
}

/* No resizing (IB_DEVICE_SRQ_RESIZE is not offered); the limit can be armed. */
static int sib_modify_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr,
			  enum ib_srq_attr_mask mask, struct ib_udata *udata)
{
	struct sib_srq *srq = to_srq(ibsrq);
	unsigned long flags;

	if (udata)
		return -EOPNOTSUPP;
	if ((mask & IB_SRQ_MAX_WR) ||
	    ((mask & IB_SRQ_LIMIT) && attr->srq_limit > srq->size))
		return -EINVAL;
	if (mask & IB_SRQ_LIMIT) {
		spin_lock_irqsave(&srq->lock, flags);
		srq->limit = attr->srq_limit;
		spin_unlock_irqrestore(&srq->lock, flags);
	}
	return 0;
}

static int sib_query_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr)
{
	struct sib_srq *srq = to_srq(ibsrq);
	unsigned long flags;

	spin_lock_irqsave(&srq->lock, flags);
	attr->max_wr = srq->size;
	attr->max_sge = srq->max_sge;
	attr->srq_limit = srq->limit;
	spin_unlock_irqrestore(&srq->lock, flags);
	return 0;
}

/* The core keeps an SRQ alive while a QP uses it (usecnt). */
static int sib_destroy_srq(struct ib_srq *ibsrq, struct ib_udata *udata)
{
	struct sib_srq *srq = to_srq(ibsrq);

	kvfree(srq->rq);
	atomic_dec(&to_hca(ibsrq->device)->nsrqs);
	return 0;
}

static int sib_post_srq_recv(struct ib_srq *ibsrq, const struct ib_recv_wr *wr,
			     const struct ib_recv_wr **bad)
{
	struct sib_srq *srq = to_srq(ibsrq);
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&srq->lock, flags);
	for (; wr; wr = wr->next) {
		struct sib_rwqe *w;

		if (wr->num_sge < 0 || wr->num_sge > srq->max_sge)
			ret = -EINVAL;
		else if (srq->count == srq->size)
			ret = -ENOMEM;
		if (ret) {
			*bad = wr;
			break;
		}
		w = &srq->rq[(srq->head + srq->count) % srq->size];
		w->wr_id = wr->wr_id;
		w->num_sge = wr->num_sge;
		memcpy(w->sg, wr->sg_list, wr->num_sge * sizeof(*wr->sg_list));
		srq->count++;
	}
	spin_unlock_irqrestore(&srq->lock, flags);
	return ret;
}

static int sib_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
			 struct ib_udata *udata)
{
	struct sib_hca *hca = to_hca(ibqp->device);
	struct sib_fabric *fab = hca_fab(hca);
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_qp **slot = NULL;
	unsigned long flags;
	bool numbered;
	int ret;

	if (udata)
		return -EOPNOTSUPP;
	if (init->create_flags || init->cap.max_inline_data ||
	    (init->srq && init->qp_type != IB_QPT_RC))
		return -EOPNOTSUPP;
	if (init->qp_type != IB_QPT_SMI && init->qp_type != IB_QPT_GSI &&
	    init->qp_type != IB_QPT_UD && init->qp_type != IB_QPT_RC)
		return -EOPNOTSUPP;
	if (init->cap.max_send_wr > SIB_MAX_WR ||
	    init->cap.max_recv_wr > SIB_MAX_WR ||
	    init->cap.max_send_sge > SIB_MAX_SGE ||
	    init->cap.max_recv_sge > SIB_MAX_SGE)
		return -EINVAL;
	numbered = init->qp_type == IB_QPT_UD || init->qp_type == IB_QPT_RC;
	if (!numbered && !hca_port(hca, init->port_num))
		return -EINVAL;

	spin_lock_init(&qp->lock);
	INIT_LIST_HEAD(&qp->flush_node);
	INIT_LIST_HEAD(&qp->sq);
	qp->hca = hca;
	qp->state = IB_QPS_RESET;
	qp->sig_all = init->sq_sig_type == IB_SIGNAL_ALL_WR;
	qp->port = numbered ? 1 : init->port_num;
	qp->srq = init->srq ? to_srq(init->srq) : NULL;
	qp->sq_size = max_t(u32, init->cap.max_send_wr, 1);
	qp->rq_size = max_t(u32, init->cap.max_recv_wr, 1);
	qp->rq = kvcalloc(qp->rq_size, sizeof(*qp->rq), GFP_KERNEL);
	if (!qp->rq)
		return -ENOMEM;

	if (numbered) {
		/*
		 * QPNs go round (a hint, racy but harmless), as a real HCA's
		 * do: ib_cm refuses a connection from a QPN it still holds
		 * in timewait (stale connection), so an immediate reuse hurts.
		 */
		ret = ida_alloc_range(&hca->qpn_ida,
				      max_t(u32, READ_ONCE(hca->qpn_next), 2),
				      0xffffff, GFP_KERNEL);
		if (ret == -ENOSPC)
			ret = ida_alloc_range(&hca->qpn_ida, 2, 0xffffff,
					      GFP_KERNEL);
		if (ret < 0)
			goto err_rq;
		WRITE_ONCE(hca->qpn_next, ret + 1);
		ibqp->qp_num = ret;
		ret = xa_insert_irq(&hca->qps, ibqp->qp_num, qp, GFP_KERNEL);
		if (ret)
			goto err_qpn;
	} else {
		ibqp->qp_num = init->qp_type == IB_QPT_SMI ? 0 : 1;
		slot = init->qp_type == IB_QPT_SMI ? &hca->qp0[qp->port - 1] :
						     &hca->qp1[qp->port - 1];
		spin_lock_irqsave(&fab->lock, flags);
		ret = *slot ? -EBUSY : 0;
		if (!ret)
			*slot = qp;
		spin_unlock_irqrestore(&fab->lock, flags);
		if (ret)
			goto err_rq;
	}
	init->cap.max_send_wr = qp->sq_size;
	init->cap.max_recv_wr = qp->srq ? 0 : qp->rq_size;
	init->cap.max_inline_data = 0;
	atomic_inc(&hca->nqps);
	return 0;

err_qpn:
	ida_free(&hca->qpn_ida, ibqp->qp_num);
err_rq:
	kvfree(qp->rq);
	return ret;
}

/*
 * fab->lock held: make the wire flush this QP (posted receives and sends,
 * and the last-WQE-reached event of a QP on an SRQ).
 */
static void queue_flush_locked(struct sib_fabric *fab, struct sib_qp *qp)
{
	if (!qp->flush_queued) {
		qp->flush_queued = true;
		list_add_tail(&qp->flush_node, &fab->flushq);
		queue_work(fab->wq, &fab->wire_work);
	}
}

/* fab->lock held: an error moves qp to ERR (or it is there); flush it. */
void sib_qp_to_err_locked(struct sib_fabric *fab, struct sib_qp *qp)
{
	spin_lock(&qp->lock);
	qp->state = IB_QPS_ERR;
	spin_unlock(&qp->lock);
	queue_flush_locked(fab, qp);
}

/*
 * fab->lock held: drop every posted send of an RC QP without a completion
 * (RESET, destroy).  A message on the wire is left to the wire, which frees
 * it once it finds its sqp cleared.
 */
static void sq_discard_locked(struct sib_qp *qp)
{
	struct sib_pkt *pkt, *tmp;

	list_for_each_entry_safe(pkt, tmp, &qp->sq, sq_node) {
		list_del_init(&pkt->sq_node);
		pkt->sqp = NULL;
		if (pkt == qp->inflight && !pkt->parked)
			continue;
		if (pkt->parked)
			list_del(&pkt->list);
		kfree(pkt);
	}
	qp->inflight = NULL;
	qp->sq_count = 0;
}

/*
 * fab->lock held: if the RC QP can send and has no message on the wire,
 * put the oldest posted one there, addressed by the QP's current path.
 */
void sib_rc_kick_locked(struct sib_fabric *fab, struct sib_qp *qp)
{
	struct sib_port *port = &qp->hca->ports[qp->port - 1];
	struct sib_pkt *pkt;

	lockdep_assert_held(&fab->lock);
	if (qp->inflight || qp->state != IB_QPS_RTS || list_empty(&qp->sq))
		return;
	pkt = list_first_entry(&qp->sq, struct sib_pkt, sq_node);
	pkt->slid = port->lid | (rdma_ah_get_path_bits(&qp->ah) &
				 ((1 << port->lmc) - 1));
	pkt->dlid = rdma_ah_get_dlid(&qp->ah);
	pkt->sl = rdma_ah_get_sl(&qp->ah);
	pkt->pkey = port->pkeys[qp->pkey_index % SIB_HCA_PKEYS];
	pkt->src_qpn = qp->ibqp.qp_num;
	pkt->dst_qpn = qp->dest_qpn;
	qp->inflight = pkt;
	qp->rnr_left = qp->rnr_retry;
	qp->retry_left = qp->retry_cnt;
	sib_wire_send(fab, port, pkt);
}

/* RC attributes accepted by modify_qp, checked before anything changes. */
static bool rc_attr_ok(const struct ib_qp_attr *attr, int mask)
{
	if (mask & IB_QP_ALT_PATH)
		return false;		/* no automatic path migration */
	if ((mask & IB_QP_AV) && attr->ah_attr.type != RDMA_AH_ATTR_TYPE_IB)
		return false;
	if ((mask & IB_QP_PATH_MTU) &&
	    (attr->path_mtu < IB_MTU_256 || attr->path_mtu > IB_MTU_4096))
		return false;
	if ((mask & IB_QP_MAX_QP_RD_ATOMIC) &&
	    attr->max_rd_atomic > SIB_MAX_RD_ATOM)
		return false;
	if ((mask & IB_QP_MAX_DEST_RD_ATOMIC) &&
	    attr->max_dest_rd_atomic > SIB_MAX_RD_ATOM)
		return false;
	return true;
}

/* qp->lock and fab->lock held: record the RC attributes in mask. */
static void rc_attr_set(struct sib_qp *qp, const struct ib_qp_attr *attr,
			int mask)
{
	if (mask & IB_QP_AV) {
		qp->ah = attr->ah_attr;
		/* the GID attribute reference belongs to the core */
		qp->ah.grh.sgid_attr = NULL;
	}
	if (mask & IB_QP_PATH_MTU)
		qp->path_mtu = attr->path_mtu;
	if (mask & IB_QP_DEST_QPN)
		qp->dest_qpn = attr->dest_qp_num & 0xffffff;
	if (mask & IB_QP_RQ_PSN)
		qp->rq_psn = attr->rq_psn & 0xffffff;
	if (mask & IB_QP_SQ_PSN)
		qp->sq_psn = attr->sq_psn & 0xffffff;
	if (mask & IB_QP_TIMEOUT)
		qp->timeout = attr->timeout & 31;
	if (mask & IB_QP_RETRY_CNT)
		qp->retry_cnt = attr->retry_cnt & 7;
	if (mask & IB_QP_RNR_RETRY)
		qp->rnr_retry = attr->rnr_retry & 7;
	if (mask & IB_QP_MIN_RNR_TIMER)
		qp->min_rnr_timer = attr->min_rnr_timer & 31;
	if (mask & IB_QP_MAX_QP_RD_ATOMIC)
		qp->max_rd_atomic = attr->max_rd_atomic;
	if (mask & IB_QP_MAX_DEST_RD_ATOMIC)
		qp->max_dest_rd_atomic = attr->max_dest_rd_atomic;
	if (mask & IB_QP_ACCESS_FLAGS)
		qp->access = attr->qp_access_flags;
}

static int sib_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
			 struct ib_udata *udata)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_fabric *fab = hca_fab(qp->hca);
	bool rc = ibqp->qp_type == IB_QPT_RC;
	enum ib_qp_state cur, next;
	unsigned long flags;

	if (udata)
		return -EOPNOTSUPP;
	spin_lock_irqsave(&fab->lock, flags);
	spin_lock(&qp->lock);
	cur = (mask & IB_QP_CUR_STATE) ? attr->cur_qp_state : qp->state;
	next = (mask & IB_QP_STATE) ? attr->qp_state : cur;
	if (!ib_modify_qp_is_ok(cur, next, ibqp->qp_type, mask) ||
	    ((mask & IB_QP_PKEY_INDEX) && attr->pkey_index >= SIB_HCA_PKEYS) ||
	    ((mask & IB_QP_PORT) &&
	     ((ibqp->qp_type != IB_QPT_UD && !rc) ||
	      !hca_port(qp->hca, attr->port_num))) ||
	    (rc && (next == IB_QPS_SQD || next == IB_QPS_SQE ||
		    !rc_attr_ok(attr, mask)))) {
		spin_unlock(&qp->lock);
		spin_unlock_irqrestore(&fab->lock, flags);
		return -EINVAL;
	}
	if (mask & IB_QP_PKEY_INDEX)
		qp->pkey_index = attr->pkey_index;
	if (mask & IB_QP_QKEY)
		qp->qkey = attr->qkey;
	if (mask & IB_QP_PORT)
		qp->port = attr->port_num;
	if (rc)
		rc_attr_set(qp, attr, mask);
	qp->state = next;
	if (next == IB_QPS_RESET) {
		qp->rq_head = 0;
		qp->rq_count = 0;
		qp->last_wqe_sent = false;
	}
	spin_unlock(&qp->lock);
	if (rc && next == IB_QPS_RESET)
		sq_discard_locked(qp);
	if (next == IB_QPS_ERR && (qp->rq_count || rc))
		queue_flush_locked(fab, qp);
	if (rc && next == IB_QPS_RTS)
		sib_rc_kick_locked(fab, qp);
	spin_unlock_irqrestore(&fab->lock, flags);
	return 0;
}

static int sib_query_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
			struct ib_qp_init_attr *init)
{
	struct sib_qp *qp = to_qp(ibqp);
	unsigned long flags;

	memset(attr, 0, sizeof(*attr));
	memset(init, 0, sizeof(*init));
	spin_lock_irqsave(&qp->lock, flags);
	attr->qp_state = qp->state;
	attr->cur_qp_state = qp->state;
	attr->qkey = qp->qkey;
	attr->pkey_index = qp->pkey_index;
	attr->port_num = qp->port;
	attr->cap.max_recv_wr = qp->srq ? 0 : qp->rq_size;
	attr->cap.max_send_wr = qp->sq_size;
	attr->cap.max_send_sge = SIB_MAX_SGE;
	attr->cap.max_recv_sge = SIB_MAX_SGE;
	if (ibqp->qp_type == IB_QPT_RC) {
		attr->ah_attr = qp->ah;
		attr->path_mtu = qp->path_mtu;
		attr->dest_qp_num = qp->dest_qpn;
		attr->rq_psn = qp->rq_psn;
		attr->sq_psn = qp->sq_psn;
		attr->timeout = qp->timeout;
		attr->retry_cnt = qp->retry_cnt;
		attr->rnr_retry = qp->rnr_retry;
		attr->min_rnr_timer = qp->min_rnr_timer;
		attr->max_rd_atomic = qp->max_rd_atomic;
		attr->max_dest_rd_atomic = qp->max_dest_rd_atomic;
		attr->qp_access_flags = qp->access;
	}
	spin_unlock_irqrestore(&qp->lock, flags);
	init->srq = ibqp->srq;
	init->qp_type = ibqp->qp_type;
	init->send_cq = ibqp->send_cq;
	init->recv_cq = ibqp->recv_cq;
	init->cap = attr->cap;
	init->sq_sig_type = qp->sig_all ? IB_SIGNAL_ALL_WR : IB_SIGNAL_REQ_WR;
	return 0;
}

static int sib_destroy_qp(struct ib_qp *ibqp, struct ib_udata *udata)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_hca *hca = qp->hca;
	struct sib_fabric *fab = hca_fab(hca);
	struct sib_mcast *m, *tmp;
	struct sib_pkt *pkt, *tmp_pkt;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	if (ibqp->qp_type == IB_QPT_SMI && hca->qp0[qp->port - 1] == qp)
		hca->qp0[qp->port - 1] = NULL;
	if (ibqp->qp_type == IB_QPT_GSI && hca->qp1[qp->port - 1] == qp)
		hca->qp1[qp->port - 1] = NULL;
	list_for_each_entry_safe(m, tmp, &hca->mcast, list) {
		if (m->qp == qp) {
			list_del(&m->list);
			kfree(m);
		}
	}
	if (qp->flush_queued) {
		list_del_init(&qp->flush_node);
		qp->flush_queued = false;
	}
	/* its sends still on the wire go on, but complete to nobody */
	list_for_each_entry_safe(pkt, tmp_pkt, &fab->txdone, sq_node) {
		if (pkt->sqp == qp) {
			list_del_init(&pkt->sq_node);
			pkt->sqp = NULL;
		}
	}
	list_for_each_entry(pkt, &fab->wire, list)
		if (pkt->sqp == qp)
			pkt->sqp = NULL;
	if (ibqp->qp_type == IB_QPT_RC)
		sq_discard_locked(qp);
	if (ibqp->qp_type == IB_QPT_UD || ibqp->qp_type == IB_QPT_RC)
		xa_erase(&hca->qps, ibqp->qp_num);
	spin_unlock_irqrestore(&fab->lock, flags);
	/*
	 * Nothing can find the QP any more; wait for the item the wire may
	 * be working on right now (delivering to the QP, completing one of
	 * its sends).  Items it takes later cannot reach the QP.
	 */
	sib_wire_sync(fab);
	if (ibqp->qp_type == IB_QPT_UD || ibqp->qp_type == IB_QPT_RC)
		ida_free(&hca->qpn_ida, ibqp->qp_num);
	kvfree(qp->rq);
	atomic_dec(&hca->nqps);
	return 0;
}

static int sib_post_recv(struct ib_qp *ibqp, const struct ib_recv_wr *wr,
			 const struct ib_recv_wr **bad)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_fabric *fab = hca_fab(qp->hca);
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&fab->lock, flags);
	spin_lock(&qp->lock);
	for (; wr; wr = wr->next) {
		struct sib_rwqe *w;

		if (qp->state == IB_QPS_RESET || qp->srq ||
		    wr->num_sge > SIB_MAX_SGE ||
		    wr->num_sge < 0 || qp->rq_count == qp->rq_size) {
			ret = qp->rq_count == qp->rq_size ? -ENOMEM : -EINVAL;
			*bad = wr;
			break;
		}
		w = &qp->rq[(qp->rq_head + qp->rq_count) % qp->rq_size];
		w->wr_id = wr->wr_id;
		w->num_sge = wr->num_sge;
		memcpy(w->sg, wr->sg_list, wr->num_sge * sizeof(*wr->sg_list));
		qp->rq_count++;
	}
	if (qp->state == IB_QPS_ERR && qp->rq_count)
		queue_flush_locked(fab, qp);
	spin_unlock(&qp->lock);
	spin_unlock_irqrestore(&fab->lock, flags);
	return ret;
}

/*
 * RC: complete every posted send with IB_WC_WR_FLUSH_ERR, oldest first.  A
 * message parked for a retry is taken back; one on the wire is waited for
 * (its return queues the flush again), so the order holds.
 */
static void flush_sends(struct sib_qp *qp)
{
	struct sib_fabric *fab = hca_fab(qp->hca);
	struct sib_pkt *pkt;
	struct ib_wc wc;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&fab->lock, flags);
		if (qp->state != IB_QPS_ERR || list_empty(&qp->sq))
			break;
		pkt = list_first_entry(&qp->sq, struct sib_pkt, sq_node);
		if (pkt == qp->inflight) {
			if (!pkt->parked)
				break;
			list_del(&pkt->list);
			pkt->parked = false;
			qp->inflight = NULL;
		}
		list_del_init(&pkt->sq_node);
		qp->sq_count--;
		spin_unlock_irqrestore(&fab->lock, flags);
		memset(&wc, 0, sizeof(wc));
		wc.wr_id = pkt->wr_id;
		wc.status = IB_WC_WR_FLUSH_ERR;
		wc.opcode = IB_WC_SEND;
		wc.qp = &qp->ibqp;
		kfree(pkt);
		sib_cq_push(to_cq(qp->ibqp.send_cq), &wc, false);
	}
	spin_unlock_irqrestore(&fab->lock, flags);
}

/*
 * A QP on an SRQ in ERR consumes no more of the SRQ's WQEs (deliveries run
 * in this same work item and need RTR/RTS): say so once per ERR.
 */
static void last_wqe_event(struct sib_qp *qp)
{
	struct ib_event ev = {
		.device = qp->ibqp.device,
		.element.qp = &qp->ibqp,
		.event = IB_EVENT_QP_LAST_WQE_REACHED,
	};
	unsigned long flags;
	bool fire;

	spin_lock_irqsave(&qp->lock, flags);
	fire = qp->state == IB_QPS_ERR && !qp->last_wqe_sent;
	if (fire)
		qp->last_wqe_sent = true;
	spin_unlock_irqrestore(&qp->lock, flags);
	if (fire && qp->ibqp.event_handler)
		qp->ibqp.event_handler(&ev, qp->ibqp.qp_context);
}

/*
 * Flush a QP in ERR (wire work only): posted sends (RC) and receives with
 * IB_WC_WR_FLUSH_ERR, then the last-WQE-reached event if it is on an SRQ.
 */
void sib_qp_flush(struct sib_qp *qp)
{
	struct ib_wc wc;
	unsigned long flags;

	if (qp->ibqp.qp_type == IB_QPT_RC)
		flush_sends(qp);

	for (;;) {
		spin_lock_irqsave(&qp->lock, flags);
		if (qp->state != IB_QPS_ERR || !qp->rq_count) {
			spin_unlock_irqrestore(&qp->lock, flags);
			break;
		}
		memset(&wc, 0, sizeof(wc));
		wc.wr_id = qp->rq[qp->rq_head].wr_id;
		qp->rq_head = (qp->rq_head + 1) % qp->rq_size;
		qp->rq_count--;
		spin_unlock_irqrestore(&qp->lock, flags);
		wc.status = IB_WC_WR_FLUSH_ERR;
		wc.opcode = IB_WC_RECV;
		wc.qp = &qp->ibqp;
		sib_cq_push(to_cq(qp->ibqp.recv_cq), &wc, false);
	}
	if (qp->srq)
		last_wqe_event(qp);
}

/* Copy len bytes at src into the scatter list at byte offset off. */
static bool copy_to_sgl(const struct sib_rwqe *w, u32 off, const void *src,
			u32 len)
{
	int i;

	for (i = 0; i < w->num_sge && len; i++) {
		u32 n;

		if (off >= w->sg[i].length) {
			off -= w->sg[i].length;
			continue;
		}
		n = min(len, w->sg[i].length - off);
		memcpy((void *)(uintptr_t)(w->sg[i].addr + off), src, n);
		src += n;
		len -= n;
		off = 0;
	}
	return len == 0;
}

static u32 sgl_len(const struct sib_rwqe *w)
{
	u32 total = 0;
	int i;

	for (i = 0; i < w->num_sge; i++)
		total += w->sg[i].length;
	return total;
}

/*
 * Deliver pkt into the next posted receive of qp (wire work only).  Returns
 * false if the QP took nothing (wrong state, no receive posted): the caller
 * counts the drop.
 */
bool sib_qp_deliver(struct sib_qp *qp, struct sib_pkt *pkt, u16 pkey_index)
{
	struct sib_rwqe w;
	struct ib_wc wc;
	unsigned long flags;

	spin_lock_irqsave(&qp->lock, flags);
	if ((qp->state != IB_QPS_RTR && qp->state != IB_QPS_RTS) ||
	    !qp->rq_count) {
		spin_unlock_irqrestore(&qp->lock, flags);
		return false;
	}
	w = qp->rq[qp->rq_head];
	qp->rq_head = (qp->rq_head + 1) % qp->rq_size;
	qp->rq_count--;
	spin_unlock_irqrestore(&qp->lock, flags);

	memset(&wc, 0, sizeof(wc));
	wc.wr_id = w.wr_id;
	wc.opcode = IB_WC_RECV;
	wc.qp = &qp->ibqp;
	wc.src_qp = pkt->src_qpn;
	wc.slid = pkt->slid;
	wc.sl = pkt->sl;
	wc.pkey_index = pkey_index;
	wc.port_num = qp->port;
	wc.byte_len = SIB_GRH_BYTES + pkt->len;
	if (pkt->has_imm) {
		wc.wc_flags |= IB_WC_WITH_IMM;
		wc.ex.imm_data = cpu_to_be32(pkt->imm);
	}
	if (sgl_len(&w) < SIB_GRH_BYTES + pkt->len) {
		wc.status = IB_WC_LOC_LEN_ERR;
	} else {
		if (pkt->has_grh) {
			wc.wc_flags |= IB_WC_GRH;
			copy_to_sgl(&w, 0, &pkt->grh, SIB_GRH_BYTES);
		}
		copy_to_sgl(&w, SIB_GRH_BYTES, pkt->data, pkt->len);
		wc.status = IB_WC_SUCCESS;
	}
	sib_cq_push(to_cq(qp->ibqp.recv_cq), &wc, false);
	return true;
}

/*
 * An RC message reached its responder QP (wire work only): take the next
 * receive WQE (the QP's own queue or its SRQ) and complete it.  No WQE is
 * an RNR NAK; a WQE too small completes with IB_WC_LOC_LEN_ERR and moves
 * the responder to ERR (the requester sees an invalid request NAK).
 */
enum sib_rc_result sib_rc_deliver(struct sib_qp *qp, struct sib_pkt *pkt)
{
	struct sib_fabric *fab = hca_fab(qp->hca);
	struct sib_srq *srq = qp->srq;
	bool limit_event = false;
	struct sib_rwqe w;
	struct ib_wc wc;
	unsigned long flags;

	spin_lock_irqsave(&qp->lock, flags);
	if (qp->state != IB_QPS_RTR && qp->state != IB_QPS_RTS) {
		spin_unlock_irqrestore(&qp->lock, flags);
		return SIB_RC_LOST;	/* a responder not ready drops it */
	}
	if (srq) {
		spin_lock(&srq->lock);
		if (!srq->count) {
			spin_unlock(&srq->lock);
			spin_unlock_irqrestore(&qp->lock, flags);
			return SIB_RC_RNR;
		}
		w = srq->rq[srq->head];
		srq->head = (srq->head + 1) % srq->size;
		srq->count--;
		if (srq->limit && srq->count < srq->limit) {
			srq->limit = 0;		/* the event disarms it */
			limit_event = true;
		}
		spin_unlock(&srq->lock);
	} else {
		if (!qp->rq_count) {
			spin_unlock_irqrestore(&qp->lock, flags);
			return SIB_RC_RNR;
		}
		w = qp->rq[qp->rq_head];
		qp->rq_head = (qp->rq_head + 1) % qp->rq_size;
		qp->rq_count--;
	}
	memset(&wc, 0, sizeof(wc));
	wc.src_qp = qp->dest_qpn;
	wc.pkey_index = qp->pkey_index;
	spin_unlock_irqrestore(&qp->lock, flags);

	wc.wr_id = w.wr_id;
	wc.opcode = IB_WC_RECV;
	wc.qp = &qp->ibqp;
	wc.slid = pkt->slid;
	wc.sl = pkt->sl;
	wc.port_num = qp->port;
	wc.byte_len = pkt->len;
	if (pkt->has_imm) {
		wc.wc_flags |= IB_WC_WITH_IMM;
		wc.ex.imm_data = cpu_to_be32(pkt->imm);
	}
	if (sgl_len(&w) < pkt->len) {
		wc.status = IB_WC_LOC_LEN_ERR;
		spin_lock_irqsave(&fab->lock, flags);
		sib_qp_to_err_locked(fab, qp);
		spin_unlock_irqrestore(&fab->lock, flags);
	} else {
		copy_to_sgl(&w, 0, pkt->data, pkt->len);
		wc.status = IB_WC_SUCCESS;
	}
	sib_cq_push(to_cq(qp->ibqp.recv_cq), &wc, false);
	if (limit_event && srq->ibsrq.event_handler) {
		struct ib_event ev = {
			.device = srq->ibsrq.device,
			.element.srq = &srq->ibsrq,
			.event = IB_EVENT_SRQ_LIMIT_REACHED,
		};

		srq->ibsrq.event_handler(&ev, srq->ibsrq.srq_context);
	}
	return wc.status == IB_WC_SUCCESS ? SIB_RC_ACK : SIB_RC_REM_ERR;
}

/*
 * RC SEND / SEND with immediate: the message (copied now) joins the send
 * queue; the wire carries one message of a QP at a time, whole (no
 * segmentation by the path MTU: the wire is lossless and in order), and
 * it completes when the responder accepted it.  In ERR a post is accepted
 * and flushed, as IB wants (ipoib's CM drain WR relies on it).
 */
static int post_rc_send(struct sib_qp *qp, const struct ib_send_wr *wr)
{
	struct sib_fabric *fab = hca_fab(qp->hca);
	struct sib_pkt *pkt;
	u32 len = 0, off = 0;
	unsigned long flags;
	int i, ret = 0;

	if (wr->opcode != IB_WR_SEND && wr->opcode != IB_WR_SEND_WITH_IMM)
		return -EINVAL;
	if (wr->num_sge < 0 || wr->num_sge > SIB_MAX_SGE)
		return -EINVAL;
	for (i = 0; i < wr->num_sge; i++)
		len += wr->sg_list[i].length;
	if (len > SIB_MAX_MSG)
		return -EINVAL;
	pkt = sib_pkt_alloc(len, GFP_ATOMIC);
	if (!pkt)
		return -ENOMEM;
	for (i = 0; i < wr->num_sge; i++) {
		memcpy(pkt->data + off, (void *)(uintptr_t)wr->sg_list[i].addr,
		       wr->sg_list[i].length);
		off += wr->sg_list[i].length;
	}
	if (wr->opcode == IB_WR_SEND_WITH_IMM) {
		pkt->has_imm = true;
		pkt->imm = be32_to_cpu(wr->ex.imm_data);
	}
	pkt->rc = true;
	pkt->wr_id = wr->wr_id;
	pkt->signaled = qp->sig_all || (wr->send_flags & IB_SEND_SIGNALED);
	INIT_LIST_HEAD(&pkt->sq_node);

	spin_lock_irqsave(&fab->lock, flags);
	if (qp->state != IB_QPS_RTS && qp->state != IB_QPS_ERR)
		ret = -EINVAL;
	else if (qp->sq_count == qp->sq_size)
		ret = -ENOMEM;
	if (ret) {
		spin_unlock_irqrestore(&fab->lock, flags);
		kfree(pkt);
		return ret;
	}
	pkt->sqp = qp;
	list_add_tail(&pkt->sq_node, &qp->sq);
	qp->sq_count++;
	if (qp->state == IB_QPS_ERR)
		queue_flush_locked(fab, qp);
	else
		sib_rc_kick_locked(fab, qp);
	spin_unlock_irqrestore(&fab->lock, flags);
	return 0;
}

static int post_one_send(struct sib_qp *qp, const struct ib_send_wr *wr)
{
	struct sib_hca *hca = qp->hca;
	struct sib_fabric *fab = hca_fab(hca);
	const struct ib_ud_wr *ud = ud_wr(wr);
	struct sib_ah *ah;
	struct sib_port *port;
	struct sib_pkt *pkt;
	u32 len = 0, off = 0, max;
	u16 pkey_index;
	unsigned long flags;
	int i;

	if (wr->opcode != IB_WR_SEND && wr->opcode != IB_WR_SEND_WITH_IMM)
		return -EINVAL;
	if (wr->num_sge < 0 || wr->num_sge > SIB_MAX_SGE || !ud->ah)
		return -EINVAL;
	for (i = 0; i < wr->num_sge; i++)
		len += wr->sg_list[i].length;
	max = qp->ibqp.qp_type == IB_QPT_UD ? SIB_MTU_BYTES : IB_MGMT_MAD_SIZE;
	if (len > max)
		return -EINVAL;
	ah = container_of(ud->ah, struct sib_ah, ibah);
	port = &hca->ports[qp->port - 1];

	pkt = sib_pkt_alloc(len, GFP_ATOMIC);
	if (!pkt)
		return -ENOMEM;
	for (i = 0; i < wr->num_sge; i++) {
		memcpy(pkt->data + off, (void *)(uintptr_t)wr->sg_list[i].addr,
		       wr->sg_list[i].length);
		off += wr->sg_list[i].length;
	}
	pkt->dlid = rdma_ah_get_dlid(&ah->attr);
	pkt->sl = rdma_ah_get_sl(&ah->attr);
	pkt->vl15 = qp->ibqp.qp_type == IB_QPT_SMI;
	if (rdma_ah_get_ah_flags(&ah->attr) & IB_AH_GRH) {
		const struct ib_global_route *g = rdma_ah_read_grh(&ah->attr);

		pkt->has_grh = true;
		pkt->grh.version_tclass_flow =
			cpu_to_be32((6 << 28) | (g->traffic_class << 20) |
				    g->flow_label);
		pkt->grh.paylen = cpu_to_be16(len + 8 + 12);
		pkt->grh.next_hdr = 0x1b;
		pkt->grh.hop_limit = g->hop_limit;
		pkt->grh.dgid = g->dgid;
		/* sgid filled below, from the port's GID 0 */
	}
	pkt->src_qpn = qp->ibqp.qp_num;
	pkt->dst_qpn = ud->remote_qpn & 0xffffff;
	pkt->qkey = (ud->remote_qkey & 0x80000000) ? qp->qkey : ud->remote_qkey;
	if (wr->opcode == IB_WR_SEND_WITH_IMM) {
		pkt->has_imm = true;
		pkt->imm = be32_to_cpu(wr->ex.imm_data);
	}
	pkt->loop = qp->ibqp.qp_type == IB_QPT_UD &&
		    pkt->dlid >= SIB_MLID_BASE && pkt->dlid != SIB_LID_PERMISSIVE;
	pkt->wr_id = wr->wr_id;
	pkt->signaled = qp->sig_all || (wr->send_flags & IB_SEND_SIGNALED);
	pkey_index = qp->ibqp.qp_type == IB_QPT_UD ? qp->pkey_index :
						     ud->pkey_index;

	spin_lock_irqsave(&fab->lock, flags);
	pkt->slid = port->lid | (rdma_ah_get_path_bits(&ah->attr) &
				 ((1 << port->lmc) - 1));
	pkt->pkey = pkey_index < SIB_HCA_PKEYS ? port->pkeys[pkey_index] : 0;
	if (pkt->has_grh) {
		pkt->grh.sgid.global.subnet_prefix = cpu_to_be64(port->gid_prefix);
		pkt->grh.sgid.global.interface_id =
			cpu_to_be64(hca->node.node_guid + port->num);
	}
	sib_wire_send(fab, port, pkt);
	if (pkt->signaled) {
		pkt->sqp = qp;
		list_add_tail(&pkt->sq_node, &fab->txdone);
	}
	spin_unlock_irqrestore(&fab->lock, flags);
	return 0;
}

static int sib_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
			 const struct ib_send_wr **bad)
{
	struct sib_qp *qp = to_qp(ibqp);
	int ret = 0;

	for (; wr; wr = wr->next) {
		if (ibqp->qp_type == IB_QPT_RC)
			ret = post_rc_send(qp, wr);
		else if (READ_ONCE(qp->state) != IB_QPS_RTS)
			ret = -EINVAL;
		else
			ret = post_one_send(qp, wr);
		if (ret) {
			*bad = wr;
			break;
		}
	}
	return ret;
}

static int sib_attach_mcast(struct ib_qp *ibqp, union ib_gid *gid, u16 lid)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_fabric *fab = hca_fab(qp->hca);
	struct sib_mcast *m, *n;
	unsigned long flags;
	int count = 0, members = 0;

	if (ibqp->qp_type != IB_QPT_UD || lid < SIB_MLID_BASE ||
	    lid == SIB_LID_PERMISSIVE)
		return -EINVAL;
	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	n->mgid = *gid;
	n->mlid = lid;
	n->qp = qp;
	spin_lock_irqsave(&fab->lock, flags);
	list_for_each_entry(m, &qp->hca->mcast, list) {
		if (m->qp == qp && m->mlid == lid &&
		    !memcmp(&m->mgid, gid, sizeof(*gid))) {
			spin_unlock_irqrestore(&fab->lock, flags);
			kfree(n);
			return 0;
		}
		count++;
		members += m->mlid == lid;
	}
	if (count >= SIB_MAX_MCAST || members >= SIB_MAX_MCAST_QPS) {
		spin_unlock_irqrestore(&fab->lock, flags);
		kfree(n);
		return -ENOMEM;
	}
	list_add_tail(&n->list, &qp->hca->mcast);
	spin_unlock_irqrestore(&fab->lock, flags);
	return 0;
}

static int sib_detach_mcast(struct ib_qp *ibqp, union ib_gid *gid, u16 lid)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_fabric *fab = hca_fab(qp->hca);
	struct sib_mcast *m;
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	list_for_each_entry(m, &qp->hca->mcast, list) {
		if (m->qp == qp && m->mlid == lid &&
		    !memcmp(&m->mgid, gid, sizeof(*gid))) {
			list_del(&m->list);
			spin_unlock_irqrestore(&fab->lock, flags);
			/* the wire reads the list under fab->lock only */
			kfree(m);
			return 0;
		}
	}
	spin_unlock_irqrestore(&fab->lock, flags);
	return -EINVAL;
}

const struct ib_device_ops sib_dev_ops = {
	.owner = THIS_MODULE,
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = 1,

	.alloc_pd = sib_alloc_pd,
	.attach_mcast = sib_attach_mcast,
	.create_ah = sib_create_ah,
	.create_cq = sib_create_cq,
	.create_qp = sib_create_qp,
	.create_srq = sib_create_srq,
	.dealloc_pd = sib_dealloc_pd,
	.dereg_mr = sib_dereg_mr,
	.destroy_ah = sib_destroy_ah,
	.destroy_cq = sib_destroy_cq,
	.destroy_qp = sib_destroy_qp,
	.destroy_srq = sib_destroy_srq,
	.detach_mcast = sib_detach_mcast,
	.get_dma_mr = sib_get_dma_mr,
	.get_port_immutable = sib_get_port_immutable,
	.modify_device = sib_modify_device,
	.modify_port = sib_modify_port,
	.modify_qp = sib_modify_qp,
	.modify_srq = sib_modify_srq,
	.poll_cq = sib_poll_cq,
	.post_recv = sib_post_recv,
	.post_send = sib_post_send,
	.post_srq_recv = sib_post_srq_recv,
	.process_mad = sib_process_mad,
	.query_ah = sib_query_ah,
	.query_device = sib_query_device,
	.query_gid = sib_query_gid,
	.query_pkey = sib_query_pkey,
	.query_port = sib_query_port,
	.query_qp = sib_query_qp,
	.query_srq = sib_query_srq,
	.reg_user_mr = sib_reg_user_mr,
	.req_notify_cq = sib_req_notify_cq,

	INIT_RDMA_OBJ_SIZE(ib_ah, sib_ah, ibah),
	INIT_RDMA_OBJ_SIZE(ib_cq, sib_cq, ibcq),
	INIT_RDMA_OBJ_SIZE(ib_pd, sib_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_qp, sib_qp, ibqp),
	INIT_RDMA_OBJ_SIZE(ib_srq, sib_srq, ibsrq),
};
