# The benchmark behind `make bench` (tests/bench/bench.sh), kept out of tests/scenarios
# so that `make check` does not run it: IP over ib0 against raw verbs (perftest) on the
# same soft-RoCE link, side by side in one run: datagram mode against UD verbs, then
# (both guests switched to connected mode, MTU 65520) TCP over ib0 against RC verbs
# (ib_send_bw's default connection type). It asserts no figure, it only reports: each
# measurement prints "BENCH <name> <value> <unit>" and bench.sh does the arithmetic. A
# build whose `mode` refuses connected as not supported reports "BENCH cm_unsupported"
# instead of the connected-mode figures; any other failure to switch fails the run.
# guests: 2
# timeout: 600
#
#   +---------------------------+  iperf3 TCP, ping   +---------------------------+
#   | a  ib0 198.18.2.1 (client)|=====================| b  ib0 198.18.2.2 (server)|
#   |    rxe0 on eth0 198.18.1.1|  ib_send_bw/_lat UD | rxe0 on eth0 198.18.1.2   |
#   |    (perftest client)      |  ib_send_bw RC      |    (perftest server)      |
#   |    then connected mode    |---------------------|    then connected mode    |
#   +---------------------------+  RoCE v2, MTU 9000  +---------------------------+
#
# Servers run on b, clients on a. Each pair is sequenced through the shared directory:
# b starts its server, polls until it listens on its TCP port (perftest exchanges its QP
# numbers over TCP, iperf3 has its control port), raises TAG-ready; a waits for that.

# shellcheck shell=bash
# shellcheck source=tests/bench/bench-lib.bash
. "$LAB_REPO/tests/bench/bench-lib.bash"

# GID index of this node's IPv4-mapped RoCE v2 GID (::ffff:MY_ETH_IP), which the peer
# reaches over eth0: index 1 on rxe, looked up rather than assumed.
v4_gid_index() {
	local want g i o1 o2 o3 o4
	IFS=. read -r o1 o2 o3 o4 <<<"$MY_ETH_IP"
	want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' "$o1" "$o2" "$o3" "$o4")
	for g in /sys/class/infiniband/rxe0/ports/1/gids/*; do
		i=${g##*/}
		[[ $(<"$g") == "$want" ]] || continue
		[[ $(cat "/sys/class/infiniband/rxe0/ports/1/gid_attrs/types/$i" 2>/dev/null) == "RoCE v2" ]] || continue
		echo "$i"
		return 0
	done
	return 1
}

# With OPTIONAL=1 in their environment, serve and ask report a failing command and
# return 1 instead of failing the scenario.
OPTIONAL=0

# serve TAG PORT CMD...: (b) run the server CMD (output in the shared directory as
# TAG.b.log), signal TAG-ready once it listens on TCP PORT, wait for it to finish.
serve() {
	local tag=$1 port=$2 pid
	shift 2
	log "+ $*"
	"$@" >"$LAB_SHARED/$tag.b.log" 2>&1 &
	pid=$!
	# until it listens (or has died: no point waiting then)
	poll 60 sh -c "ss -Hltn 'sport = :$port' | grep -q . || ! kill -0 $pid" || true
	if ! ss -Hltn "sport = :$port" | grep -q .; then
		kill "$pid" 2>/dev/null || true
		cat "$LAB_SHARED/$tag.b.log"
		fail "$tag server is not listening on port $port"
	fi
	signal "$tag-ready"
	wait "$pid" && return 0
	cat "$LAB_SHARED/$tag.b.log"
	((OPTIONAL)) || fail "$tag server failed"
	log "warning: $tag server failed (optional figure)"
	return 1
}

# ask TAG CMD...: (a) wait for TAG-ready, then run the client CMD (stdout in TAG.a.log,
# stderr in TAG.a.err).
ask() {
	local tag=$1 f=$LAB_SHARED/$1.a
	shift
	wait_signal "$tag-ready" 180
	log "+ $*"
	"$@" >"$f.log" 2>"$f.err" && return 0
	cat "$f.log" "$f.err"
	((OPTIONAL)) || fail "$tag client failed"
	log "warning: $tag client failed (optional figure)"
	return 1
}

