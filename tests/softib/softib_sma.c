// SPDX-License-Identifier: GPL-2.0
/*
 * softib subnet management agents: one per node (each HCA, the switch).
 * Attribute layouts follow IBA vol 1 chapter 14.2.5.
 */
#include <linux/slab.h>
#include <linux/string.h>
#include <rdma/ib_mad.h>
#include <rdma/ib_smi.h>

#include "softib.h"

#define SIB_EVENTS_MAX	(2 * SIB_MAX_HCA_PORTS * 4 + 8)

/* ib_events found while fab->lock is held, raised after it is dropped */
struct sib_events {
	int n;
	struct {
		struct sib_hca *hca;
		u8 port;
		enum ib_event_type type;
	} e[SIB_EVENTS_MAX];
};

static void ev_add(struct sib_events *ev, struct sib_port *p,
		   enum ib_event_type type)
{
	if (p->node->is_switch || !p->node->hca->registered ||
	    ev->n == SIB_EVENTS_MAX)
		return;
	/* hot-removal waits for this to drop back (ev_raise) */
	atomic_inc(&p->node->hca->ev_busy);
	ev->e[ev->n].hca = p->node->hca;
	ev->e[ev->n].port = p->num;
	ev->e[ev->n].type = type;
	ev->n++;
}

static void ev_raise(struct sib_events *ev)
{
	int i;

	for (i = 0; i < ev->n; i++) {
		struct ib_event e = {
			.device = &ev->e[i].hca->ibdev,
			.event = ev->e[i].type,
			.element.port_num = ev->e[i].port,
		};

		ib_dispatch_event(&e);
		/* pairs with wait_var_event() in sib_hca_remove() */
		if (atomic_dec_and_test(&ev->e[i].hca->ev_busy))
			wake_up_var(&ev->e[i].hca->ev_busy);
	}
}

void sib_port_init(struct sib_port *p, struct sib_node *node, u8 num)
{
	memset(p, 0, sizeof(*p));
	p->node = node;
	p->num = num;
	p->state = IB_PORT_DOWN;
	p->phys = SIB_PHYS_POLLING;
	p->gid_prefix = 0xfe80000000000000ULL;
	p->neighbor_mtu = IB_MTU_4096;
	p->op_vls = 1;
	p->link_width_enabled = 3;	/* 1x, 4x */
	p->link_speed_enabled = 7;	/* SDR, DDR, QDR */
	p->resp_time = 8;
	p->subnet_timeout = 18;
	if (!node->is_switch) {
		p->cap_mask = IB_PORT_SYS_IMAGE_GUID_SUP |
			      IB_PORT_CLIENT_REG_SUP;
		p->pkeys[0] = 0xffff;
	}
	sib_loss_init(p);
}

/* fab->lock held (or the fabric not yet live): the cable carries light. */
void sib_link_up(struct sib_port *a, struct sib_port *b)
{
	a->peer = b;
	b->peer = a;
	a->phys = SIB_PHYS_LINKUP;
	b->phys = SIB_PHYS_LINKUP;
	a->state = IB_PORT_INIT;
	b->state = IB_PORT_INIT;
}

static u64 port_guid(const struct sib_port *p)
{
	return p->node->is_switch ? p->node->node_guid :
				    p->node->node_guid + p->num;
}

/* Move a port to a new logical state; record the events an HCA raises. */
static void set_state(struct sib_port *p, u8 state, struct sib_events *ev)
{
	if (p->state == state)
		return;
	if (p->state == IB_PORT_ACTIVE)
		ev_add(ev, p, IB_EVENT_PORT_ERR);
	if (state == IB_PORT_ACTIVE)
		ev_add(ev, p, IB_EVENT_PORT_ACTIVE);
	/*
	 * SwitchInfo PortStateChange reports links that come up or go down
	 * (a port entering DOWN, or leaving it for INIT).  The SM's own
	 * INIT -> ARMED -> ACTIVE Sets leave it alone: opensm clears the bit
	 * before it arms the ports, and a bit set by those Sets would make
	 * its next light sweep start a needless heavy sweep.
	 */
	if (p->node->is_switch && p->num &&
	    (state == IB_PORT_DOWN || p->state == IB_PORT_DOWN))
		p->node->sw->life_state |= 1 << 2;
	p->state = state;
}

