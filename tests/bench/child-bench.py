#!/usr/bin/env python3
"""Down latency of one P_Key child while its siblings are busy (tests/bench/bench-children.sh).

  child-bench.py latency VICTIM ONE SIBLINGS VARIANT:DELAY_MS... [options]

VICTIM (ib0.8001; best without IPv6, so that it sends nothing of its own) is taken down
and up again, SAMPLES times with ONE busy sibling and SAMPLES times with every interface
of the comma-separated SIBLINGS busy, the two alternating (1, 64, 64, 1, 1, 64, ...) so
that drift over the run touches both alike. "Busy" needs no rtnl, so that a
shared-workqueue build cannot simply deadlock on it: RATE times a second, each busy
sibling sends one UDP datagram (the siblings take turns, spread over the period) to an
IPv4 multicast group it never sent to (239.<P_Key & 0xff>.<k/256>.<k%256>). Each is a
new send-only group, whose join task and fabric join work run on that sibling's
workqueue. Each VARIANT:DELAY_MS is one set of samples; with DELAY_MS > 0 every join
first sleeps that long in the join task (the driver's mcast_join fault knob,
"COUNT 0 DELAY_MS": succeed after the delay), as one waiting for a slow SA would; with 0
the knob only counts the joins. With --no-knob (a driver without the knob: the in-tree
ib_ipoib) only DELAY_MS 0 is allowed, joins are not counted (no joins_* figures), and
"until the joins stop" becomes a fixed second of quiet.

A sample: arm the knob, start the senders, wait WARMUP seconds and a fraction of the send
period (a different one per sample of a case, the same in both cases), time an RTM_NEWLINK
request clearing IFF_UP on VICTIM (what `ip link set VICTIM down` sends, without the fork
and exec of ip), stop the senders, let the delayed joins left over finish without the
delay, bring VICTIM up again and wait for its carrier and for the joins to stop.

Prints "SAMPLE ..." per sample and "BENCH <name> <value> <unit>" lines:
  down_<variant>_<1|64>_median      seconds (median of the samples)
  down_<variant>_<1|64>_max         seconds
  joins_<variant>_<1|64>_per_s      joins started per second while busy (a sanity check:
                                    without a delay it must be about 1 or 64 x RATE)
A down that has not returned after TIMEOUT seconds prints "BENCH down_<variant>_<mode>_timeout
TIMEOUT s" and ends the run with status 3: nothing more can be measured in that boot.
"""
import argparse
import os
import select
import signal
import socket
import statistics
import struct
import sys
import time

KNOB = "/sys/kernel/debug/ipoib/fault/mcast_join"
KNOB_COUNT = 1000000  # joins the knob applies to (its maximum): all of them, for this run
use_knob = True  # False with --no-knob


def log(msg):
    with open("/proc/uptime") as f:
        up = f.read().split()[0]
    print(f"[{up:>8} a] {msg}", flush=True)


def knob(delay_ms):
    if not use_knob:
        return
    with open(KNOB, "w") as f:
        f.write(f"{KNOB_COUNT} 0 {delay_ms}")


def joins():
    """Joins the knob has seen ("COUNT ERRNO DELAY injected N"); 0 without the knob."""
    if not use_knob:
        return 0
    with open(KNOB) as f:
        return int(f.read().split()[4])


def pkey_index(name):
    """0 for the parent, the P_Key's low 15 bits for a child (ib0.8001 -> 1)."""
    if "." not in name:
        return 0
    return int(name.split(".", 1)[1], 16) & 0x7FFF