# bench_perftest NAME TAG N UNIT: report field N of the result row (the line after the
# "#bytes" header) of this node's TAG log as NAME.
bench_perftest() {
	local v
	v=$(awk -v n="$3" '/#bytes/ { getline; print $n; exit }' "$LAB_SHARED/$2.$NODE.log")
	[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || { cat "$LAB_SHARED/$2.$NODE.log"; fail "no result in the $2 output"; }
	bench "$1" "$v" "$4"
}

# bench_iperf3 TAG PREFIX [WHAT]: (a) report PREFIXiperf3_tcp_rx, _tx (bit/s, receiver and
# sender) and _retransmits from the iperf3 -J output in TAG.a.log; WHAT names the run in
# the failure ("cannot parse the WHATiperf3 JSON").
bench_iperf3() {
	local res rx tx retr
	res=$(iperf3_json "$LAB_SHARED/$1.a.log") || fail "cannot parse the ${3:-}iperf3 JSON"
	read -r rx tx retr <<<"$res"
	bench "${2}iperf3_tcp_rx" "$rx" bit/s
	bench "${2}iperf3_tcp_tx" "$tx" bit/s
	bench "${2}iperf3_tcp_retransmits" "$retr" count
}

# ping_run IF DEST: (a) 200 echo requests 10 ms apart to DEST (over IF; output in
# ping-IF.a.log); sets loss, min, avg and med (ping_stats).
ping_run() {
	local out=$LAB_SHARED/ping-$1.a.log st
	ping -c 200 -i 0.01 -W 2 "$2" >"$out" 2>&1 || { cat "$out"; fail "ping over $1 failed"; }
	st=$(ping_stats "$out") || { cat "$out"; fail "no ping statistics"; }
	read -r loss min avg med <<<"$st"
}

wait_ib0
wait_carrier
wait_for 30 v4_gid_index
GID=$(v4_gid_index)
# UD messages as large as the path MTU (perftest refuses more): the port's active MTU,
# which is also ib0's MTU plus the 4-byte IPoIB header, i.e. a full-size IPoIB datagram.
UD_SIZE=$(ibv_devinfo -d rxe0 -i 1 | awk '/active_mtu/ { print $2 }')
# Latency message: what a default ping puts in one UD message (56 data + 8 ICMP + 20 IPv4
# + 4 IPoIB header).
LAT_SIZE=88
log "GID index $GID, UD message $UD_SIZE bytes, ib0 mtu $(cat /sys/class/net/ib0/mtu), $(nproc) vCPU(s)"
bench "${NODE}_vcpus" "$(nproc)" count
bench "${NODE}_ib0_mtu" "$(cat /sys/class/net/ib0/mtu)" bytes
wait_for 60 ping -c 1 -W 1 "$PEER_ETH_IP"
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier resolved

PT=(-d rxe0 -i 1 -c UD -x "$GID" -F) # common perftest options
BWEV_N=50000                          # messages in the optional ib_send_bw -e run
if [[ $NODE == b ]]; then
	# 1. latency (b only serves perftest; ping needs nothing from b)
	serve lat 18601 timeout 120 ib_send_lat "${PT[@]}" -s "$LAT_SIZE" -n 1000 -e -p 18601
	serve latpoll 18602 timeout 120 ib_send_lat "${PT[@]}" -s "$LAT_SIZE" -n 1000 -p 18602
	# 2. bandwidth
	serve bw 18603 timeout 120 ib_send_bw "${PT[@]}" -s "$UD_SIZE" -D 10 -p 18603
	bench_perftest verbs_ud_bw_rx bw 4 MiB/s
	if OPTIONAL=1 serve bwev 18604 timeout 90 ib_send_bw "${PT[@]}" -s "$UD_SIZE" -n "$BWEV_N" -e -p 18604; then
		bench_perftest verbs_ud_bw_rx_events bwev 4 MiB/s
	fi
	serve iperf 5201 timeout 120 iperf3 -s -1 -p 5201
else
	ping_run ib0 "$PEER_IB_IP"
	bench ping_ib0_rtt_avg "$avg" us
	bench ping_ib0_rtt_min "$min" us
	bench ping_ib0_rtt_median "$med" us
	bench ping_ib0_loss "$loss" %
	ping_run eth0 "$PEER_ETH_IP"
	bench ping_eth0_rtt_avg "$avg" us
	bench ping_eth0_rtt_median "$med" us

	# ib_send_lat: -e sleeps on completion events as ping does; the polling variant
	# (perftest's default) is reported too. Fields 3, 5, 6 are t_min, t_typical (the
	# median), t_avg: one-way figures, half the measured round trip (perftest README).
	ask lat timeout 120 ib_send_lat "${PT[@]}" -s "$LAT_SIZE" -n 1000 -e -p 18601 "$PEER_ETH_IP"
	bench_perftest verbs_ud_lat_avg_oneway lat 6 us
	bench_perftest verbs_ud_lat_min_oneway lat 3 us
	bench_perftest verbs_ud_lat_median_oneway lat 5 us
	ask latpoll timeout 120 ib_send_lat "${PT[@]}" -s "$LAT_SIZE" -n 1000 -p 18602 "$PEER_ETH_IP"
	bench_perftest verbs_ud_lat_poll_avg_oneway latpoll 6 us

	# ib_send_bw -D 10: measured over the middle 6 s (2 s margins); field 4 is the
	# average in MiB/s. Duration mode refuses -e ("Duration mode doesn't work with
	# events"), so it busy-polls, which on a 1-vCPU guest competes with rxe's own work
	# items. For context, a fixed count of sends with -e: optional, because the server of
	# a UD count run waits for every message and hangs (until its timeout) if one drops.
	ask bw timeout 120 ib_send_bw "${PT[@]}" -s "$UD_SIZE" -D 10 -p 18603 "$PEER_ETH_IP"
	bench_perftest verbs_ud_bw_tx bw 4 MiB/s
	if OPTIONAL=1 ask bwev timeout 90 ib_send_bw "${PT[@]}" -s "$UD_SIZE" -n "$BWEV_N" -e -p 18604 "$PEER_ETH_IP"; then
		bench_perftest verbs_ud_bw_tx_events bwev 4 MiB/s
	fi

	# iperf3: one TCP stream for 10 s after 2 s of (omitted) slow start.
	ask iperf timeout 120 iperf3 -c "$PEER_IB_IP" -p 5201 -t 10 -O 2 -J
	bench_iperf3 iperf ""
fi

# 3. RC verbs: ib_send_bw with perftest's default connection type (RC), 64 KiB messages
# (the size of a full connected-mode IPoIB packet, which rxe splits into path-MTU
# packets as it does ib0's RC sends), duration mode as for UD.
PTRC=(-d rxe0 -i 1 -x "$GID" -F)
RC_SIZE=65536
if [[ $NODE == b ]]; then
	serve rcbw 18605 timeout 120 ib_send_bw "${PTRC[@]}" -s "$RC_SIZE" -D 10 -p 18605
	bench_perftest verbs_rc_bw_rx rcbw 4 MiB/s
else
	ask rcbw timeout 120 ib_send_bw "${PTRC[@]}" -s "$RC_SIZE" -D 10 -p 18605 "$PEER_ETH_IP"
	bench_perftest verbs_rc_bw_tx rcbw 4 MiB/s
fi

# 4. connected mode: both guests switch ib0 (MTU 65520), then iperf3 as in datagram mode.
CM=1
if ! out=$(bash -c "echo connected > /sys/class/net/ib0/mode" 2>&1); then
	grep -qi "not supported" <<<"$out" || fail "switching ib0 to connected mode: $out"
	log "connected mode is not supported by this build: no connected-mode figures"
	bench cm_unsupported 1 count
	CM=0
fi
barrier cm-switched
if ((CM)); then
	[[ $(</sys/class/net/ib0/mode) == connected ]] || fail "ib0 mode $(</sys/class/net/ib0/mode)"
	bench "${NODE}_ib0_mtu_cm" "$(cat /sys/class/net/ib0/mtu)" bytes
	# an 8000-byte datagram with DF only fits an RC connection: wait until it is up
	wait_for 90 ping -c 1 -W 3 -s 8000 -Mdo "$PEER_IB_IP"
	barrier cm-ready
	if [[ $NODE == b ]]; then
		serve cmiperf 5202 timeout 120 iperf3 -s -1 -p 5202
	else
		ask cmiperf timeout 120 iperf3 -c "$PEER_IB_IP" -p 5202 -t 10 -O 2 -J
		bench_iperf3 cmiperf cm_ "connected-mode "
	fi
	ethtool -S ib0 | grep -E '^ *cm_' || true
fi
barrier end
ip -s link show ib0
