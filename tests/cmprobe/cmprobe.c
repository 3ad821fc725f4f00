// SPDX-License-Identifier: GPL-2.0
/*
 * cmprobe: does rdma_cm find the IPoIB interface an incoming connection is
 * addressed to?  At load it listens with rdma_cm on listen_addr:port in the
 * network namespace of process listen_pid, and connects to that address
 * from the namespace of process connect_pid.  No RC QP is needed: the REQ
 * carries a made-up QPN and the listener refuses it at once.  What counts
 * is that the listener hears of the request at all, which rdma_cm allows
 * only once the receiving port's IPoIB client (get_net_dev_by_params) has
 * named a net_device holding listen_addr in that namespace.  The load
 * succeeds if it did, logging that interface; otherwise it fails with
 * -EHOSTUNREACH.  Test infrastructure only: nothing installs it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <rdma/rdma_cm.h>

static int listen_pid;
module_param(listen_pid, int, 0444);
MODULE_PARM_DESC(listen_pid, "A process in the listener's network namespace");
static int connect_pid;
module_param(connect_pid, int, 0444);
MODULE_PARM_DESC(connect_pid, "A process in the connecting side's network namespace");
static char *listen_addr = "";
module_param(listen_addr, charp, 0444);
MODULE_PARM_DESC(listen_addr, "IPv4 address to listen on and connect to");
static ushort port = 7174;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "Port (rdma_cm's TCP port space, default 7174)");
static int timeout_ms = 5000;
module_param(timeout_ms, int, 0444);
MODULE_PARM_DESC(timeout_ms, "Budget of each step in ms (default 5000)");

#define CMPROBE_FAKE_QPN	0xc0ffe

/*
 * The one probe.  The client's events are written by its handler before it
 * completes step; the listener's handler fills ifindex and ifname before it
 * completes req_seen.  Only init reads them, after waiting.
 */
static struct cmprobe {
	struct net *lnet;
	struct completion step;
	enum rdma_cm_event_type event;
	int status;
	struct completion req_seen;
	int ifindex;
	char ifname[IFNAMSIZ];
} probe;

static int cmprobe_client_handler(struct rdma_cm_id *id,
				  struct rdma_cm_event *ev)
{
	struct cmprobe *p = id->context;

	p->event = ev->event;
	p->status = ev->status;
	complete(&p->step);
	return 0;
}

/* The connection ids rdma_cm makes for requests inherit this handler. */
static int cmprobe_listen_handler(struct rdma_cm_id *id,
				  struct rdma_cm_event *ev)
{
	struct cmprobe *p = id->context;
	struct net_device *dev;

	if (ev->event != RDMA_CM_EVENT_CONNECT_REQUEST)
		return 0;
	p->ifindex = id->route.addr.dev_addr.bound_dev_if;
	dev = dev_get_by_index(p->lnet, p->ifindex);
	if (dev) {
		strscpy(p->ifname, dev->name, sizeof(p->ifname));
		dev_put(dev);
	}
	complete(&p->req_seen);
	/* non-zero: rdma_cm destroys the new id, and ib_cm sends a REJ */
	return 1;
}

/* Wait for the client's next event after @ret (a call's result). */
static int cmprobe_wait(int ret, const char *what,
			enum rdma_cm_event_type want)
{
	if (ret) {
		pr_err("%s: %d\n", what, ret);
		return ret;
	}
	if (!wait_for_completion_timeout(&probe.step,
					 msecs_to_jiffies(timeout_ms))) {
		pr_err("%s: no event in %d ms\n", what, timeout_ms);
		return -ETIMEDOUT;
	}
	pr_info("%s: %s (status %d)\n", what, rdma_event_msg(probe.event),
		probe.status);
	return probe.event == want ? 0 : -EIO;
}

static int __init cmprobe_init(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	struct rdma_conn_param param = {
		.qp_num = CMPROBE_FAKE_QPN,
		.responder_resources = 1,
		.initiator_depth = 1,
		.retry_count = 1,
		.rnr_retry_count = 1,
	};
	struct rdma_cm_id *lid, *cid;
	struct net *cnet;
	int ret;

	if (!in4_pton(listen_addr, -1, (u8 *)&sin.sin_addr.s_addr, -1, NULL)) {
		pr_err("listen_addr '%s' is no IPv4 address\n", listen_addr);
		return -EINVAL;
	}
	init_completion(&probe.step);
	init_completion(&probe.req_seen);

	probe.lnet = get_net_ns_by_pid(listen_pid);
	if (IS_ERR(probe.lnet))
		return PTR_ERR(probe.lnet);
	cnet = get_net_ns_by_pid(connect_pid);
	if (IS_ERR(cnet)) {
		ret = PTR_ERR(cnet);
		goto put_lnet;
	}

	lid = rdma_create_id(probe.lnet, cmprobe_listen_handler, &probe,
			     RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(lid)) {
		ret = PTR_ERR(lid);
		goto put_cnet;
	}
	ret = rdma_bind_addr(lid, (struct sockaddr *)&sin);
	if (!ret)
		ret = rdma_listen(lid, 4);
	if (ret) {
		pr_err("listening on %pI4:%u: %d\n", &sin.sin_addr, port, ret);
		goto destroy_lid;
	}

	cid = rdma_create_id(cnet, cmprobe_client_handler, &probe,
			     RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(cid)) {
		ret = PTR_ERR(cid);
		goto destroy_lid;
	}
	ret = cmprobe_wait(rdma_resolve_addr(cid, NULL, (struct sockaddr *)&sin,
					     timeout_ms),
			   "resolve_addr", RDMA_CM_EVENT_ADDR_RESOLVED);
	if (ret)
		goto destroy_cid;
	ret = cmprobe_wait(rdma_resolve_route(cid, timeout_ms),
			   "resolve_route", RDMA_CM_EVENT_ROUTE_RESOLVED);
	if (ret)
		goto destroy_cid;
	/* the listener refuses it: REJECTED is the expected end */
	cmprobe_wait(rdma_connect(cid, &param), "connect",
		     RDMA_CM_EVENT_REJECTED);

	if (wait_for_completion_timeout(&probe.req_seen,
					msecs_to_jiffies(timeout_ms))) {
		pr_info("listener on %pI4 got the request through %s (ifindex %d)\n",
			&sin.sin_addr, probe.ifname, probe.ifindex);
		ret = 0;
	} else {
		pr_err("listener on %pI4 never got the request\n",
		       &sin.sin_addr);
		ret = -EHOSTUNREACH;
	}

destroy_cid:
	rdma_destroy_id(cid);
destroy_lid:
	rdma_destroy_id(lid);
put_cnet:
	put_net(cnet);
put_lnet:
	put_net(probe.lnet);
	return ret;
}

static void __exit cmprobe_exit(void)
{
}

module_init(cmprobe_init);
module_exit(cmprobe_exit);
MODULE_DESCRIPTION("Lab probe: rdma_cm's lookup of an IPoIB interface");
MODULE_LICENSE("GPL");
