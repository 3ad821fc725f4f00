/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ib_ipoib: pure helpers for P_Keys, hardware and multicast addresses, and
 * MTU arithmetic.  They touch no device state, so the KUnit suite
 * (ipoib_kunit.c) tests them directly.
 */
#ifndef _IPOIB_ADDR_H
#define _IPOIB_ADDR_H

#include <linux/if_infiniband.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <rdma/ib_verbs.h>

#define IPOIB_ALEN		INFINIBAND_ALEN
#define IPOIB_ENCAP_LEN		4	/* ethertype + reserved */
#define IPOIB_GRH_LEN		40
#define IPOIB_QPN_MASK		0xffffffu
#define IPOIB_PKEY_FULL		0x8000	/* full-membership bit */

/* 0x0001-0xffff; 0x8000 alone (a full member of no partition) is invalid */
static inline bool ipoib_pkey_valid(unsigned int pkey)
{
	return pkey && pkey <= 0xffff && pkey != IPOIB_PKEY_FULL;
}

/* A P_Key written by a user: hex with 0x or decimal, optional newline. */
static inline int ipoib_parse_pkey(const char *buf, u16 *pkey)
{
	unsigned int v;

	if (kstrtouint(buf, 0, &v) || !ipoib_pkey_valid(v))
		return -EINVAL;
	*pkey = v;
	return 0;
}

/* Datagram MTU for an IB MTU, and the receive buffer that carries it. */
static inline unsigned int ipoib_ud_mtu(unsigned int ib_mtu)
{
	return ib_mtu - IPOIB_ENCAP_LEN;
}

static inline unsigned int ipoib_ud_buf_size(unsigned int ib_mtu)
{
	return ib_mtu + IPOIB_GRH_LEN;
}

/* The MTU in force: what the user asked for, within what the group allows. */
static inline unsigned int ipoib_effective_mtu(unsigned int admin_mtu,
					       unsigned int mcast_mtu)
{
	return min(admin_mtu, mcast_mtu);
}

/* Hardware address: flags (1 byte) + QPN (3), then the port GID (16). */
static inline u32 ipoib_hwaddr_qpn(const u8 *addr)
{
	return get_unaligned_be32(addr) & IPOIB_QPN_MASK;
}

static inline const union ib_gid *ipoib_hwaddr_gid(const u8 *addr)
{
	return (const union ib_gid *)(addr + 4);
}

static inline void ipoib_hwaddr_build(u8 *addr, u32 qpn,
				      const union ib_gid *gid)
{
	put_unaligned_be32(qpn & IPOIB_QPN_MASK, addr);
	memcpy(addr + 4, gid->raw, sizeof(*gid));
}

/* Multicast hardware addresses carry an MGID, which starts with 0xff. */
static inline bool ipoib_hwaddr_is_mcast(const u8 *addr)
{
	return addr[4] == 0xff;
}

/* ff12:401b:PPPP::ffff:ffff, behind the reserved byte and QPN 0xffffff */
static inline void ipoib_build_broadcast(u8 *bcast, u16 pkey)
{
	static const u8 tmpl[IPOIB_ALEN] = {
		0x00, 0xff, 0xff, 0xff,
		0xff, 0x12, 0x40, 0x1b, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	};

	memcpy(bcast, tmpl, IPOIB_ALEN);
	bcast[8] = pkey >> 8;
	bcast[9] = pkey & 0xff;
}

/* A multicast address of our partition: QPN 0xffffff, an MGID, our P_Key. */
static inline bool ipoib_mcast_addr_ok(const u8 *bcast, const u8 *addr)
{
	return !memcmp(addr, bcast, 4) && addr[4] == 0xff &&
	       addr[8] == bcast[8] && addr[9] == bcast[9];
}

#endif /* _IPOIB_ADDR_H */
