# Datagram mode between two guests: carrier, MTU, IPv4/IPv6 ping up to the
# MTU, ff02::1, counters that match the traffic, iperf3 TCP and UDP.
# guests: 2
# timeout: 420
#
#   +------------------------+                     +------------------------+
#   | a                      |                     | b                      |
#   | ib0 198.18.2.1/24      |  UD over RoCE v2    | ib0 198.18.2.2/24      |
#   |     2001:db8:2::1/64   |=====================|     2001:db8:2::2/64   |
#   | rxe0 on eth0 (MTU 9000)|   eth0 <-> eth0     | rxe0 on eth0 (MTU 9000)|
#   +------------------------+                     +------------------------+

wait_ib0
wait_carrier
log "ib0 $(cat /sys/class/net/ib0/address) mtu $(cat /sys/class/net/ib0/mtu)"

# MTU: the port's active IB MTU minus the 4-byte encapsulation header.
ib_mtu=$(ibv_devinfo -d rxe0 -i 1 | awk '/active_mtu/ { print $2 }')
mtu=$(cat /sys/class/net/ib0/mtu)
[[ $mtu -eq $((ib_mtu - 4)) ]] || fail "ib0 MTU $mtu, port IB MTU $ib_mtu"
if ip link set ib0 mtu $((mtu + 1)) 2>/dev/null; then
	fail "MTU $((mtu + 1)) above the datagram limit was accepted"
fi
[[ $(cat /sys/class/net/ib0/mtu) -eq $mtu ]] || fail "refused MTU change altered the MTU"
check ip link set ib0 mtu 2044
[[ $(cat /sys/class/net/ib0/mtu) -eq 2044 ]] || fail "MTU could not be lowered"
check ip link set ib0 mtu "$mtu"

# Resolution both ways, then a controlled burst whose counters we compare.
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
wait_for 60 ping -6 -c 1 -W 1 "$PEER_IB_IP6"
barrier resolved

pings() { # COUNT SIZE ADDR [ping options]
	local out count=$1 size=$2 addr=$3
	shift 3
	out=$(ping -q -c "$count" -i 0.01 -W 2 -s "$size" -M do "$@" "$addr") || {
		ip -s -s link show ib0
		fail "ping -s $size $addr: $out"
	}
	grep -q ' 0% packet loss' <<<"$out" || fail "ping -s $size $addr lost packets: $out"
	! grep -q duplicates <<<"$out" || fail "ping -s $size $addr saw duplicates: $out"
	log "ping -s $size $addr: $(tail -n1 <<<"$out")"
}

if [[ $NODE == a ]]; then
	wait_signal counting 60
	tx0=$(tx_count ib0)
	pings 200 56 "$PEER_IB_IP"
	tx1=$(tx_count ib0)
	echo "$((tx1 - tx0))" >"$LAB_SYNC/a.sent"
	signal burst-done
	wait_signal burst-counted 60
	pings 200 $((mtu - 28)) "$PEER_IB_IP"
	pings 200 56 "$PEER_IB_IP6" -6
	pings 200 $((mtu - 48)) "$PEER_IB_IP6" -6
	# every IPv6 node on the link answers ff02::1
	out=$(ping -6 -c 3 -W 2 "ff02::1%ib0")
	grep -q "from fe80::" <<<"$out" || fail "no answer to ff02::1: $out"
else
	rx0=$(rx_count ib0)
	signal counting
	wait_signal burst-done 120
	rx1=$(rx_count ib0)
	sent=$(cat "$LAB_SYNC/a.sent")
	got=$((rx1 - rx0))
	log "a sent $sent packets during the burst; b received $got"
	signal burst-counted
	((sent >= 200 && got >= 200)) || fail "burst counters too low: sent $sent got $got"
	# a few ARP/ND/MLD packets may cross in the window, not more
	((got - sent <= 10 && sent - got <= 10)) || fail "counters disagree: sent $sent got $got"
fi
barrier pings-done

# iperf3, TCP then UDP, b serving.
if [[ $NODE == b ]]; then
	iperf3 -s -p 5201 >iperf-s.log 2>&1 &
	wait_for 30 sh -c "ss -Hltn 'sport = :5201' | grep -q ."
	signal iperf-ready
	wait_signal iperf-done 240
	kill %1 2>/dev/null || true
else
	wait_signal iperf-ready 60
	iperf3 -c "$PEER_IB_IP" -p 5201 -t 3 -J >tcp.json || { cat tcp.json; fail "iperf3 TCP failed"; }
	bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' tcp.json)
	log "iperf3 TCP: $((bps / 1000000)) Mbit/s"
	((bps > 0)) || fail "iperf3 TCP moved nothing"
	iperf3 -c "$PEER_IB_IP" -p 5201 -u -b 20M -l 1400 -t 3 -J >udp.json || { cat udp.json; fail "iperf3 UDP failed"; }
	res=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["end"]["sum"]; print(int(s["bits_per_second"]), s["lost_percent"])' udp.json)
	read -r bps lost <<<"$res"
	log "iperf3 UDP: $((bps / 1000000)) Mbit/s, ${lost}% lost"
	((bps > 0)) || fail "iperf3 UDP moved nothing"
	signal iperf-done
fi
barrier done
ip -s link show ib0
