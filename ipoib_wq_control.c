// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: the test-only shared workqueue, compiled instead of ipoib_wq.c
 * in the control build (make control, IPOIB_SHARED_WQ=1); never part of the
 * production module.
 */

#include <linux/workqueue.h>

#include "ipoib.h"

/*
 * Test-only control build (make control): every interface's work shares
 * one ordered workqueue, the design this driver replaced.  Only the
 * deadlock regression scenario and the benchmark use it.
 */
static struct workqueue_struct *ipoib_shared_wq;

struct workqueue_struct *ipoib_wq_create(struct net_device *dev)
{
	return ipoib_shared_wq;
}

void ipoib_wq_destroy(struct ipoib_dev_priv *priv)
{
	flush_workqueue(priv->wq);
	priv->wq = NULL;
}

int ipoib_shared_wq_init(void)
{
	ipoib_shared_wq = alloc_ordered_workqueue("ipoib_shared", WQ_MEM_RECLAIM);
	return ipoib_shared_wq ? 0 : -ENOMEM;
}

void ipoib_shared_wq_exit(void)
{
	destroy_workqueue(ipoib_shared_wq);
}
