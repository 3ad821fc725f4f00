// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for ib_ipoib's pure pieces: P_Key parsing and validation,
 * broadcast address and MGID construction, hardware-address handling,
 * neighbour hashing (with the driver's own table parameters), and MTU
 * arithmetic.  Built as ib_ipoib_kunit.ko only against kernels with
 * CONFIG_KUNIT (the debug tier).
 */

#include <kunit/test.h>
#include <linux/rhashtable.h>

#include "ipoib.h"

static void ipoib_test_pkey_parse(struct kunit *test)
{
	static const struct {
		const char *in;
		int ret;
		u16 pkey;
	} cases[] = {
		{ "0x8001", 0, 0x8001 },
		{ "0x8001\n", 0, 0x8001 },
		{ "32769", 0, 0x8001 },
		{ "1", 0, 0x0001 },
		{ "0xffff", 0, 0xffff },
		{ "0x7fff", 0, 0x7fff },
		{ "0", -EINVAL },
		{ "0x8000", -EINVAL },
		{ "32768", -EINVAL },
		{ "0x10000", -EINVAL },
		{ "65536", -EINVAL },
		{ "-1", -EINVAL },
		{ "abc", -EINVAL },
		{ "0x", -EINVAL },
		{ "", -EINVAL },
		{ " ", -EINVAL },
		{ "12abc", -EINVAL },
		{ "0x8001 0x8002", -EINVAL },
		{ "99999999999999999999", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u16 pkey = 0xdead;
		int ret = ipoib_parse_pkey(cases[i].in, &pkey);

		KUNIT_EXPECT_EQ_MSG(test, ret, cases[i].ret, "input '%s'",
				    cases[i].in);
		if (!cases[i].ret)
			KUNIT_EXPECT_EQ_MSG(test, pkey, cases[i].pkey,
					    "input '%s'", cases[i].in);
		else
			KUNIT_EXPECT_EQ_MSG(test, pkey, 0xdead,
					    "input '%s' changed the output",
					    cases[i].in);
	}
}

static void ipoib_test_pkey_valid(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, ipoib_pkey_valid(0));
	KUNIT_EXPECT_FALSE(test, ipoib_pkey_valid(IPOIB_PKEY_FULL));
	KUNIT_EXPECT_FALSE(test, ipoib_pkey_valid(0x10000));
	KUNIT_EXPECT_TRUE(test, ipoib_pkey_valid(1));
	KUNIT_EXPECT_TRUE(test, ipoib_pkey_valid(0x7fff));
	KUNIT_EXPECT_TRUE(test, ipoib_pkey_valid(0x8001));
	KUNIT_EXPECT_TRUE(test, ipoib_pkey_valid(0xffff));
}

static void ipoib_test_broadcast(struct kunit *test)
{
	static const u8 want_ffff[IPOIB_ALEN] = {
		0x00, 0xff, 0xff, 0xff, 0xff, 0x12, 0x40, 0x1b, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	};
	u8 bcast[IPOIB_ALEN], other[IPOIB_ALEN];

	ipoib_build_broadcast(bcast, 0xffff);
	KUNIT_EXPECT_MEMEQ(test, bcast, want_ffff, IPOIB_ALEN);
	KUNIT_EXPECT_TRUE(test, ipoib_hwaddr_is_mcast(bcast));
	KUNIT_EXPECT_EQ(test, ipoib_hwaddr_qpn(bcast), 0xffffffu);

	/* the P_Key sits in MGID bytes 4-5 (address bytes 8-9) */
	ipoib_build_broadcast(other, 0x8001);
	KUNIT_EXPECT_EQ(test, other[8], 0x80);
	KUNIT_EXPECT_EQ(test, other[9], 0x01);
	KUNIT_EXPECT_MEMEQ(test, other + 10, want_ffff + 10, IPOIB_ALEN - 10);

	/* groups of our partition are accepted, others are not */
	KUNIT_EXPECT_TRUE(test, ipoib_mcast_addr_ok(bcast, bcast));
	KUNIT_EXPECT_FALSE(test, ipoib_mcast_addr_ok(bcast, other));
	other[8] = 0xff;
	other[9] = 0xff;
	other[19] = 0x01;	/* another group, same partition */
	KUNIT_EXPECT_TRUE(test, ipoib_mcast_addr_ok(bcast, other));
	other[3] = 0x00;	/* not QPN 0xffffff */
	KUNIT_EXPECT_FALSE(test, ipoib_mcast_addr_ok(bcast, other));
}

static void ipoib_test_hwaddr(struct kunit *test)
{
	union ib_gid gid = {
		.raw = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
			 0x50, 0x54, 0x00, 0xff, 0xfe, 0x1a, 0xb0, 0x0a },
	};
	u8 addr[IPOIB_ALEN];

	ipoib_hwaddr_build(addr, 0x123456, &gid);
	KUNIT_EXPECT_EQ(test, addr[0], 0);
	KUNIT_EXPECT_EQ(test, ipoib_hwaddr_qpn(addr), 0x123456u);
	KUNIT_EXPECT_MEMEQ(test, ipoib_hwaddr_gid(addr)->raw, gid.raw, 16);
	KUNIT_EXPECT_FALSE(test, ipoib_hwaddr_is_mcast(addr));

	/* QPNs are 24 bits; the flags byte (CM capability) is not QPN */
	ipoib_hwaddr_build(addr, 0xff000011, &gid);
	KUNIT_EXPECT_EQ(test, addr[0], 0);
	KUNIT_EXPECT_EQ(test, ipoib_hwaddr_qpn(addr), 0x11u);
	addr[0] = 0x80;
	KUNIT_EXPECT_EQ(test, ipoib_hwaddr_qpn(addr), 0x11u);
}

