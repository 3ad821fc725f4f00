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

/* An HCA that is not (or no longer) registered nor cabled. */
static void hca_free(struct sib_hca *hca)
{
	WARN_ON(!list_empty(&hca->mcast));
	xa_destroy(&hca->qps);
	ida_destroy(&hca->qpn_ida);
	ib_dealloc_device(&hca->ibdev);
}

static void fabric_free(struct sib_fabric *fab)
{
	int i;

	for (i = fab->nhcas - 1; i >= 0; i--)
		if (fab->hcas[i])
			hca_free(fab->hcas[i]);
	kfree(fab->sw);
	if (fab->wq)
		destroy_workqueue(fab->wq);
	kfree(fab);
}

/* HCA index i with its GUIDs, ports in their initial state, no cable. */
static struct sib_hca *hca_alloc(struct sib_fabric *fab, int i)
{
	struct sib_hca *hca;
	int p;

	hca = ib_alloc_device(sib_hca, ibdev);
	if (!hca)
		return NULL;
	hca->index = i;
	ida_init(&hca->qpn_ida);
	xa_init_flags(&hca->qps, XA_FLAGS_LOCK_IRQ);
	INIT_LIST_HEAD(&hca->mcast);
	atomic_set(&hca->ev_busy, 0);
	hca->node.fab = fab;
	hca->node.hca = hca;
	hca->node.nports = ports;
	hca->node.node_guid = make_guid(i + 1);
	hca->node.sys_guid = hca->node.node_guid;
	snprintf(hca->node.desc, sizeof(hca->node.desc), "softib HCA %d", i);
	for (p = 0; p < ports; p++)
		sib_port_init(&hca->ports[p], &hca->node, p + 1);
	return hca;
}

/* Switch port of HCA i port p (0-based). */
static struct sib_port *sw_port(struct sib_fabric *fab, int i, int p)
{
	return &fab->sw->ports[1 + i * ports + p];
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
	INIT_LIST_HEAD(&fab->wire_vl15);
	INIT_LIST_HEAD(&fab->flushq);
	INIT_LIST_HEAD(&fab->txdone);
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

	mutex_init(&fab->hotplug_lock);
	fab->nhcas = hcas;
	for (i = 0; i < hcas; i++) {
		fab->slots[i].fab = fab;
		fab->slots[i].index = i;
		fab->hcas[i] = hca_alloc(fab, i);
		if (!fab->hcas[i])
			goto err;
		for (p = 0; p < ports; p++)
			sib_link_up(&fab->hcas[i]->ports[p], sw_port(fab, i, p));
	}
	return fab;
err:
	fabric_free(fab);
	return NULL;
}

static int hca_register(struct sib_hca *hca, const char *name)
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
	return ib_register_device(dev, name, NULL);
}

/*
 * Take HCA index out of the subnet, as a PCI removal would: unregister it
 * (ib_core calls every client's remove while the others may still send to
 * it), pull its cables (the switch ports go DOWN: PortStateChange for the
 * SM), drop what it left on the wire and free it.  fab->hotplug_lock held,
 * or the fabric not live (init failure, unload).  Also for an HCA that was
 * never registered.
 */
static void hca_remove(struct sib_fabric *fab, int index)
{
	struct sib_hca *hca = fab->hcas[index];
	struct sib_pkt *pkt, *tmp;
	unsigned long flags;
	bool registered;
	LIST_HEAD(dead);
	int p;

	sib_debugfs_hca_remove(hca);
	/* no ib_event for it from here on; wait for those already recorded */
	spin_lock_irqsave(&fab->lock, flags);
	registered = hca->registered;
	hca->registered = false;
	spin_unlock_irqrestore(&fab->lock, flags);
	wait_var_event(&hca->ev_busy, !atomic_read(&hca->ev_busy));
	if (registered)
		ib_unregister_device(&hca->ibdev);

	/*
	 * Its QPs are gone: nothing sends from it any more.  What its ports
	 * hold back for a delay knob goes to the wire, to be unhooked below.
	 */
	for (p = 0; p < hca->node.nports; p++)
		sib_loss_stop_port(fab, &hca->ports[p]);
	spin_lock_irqsave(&fab->lock, flags);
	for (p = 0; p < hca->node.nports; p++)
		sib_port_uncable(&hca->ports[p]);
	sib_wire_unhook_locked(fab, &hca->node, &dead);
	fab->hcas[index] = NULL;
	spin_unlock_irqrestore(&fab->lock, flags);
	list_for_each_entry_safe(pkt, tmp, &dead, list)
		kfree(pkt);
	/*
	 * Nothing on the wire leads to it now (no cable, none of its packets
	 * queued); the item the wire has in hand may still, so wait for it.
	 */
	sib_wire_sync(fab);
	hca_free(hca);
}

int sib_hca_remove(struct sib_fabric *fab, int index)
{
	int ret = 0;

	mutex_lock(&fab->hotplug_lock);
	if (fab->hcas[index]) {
		pr_info("softib: hot-removing HCA %d (%s)\n", index,
			dev_name(&fab->hcas[index]->ibdev.dev));
		hca_remove(fab, index);
	} else {
		ret = -ENODEV;
	}
	mutex_unlock(&fab->hotplug_lock);
	return ret;
}

/*
 * Plug a fresh HCA into empty slot index: same GUIDs, same name
 * (softib<index>), registered, then cabled (the links train; the SM's
 * next sweep brings them ACTIVE).
 */
int sib_hca_add(struct sib_fabric *fab, int index)
{
	struct sib_hca *hca;
	unsigned long flags;
	char name[IB_DEVICE_NAME_MAX];
	int ret, p;

	mutex_lock(&fab->hotplug_lock);
	ret = -EEXIST;
	if (fab->hcas[index])
		goto out;
	ret = -ENOMEM;
	hca = hca_alloc(fab, index);
	if (!hca)
		goto out;
	snprintf(name, sizeof(name), "softib%d", index);
	ret = hca_register(hca, name);
	if (ret) {
		pr_err("softib: re-adding HCA %d failed: %d\n", index, ret);
		hca_free(hca);
		goto out;
	}
	spin_lock_irqsave(&fab->lock, flags);
	hca->registered = true;
	fab->hcas[index] = hca;
	spin_unlock_irqrestore(&fab->lock, flags);
	for (p = 0; p < hca->node.nports; p++)
		sib_port_cable(&hca->ports[p], sw_port(fab, index, p));
	sib_debugfs_hca_add(fab, hca);
	pr_info("softib: HCA %d added back (%s)\n", index, name);
out:
	mutex_unlock(&fab->hotplug_lock);
	return ret;
}

static void fabric_stop(struct sib_fabric *fab)
{
	int i;

	for (i = fab->nhcas - 1; i >= 0; i--)
		if (fab->hcas[i])
			hca_remove(fab, i);
	/*
	 * Packets in flight now find no cable; let the wire drain, the ones
	 * held by a delay knob too.  No QP is left, so nothing is parked for
	 * a retry (destroy_qp takes its own).
	 */
	sib_loss_stop(fab);
	flush_work(&fab->wire_work);
	cancel_delayed_work_sync(&fab->retry_work);
	WARN_ON(!list_empty(&fab->parked));
	WARN_ON(!list_empty(&fab->txdone));
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
		ret = hca_register(fab->hcas[i], "softib%d");
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
