// SPDX-License-Identifier: GPL-2.0
/*
 * ud_inject: send hostile IPoIB frames to an IPoIB UD QP (lab tool).
 *
 *   ud_inject -d DEV [-g SGID_INDEX] -a ADDR [-q QKEY] [-m MODE] [-n COUNT] [-s SEED]
 *
 * ADDR is the 20-byte IPoIB hardware address of the target as shown in
 * /sys/class/net/ib0/address: 4 bytes flags + QPN (low 24 bits), then the
 * 16-byte port GID. Every message is a UD send to (QPN, QKEY) through an AH
 * to that GID; it carries an IPoIB frame: 2-byte ethertype (big endian),
 * 2 reserved bytes, payload.
 *
 * -m malformed (default): COUNT times (default 1) this fixed set:
 *    short          frames of 0, 1, 2 and 3 bytes (less than the 4-byte
 *                   encapsulation header; the bytes are a prefix of 08 00 00 00)
 *    unknown_proto  ethertype 0x88b5 and 0x1234, each with 64 bytes of junk
 *    bad_header     0x0800 + 10 bytes (0x45...); 0x0800 + 40 bytes with version
 *                   nibble 6; 0x86dd + 20 bytes (0x60...); 0x0806 + 4 bytes
 *    then prints "sent <category> <n>" per category.
 * -m fuzz: COUNT (default 2000) random frames: length 0..min(port MTU, 4000),
 *    ethertype IPv4/IPv6/ARP/RARP or random, random bytes (the IP version
 *    nibble is sometimes made plausible); now and then a burst that keeps the
 *    send queue full. Prints "seed <s>" and "sent fuzz <n>".
 *
 * If no send completes for KICK_SECONDS, one empty send is posted to restart
 * the queue (the 6.1 rdma_rxe has been seen to leave one paced UD send without
 * a completion until the next post); each such send is reported on stderr and
 * as "kicked <n>" on stdout, and counts as one more short frame at the target.
 * No completion for WAIT_SECONDS at all is still fatal.
 *
 * Exits 0 if every send completed successfully, 1 on send errors, 2 on usage
 * or setup errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define SQ_DEPTH	128
#define SLOT_SIZE	4096	/* also the largest frame sent */
#define FUZZ_MAX	4000
#define WAIT_SECONDS	10	/* give up if no send completes for this long */
#define KICK_SECONDS	2	/* post an empty send after this long without one */
#define MAX_KICKS	4	/* empty sends in all; the queue has room for them */
#define KICK_WRID	(~0ULL)

struct inj {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_ah *ah;
	struct ibv_mr *mr;
	uint8_t *buf;
	uint32_t rqpn, qkey;
	unsigned long posted, outstanding, errors, kicks;
	unsigned int mtu;	/* port MTU in bytes */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "ud_inject: %s: %s\n", what, strerror(err));
	exit(2);
}

static uint64_t rng_state;

static uint32_t rnd(void)	/* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static int parse_addr(const char *s, uint8_t addr[20])
{
	char *end;
	unsigned long v;
	int i;

	for (i = 0; i < 20; i++) {
		v = strtoul(s, &end, 16);
		if (end == s || end - s > 2 || v > 0xff)
			return -1;
		addr[i] = (uint8_t)v;
		if (i < 19 && *end != ':')
			return -1;
		s = end + 1;
	}
	return *end ? -1 : 0;
}

static void post_wr(struct inj *in, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;
	int ret;

	ret = ibv_post_send(in->qp, wr, &bad);
	if (ret)
		die("ibv_post_send", ret);
	in->outstanding++;
}

/* An empty send: it makes rxe run its send queue, and the stalled send completes. */
static void kick(struct inj *in)
{
	struct ibv_send_wr wr = {
		.wr_id = KICK_WRID,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.ud = { .ah = in->ah, .remote_qpn = in->rqpn, .remote_qkey = in->qkey },
	};

	fprintf(stderr, "ud_inject: no send completion for %d s (%lu outstanding): posting an empty send\n",
		KICK_SECONDS, in->outstanding);
	post_wr(in, &wr);
	in->kicks++;
}

/* Reap completions until at most @max sends are outstanding. */
static void reap(struct inj *in, unsigned long max)
{
	struct ibv_wc wc[16];
	time_t last = time(NULL), now;
	int n, i, kicked = 0;

	while (in->outstanding > max) {
		n = ibv_poll_cq(in->cq, 16, wc);
		if (n < 0)
			die("ibv_poll_cq", EIO);
		now = time(NULL);
		if (n == 0 && now - last > WAIT_SECONDS) {
			fprintf(stderr, "ud_inject: no send completion for %d s (%lu outstanding)\n",
				WAIT_SECONDS, in->outstanding);
			exit(2);
		}
		if (n == 0 && !kicked && now - last > KICK_SECONDS && in->kicks < MAX_KICKS) {
			kick(in);
			kicked = 1;
		}
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS && in->errors++ < 10)
				fprintf(stderr, "ud_inject: send %llu failed: %s (vendor 0x%x)\n",
					(unsigned long long)wc[i].wr_id,
					ibv_wc_status_str(wc[i].status), wc[i].vendor_err);
		}
		in->outstanding -= (unsigned long)n;
		if (n) {
			last = now;
			kicked = 0;
		}
	}
}

