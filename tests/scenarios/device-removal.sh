# `rdma link delete rxe0` under traffic removes ib0 synchronously; adding
# the device back creates a working interface again.
# guests: 2
# timeout: 360
#
#   +----------------+  ping -f both ways   +----------------+
#   | a  ib0 .2.1    |<====================>| b  ib0 .2.2    |
#   |                |                      | rdma link del  |
#   +----------------+                      +----------------+

wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
load=$!
if [[ $NODE == b ]]; then
	# act only once the load really flows
	base=$(rx_count ib0)
	wait_for 30 sh -c "[ \$(cat /sys/class/net/ib0/statistics/rx_packets) -ge $((base + 100)) ]"
	check rdma link delete rxe0
	[[ ! -e /sys/class/net/ib0 ]] || fail "ib0 still exists after device removal"
	check rdma link add rxe0 type rxe netdev eth0
	wait_for 30 port_active rxe0 1
	wait_ib0
	ipoib_up
	signal re-added
else
	wait_signal re-added 120
fi
kill "$load" 2>/dev/null || true
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
ping_burst ib0 "$PEER_IB_IP"
barrier done
