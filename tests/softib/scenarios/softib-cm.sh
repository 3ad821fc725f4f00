# Debian's in-tree ib_ipoib in connected mode on the softib subnet: ib_cm connects
# RC QPs (CM MADs on QP1, path records from opensm's SA, SRQ receives), h0 and h1
# ping each other over IPv4 and IPv6 with MTU 65520, iperf3 TCP runs over RC, and
# softib's RC counters prove the traffic went over RC (none in datagram mode before,
# none added after going back to datagram mode under a running ping).
# guests: 1
# timeout: 360
# ipoib: no
#
#   +-------------------------------------------------------------------+
#   | a   softib.ko hcas=2, the distribution's ib_ipoib                  |
#   |                                                                   |
#   |  netns h0: ibX 198.18.3.1 2001:db8:3::1 -- softib0 p1 --+         |
#   |            mode connected, MTU 65520                     | switch  |
#   |  netns h1: ibY 198.18.3.2 2001:db8:3::2 -- softib1 p1 --+         |
#   |            RC QPs h0 <-> h1 (ib_cm), SRQ receives                 |
#   |  opensm on softib0 port 1 (SM, SA: path records for ib_cm)        |
#   |  /sys/kernel/debug/softib/softibN/rc: RC messages accepted        |
#   +-------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

rc_log() { log "RC counters: softib0 $(sib_rc 0 rx)/$(sib_rc 0 rnr)/$(sib_rc 0 lost), softib1 $(sib_rc 1 rx)/$(sib_rc 1 rnr)/$(sib_rc 1 lost) (rx/rnr/lost)"; }

# mode N [MODE]: host N's IPoIB mode, or set it
mode() {
	if (($# == 2)); then
		sib_in "$1" sh -c "echo $2 >/sys/class/net/${SIB_IF[$1]}/mode"
	else
		sib_in "$1" cat "/sys/class/net/${SIB_IF[$1]}/mode"
	fi
}
mtu() { sib_in "$1" cat "/sys/class/net/${SIB_IF[$1]}/mtu"; }

# pings N ADDR [SIZE]: 20 echoes from host N, none lost
pings() {
	local out
	out=$(sib_in "$1" ping -q -c 20 -i 0.02 -W 2 -s "${3:-56}" "$2" 2>&1) || true
	grep -q ' 0% packet loss' <<<"$out" || fail "h$1 -> $2 (size ${3:-56}) lost echoes: $out"
	log "h$1 -> $2 (size ${3:-56}): $(grep -E 'rtt|round-trip' <<<"$out")"
}

sib_subnet_up 2
sib_ipoib_hosts
for i in 0 1; do wait_for 30 sib_carrier "$i"; done
[[ -r /sys/kernel/debug/softib/softib0/rc ]] || fail "no softib rc counters in debugfs"

# datagram mode first: UD only, no RC message anywhere
sib_ping_pair 0 1
pings 0 "$(sib_hip 1)"
rc_log
(($(sib_rc 0 rx) == 0 && $(sib_rc 1 rx) == 0)) || fail "RC messages in datagram mode"

for i in 0 1; do
	check mode "$i" connected
	check sib_in "$i" ip link set "${SIB_IF[i]}" mtu 65520
	[[ $(mode "$i") == connected ]] || fail "h$i: mode is $(mode "$i"), not connected"
	[[ $(mtu "$i") == 65520 ]] || fail "h$i: MTU $(mtu "$i"), not 65520"
done
log "h0, h1: connected mode, MTU 65520"

t0=$(date +%s.%N)
sib_ping_pair 0 1
log "connected mode: both ways IPv4 and IPv6 answered $(sib_since "$t0") s after the switch"
for a in "$(sib_hip 1)" "$(sib_hip6 1)"; do pings 0 "$a"; done
for a in "$(sib_hip 0)" "$(sib_hip6 0)"; do pings 1 "$a"; done
# one IPv4 datagram of 60000 bytes: a single RC message (no IP fragmentation)
pings 0 "$(sib_hip 1)" 60000
pings 1 "$(sib_hip6 0)" 60000
rc_log
r0=$(sib_rc 0 rx) r1=$(sib_rc 1 rx)
((r0 >= 60 && r1 >= 60)) || fail "pings in connected mode did not go over RC (rx $r0, $r1)"

if sib_iperf "over RC, connected mode, MTU 65520 "; then
	rc_log
	(($(sib_rc 0 rx) - r0 >= 1000)) ||
		fail "iperf3 did not go over RC: softib0 accepted $(($(sib_rc 0 rx) - r0)) RC messages"
else
	log "no iperf3 in the guest: no figure, no RC bulk check"
fi

# back to datagram mode under a running ping: the RC connections go (ib_cm DREQ,
# QPs to ERR, last-WQE-reached, drain), traffic goes back to UD
# (a counted ping: a background job ignores SIGINT, and its output is buffered)
sib_in 0 ping -c 200 -i 0.05 -W 1 "$(sib_hip 1)" >"$SIB_OSM/bgping.txt" 2>&1 &
bgping=$!
for i in 0 1; do
	check mode "$i" datagram
	[[ $(mode "$i") == datagram ]] || fail "h$i: mode is $(mode "$i"), not datagram"
	log "h$i: datagram mode, MTU $(mtu "$i")"
done
sib_ping_pair 0 1
wait "$bgping" || true
log "ping during the switch: $(grep 'packets transmitted' "$SIB_OSM/bgping.txt")"
grep -Eq ' [1-9][0-9]* received' "$SIB_OSM/bgping.txt" || fail "no echo answered during the switch back"
r0=$(sib_rc 0 rx) r1=$(sib_rc 1 rx)
for a in "$(sib_hip 1)" "$(sib_hip6 1)"; do pings 0 "$a"; done
rc_log
(($(sib_rc 0 rx) == r0 && $(sib_rc 1 rx) == r1)) || fail "RC messages after going back to datagram mode"

# teardown (sib_teardown's steps), rmmod timed: if it takes more than 3 s, its
# kernel stack is shown (where ib_core or a client waits)
exited() { [[ ! -e /proc/$1/stat || $(awk '{ print $3 }' "/proc/$1/stat") == Z ]]; }
sib_ipoib_unload
sib_opensm_stop
t0=$(date +%s.%N)
log "+ rmmod softib"
rmmod softib &
pid=$!
if ! poll 3 exited "$pid"; then
	log "rmmod softib still running after 3 s, its stack:"
	sed 's/^/    /' "/proc/$pid/stack"
fi
wait "$pid" || fail "rmmod softib failed"
log "rmmod softib: $(sib_since "$t0") s"
if klog | grep -Ei 'ib_cm|ipoib' | grep -Ei 'timing out|fail|error'; then
	fail "ib_cm/ipoib complained (above)"
fi
log "softib-cm done"
