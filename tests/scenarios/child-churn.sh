# Child churn: for a bounded time, a creates and deletes children through
# sysfs and netlink, brings the parent and children down and up, and adds
# and removes multicast addresses, while traffic flows both ways.  Then
# every surviving interface must pass traffic and the kernel log be clean.
# guests: 2
# timeout: 600
#
#   +--------------------------------+               +--------------------------------+
#   | a  ib0 198.18.2.1              |  ping -f both | b  ib0 198.18.2.2              |
#   |    ib0.8011-8012 (sysfs churn) |===============|    ib0.8011-8012, ib0.8021-8022|
#   |    ib0.8021-8022 (netlink)     |               |    (static, 198.18.1x.2)       |
#   |    parent/child down-up, maddr |               |                                |
#   +--------------------------------+               +--------------------------------+

DURATION=${CHURN_DURATION:-40}
pkeys=(8011 8012 8021 8022)
subnet() { echo "198.18.$((10 + $1))"; } # index into pkeys

wait_ib0
wait_carrier

if [[ $NODE == b ]]; then
	for i in "${!pkeys[@]}"; do
		c=ib0.${pkeys[i]}
		check ip link add link ib0 name "$c" type ipoib pkey "0x${pkeys[i]}"
		check ip link set "$c" up
		check ip addr add "$(subnet "$i").2/24" dev "$c"
	done
fi
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
load=$!

if [[ $NODE == a ]]; then
	hung=$LAB_SYNC/hung.a
	# t CMD...: run CMD with a deadline (60 s, scaled on slow kernels); a command that
	# never returns is the bug
	limit=$(scaled 60)
	t() {
		local rc=0
		timeout "$limit" "$@" >/dev/null 2>&1 || rc=$?
		[[ $rc != 124 ]] || echo "$*" >>"$hung"
	}
	end=$((SECONDS + DURATION))
	(while ((SECONDS < end)); do
		for p in 8011 8012; do
			t bash -c "echo 0x$p > /sys/class/net/ib0/create_child"
			t ip link set ib0.$p up
		done
		for p in 8011 8012; do
			t bash -c "echo 0x$p > /sys/class/net/ib0/delete_child"
		done
	done) &
	sysfs_loop=$!
	(while ((SECONDS < end)); do
		for p in 8021 8022; do
			t ip link add link ib0 name ib0.$p type ipoib pkey 0x$p
			t ip link set ib0.$p up
		done
		for p in 8021 8022; do t ip link del ib0.$p; done
	done) &
	nl_loop=$!
	(i=0; while ((SECONDS < end)); do
		i=$((i + 1))
		for dev in ib0 ib0.8011 ib0.8021; do
			t ip maddr add "00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:00:$(printf %02x $((i % 250)))" dev $dev
			t ip link set $dev promisc on
			t ip maddr del "00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:00:$(printf %02x $((i % 250)))" dev $dev
			t ip link set $dev promisc off
		done
	done) &
	mc_loop=$!
	(while ((SECONDS < end)); do
		t ip link set ib0 down
		t ip link set ib0 up
		t ip link set ib0.8012 down
		t ip link set ib0.8012 up
	done) &
	updown_loop=$!
	wait "$sysfs_loop" "$nl_loop" "$mc_loop" "$updown_loop" || true
	[[ ! -s $hung ]] || fail "commands that never returned: $(cat "$hung")"
	log "churn done; children now: $(ls -d /sys/class/net/ib0.* 2>/dev/null | tr '\n' ' ')"

	# survivors: make sure each pkey exists once, then everything must work
	check ip link set ib0 up
	ip -4 addr show dev ib0 | grep -q "$MY_IB_IP/" ||
		ip addr add "$MY_IB_IP/24" dev ib0 2>/dev/null || true
	for i in "${!pkeys[@]}"; do
		c=ib0.${pkeys[i]}
		[[ -e /sys/class/net/$c ]] ||
			check ip link add link ib0 name "$c" type ipoib pkey "0x${pkeys[i]}"
		check ip link set "$c" up
		ip addr add "$(subnet "$i").1/24" dev "$c" 2>/dev/null || true
	done
	signal churned
else
	wait_signal churned $((DURATION + 240))
	# a's children were re-created with new QPNs, so new hardware addresses
	for i in "${!pkeys[@]}"; do ip neigh flush dev "ib0.${pkeys[i]}"; done
fi
kill "$load" 2>/dev/null || true

wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
ping_burst ib0 "$PEER_IB_IP"
for i in "${!pkeys[@]}"; do
	c=ib0.${pkeys[i]}
	wait_carrier "$c"
	peer=$(subnet "$i").$([[ $NODE == a ]] && echo 2 || echo 1)
	wait_for 60 ping -c 1 -W 1 "$peer"
	# a re-created child is new to its peer: allow it to settle, then a
	# clean burst is required
	wait_for 60 sh -c "ping -q -c 20 -i 0.02 -W 2 $peer | grep -q ' 0% packet loss'"
done
barrier done