/* The link of p goes down; with retrain it comes back up in INIT. */
static void link_bounce(struct sib_port *p, bool retrain, struct sib_events *ev)
{
	struct sib_port *q = p->peer;

	set_state(p, IB_PORT_DOWN, ev);
	if (q)
		set_state(q, IB_PORT_DOWN, ev);
	if (!retrain || !q || p->phys == SIB_PHYS_DISABLED ||
	    q->phys == SIB_PHYS_DISABLED || p->unplugged || q->unplugged) {
		if (q && q->phys != SIB_PHYS_DISABLED)
			q->phys = SIB_PHYS_POLLING;
		if (p->phys != SIB_PHYS_DISABLED)
			p->phys = SIB_PHYS_POLLING;
		return;
	}
	p->phys = SIB_PHYS_LINKUP;
	q->phys = SIB_PHYS_LINKUP;
	set_state(p, IB_PORT_INIT, ev);
	set_state(q, IB_PORT_INIT, ev);
}

static void fill_port_info(const struct sib_port *p, u8 local_port, u8 *d)
{
	struct ib_port_info *pi = (struct ib_port_info *)d;
	const struct sib_port *base = p;

	/* switch ports report the switch's LID, SM LID and M_Key (port 0) */
	if (p->node->is_switch)
		base = &p->node->sw->ports[0];
	memset(d, 0, IB_SMP_DATA_SIZE);
	pi->mkey = cpu_to_be64(base->mkey);
	pi->gid_prefix = cpu_to_be64(base->gid_prefix);
	pi->lid = cpu_to_be16(base->lid);
	pi->sm_lid = cpu_to_be16(base->sm_lid);
	pi->cap_mask = cpu_to_be32(p->cap_mask);
	pi->mkey_lease_period = cpu_to_be16(base->mkey_lease);
	pi->local_port_num = local_port;
	pi->link_width_enabled = p->link_width_enabled;
	pi->link_width_supported = 3;
	pi->link_width_active = p->num || !p->node->is_switch ? 2 : 0;
	pi->linkspeed_portstate = (7 << 4) | p->state;
	pi->portphysstate_linkdown = (p->phys << 4) | SIB_PHYS_POLLING;
	pi->mkeyprot_resv_lmc = (base->mkey_protect << 6) | base->lmc;
	pi->linkspeedactive_enabled = (4 << 4) | p->link_speed_enabled;
	pi->neighbormtu_mastersmsl = (p->neighbor_mtu << 4) | base->sm_sl;
	pi->vlcap_inittype = 1 << 4;	/* VL0 only */
	pi->vl_high_limit = p->vl_high_limit;
	pi->vl_arb_high_cap = 8;
	pi->vl_arb_low_cap = 8;
	pi->inittypereply_mtucap = IB_MTU_4096;
	pi->vlstallcnt_hoqlife = (7 << 5) | 19;
	pi->operationalvl_pei_peo_fpi_fpo = (p->op_vls << 4) | p->pkey_enforce;
	pi->mkey_violations = cpu_to_be16(p->mkey_violations);
	pi->pkey_violations = cpu_to_be16(p->pkey_violations);
	pi->qkey_violations = cpu_to_be16(p->qkey_violations);
	pi->guid_cap = 1;
	pi->clientrereg_resv_subnetto = base->subnet_timeout & 0x1f;
	pi->resv_resptimevalue = p->resp_time & 0x1f;
}

/*
 * Set PortInfo on p (an HCA port, or switch port 0/external).  All checks
 * come first, so a rejected Set changes nothing.  Returns a MAD status.
 */
