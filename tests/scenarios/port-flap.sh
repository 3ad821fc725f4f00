# Port flaps under traffic: eth0 under rxe0 goes down (PORT_ERR) and up
# (PORT_ACTIVE); ib0 drops its carrier, rejoins and passes traffic again
# without any user action.
# guests: 2
# timeout: 360
#
#   +----------------+   ping -f from a    +----------------+
#   | a  ib0 .2.1    |====================>| b  ib0 .2.2    |
#   |    rxe0/eth0   |                     |    rxe0/eth0   |  <- eth0 down/up x3
#   +----------------+                     +----------------+

wait_ib0
wait_for 60 grep -qx 1 /sys/class/net/ib0/carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

if [[ $NODE == a ]]; then
	# background load that keeps running across the flaps
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	load=$!
	wait_signal flaps-done 300
	kill "$load" 2>/dev/null || true
	wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
	ping_burst ib0 "$PEER_IB_IP"
	signal a-recovered
else
	for round in 1 2 3; do
		log "flap $round"
		check ip link set eth0 down
		wait_for 30 grep -qx 0 /sys/class/net/ib0/carrier
		check ip link set eth0 up
		wait_for 60 grep -qx 1 /sys/class/net/ib0/carrier
		wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
	done
	signal flaps-done
	wait_signal a-recovered 120
fi
barrier done
