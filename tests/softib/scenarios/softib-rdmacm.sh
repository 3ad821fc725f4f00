# rdma_cm finds the IPoIB interface behind an incoming connection (the IB client's
# get_net_dev_by_params), here with Debian's in-tree ib_ipoib: tests/cmprobe's
# cmprobe.ko listens with rdma_cm on h0's address in h0's namespace and connects to it
# from h1's. softib has no RC QP, so the REQ carries a made-up QPN and the listener
# refuses it; the probe passes if the listener heard of the request (rdma_cm gets that
# far only once IPoIB named the interface holding the address) and names h0's interface.
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   netns h0: ibX 198.18.3.1 -- softib0 p1 --+ switch   (rdma_cm listens on 198.18.3.1)
#   netns h1: ibY 198.18.3.2 -- softib1 p1 --+          (rdma_cm connects to it)

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

CMPROBE_KO=$LAB_REPO/build/$LAB_KVER/cmprobe/cmprobe.ko
[[ -f $CMPROBE_KO ]] || fail "no $CMPROBE_KO: make -C tests/cmprobe KVER=$LAB_KVER"

sib_subnet_up 2
sib_ipoib_hosts
wait_for 30 sib_carrier 0
wait_for 30 sib_carrier 1
sib_ping_pair 0 1
check modprobe rdma_cm
# a process in each namespace names it to the probe (not through sib_in: a function
# in the background is a subshell, and $! would be that subshell in this namespace)
ip netns exec h0 sleep 600 &
p0=$!
ip netns exec h1 sleep 600 &
p1=$!
# ip netns exec enters the namespace and then becomes sleep
is_sleep() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]]; }
wait_for 10 is_sleep "$p0"
wait_for 10 is_sleep "$p1"
kmsg "cmprobe: listen in h0, connect from h1"
rc=0
log "+ insmod $CMPROBE_KO listen_pid=$p0 connect_pid=$p1 listen_addr=$(sib_hip 0)"
insmod "$CMPROBE_KO" listen_pid="$p0" connect_pid="$p1" listen_addr="$(sib_hip 0)" || rc=$?
klog | grep 'cmprobe: ' | tail -n 5 | sed 's/^/    /'
((rc == 0)) || fail "insmod cmprobe failed ($rc)"
klog | grep -q "cmprobe: listener on $(sib_hip 0) got the request through ${SIB_IF[0]} " ||
	fail "rdma_cm did not name h0's ${SIB_IF[0]} for the request"
log "rdma_cm found ${SIB_IF[0]} for a connection to $(sib_hip 0) in h0"
check rmmod cmprobe
kill "$p0" "$p1" 2>/dev/null
wait "$p0" "$p1" 2>/dev/null || true # killed: 143
sib_teardown
