// SPDX-License-Identifier: GPL-2.0
/*
 * mad_fuzz: send malformed and random MADs to every node of a subnet through
 * ib_umad, and check every answer (lab tool for softib's SMAs).
 *
 *   mad_fuzz [-d /dev/infiniband/umadN] [-m malformed|random|all] [-n COUNT]
 *            [-T SECONDS] [-s SEED] [-t TIMEOUT_MS] [-v]
 *
 * It speaks the kernel's ib_user_mad ABI directly (no libibumad): one send-only
 * agent on QP0 and one on QP1, every request sent with a response timeout, so
 * each one comes back either as its answer or as ETIMEDOUT (or its write is
 * refused, e.g. -EINVAL for a directed route ib_mad will not send).
 *
 * Discovery: directed-route NodeInfo/PortInfo Gets find the local node, the
 * switch behind it (hop 1) and every HCA behind the switch (hop 2), with
 * their LIDs. Every node is a target: directed route and LID routed on QP0,
 * LID routed GMPs on QP1.
 *
 * -m malformed: a fixed list per target (bad base/class version, unknown or
 *    non-SMA methods, unknown attributes, attribute modifiers beyond the
 *    tables and ports, Sets of read-only attributes, rejected PortInfo and
 *    SwitchInfo Sets, directed routes with bad paths or hop counts, GMP classes
 *    on QP0, SMP classes on QP1, a 12-byte payload, a MAD shorter than the
 *    ABI's minimum), each with the answer a real SMA gives.
 * -m random: COUNT (default 2000) pseudo-random MADs from SEED (default 1;
 *    the same seed and subnet give the same stream). A Set is only ever made
 *    with an attribute or modifier every node must reject, so the stream
 *    changes nothing in the subnet (Gets only read). The SM's own node gets
 *    no SMInfo, Trap, Report or TrapRepress (those go to opensm). With
 *    -T SECONDS the stream goes on until it has lasted that long, and has
 *    sent at least COUNT.
 * -m all (default): both.
 *
 * An answer must be a GetResp with the request's TID, class, versions,
 * attribute and modifier, the direction bit set exactly for directed route,
 * and the expected status: exact for the fixed list and for unknown
 * attributes, bad versions and methods in the random stream; a Get of an
 * implemented attribute may be 0x0000, 0x000c or 0x001c. Where a real SMA
 * (or ib_mad for an unclaimed GMP) answers nothing, no answer must come.
 *
 * Prints the targets, any mismatch, and per mode "NAME: sent S answered A
 * silent N refused R unexpected U". Exits 0 when U is 0 everywhere, 1 on a
 * mismatch, 2 on usage or setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <rdma/ib_user_mad.h>
#include <rdma/rdma_user_ioctl.h>

#define MAD_SIZE	256
#define HDR_SIZE	((int)sizeof(struct ib_user_mad_hdr))
#define WINDOW		32		/* requests outstanding at once */
#define MAX_TARGETS	40
#define MAX_REPORTS	40		/* mismatches printed in full */

/* MAD header offsets (IBA 13.4.3) and SMP fields (IBA 14.2.1) */
#define M_BASE		0
#define M_CLASS		1
#define M_CLASSVER	2
#define M_METHOD	3
#define M_STATUS	4
#define M_HOPPTR	6
#define M_HOPCNT	7
#define M_TID		8
#define M_ATTR		16
#define M_MOD		20
#define M_MKEY		24
#define M_DRSLID	32
#define M_DRDLID	34
#define M_DATA		64	/* SMP data, 64 bytes */
#define M_IPATH		128
#define M_RPATH		192
#define M_RMPPFLAGS	26	/* GMPs: RMPP flags (kept 0: no RMPP) */

#define CLASS_LID	0x01
#define CLASS_DR	0x81
#define GET		0x01
#define SET		0x02
#define TRAP		0x05
#define REPORT		0x06
#define TRAP_REPRESS	0x07
#define GET_RESP	0x81

#define A_NOTICE	0x0002
#define A_NODE_DESC	0x0010
#define A_NODE_INFO	0x0011
#define A_SWITCH_INFO	0x0012
#define A_GUID_INFO	0x0014
#define A_PORT_INFO	0x0015
#define A_PKEY		0x0016
#define A_SL2VL		0x0017
#define A_VLARB		0x0018
#define A_LFT		0x0019
#define A_MFT		0x001b
#define A_SM_INFO	0x0020

#define ST_OK		0x0000
#define ST_VERSION	0x0004
#define ST_METHOD	0x0008
#define ST_ATTR		0x000c	/* method/attribute combination unsupported */
#define ST_VALUE	0x001c
#define ST_DIR		0x8000

#define PKEY_BLOCKS	4	/* 128 entries (softib.h SIB_HCA_PKEYS) */
#define LFT_BLOCKS	16	/* 1024 LIDs (softib.h SIB_LFT_CAP) */
#define MFT_BLOCKS	32	/* 1024 MLIDs (softib.h SIB_MFT_CAP) */

enum route { R_DR, R_LID, R_GMP };
static const char *const route_name[] = { "dr", "lid", "gmp" };

enum want {
	W_NONE,		/* no answer (timeout or a refused write) */
	W_STATUS,	/* an answer with exactly this status */
	W_GET,		/* an answer with status 0, 0x000c or 0x001c */
	W_REJECT,	/* an answer with a non-zero status */
	W_ANY,		/* an answer (well formed) or none */
	W_REJECT_ANY,	/* an answer with a non-zero status, or none */
	W_NOREPLY,	/* a response method: sent without a timeout */
	W_NOT_TARGET,	/* a NodeInfo Get: none, or from another node */
};

struct target {
	int sw;			/* a switch */
	int local;		/* the node the tool (and opensm) runs on */
	int nports;
	int hops;
	uint8_t path[4];	/* initial path, [1..hops] */
	uint16_t lid;
	uint64_t guid;
	uint8_t portinfo[64];	/* PortInfo as read (mod 0) */
};

