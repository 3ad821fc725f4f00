# The soft InfiniBand fabric part of `make bench` (tests/bench/bench.sh), kept out of
# the scenario directories so that `make check` does not run it: Debian's in-tree
# ib_ipoib and ours, one after the other in the same guest, on the same softib subnet
# that opensm manages, measured the same way:
#   ping RTT h1 -> h0 (200 echoes, 10 ms apart), datagram mode
#   iperf3 TCP h1 -> h0 for 10 s, datagram mode, then connected mode at MTU 65520
#   (these in ROUNDS rounds, the drivers taking turns; the medians are reported)
#   what an idle child costs (32 children, down, then up with carrier; bench-lib.bash)
#   the time one child takes to go down while 64 siblings, and while 1, keep sending to
#   fresh multicast groups (send-only joins through opensm's SA; child-bench.py
#   --no-knob, the in-tree driver having no fault knob)
# Every figure is a "BENCH <driver>_<name> <value> <unit>" line (driver: intree, ours);
# bench.sh does the arithmetic. Nothing is asserted beyond the runs succeeding.
# guests: 1
# smp: 2
# timeout: 1500
# ipoib: no
#
#   +------------------------------------------------------------------------+
#   | a   softib.ko hcas=2, opensm (partitions 0x7fff, 0x8001-0x8040)         |
#   |     first the in-tree ib_ipoib, then ours (LAB_MODULE)                  |
#   |                                                                        |
#   |  children:  ibX (softib0 p1) + ibX.8001 ... ibX.8040, initial netns    |
#   |  then:      netns h0: ibX 198.18.3.1 -- softib0 p1 --+                 |
#   |             netns h1: ibY 198.18.3.2 -- softib1 p1 --+ switch          |
#   |             ping, iperf3 h1 -> h0 (datagram, connected MTU 65520)      |
#   +------------------------------------------------------------------------+

# shellcheck shell=bash
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"
# shellcheck source=tests/bench/bench-lib.bash
. "$LAB_REPO/tests/bench/bench-lib.bash"

: "${N_IDLE:=32}"     # children of the idle-cost figures
: "${N_CHILDREN:=64}" # CHILD_PARENT.8001 .. .8040
: "${SAMPLES:=5}"     # per down-latency case; medians
: "${RATE:=5}"        # fresh groups a second per busy sibling
: "${ROUNDS:=${LAB_BENCH_ROUNDS:-3}}" # traffic rounds, the drivers alternating; medians

# every figure under the driver's name
bench() { echo "BENCH ${SIB_DRIVER}_$1 ${*:2}"; }
# a traffic figure of this round, kept for the medians
round_fig() {
	echo "${SIB_DRIVER}_$1 ${*:2}" >>"$SIB_OSM/rounds.txt"
	log "round $ROUND: ${SIB_DRIVER}_$1 ${*:2}"
}

# Reap tasks of the in-tree driver and ours take rtnl once every ARP gc_interval; room
# for every fresh group's neighbour (as bench-children.sh)
check sysctl -q -w net.ipv4.neigh.default.gc_interval=3600 \
	net.ipv4.neigh.default.gc_thresh2=60000 net.ipv4.neigh.default.gc_thresh3=100000

# every child's P_Key, full members, before opensm's first sweep
mkdir -p "$SIB_OSM"
{
	echo 'Default=0x7fff, ipoib : ALL=full ;'
	for ((i = 1; i <= N_CHILDREN; i++)); do
		printf 'P%04x=0x%04x, ipoib : ALL=full ;\n' $((0x8000 + i)) $((0x8000 + i))
	done
} >"$SIB_OSM/partitions.conf"
sib_subnet_up 2