static u16 set_port_info(struct sib_port *p, const u8 *d, struct sib_events *ev)
{
	const struct ib_port_info *pi = (const struct ib_port_info *)d;
	bool lidport = !p->node->is_switch || p->num == 0;
	bool sp0 = p->node->is_switch && p->num == 0;
	u8 ns = pi->linkspeed_portstate & 0xf;
	u8 phys = pi->portphysstate_linkdown >> 4;
	u8 mtu = pi->neighbormtu_mastersmsl >> 4;
	u8 vls = pi->operationalvl_pei_peo_fpi_fpo >> 4;
	u16 lid = be16_to_cpu(pi->lid);
	u16 old_lid = p->lid, old_sm = p->sm_lid;
	u8 old_lmc = p->lmc, old_sl = p->sm_sl;
	u64 old_prefix = p->gid_prefix;

	switch (ns) {
	case IB_PORT_NOP:
	case IB_PORT_DOWN:
		break;
	case IB_PORT_ARMED:
		if (!sp0 && p->state != IB_PORT_INIT &&
		    p->state != IB_PORT_ARMED)
			return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
		break;
	case IB_PORT_ACTIVE:
		if (!sp0 && p->state != IB_PORT_ARMED &&
		    p->state != IB_PORT_ACTIVE)
			return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
		break;
	default:
		return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
	}
	if (phys != 0 && phys != SIB_PHYS_POLLING && phys != SIB_PHYS_DISABLED)
		return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
	if (mtu > IB_MTU_4096 || vls > 1)
		return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
	if (lidport && (lid >= SIB_MLID_BASE ||
			be16_to_cpu(pi->sm_lid) >= SIB_MLID_BASE))
		return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;

	if (lidport) {
		p->mkey = be64_to_cpu(pi->mkey);
		p->gid_prefix = be64_to_cpu(pi->gid_prefix);
		p->lid = lid;
		p->sm_lid = be16_to_cpu(pi->sm_lid);
		p->mkey_lease = be16_to_cpu(pi->mkey_lease_period);
		p->lmc = pi->mkeyprot_resv_lmc & 7;
		p->mkey_protect = pi->mkeyprot_resv_lmc >> 6;
		p->sm_sl = pi->neighbormtu_mastersmsl & 0xf;
		p->subnet_timeout = pi->clientrereg_resv_subnetto & 0x1f;
	}
	if (pi->link_width_enabled)
		p->link_width_enabled = pi->link_width_enabled == 0xff ? 3 :
					pi->link_width_enabled & 3;
	if (pi->linkspeedactive_enabled & 0xf)
		p->link_speed_enabled = (pi->linkspeedactive_enabled & 0xf) ==
					0xf ? 7 : pi->linkspeedactive_enabled & 7;
	if (mtu)
		p->neighbor_mtu = mtu;
	if (vls)
		p->op_vls = vls;
	p->vl_high_limit = pi->vl_high_limit;
	p->pkey_enforce = pi->operationalvl_pei_peo_fpi_fpo & 0xc;
	p->resp_time = pi->resv_resptimevalue & 0x1f;

	if (!p->node->is_switch) {
		if (p->lid != old_lid || p->lmc != old_lmc)
			ev_add(ev, p, IB_EVENT_LID_CHANGE);
		if (p->gid_prefix != old_prefix)
			ev_add(ev, p, IB_EVENT_GID_CHANGE);
		if (p->sm_lid != old_sm || p->sm_sl != old_sl)
			ev_add(ev, p, IB_EVENT_SM_CHANGE);
		if (pi->clientrereg_resv_subnetto & 0x80)
			ev_add(ev, p, IB_EVENT_CLIENT_REREGISTER);
	}

	if (phys == SIB_PHYS_DISABLED && p->peer) {
		p->phys = SIB_PHYS_DISABLED;
		link_bounce(p, false, ev);
	} else if (phys == SIB_PHYS_POLLING && p->phys == SIB_PHYS_DISABLED) {
		p->phys = SIB_PHYS_POLLING;
		link_bounce(p, true, ev);
	}
	/* base switch port 0 has no link: it stays ACTIVE whatever is asked */
	if (sp0)
		return 0;
	if (ns == IB_PORT_DOWN && p->peer)
		link_bounce(p, true, ev);
	else if (ns == IB_PORT_ARMED || ns == IB_PORT_ACTIVE)
		set_state(p, ns, ev);
	return 0;
}

static void put_be16(u8 *d, u16 v)
{
	d[0] = v >> 8;
	d[1] = v;
}