struct req {
	uint8_t mad[MAD_SIZE];
	int len;		/* bytes of MAD written (256 but for short tests) */
	enum route route;
	uint16_t dlid;
	int qp;
	enum want want;
	uint16_t status;	/* W_STATUS */
	const char *name;
	int target;
};

struct stats {
	unsigned long sent, answered, silent, refused, lost, bad;
};

static int fd = -1;
static uint32_t agent[2];
static unsigned int timeout_ms = 200;
static int verbose;
static struct target tg[MAX_TARGETS];
static int ntg;
static int max_ports;
static uint32_t next_tid = 1;
static unsigned long reports;

/* outstanding requests, by TID */
static struct req *inflight[WINDOW];
static int ninflight;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mad_fuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* xorshift64*: small, fast and the same everywhere */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)((rnd() >> 32) % n);
}

static int one_in(unsigned int n)
{
	return rnd_below(n) == 0;
}

/* A fresh SMP request to target t (directed route or LID routed). */
static void smp_init(struct req *r, int t, enum route route, uint8_t method,
		     uint16_t attr, uint32_t mod)
{
	const struct target *x = &tg[t];
	int i;

	memset(r, 0, sizeof(*r));
	r->target = t;
	r->route = route;
	r->len = MAD_SIZE;
	r->qp = 0;
	r->mad[M_BASE] = 1;
	r->mad[M_CLASS] = route == R_DR ? CLASS_DR : CLASS_LID;
	r->mad[M_CLASSVER] = 1;
	r->mad[M_METHOD] = method;
	put16(r->mad + M_ATTR, attr);
	put32(r->mad + M_MOD, mod);
	if (route == R_DR) {
		r->dlid = 0xffff;
		r->mad[M_HOPCNT] = x->hops;
		for (i = 1; i <= x->hops; i++)
			r->mad[M_IPATH + i] = x->path[i];
		put16(r->mad + M_DRSLID, 0xffff);
		put16(r->mad + M_DRDLID, 0xffff);
	} else {
		r->dlid = x->lid;
	}
}

/* A fresh GMP request (QP1, LID routed) to target t. */
static void gmp_init(struct req *r, int t, uint8_t class, uint8_t method,
		     uint16_t attr)
{
	memset(r, 0, sizeof(*r));
	r->target = t;
	r->route = R_GMP;
	r->len = MAD_SIZE;
	r->qp = 1;
	r->dlid = tg[t].lid;
	r->mad[M_BASE] = 1;
	r->mad[M_CLASS] = class;
	r->mad[M_CLASSVER] = 1;
	r->mad[M_METHOD] = method;
	put16(r->mad + M_ATTR, attr);
}

static void expect(struct req *r, enum want w, uint16_t status)
{
	r->want = w;
	r->status = status;
}

/* Write one request; 0 on success, -errno when the kernel refuses it. */
static int send_req(struct req *r, uint32_t tid)
{
	uint8_t buf[HDR_SIZE + MAD_SIZE];
	struct ib_user_mad_hdr *h = (struct ib_user_mad_hdr *)buf;
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	/* ib_umad puts its agent's ID there in requests; not in responses */
	put32(r->mad + M_TID, 0x00fffffe);
	put32(r->mad + M_TID + 4, tid);
	h->id = agent[r->qp];
	h->timeout_ms = r->want == W_NOREPLY ? 0 : timeout_ms;
	h->retries = 0;
	h->qpn = htonl(r->qp);
	h->qkey = htonl(r->qp ? 0x80010000 : 0);
	h->lid = htons(r->dlid);
	h->pkey_index = 0;
	memcpy(buf + HDR_SIZE, r->mad, r->len);
	n = write(fd, buf, HDR_SIZE + r->len);
	if (n < 0)
		return -errno;
	if (n != HDR_SIZE + r->len)
		return -EIO;
	return 0;
}

