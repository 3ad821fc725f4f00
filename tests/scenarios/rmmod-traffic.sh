# Module unload with ib0 up and traffic in both directions, then reload.
# guests: 2
# timeout: 360
#
#   +----------------+  ping -f both ways   +----------------+
#   | a  ib0 .2.1    |<====================>| b  ib0 .2.2    |
#   |                |                      | rmmod ib_ipoib |
#   +----------------+                      +----------------+

wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
load=$!
ping -6 -q -i 0.02 -W 1 "$PEER_IB_IP6" >/dev/null 2>&1 &
load6=$!
if [[ $NODE == b ]]; then
	# act only once the load really flows
	base=$(rx_count ib0)
	wait_for 30 sh -c "[ \$(cat /sys/class/net/ib0/statistics/rx_packets) -ge $((base + 100)) ]"
	check rmmod ib_ipoib
	[[ ! -e /sys/module/ib_ipoib ]] || fail "module still loaded"
	[[ ! -e /sys/class/net/ib0 ]] || fail "ib0 survived rmmod"
	load_ipoib
	wait_ib0
	ipoib_up
	signal reloaded
else
	wait_signal reloaded 120
fi
kill "$load" "$load6" 2>/dev/null || true
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
ping_burst ib0 "$PEER_IB_IP"
barrier done
