# RNR NAKs on the simulated subnet, with this project's driver in connected mode: h0's
# receive posts fail (the driver's post_recv fault knob, limited to h0's interface), so
# its shared receive queue empties under h1's 60000-byte echoes. With no receive
# posted, softib0 answers h1's RC messages with RNR NAKs, and h1's HCA sends them again
# after h0's RNR timer, as IB requires. Once the knob is cleared, h0's receive poller
# posts the empty slots again (rx_refilled) and the echoes flow over RC again, on the
# same connection: no RNR retry count exhausted, no connection lost.
# guests: 1
# timeout: 360
# ipoib: no
#
#   +-------------------------------------------------------------------+
#   | a   softib.ko hcas=2, this project's ib_ipoib, connected mode      |
#   |                                                                   |
#   |  netns h0: 198.18.3.1 -- softib0 p1 --+    post_recv fails on h0  |
#   |  netns h1: 198.18.3.2 -- softib1 p1 --+ switch    opensm (softib0) |
#   |            h1 --- ping -s 60000 over RC ---> h0: RNR NAK, retry   |
#   +-------------------------------------------------------------------+

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

KNOB=/sys/kernel/debug/ipoib/fault/post_recv
FAULTS=1000000 # the knob's bound: more than the run can take; cleared by hand

rc_log() {
	local f line=
	for f in rx rnr retry rnr_retry retry_exc; do line+=" $f $(sib_rc 0 "$f")/$(sib_rc 1 "$f")"; done
	log "RC counters (softib0/softib1):$line"
}
# stat N NAME: host N's ethtool -S counter NAME
stat() { sib_in "$1" ethtool -S "${SIB_IF[$1]}" | awk -v k="$2:" '$1 == k { print $2 }'; }
injected() { awk '{ print $5 }' "$KNOB"; }
rnr_given() { (($(sib_rc 0 rnr) > rnr0)); }
refilled() { (($(stat 0 rx_refilled) > refilled0)); }

sib_subnet_up 2
sib_ipoib_hosts
for i in 0 1; do wait_for 30 sib_carrier "$i"; done
for i in 0 1; do
	check sib_in "$i" sh -c "echo connected >/sys/class/net/${SIB_IF[i]}/mode"
	check sib_in "$i" ip link set "${SIB_IF[i]}" mtu 65520
done
sib_ping_pair 0 1
# the connection both ways, in use
wait_for 30 sib_in 1 ping -c 1 -W 2 -s 60000 "$(sib_hip 0)"
rc_log
(($(sib_rc 0 rx) > 0)) || fail "no RC message reached softib0 in connected mode"
conns=$(stat 1 cm_tx_conns) failed=$(stat 1 cm_tx_connect_failed)
log "h1: $conns connected-mode connections, $failed failed attempts"
rnr0=$(sib_rc 0 rnr) retry1=$(sib_rc 1 rnr_retry) exc1=$(sib_rc 1 retry_exc) lost0=$(sib_rc 0 lost)
refilled0=$(stat 0 rx_refilled)

# Every receive post of h0 fails from now on (both its UD ring and its SRQ: nothing
# is posted again), while h1 sends echoes of 60000 bytes, one RC message each; once
# softib0 has given an RNR NAK the knob is cleared, well within h1's RNR retry budget
# (6 retries, h0's RNR timer 655 ms), and h0's poller posts the empty slots again.
kmsg "rnr: receive posts of ${SIB_IF[0]} fail from now"
check sh -c "echo '$FAULTS 12 0 ${SIB_IF[0]}' >$KNOB"
log "+ echo '$FAULTS 12 0 ${SIB_IF[0]}' >$KNOB"
ip netns exec h1 ping -q -c 1000 -i 0.005 -W 5 -s 60000 "$(sib_hip 0)" >/tmp/rnr-ping.out 2>&1 &
ping_pid=$!
poll 60 rnr_given || {
	echo '0 0' >"$KNOB"
	rc_log
	fail "softib0 sent no RNR NAK while every receive post of h0 failed ($(cat "$KNOB"))"
}
echo '0 0' >"$KNOB"
kmsg "rnr: receive posts of ${SIB_IF[0]} succeed again"
log "RNR NAK given after $(injected) failed posts; the knob cleared"
wait "$ping_pid" || true
log "h1 -> h0, echoes of 60000 bytes meanwhile: $(grep -E 'transmitted' /tmp/rnr-ping.out)"
rc_log

(($(sib_rc 1 rnr_retry) > retry1)) || fail "softib1 never sent again after an RNR NAK"
(($(sib_rc 1 retry_exc) == exc1)) ||
	fail "an RC send ran out of retries ($((exc1)) -> $(sib_rc 1 retry_exc)): the connection was lost"
(($(sib_rc 0 lost) == lost0)) || fail "softib0 dropped RC messages ($lost0 -> $(sib_rc 0 lost))"
log "softib0: $(($(sib_rc 0 rnr) - rnr0)) RNR NAKs; softib1: $(($(sib_rc 1 rnr_retry) - retry1)) resends after one"

# the empty slots are posted again, and the same connection carries the echoes
poll 30 refilled || {
	sib_in 0 ethtool -S "${SIB_IF[0]}" | sed 's/^/    /'
	fail "h0 never posted its empty receive slots again (rx_refilled $refilled0)"
}
log "h0: rx_refilled $refilled0 -> $(stat 0 rx_refilled)"
rx0=$(sib_rc 0 rx)
out=$(sib_in 1 ping -q -c 20 -i 0.05 -W 2 -s 60000 "$(sib_hip 0)" 2>&1) || true
grep -q ' 0% packet loss' <<<"$out" || fail "h1 -> h0 after the faults lost echoes: $out"
(($(sib_rc 0 rx) - rx0 >= 20)) || fail "the echoes after the faults did not go over RC"
[[ $(stat 1 cm_tx_connect_failed) == "$failed" ]] ||
	fail "h1 had failed connection attempts: $failed -> $(stat 1 cm_tx_connect_failed)"
log "after the faults: 20 echoes of 60000 bytes over RC, $(stat 1 cm_tx_conns) connections on h1"

sib_teardown