static void report(const struct req *r, const char *fmt, ...)
{
	const struct target *x = &tg[r->target];
	va_list ap;

	if (reports++ >= MAX_REPORTS)
		return;
	printf("UNEXPECTED %s -> %s lid %u via %s: class 0x%02x v%u/%u method 0x%02x attr 0x%04x mod 0x%08x: ",
	       r->name, x->sw ? "switch" : "hca", x->lid, route_name[r->route],
	       r->mad[M_CLASS], r->mad[M_BASE], r->mad[M_CLASSVER],
	       r->mad[M_METHOD], get16(r->mad + M_ATTR), get32(r->mad + M_MOD));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* The request r came back as the MAD m (len bytes) or not at all (m NULL). */
static void judge(const struct req *r, const uint8_t *m, int len,
		  struct stats *st)
{
	uint16_t status, dir;

	if (!m) {
		st->silent++;
		if (r->want == W_NONE || r->want == W_ANY ||
		    r->want == W_REJECT_ANY || r->want == W_NOT_TARGET)
			return;
		st->bad++;
		report(r, "no answer");
		return;
	}
	st->answered++;
	if (r->want == W_NOT_TARGET) {
		/* ib_mad may take a bad route as ending at the sender */
		if (len >= M_DATA + 20 && (get16(m + M_STATUS) & 0x7fff) == 0 &&
		    get64(m + M_DATA + 12) != tg[r->target].guid)
			return;
		st->bad++;
		report(r, "answered (status 0x%04x) from %s node",
		       len >= 6 ? get16(m + M_STATUS) : 0,
		       len >= M_DATA + 20 &&
		       get64(m + M_DATA + 12) == tg[r->target].guid ?
		       "the target" : "an unknown");
		return;
	}
	if (r->want == W_NONE) {
		st->bad++;
		report(r, "answered (status 0x%04x), a real SMA stays silent",
		       len >= 6 ? get16(m + M_STATUS) : 0);
		return;
	}
	if (len < 64) {
		st->bad++;
		report(r, "answer of %d bytes", len);
		return;
	}
	status = get16(m + M_STATUS);
	dir = r->mad[M_CLASS] == CLASS_DR ? ST_DIR : 0;
	if (m[M_METHOD] != GET_RESP || m[M_BASE] != r->mad[M_BASE] ||
	    m[M_CLASS] != r->mad[M_CLASS] ||
	    m[M_CLASSVER] != r->mad[M_CLASSVER] ||
	    get32(m + M_TID + 4) != get32(r->mad + M_TID + 4) ||
	    get16(m + M_ATTR) != get16(r->mad + M_ATTR) ||
	    get32(m + M_MOD) != get32(r->mad + M_MOD) ||
	    (status & ST_DIR) != dir) {
		st->bad++;
		report(r, "malformed answer: method 0x%02x class 0x%02x v%u/%u tid 0x%016llx attr 0x%04x mod 0x%08x status 0x%04x",
		       m[M_METHOD], m[M_CLASS], m[M_BASE], m[M_CLASSVER],
		       (unsigned long long)get64(m + M_TID),
		       get16(m + M_ATTR), get32(m + M_MOD), status);
		return;
	}
	status &= ~ST_DIR;
	switch (r->want) {
	case W_STATUS:
		if (status == r->status)
			return;
		break;
	case W_GET:
		if (status == ST_OK || status == ST_ATTR || status == ST_VALUE)
			return;
		break;
	case W_REJECT:
	case W_REJECT_ANY:
		if (status)
			return;
		break;
	default:
		return;
	}
	st->bad++;
	if (r->want == W_STATUS)
		report(r, "status 0x%04x, want 0x%04x", status, r->status);
	else
		report(r, "status 0x%04x", status);
}

/* Read one answer or timeout notice; wait at most ms. 0 if none came. */
static int collect(int ms, struct stats *st)
{
	uint8_t buf[HDR_SIZE + MAD_SIZE];
	struct ib_user_mad_hdr *h = (struct ib_user_mad_hdr *)buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint32_t tid;
	ssize_t n;
	int i;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	if (n < HDR_SIZE + M_TID + 8) {
		if (n < 0 && errno == EAGAIN)
			return 1;
		die("read from umad: %zd (%s)", n, n < 0 ? strerror(errno) : "short");
	}
	tid = get32(buf + HDR_SIZE + M_TID + 4);
	for (i = 0; i < ninflight; i++)
		if (get32(inflight[i]->mad + M_TID + 4) == tid)
			break;
	if (i == ninflight) {
		if (verbose)
			printf("stray MAD tid 0x%08x status %u\n", tid, h->status);
		return 1;
	}
	if (h->status)
		judge(inflight[i], NULL, 0, st);
	else
		judge(inflight[i], buf + HDR_SIZE, (int)n - HDR_SIZE, st);
	free(inflight[i]);
	inflight[i] = inflight[--ninflight];
	return 1;
}

/*
 * Nothing came back for long past the timeout: ib_mad completed these sends
 * with an error and without a notice. Judge them as unanswered.
 */
static void lose_all(struct stats *st)
{
	while (ninflight) {
		struct req *r = inflight[--ninflight];

		printf("lost %s -> target %d via %s: class 0x%02x v%u/%u method 0x%02x attr 0x%04x hops %u/%u status 0x%04x: no answer, no timeout notice\n",
		       r->name, r->target, route_name[r->route],
		       r->mad[M_CLASS], r->mad[M_BASE], r->mad[M_CLASSVER],
		       r->mad[M_METHOD], get16(r->mad + M_ATTR),
		       r->mad[M_HOPPTR], r->mad[M_HOPCNT],
		       get16(r->mad + M_STATUS));
		st->lost++;
		judge(r, NULL, 0, st);
		free(r);
	}
}

/* Send r (taken over: freed when judged) with at most WINDOW outstanding. */
static void submit(struct req *r, struct stats *st)
{
	int ret;

	while (ninflight == WINDOW)
		if (!collect((int)timeout_ms * 4 + 2000, st))
			lose_all(st);
	ret = send_req(r, next_tid++);
	st->sent++;
	if (verbose)
		printf("send %s -> %d via %s: %d\n", r->name, r->target,
		       route_name[r->route], ret);
	if (ret < 0) {
		st->refused++;
		if (r->want == W_NONE || r->want == W_ANY ||
		    r->want == W_REJECT_ANY || r->want == W_NOREPLY ||
		    r->want == W_NOT_TARGET) {
			free(r);
			return;
		}
		st->bad++;
		report(r, "write refused: %s", strerror(-ret));
		free(r);
		return;
	}
	if (r->want == W_NOREPLY) {
		free(r);
		return;
	}
	inflight[ninflight++] = r;
}

static void drain(struct stats *st)
{
	while (ninflight)
		if (!collect((int)timeout_ms * 4 + 2000, st))
			lose_all(st);
}

static struct req *new_req(void)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		die("out of memory");
	return r;
}

/* One synchronous Get for discovery: the answer's data, or -1. */
static int get_sync(int t, uint16_t attr, uint32_t mod, uint8_t *data)
{
	uint8_t buf[HDR_SIZE + MAD_SIZE];
	struct ib_user_mad_hdr *h = (struct ib_user_mad_hdr *)buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint32_t tid = next_tid++;
	struct req r;
	ssize_t n;

	smp_init(&r, t, R_DR, GET, attr, mod);
	if (send_req(&r, tid) < 0)
		return -1;
	for (;;) {
		if (poll(&pfd, 1, (int)timeout_ms * 4 + 2000) <= 0)
			die("discovery: no answer and no timeout notice");
		n = read(fd, buf, sizeof(buf));
		if (n < HDR_SIZE + M_TID + 8)
			die("discovery: read %zd", n);
		if (get32(buf + HDR_SIZE + M_TID + 4) != tid)
			continue;
		if (h->status || n < HDR_SIZE + MAD_SIZE ||
		    get16(buf + HDR_SIZE + M_STATUS) & 0x7fff)
			return -1;
		memcpy(data, buf + HDR_SIZE + M_DATA, 64);
		return 0;
	}
}

