# Port flaps under traffic: eth0 under rxe0 goes down (PORT_ERR) and up
# (PORT_ACTIVE); ib0 drops its carrier, rejoins and passes traffic again
# without any user action.  The flush tasks these events queue (PORT_ERR,
# PORT_ACTIVE, and GID_CHANGE as eth0's addresses come and go) run one at
# a time: traced on b, no flush task starts before the previous one ended.
# Before the flaps, two different flush tasks are queued back to back: an
# address added to eth0 (GID_CHANGE: ib0's GID flush, held for 1 s by the
# flush fault site before it takes rtnl), then eth0 down (PORT_ERR: the
# normal flush).  On a flush queue that is not ordered the second would start
# beside the first.
# guests: 2
# timeout: 360
#
#   +----------------+   ping -f from a    +----------------+
#   | a  ib0 .2.1    |====================>| b  ib0 .2.2    |
#   |    rxe0/eth0   |                     |    rxe0/eth0   |  <- eth0 down/up x3
#   +----------------+                     +----------------+

wait_ib0
wait_carrier
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
	# trace when the flush tasks start and end
	T=/sys/kernel/tracing
	[[ -e $T/trace ]] || mount -t tracefs nodev $T
	filter=$(awk '$3 ~ /^ipoib_flush_(gid|light|normal|heavy)_work$/ { printf "%sfunction == 0x%s", sep, $1; sep = " || " }' /proc/kallsyms)
	[[ $filter == *"||"* ]] || fail "flush task addresses not found: $filter"
	for e in workqueue_execute_start workqueue_execute_end; do
		echo "$filter" >$T/events/workqueue/$e/filter
		echo 1 >$T/events/workqueue/$e/enable
	done
	echo >$T/trace
	log "flap 0: GID_CHANGE then PORT_ERR, the first flush held for 1 s"
	check bash -c "echo '1 0 1000 ib0' > /sys/kernel/debug/ipoib/fault/flush"
	check ip addr add 198.18.99.2/32 dev eth0
	check ip link set eth0 down
	wait_for 30 grep -qx 0 /sys/class/net/ib0/carrier
	check ip link set eth0 up
	check ip addr del 198.18.99.2/32 dev eth0
	wait_carrier
	wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
	for round in 1 2 3; do
		log "flap $round"
		check ip link set eth0 down
		wait_for 30 grep -qx 0 /sys/class/net/ib0/carrier
		check ip link set eth0 up
		wait_carrier
		wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
	done
	signal flaps-done
	for e in workqueue_execute_start workqueue_execute_end; do
		echo 0 >$T/events/workqueue/$e/enable
	done
	log "flush fault site: $(cat /sys/kernel/debug/ipoib/fault/flush)"
	grep -q ' injected 1' /sys/kernel/debug/ipoib/fault/flush ||
		fail "no flush task took the delay"
	grep -E "workqueue_execute_(start|end)" $T/trace >flush.trace || true
	cp flush.trace "$LAB_SHARED/b.flush.trace" 2>/dev/null || true
	log "flush tasks: $(grep -c workqueue_execute_start flush.trace) started"
	(($(grep -c workqueue_execute_start flush.trace) >= 6)) || fail "flush tasks not traced: $(cat flush.trace)"
	awk '/workqueue_execute_start/ { if (++n > 1) { print "overlap: " $0; bad = 1 } }
	     /workqueue_execute_end/ { n-- }
	     END { exit bad }' flush.trace || fail "flush tasks ran concurrently: $(cat flush.trace)"
	wait_signal a-recovered 120
fi
barrier done
