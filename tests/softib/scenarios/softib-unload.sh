# Unloading softib under load: Debian's in-tree ib_ipoib loaded with its interfaces
# in three namespaces, opensm running (its umad files open), a ping flood h0 -> h2,
# and iperf3 TCP h1 -> h0 running. rmmod softib must succeed at once; the lab fails
# the scenario on any kernel warning (BUG, WARNING, lockdep, KASAN) and, on the debug
# tier, on kmemleak's findings.
# guests: 1
# timeout: 300
# ipoib: no
#
#   +------------------------------------------------------------------+
#   | a   softib.ko hcas=3, the distribution's ib_ipoib                 |
#   |                                                                  |
#   |  netns h0: iperf3 server, 198.18.3.1 -- softib0 p1 --+           |
#   |  netns h1: iperf3 client ------------- softib1 p1 --+ switch     |
#   |  netns h2: ping -i 0.01 target ------- softib2 p1 --+           |
#   |  opensm on softib0 port 1                                        |
#   |  then: rmmod softib with all of it running                       |
#   +------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

sib_subnet_up 3
sib_ipoib_hosts
for i in 0 1 2; do
	wait_for 30 sib_carrier "$i"
done
wait_for 30 sib_ping 0 "$(sib_hip 2)"
wait_for 30 sib_ping 0 "$(sib_hip6 2)"

# (ip netns exec directly, not sib_in: $! is then the command itself, which the
# SIGINT below must reach, not a subshell waiting for it)
ip netns exec h0 ping -q -i 0.01 -W 1 "$(sib_hip 2)" >/tmp/ping.out 2>&1 &
ping_pid=$!
pids=("$ping_pid")
sib_iperf_bg
# traffic flows: h2 receives the flood, h0 the TCP stream (iperf3 may first wait
# for the guest's random pool)
rx() { sib_in "$1" cat "/sys/class/net/${SIB_IF[$1]}/statistics/rx_packets"; }
rx_moved() { (($(rx "$1") > $2 + 500)); }
r0=$(rx 0) r2=$(rx 2)
wait_for 30 rx_moved 2 "$r2"
! command -v iperf3 >/dev/null || wait_for 60 rx_moved 0 "$r0"
log "traffic flows (rx_packets: h0 $r0 -> $(rx 0), h2 $r2 -> $(rx 2))"
kill -0 "$SIB_OSM_PID" || fail "opensm is not running"

kmsg "rmmod softib under load"
t0=$(date +%s.%N)
check rmmod softib
log "rmmod softib took $(sib_since "$t0") s"
[[ ! -e /sys/class/infiniband/softib0 ]] || fail "softib0 still registered"
for i in 0 1 2; do
	! sib_in "$i" test -e "/sys/class/net/${SIB_IF[i]}" || fail "h$i's ${SIB_IF[i]} survived"
done
# SIGINT: ping prints its summary
# (not `wait`: on 6.1 an exiting iperf3 once hung in a 9p clunk on the guest's root
# file system, outside softib, and took the scenario's time with it)
for p in "${pids[@]}"; do
	kill -INT "$p" 2>/dev/null || true
	poll 10 sib_gone "$p" && continue
	log "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) did not exit within 10 s of SIGINT: $(cat "/proc/$p/wchan" 2>/dev/null)"
	kill -KILL "$p" 2>/dev/null || true
done
log "ping: $(grep 'packets transmitted' /tmp/ping.out || true)"
log "iperf3: $(grep -E '^\[' /tmp/iperf-c.out | tail -n 1 || true)"
sib_opensm_stop
sib_ipoib_unload
# the module comes back and works after all that
check insmod "$SIB_KO" hcas=2 seed=8
wait_for 10 test -e /sys/class/infiniband/softib1/ports/1/state
check rmmod softib