/* Read NodeInfo and PortInfo of the node at tg[t]'s path; 0 if it answers. */
static int probe(int t)
{
	struct target *x = &tg[t];
	uint8_t ni[64];

	if (get_sync(t, A_NODE_INFO, 0, ni) < 0)
		return -1;
	x->sw = ni[2] == 2;
	x->nports = ni[3];
	x->guid = get64(ni + 12);
	if (get_sync(t, A_PORT_INFO, 0, x->portinfo) < 0)
		return -1;
	x->lid = get16(x->portinfo + 16);
	if (x->nports > max_ports)
		max_ports = x->nports;
	return 0;
}

static void discover(void)
{
	uint8_t ni[64];
	int sw, p, i, lport;

	/* local node: directed route with no hops */
	tg[0].hops = 0;
	tg[0].local = 1;
	if (probe(0) < 0)
		die("the local node does not answer NodeInfo/PortInfo");
	if (get_sync(0, A_NODE_INFO, 0, ni) < 0)
		die("local NodeInfo");
	lport = ni[36];
	ntg = 1;
	/* the switch behind it */
	tg[1].hops = 1;
	tg[1].path[1] = lport;
	if (probe(1) < 0 || !tg[1].sw)
		die("no switch behind local port %d", lport);
	sw = 1;
	ntg = 2;
	for (p = 1; p <= tg[sw].nports && ntg < MAX_TARGETS; p++) {
		struct target *x = &tg[ntg];

		memset(x, 0, sizeof(*x));
		x->hops = 2;
		x->path[1] = lport;
		x->path[2] = p;
		if (probe(ntg) < 0 || x->sw || x->guid == tg[0].guid)
			continue;
		ntg++;
	}
	for (i = 0; i < ntg; i++)
		printf("target %d: %s guid 0x%016llx lid %u ports %d path %d,%d\n",
		       i, tg[i].local ? "local hca" : tg[i].sw ? "switch" : "hca",
		       (unsigned long long)tg[i].guid, tg[i].lid, tg[i].nports,
		       tg[i].path[1], tg[i].path[2]);
	for (i = 0; i < ntg; i++)
		if (!tg[i].lid)
			die("target %d has no LID (no SM?)", i);
}

/* ---- the fixed list ---- */

static struct req *smp(int t, enum route route, uint8_t method, uint16_t attr,
		       uint32_t mod, const char *name)
{
	struct req *r = new_req();

	smp_init(r, t, route, method, attr, mod);
	r->name = name;
	return r;
}

/* Send one SMP both ways (directed route and LID routed). */
static void both(int t, uint8_t method, uint16_t attr, uint32_t mod,
		 const char *name, enum want w, uint16_t status,
		 const uint8_t *data, struct stats *st)
{
	enum route route;

	for (route = R_DR; route <= R_LID; route++) {
		struct req *r = smp(t, route, method, attr, mod, name);

		if (data)
			memcpy(r->mad + M_DATA, data, 64);
		expect(r, w, status);
		submit(r, st);
	}
}

/* a PortInfo payload that asks nothing but field: every SMA must refuse it */
static void portinfo_set(int t, int field, struct stats *st)
{
	uint8_t d[64];

	memcpy(d, tg[t].portinfo, 64);
	d[32] &= 0xf0;		/* PortState: no state change */
	d[33] &= 0x0f;		/* PortPhysicalState: no change */
	switch (field) {
	case 0:
		d[32] |= 7;	/* a PortState IBA does not define */
		both(t, SET, A_PORT_INFO, 0, "set-portinfo-state-7", W_STATUS,
		     ST_VALUE, d, st);
		break;
	case 1:
		d[33] |= 0x70;	/* PortPhysicalState 7 (PhyTest) */
		both(t, SET, A_PORT_INFO, 0, "set-portinfo-phys-7", W_STATUS,
		     ST_VALUE, d, st);
		break;
	case 2:
		d[36] = (d[36] & 0x0f) | 0x70;	/* NeighborMTU 7 */
		both(t, SET, A_PORT_INFO, 0, "set-portinfo-mtu-7", W_STATUS,
		     ST_VALUE, d, st);
		break;
	case 3:
		put16(d + 16, 0xc001);		/* a multicast LID */
		both(t, SET, A_PORT_INFO, 0, "set-portinfo-mlid", W_STATUS,
		     ST_VALUE, d, st);
		break;
	}
}