static u16 get_be16(const u8 *d)
{
	return (d[0] << 8) | d[1];
}

static void put_be64(u8 *d, u64 v)
{
	__be64 b = cpu_to_be64(v);

	memcpy(d, &b, 8);
}

static void fill_node_info(struct sib_node *n, struct sib_port *in, u8 *d)
{
	memset(d, 0, IB_SMP_DATA_SIZE);
	d[0] = 1;			/* BaseVersion */
	d[1] = 1;			/* ClassVersion */
	d[2] = n->is_switch ? 2 : 1;	/* NodeType */
	d[3] = n->nports;
	put_be64(d + 4, n->sys_guid);
	put_be64(d + 12, n->node_guid);
	put_be64(d + 20, port_guid(in));
	put_be16(d + 28, n->is_switch ? SIB_SW_PKEYS : SIB_HCA_PKEYS);
	put_be16(d + 30, n->is_switch ? 0x5102 : 0x5101);	/* DeviceID */
	d[35] = 1;			/* Revision */
	d[36] = in->num;		/* LocalPortNum */
	/* VendorID 0: no vendor's quirks apply */
}

static void fill_switch_info(struct sib_switch *sw, u8 *d)
{
	memset(d, 0, IB_SMP_DATA_SIZE);
	put_be16(d + 0, SIB_LFT_CAP);
	put_be16(d + 4, SIB_MFT_CAP);
	put_be16(d + 6, sw->lft_top);
	d[8] = 0;			/* DefaultPort */
	d[9] = 0;
	d[10] = 0;
	d[11] = sw->life_state;
	put_be16(d + 12, 1);		/* LIDsPerPort */
	put_be16(d + 14, SIB_SW_PKEYS);	/* PartitionEnforcementCap */
	d[16] = 0xc0;			/* inbound, outbound enforcement */
	put_be16(d + 18, sw->mft_top);
}

static u16 set_switch_info(struct sib_switch *sw, const u8 *d)
{
	u16 top = get_be16(d + 6);
	u16 mtop = get_be16(d + 18);

	if (top >= SIB_LFT_CAP ||
	    (mtop && (mtop < SIB_MLID_BASE || mtop >= SIB_MLID_BASE + SIB_MFT_CAP)))
		return IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
	sw->lft_top = top;
	sw->mft_top = mtop;
	/* LifeTimeValue is written; PortStateChange is cleared by a 1 */
	sw->life_state = (d[11] & 0xf8) |
			 ((d[11] & 0x04) ? 0 : (sw->life_state & 0x04));
	return 0;
}

/* the node's port by number (switch: 0..n, HCA: 1..n), or NULL */
static struct sib_port *node_port(struct sib_node *n, u32 num)
{
	if (n->is_switch)
		return num <= n->nports ? &n->sw->ports[num] : NULL;
	return num >= 1 && num <= n->nports ? &n->hca->ports[num - 1] : NULL;
}

/*
 * Answer one Get or Set SMP addressed to node n, received on port in.  The
 * response overwrites smp->data and smp->status.  fab->lock is held.
 */
static void sma(struct sib_node *n, struct sib_port *in, struct ib_smp *smp,
		struct sib_events *ev)
{
	bool set = smp->method == IB_MGMT_METHOD_SET;
	u32 mod = be32_to_cpu(smp->attr_mod);
	u16 status = 0;
	struct sib_port *p;
	u8 *d = smp->data;
	u32 blk, i;

