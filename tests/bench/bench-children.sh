# The child-interface part of `make bench` (tests/bench/bench.sh), run once with the
# module under test and once with the shared-workqueue control build (make control) as
# LAB_MODULE. Reports, as "BENCH <name> <value> <unit>" lines for bench.sh:
#  - (module under test only) what an idle child costs: kernel memory and kernel threads
#    before and after creating 32 children, down, then up with carrier;
#  - the time ib0.8001 takes to go down while 1 sibling, and while 64 siblings (ib0 and
#    ib0.8002-ib0.8040), keep their workqueues busy (tests/bench/child-bench.py).
# guests: 1
# smp: 2
# timeout: 420
# ipoib: no
#
#   +------------------------------------------------------------------+
#   | a  ib0  ib0.8001 (taken down, no IPv6)  ib0.8002 ... ib0.8040     |
#   |    busy: send-only joins of fresh groups on 1 or 64 siblings      |
#   |    rxe0 on eth0                                                   |
#   +------------------------------------------------------------------+

# (a scenario sourcing this one may set these first)
: "${N_IDLE:=32}"        # children of the idle-cost figures
: "${N_CHILDREN:=64}"    # ib0.8001 .. ib0.8040
: "${SAMPLES:=7}"        # per figure and case; medians
: "${RATE:=5}"           # fresh groups a second per busy sibling
: "${SLOW_JOIN_MS:=200}" # how long each join holds its queue in the slowjoin variant
: "${DOWN_TIMEOUT:=60}"  # seconds after which a down counts as hung

version=$(modinfo -F version "$LAB_MODULE")
control=0
[[ $version == *sharedwq-control ]] && control=1
log "module $version (shared-workqueue control: $control)"

# Reap tasks take rtnl once every ARP gc_interval (to drop idle send-only groups); on a
# shared queue one of them queued ahead of a down deadlocks it (softib-ours-deadlock-control).
# The interval is unused by the kernel's own ARP code: make it an hour, before any
# interface exists, so that only the busy work below is measured. Each fresh group is an
# IPv4 multicast neighbour too: room for them all.
check sysctl -q -w net.ipv4.neigh.default.gc_interval=3600 \
	net.ipv4.neigh.default.gc_thresh2=60000 net.ipv4.neigh.default.gc_thresh3=100000
load_ipoib
wait_ib0
check ip link set ib0 up
wait_carrier
log "rings: recv $(cat /sys/module/ib_ipoib/parameters/recv_queue_size)," \
	"send $(cat /sys/module/ib_ipoib/parameters/send_queue_size)"

# shellcheck source=tests/bench/bench-lib.bash
. "$LAB_REPO/tests/bench/bench-lib.bash"

setup=$SECONDS
if ((!control)); then
	idle_cost
else
	batch 1 "$N_IDLE" up >idle.batch
	check ip -batch idle.batch
fi
batch $((N_IDLE + 1)) "$N_CHILDREN" up >rest.batch
check ip -batch rest.batch
wait_carriers 1 "$N_CHILDREN"
log "$N_CHILDREN children up with carrier ($((SECONDS - setup))s)"

# The child taken down has no IPv6: after each up it would otherwise send DAD, MLD and
# router solicitations of its own, joins on its own queue that its next down waits for.
check sysctl -q -w "net.ipv6.conf.$(child 1 | tr . /).disable_ipv6=1"
siblings=ib0
for ((i = 2; i <= N_CHILDREN; i++)); do siblings+=,$(child "$i"); done
sleep 3 # let addrconf on the new children settle
rc=0
python3 "$LAB_REPO/tests/bench/child-bench.py" latency "$(child 1)" "$(child 2)" "$siblings" \
	fastjoin:0 "slowjoin:$SLOW_JOIN_MS" --samples "$SAMPLES" --rate "$RATE" --warmup 1 --timeout "$DOWN_TIMEOUT" || rc=$?
if ((rc == 3 && control)); then
	# the control's down never came back: the figure says so (bench.sh); nothing more
	# can run in this guest (rtnl is held for good)
	log "control build: a down did not return; ending the run here"
	exit 0
fi
((rc == 0)) || fail "the latency run failed (status $rc)"
ip -s link show "$(child 2)" | sed -n '1,6p'