static void malformed(struct stats *st)
{
	uint8_t junk[64];
	struct req *r;
	int t, i;

	for (i = 0; i < 64; i++)
		junk[i] = (uint8_t)(0xa5 ^ i);
	for (t = 0; t < ntg; t++) {
		const struct target *x = &tg[t];
		int sw = x->sw;
		uint16_t na = sw ? ST_VALUE : ST_ATTR;	/* switch-only tables */

		/*
		 * versions (not by directed route to the local node: ib_mad
		 * hands what its SMA leaves alone to a local agent, opensm's)
		 */
		r = smp(t, x->local ? R_LID : R_DR, GET, A_NODE_INFO, 0,
			"base-version-2");
		r->mad[M_BASE] = 2;
		expect(r, W_NONE, 0);
		submit(r, st);
		r = smp(t, R_LID, GET, A_NODE_INFO, 0, "base-version-0");
		r->mad[M_BASE] = 0;
		expect(r, W_NONE, 0);
		submit(r, st);
		for (i = 0; i < 2; i++) {
			r = smp(t, i ? R_LID : R_DR, GET, A_NODE_INFO, 0,
				"class-version-2");
			r->mad[M_CLASSVER] = 2;
			expect(r, W_STATUS, ST_VERSION);
			submit(r, st);
		}
		/* methods */
		both(t, 0x10, A_NODE_INFO, 0, "method-0x10", W_STATUS,
		     ST_METHOD, NULL, st);
		both(t, 0x7f, A_NODE_INFO, 0, "method-0x7f", W_STATUS,
		     ST_METHOD, NULL, st);
		both(t, 0x03, A_NODE_INFO, 0, "method-send", W_STATUS,
		     ST_METHOD, NULL, st);
		both(t, 0x00, A_NODE_INFO, 0, "method-0", W_STATUS,
		     ST_METHOD, NULL, st);
		if (!x->local) {
			both(t, TRAP, A_NOTICE, 0, "method-trap", W_NONE, 0,
			     NULL, st);
			both(t, TRAP_REPRESS, A_NOTICE, 0, "method-traprepress",
			     W_NONE, 0, NULL, st);
		}
		/* attributes */
		both(t, GET, 0x1234, 0, "attr-0x1234", W_STATUS, ST_ATTR,
		     NULL, st);
		both(t, GET, 0x0000, 0, "attr-0", W_STATUS, ST_ATTR, NULL, st);
		both(t, GET, 0xff90, 0, "attr-vendor-0xff90", W_STATUS,
		     ST_ATTR, NULL, st);
		both(t, GET, A_NOTICE, 0, "attr-notice", W_STATUS, ST_ATTR,
		     NULL, st);
		if (!x->local)
			both(t, GET, A_SM_INFO, 0, "attr-sminfo-no-sm",
			     W_STATUS, ST_ATTR, NULL, st);
		if (!sw) {
			both(t, GET, A_SWITCH_INFO, 0, "hca-switchinfo",
			     W_STATUS, ST_ATTR, NULL, st);
			both(t, GET, A_LFT, 0, "hca-lft", W_STATUS, ST_ATTR,
			     NULL, st);
			both(t, GET, A_MFT, 0, "hca-mft", W_STATUS, ST_ATTR,
			     NULL, st);
		}
		/* attribute modifiers out of range */
		both(t, GET, A_PKEY, PKEY_BLOCKS, "pkey-block-4", W_STATUS,
		     ST_VALUE, NULL, st);
		both(t, GET, A_PKEY, 0xffff, "pkey-block-0xffff", W_STATUS,
		     ST_VALUE, NULL, st);
		both(t, SET, A_PKEY, PKEY_BLOCKS, "set-pkey-block-4", W_STATUS,
		     ST_VALUE, junk, st);
		if (sw) {
			both(t, GET, A_PKEY, (uint32_t)(x->nports + 1) << 16,
			     "pkey-port-beyond", W_STATUS, ST_VALUE, NULL, st);
			both(t, SET, A_PKEY, (uint32_t)(x->nports + 1) << 16,
			     "set-pkey-port-beyond", W_STATUS, ST_VALUE, junk,
			     st);
		}
		both(t, GET, A_PORT_INFO, x->nports + 1, "portinfo-port-beyond",
		     W_STATUS, ST_VALUE, NULL, st);
		both(t, GET, A_PORT_INFO, 0xffffffff, "portinfo-port-0xffffffff",
		     W_STATUS, ST_VALUE, NULL, st);
		both(t, SET, A_PORT_INFO, x->nports + 1,
		     "set-portinfo-port-beyond", W_STATUS, ST_VALUE,
		     x->portinfo, st);
		both(t, GET, A_GUID_INFO, 1, "guidinfo-block-1", W_STATUS,
		     ST_VALUE, NULL, st);
		both(t, GET, A_VLARB, 0, "vlarb-block-0", W_STATUS, ST_VALUE,
		     NULL, st);
		both(t, GET, A_VLARB, 5 << 16, "vlarb-block-5", W_STATUS,
		     ST_VALUE, NULL, st);
		both(t, SET, A_VLARB, 9 << 16, "set-vlarb-block-9", W_STATUS,
		     ST_VALUE, junk, st);
		if (sw) {
			uint32_t beyond = x->nports + 1;

			both(t, GET, A_VLARB, 1 << 16 | beyond,
			     "vlarb-port-beyond", W_STATUS, ST_VALUE, NULL, st);
			both(t, GET, A_SL2VL, beyond << 8, "sl2vl-in-beyond",
			     W_STATUS, ST_VALUE, NULL, st);
			both(t, GET, A_SL2VL, beyond, "sl2vl-out-beyond",
			     W_STATUS, ST_VALUE, NULL, st);
			both(t, SET, A_SL2VL, 0xffff, "set-sl2vl-beyond",
			     W_STATUS, ST_VALUE, junk, st);
		}
		both(t, GET, A_LFT, LFT_BLOCKS, "lft-block-16", W_STATUS, na,
		     NULL, st);
		both(t, SET, A_LFT, LFT_BLOCKS, "set-lft-block-16", W_STATUS,
		     na, junk, st);
		both(t, GET, A_MFT, MFT_BLOCKS, "mft-block-32", W_STATUS, na,
		     NULL, st);
		both(t, GET, A_MFT, 1u << 28, "mft-position-1", W_STATUS, na,
		     NULL, st);
		both(t, SET, A_MFT, 15u << 28, "set-mft-position-15", W_STATUS,
		     na, junk, st);
		/* read-only attributes, rejected Sets */
		both(t, SET, A_NODE_INFO, 0, "set-nodeinfo", W_STATUS, ST_ATTR,
		     junk, st);
		both(t, SET, A_NODE_DESC, 0, "set-nodedesc", W_STATUS, ST_ATTR,
		     junk, st);
		for (i = 0; i < 4; i++)
			portinfo_set(t, i, st);
		if (sw) {
			uint8_t d[64];

			memset(d, 0, sizeof(d));
			put16(d + 6, 0xffff);	/* LinearFDBTop beyond the LFT */
			both(t, SET, A_SWITCH_INFO, 0, "set-switchinfo-lfttop",
			     W_STATUS, ST_VALUE, d, st);
		} else {
			both(t, SET, A_SWITCH_INFO, 0, "set-switchinfo-hca",
			     W_STATUS, ST_ATTR, junk, st);
		}
		/* a GMP class on QP0, an SMP class on QP1 */
		r = smp(t, R_LID, GET, A_NODE_INFO, 0, "gmp-class-on-qp0");
		r->mad[M_CLASS] = 0x04;
		expect(r, W_NONE, 0);
		submit(r, st);
		r = new_req();
		gmp_init(r, t, CLASS_LID, GET, A_NODE_INFO);
		r->name = "smp-class-on-qp1";
		expect(r, W_NONE, 0);
		submit(r, st);
		/* GMPs no agent takes: Get/Set answered 0x000c, others not */
		r = new_req();
		gmp_init(r, t, 0x04, GET, 0x0001);
		r->name = "gmp-perf-classportinfo";
		expect(r, W_STATUS, ST_ATTR);
		submit(r, st);
		r = new_req();
		gmp_init(r, t, 0x0b, SET, 0x1234);
		r->name = "gmp-reserved-class-set";
		expect(r, W_STATUS, ST_ATTR);
		submit(r, st);
		r = new_req();
		gmp_init(r, t, 0x04, GET, 0x0001);
		r->mad[M_BASE] = 3;
		r->name = "gmp-base-version-3";
		expect(r, W_NONE, 0);
		submit(r, st);
		r = new_req();
		gmp_init(r, t, 0x04, 0x10, 0x0001);
		r->name = "gmp-method-0x10";
		expect(r, W_NONE, 0);
		submit(r, st);
		/* a MAD of header and 12 bytes: the rest comes zero-filled */
		r = smp(t, R_LID, GET, A_NODE_INFO, 0, "truncated-36-bytes");
		r->len = 36;
		expect(r, W_STATUS, ST_OK);
		submit(r, st);
		/* shorter than the ABI's minimum: the write is refused */
		r = smp(t, R_DR, GET, A_NODE_INFO, 0, "truncated-20-bytes");
		r->len = 20;
		expect(r, W_NONE, 0);
		submit(r, st);
		/* directed routes that go nowhere */
		if (x->hops) {
			r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-hop-ptr-1");
			r->mad[M_HOPPTR] = 1;
			expect(r, W_NOT_TARGET, 0);
			submit(r, st);
			r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-hop-ptr-past");
			r->mad[M_HOPPTR] = x->hops + 2;
			expect(r, W_NOT_TARGET, 0);
			submit(r, st);
			r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-direction-set");
			put16(r->mad + M_STATUS, ST_DIR);
			expect(r, W_NOT_TARGET, 0);
			submit(r, st);
		}
		r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-hop-cnt-64");
		r->mad[M_HOPCNT] = 64;
		expect(r, W_NONE, 0);
		submit(r, st);
		r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-hop-cnt-255");
		r->mad[M_HOPCNT] = 255;
		expect(r, W_NONE, 0);
		submit(r, st);
		if (x->hops == 2) {
			/* on through an HCA: a CA forwards nothing */
			r = smp(t, R_DR, GET, A_NODE_INFO, 0, "dr-through-hca");
			r->mad[M_HOPCNT] = 3;
			r->mad[M_IPATH + 3] = 1;
			expect(r, W_NONE, 0);
			submit(r, st);
		}
		if (sw) {
			r = smp(t, R_DR, GET, A_NODE_INFO, 0,
				"dr-switch-port-beyond");
			r->mad[M_HOPCNT] = 2;
			r->mad[M_IPATH + 2] = x->nports + 1;
			expect(r, W_NONE, 0);
			submit(r, st);
			r = smp(t, R_DR, GET, A_NODE_INFO, 0,
				"dr-switch-port-0");
			r->mad[M_HOPCNT] = 2;
			r->mad[M_IPATH + 2] = 0;
			expect(r, W_NONE, 0);
			submit(r, st);
			r = smp(t, R_DR, GET, A_NODE_INFO, 0,
				"dr-switch-port-255");
			r->mad[M_HOPCNT] = 2;
			r->mad[M_IPATH + 2] = 255;
			expect(r, W_NONE, 0);
			submit(r, st);
		}
	}
	/* LIDs nobody has */
	r = smp(0, R_LID, GET, A_NODE_INFO, 0, "lid-unassigned");
	r->dlid = 1000;
	expect(r, W_NONE, 0);
	submit(r, st);
	r = new_req();
	gmp_init(r, 0, 0x04, GET, 0x0001);
	r->dlid = 1001;
	r->name = "gmp-lid-unassigned";
	expect(r, W_NONE, 0);
	submit(r, st);
	drain(st);
}

