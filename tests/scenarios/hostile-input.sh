# Hostile input: a user-space UD QP on a sends malformed and random IPoIB frames straight
# to b's IPoIB QP; b's driver must count them in the right counters and keep working.
# guests: 2
# timeout: 480
#
#   +---------------------------+                         +---------------------------+
#   | a                         |   eth0 198.18.1.0/24    | b                         |
#   | eth0 .1.1 -- rxe0 (RoCEv2)|-------------------------| rxe0 (RoCEv2) -- eth0 .1.2|
#   |                           |                         |                           |
#   | ud_inject (user UD QP) ------ malformed, fuzz ------> ib0 QP (qkey 0x0b1b)       |
#   |   -a <b's ib0 address>    |   (UD over RoCE v2)     |   counts rx_length_errors,|
#   |                           |                         |   rx_nohandler,           |
#   |                           |                         |   rx_frame_errors         |
#   | ib0 198.18.2.1/24 <------------- ping both ways ----> ib0 198.18.2.2/24          |
#   +---------------------------+                         +---------------------------+
#
# Sequence: b waits for ib0 carrier and a ping to a, publishes its ib0 hardware address
# (sync/ib0-address.b) and snapshots its counters; a sends the fixed malformed set once;
# b checks the counters grew (before the fuzz starts); a sends FUZZ_COUNT random frames
# (bursts included); b checks ib0 still works; both ping each other with 0% loss.
# The kernel log is checked by the runner. ud_inject is built on the host beforehand
# (tests/tools/build-tools.sh); a missing binary fails the scenario.

INJECT=$LAB_REPO/build/tools/ud_inject
FUZZ_COUNT=2000
FUZZ_SEED=$(date +%s) # the seed is logged; set a fixed number here to replay a run
IB_STATS=(rx_packets rx_errors rx_dropped rx_length_errors rx_frame_errors rx_nohandler)

stat_of() { cat "/sys/class/net/$IB_IF/statistics/$1"; }
declare -A BASE
snapshot() {
	local s
	for s in "${IB_STATS[@]}"; do BASE[$s]=$(stat_of "$s"); done
}
delta() { echo $(($(stat_of "$1") - BASE[$1])); }
show_deltas() { # TITLE
	local s line=
	for s in "${IB_STATS[@]}"; do line+=" $s=+$(delta "$s")"; done
	log "$1:$line"
}
show_stats() {
	ip -s -s link show "$IB_IF"
	ethtool -S "$IB_IF" 2>/dev/null || true
	rdma statistic show link rxe0/1 2>/dev/null || true # rxe's own drop counters
}
carrier_up() { [[ $(cat "/sys/class/net/$IB_IF/carrier" 2>/dev/null) == 1 ]]; }

# ping_clean DEST: 20 pings over ib0, every one answered.
ping_clean() {
	local out
	log "+ ping -c 20 -i 0.05 -W 2 -I $IB_IF $1"
	out=$(ping -c 20 -i 0.05 -W 2 -I "$IB_IF" "$1" 2>&1) || true
	echo "$out"
	grep -q ' 0% packet loss' <<<"$out" || fail "ping $1 over $IB_IF lost packets after the fuzz"
}

# Minimum growth of each counter after one malformed set (see ud_inject.c): 4 short
# frames, 2 unknown ethertypes, 4 bad headers.
declare -A MALFORMED_MIN=(
	[rx_length_errors]=4 [rx_nohandler]=2 [rx_frame_errors]=4
	[rx_errors]=8 [rx_dropped]=10
)
malformed_counted() {
	local s
	for s in "${!MALFORMED_MIN[@]}"; do
		(($(delta "$s") >= MALFORMED_MIN[$s])) || return 1
	done
}

# Frames b's driver saw since the snapshot: each ends in rx_packets or rx_dropped (an
# upper bound: a frame the driver delivers and the stack then drops counts in both).
seen() { echo $(($(delta rx_packets) + $(delta rx_dropped))); }