def busy(rate, start, ifaces, ready_fd):
    """(In a child process) send to fresh groups through every IFACE until SIGTERM."""
    socks = []
    for name in ifaces:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mreqn = struct.pack("4s4si", bytes(4), bytes(4), socket.if_nametoindex(name))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        s.setblocking(False)
        socks.append((s, pkey_index(name) & 0xFF))
    stats = {"sent": 0, "errors": 0}

    def stop(_sig, _frame):
        print(f"    senders: {stats['sent']} datagrams, {stats['errors']} send errors", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    os.write(ready_fd, b"r")
    os.close(ready_fd)
    payload = b"ipoib-bench"
    step = 1.0 / rate / len(socks)  # the interfaces take turns, evenly spread
    k = start
    due = time.monotonic()
    while True:
        dst = f".{(k >> 8) & 0xFF}.{k & 0xFF}"
        for s, n in socks:
            try:
                s.sendto(payload, (f"239.{n}{dst}", 9))
                stats["sent"] += 1
            except OSError:
                stats["errors"] += 1
            due += step
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
            elif left < -step:
                due = time.monotonic()  # late: carry on, never burst to catch up
        k += 1


def start_senders(rate, start, ifaces):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            busy(rate, start, ifaces, w)
        finally:
            os._exit(1)
    os.close(w)
    ok = select.select([r], [], [], 30)[0] and os.read(r, 1) == b"r"
    os.close(r)
    if not ok:
        sys.exit("senders did not start")
    return pid


def stop_senders(pid):
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


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


def updown(dev, up, timeout):
    """Seconds the request took, or None after TIMEOUT (it goes on, in a child process
    that may never return and that nothing waits for)."""
    index = socket.if_nametoindex(dev)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            secs, err = setlink(index, up)
            os.write(w, f"{secs:.6f} {err}".encode())
        except OSError as e:
            os.write(w, f"-1 {e.errno or 1}".encode())
        os._exit(0)
    os.close(w)
    if not select.select([r], [], [], timeout)[0]:
        return None
    out = os.read(r, 64).decode().split()
    os.close(r)
    os.waitpid(pid, 0)
    if len(out) != 2 or out[1] != "0":
        sys.exit(f"ip link set {dev} {'up' if up else 'down'} failed: errno {out[-1] if out else '?'}")
    return float(out[0])


def carrier(dev):
    try:
        with open(f"/sys/class/net/{dev}/carrier") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def wait_until(cond, timeout, what):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def quiet(timeout):
    """Wait until no join has started for 0.5 s (without the knob: 1 s)."""
    if not use_knob:
        time.sleep(1.0)
        return
    end = time.monotonic() + timeout
    last, since = joins(), time.monotonic()
    while time.monotonic() - since < 0.5:
        if time.monotonic() > end:
            sys.exit(f"joins still going on after {timeout}s")
        time.sleep(0.1)
        now = joins()
        if now != last:
            last, since = now, time.monotonic()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["latency"])
    ap.add_argument("victim")
    ap.add_argument("one")
    ap.add_argument("siblings")
    ap.add_argument("variants", nargs="+", metavar="VARIANT:DELAY_MS")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--rate", type=float, default=5.0, help="fresh groups a second per busy sibling")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-knob", action="store_true", help="the driver has no mcast_join fault knob")
    a = ap.parse_args()
    global use_knob
    use_knob = not a.no_knob
    if not use_knob and any(int(v.split(":")[1]) for v in a.variants):
        sys.exit("--no-knob: every VARIANT needs DELAY_MS 0")
    many = a.siblings.split(",")
    print(f"BENCH down_samples {a.samples} count", flush=True)
    groups_per_sample = 1024  # k block of each sample: fresh groups across the whole run
    block = 0
    # one untimed round first: the first down after setup pays for cold caches
    knob(0)
    for up in (False, True):
        if updown(a.victim, up, a.timeout) is None:
            sys.exit(f"ip link set {a.victim} {'up' if up else 'down'} did not return")
    wait_until(lambda: carrier(a.victim), a.timeout, f"{a.victim} carrier")
    quiet(a.timeout)
    for spec in a.variants:
        variant, delay = spec.split(":")
        delay = int(delay)
        res = {1: [], len(many): []}
        rate = {1: [], len(many): []}
        for i in range(a.samples):
            for mode in (1, len(many)) if i % 2 == 0 else (len(many), 1):
                ifaces = [a.one] if mode == 1 else many
                knob(delay)
                j0 = joins()
                t0 = time.monotonic()
                pid = start_senders(a.rate, block * groups_per_sample, ifaces)
                block += 1
                # samples i of both cases fall at the same point of a sender's period,
                # the points spread over it (a single busy sibling's join in progress
                # is waited for, or not, depending on that point)
                time.sleep(a.warmup + (i + 0.5) / a.samples / a.rate)
                secs = updown(a.victim, False, a.timeout)
                j1, t1 = joins(), time.monotonic()
                if secs is None:
                    log(f"SAMPLE {variant} busy={mode} down did not return within {a.timeout:.0f}s")
                    report(variant, res, rate)  # what was measured before
                    print(f"BENCH down_{variant}_{mode}_timeout {a.timeout:.0f} s", flush=True)
                    os.kill(pid, signal.SIGKILL)
                    return 3
                stop_senders(pid)
                knob(0)  # what is left joins without the delay
                quiet(a.timeout)
                if updown(a.victim, True, a.timeout) is None:
                    sys.exit(f"ip link set {a.victim} up did not return")
                wait_until(lambda: carrier(a.victim), a.timeout, f"{a.victim} carrier")
                quiet(a.timeout)
                jps = (j1 - j0) / (t1 - t0)
                res[mode].append(secs)
                rate[mode].append(jps)
                log(f"SAMPLE {variant} busy={mode} down {secs * 1000:.1f} ms"
                    + (f", {jps:.0f} joins/s while busy" if use_knob else ""))
        for mode in res:
            # (a generous bound: a starved guest - the host's load - starts fewer)
            want = 0.2 * mode * a.rate
            if use_knob and delay == 0 and statistics.median(rate[mode]) < want:
                sys.exit(f"{variant}: {mode} busy sibling(s) started only "
                         f"{statistics.median(rate[mode]):.0f} joins/s (expected about {mode * a.rate:.0f})")
        report(variant, res, rate)
    return 0


def report(variant, res, rate):
    for mode, v in res.items():
        if not v:
            continue
        print(f"BENCH down_{variant}_{mode}_median {statistics.median(v):.6f} s")
        print(f"BENCH down_{variant}_{mode}_max {max(v):.6f} s")
        if use_knob:
            print(f"BENCH joins_{variant}_{mode}_per_s {statistics.median(rate[mode]):.1f} joins/s")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
