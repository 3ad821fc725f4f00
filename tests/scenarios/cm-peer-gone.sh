# A connected-mode peer disappears: both guests connected with traffic
# flowing, then b's script ends and its guest powers off (the runner counts
# a guest that ends with status 0 as done and keeps waiting for the other;
# the wire stays up on a's side: qemu drops what a sends). a keeps sending to
# b's (pinned) hardware address: its pings time out without hanging, the RC
# connection is torn down after the send errors (cm_tx_conns back to 0), 3000
# more packets to the dead peer leave the kernel's slab memory within a bound
# (below), and ib0 still goes down, under load, and up again.
# guests: 2
# timeout: 600
#
#   +-------------------------------+                  +-----------------------------+
#   | a  ib0 198.18.2.1  connected  |====== RC ========| b  ib0 198.18.2.2 connected |
#   |    neigh 198.18.2.2 permanent |                  |    (powers off mid-run)     |
#   |    ping -i 0.01, UDP to b     |------ x ---------|                             |
#   +-------------------------------+                  +-----------------------------+

# shellcheck shell=bash
sys=/sys/class/net/ib0
CM_MTU=65520

# slab_kib: Slab from /proc/meminfo once the reclaimable caches (dentries, inodes: what
# running commands over 9p churns) are dropped, so that what is left is mostly the
# unreclaimable part where socket buffers live.
slab_kib() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
	awk '$1 == "Slab:" { print $2 }' /proc/meminfo
}

# out_echos: ICMP echo requests this node has sent (Icmp OutEchos).
out_echos() {
	awk '$1 == "Icmp:" { if (!c) { for (i = 2; i <= NF; i++) if ($i == "OutEchos") c = i }
		else { print $c; exit } }' /proc/net/snmp
}

echos_above() { (($(out_echos) > $1)); } # N: more than N echo requests sent so far

# udp_to_peer N: send N 1400-byte and N 30000-byte UDP datagrams to the peer's discard
# port, alternately; a send blocked for 60 s fails (a driver holding socket buffers for
# ever would block the sender).
udp_to_peer() {
	log "+ UDP to $PEER_IB_IP: $1 x 1400 bytes, $1 x 30000 bytes"
	timeout 180 python3 -c 'import socket, sys
dst, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(60)
sent = errors = 0
for size in [1400, 30000] * n:
    try:
        s.sendto(bytes(size), (dst, 9))
        sent += 1
    except socket.timeout:
        print("a send blocked for 60 s after %d sent" % sent)
        sys.exit(2)
    except OSError:
        errors += 1
print("sent %d, %d refused" % (sent, errors))' "$PEER_IB_IP" "$1" ||
		fail "UDP sender to $PEER_IB_IP failed or blocked (status $?)"
}

# ping_dead COUNT INTERVAL: ping the peer, which must not answer; ping must end by itself.
ping_dead() {
	local rc=0
	log "+ ping -q -c $1 -i $2 -W 1 $PEER_IB_IP (no answer expected)"
	timeout 180 ping -q -c "$1" -i "$2" -W 1 "$PEER_IB_IP" >ping.log 2>&1 || rc=$?
	log "ping ended with status $rc: $(grep -m1 'packets transmitted' ping.log || tail -n1 ping.log)"
	((rc != 124 && rc != 137)) || fail "ping to the dead peer did not finish within 180 s"
	((rc != 0)) || fail "the dead peer answered: $(cat ping.log)"
}

wait_ib0
wait_carrier
if [[ $NODE == a ]]; then
	check ip link set dev ib0 type ipoib mode connected
else
	check bash -c "echo connected > $sys/mode"
fi
[[ $(<$sys/mode) == connected && $(<$sys/mtu) == "$CM_MTU" ]] ||
	fail "connected mode: mode $(<$sys/mode) mtu $(<$sys/mtu)"
barrier connected
wait_for 90 ping -c 1 -W 3 -s 8000 -Mdo "$PEER_IB_IP"
wait_for 60 nic_ge cm_tx_conns 1
ping_burst_late ib0 "$PEER_IB_IP" -s 1400
ping_burst_late ib0 "$PEER_IB_IP" -s 30000 -Mdo -A
barrier traffic

if [[ $NODE == b ]]; then
	echo "$(<$sys/address)" >"$LAB_SYNC/b.hwaddr.tmp"
	mv "$LAB_SYNC/b.hwaddr.tmp" "$LAB_SYNC/b.hwaddr"
	signal b-hwaddr
	wait_signal b-may-leave 300
	log "b leaves: its guest powers off now, with a's connection to it up"
	ip -s link show ib0
	exit 0
