# The deadlock the per-interface workqueue design exists to prevent: one
# interface goes down (flushing its own work under rtnl) while its siblings
# keep queueing work that needs rtnl (multicast restart from rx-mode and
# address-list changes, carrier-on after joins complete).  With a shared
# workqueue the down waits for a sibling's task that waits for rtnl, and
# never returns; here every down must return.
# guests: 1
# smp: 2
# timeout: 300
#
#   +-------------------------------------------------------------+
#   | a (2 vCPUs)                                                  |
#   |   ib0 (parent)    ib0.8001   ib0.8002   ib0.8003   ib0.8004  |
#   |     rx-mode churn on ib0 and ib0.8002-8004 (promisc,        |
#   |     allmulti, maddr add/del, rejoin)  | down/up loop on     |
#   |                                       | ib0.8001            |
#   |   rxe0 on eth0                                               |
#   +-------------------------------------------------------------+
#
# DEADLOCK_MODULE (set by the control scenario) loads another build first.

DURATION=${DEADLOCK_DURATION:-$(scaled 45)}
if [[ -n ${DEADLOCK_MODULE:-} ]]; then
	[[ -f $DEADLOCK_MODULE ]] || fail "no control module at $DEADLOCK_MODULE"
	LAB_MODULE=$DEADLOCK_MODULE load_ipoib
	wait_ib0
	ipoib_up
fi

wait_ib0
wait_carrier
children=(ib0.8001 ib0.8002 ib0.8003 ib0.8004)
for c in "${children[@]}"; do
	check bash -c "echo 0x${c#ib0.} > /sys/class/net/ib0/create_child"
	check ip link set "$c" up
done
for c in "${children[@]}"; do
	wait_carrier "$c"
done

# sibling churn: every change queues rtnl-needing work on that sibling
# (multicast restart from rx-mode and address-list changes, carrier-on)
churn() { # IFACE
	local dev=$1 i=0 end=$((SECONDS + DURATION))
	while ((SECONDS < end)); do
		i=$((i + 1))
		ip link set "$dev" promisc on
		ip maddr add "00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:$(printf %02x $((i % 200))):01" dev "$dev" 2>/dev/null || true
		ip link set "$dev" allmulticast on
		ip link set "$dev" promisc off
		ip maddr del "00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:$(printf %02x $((i % 200))):01" dev "$dev" 2>/dev/null || true
		ip link set "$dev" allmulticast off
		# a sibling's own down/up: its joins complete asynchronously and
		# queue carrier-on work, which needs rtnl
		if [[ $dev != ib0 ]]; then
			ip link set "$dev" down
			ip link set "$dev" up
		fi
	done
	echo "$dev: $i churn rounds"
}
pids=()
for dev in ib0 ib0.8002 ib0.8003 ib0.8004; do
	churn "$dev" &
	pids+=($!)
done

# the victim: down/up in a loop; each down must come back
# how long one down or up may take: 45 s, scaled on slow kernels
limit=$(scaled 45)
rounds=0 end=$((SECONDS + DURATION))
while ((SECONDS < end)); do
	kmsg "down ib0.8001 round $rounds"
	for op in down up; do
		# a task stuck in the kernel cannot be killed: watch it instead,
		# long enough for the hung-task detector (20 s) to speak first
		ip link set ib0.8001 "$op" &
		p=$!
		deadline=$((SECONDS + limit))
		while kill -0 "$p" 2>/dev/null; do
			((SECONDS < deadline)) ||
				fail "ip link set ib0.8001 $op did not return within ${limit}s (round $rounds)"
			sleep 0.1
		done
		wait "$p" || fail "ip link set ib0.8001 $op failed (round $rounds)"
	done
	rounds=$((rounds + 1))
done
log "ib0.8001 went down and up $rounds times"
for p in "${pids[@]}"; do wait "$p"; done
((rounds >= 3)) || fail "only $rounds down/up rounds in ${DURATION}s"

# everyone still works
for c in ib0 "${children[@]}"; do
	wait_carrier "$c"
done
for c in "${children[@]}"; do
	check bash -c "echo 0x${c#ib0.} > /sys/class/net/ib0/delete_child"
done
