#!/usr/bin/env python3
"""Stage breakdown of datagram-mode echoes from two ftrace traces (echo-stages.sh).

Usage: echo-stages.py TRACE_A TRACE_B

a sent ICMP echo requests to b over ib0, one at a time; each guest traced function
entries and events with its own monotonic clock.  For every request a sent, the stages
are found forward from a's ib0 transmit; for every reply b sent, backward (its receive)
and forward (its transmit) from b's ib0 transmit.  Echo i of a pairs with reply i of b.
Prints "STAGE <name> <median us> <mean us> <owner> <what>" per stage, "CTX" lines
(which context ran the receive NAPI poll) and "ECHOES <n>"; exits 1 without an echo.
"""
import re
import statistics
import sys

LINE = re.compile(r'^\s*(.*?)-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): (.*)$')


def kind(rest):
    """Map one trace line's text to a stage event name (or None)."""
    m = re.match(r'(\w+): (.*)', rest)
    if m:
        ev, args = m.groups()
        if ev == 'net_dev_start_xmit':
            if 'dev=ib0 ' in args and 'protocol=0x0800' in args:
                return 'xmit_ib'
            if 'dev=eth0 ' in args:
                return 'xmit_eth'
        elif ev == 'netif_receive_skb' and 'dev=ib0 ' in args:
            return 'rx_ib'
        elif ev == 'sched_switch' and 'next_comm=ping ' in args:
            return 'ping_runs'
        return None
    func = rest.split(' ', 1)[0]
    return {
        'rxe_post_send': 'post', 'rxe_sender': 'sender',
        'ipoib_send_cq_event': 'send_cqe', 'ipoib_send_poll': 'send_poll',
        'virtnet_poll': 'eth_rx', 'rxe_udp_encap_recv': 'udp_rx',
        'rxe_receiver': 'receiver', 'ipoib_recv_cq_event': 'recv_cqe',
        'ipoib_recv_poll': 'recv_poll', 'icmp_rcv': 'icmp',
    }.get(func)


def load(path):
    out = []
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, _, ts, rest = m.groups()
            k = kind(rest)
            if k:
                out.append((float(ts) * 1e6, k, comm.strip(), len(out)))
    return out


def fwd(ev, i, name):
    """Index of the first NAME event after index i (or None)."""
    for j in range(i + 1, len(ev)):
        if ev[j][1] == name:
            return j
    return None


def back(ev, i, name):
    for j in range(i - 1, -1, -1):
        if ev[j][1] == name:
            return j
    return None


def chain(ev, i, names, step):
    """Follow NAMES from index i; a dict name -> (time, comm), or None if one is missing."""
    got = {}
    for n in names:
        i = step(ev, i, n) if i is not None else None
        if i is None:
            return None
        got[n] = ev[i]
    return got


def side_a(ev):
    res = []
    for i, e in enumerate(ev):
        if e[1] != 'xmit_ib':
            continue
        req = chain(ev, i, ['post', 'sender', 'xmit_eth'], fwd)
        if not req:
            continue
        s = {'xmit_ib': e, **req}
        j = req['post'][3]
        cq = chain(ev, j, ['send_cqe', 'send_poll'], fwd)
        k = req['xmit_eth'][3]
        rep = chain(ev, k, ['udp_rx', 'receiver', 'recv_cqe', 'recv_poll',
                            'rx_ib', 'icmp', 'ping_runs'], fwd)
        if not cq or not rep:
            continue
        s.update(cq)
        s.update(rep)
        u = rep['udp_rx'][3]
        er = back(ev, u, 'eth_rx')
        if er is None or ev[er][0] < req['xmit_eth'][0]:
            continue
        s['eth_rx'] = ev[er]
        res.append(s)
    return res


def side_b(ev):
    res = []
    for i, e in enumerate(ev):
        if e[1] != 'xmit_ib':
            continue
        rx = chain(ev, i, ['icmp', 'rx_ib', 'recv_poll', 'recv_cqe', 'receiver',
                           'udp_rx', 'eth_rx'], back)
        tx = chain(ev, i, ['post', 'sender', 'xmit_eth'], fwd)
        if not rx or not tx:
            continue
        j = tx['post'][3]
        cq = chain(ev, j, ['send_cqe', 'send_poll'], fwd)
        if not cq:
            continue
        res.append({'xmit_ib': e, **rx, **tx, **cq})
    return res


