# ethtool and debugfs surfaces: -i, -S (per-queue and drop counters), link
# detection, -g/-G (ring sizes per interface, changed at run time under
# traffic, invalid sizes refused with nothing changed, a size whose new
# CQ cannot be created refused with nothing changed, features such as GRO
# and GSO left as they were by a resize), -c/-C (a clear
# error: rxe has no CQ moderation); debugfs ipoib/<if>_mcg and _path,
# following a rename and removed with the interface.
# guests: 2
# timeout: 420
#
#   +----------------------+   ping both ways during -G   +----------------------+
#   | a  ib0 198.18.2.1    |==============================| b  ib0 198.18.2.2    |
#   |    ethtool -G ib0    |                              |                      |
#   +----------------------+                              +----------------------+

D=/sys/kernel/debug/ipoib
wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

# -i
info=$(ethtool -i ib0)
grep -q "^driver: ib_ipoib$" <<<"$info" || fail "ethtool -i: $info"
grep -q "^version: $(cat /sys/module/ib_ipoib/version)$" <<<"$info" || fail "ethtool -i version: $info"
grep -q "^bus-info: rxe0$" <<<"$info" || fail "ethtool -i bus-info: $info"
ethtool ib0 | grep -q "Link detected: yes" || fail "ethtool: no link detected"

# -S: the counters exist and move with traffic
stat() { ethtool -S ib0 | awk -v k="$1:" '$1 == k { print $2 }'; }
for k in rx_queue_0_packets rx_queue_0_bytes tx_queue_0_packets tx_queue_0_bytes \
	rx_short_frame rx_bad_header rx_unknown_proto rx_oversize rx_no_buffer \
	tx_no_path tx_dropped rx_dropped rx_errors tx_errors; do
	[[ -n $(stat $k) ]] || fail "ethtool -S has no $k"
done
p0=$(stat tx_queue_0_packets)
check ping -q -c 20 -i 0.02 "$PEER_IB_IP"
p1=$(stat tx_queue_0_packets)
((p1 - p0 >= 20)) || fail "tx_queue_0_packets moved by $((p1 - p0)) for 20 pings"

# debugfs: groups and paths
[[ -r $D/ib0_mcg && -r $D/ib0_path ]] || fail "no debugfs files for ib0"
grep -q "GID: ff12:401b:ffff:0000:0000:0000:ffff:ffff" $D/ib0_mcg || fail "broadcast group missing: $(cat $D/ib0_mcg)"
grep -A1 "ff12:401b:ffff:0000:0000:0000:ffff:ffff" $D/ib0_mcg | grep -q "joined, attached" ||
	fail "broadcast group not joined: $(cat $D/ib0_mcg)"
grep -q "resolved:   yes" $D/ib0_path || fail "no resolved path: $(cat $D/ib0_path)"
log "paths: $(tr '\n' ' ' <$D/ib0_path)"
barrier probed

if [[ $NODE == a ]]; then
	# -g / -G
	ethtool -g ib0 | grep -A4 "Current" | grep -q "RX:[[:space:]]*256" || fail "ethtool -g: $(ethtool -g ib0)"
	before=$(ethtool -g ib0)
	for bad in "rx 0" "rx 1" "tx 1" "rx 16384" "tx 100000" "rx-mini 8"; do
		# shellcheck disable=SC2086
		if ethtool -G ib0 $bad 2>err; then fail "ethtool -G ib0 $bad accepted"; fi
		log "ethtool -G ib0 $bad refused: $(head -n1 err)"
	done
	[[ $(ethtool -g ib0) == "$before" ]] || fail "refused -G changed the rings"
	feat0=$(ethtool -k ib0)
	grep -q "^generic-receive-offload: on$" <<<"$feat0" || fail "GRO not on to begin with: $feat0"
	echo "1 12 0 ib0" >$D/fault/cq_create
	if ethtool -G ib0 rx 1024 2>err; then fail "ethtool -G accepted with its CQ refused"; fi
	log "ethtool -G ib0 rx 1024 with the CQ refused: $(head -n1 err)"
	[[ $(awk '{ print $1 }' $D/fault/cq_create) == 0 ]] || fail "cq_create fault not taken"
	[[ $(ethtool -g ib0) == "$before" ]] || fail "refused -G (no CQ) changed the rings"
	[[ $(ethtool -k ib0) == "$feat0" ]] || fail "refused -G changed features: $(ethtool -k ib0)"
	wait_carrier
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	load=$!
	check ethtool -G ib0 rx 512 tx 64
	ethtool -g ib0 | grep -A4 "Current" | grep -q "RX:[[:space:]]*512" || fail "rx ring not 512"
	ethtool -g ib0 | grep -A4 "Current" | grep -q "TX:[[:space:]]*64" || fail "tx ring not 64"
	check ethtool -G ib0 rx 100 # rounded up to a power of two
	ethtool -g ib0 | grep -A4 "Current" | grep -q "RX:[[:space:]]*128" || fail "rx 100 not rounded to 128"
	kill "$load" 2>/dev/null || true
	[[ -e /sys/class/net/ib0 ]] || fail "ib0 lost by a ring change"
	[[ $(ethtool -k ib0) == "$feat0" ]] ||
		fail "ethtool -G changed features: $(diff <(echo "$feat0") <(ethtool -k ib0) | grep '^[<>]')"
	wait_carrier
	signal resized
	wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
	ping_burst ib0 "$PEER_IB_IP"

	# -c / -C: rxe has no CQ moderation
	check ethtool -c ib0
	if ethtool -C ib0 rx-usecs 10 2>err; then
		log "the device supports CQ moderation"
	else
		log "ethtool -C refused: $(cat err)"
	fi

	# debugfs follows a rename, and goes with the interface
	check ip link add link ib0 name ib0.8001 type ipoib pkey 0x8001
	[[ -e $D/ib0.8001_mcg ]] || fail "no debugfs for ib0.8001"
	check ip link set ib0.8001 name ipoib-test
	[[ -e $D/ipoib-test_mcg && ! -e $D/ib0.8001_mcg ]] || fail "debugfs did not follow the rename: $(ls $D)"
	check ip link del ipoib-test
	[[ ! -e $D/ipoib-test_mcg && ! -e $D/ipoib-test_path ]] || fail "debugfs files left: $(ls $D)"
else
	wait_signal resized 180
	wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
fi
barrier done
