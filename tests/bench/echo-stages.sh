# The stage breakdown of one datagram-mode echo (make bench; kept out of tests/scenarios
# so that make check does not run it): ftrace in both guests records function entries and
# events along the path of each ICMP echo request from a and of b's reply, and
# tests/bench/echo-stages.py turns the two traces into "STAGE <name> <median us>" lines
# (a table of where each round trip's time goes). Asserts no time; fails only when the
# traces hold no complete echo.
# guests: 2
# timeout: 300
#
#   +---------------------------+  ping, one echo at a time  +---------------------------+
#   | a  ib0 198.18.2.1         |============================| b  ib0 198.18.2.2         |
#   |    ftrace: xmit, post,    |  UD over RoCE v2 (rxe0)    |    ftrace: rx, NAPI,      |
#   |    completions, NAPI, rx  |----------------------------|    stack, reply xmit      |
#   |    rxe0 on eth0           |  eth0 <-> eth0 (MTU 9000)  |    rxe0 on eth0           |
#   +---------------------------+                            +---------------------------+
#
# Each guest's clock is its own: stages are measured within one guest, and the time on the
# wire (both eth0 crossings, the emulator's socket link) is a's round trip less b's turn.

# shellcheck shell=bash
T=/sys/kernel/tracing
COUNT=${ECHO_COUNT:-30}

trace_setup() {
	local f
	echo 0 >$T/tracing_on
	echo nop >$T/current_tracer
	echo mono >$T/trace_clock
	echo 2048 >$T/buffer_size_kb
	: >$T/set_ftrace_filter
	# our driver, rxe's entry points and work functions, the eth0 driver, ICMP and
	# the reply's way out
	for f in ipoib_start_xmit ipoib_send ipoib_recv_cq_event ipoib_send_cq_event \
		ipoib_recv_poll ipoib_send_poll ipoib_rx_irq_work \
		rxe_post_send rxe_sender rxe_receiver rxe_udp_encap_recv rxe_cq_post \
		start_xmit virtnet_poll icmp_rcv icmp_echo ping_rcv \
		icmp_reply icmp_push_reply ip_push_pending_frames ip_finish_output2 \
		neigh_resolve_output __dev_queue_xmit ipoib_hard_header; do
		echo "$f" >>$T/set_ftrace_filter 2>/dev/null || true
	done
	log "traced functions: $(grep -c . $T/set_ftrace_filter)"
	echo function >$T/current_tracer
	: >$T/set_event
	for f in net:net_dev_start_xmit net:netif_receive_skb napi:napi_poll \
		sched:sched_switch sched:sched_wakeup irq:softirq_entry irq:softirq_raise \
		workqueue:workqueue_execute_start; do
		echo "$f" >>$T/set_event
	done
	: >$T/trace
}

wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
# warm: neighbour and path resolved, rings in use
ping -q -c 20 -i 0.05 -W 2 "$PEER_IB_IP" >/dev/null
barrier warm

trace_setup
barrier tracing
echo 1 >$T/tracing_on
if [[ $NODE == a ]]; then
	# one echo at a time: 0.2 s apart, each well within its predecessor's gap
	check ping -q -c "$COUNT" -i 0.2 -W 2 "$PEER_IB_IP" >ping.log
	cat ping.log
	signal pinged
else
	wait_signal pinged 120
fi
echo 0 >$T/tracing_on
cp $T/trace "$LAB_SHARED/trace.$NODE"
log "trace lines: $(wc -l <"$LAB_SHARED/trace.$NODE")"
barrier saved
if [[ $NODE == a ]]; then
	python3 "$LAB_REPO/tests/bench/echo-stages.py" "$LAB_SHARED/trace.a" \
		"$LAB_SHARED/trace.b" || fail "no complete echo in the traces"
fi
barrier finished
