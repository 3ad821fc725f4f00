# Fault injection in setup paths (debugfs ipoib/fault/*): a failed QP or CQ
# creation unwinds the whole child (nothing left registered), a failed
# receive-buffer allocation fails the open cleanly, and failed multicast
# joins are retried with backoff until the carrier comes on; an open whose
# connected-mode listener cannot be set up fails as a whole; completions
# held past a stop's drain timeout are harmless to the next open; a join
# completion failing while the interface goes down leaves no join task armed;
# address handles of resolved neighbours die before the PD that ethtool -G
# replaces; neighbours, paths and send-only groups stop at their bounds, with
# the refusals counted.  Every fault is
# aimed at the interface under test (the knob's IFNAME field): ib0 and the
# other child stay up and busy (receive refills, joins), and must neither take
# a fault meant for another interface nor be disturbed by one.
# guests: 1
# timeout: 420
#
#   +---------------------------------------------+
#   | a  ib0 (+ ib0.8001, ib0.8002 being created) |
#   |    /sys/kernel/debug/ipoib/fault/{qp_create, |
#   |    cq_create,rx_alloc,mcast_join,mcast_done, |
#   |    cm_listen,drain}                          |
#   |    forged neighbours (ip neigh), ethtool -G  |
#   +---------------------------------------------+

F=/sys/kernel/debug/ipoib/fault
sys=/sys/class/net/ib0
wait_ib0
wait_carrier
[[ -w $F/qp_create ]] || fail "no fault-injection knobs under $F"

injected() { awk '{ print $5 }' "$F/$1"; }
rescuers() { ps -e -o comm= | grep -c "ib0\.800" || true; }

# QP creation fails: sysfs create_child answers ENOMEM, nothing is left
base=$(rescuers)
echo "1 12 0 ib0.8001" >$F/qp_create
if bash -c "echo 0x8001 > $sys/create_child" 2>err; then fail "create_child survived a QP failure"; fi
grep -qi "cannot allocate memory" err || fail "unexpected error: $(cat err)"
[[ ! -e /sys/class/net/ib0.8001 ]] || fail "ib0.8001 exists after a failed setup"
[[ $(injected qp_create) == 1 ]] || fail "qp_create fault not consumed: $(cat $F/qp_create)"
[[ $(rescuers) == "$base" ]] || fail "a workqueue of the failed child survived"
check bash -c "echo 0x8001 > $sys/create_child"
check ip link set ib0.8001 up
wait_carrier ib0.8001

# CQ creation fails (netlink path): the link is refused and not created
echo "1 12 0 ib0.8002" >$F/cq_create
if ip link add link ib0 name ib0.8002 type ipoib pkey 0x8002 2>err; then fail "a CQ failure was ignored"; fi
[[ ! -e /sys/class/net/ib0.8002 ]] || fail "ib0.8002 exists after a failed setup"
[[ $(injected cq_create) == 1 ]] || fail "cq_create fault not consumed"
check ip link add link ib0 name ib0.8002 type ipoib pkey 0x8002

# receive buffers cannot be allocated at open: up fails, state unchanged.  The
# fault names ib0.8002, and ib0 refilling its ring meanwhile (it receives its own
# multicast: IPv6 all-nodes pings, each one dropped as our own echo) leaves it armed.
echo "1 12 0 ib0.8002" >$F/rx_alloc
grep -q " dev ib0.8002$" $F/rx_alloc || fail "the knob does not show its interface: $(cat $F/rx_alloc)"
echo0=$(nic_stat rx_own_echo ib0)
ping -6 -c 5 -i 0.2 -W 1 ff02::1%ib0 >/dev/null 2>&1 || true
echo1=$(nic_stat rx_own_echo ib0)
log "ib0 received $((echo1 - echo0)) of its own multicast packets with the fault armed"
((echo1 > echo0)) || fail "ib0 received nothing: the refill path was not exercised"
[[ $(injected rx_alloc) == 0 ]] || fail "ib0 took the fault meant for ib0.8002: $(cat $F/rx_alloc)"
if ip link set ib0.8002 up 2>err; then fail "open succeeded without receive buffers"; fi
log "open refused: $(cat err)"
ip link show ib0.8002 | grep -q ",UP" && fail "ib0.8002 is UP after a failed open"
check ip link set ib0.8002 up
wait_carrier ib0.8002
[[ $(injected rx_alloc) == 1 ]] || fail "rx_alloc fault not consumed once: $(cat $F/rx_alloc)"

# joins fail three times: backoff, retries, then the carrier comes on
check ip link set ib0.8001 down
echo "3 110 0 ib0.8001" >$F/mcast_join
check ip link set ib0.8001 up
wait_carrier ib0.8001 90
[[ $(injected mcast_join) == 3 ]] || fail "mcast_join faults: $(cat $F/mcast_join)"

