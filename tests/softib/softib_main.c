// SPDX-License-Identifier: GPL-2.0
/*
 * softib: one simulated InfiniBand subnet per load - N HCAs (ib_devices),
 * every port cabled to one simulated switch with its own SMA.  Test
 * infrastructure for the ib_ipoib lab; never installed.  See README.md.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <rdma/ib_verbs.h>

#include "softib.h"

static unsigned int hcas = 3;
module_param(hcas, uint, 0444);
MODULE_PARM_DESC(hcas, "simulated HCAs (1-16, default 3)");

static unsigned int ports = 1;
module_param(ports, uint, 0444);
MODULE_PARM_DESC(ports, "ports per HCA (1 or 2, default 1)");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "GUID seed (0-65535): same seed, same GUIDs");

static struct sib_fabric *fabric;

/*
 * GUIDs: a locally administered OUI-like prefix, the seed, the node index.
 * HCA i has node GUID ...(i+1)00 and port GUIDs node GUID + port; the
 * switch is ...ff00.
 */
static u64 make_guid(unsigned int node)
{
	return (0x02feebULL << 40) | ((u64)(seed & 0xffff) << 16) |
	       ((u64)(node & 0xff) << 8);
}

static void fabric_free(struct sib_fabric *fab)
{
	int i;

	for (i = fab->nhcas - 1; i >= 0; i--) {
		WARN_ON(!list_empty(&fab->hcas[i]->mcast));
		xa_destroy(&fab->hcas[i]->qps);
		ida_destroy(&fab->hcas[i]->qpn_ida);
		ib_dealloc_device(&fab->hcas[i]->ibdev);
	}
	kfree(fab->sw);
	if (fab->wq)
		destroy_workqueue(fab->wq);
	kfree(fab);
}

static struct sib_fabric *fabric_alloc(void)
{
	struct sib_fabric *fab;
	struct sib_switch *sw;
	int i, p;

	fab = kzalloc(sizeof(*fab), GFP_KERNEL);
	if (!fab)
		return NULL;
	spin_lock_init(&fab->lock);
	INIT_LIST_HEAD(&fab->wire);
	INIT_LIST_HEAD(&fab->flushq);
	INIT_WORK(&fab->wire_work, sib_wire_work);
	INIT_LIST_HEAD(&fab->parked);
	INIT_DELAYED_WORK(&fab->retry_work, sib_retry_work);
	fab->wq = alloc_ordered_workqueue("softib_wire", WQ_MEM_RECLAIM);
	if (!fab->wq)
		goto err;

	sw = kzalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw)
		goto err;
	fab->sw = sw;
	sw->node.fab = fab;
	sw->node.is_switch = true;
	sw->node.sw = sw;
	sw->node.nports = hcas * ports;
	sw->node.node_guid = make_guid(0xff);
	sw->node.sys_guid = sw->node.node_guid;
	snprintf(sw->node.desc, sizeof(sw->node.desc), "softib switch");
	memset(sw->lft, 0xff, sizeof(sw->lft));
	for (p = 0; p <= sw->node.nports; p++) {
		sib_port_init(&sw->ports[p], &sw->node, p);
		sw->pkeys[p][0] = 0xffff;
	}
	/*
	 * Base port 0, the management port, has no cable and is always up:
	 * LinkUp and ACTIVE, as ibsim (linux-rdma's simulator) models it.
	 * opensm ignores its state and never arms it; smpquery shows it.
	 */
	sw->ports[0].phys = SIB_PHYS_LINKUP;
	sw->ports[0].state = IB_PORT_ACTIVE;
	sw->life_state = (20 << 3) | (1 << 2);

	for (i = 0; i < hcas; i++) {
		struct sib_hca *hca;

		hca = ib_alloc_device(sib_hca, ibdev);
		if (!hca)
			goto err;
		fab->hcas[fab->nhcas++] = hca;
		hca->index = i;
		ida_init(&hca->qpn_ida);
		xa_init_flags(&hca->qps, XA_FLAGS_LOCK_IRQ);
		INIT_LIST_HEAD(&hca->mcast);
		hca->node.fab = fab;
		hca->node.hca = hca;
		hca->node.nports = ports;
		hca->node.node_guid = make_guid(i + 1);
		hca->node.sys_guid = hca->node.node_guid;
		snprintf(hca->node.desc, sizeof(hca->node.desc),
			 "softib HCA %d", i);
		for (p = 0; p < ports; p++) {
			sib_port_init(&hca->ports[p], &hca->node, p + 1);
			sib_link_up(&hca->ports[p],
				    &sw->ports[1 + i * ports + p]);
		}
	}
	return fab;