/* ---- the random stream ---- */

static int implemented(const struct target *x, uint16_t attr)
{
	switch (attr) {
	case A_NODE_DESC:
	case A_NODE_INFO:
	case A_GUID_INFO:
	case A_PORT_INFO:
	case A_PKEY:
	case A_SL2VL:
	case A_VLARB:
		return 1;
	case A_SWITCH_INFO:
	case A_LFT:
	case A_MFT:
		return x->sw;
	}
	return 0;
}

static const uint16_t known_attrs[] = {
	A_NOTICE, A_NODE_DESC, A_NODE_INFO, A_SWITCH_INFO, A_GUID_INFO,
	A_PORT_INFO, A_PKEY, A_SL2VL, A_VLARB, A_LFT, 0x001a, A_MFT,
	A_SM_INFO, 0x0030, 0x0031,
};

/*
 * A Set that every node must refuse, whichever node it reaches (a mangled
 * directed route may lead elsewhere): an attribute nobody implements, a
 * read-only one, or a modifier beyond every node's tables.
 */
static void random_set(struct req *r, const struct target *x)
{
	uint32_t beyond = (uint32_t)max_ports + 1 + rnd_below(200);
	uint16_t attr;
	uint32_t mod;

	switch (rnd_below(10)) {
	case 0:
		attr = A_NODE_INFO;
		mod = (uint32_t)rnd();
		break;
	case 1:
		attr = A_NODE_DESC;
		mod = (uint32_t)rnd();
		break;
	case 2:
		attr = A_PORT_INFO;
		mod = beyond;
		break;
	case 3:
		attr = A_PKEY;
		mod = (uint32_t)rnd() & 0xffff0000;
		mod |= PKEY_BLOCKS + rnd_below(0x10000 - PKEY_BLOCKS);
		break;
	case 4:
		attr = A_VLARB;
		mod = ((uint32_t)rnd() & 0xffff) |
		      (one_in(2) ? 0 : (5 + rnd_below(0xfffb)) << 16);
		break;
	case 5:
		attr = A_LFT;
		mod = LFT_BLOCKS + rnd_below(100000);
		break;
	case 6:
		attr = A_GUID_INFO;
		mod = 1 + rnd_below(0xffff);
		break;
	case 7:
		attr = A_MFT;
		mod = (uint32_t)(MFT_BLOCKS + rnd_below(0x200 - MFT_BLOCKS)) |
		      ((uint32_t)rnd() & 0xf0000000);
		break;
	default:
		do {
			attr = (uint16_t)(0x0100 + rnd_below(0xfe00));
		} while (implemented(x, attr));
		mod = (uint32_t)rnd();
		break;
	}
	put16(r->mad + M_ATTR, attr);
	put32(r->mad + M_MOD, mod);
}