	switch (smp->attr_id) {
	case IB_SMP_ATTR_NODE_DESC:
		if (set || mod) {
			status = IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
			break;
		}
		memset(d, 0, IB_SMP_DATA_SIZE);
		memcpy(d, n->desc, min_t(size_t, sizeof(n->desc),
					 IB_SMP_DATA_SIZE));
		break;
	case IB_SMP_ATTR_NODE_INFO:
		if (set) {
			status = IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
			break;
		}
		fill_node_info(n, in, d);
		break;
	case IB_SMP_ATTR_SWITCH_INFO:
		if (!n->is_switch) {
			status = IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
			break;
		}
		if (set)
			status = set_switch_info(n->sw, d);
		fill_switch_info(n->sw, d);
		break;
	case IB_SMP_ATTR_GUID_INFO:
		/* GUIDCap 1: block 0 holds the port GUID, read only */
		if (mod) {
			status = IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
			break;
		}
		memset(d, 0, IB_SMP_DATA_SIZE);
		put_be64(d, port_guid(n->is_switch ? &n->sw->ports[0] : in));
		break;
	case IB_SMP_ATTR_PORT_INFO:
		if (!n->is_switch && mod == 0)
			p = in;
		else
			p = node_port(n, mod);
		if (!p) {
			status = IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
			break;
		}
		if (set)
			status = set_port_info(p, d, ev);
		fill_port_info(p, in->num, d);
		break;
	case IB_SMP_ATTR_PKEY_TABLE: {
		u16 *tbl;
		u32 ntbl;

		blk = mod & 0xffff;
		if (n->is_switch) {
			p = node_port(n, mod >> 16);
			tbl = p ? n->sw->pkeys[p->num] : NULL;
			ntbl = SIB_SW_PKEYS;
		} else {
			p = in;
			tbl = p->pkeys;
			ntbl = SIB_HCA_PKEYS;
		}
		if (!tbl || blk * 32 >= ntbl) {
			status = IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
			break;
		}
		if (set) {
			bool changed = false;

			for (i = 0; i < 32; i++) {
				u16 v = get_be16(d + 2 * i);

				changed |= tbl[blk * 32 + i] != v;
				tbl[blk * 32 + i] = v;
			}
			if (changed && !n->is_switch)
				ev_add(ev, p, IB_EVENT_PKEY_CHANGE);
		}
		for (i = 0; i < 32; i++)
			put_be16(d + 2 * i, tbl[blk * 32 + i]);
		break;
	}
	case IB_SMP_ATTR_SL_TO_VL_TABLE: {
		u8 *tbl;

		if (n->is_switch) {
			u32 ip = (mod >> 8) & 0xff, op = mod & 0xff;

			if (ip > n->nports || op > n->nports) {
				status = IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
				break;
			}
			tbl = n->sw->sl2vl[ip][op];
		} else {
			tbl = in->sl2vl;
		}
		if (set)
			memcpy(tbl, d, 8);
		memset(d, 0, IB_SMP_DATA_SIZE);
		memcpy(d, tbl, 8);
		break;
	}
	case IB_SMP_ATTR_VL_ARB_TABLE:
		blk = mod >> 16;
		p = n->is_switch ? node_port(n, mod & 0xffff) : in;
		if (!p || blk < 1 || blk > 4) {
			status = IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE;
			break;
		}
		if (set)
			memcpy(p->vl_arb[blk - 1], d, 64);
		memcpy(d, p->vl_arb[blk - 1], 64);
		break;
	case IB_SMP_ATTR_LINEAR_FORWARD_TABLE:
		blk = mod;
		if (!n->is_switch || blk >= SIB_LFT_CAP / 64) {
			status = n->is_switch ?
				 IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE :
				 IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
			break;
		}
		if (set)
			memcpy(&n->sw->lft[blk * 64], d, 64);
		memcpy(d, &n->sw->lft[blk * 64], 64);
		break;
	case IB_SMP_ATTR_MCAST_FORWARD_TABLE: {
		u32 pos = mod >> 28;

		blk = mod & 0x1ff;
		if (!n->is_switch || blk >= SIB_MFT_CAP / 32 ||
		    pos * 16 > n->nports) {
			status = n->is_switch ?
				 IB_MGMT_MAD_STATUS_INVALID_ATTRIB_VALUE :
				 IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
			break;
		}
		for (i = 0; i < 32; i++) {
			u64 *m = &n->sw->mft[blk * 32 + i];

			if (set) {
				*m &= ~(0xffffULL << (pos * 16));
				*m |= (u64)get_be16(d + 2 * i) << (pos * 16);
			}
			put_be16(d + 2 * i, *m >> (pos * 16));
		}
		break;
	}
	default:
		/* SMInfo included: no SM runs in the SMA itself */
		status = IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB;
		break;
	}
	smp->status = cpu_to_be16(status);
}