if [[ $NODE == a ]]; then
	[[ -x $INJECT ]] || fail "$INJECT is missing: build it on the host (tests/tools/build-tools.sh)"
	wait_ib0 30
	# Send from the GID index that our own ib0 uses (same GID type as b's).
	mygid=$(cut -d: -f5- "/sys/class/net/$IB_IF/address" | sed 's/\(..\):\(..\)/\1\2/g')
	sgid=0
	for f in /sys/class/infiniband/rxe0/ports/1/gids/*; do
		[[ $(cat "$f" 2>/dev/null) == "$mygid" ]] && { sgid=${f##*/}; break; }
	done
	log "own GID $mygid is rxe0 GID index $sgid"

	wait_signal b-ready 180
	peer_addr=$(cat "$LAB_SYNC/ib0-address.b")
	log "b's $IB_IF address: $peer_addr"

	check "$INJECT" -d rxe0 -g "$sgid" -a "$peer_addr" -m malformed -n 1 >malformed.log
	cat malformed.log
	grep -qx 'sent short 4' malformed.log || fail "ud_inject did not report 4 short frames"
	signal malformed-sent
	wait_signal malformed-checked 60

	check "$INJECT" -d rxe0 -g "$sgid" -a "$peer_addr" -m fuzz -n "$FUZZ_COUNT" \
		-s "$FUZZ_SEED" >fuzz.log
	cat fuzz.log
	grep -qx "sent fuzz $FUZZ_COUNT" fuzz.log || fail "ud_inject did not report $FUZZ_COUNT fuzz frames"
	signal fuzz-sent

	wait_signal b-settled 120
	ping_clean "$PEER_IB_IP"
	signal a-pinged
	wait_signal b-pinged 60
else
	wait_ib0 30
	wait_for 60 carrier_up
	wait_for 90 ping -c 1 -W 1 -I "$IB_IF" "$PEER_IB_IP"
	log "$IB_IF is up and reaches a"
	show_stats
	snapshot
	addr=$(cat "/sys/class/net/$IB_IF/address")
	echo "$addr" >"$LAB_SYNC/ib0-address.b.tmp"
	mv "$LAB_SYNC/ib0-address.b.tmp" "$LAB_SYNC/ib0-address.b"
	log "published $IB_IF address $addr"
	signal b-ready

	# The malformed set: wait (bounded) for all of it to be counted, then judge.
	wait_signal malformed-sent 120
	for ((i = 0; i < 40; i++)); do
		malformed_counted && break
		sleep 0.5
	done
	show_deltas "after the malformed set"
	show_stats
	bad=()
	for s in rx_length_errors rx_nohandler rx_frame_errors rx_errors rx_dropped; do
		d=$(delta "$s")
		((d >= MALFORMED_MIN[$s])) || bad+=("$s +$d (want >= ${MALFORMED_MIN[$s]})")
	done
	((${#bad[@]} == 0)) || fail "malformed frames not counted: ${bad[*]}"
	log "malformed frames counted as expected"

	# The fuzz: let b's receive path drain, then check the interface still works.
	snapshot
	signal malformed-checked
	wait_signal fuzz-sent 300
	prev=-1
	for ((i = 0; i < 30; i++)); do # settled: nothing new for one second
		now=$(seen)
		((now == prev)) && break
		prev=$now
		sleep 1
	done
	show_deltas "after the fuzz ($FUZZ_COUNT frames sent)"
	show_stats
	log "rx_packets + rx_dropped grew by $(seen) for $FUZZ_COUNT fuzz frames sent"
	(($(seen) >= FUZZ_COUNT / 10)) || fail "fewer than 1 in 10 fuzz frames reached $IB_IF"
	carrier_up || fail "$IB_IF lost its carrier after the fuzz"
	check test -d "/sys/class/net/$IB_IF"
	signal b-settled

	wait_signal a-pinged 60
	ping_clean "$PEER_IB_IP"
	show_deltas "at the end"
	signal b-pinged
fi
barrier end