err:
	fabric_free(fab);
	return NULL;
}

static int hca_register(struct sib_hca *hca)
{
	struct ib_device *dev = &hca->ibdev;

	dev->node_type = RDMA_NODE_IB_CA;
	dev->phys_port_cnt = hca->node.nports;
	dev->num_comp_vectors = 1;
	dev->node_guid = cpu_to_be64(hca->node.node_guid);
	memcpy(dev->node_desc, hca->node.desc, IB_DEVICE_NODE_DESC_MAX);
	dev->local_dma_lkey = 0;
	dev->uverbs_cmd_mask = 0;
	ib_set_device_ops(dev, &sib_dev_ops);
	/* no dma_device: ib_uses_virt_dma(), addresses are kernel virtual */
	return ib_register_device(dev, "softib%d", NULL);
}

static void fabric_stop(struct sib_fabric *fab)
{
	unsigned long flags;
	int i, p;

	for (i = fab->nhcas - 1; i >= 0; i--) {
		struct sib_hca *hca = fab->hcas[i];

		if (!hca->registered)
			continue;
		ib_unregister_device(&hca->ibdev);
		spin_lock_irqsave(&fab->lock, flags);
		hca->registered = false;
		/* cut the cables, so nothing reaches this HCA any more */
		for (p = 0; p < hca->node.nports; p++) {
			struct sib_port *hp = &hca->ports[p];

			if (hp->peer) {
				hp->peer->peer = NULL;
				hp->peer->phys = SIB_PHYS_POLLING;
				hp->peer->state = IB_PORT_DOWN;
				hp->peer = NULL;
			}
		}
		spin_unlock_irqrestore(&fab->lock, flags);
	}
	/*
	 * Packets in flight now find no cable; let the wire drain, the ones
	 * held by a delay knob too.  No QP is left, so nothing is parked for
	 * a retry (destroy_qp takes its own).
	 */
	sib_loss_stop(fab);
	flush_work(&fab->wire_work);
	cancel_delayed_work_sync(&fab->retry_work);
	WARN_ON(!list_empty(&fab->parked));
}

static int __init softib_init(void)
{
	struct sib_fabric *fab;
	int i, ret;

	if (hcas < 1 || hcas > SIB_MAX_HCAS || ports < 1 ||
	    ports > SIB_MAX_HCA_PORTS || seed > 0xffff) {
		pr_err("softib: need hcas 1-%d, ports 1-%d, seed 0-65535\n",
		       SIB_MAX_HCAS, SIB_MAX_HCA_PORTS);
		return -EINVAL;
	}
	fab = fabric_alloc();
	if (!fab)
		return -ENOMEM;
	for (i = 0; i < fab->nhcas; i++) {
		ret = hca_register(fab->hcas[i]);
		if (ret) {
			pr_err("softib: registering HCA %d failed: %d\n", i, ret);
			goto err;
		}
		fab->hcas[i]->registered = true;
	}
	sib_debugfs_init(fab);
	fabric = fab;
	pr_info("softib: subnet of %u HCAs x %u ports and one %u-port switch, seed %u\n",
		hcas, ports, fab->sw->node.nports, seed);
	return 0;
err:
	fabric_stop(fab);
	fabric_free(fab);
	return ret;
}

static void __exit softib_exit(void)
{
	sib_debugfs_exit(fabric);
	fabric_stop(fabric);
	fabric_free(fabric);
}

module_init(softib_init);
module_exit(softib_exit);
MODULE_DESCRIPTION("softib: simulated InfiniBand subnet for the ib_ipoib lab (test only)");
MODULE_LICENSE("GPL");