static uint8_t random_method(const struct target *x)
{
	uint8_t m;

	switch (rnd_below(10)) {
	case 0: case 1: case 2: case 3: case 4:
		return GET;
	case 5: case 6:
		return SET;
	case 7:
		return (uint8_t)(0x80 | rnd_below(0x80));	/* responses */
	default:
		do {
			m = (uint8_t)rnd_below(0x80);
		} while (m == GET || m == SET ||
			 (x->local && (m == TRAP || m == REPORT ||
				       m == TRAP_REPRESS)));
		return m;
	}
}

/* GMP classes no kernel agent claims (no SA, no CM: those are real services) */
static const uint8_t gmp_classes[] = {
	0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0b, 0x0f, 0x10, 0x21, 0x2f,
	0x30, 0x4f, 0x50, 0x7e,
};

/*
 * ib_mad's idea of a response (no answer awaited, no TID rewritten): the
 * response bit, TrapRepress, or a BaseboardManagement MAD with bit 0 of its
 * attribute modifier set.
 */
static int is_response(const struct req *r)
{
	uint8_t m = r->mad[M_METHOD];

	return (m & 0x80) || m == TRAP_REPRESS ||
	       (r->mad[M_CLASS] == 0x05 && (get32(r->mad + M_MOD) & 1));
}

static void random_smp(struct req *r, int t)
{
	const struct target *x = &tg[t];
	enum route route = one_in(2) ? R_DR : R_LID;
	uint8_t method = random_method(x);
	uint16_t attr;
	int i, mangled = 0;

	if (one_in(3))
		attr = known_attrs[rnd_below(sizeof(known_attrs) /
					     sizeof(known_attrs[0]))];
	else
		attr = (uint16_t)rnd();
	if (x->local && attr == A_SM_INFO)
		attr = A_NODE_INFO;	/* opensm's: not the SMA's */
	smp_init(r, t, route, method, attr, 0);
	r->name = "random-smp";
	/* random modifier, M_Key, payload and (for LID routed) path bytes */
	put32(r->mad + M_MOD, one_in(2) ? (uint32_t)rnd_below(8) :
					  (uint32_t)rnd());
	for (i = M_MKEY; i < M_MKEY + 8; i++)
		r->mad[i] = (uint8_t)rnd();
	for (i = M_DATA; i < M_DATA + 64; i++)
		r->mad[i] = (uint8_t)rnd();
	if (route == R_LID)
		for (i = M_DRSLID - 8; i < M_DATA; i++)
			r->mad[i] = (uint8_t)rnd();
	if (method == SET)
		random_set(r, x);
	attr = get16(r->mad + M_ATTR);
	if (route == R_DR && one_in(12)) {
		/*
		 * A mangled route: it may go nowhere, or elsewhere, opensm's
		 * node too, so nothing meant for an SM goes this way.
		 */
		mangled = 1;
		if (method == TRAP || method == REPORT ||
		    method == TRAP_REPRESS || (method & 0x80)) {
			method = GET;
			r->mad[M_METHOD] = GET;
		}
		if (attr == A_SM_INFO)
			put16(r->mad + M_ATTR, A_NODE_INFO);
		r->mad[M_HOPCNT] = (uint8_t)rnd_below(one_in(4) ? 256 : 5);
		if (one_in(3))
			r->mad[M_HOPPTR] = (uint8_t)rnd_below(4);
		for (i = 1; i < 6; i++)
			r->mad[M_IPATH + i] = (uint8_t)rnd_below(max_ports + 3);
		if (one_in(4))
			put16(r->mad + M_STATUS, ST_DIR);
		if (x->local)		/* never to opensm's node */
			r->mad[M_IPATH + 1] = 0xff;
	}
	if (one_in(40) && !(x->local && route == R_DR))
		r->mad[M_BASE] = (uint8_t)rnd();
	if (one_in(16))
		r->mad[M_CLASSVER] = (uint8_t)rnd();
	if (one_in(64)) {
		r->mad[M_CLASS] = gmp_classes[rnd_below(sizeof(gmp_classes))];
		if (x->local)
			r->mad[M_CLASS] = 0x04;
	}

	/* what a real SMA answers */
	if (is_response(r)) {
		expect(r, W_NOREPLY, 0);
		if (!x->local && !mangled)
			return;
		/* no stray responses into opensm's port */
		method = GET;
		r->mad[M_METHOD] = GET;
		put32(r->mad + M_MOD, get32(r->mad + M_MOD) & ~1u);
	}
	if (r->mad[M_BASE] != 1 ||
	    (r->mad[M_CLASS] != CLASS_DR && r->mad[M_CLASS] != CLASS_LID) ||
	    method == TRAP)
		/* not for an SMA; ib_mad gives a Trap to the SM's agent */
		expect(r, W_NONE, 0);
	else if (r->mad[M_CLASSVER] != 1)
		expect(r, W_STATUS, ST_VERSION);
	else if (method != GET && method != SET)
		expect(r, W_STATUS, ST_METHOD);
	else if (method == SET)
		expect(r, W_REJECT, 0);
	else if (!implemented(x, attr) && attr != A_SM_INFO && !mangled)
		expect(r, W_STATUS, ST_ATTR);
	else
		expect(r, W_GET, 0);
	/* a mangled route may arrive somewhere, or nowhere */
	if (mangled && r->want != W_NONE)
		r->want = r->want == W_REJECT ? W_REJECT_ANY : W_ANY;
}

