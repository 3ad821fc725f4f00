# Connected mode (IPoIB-CM, RFC 4755) between two guests: a switches through
# sysfs, b through netlink; mode, MTU 65520 (and the MTU range), the CM flag
# (0x80) in the hardware address in both modes; IPv4 pings of 56 to 65000
# bytes (and IPv6 up to 32000) both ways over RC with DF set; iperf3 TCP at
# MTU 65520; the ethtool CM counters. Then b goes back to datagram while a
# stays connected: b's MTU drops to the datagram limit and b stops sending
# over RC, but b keeps accepting a's connection (its address still carries
# the CM flag), so a still reaches b over RC with 65000-byte datagrams while
# b reaches a over UD (a large ping from b is fragmented; with DF it is
# refused locally against b's MTU).
# guests: 2
# timeout: 480
#
#   +---------------------------+                        +---------------------------+
#   | a  ib0 198.18.2.1/24      |   RC (a -> b, b -> a)  | b  ib0 198.18.2.2/24      |
#   |    2001:db8:2::1/64       |========================|    2001:db8:2::2/64       |
#   |    mode connected (sysfs) |  UD (ARP, multicast)   |    mode connected (ip link)|
#   |    MTU 65520              |------------------------|    MTU 65520 -> datagram  |
#   |    rxe0 on eth0 (9000)    |   RoCE v2 over eth0    |    rxe0 on eth0 (9000)    |
#   +---------------------------+                        +---------------------------+
#   phase 2: b in datagram: a -> b over RC (b's passive side), b -> a over UD

# shellcheck shell=bash
sys=/sys/class/net/ib0
CM_MTU=65520

# is_mode MODE: sysfs and `ip -d link` both report MODE for ib0.
is_mode() {
	[[ $(<$sys/mode) == "$1" ]] && ip -d link show dev ib0 | grep -Eq "mode +$1( |$)"
}

# has_cm_flag: ib0's hardware address advertises connected mode (first byte 0x80).
has_cm_flag() { [[ $(<$sys/address) == 80:* ]]; }

wait_ib0
wait_carrier
DGRAM_MTU=$(<$sys/mtu)
log "ib0 $(<$sys/address) mtu $DGRAM_MTU mode $(<$sys/mode)"
is_mode datagram || fail "ib0 does not start in datagram mode: $(<$sys/mode) / $(ip -d link show dev ib0)"
((DGRAM_MTU <= 4092)) || fail "datagram MTU $DGRAM_MTU above 4092"
has_cm_flag || fail "ib0 address $(<$sys/address) lacks the connected-mode flag in datagram mode"
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
wait_for 60 ping -6 -c 1 -W 1 "$PEER_IB_IP6"
barrier resolved

# --- both connected: a through sysfs (with a newline), b through netlink ---
if [[ $NODE == a ]]; then
	check bash -c "echo connected > $sys/mode"
else
	check ip link set dev ib0 type ipoib mode connected
fi
is_mode connected || fail "mode after switching: $(<$sys/mode) / $(ip -d link show dev ib0)"
[[ $(<$sys/mtu) == "$CM_MTU" ]] || fail "MTU $(<$sys/mtu) in connected mode, expected $CM_MTU"
has_cm_flag || fail "ib0 address $(<$sys/address) lacks the connected-mode flag in connected mode"
# any MTU up to 65520, nothing above
if ip link set ib0 mtu $((CM_MTU + 1)) 2>err; then fail "MTU $((CM_MTU + 1)) accepted in connected mode"; fi
log "MTU $((CM_MTU + 1)) refused: $(cat err)"
[[ $(<$sys/mtu) == "$CM_MTU" ]] || fail "refused MTU change altered the MTU: $(<$sys/mtu)"
check ip link set ib0 mtu 9000
check ip link set ib0 mtu "$CM_MTU"
# writing the current mode again changes nothing
check bash -c "printf connected > $sys/mode"
is_mode connected || fail "rewriting connected changed the mode"
[[ $(<$sys/mtu) == "$CM_MTU" ]] || fail "rewriting connected changed the MTU: $(<$sys/mtu)"
barrier connected

# 8000 bytes with DF only pass over RC: this waits for the connection.
wait_for 90 ping -c 1 -W 3 -s 8000 -Mdo "$PEER_IB_IP"
wait_for 60 nic_ge cm_tx_conns 1
wait_for 60 nic_ge cm_rx_conns 1
log "cm_tx_conns $(nic_stat cm_tx_conns) cm_rx_conns $(nic_stat cm_rx_conns)"
# --- pings both ways at once, every size with DF (all fit MTU 65520) ---
# (counters taken before the barrier: none of the peer's burst is missed)
tx0=$(nic_stat cm_tx_packets)
rx0=$(nic_stat cm_rx_packets)
d0=$(drop_count ib0)
barrier rc-up
# Echoes of 8000 bytes and more go one at a time (ping -A): the kernel answers echoes
# from one ICMP socket whose send buffer holds about two 64 KiB replies until their sends
# complete; when RC retransmissions on a loaded host delay the completions, the replier's
# kernel discards further replies itself (IpOutDiscards and IcmpOutErrors there, no
# counter of ib0 moves), which says nothing about the driver.
for size in 56 1400 8000 32000 65000; do
	if ((size >= 8000)); then one=(-A); else one=(); fi
	log "ping -s $size -M do ${one[*]} $PEER_IB_IP"
	ping_burst_late ib0 "$PEER_IB_IP" -s "$size" -Mdo "${one[@]}"