/* The buffer the next send takes its frame from (free once reap() made room). */
static uint8_t *next_slot(struct inj *in)
{
	reap(in, SQ_DEPTH - 1);
	return in->buf + (in->posted % SQ_DEPTH) * SLOT_SIZE;
}

/* Send the @len bytes placed at next_slot(). */
static void post(struct inj *in, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(in->buf + (in->posted % SQ_DEPTH) * SLOT_SIZE),
		.length = (uint32_t)len,
		.lkey = in->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = in->posted,
		.sg_list = &sge,
		.num_sge = len ? 1 : 0,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.ud = { .ah = in->ah, .remote_qpn = in->rqpn, .remote_qkey = in->qkey },
	};
	post_wr(in, &wr);
	in->posted++;
}

/* Send one frame: ethertype @proto, then @plen payload bytes (@fill, or junk if NULL). */
static void send_frame(struct inj *in, uint16_t proto, const uint8_t *fill, size_t plen)
{
	uint8_t *p = next_slot(in);
	size_t i;

	p[0] = (uint8_t)(proto >> 8);
	p[1] = (uint8_t)proto;
	p[2] = p[3] = 0;
	for (i = 0; i < plen; i++)
		p[4 + i] = fill ? fill[i] : (uint8_t)rnd();
	post(in, 4 + plen);
}

static void malformed(struct inj *in, unsigned long count)
{
	static const uint8_t prefix[4] = { 0x08, 0x00, 0x00, 0x00 };
	uint8_t ip4[40], ip6[20];
	unsigned long i;
	size_t len;

	memset(ip4, 0, sizeof(ip4));
	memset(ip6, 0, sizeof(ip6));
	for (i = 0; i < count; i++) {
		for (len = 0; len < 4; len++) {		/* short */
			memcpy(next_slot(in), prefix, len);
			post(in, len);
		}
		send_frame(in, 0x88b5, NULL, 64);	/* unknown_proto */
		send_frame(in, 0x1234, NULL, 64);
		ip4[0] = 0x45;				/* bad_header */
		send_frame(in, 0x0800, ip4, 10);
		ip4[0] = 0x65;
		send_frame(in, 0x0800, ip4, 40);
		ip6[0] = 0x60;
		send_frame(in, 0x86dd, ip6, 20);
		send_frame(in, 0x0806, NULL, 4);
	}
	reap(in, 0);
	printf("sent short %lu\nsent unknown_proto %lu\nsent bad_header %lu\n",
	       4 * count, 2 * count, 4 * count);
}

static void fuzz(struct inj *in, unsigned long count)
{
	static const uint16_t protos[] = { 0x0800, 0x0800, 0x0800, 0x86dd, 0x86dd,
					   0x0806, 0x0806, 0x8035 };
	static const size_t edges[] = { 0, 3, 4, 5, 11, 12, 23, 24, 43, 44 };
	size_t max = in->mtu < FUZZ_MAX ? in->mtu : FUZZ_MAX, len, i;
	unsigned long n, burst = 0;
	uint16_t proto;
	uint8_t *p;

	for (n = 0; n < count; n++) {
		if (!burst && rnd() % 64 == 0)
			burst = 32 + rnd() % (4 * SQ_DEPTH);
		switch (rnd() % 4) {
		case 0: len = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))]; break;
		case 1: len = rnd() % 128; break;
		case 2: len = max - rnd() % 8; break;
		default: len = rnd() % (max + 1); break;
		}
		proto = rnd() % 10 < 7 ? protos[rnd() % 8] : (uint16_t)rnd();
		p = next_slot(in);
		for (i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
		if (len >= 2) {
			p[0] = (uint8_t)(proto >> 8);
			p[1] = (uint8_t)proto;
		}
		if (len >= 4 && rnd() % 4)
			p[2] = p[3] = 0;
		if (len >= 5 && rnd() % 2) {	/* plausible IP version nibble */
			if (proto == 0x0800)
				p[4] = 0x45;
			else if (proto == 0x86dd)
				p[4] = 0x60 | (p[4] & 0xf);
		}
		post(in, len);
		if (burst)
			burst--;
		else
			reap(in, 0);	/* paced: one frame at a time */
	}
	reap(in, 0);
	printf("sent fuzz %lu\n", count);
}

