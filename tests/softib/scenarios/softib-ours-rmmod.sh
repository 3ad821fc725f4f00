# rmmod of the project's ib_ipoib (the module under test, tests/lab/run -m) under
# traffic on the softib subnet: h0 and h1 in connected mode with a ping flood and
# iperf3 over RC, a P_Key child each (partition 0x8001, datagram mode) with a ping
# flood over UD. rmmod must return and take every interface with it; the module then
# loads again, the interfaces come back, and both modes and the children carry
# traffic (the checks of tests/scenarios/rmmod-traffic.sh, on the IB link layer).
# guests: 1
# timeout: 360
# ipoib: no
#
#   +---------------------------------------------------------------------+
#   | a   softib.ko hcas=2, the project's ib_ipoib                         |
#   |                                                                     |
#   |  netns h0: ibX (connected) 198.18.3.1, ibX.8001 198.18.4.1 -- softib0 --+
#   |  netns h1: ibY (connected) 198.18.3.2, ibY.8001 198.18.4.2 -- softib1 --+ switch
#   |  h0 -> h1: ping -f over RC; h1 -> h0: ping -f over 0x8001 (UD),      |
#   |  iperf3 h1 -> h0 over RC; then rmmod ib_ipoib, insmod again         |
#   |  opensm on softib0 port 1                                           |
#   +---------------------------------------------------------------------+

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

cip() { echo "198.18.4.$(($1 + 1))"; }
cif() { echo "${SIB_IF[$1]}.8001"; }
child_carrier() { [[ $(sib_in "$1" cat "/sys/class/net/$(cif "$1")/carrier") == 1 ]]; }
rx() { sib_in "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
rx_moved() { (($(rx "$1" "$2") > $3 + 500)); }
# connect N: host N's parent to connected mode, its child 0x8001 made and addressed
connect() {
	check sib_in "$1" sh -c "echo connected >/sys/class/net/${SIB_IF[$1]}/mode"
	check sib_in "$1" ip link add link "${SIB_IF[$1]}" name "$(cif "$1")" type ipoib pkey 0x8001
	check sib_in "$1" ip link set "$(cif "$1")" up
	check sib_in "$1" ip addr add "$(cip "$1")/24" dev "$(cif "$1")"
}
# pings N ADDR: 20 echoes from host N, none lost
pings() {
	local out
	out=$(sib_in "$1" ping -q -c 20 -i 0.02 -W 2 "$2" 2>&1) || true
	grep -q ' 0% packet loss' <<<"$out" || fail "h$1 -> $2 lost echoes: $out"
}
# hosts_up: both hosts' interfaces up, connected, children up; traffic both ways
hosts_up() {
	local i q
	for i in 0 1; do wait_for 30 sib_carrier "$i"; done
	connect 0
	connect 1
	wait_for 30 child_carrier 0
	wait_for 30 child_carrier 1
	q=$(sib_rc 0 rx)
	sib_ping_pair 0 1
	wait_for 30 sib_ping 0 "$(cip 1)"
	wait_for 30 sib_ping 1 "$(cip 0)"
	for i in "$(sib_hip 1)" "$(sib_hip6 1)" "$(cip 1)"; do pings 0 "$i"; done
	for i in "$(sib_hip 0)" "$(sib_hip6 0)" "$(cip 0)"; do pings 1 "$i"; done
	(($(sib_rc 0 rx) > q + 20)) || fail "h1 -> h0 did not go over RC (softib0 RC rx $q -> $(sib_rc 0 rx))"
	log "h0 <-> h1 over RC (IPv4, IPv6) and over partition 0x8001: 20 echoes each, none lost"
}

mkdir -p "$SIB_OSM"
printf '%s\n' 'Default=0x7fff, ipoib : ALL=full ;' 'P1=0x8001, ipoib : ALL=full ;' \
	>"$SIB_OSM/partitions.conf"
sib_subnet_up 2
sib_ipoib_hosts
hosts_up

ip netns exec h0 ping -q -f -W 1 "$(sib_hip 1)" >/tmp/ping-rc.out 2>&1 &
pids=($!)
ip netns exec h1 ping -q -f -W 1 "$(cip 0)" >/tmp/ping-ud.out 2>&1 &
pids+=($!)
sib_iperf_bg
r1=$(rx 1 "${SIB_IF[1]}") c0=$(rx 0 "$(cif 0)") q0=$(sib_rc 0 rx)
wait_for 30 rx_moved 1 "${SIB_IF[1]}" "$r1"
wait_for 30 rx_moved 0 "$(cif 0)" "$c0"
# (iperf3 may first wait for the guest's random pool)
! command -v iperf3 >/dev/null || wait_for 60 rx_moved 0 "${SIB_IF[0]}" "$(rx 0 "${SIB_IF[0]}")"
log "traffic flows: h1 rx $(rx 1 "${SIB_IF[1]}") (RC), h0 rx $(rx 0 "$(cif 0)") (child), softib0 RC rx $q0 -> $(sib_rc 0 rx)"

kmsg "rmmod ib_ipoib under traffic"
t0=$(date +%s.%N)
rmmod ib_ipoib &
mpid=$!
if ! poll 60 sib_gone "$mpid"; then
	log "rmmod is stuck; its kernel stack:"
	sed 's/^/    /' "/proc/$mpid/stack" 2>/dev/null || true
	fail "rmmod ib_ipoib did not return within 60 s"
fi
wait "$mpid" || fail "rmmod ib_ipoib failed"
log "rmmod ib_ipoib took $(sib_since "$t0") s"
[[ ! -e /sys/module/ib_ipoib ]] || fail "ib_ipoib still loaded"
for i in 0 1; do
	left=$(sib_ipoib_ifs "$i")
	[[ -z $left ]] || fail "h$i still has interfaces: $left"
done
for p in "${pids[@]}"; do
	kill -INT "$p" 2>/dev/null || true
	poll 10 sib_gone "$p" && continue
	log "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) did not exit within 10 s of SIGINT"
	kill -KILL "$p" 2>/dev/null || true
done
log "ping -f h0 -> h1 over RC: $(grep 'packets transmitted' /tmp/ping-rc.out || true)"
log "ping -f h1 -> h0 over 0x8001: $(grep 'packets transmitted' /tmp/ping-ud.out || true)"

kmsg "ib_ipoib loaded again"
sib_ipoib_load
for i in 0 1; do
	wait_for 30 sib_ifname "softib$i"
	SIB_IF[i]=$(sib_ifname "softib$i")
	check ip link set "${SIB_IF[i]}" netns "h$i"
	check sib_in "$i" ip link set "${SIB_IF[i]}" up
	check sib_in "$i" ip addr add "$(sib_hip "$i")/24" dev "${SIB_IF[i]}"
	check sib_in "$i" ip -6 addr add "$(sib_hip6 "$i")/64" dev "${SIB_IF[i]}" nodad
done
hosts_up
sib_teardown