/* M_Key check (IBA 14.2.4): true if the SMP may proceed. */
static bool mkey_ok(struct sib_port *base, const struct ib_smp *smp)
{
	if (!base->mkey || be64_to_cpu(smp->mkey) == base->mkey)
		return true;
	if (smp->method == IB_MGMT_METHOD_GET && base->mkey_protect < 2)
		return true;
	if (base->mkey_violations != 0xffff)
		base->mkey_violations++;
	return false;
}

/*
 * What an SMA does with an SMP before looking at its attribute (IBA 13.4):
 * SIB_MAD_DROP: silently discarded (bad base version, responses, traps and
 * TrapRepress: not for an SMA); SIB_MAD_ERR: answered with *status (class
 * version other than 1, a method the SM classes do not define); SIB_MAD_OK:
 * a Get or Set for sma().
 */
enum { SIB_MAD_OK, SIB_MAD_ERR, SIB_MAD_DROP };

static int sma_precheck(const struct ib_smp *smp, u16 *status)
{
	if (smp->base_version != IB_MGMT_BASE_VERSION ||
	    (smp->method & IB_MGMT_METHOD_RESP) ||
	    smp->method == IB_MGMT_METHOD_TRAP ||
	    smp->method == IB_MGMT_METHOD_TRAP_REPRESS)
		return SIB_MAD_DROP;
	if (smp->class_version != 1) {
		*status = IB_MGMT_MAD_STATUS_BAD_VERSION;
		return SIB_MAD_ERR;
	}
	if (smp->method != IB_MGMT_METHOD_GET &&
	    smp->method != IB_MGMT_METHOD_SET) {
		*status = IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD;
		return SIB_MAD_ERR;
	}
	return SIB_MAD_OK;
}

/* Turn a request into its GetResp; fab->lock held (the counters). */
static void sma_respond(struct sib_fabric *fab, struct ib_smp *smp)
{
	if (smp->status)
		fab->mad_rejected++;
	smp->method = IB_MGMT_METHOD_GET_RESP;
	if (smp->mgmt_class == IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE)
		smp->status |= IB_SMP_DIRECTION;
}

int sib_process_mad(struct ib_device *ibdev, int flags, u32 port_num,
		    const struct ib_wc *in_wc, const struct ib_grh *in_grh,
		    const struct ib_mad *in, struct ib_mad *out,
		    size_t *out_mad_size, u16 *out_mad_pkey_index)
{
	struct sib_hca *hca = to_hca(ibdev);
	struct sib_fabric *fab = hca->node.fab;
	const struct ib_smp *ismp = (const struct ib_smp *)in;
	struct sib_events ev = { .n = 0 };
	struct ib_smp *osmp;
	struct sib_port *in_port;
	unsigned long lflags;
	u16 status = 0;
	bool ok;
	int pre;

	if (in->mad_hdr.mgmt_class != IB_MGMT_CLASS_SUBN_LID_ROUTED &&
	    in->mad_hdr.mgmt_class != IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE)
		return IB_MAD_RESULT_SUCCESS;	/* for the agents, if any */
	/* responses, traps, TrapRepress: to the SM's agent, if any */
	pre = sma_precheck(ismp, &status);
	if (pre == SIB_MAD_DROP)
		return IB_MAD_RESULT_SUCCESS;
	if (port_num < 1 || port_num > hca->node.nports)
		return IB_MAD_RESULT_FAILURE;
	in_port = &hca->ports[port_num - 1];

	spin_lock_irqsave(&fab->lock, lflags);
	if (ismp->attr_id == IB_SMP_ATTR_SM_INFO &&
	    (in_port->cap_mask & IB_PORT_SM)) {
		spin_unlock_irqrestore(&fab->lock, lflags);
		return IB_MAD_RESULT_SUCCESS;	/* the SM on this port answers */
	}
	ok = mkey_ok(in_port, ismp);
	if (ok) {
		memcpy(out, in, sizeof(*out));
		osmp = (struct ib_smp *)out;
		if (pre == SIB_MAD_OK)
			sma(&hca->node, in_port, osmp, &ev);
		else
			osmp->status = cpu_to_be16(status);
		sma_respond(fab, osmp);
	}
	spin_unlock_irqrestore(&fab->lock, lflags);
	ev_raise(&ev);
	if (!ok)
		return IB_MAD_RESULT_SUCCESS | IB_MAD_RESULT_CONSUMED;
	return IB_MAD_RESULT_SUCCESS | IB_MAD_RESULT_REPLY;
}