# a delayed join (no error) still completes
check ip link set ib0.8002 down
echo "1 0 2000 ib0.8002" >$F/mcast_join
check ip link set ib0.8002 up
wait_carrier ib0.8002 90

# connected mode cannot be set up (its listener fails with EADDRINUSE): the
# open fails as a whole, nothing of connected mode is left running, and the
# next open brings it back
check ip link set ib0.8002 down
echo "1 98 0 ib0.8002" >$F/cm_listen
if ip link set ib0.8002 up 2>err; then fail "open succeeded without connected mode"; fi
log "open refused: $(cat err)"
ip link show ib0.8002 | grep -q ",UP" && fail "ib0.8002 is UP after a failed open"
[[ $(injected cm_listen) == 1 ]] || fail "cm_listen fault not consumed once: $(cat $F/cm_listen)"
check ip link set ib0.8002 up
wait_carrier ib0.8002

# a stop whose completions do not come back in time (the drain fault holds
# them until the 5 s timeout frees the buffers): the next open finds them in
# its CQs, counts them as stale, and they leave the buffers it posted alone,
# so it still receives (its own multicast comes back)
own_echo_grows() {
	local e0
	e0=$(nic_stat rx_own_echo ib0.8001)
	ping -6 -c 3 -i 0.2 -W 1 ff02::1%ib0.8001 >/dev/null 2>&1 || true
	(($(nic_stat rx_own_echo ib0.8001) > e0))
}
wait_for 30 own_echo_grows
stale0=$(nic_stat stale_completions ib0.8001)
echo "1 5 0 ib0.8001" >$F/drain
check ip link set ib0.8001 down
[[ $(injected drain) == 1 ]] || fail "drain fault not consumed: $(cat $F/drain)"
klog | grep -q "ib0.8001: completions missing after stop" || fail "no drain timeout logged"
check ip link set ib0.8001 up
wait_carrier ib0.8001
wait_for 30 nic_ge stale_completions $((stale0 + 1)) ib0.8001
log "stale completions after the reopen: $(($(nic_stat stale_completions ib0.8001) - stale0))"
wait_for 30 own_echo_grows

# invalid knob values are refused and change nothing
echo "0 0" >$F/qp_create
before=$(cat $F/qp_create)
for v in "x" "1" "1 99999" "1 5 999999" "1 5 0 ib0 junk" "1 5 0 a/b" \
	"1 5 0 0123456789abcdef" "1 5 x" "1 5 0 ib0.8001 x" "1000001 5" "4000000000 0" \
	"1 0 201" "1 0 60000"; do
	if bash -c "echo '$v' > $F/qp_create" 2>/dev/null; then fail "knob accepted '$v'"; fi
	[[ $(cat $F/qp_create) == "$before" ]] || fail "refused '$v' changed the knob: $(cat $F/qp_create)"
done
# each site bounds its delay by where it runs (ipoib_debugfs.c): rtnl or ib_cm's
# handler 200 ms, the join task 10 s, atomic sites none
for k in qp_create cq_create srq_create; do
	check bash -c "echo '1000000 0 200 nosuchdev' > $F/$k"
	check bash -c "echo '0 0' > $F/$k"
done
check bash -c "echo '1 0 10000 nosuchdev' > $F/mcast_join"
if bash -c "echo '1 0 10001' > $F/mcast_join" 2>/dev/null; then fail "mcast_join took a delay above 10 s"; fi
check bash -c "echo '0 0' > $F/mcast_join"
check bash -c "echo '1 0 5000 nosuchdev' > $F/mcast_done"
if bash -c "echo '1 0 5001' > $F/mcast_done" 2>/dev/null; then fail "mcast_done took a delay above 5 s"; fi
check bash -c "echo '0 0' > $F/mcast_done"
# flush: delay only (a flush cannot fail), up to 2 s
check bash -c "echo '1 0 2000 nosuchdev' > $F/flush"
if bash -c "echo '1 0 2001' > $F/flush" 2>/dev/null; then fail "flush took a delay above 2 s"; fi
if bash -c "echo '1 5 10' > $F/flush" 2>/dev/null; then fail "flush took an errno"; fi
check bash -c "echo '0 0' > $F/flush"
for k in rx_alloc path_resolve post_recv cm_send_short; do
	if bash -c "echo '1 0 1' > $F/$k" 2>/dev/null; then fail "$k (atomic) took a delay"; fi
done

