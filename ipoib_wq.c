// SPDX-License-Identifier: GPL-2.0
/*
 * ib_ipoib: each interface's own ordered workqueue (see ipoib.h), created
 * by ipoib_dev_init() and destroyed by ipoib_dev_uninit().  The test-only
 * control build (make control) compiles ipoib_wq_control.c instead.
 */

#include <linux/workqueue.h>

#include "ipoib.h"

/* The interface's own ordered workqueue; see ipoib.h. */
struct workqueue_struct *ipoib_wq_create(struct net_device *dev)
{
	return alloc_ordered_workqueue("%s", WQ_MEM_RECLAIM, dev->name);
}

void ipoib_wq_destroy(struct ipoib_dev_priv *priv)
{
	destroy_workqueue(priv->wq);
	priv->wq = NULL;
}

int ipoib_shared_wq_init(void)
{
	return 0;
}

void ipoib_shared_wq_exit(void)
{
}