fi

# --- a: pin b's hardware address, so every packet to b reaches the driver (not only
# ARP probes once the entry would have failed) ---
wait_signal b-hwaddr 60
hw=$(<"$LAB_SYNC/b.hwaddr")
check ip neigh replace "$PEER_IB_IP" lladdr "$hw" dev ib0 nud permanent
log "neighbour: $(ip neigh show "$PEER_IB_IP" dev ib0)"

# The same 3000 packets to the live peer first: the slab cost of the traffic itself.
s0=$(slab_kib)
ping -q -c 2000 -i 0.005 -W 2 "$PEER_IB_IP" >live.log 2>&1 || { cat live.log; fail "ping to the live peer failed"; }
udp_to_peer 500
s1=$(slab_kib)
live=$((s1 - s0))
log "Slab $s0 -> $s1 KiB ($live KiB) for 3000 packets to the live peer"

# traffic keeps flowing while b goes
ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
load=$!
e0=$(out_echos)
wait_for 30 echos_above $((e0 + 20))
nic_ge cm_tx_conns 1 || fail "no connection to b before it leaves"
signal b-may-leave
# b's guest writes b.rc right before it powers off
wait_for 180 test -e "$LAB_SHARED/b.rc"
[[ $(<"$LAB_SHARED/b.rc") == 0 ]] || fail "b ended with status $(<"$LAB_SHARED/b.rc")"
log "b is gone (b.rc written); eth0 carrier $(<"/sys/class/net/eth0/carrier"), rxe0 port $(cat /sys/class/infiniband/rxe0/ports/1/state)"
wait_for 120 sh -c "! ping -c 1 -W 1 $PEER_IB_IP"

# --- a keeps sending: pings time out, UDP does not block ---
ping_dead 1000 0.01
udp_to_peer 250
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
log "after the first packets to the dead peer: cm_tx_conns $(nic_stat cm_tx_conns)," \
	"cm_tx_ud_fallback $(nic_stat cm_tx_ud_fallback), drops $(drop_count ib0)"

# --- the connection is torn down after the send errors ---
wait_for 240 nic_eq cm_tx_conns 0
log "cm_tx_conns 0: $(ethtool -S ib0 | grep -E 'cm_|drop|error' | grep -v ': 0$' | tr -s ' \n' ' ')"

# --- 3000 more packets to the dead peer: bounded memory ---
# Holding every one of them would cost at least ~2.7 MiB of slab: 2000 echo requests of
# ~768 bytes each (a 256-byte sk_buff and a >= 512-byte head), 500 UDP datagrams of 1400
# bytes (~2.3 KiB each) and 500 of 30000 (their data outside slab, 256 bytes of sk_buff
# each). The bound, 1 MiB on top of what the same traffic cost with the peer alive,
# lets a bounded queue (a few packets per destination) through, and fails a driver that
# keeps more than about a third of them.
s2=$(slab_kib)
ping_dead 2000 0.005
udp_to_peer 500
s3=$(slab_kib)
dead=$((s3 - s2))
bound=$((1024 + (live > 0 ? live : 0)))
log "Slab $s2 -> $s3 KiB ($dead KiB) for 3000 packets to the dead peer; bound $bound KiB"
grep -E '^(MemFree|MemAvailable|Slab|SReclaimable|SUnreclaim):' /proc/meminfo | tr -s ' \n' ' '
echo
((dead < bound)) || { log_counters; fail "slab grew by $dead KiB for 3000 packets to a dead peer (bound $bound KiB)"; }

# --- ib0 down under load (pending sends to the dead peer), then up ---
ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
load=$!
e0=$(out_echos)
wait_for 30 echos_above $((e0 + 20))
log "+ ip link set ib0 down (under load to the dead peer)"
timeout 120 ip link set ib0 down || fail "ip link set ib0 down failed or hung (status $?)"
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
check ip link set ib0 up
wait_carrier
[[ $(<$sys/mode) == connected && $(<$sys/mtu) == "$CM_MTU" ]] ||
	fail "after down/up: mode $(<$sys/mode) mtu $(<$sys/mtu)"
# going down ended every connection, the dead peer's passive one too
nic_eq cm_rx_conns 0 || fail "$(nic_stat cm_rx_conns) passive connection(s) survived ib0 down/up"
ping_dead 20 0.05
wait_for 240 nic_eq cm_tx_conns 0
ip -s link show ib0
