# The kernel's own netdev driver selftests on our interface: ping.py, stats.py and
# queues.py from tools/testing/selftests/drivers/net of Debian's linux-source-6.12,
# extracted at test time by tests/drivers-net/prepare.sh (which applies this
# project's rt_link spec patch: without it every link dump on a host with an IPoIB
# interface fails), run with NETIF set to softib0's interface in the initial
# namespace and the remote end in netns h1 (REMOTE_TYPE=netns), as the tests'
# README describes for a real device.
# Every case must pass except those the tests themselves expect to fail or skip on
# IPoIB: check_pause and check_fec (XFAIL: no pause frames, no FEC on IPoIB) and
# queues.addremove_queues (SKIP: one queue each way, nothing to remove). The queue
# statistics cases (pkt_byte_sum, qstat_by_ifindex, check_down) and get_queues must
# pass, not skip. Kernels without the netdev netlink family (6.1) run ping.py only;
# stats.py and queues.py are logged as skipped there, with the reason.
# guests: 1
# timeout: 420
# ipoib: no
#
#   +---------------------------------------------------------------------+
#   | a   softib.ko hcas=2, opensm, our ib_ipoib                            |
#   |                                                                     |
#   |  initial netns: ibX 198.18.3.1 2001:db8:3::1 -- softib0 p1 --+       |
#   |       (NETIF: the tests run here)                            | switch|
#   |  netns h1:      ibY 198.18.3.2 2001:db8:3::2 -- softib1 p1 --+       |
#   |       (REMOTE_TYPE=netns REMOTE_ARGS=h1)                             |
#   +---------------------------------------------------------------------+

# shellcheck shell=bash
SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

TESTS=$LAB_REPO/build/drivers-net/linux-source-6.12/tools/testing/selftests/drivers/net
[[ -f $TESTS/stats.py ]] ||
	fail "no drivers/net selftests at $TESTS (tests/drivers-net/prepare.sh runs on the host first)"
command -v socat >/dev/null || fail "no socat in the guest (ping.py's TCP case needs it)"

sib_subnet_up 2
sib_ipoib_load
wait_for 10 sib_ifname softib0
wait_for 10 sib_ifname softib1
dev=$(sib_ifname softib0)
peer=$(sib_ifname softib1)
check ip link set "$dev" up
check ip addr add "$(sib_hip 0)/24" dev "$dev"
check ip -6 addr add "$(sib_hip6 0)/64" dev "$dev" nodad
check ip netns add h1
check ip link set "$peer" netns h1
check sib_in 1 ip link set lo up
check sib_in 1 ip link set "$peer" up
check sib_in 1 ip addr add "$(sib_hip 1)/24" dev "$peer"
check sib_in 1 ip -6 addr add "$(sib_hip6 1)/64" dev "$peer" nodad
wait_carrier "$dev" 30
wait_for 30 sib_in 1 grep -qx 1 "/sys/class/net/$peer/carrier"
# both ways, IPv4 and IPv6, so that neighbours and path records are resolved: the
# tests' echoes wait 0.5 s, less than a first resolution through the SA can take here
for a in "$(sib_hip 1)" "$(sib_hip6 1)"; do wait_for 30 ping -c 1 -W 2 "$a"; done
for a in "$(sib_hip 0)" "$(sib_hip6 0)"; do wait_for 30 sib_in 1 ping -c 1 -W 2 "$a"; done
log "$dev (initial netns) and $peer (h1) reach each other"

NETIF=$dev LOCAL_V4=$(sib_hip 0) REMOTE_V4=$(sib_hip 1)
LOCAL_V6=$(sib_hip6 0) REMOTE_V6=$(sib_hip6 1)
export NETIF LOCAL_V4 REMOTE_V4 LOCAL_V6 REMOTE_V6 REMOTE_TYPE=netns REMOTE_ARGS=h1
# the extracted tree is read-only in the guest
export PYTHONDONTWRITEBYTECODE=1

# ksft TEST: run TEST.py; its KTAP output is logged and kept in $OUT_TEST
ksft() {
	local rc=0
	log "drivers/net/$1.py on $NETIF"
	OUT_TEST=$(cd "$TESTS" && timeout "$(scaled 240)" python3 "./$1.py" 2>&1) || rc=$?
	sed 's/^/    /' <<<"$OUT_TEST"
	return "$rc"
}

# result TEST CASE WANT: the KTAP line of CASE is WANT (ok, xfail, skip)
result() {
	local line
	line=$(grep -E "^(not )?ok [0-9]+ $1\.$2( |$)" <<<"$OUT_TEST") ||
		fail "$1.py: no result line for $2"
	case $3 in
	ok) [[ $line =~ ^ok\ [0-9]+\ [^\ #]+$ ]] ;;
	xfail) [[ $line =~ ^ok\ .*\#\ XFAIL ]] ;;
	skip) [[ $line =~ ^ok\ .*\#\ SKIP ]] ;;
	esac || fail "$1.py: $2: want $3, got: $line"
}

ksft ping || fail "ping.py failed"
for c in test_v4 test_v6 test_tcp; do result ping "$c" ok; done

if ! genl ctrl get name netdev >/dev/null 2>&1; then
	log "SKIP stats.py, queues.py: this kernel ($LAB_KVER) has no netdev netlink family" \
		"(per-queue statistics and queue/NAPI reports came with 6.8-6.10)"
else
	ksft stats || fail "stats.py failed"
	result stats check_pause xfail
	result stats check_fec xfail
	for c in pkt_byte_sum qstat_by_ifindex check_down; do result stats "$c" ok; done
	ksft queues || fail "queues.py failed"
	result queues get_queues ok
	result queues addremove_queues skip
	grep -q 'already at 1' <<<"$OUT_TEST" || fail "queues.py: addremove_queues skipped for another reason"
	# the queue/NAPI pairing behind it, as the netdev family reports it
	napi=$(python3 - "$TESTS" "$(cat "/sys/class/net/$dev/ifindex")" <<-'PY'
		import sys
		sys.path.insert(0, sys.argv[1])
		from lib.py import NetdevFamily
		q = NetdevFamily().queue_get({"ifindex": int(sys.argv[2])}, dump=True)
		print(" ".join(f"{e['type']}{e['id']}:{e.get('napi-id', 'none')}" for e in q))
	PY
	) || fail "netdev queue-get failed"
	log "queues and their NAPI ids: $napi"
	[[ $napi =~ rx0:[0-9]+ && $napi =~ tx0:[0-9]+ ]] ||
		fail "queue-get: a queue without its NAPI instance ($napi)"
fi

# the interface still works after the tests took it down and up
wait_carrier "$dev" 30
wait_for 30 ping -c 1 -W 2 "$(sib_hip 1)"
sib_teardown
