# Child P_Key interfaces through sysfs and netlink: names, attributes,
# traffic on each child, invalid input refused with nothing changed (a sysfs
# child with the parent's P_Key too), netlink children sharing one P_Key (one
# per namespace, same name in each, as ipoib-cni makes them), parent down/up
# carrying the children, a child brought up while its parent is down, and a
# child in a network namespace that comes back when the namespace is deleted.
# guests: 2
# timeout: 480
#
#   +-----------------------------+                +-----------------------------+
#   | a  ib0        198.18.2.1    |                | b  ib0        198.18.2.2    |
#   |    ib0.8001   198.18.3.1  (sysfs create_child 0x8001)     ib0.8001 198.18.3.2 |
#   |    ib0.8002   198.18.4.1  (ip link add type ipoib)       ib0.8002 198.18.4.2 |
#   |    pod1, pod2 (pkey 0x8002, netlink)                      |                  |
#   |    ns p1: pod1 as net1 198.18.4.11                        |                  |
#   |    ns p2: pod2 as net1 198.18.4.12                        |                  |
#   |    ns t1: ib0.8002 moved in and back                      |                  |
#   +-----------------------------+================+-----------------------------+
#                                   UD over RoCE v2

n=${NODE/a/1}
n=${n/b/2}
p=${PEER/a/1}
p=${p/b/2}
sys=/sys/class/net/ib0

expect_errno() { # ERRNO-TEXT FILE VALUE [as-user]
	local want=$1 file=$2 val=$3 out
	if [[ ${4:-} == user ]]; then
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
			sh -c "printf '%s' '$val' >$file" 2>&1) && fail "non-root write '$val' > $file succeeded"
	else
		out=$(bash -c "printf '%s' '$val' >$file" 2>&1) && fail "write '$val' > $file succeeded"
	fi
	grep -qi "$want" <<<"$out" || fail "write '$val' > $file: expected '$want', got: $out"
	log "refused '$val' > ${file##*/}: $want"
}

children() { ls -d /sys/class/net/ib0.* 2>/dev/null | sort | tr '\n' ' '; }

wait_ib0
wait_carrier

# --- sysfs ---
check bash -c "echo 0x8001 > $sys/create_child"
wait_for 10 test -e /sys/class/net/ib0.8001
[[ $(cat /sys/class/net/ib0.8001/pkey) == 0x8001 ]] || fail "ib0.8001 pkey $(cat /sys/class/net/ib0.8001/pkey)"
[[ $(cat /sys/class/net/ib0.8001/parent) == ib0 ]] || fail "ib0.8001 parent"
[[ $(cat /sys/class/net/ib0.8001/mode) == datagram ]] || fail "ib0.8001 mode"
[[ $(cat /sys/class/net/ib0.8001/umcast) == 0 ]] || fail "ib0.8001 umcast"
[[ ! -e /sys/class/net/ib0.8001/create_child ]] || fail "a child offers create_child"
[[ ! -e $sys/parent ]] || fail "the parent has a parent attribute"

# decimal works too; 1 means P_Key 0x8001 (the full-membership bit is set),
# a duplicate of ib0.8001
check bash -c "echo 32771 > $sys/create_child"
wait_for 10 test -e /sys/class/net/ib0.8003
[[ $(cat /sys/class/net/ib0.8003/pkey) == 0x8003 ]] || fail "ib0.8003 pkey"
expect_errno "not unique" $sys/create_child 3
before=$(children)
log "children: $before"

# invalid input changes nothing
for v in 0 0x8000 0x10000 65536 -1 abc 0x80zz " " 0x 99999999999999999999; do
	expect_errno "invalid argument" $sys/create_child "$v"
	expect_errno "invalid argument" $sys/delete_child "$v"
done
expect_errno "not unique" $sys/create_child 0x8001
# the parent's own P_Key, in either membership form, is taken (as in-tree)
ppkey=$(cat $sys/pkey)
expect_errno "not unique" $sys/create_child "$ppkey"
expect_errno "not unique" $sys/create_child "$(printf '0x%04x' $((ppkey & 0x7fff)))"
expect_errno "no such device" $sys/delete_child 0x8005
expect_errno "permission denied\|not permitted" $sys/create_child 0x8003 user
expect_errno "permission denied\|not permitted" $sys/delete_child 0x8001 user
[[ $(children) == "$before" ]] || fail "refused writes changed the children: $(children)"

# 0x0003 names the same partition as ib0.8003
check bash -c "echo 0x0003 > $sys/delete_child"
wait_for 10 test ! -e /sys/class/net/ib0.8003
[[ -e /sys/class/net/ib0.8001 ]] || fail "deleting 0x0003 removed ib0.8001"

# --- netlink ---
check ip link add link ib0 name ib0.8002 type ipoib pkey 0x8002
ip -d link show ib0.8002 | grep -q "pkey *0x8002" || fail "ip -d link: $(ip -d link show ib0.8002)"
ip -d link show ib0.8002 | grep -q "mode *datagram" || fail "ip -d link mode"
check ip link set ib0.8002 type ipoib umcast 1
[[ $(cat /sys/class/net/ib0.8002/umcast) == 1 ]] || fail "umcast through netlink"
check ip link set ib0.8002 type ipoib umcast 0
if ip link add link ib0.8002 name bad0 type ipoib pkey 0x8003 2>err; then fail "child of a child"; fi
log "child of a child refused: $(cat err)"
if ip link add link eth0 name bad1 type ipoib pkey 0x8003 2>err; then fail "ipoib on eth0"; fi
log "ipoib on eth0 refused: $(cat err)"
if ip link add link ib0 name bad2 type ipoib pkey 0x8000 2>err; then fail "pkey 0x8000"; fi
[[ ! -e /sys/class/net/bad0 && ! -e /sys/class/net/bad1 && ! -e /sys/class/net/bad2 ]] ||
	fail "a refused link exists"