static void random_gmp(struct req *r, int t)
{
	uint8_t method = one_in(2) ? GET : one_in(2) ? SET :
			 (uint8_t)rnd_below(0x100);
	uint8_t class = gmp_classes[rnd_below(sizeof(gmp_classes))];
	int i;

	if (tg[t].local && (method == TRAP || method == REPORT ||
			    method == TRAP_REPRESS || (method & 0x80)))
		method = GET;
	gmp_init(r, t, class, method, (uint16_t)rnd());
	r->name = "random-gmp";
	put32(r->mad + M_MOD, (uint32_t)rnd());
	for (i = M_MKEY; i < MAD_SIZE; i++)
		r->mad[i] = (uint8_t)rnd();
	r->mad[M_RMPPFLAGS] = 0;
	r->mad[M_CLASSVER] = (uint8_t)(one_in(8) ? rnd() : 1);
	put16(r->mad + M_STATUS, one_in(8) ? (uint16_t)rnd() : 0);
	if (one_in(40))
		r->mad[M_BASE] = (uint8_t)rnd();
	if (tg[t].local && is_response(r))
		put32(r->mad + M_MOD, get32(r->mad + M_MOD) & ~1u);
	if (is_response(r))
		expect(r, W_NOREPLY, 0);
	else if (r->mad[M_BASE] != 1 || (method != GET && method != SET))
		expect(r, W_NONE, 0);
	else
		expect(r, W_STATUS, ST_ATTR);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void random_stream(unsigned long count, unsigned long seconds,
			  struct stats *st)
{
	double end = now_s() + (double)seconds;
	unsigned long i;

	for (i = 0; i < count || now_s() < end; i++) {
		struct req *r = new_req();
		int t = (int)rnd_below(ntg);

		if (one_in(3))
			random_gmp(r, t);
		else
			random_smp(r, t);
		submit(r, st);
	}
	drain(st);
}

static void print_stats(const char *name, const struct stats *st)
{
	printf("%s: sent %lu answered %lu silent %lu refused %lu lost %lu unexpected %lu\n",
	       name, st->sent, st->answered, st->silent, st->refused, st->lost,
	       st->bad);
}

static uint32_t register_agent(int qpn)
{
	struct ib_user_mad_reg_req req;

	memset(&req, 0, sizeof(req));
	req.qpn = qpn;		/* send only: no class, no methods */
	if (ioctl(fd, IB_USER_MAD_REGISTER_AGENT, &req) < 0)
		die("register a QP%d agent: %s", qpn, strerror(errno));
	return req.id;
}

static void usage(void)
{
	fprintf(stderr, "usage: mad_fuzz [-d /dev/infiniband/umadN] [-m malformed|random|all] [-n COUNT] [-T SECONDS] [-s SEED] [-t TIMEOUT_MS] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/infiniband/umad0", *mode = "all";
	unsigned long count = 2000, seconds = 0, seed = 1;
	double t0;
	struct stats fixed = { 0 }, random = { 0 };
	int c;

	while ((c = getopt(argc, argv, "d:m:n:T:s:t:v")) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			seconds = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !timeout_ms ||
	    (strcmp(mode, "all") && strcmp(mode, "malformed") &&
	     strcmp(mode, "random")))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open(dev, O_RDWR);
	if (fd < 0)
		die("open %s: %s", dev, strerror(errno));
	if (ioctl(fd, IB_USER_MAD_ENABLE_PKEY) < 0)
		die("IB_USER_MAD_ENABLE_PKEY: %s", strerror(errno));
	agent[0] = register_agent(0);
	agent[1] = register_agent(1);

	discover();
	if (strcmp(mode, "random")) {
		malformed(&fixed);
		print_stats("malformed", &fixed);
	}
	if (strcmp(mode, "malformed")) {
		/* xorshift needs a non-zero state */
		rng_state = 0x9e3779b97f4a7c15ULL ^ seed;
		printf("seed %lu count %lu seconds %lu\n", seed, count, seconds);
		t0 = now_s();
		random_stream(count, seconds, &random);
		print_stats("random", &random);
		printf("random: %.1f s\n", now_s() - t0);
	}
	if (reports > MAX_REPORTS)
		printf("(%lu more unexpected answers not shown)\n",
		       reports - MAX_REPORTS);
	close(fd);
	return fixed.bad || random.bad ? 1 : 0;
}
