// SPDX-License-Identifier: GPL-2.0
/*
 * softib verbs: PD, AH, CQ, and UD-style QPs (SMI, GSI, UD).
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
	a->max_mcast_qp_attach = SIB_MAX_MCAST;
	a->max_total_mcast_qp_attach = SIB_MAX_MCAST;
	a->max_pkeys = SIB_HCA_PKEYS;
	a->local_ca_ack_delay = 15;
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
	a->max_msg_sz = SIB_MTU_BYTES;
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

static int sib_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
			 struct ib_udata *udata)
{
	struct sib_hca *hca = to_hca(ibqp->device);
	struct sib_fabric *fab = hca_fab(hca);
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_qp **slot = NULL;
	unsigned long flags;
	int ret;

	if (udata)
		return -EOPNOTSUPP;
	if (init->create_flags || init->srq || init->cap.max_inline_data)
		return -EOPNOTSUPP;
	if (init->qp_type != IB_QPT_SMI && init->qp_type != IB_QPT_GSI &&
	    init->qp_type != IB_QPT_UD)
		return -EOPNOTSUPP;
	if (init->cap.max_send_wr > SIB_MAX_WR ||
	    init->cap.max_recv_wr > SIB_MAX_WR ||
	    init->cap.max_send_sge > SIB_MAX_SGE ||
	    init->cap.max_recv_sge > SIB_MAX_SGE)
		return -EINVAL;
	if (init->qp_type != IB_QPT_UD && !hca_port(hca, init->port_num))
		return -EINVAL;

	spin_lock_init(&qp->lock);
	INIT_LIST_HEAD(&qp->flush_node);
	qp->hca = hca;
	qp->state = IB_QPS_RESET;
	qp->sig_all = init->sq_sig_type == IB_SIGNAL_ALL_WR;
	qp->port = init->qp_type == IB_QPT_UD ? 1 : init->port_num;
	qp->rq_size = max_t(u32, init->cap.max_recv_wr, 1);
	qp->rq = kvcalloc(qp->rq_size, sizeof(*qp->rq), GFP_KERNEL);
	if (!qp->rq)
		return -ENOMEM;

	if (init->qp_type == IB_QPT_UD) {
		ret = ida_alloc_range(&hca->qpn_ida, 2, 0xffffff, GFP_KERNEL);
		if (ret < 0)
			goto err_rq;
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
	init->cap.max_send_wr = max_t(u32, init->cap.max_send_wr, 1);
	init->cap.max_recv_wr = qp->rq_size;
	init->cap.max_inline_data = 0;
	atomic_inc(&hca->nqps);
	return 0;

err_qpn:
	ida_free(&hca->qpn_ida, ibqp->qp_num);
err_rq:
	kvfree(qp->rq);
	return ret;
}

/* fab->lock held: make the wire flush this QP's receive queue. */
static void queue_flush_locked(struct sib_fabric *fab, struct sib_qp *qp)
{
	if (!qp->flush_queued) {
		qp->flush_queued = true;
		list_add_tail(&qp->flush_node, &fab->flushq);
		queue_work(fab->wq, &fab->wire_work);
	}
}

static int sib_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
			 struct ib_udata *udata)
{
	struct sib_qp *qp = to_qp(ibqp);
	struct sib_fabric *fab = hca_fab(qp->hca);
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
	     (ibqp->qp_type != IB_QPT_UD ||
	      !hca_port(qp->hca, attr->port_num)))) {
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
	qp->state = next;
	if (next == IB_QPS_RESET) {
		qp->rq_head = 0;
		qp->rq_count = 0;
	}
	if (next == IB_QPS_ERR && qp->rq_count)
		queue_flush_locked(fab, qp);
	spin_unlock(&qp->lock);
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
	attr->cap.max_recv_wr = qp->rq_size;
	attr->cap.max_send_wr = SIB_MAX_WR;
	attr->cap.max_send_sge = SIB_MAX_SGE;
	attr->cap.max_recv_sge = SIB_MAX_SGE;
	spin_unlock_irqrestore(&qp->lock, flags);
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
	struct sib_pkt *pkt;
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
	list_for_each_entry(pkt, &fab->wire, list)
		if (pkt->sqp == qp)
			pkt->sqp = NULL;
	if (ibqp->qp_type == IB_QPT_UD)
		xa_erase(&hca->qps, ibqp->qp_num);
	spin_unlock_irqrestore(&fab->lock, flags);
	/*
	 * Nothing can find the QP any more; wait for the item the wire may
	 * be working on right now (delivering to the QP, completing one of
	 * its sends).  Items it takes later cannot reach the QP.
	 */
	sib_wire_sync(fab);
	if (ibqp->qp_type == IB_QPT_UD)
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

		if (qp->state == IB_QPS_RESET || wr->num_sge > SIB_MAX_SGE ||
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

/* Flush every posted receive with IB_WC_WR_FLUSH_ERR (wire work only). */
void sib_qp_flush(struct sib_qp *qp)
{
	struct ib_wc wc;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&qp->lock, flags);
		if (qp->state != IB_QPS_ERR || !qp->rq_count) {
			spin_unlock_irqrestore(&qp->lock, flags);
			return;
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
	pkt->sqp = qp;
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
	spin_unlock_irqrestore(&fab->lock, flags);
	return 0;
}

static int sib_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
			 const struct ib_send_wr **bad)
{
	struct sib_qp *qp = to_qp(ibqp);
	int ret = 0;

	for (; wr; wr = wr->next) {
		if (READ_ONCE(qp->state) != IB_QPS_RTS)
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
	int count = 0;

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
	}
	if (count >= SIB_MAX_MCAST) {
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
	.dealloc_pd = sib_dealloc_pd,
	.dereg_mr = sib_dereg_mr,
	.destroy_ah = sib_destroy_ah,
	.destroy_cq = sib_destroy_cq,
	.destroy_qp = sib_destroy_qp,
	.detach_mcast = sib_detach_mcast,
	.get_dma_mr = sib_get_dma_mr,
	.get_port_immutable = sib_get_port_immutable,
	.modify_device = sib_modify_device,
	.modify_port = sib_modify_port,
	.modify_qp = sib_modify_qp,
	.poll_cq = sib_poll_cq,
	.post_recv = sib_post_recv,
	.post_send = sib_post_send,
	.process_mad = sib_process_mad,
	.query_ah = sib_query_ah,
	.query_device = sib_query_device,
	.query_gid = sib_query_gid,
	.query_pkey = sib_query_pkey,
	.query_port = sib_query_port,
	.query_qp = sib_query_qp,
	.reg_user_mr = sib_reg_user_mr,
	.req_notify_cq = sib_req_notify_cq,

	INIT_RDMA_OBJ_SIZE(ib_ah, sib_ah, ibah),
	INIT_RDMA_OBJ_SIZE(ib_cq, sib_cq, ibcq),
	INIT_RDMA_OBJ_SIZE(ib_pd, sib_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_qp, sib_qp, ibqp),
};