# netlink children may share a P_Key (and the parent's); sysfs delete_child
# names only sysfs children, so it leaves them alone
if [[ $NODE == a ]]; then
	check ip link add link ib0 name pod1 type ipoib pkey 0x8002
	check ip link add link ib0 name pod2 type ipoib pkey 0x8002
	check ip link add link ib0 name pod3 type ipoib
	[[ $(cat /sys/class/net/pod2/pkey) == 0x8002 ]] || fail "pod2 pkey $(cat /sys/class/net/pod2/pkey)"
	[[ $(cat /sys/class/net/pod3/pkey) == "$ppkey" ]] || fail "pod3 pkey $(cat /sys/class/net/pod3/pkey)"
	expect_errno "no such device" $sys/delete_child 0x8002
	[[ -e /sys/class/net/ib0.8002 && -e /sys/class/net/pod1 ]] || fail "delete_child removed a netlink child"
	check ip link del pod3
fi

# --- traffic on every child ---
check ip link set ib0.8001 up
check ip link set ib0.8002 up
check ip addr add "198.18.3.$n/24" dev ib0.8001
check ip addr add "198.18.4.$n/24" dev ib0.8002
wait_carrier ib0.8001
wait_carrier ib0.8002
barrier children-up
wait_for 60 ping -c 1 -W 1 "198.18.3.$p"
wait_for 60 ping -c 1 -W 1 "198.18.4.$p"
ping_burst ib0.8001 "198.18.3.$p"
ping_burst ib0.8002 "198.18.4.$p"
# each child joined its own broadcast group and has its own QP
[[ $(cat /sys/class/net/ib0.8001/broadcast) == *":12:40:1b:80:01:"* ]] || fail "ib0.8001 broadcast"
[[ $(cut -c1-11 /sys/class/net/ib0.8001/address) != $(cut -c1-11 $sys/address) ]] ||
	fail "child shares the parent's QPN"
barrier traffic-done

# --- parent down takes children down; up brings them back ---
if [[ $NODE == a ]]; then
	check ip link set ib0 down
	for c in ib0.8001 ib0.8002; do
		ip link show "$c" | grep -q ",UP" && fail "$c still up with its parent down"
	done
	# a child opens under a down parent (as in-tree, as VLANs do) and waits
	# without carrier; the parent's up starts it
	check ip link set ib0.8001 up
	ip link show ib0.8001 | grep -q ",UP" || fail "ib0.8001 not UP after its up"
	[[ $(cat /sys/class/net/ib0.8001/carrier) == 0 ]] || fail "ib0.8001 has carrier under a down parent"
	wait_for 10 grep -qx lowerlayerdown /sys/class/net/ib0.8001/operstate
	check ip link set ib0 up
	for c in ib0.8001 ib0.8002; do
		wait_for 30 sh -c "ip link show $c | grep -q ',UP'"
		wait_carrier "$c"
	done
fi
barrier updown-done
wait_for 60 ping -c 1 -W 1 "198.18.3.$p"
ping_burst ib0.8001 "198.18.3.$p"

# --- netlink children with one P_Key, one per namespace, one name ---
if [[ $NODE == a ]]; then
	for i in 1 2; do
		check ip netns add "p$i"
		check ip link set "pod$i" netns "p$i" name net1
		check ip -n "p$i" link set net1 up
		check ip -n "p$i" addr add "198.18.4.1$i/24" dev net1
		inum=$(stat -L -c %i "/run/netns/p$i")
		test -e "/sys/kernel/debug/ipoib/net1@${inum}_mcg" ||
			fail "no debugfs file for net1 in p$i: $(ls /sys/kernel/debug/ipoib)"
	done
	for i in 1 2; do
		wait_for 60 ip netns exec "p$i" ping -c 1 -W 1 198.18.4.2
		wait_for 30 sh -c "ip netns exec p$i ping -c 20 -i 0.05 -W 1 -q 198.18.4.2 | grep -q ' 0% packet loss'"
	done
	# the sibling with the same P_Key in init_net still works
	ping_burst ib0.8002 198.18.4.2
	for i in 1 2; do
		check ip -n "p$i" link del net1
		check ip netns del "p$i"
	done
fi
barrier pods-done 240

# --- a child in a namespace, refunded when the namespace dies ---
if [[ $NODE == a ]]; then
	check ip netns add t1
	check ip link set ib0.8002 netns t1
	[[ ! -e /sys/class/net/ib0.8002 ]] || fail "ib0.8002 still in init_net"
	check ip -n t1 link set ib0.8002 up
	check ip -n t1 addr add 198.18.4.1/24 dev ib0.8002
	wait_for 60 ip netns exec t1 ping -c 1 -W 1 198.18.4.2
	check ip netns del t1
	wait_for 30 test -e /sys/class/net/ib0.8002
	log "ib0.8002 is back in init_net"
	check ip link set ib0.8002 up
	check ip addr add 198.18.4.1/24 dev ib0.8002
	wait_for 60 ping -c 1 -W 1 198.18.4.2
fi
barrier ns-done

# --- deletion through both paths ---
check bash -c "echo 0x8001 > $sys/delete_child"
check ip link del ib0.8002
[[ -z $(children) ]] || fail "children left: $(children)"
barrier done