static void usage(void)
{
	fprintf(stderr, "usage: ud_inject -d DEV [-g SGID_INDEX] -a IPOIB_HWADDR [-q QKEY]\n"
		"                 [-m malformed|fuzz] [-n COUNT] [-s SEED]\n");
	exit(2);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

/* die() unless @p (a verbs object) is non-NULL. */
static void *need(void *p, const char *what)
{
	if (!p)
		die(what, errno ? errno : EINVAL);
	return p;
}

static void setup(struct inj *in, const char *devname, uint8_t sgid, const uint8_t *addr)
{
	struct ibv_device **list;
	struct ibv_port_attr port;
	struct ibv_qp_attr qa = { .qp_state = IBV_QPS_INIT, .port_num = 1, .qkey = in->qkey };
	struct ibv_qp_init_attr qi = {
		.qp_type = IBV_QPT_UD, .sq_sig_all = 1,
		.cap = { .max_send_wr = SQ_DEPTH + MAX_KICKS, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_ah_attr ah = {
		.is_global = 1, .port_num = 1,
		.grh = { .sgid_index = sgid, .hop_limit = 64 },
	};
	int i, ret;

	list = need(ibv_get_device_list(NULL), "ibv_get_device_list");
	for (i = 0; list[i] && strcmp(ibv_get_device_name(list[i]), devname); i++)
		;
	if (!list[i]) {
		fprintf(stderr, "ud_inject: no RDMA device %s\n", devname);
		exit(2);
	}
	in->ctx = need(ibv_open_device(list[i]), "ibv_open_device");
	ibv_free_device_list(list);
	ret = ibv_query_port(in->ctx, 1, &port);
	if (ret)
		die("ibv_query_port", ret);
	in->mtu = 128u << port.active_mtu;	/* IBV_MTU_256 == 1 */

	in->pd = need(ibv_alloc_pd(in->ctx), "ibv_alloc_pd");
	in->buf = need(calloc(SQ_DEPTH, SLOT_SIZE), "calloc");
	in->mr = need(ibv_reg_mr(in->pd, in->buf, SQ_DEPTH * SLOT_SIZE, 0), "ibv_reg_mr");
	in->cq = need(ibv_create_cq(in->ctx, SQ_DEPTH + MAX_KICKS, NULL, NULL, 0), "ibv_create_cq");
	qi.send_cq = qi.recv_cq = in->cq;
	in->qp = need(ibv_create_qp(in->pd, &qi), "ibv_create_qp");

	ret = ibv_modify_qp(in->qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_QKEY);
	if (ret)
		die("modify QP to INIT", ret);
	qa.qp_state = IBV_QPS_RTR;
	ret = ibv_modify_qp(in->qp, &qa, IBV_QP_STATE);
	if (ret)
		die("modify QP to RTR", ret);
	qa.qp_state = IBV_QPS_RTS;
	ret = ibv_modify_qp(in->qp, &qa, IBV_QP_STATE | IBV_QP_SQ_PSN);
	if (ret)
		die("modify QP to RTS", ret);

	memcpy(ah.grh.dgid.raw, addr + 4, 16);
	in->ah = need(ibv_create_ah(in->pd, &ah), "ibv_create_ah");
	in->rqpn = ((uint32_t)addr[1] << 16) | ((uint32_t)addr[2] << 8) | addr[3];
	fprintf(stderr, "ud_inject: %s port MTU %u, local QPN 0x%06x -> QPN 0x%06x qkey 0x%x\n",
		devname, in->mtu, in->qp->qp_num, in->rqpn, in->qkey);
}

int main(int argc, char **argv)
{
	const char *devname = NULL, *mode = "malformed";
	struct inj in = { .qkey = 0x0b1b };
	unsigned long long count = 0, sgid = 0;
	uint8_t addr[20];
	int have_addr = 0, opt;

	rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "d:g:a:q:m:n:s:")) != -1) {
		switch (opt) {
		case 'd': devname = optarg; break;
		case 'g': sgid = num(optarg); break;
		case 'a':
			if (parse_addr(optarg, addr))
				usage();
			have_addr = 1;
			break;
		case 'q': in.qkey = (uint32_t)num(optarg); break;
		case 'm': mode = optarg; break;
		case 'n': count = num(optarg); break;
		case 's': rng_state = num(optarg); break;
		default: usage();
		}
	}
	if (!devname || !have_addr || optind != argc || sgid > 255 ||
	    (strcmp(mode, "malformed") && strcmp(mode, "fuzz")))
		usage();
	if (!rng_state)
		rng_state = 1;

	setup(&in, devname, (uint8_t)sgid, addr);
	if (!strcmp(mode, "malformed")) {
		malformed(&in, count ? (unsigned long)count : 1);
	} else {
		printf("seed %llu\n", (unsigned long long)rng_state);
		fuzz(&in, count ? (unsigned long)count : 2000);
	}
	if (in.kicks)
		printf("kicked %lu\n", in.kicks);
	/* exit releases the verbs resources */
	if (in.errors) {
		fprintf(stderr, "ud_inject: %lu of %lu sends failed\n", in.errors, in.posted);
		return 1;
	}
	return 0;
}