done
log "ping -6 -s 32000 -M do -A $PEER_IB_IP6"
ping_burst_late ib0 "$PEER_IB_IP6" -s 32000 -Mdo -A
barrier pings-sent # the peer's requests count here too
tx1=$(nic_stat cm_tx_packets)
rx1=$(nic_stat cm_rx_packets)
log "over RC: sent $((tx1 - tx0)), received $((rx1 - rx0)) (each side: 6 x 50 requests and 6 x 50 replies)"
# each side sent at least its 300 requests and 300 replies over RC
((tx1 - tx0 >= 600)) || fail "cm_tx_packets moved by $((tx1 - tx0)) for 600 echo packets"
((rx1 - rx0 >= 600)) || fail "cm_rx_packets moved by $((rx1 - rx0)) for 600 echo packets"
(($(drop_count ib0) == d0)) || { log_counters; fail "ib0 counted drops or errors during the pings"; }
barrier pings-done

# --- iperf3 TCP at MTU 65520, b serving one test ---
if [[ $NODE == b ]]; then
	iperf3 -s -1 -p 5201 >iperf-s.log 2>&1 &
	srv=$!
	wait_for 30 sh -c "ss -Hltn 'sport = :5201' | grep -q ."
	signal iperf-ready
	wait_signal iperf-done 180
	wait "$srv" || { cat iperf-s.log; fail "iperf3 server failed"; }
else
	wait_signal iperf-ready 60
	tx0=$(nic_stat cm_tx_packets)
	timeout 120 iperf3 -c "$PEER_IB_IP" -p 5201 -t 5 -J >tcp.json ||
		{ cat tcp.json; fail "iperf3 TCP failed (or did not finish in 120 s)"; }
	tx1=$(nic_stat cm_tx_packets)
	res=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
e = j["end"]
print(int(e["sum_received"]["bits_per_second"]), e["sum_sent"].get("retransmits", 0),
      j["start"].get("tcp_mss_default", 0))' tcp.json) || { cat tcp.json; fail "cannot parse the iperf3 JSON"; }
	read -r bps retr mss <<<"$res"
	log "iperf3 TCP at MTU $CM_MTU: $((bps / 1000000)) Mbit/s, $retr retransmits, MSS $mss," \
		"$((tx1 - tx0)) packets over RC"
	((bps > 0)) || fail "iperf3 TCP moved nothing"
	((tx1 - tx0 > 0)) || fail "iperf3 TCP did not go over RC (cm_tx_packets unchanged)"
	signal iperf-done
fi
barrier iperf-done

# --- b back to datagram (sysfs, no newline); a stays connected ---
if [[ $NODE == b ]]; then
	check bash -c "printf datagram > $sys/mode"
	is_mode datagram || fail "mode after switching back: $(<$sys/mode) / $(ip -d link show dev ib0)"
	mtu=$(<$sys/mtu)
	((mtu <= DGRAM_MTU && mtu <= 4092)) || fail "MTU $mtu after leaving connected mode (datagram limit $DGRAM_MTU)"
	if ip link set ib0 mtu $((DGRAM_MTU + 1)) 2>/dev/null; then
		fail "MTU $((DGRAM_MTU + 1)) accepted in datagram mode"
	fi
	has_cm_flag || fail "ib0 address $(<$sys/address) lost the connected-mode flag in datagram mode"
	# in datagram mode b sends nothing over RC: its active connections go
	wait_for 60 nic_eq cm_tx_conns 0
else
	is_mode connected || fail "a left connected mode when b did: $(<$sys/mode)"
	[[ $(<$sys/mtu) == "$CM_MTU" ]] || fail "a's MTU changed to $(<$sys/mtu) when b left connected mode"
fi
tx0=$(nic_stat cm_tx_packets)
rx0=$(nic_stat cm_rx_packets)
barrier mixed

# small pings both ways, at once
ping_burst_late ib0 "$PEER_IB_IP"
ping_burst_late ib0 "$PEER_IB_IP" -s 1400
ping_burst_late ib0 "$PEER_IB_IP6" -s 1400
barrier mixed-small
if [[ $NODE == b ]]; then
	tx1=$(nic_stat cm_tx_packets)
	rx1=$(nic_stat cm_rx_packets)
	log "b in datagram mode: cm_tx_packets +$((tx1 - tx0)), cm_rx_packets +$((rx1 - rx0))"
	((tx1 == tx0)) || fail "b sent $((tx1 - tx0)) packets over RC in datagram mode"
	# a's requests and replies to b came over a's connection, accepted by b
	((rx1 - rx0 >= 150)) || fail "b received only $((rx1 - rx0)) packets over RC from a (>= 150 expected)"
	nic_ge cm_rx_conns 1 || fail "b in datagram mode has no passive connection from a"