/*
 * An SMP for the switch arrived on switch port in: forward a directed-route
 * SMP along its path, or answer it (Get/Set) and send the response back.
 * Called from the wire only; takes ownership of pkt.
 */
void sib_switch_smp(struct sib_fabric *fab, struct sib_port *in,
		    struct sib_pkt *pkt)
{
	struct sib_switch *sw = in->node->sw;
	struct ib_smp *smp = (struct ib_smp *)pkt->data;
	struct sib_events ev = { .n = 0 };
	struct sib_port *out = NULL;
	unsigned long flags;
	bool dr = smp->mgmt_class == IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE;
	u8 nports = sw->node.nports;
	u8 hp = smp->hop_ptr, hc = smp->hop_cnt;
	bool local = false;

	spin_lock_irqsave(&fab->lock, flags);
	if (dr) {
		if (hc >= IB_SMP_MAX_PATH_HOPS)
			goto bad;
		if (!ib_get_smp_direction(smp)) {
			if (hp == 0 || hp > hc)
				goto bad;
			smp->return_path[hp] = in->num;
			if (hp < hc) {
				u8 next = smp->initial_path[hp + 1];

				if (next == 0 || next > nports)
					goto bad;
				smp->hop_ptr = hp + 1;
				out = &sw->ports[next];
			} else {
				/* end of the DR part: LID-routed tails unsupported */
				if (smp->dr_dlid != IB_LID_PERMISSIVE)
					goto drop;
				smp->hop_ptr = hc + 1;
				local = true;
			}
		} else {
			u8 back;

			if (hp < 2 || hp > hc)
				goto bad;	/* an SM on the switch itself */
			back = smp->return_path[hp - 1];
			if (back == 0 || back > nports)
				goto bad;
			smp->hop_ptr = hp - 1;
			out = &sw->ports[back];
		}
	} else {
		local = true;
	}

	if (local) {
		u16 status = 0;
		int pre = sma_precheck(smp, &status);

		if (pre == SIB_MAD_DROP)
			goto bad;
		if (!mkey_ok(&sw->ports[0], smp))
			goto drop;
		if (pre == SIB_MAD_OK)
			sma(&sw->node, in, smp, &ev);
		else
			smp->status = cpu_to_be16(status);
		sma_respond(fab, smp);
		pkt->src_qpn = 0;
		pkt->dst_qpn = 0;
		pkt->sqp = NULL;
		if (dr) {
			/* C14-13:1: step back to the port it came in on */
			smp->hop_ptr--;
			out = &sw->ports[smp->return_path[smp->hop_ptr]];
			pkt->dlid = SIB_LID_PERMISSIVE;
			pkt->slid = sw->ports[0].lid;
		} else {
			u16 dlid = pkt->slid;
			u8 op;

			pkt->dlid = dlid;
			pkt->slid = sw->ports[0].lid;
			op = dlid < SIB_LFT_CAP && dlid <= sw->lft_top ?
			     sw->lft[dlid] : 0xff;
			if (op == 0 || op > nports)
				goto drop;
			out = &sw->ports[op];
		}
	}
	sib_wire_send(fab, out, pkt);
	spin_unlock_irqrestore(&fab->lock, flags);
	ev_raise(&ev);
	return;
bad:
	fab->mad_dropped++;
drop:
	sw->dropped++;
	spin_unlock_irqrestore(&fab->lock, flags);
	ev_raise(&ev);
	kfree(pkt);
}

/*
 * A LID-routed GMP (QP1) for the switch's own LID.  The switch's management
 * port has no class agent (no PMA yet): a Get or Set is answered as ib_mad
 * answers one no agent takes, GetResp with "unsupported method/attribute";
 * anything else, or a MAD with a bad base version or Q_Key, is dropped and
 * counted.  Called from the wire only; takes ownership of pkt.
 */
