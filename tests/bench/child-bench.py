#!/usr/bin/env python3
# Helpers of tests/bench/bench-children.sh (runs inside a lab guest).
#
#   child-bench.py busy RATE START IFACE...
#       Keep each IFACE's workqueue busy without rtnl: RATE times a second, send one UDP
#       datagram through every IFACE to a multicast group it has never sent to before
#       (239.<n>.<k/256>.<k%256>, n from the interface's P_Key, k counting up from
#       START). Every new group is a send-only join: the join task and the fabric's join
#       work run on that interface's queue, and nothing of it takes rtnl.
#       Prints "ready" once its sockets are set up; on SIGTERM, "sent N errors E".
#   child-bench.py updown DEV up|down TIMEOUT
#       Set DEV up or down through rtnetlink (what `ip link set` does, without the
#       fork and exec) and print the seconds the request took, or "timeout" if it had
#       not returned after TIMEOUT seconds (the request goes on in a child process that
#       may never return; nothing waits for it).
import os
import select
import signal
import socket
import struct
import sys
import time


def pkey_index(name):
    """0 for the parent, the P_Key's low 15 bits for a child (ib0.8001 -> 1)."""
    if "." not in name:
        return 0
    return int(name.split(".", 1)[1], 16) & 0x7FFF


def busy(rate, start, ifaces):
    socks = []
    for name in ifaces:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mreqn = struct.pack("4s4si", bytes(4), bytes(4), socket.if_nametoindex(name))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        s.setblocking(False)
        n = pkey_index(name)
        if n > 255:
            sys.exit(f"busy: {name}: P_Key index {n} does not fit an address octet")
        socks.append((s, n))
    stats = {"sent": 0, "errors": 0}

    def stop(_sig, _frame):
        print(f"sent {stats['sent']} errors {stats['errors']}", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    payload = b"ipoib-bench"
    period = 1.0 / rate
    k = start
    due = time.monotonic()
    while True:
        if k > 0xFFFF:
            k = 0  # 65536 groups per interface: more than any run sends
        dst = f".{k >> 8}.{k & 0xFF}"
        for s, n in socks:
            try:
                s.sendto(payload, (f"239.{n}{dst}", 9))
                stats["sent"] += 1
            except OSError:
                stats["errors"] += 1
        k += 1
        due += period
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)
        else:
            due = time.monotonic()  # late: carry on, never burst to catch up


RTM_NEWLINK = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 1
NLM_F_ACK = 4
IFF_UP = 1


def setlink(index, up):
    """One RTM_NEWLINK request changing IFF_UP; returns (seconds, errno)."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    nl.bind((0, 0))
    ifi = struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
    msg = struct.pack("IHHII", 16 + len(ifi), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + ifi
    t0 = time.monotonic()
    nl.send(msg)
    while True:
        data = nl.recv(65536)
        t1 = time.monotonic()
        off = 0
        while off + 16 <= len(data):
            length, mtype, _flags, seq, _pid = struct.unpack_from("IHHII", data, off)
            if mtype == NLMSG_ERROR and seq == 1:
                (err,) = struct.unpack_from("i", data, off + 16)
                return t1 - t0, -err
            off += (length + 3) & ~3


def updown(dev, op, timeout):
    index = socket.if_nametoindex(dev)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child does the request: it may block for good
        os.close(r)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            secs, err = setlink(index, op == "up")
            os.write(w, f"{secs:.6f} {err}".encode())
        except Exception as e:  # pylint: disable=broad-except
            os.write(w, f"-1 {getattr(e, 'errno', 0) or 1}".encode())
        os._exit(0)
    os.close(w)
    ready, _, _ = select.select([r], [], [], timeout)
    if not ready:
        print("timeout")
        return 0
    out = os.read(r, 64).decode().split()
    os.waitpid(pid, 0)
    if len(out) != 2 or out[1] != "0":
        print(f"error {' '.join(out)}", file=sys.stderr)
        return 1
    print(out[0])
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "busy":
        busy(float(argv[2]), int(argv[3]), argv[4:])
        return 0
    if len(argv) == 5 and argv[1] == "updown" and argv[3] in ("up", "down"):
        return updown(argv[2], argv[3], float(argv[4]))
    sys.exit(__doc__ or "usage: see the comment at the top")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