fi

# large echoes, one at a time (-A, see above): one leg over RC, the other as IP
# fragments over UD (b's MTU is 4092). The RC leg must lose nothing: counted where it
# arrives. On the UD leg, trains of 8 to 16 back-to-back fragments, a frame is now and
# then lost outside the driver under TCG (seen in datagram mode with the datagram-only
# module too: the receiving rxe counts fewer packets than the sending one, no counter of
# either driver moves) and with it the whole echo: up to 16% of 65000-byte echoes on a
# loaded host. A likely cause, on the wire and not in the driver, was eth0's fq_codel,
# which dropped rxe's packets that waited over 5 ms while the peer guest was slow to
# drain the wire; the lab now gives eth0 a FIFO (guest-init). Until a loaded CI run has
# shown the losses gone, the UD leg only has to carry a clear majority (40 of 50), and
# any loss logs every counter (qdisc, rxe, IP, neighbour) for the next look.
# in_echos: echo requests this node has received (Icmp InEchos).
in_echos() {
	awk '$1 == "Icmp:" { if (!c) { for (i = 2; i <= NF; i++) if ($i == "InEchos") c = i }
		else { print $c; exit } }' /proc/net/snmp
}
# large_burst SIZE [PING-ARGS...]: 50 echoes of SIZE bytes to the peer, one at a time;
# REPLIES is set to the replies received within 60 s.
large_burst() {
	local s0 g0 s1 g1
	read -r s0 g0 <<<"$(echo_counts)"
	log "+ ping -q -c 50 -A -W 5 -s $* $PEER_IB_IP"
	ping -q -c 50 -A -W 5 -s "$@" "$PEER_IB_IP" >burst.log 2>&1 || true
	read -r s1 _ <<<"$(echo_counts)"
	((s1 - s0 == 50)) || fail "sent $((s1 - s0)) echo requests of $1 bytes, not 50: $(cat burst.log)"
	poll 60 _replies_since "$g0" 50 || true
	read -r _ g1 <<<"$(echo_counts)"
	REPLIES=$((g1 - g0))
	log "$REPLIES of 50 echoes of $1 bytes answered"
}

# a -> b: requests over RC with DF, b fragments its replies over UD
i0=$(in_echos)
r0=$(nic_stat cm_rx_packets)
barrier large-a
if [[ $NODE == a ]]; then
	nic_ge cm_tx_conns 1 || fail "a has no connection to b in datagram mode"
	tx0=$(nic_stat cm_tx_packets)
	for size in 32000 65000; do
		large_burst "$size" -Mdo
		((REPLIES == 50)) || log_counters
		((REPLIES >= 40)) || fail "only $REPLIES of 50 echoes of $size bytes to b answered"
	done
	tx1=$(nic_stat cm_tx_packets)
	((tx1 - tx0 >= 100)) || fail "a's large pings to b did not go over RC (cm_tx_packets +$((tx1 - tx0)))"
fi
barrier large-a-done
if [[ $NODE == b ]]; then
	i1=$(in_echos)
	r1=$(nic_stat cm_rx_packets)
	log "b got $((i1 - i0)) echo requests, $((r1 - r0)) packets over RC"
	((i1 - i0 >= 100 && r1 - r0 >= 100)) ||
		fail "a's 100 large echo requests over RC: b received $((i1 - i0)) requests, $((r1 - r0)) RC packets"
fi

# b -> a: requests as fragments over UD, a replies over RC; with DF, b's own MTU refuses
if [[ $NODE == b ]]; then
	r0=$(nic_stat cm_rx_packets)
	large_burst 32000
	r1=$(nic_stat cm_rx_packets)
	((REPLIES >= 40)) || { log_counters; fail "only $REPLIES of 50 echoes of 32000 bytes to a answered"; }
	((r1 - r0 >= REPLIES)) || fail "a's replies did not come over RC (cm_rx_packets +$((r1 - r0)))"
	if out=$(ping -c 1 -W 2 -s 8000 -Mdo "$PEER_IB_IP" 2>&1); then
		fail "b (datagram) sent 8000 bytes with DF: $out"
	fi
	grep -Eqi "too long|mtu" <<<"$out" || fail "ping -M do -s 8000 from b: $out"
	log "b -M do -s 8000 refused: $(grep -Ei 'too long|mtu' <<<"$out" | head -n1)"
fi
barrier end
log "cm_tx_conns $(nic_stat cm_tx_conns) cm_rx_conns $(nic_stat cm_rx_conns)" \
	"cm_tx_ud_fallback $(nic_stat cm_tx_ud_fallback) cm_icmp_too_big $(nic_stat cm_icmp_too_big)"
ip -s link show ib0