# name, owner, what, (side, from, to) - or a callable of the paired echo
STAGES = [
    ('a_xmit_to_post', 'driver', 'a: ib0 transmit (request) to post_send', ('a', 'xmit_ib', 'post')),
    ('a_post_to_rxe_send', 'rxe', 'a: post_send to rxe send work running', ('a', 'post', 'sender')),
    ('a_rxe_send_to_eth0', 'rxe', 'a: rxe send work to eth0 transmit', ('a', 'sender', 'xmit_eth')),
    ('a_post_to_send_cqe', 'rxe', 'a: post_send to send completion upcall', ('a', 'post', 'send_cqe')),
    ('a_send_cqe_to_poll', 'driver', 'a: send completion upcall to send NAPI poll', ('a', 'send_cqe', 'send_poll')),
    ('wire_both_ways', 'emulator', 'eth0 to eth0 and back (virtio, qemu socket link)', None),
    ('b_eth0_to_rxe_rx', 'rxe', 'b: eth0 NAPI to rxe UDP receive', ('b', 'eth_rx', 'udp_rx')),
    ('b_rxe_rx_to_recv_work', 'rxe', 'b: rxe UDP receive to rxe receive work running', ('b', 'udp_rx', 'receiver')),
    ('b_recv_work_to_cqe', 'rxe', 'b: rxe receive work to receive completion upcall', ('b', 'receiver', 'recv_cqe')),
    ('b_cqe_to_napi', 'driver', 'b: receive completion upcall to receive NAPI poll', ('b', 'recv_cqe', 'recv_poll')),
    ('b_napi_to_stack', 'driver', 'b: NAPI poll to netif_receive_skb', ('b', 'recv_poll', 'rx_ib')),
    ('b_stack_to_reply_xmit', 'stack', 'b: netif_receive_skb to ib0 transmit (reply)', ('b', 'rx_ib', 'xmit_ib')),
    ('b_xmit_to_post', 'driver', 'b: ib0 transmit (reply) to post_send', ('b', 'xmit_ib', 'post')),
    ('b_post_to_rxe_send', 'rxe', 'b: post_send to rxe send work running', ('b', 'post', 'sender')),
    ('b_rxe_send_to_eth0', 'rxe', 'b: rxe send work to eth0 transmit', ('b', 'sender', 'xmit_eth')),
    ('b_send_cqe_to_poll', 'driver', 'b: send completion upcall to send NAPI poll', ('b', 'send_cqe', 'send_poll')),
    ('a_eth0_to_rxe_rx', 'rxe', 'a: eth0 NAPI to rxe UDP receive', ('a', 'eth_rx', 'udp_rx')),
    ('a_rxe_rx_to_recv_work', 'rxe', 'a: rxe UDP receive to rxe receive work running', ('a', 'udp_rx', 'receiver')),
    ('a_recv_work_to_cqe', 'rxe', 'a: rxe receive work to receive completion upcall', ('a', 'receiver', 'recv_cqe')),
    ('a_cqe_to_napi', 'driver', 'a: receive completion upcall to receive NAPI poll', ('a', 'recv_cqe', 'recv_poll')),
    ('a_napi_to_stack', 'driver', 'a: NAPI poll to netif_receive_skb', ('a', 'recv_poll', 'rx_ib')),
    ('a_stack_to_icmp', 'stack', 'a: netif_receive_skb to icmp_rcv', ('a', 'rx_ib', 'icmp')),
    ('a_icmp_to_ping', 'stack', 'a: icmp_rcv to ping running', ('a', 'icmp', 'ping_runs')),
    ('a_rtt', 'total', 'a: ib0 transmit to ping running (round trip seen by a)', ('a', 'xmit_ib', 'ping_runs')),
    ('b_turn', 'total', 'b: eth0 NAPI to eth0 transmit (b\'s turn)', ('b', 'eth_rx', 'xmit_eth')),
]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = side_a(load(sys.argv[1])), side_b(load(sys.argv[2]))
    n = min(len(a), len(b))
    print('ECHOES %d (a: %d complete requests, b: %d complete replies)' % (n, len(a), len(b)))
    if not n:
        return 1
    vals = {s[0]: [] for s in STAGES}
    for ea, eb in zip(a[-n:], b[-n:]):
        side = {'a': ea, 'b': eb}
        for name, _, _, span in STAGES:
            if span:
                s, f, t = span
                vals[name].append(side[s][t][0] - side[s][f][0])
        wire = (ea['eth_rx'][0] - ea['xmit_eth'][0]) - (eb['xmit_eth'][0] - eb['eth_rx'][0])
        vals['wire_both_ways'].append(wire)
    print('%-24s %10s %10s  %-8s %s' % ('stage', 'median_us', 'mean_us', 'owner', 'what'))
    for name, owner, what, _ in STAGES:
        v = vals[name]
        print('STAGE %-24s %8.0f %8.0f  %-8s %s' % (name, statistics.median(v),
                                                  statistics.mean(v), owner, what))
    owners = {}
    for name, owner, _, _ in STAGES:
        if owner != 'total':
            owners[owner] = owners.get(owner, 0) + statistics.median(vals[name])
    for owner, t in sorted(owners.items()):
        print('OWNER %-8s %8.0f us (sum of its stages\' medians)' % (owner, t))
    for s, e in (('a', a[-n:]), ('b', b[-n:])):
        ctx = {}
        for x in e:
            c = re.sub(r'/\d+.*', '', x['recv_poll'][2])
            ctx[c] = ctx.get(c, 0) + 1
        print('CTX %s receive NAPI ran in: %s' % (s, ', '.join('%s %d' % kv for kv in sorted(ctx.items()))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
