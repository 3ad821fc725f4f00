# 50 rounds of ib0 down/up on a while b sends to it, then traffic both ways.
# guests: 2
# timeout: 480
#
#   +----------------+  ping -f / ping6 from b  +----------------+
#   | a  ib0 .2.1    |<=========================| b  ib0 .2.2    |
#   |  down/up x50   |                          |                |
#   +----------------+                          +----------------+

wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

if [[ $NODE == b ]]; then
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	l4=$!
	ping -6 -q -i 0.05 -W 1 "$PEER_IB_IP6" >/dev/null 2>&1 &
	l6=$!
	wait_signal loop-done 400
	kill "$l4" "$l6" 2>/dev/null || true
else
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	l4=$!
	for round in $(seq 50); do
		ip link set ib0 down || fail "down $round"
		ip link set ib0 up || fail "up $round"
		# every other round, let the broadcast join race the next down
		((round % 2)) || wait_carrier ib0 30
	done
	kill "$l4" 2>/dev/null || true
	log "50 rounds done"
	signal loop-done
	ip -6 addr show dev ib0 | grep -q "$MY_IB_IP6" ||
		check ip -6 addr add "$MY_IB_IP6/64" dev ib0 nodad
fi
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
ping_burst ib0 "$PEER_IB_IP"
wait_for 60 ping -6 -c 1 -W 1 "$PEER_IB_IP6"
barrier done