/*
 * The driver's neighbour table (ipoib_neigh_params, struct ipoib_neigh) is
 * keyed by the whole 20-byte address: peers that differ only in QPN
 * (children on one port) or only in GID must not collide.
 */
static void ipoib_test_neigh_hash(struct kunit *test)
{
	const unsigned int n = 256;
	struct ipoib_neigh *tbl, *found;
	/* off the stack: its work item is tracked by debug objects */
	struct rhashtable *ht;
	union ib_gid gid = {};
	u8 key[IPOIB_ALEN];
	unsigned int i;

	tbl = kunit_kcalloc(test, n, sizeof(*tbl), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tbl);
	ht = kunit_kzalloc(test, sizeof(*ht), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ht);
	KUNIT_ASSERT_EQ(test, rhashtable_init(ht, &ipoib_neigh_params), 0);

	gid.raw[0] = 0xfe;
	gid.raw[1] = 0x80;
	for (i = 0; i < n; i++) {
		gid.raw[15] = i / 16;
		ipoib_hwaddr_build(tbl[i].daddr, 0x100 + i % 16, &gid);
		KUNIT_ASSERT_EQ(test,
				rhashtable_insert_fast(ht, &tbl[i].node,
						       ipoib_neigh_params),
				0);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&ht->nelems), n);

	rcu_read_lock();
	for (i = 0; i < n; i++) {
		found = rhashtable_lookup(ht, tbl[i].daddr,
					  ipoib_neigh_params);
		KUNIT_EXPECT_PTR_EQ(test, found, &tbl[i]);
	}
	/* an unknown QPN on a known GID is a different neighbour */
	memcpy(key, tbl[0].daddr, IPOIB_ALEN);
	key[3] = 0xee;
	KUNIT_EXPECT_NULL(test, rhashtable_lookup(ht, key,
						  ipoib_neigh_params));
	rcu_read_unlock();

	for (i = 0; i < n; i += 2)
		KUNIT_EXPECT_EQ(test,
				rhashtable_remove_fast(ht, &tbl[i].node,
						       ipoib_neigh_params),
				0);
	rcu_read_lock();
	for (i = 0; i < n; i++) {
		found = rhashtable_lookup(ht, tbl[i].daddr,
					  ipoib_neigh_params);
		KUNIT_EXPECT_PTR_EQ(test, found, i % 2 ? &tbl[i] : NULL);
	}
	rcu_read_unlock();
	rhashtable_destroy(ht);
}

static void ipoib_test_mtu(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ipoib_ud_mtu(4096), 4092u);
	KUNIT_EXPECT_EQ(test, ipoib_ud_mtu(2048), 2044u);
	KUNIT_EXPECT_EQ(test, ipoib_ud_mtu(256), 252u);
	KUNIT_EXPECT_EQ(test, ipoib_ud_buf_size(4096), 4136u);
	/* the user may lower the MTU; the group bounds it */
	KUNIT_EXPECT_EQ(test, ipoib_effective_mtu(1500, 4092), 1500u);
	KUNIT_EXPECT_EQ(test, ipoib_effective_mtu(4092, 2044), 2044u);
	/* a datagram MTU always fits the receive buffer after the GRH */
	KUNIT_EXPECT_EQ(test, ipoib_ud_buf_size(4096) - IPOIB_GRH_LEN -
			IPOIB_ENCAP_LEN, ipoib_ud_mtu(4096));
}

static struct kunit_case ipoib_test_cases[] = {
	KUNIT_CASE(ipoib_test_pkey_parse),
	KUNIT_CASE(ipoib_test_pkey_valid),
	KUNIT_CASE(ipoib_test_broadcast),
	KUNIT_CASE(ipoib_test_hwaddr),
	KUNIT_CASE(ipoib_test_neigh_hash),
	KUNIT_CASE(ipoib_test_mtu),
	{}
};

static struct kunit_suite ipoib_test_suite = {
	.name = "ib_ipoib",
	.test_cases = ipoib_test_cases,
};

kunit_test_suite(ipoib_test_suite);

MODULE_DESCRIPTION("KUnit tests for ib_ipoib");
MODULE_LICENSE("GPL");