# a long join delay ends when the interface goes down: the down (rtnl held,
# flushing the interface's queue, where the join task sleeps) returns before
# the delay, which began after the up, could have run out
check ip link set ib0.8001 down
inj0=$(injected mcast_join)
echo "1 0 10000 ib0.8001" >$F/mcast_join
t_up=$(date +%s%N)
check ip link set ib0.8001 up
wait_for 30 sh -c "[ \$(awk '{ print \$5 }' $F/mcast_join) -gt $inj0 ]"
check ip link set ib0.8001 down
t_down=$(date +%s%N)
log "up, delayed join, down: $(((t_down - t_up) / 1000000)) ms (the delay: 10000 ms)"
((t_down - t_up < 10000000000)) || fail "the down waited for the whole join delay"
echo "0 0" >$F/mcast_join
check ip link set ib0.8001 up
wait_carrier ib0.8001

# a join completion that fails while the interface goes down must not re-arm
# the join task after ipoib_mcast_stop(): mcast_done fails ib0.8001's next
# completion and holds the retry it arms back by 3 s, and the child is taken
# down inside that window (the driver WARNs if the task is left armed, and
# uninit would free it armed); up again, the child joins
check ip link set ib0.8001 down
echo "1 110 3000 ib0.8001" >$F/mcast_done
check ip link set ib0.8001 up
wait_for 30 sh -c "[ \$(awk '{ print \$5 }' $F/mcast_done) = 1 ]"
check ip link set ib0.8001 down
check ip link set ib0.8001 up
wait_carrier ib0.8001 90

# address handles die before their PD: neighbours with resolved paths (link-local
# GIDs resolve locally on RoCE) hold AHs when ethtool -G replaces the PD; the driver
# WARNs if one outlives it (and would destroy it on the freed PD later)
D=/sys/kernel/debug/ipoib
ll() { printf '00:%02x:00:%02x:fe:80:00:00:00:00:00:00:02:00:00:ff:fe:00:00:%02x' "$1" "$2" "$3"; }
mc() { printf '00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:de:ad:00:%02x' "$1"; }
poke() { # IP LLADDR: the neighbour a forged ARP reply would install, and one send
	check ip neigh replace "$1" dev ib0 nud permanent lladdr "$2"
	ping -c 1 -W 1 "$1" >/dev/null 2>&1 || true
}
for i in 1 2 3 4; do poke 198.18.2.$((200 + i)) "$(ll 0 $i $i)"; done
wait_for 30 sh -c "[ \$(grep -c 'resolved:   yes' $D/ib0_path) -ge 4 ]"
check ethtool -G ib0 rx 128
wait_carrier
ip neigh flush dev ib0 nud permanent

# bounds: neighbours, paths and send-only groups a sender's addresses can create;
# sends beyond a bound are dropped and counted
P=/sys/module/ib_ipoib/parameters
echo 2 >$P/max_paths
for i in 1 2 3 4 5 6; do poke 198.18.2.$((210 + i)) "$(ll 0 $i $((16 + i)))"; done
n=$(grep -c '^GID:' $D/ib0_path)
log "paths with max_paths 2: $n, refused $(nic_stat tx_path_refused ib0)"
((n <= 2)) || fail "$n paths beyond max_paths 2"
(($(nic_stat tx_path_refused ib0) >= 4)) || fail "path refusals not counted"
echo 4096 >$P/max_paths
ip neigh flush dev ib0 nud permanent
echo 3 >$P/max_neighbours
for i in 1 2 3 4 5 6; do poke 198.18.2.$((220 + i)) "$(ll $i 0 32)"; done
(($(nic_stat tx_neigh_refused ib0) >= 3)) || fail "neighbour refusals: $(nic_stat tx_neigh_refused ib0)"
echo 16384 >$P/max_neighbours
ip neigh flush dev ib0 nud permanent
# the stack's own send-only groups (IPv6 neighbour discovery) count too, and
# may be reaped (idle) meanwhile: at most the bound's worth of forged groups
# can ever be accepted, the rest of the six must be refused
n0=$(grep -c 'member:   send-only' $D/ib0_mcg || true)
max=$((n0 + 2))
echo $max >$P/max_sendonly_groups
for i in 1 2 3 4 5 6; do poke 198.18.2.$((230 + i)) "$(mc $i)"; done
n=$(grep -c 'member:   send-only' $D/ib0_mcg || true)
log "send-only groups with max_sendonly_groups $max: $n, refused $(nic_stat tx_mcast_refused ib0)"
((n <= max)) || fail "$n send-only groups beyond the bound $max"
(($(nic_stat tx_mcast_refused ib0) >= 6 - max)) || fail "send-only refusals not counted"
grep -q 'de:ad\|dead:' $D/ib0_mcg || fail "no forged group joined at all: $(cat $D/ib0_mcg)"
echo 256 >$P/max_sendonly_groups
ip neigh flush dev ib0 nud permanent
check ping -c 1 -W 2 "$MY_IB_IP"

check bash -c "echo 0x8001 > $sys/delete_child"
check ip link del ib0.8002