# children DRIVER: the idle cost and the down latency on softib0's interface
children() {
	local i rc=0 siblings out=$SIB_OSM/child-bench.$SIB_DRIVER.txt
	wait_for 10 sib_ifname softib0
	CHILD_PARENT=$(sib_ifname softib0)
	check ip link set "$CHILD_PARENT" up
	wait_for 30 sh -c "grep -qx 1 /sys/class/net/$CHILD_PARENT/carrier"
	idle_cost
	batch $((N_IDLE + 1)) "$N_CHILDREN" up >rest.batch
	check ip -batch rest.batch
	wait_carriers 1 "$N_CHILDREN"
	log "$N_CHILDREN children of $CHILD_PARENT up with carrier"
	check sysctl -q -w "net.ipv6.conf.$(child 1 | tr . /).disable_ipv6=1"
	siblings=$CHILD_PARENT
	for ((i = 2; i <= N_CHILDREN; i++)); do siblings+=,$(child "$i"); done
	sleep 3 # let addrconf on the new children settle (as bench-children.sh)
	python3 "$LAB_REPO/tests/bench/child-bench.py" latency "$(child 1)" "$(child 2)" \
		"$siblings" fastjoin:0 --no-knob --samples "$SAMPLES" --rate "$RATE" --warmup 1 \
		--timeout 60 >"$out" 2>&1 || rc=$?
	grep -v '^BENCH ' "$out"
	((rc == 0)) || fail "$SIB_DRIVER: the down-latency run failed (status $rc)"
	sed -n 's/^BENCH //p' "$out" | while read -r name rest; do bench "$name" "$rest"; done
	for ((i = N_CHILDREN; i >= 1; i--)); do printf 'link del %s\n' "$(child "$i")"; done >del.batch
	check ip -batch del.batch
	check ip link set "$CHILD_PARENT" down
}

# iperf3_run WHAT: iperf3 TCP h1 -> h0 for 10 s, "BENCH <driver>_WHAT_tcp_rx ..." lines
iperf3_run() {
	local f=$SIB_OSM/iperf3.$SIB_DRIVER.$1.json rx tx retr
	sib_in 0 iperf3 -s -1 -D -B "$(sib_hip 0)"
	wait_for 10 sib_in 0 sh -c "ss -ltn | grep -q ':5201 '"
	sib_in 1 iperf3 -c "$(sib_hip 0)" -t 10 -J >"$f" 2>&1 || { cat "$f"; fail "iperf3 ($1)"; }
	read -r rx tx retr <<<"$(iperf3_json "$f")" || fail "cannot parse iperf3's JSON ($1)"
	round_fig "$1_tcp_rx" "$rx" bit/s
	round_fig "$1_tcp_tx" "$tx" bit/s
	round_fig "$1_tcp_retransmits" "$retr" count
	log "$SIB_DRIVER $1: iperf3 TCP h1 -> h0 receiver $((rx / 1000000)) Mbit/s"
}

# traffic: ping and TCP between h1 and h0, datagram then connected mode
traffic() {
	local i f=$SIB_OSM/ping.$SIB_DRIVER.txt loss min avg med
	sib_ipoib_hosts
	for i in 0 1; do wait_for 30 sib_carrier "$i"; done
	sib_ping_pair 0 1
	round_fig ud_mtu "$(sib_in 0 cat "/sys/class/net/${SIB_IF[0]}/mtu")" bytes
	sib_in 1 ping -c 200 -i 0.01 -W 2 "$(sib_hip 0)" >"$f" 2>&1 || { cat "$f"; fail "ping"; }
	read -r loss min avg med <<<"$(ping_stats "$f")" || { cat "$f"; fail "no ping statistics"; }
	round_fig ping_rtt_avg "$avg" us
	round_fig ping_rtt_min "$min" us
	round_fig ping_rtt_median "$med" us
	round_fig ping_loss "$loss" %
	iperf3_run ud
	for i in 0 1; do
		check sib_in "$i" sh -c "echo connected >/sys/class/net/${SIB_IF[i]}/mode"
		check sib_in "$i" ip link set "${SIB_IF[i]}" mtu 65520
	done
	sib_ping_pair 0 1
	iperf3_run cm
}

for SIB_DRIVER in intree ours; do
	log "=== $SIB_DRIVER: children"
	sib_ipoib_load
	children
	sib_ipoib_unload
done
# The host's load moves a single 10 s window by tens of percent: the drivers take
# turns, round by round, and each figure is the median of its rounds.
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	for SIB_DRIVER in intree ours; do
		log "=== $SIB_DRIVER: traffic, round $ROUND of $ROUNDS"
		sib_ipoib_load
		traffic
		sib_ipoib_unload
		check ip netns del h0
		check ip netns del h1
	done
done
sort -k1,1 -k2,2g "$SIB_OSM/rounds.txt" | awk '
	function flush() { if (n) printf "BENCH %s %s %s\n", name, v[int((n + 1) / 2)], unit }
	$1 != name { flush(); name = $1; n = 0 }
	{ v[++n] = $2; unit = $3 }
	END { flush() }'
echo "BENCH rounds $ROUNDS count"
sib_opensm_stop
check rmmod softib
log "softib-bench done"