void sib_switch_gmp(struct sib_fabric *fab, struct sib_port *in,
		    struct sib_pkt *pkt)
{
	struct sib_switch *sw = in->node->sw;
	struct ib_mad_hdr *mh = (struct ib_mad_hdr *)pkt->data;
	unsigned long flags;
	u16 dlid;
	u8 op;

	spin_lock_irqsave(&fab->lock, flags);
	if (pkt->len < sizeof(struct ib_mad) || pkt->qkey != IB_QP1_QKEY ||
	    mh->base_version != IB_MGMT_BASE_VERSION ||
	    mh->mgmt_class == IB_MGMT_CLASS_SUBN_LID_ROUTED ||
	    mh->mgmt_class == IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE ||
	    (mh->method != IB_MGMT_METHOD_GET &&
	     mh->method != IB_MGMT_METHOD_SET))
		goto bad;
	mh->method = IB_MGMT_METHOD_GET_RESP;
	mh->status = cpu_to_be16(IB_MGMT_MAD_STATUS_UNSUPPORTED_METHOD_ATTRIB);
	fab->mad_rejected++;
	dlid = pkt->slid;
	op = dlid < SIB_LFT_CAP && dlid <= sw->lft_top ? sw->lft[dlid] : 0xff;
	if (op == 0 || op > sw->node.nports)
		goto drop;
	pkt->dst_qpn = pkt->src_qpn;
	pkt->src_qpn = 1;
	pkt->dlid = dlid;
	pkt->slid = sw->ports[0].lid;
	pkt->has_grh = false;
	pkt->sqp = NULL;
	sib_wire_send(fab, &sw->ports[op], pkt);
	spin_unlock_irqrestore(&fab->lock, flags);
	return;
bad:
	fab->mad_dropped++;
drop:
	sw->dropped++;
	spin_unlock_irqrestore(&fab->lock, flags);
	kfree(pkt);
}

u16 sib_port_pkey(struct sib_port *p, u16 index)
{
	return index < SIB_HCA_PKEYS ? p->pkeys[index] : 0;
}

/*
 * The debugfs link knob: up false pulls the cable (both ends go DOWN and
 * Polling, and stay so; an HCA port raises PORT_ERR if it was ACTIVE, the
 * switch port sets PortStateChange); up true plugs it back and both ends
 * train to LinkUp and wait in INIT for the SM's next sweep.
 */
void sib_port_set_link(struct sib_port *p, bool up)
{
	struct sib_fabric *fab = p->node->fab;
	struct sib_events ev = { .n = 0 };
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	if (p->peer && p->unplugged != !up) {
		p->unplugged = !up;
		link_bounce(p, up, &ev);
	}
	spin_unlock_irqrestore(&fab->lock, flags);
	ev_raise(&ev);
}

/*
 * Hot-plug, no lock held: cable HCA port hp to switch port sp.  Both ends
 * train to LinkUp and wait in INIT for the SM (the switch port leaves DOWN:
 * PortStateChange), unless the switch port's link knob is at 0.
 */
void sib_port_cable(struct sib_port *hp, struct sib_port *sp)
{
	struct sib_fabric *fab = hp->node->fab;
	struct sib_events ev = { .n = 0 };
	unsigned long flags;

	spin_lock_irqsave(&fab->lock, flags);
	hp->peer = sp;
	sp->peer = hp;
	link_bounce(hp, true, &ev);
	spin_unlock_irqrestore(&fab->lock, flags);
	ev_raise(&ev);
}

/*
 * Hot-plug, fab->lock held: the cable of HCA port p goes (its HCA is being
 * removed, so it raises no event): both ends DOWN and Polling, the switch
 * port sets PortStateChange, and neither end has a peer any more.
 */
void sib_port_uncable(struct sib_port *p)
{
	struct sib_events ev = { .n = 0 };
	struct sib_port *q = p->peer;

	lockdep_assert_held(&p->node->fab->lock);
	if (!q)
		return;
	link_bounce(p, false, &ev);
	WARN_ON(ev.n);			/* an HCA going away is not registered */
	q->peer = NULL;
	p->peer = NULL;
}
