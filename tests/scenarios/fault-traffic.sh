# Fault injection under traffic: path resolutions that fail are retried
# until the peer is reachable; receive-buffer allocations that fail under a
# ping flood drop exactly those frames (counted) and traffic resumes; posts
# of receive buffers that fail (a poll's batch, after its frames went up)
# empty ring slots, which the refill posts again (counted in rx_refilled):
# more faults than the ring has slots are all taken and traffic resumes; a
# fatal error of the UD QP (moved to the error state, QP_FATAL raised) or of a CQ
# (CQ_ERR) makes the interface reopen itself, once, with one log line and
# the error_recoveries counter, and traffic resumes without any user action.
# guests: 2
# timeout: 360
#
#   +----------------------+   ping (path faults on a)   +----------------------+
#   | a  ib0 198.18.2.1    |============================>| b  ib0 198.18.2.2    |
#   |                      |   ping -f (rx_alloc on b)   |                      |
#   |                      |   ping -f (post_recv on b)  |                      |
#   |  QP/CQ errors, ping  |============================>|                      |
#   +----------------------+                             +----------------------+

F=/sys/kernel/debug/ipoib/fault
wait_ib0
wait_carrier
barrier ready

if [[ $NODE == a ]]; then
	echo "3 113" >$F/path_resolve
	wait_for 90 ping -c 1 -W 1 "$PEER_IB_IP"
	[[ $(awk '{ print $5 }' $F/path_resolve) == 3 ]] || fail "path faults: $(cat $F/path_resolve)"
	signal path-done
	wait_signal armed 60
	ping -q -c 400 -i 0.005 -W 1 "$PEER_IB_IP" >flood.log 2>&1 || true
	cat flood.log
	signal flood-done
	wait_signal checked 120
	# the flood's drops may have hit ARP probes too: let ARP settle, then
	# a clean burst is required
	wait_for 60 sh -c "ping -q -c 50 -i 0.02 -W 2 $PEER_IB_IP | grep -q ' 0% packet loss'"
	signal clean
	wait_signal armed2 60
	ping -q -c 400 -i 0.005 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 || true
	signal flood2-done
	wait_signal refilled 120
	wait_for 60 sh -c "ping -q -c 50 -i 0.02 -W 2 $PEER_IB_IP | grep -q ' 0% packet loss'"

	# a fatal QP error, then a CQ error: each reopens ib0 once, by itself
	r0=$(nic_stat error_recoveries) || fail "no error_recoveries counter"
	n0=$(dmesg | grep -c "ib0: .*reopening the interface" || true)
	for what in qp recv_cq; do
		r0=$((r0 + 1))
		n0=$((n0 + 1))
		check sh -c "echo 'ib0 $what' >$F/transport_error"
		# traffic comes back by itself
		wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
		wait_for 60 nic_eq error_recoveries $r0
		wait_carrier
		ping_burst ib0 "$PEER_IB_IP"
		nic_eq error_recoveries $r0 || fail "$what error: $(nic_stat error_recoveries) recoveries, want $r0"
		n=$(dmesg | grep -c "ib0: .*reopening the interface" || true)
		((n == n0)) || fail "$what error: $n reopen log lines, want $n0"
		log "$what error: $(dmesg | grep "ib0: .*reopening the interface" | tail -n1)"
	done
	if echo "nosuchif qp" >$F/transport_error 2>/dev/null; then fail "transport_error took an unknown interface"; fi
else
	wait_signal path-done 120
	drop0=$(cat /sys/class/net/ib0/statistics/rx_dropped)
	echo "100 12" >$F/rx_alloc
	signal armed
	wait_signal flood-done 120
	drop1=$(cat /sys/class/net/ib0/statistics/rx_dropped)
	log "rx_dropped grew by $((drop1 - drop0)); knob: $(cat $F/rx_alloc)"
	[[ $(awk '{ print $1 }' $F/rx_alloc) == 0 ]] || fail "rx_alloc faults not all consumed"
	((drop1 - drop0 >= 100)) || fail "only $((drop1 - drop0)) drops counted for 100 failed refills"
	signal checked
	# 600 failed posts: more than the 256 slots, so the ring empties and
	# only the refill can take the rest
	wait_signal clean 120
	ref0=$(nic_stat rx_refilled)
	echo "600 105 0 ib0" >$F/post_recv
	signal armed2
	wait_signal flood2-done 120
	faults_left_none() { [[ $(awk '{ print $1 }' $F/post_recv) == 0 ]]; }
	wait_for 60 faults_left_none
	log "post_recv: $(cat $F/post_recv); rx_refilled +$(($(nic_stat rx_refilled) - ref0))"
	nic_ge rx_refilled $((ref0 + 1)) || fail "no slot refilled"
	signal refilled
fi
barrier done
