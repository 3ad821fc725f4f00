# The deadlock the per-interface workqueue design exists to prevent, on the softib
# subnet: one P_Key child goes down (flushing its own work under rtnl) while the
# parent and the other children keep queueing work that needs rtnl (multicast
# restart from rx-mode and address-list changes, carrier-on after their joins,
# which go through opensm's SA, complete). With a shared workqueue the down waits
# for a sibling's task that waits for rtnl, and never returns; here every down
# must return. The children's P_Keys come from opensm's partitions.conf.
# guests: 1
# smp: 2
# timeout: 300
# ipoib: no
#
#   +---------------------------------------------------------------+
#   | a (2 vCPUs)   softib.ko hcas=1, opensm on softib0 port 1       |
#   |                                                               |
#   |   ibX (parent)   ibX.8001   ibX.8002   ibX.8003   ibX.8004     |
#   |     rx-mode churn on ibX and ibX.8002-8004 (promisc,          |
#   |     allmulti, maddr add/del, down/up) | down/up loop on       |
#   |                                       | ibX.8001              |
#   |   softib0 port 1 -- switch  (partitions 0x8001-0x8004, full)  |
#   +---------------------------------------------------------------+
#
# DEADLOCK_MODULE (set by softib-ours-deadlock-control.sh) loads another build.

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

DURATION=${DEADLOCK_DURATION:-$(scaled 45)}
if [[ -n ${DEADLOCK_MODULE:-} ]]; then
	[[ -f $DEADLOCK_MODULE ]] || fail "no control module at $DEADLOCK_MODULE"
	LAB_MODULE=$DEADLOCK_MODULE
fi

pkeys=(8001 8002 8003 8004)
mkdir -p "$SIB_OSM"
{
	echo 'Default=0x7fff, ipoib : ALL=full ;'
	for p in "${pkeys[@]}"; do echo "P$p=0x$p, ipoib : ALL=full ;"; done
} >"$SIB_OSM/partitions.conf"
sib_subnet_up 1
sib_ipoib_load
wait_for 10 sib_ifname softib0
par=$(sib_ifname softib0)
check ip link set "$par" up
wait_carrier "$par"
children=()
for p in "${pkeys[@]}"; do
	children+=("$par.$p")
	check bash -c "echo 0x$p > /sys/class/net/$par/create_child"
	check ip link set "$par.$p" up
done
for c in "${children[@]}"; do
	wait_carrier "$c"
done
log "$par and ${children[*]} joined their broadcast groups through opensm"

# sibling churn: every change queues rtnl-needing work on that sibling
# (multicast restart from rx-mode and address-list changes, carrier-on)
churn() { # IFACE
	local dev=$1 i=0 end=$((SECONDS + DURATION)) m
	while ((SECONDS < end)); do
		i=$((i + 1))
		m="00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:$(printf %02x $((i % 200))):01"
		ip link set "$dev" promisc on
		ip maddr add "$m" dev "$dev" 2>/dev/null || true
		ip link set "$dev" allmulticast on
		ip link set "$dev" promisc off
		ip maddr del "$m" dev "$dev" 2>/dev/null || true
		ip link set "$dev" allmulticast off
		# a sibling's own down/up: its joins complete asynchronously and
		# queue carrier-on work, which needs rtnl
		if [[ $dev != "$par" ]]; then
			ip link set "$dev" down
			ip link set "$dev" up
		fi
	done
	echo "$dev: $i churn rounds"
}
pids=()
for dev in "$par" "${children[@]:1}"; do
	churn "$dev" &
	pids+=($!)
done

# the victim: down/up in a loop; each down must come back
# how long one down or up may take: 45 s, scaled on slow kernels
victim=${children[0]}
limit=$(scaled 45)
rounds=0 end=$((SECONDS + DURATION))
while ((SECONDS < end)); do
	kmsg "down $victim round $rounds"
	for op in down up; do
		# a task stuck in the kernel cannot be killed: watch it instead,
		# long enough for the hung-task detector (20 s) to speak first
		ip link set "$victim" "$op" &
		p=$!
		deadline=$((SECONDS + limit))
		while kill -0 "$p" 2>/dev/null; do
			((SECONDS < deadline)) ||
				fail "ip link set $victim $op did not return within ${limit}s (round $rounds)"
			sleep 0.1
		done
		wait "$p" || fail "ip link set $victim $op failed (round $rounds)"
	done
	rounds=$((rounds + 1))
done
log "$victim went down and up $rounds times"
for p in "${pids[@]}"; do wait "$p"; done
((rounds >= 3)) || fail "only $rounds down/up rounds in ${DURATION}s"

# everyone still works: every interface rejoins (opensm's SA answers)
for c in "$par" "${children[@]}"; do
	wait_carrier "$c"
done
for c in "${children[@]}"; do
	check bash -c "echo 0x${c##*.} > /sys/class/net/$par/delete_child"
done
sib_teardown
