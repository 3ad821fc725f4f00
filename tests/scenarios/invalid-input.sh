# Every invalid value a user can write is refused with the errno users
# expect, and changes nothing: module parameters, sysfs (mode, umcast,
# with and without newlines, huge values, non-root writers), netlink
# (mode, umcast, pkey), ethtool (rings, coalescing).  A mode switch whose
# MTU cannot be applied (fault mtu_apply) fails, over netlink with the
# reason, and leaves mode, MTU and umcast as they were.
# guests: 1
# timeout: 300
# ipoib: no
#
#   +-------------------------------------------+
#   | a  rxe0 on eth0; ib_ipoib loaded here     |
#   |    with bad, then extreme, then default   |
#   |    parameters                             |
#   +-------------------------------------------+

sys=/sys/class/net/ib0

# module parameters: garbage is refused at load time, extremes are clamped
for bad in "send_queue_size=abc" "recv_queue_size=" "send_queue_size=1x" "debug_level=zz" \
	"max_nonsrq_conn_qp=abc" "max_nonsrq_conn_qp=1x"; do
	if insmod "$LAB_MODULE" "$bad" 2>err; then fail "insmod $bad loaded"; fi
	log "insmod $bad refused: $(cat err)"
	[[ ! -e /sys/module/ib_ipoib ]] || fail "module loaded by a bad parameter"
done
load_ipoib send_queue_size=0 recv_queue_size=100000
wait_ib0
[[ $(cat /sys/module/ib_ipoib/parameters/send_queue_size) == 2 ]] ||
	fail "send_queue_size=0 became $(cat /sys/module/ib_ipoib/parameters/send_queue_size)"
[[ $(cat /sys/module/ib_ipoib/parameters/recv_queue_size) == 8192 ]] ||
	fail "recv_queue_size=100000 became $(cat /sys/module/ib_ipoib/parameters/recv_queue_size)"
ipoib_up
wait_carrier
check ping -c 3 -i 0.2 "$MY_IB_IP"
# read-only parameters stay read-only
if bash -c "echo 64 > /sys/module/ib_ipoib/parameters/send_queue_size" 2>/dev/null; then
	fail "send_queue_size is writable"
fi
check rmmod ib_ipoib
load_ipoib
wait_ib0
ipoib_up
wait_carrier

# expect ERRNO-TEXT FILE VALUE [user]: the write fails with that error
expect() {
	local want=$1 file=$2 val=$3 out
	if [[ ${4:-} == user ]]; then
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
			bash -c "printf '%b' '$val' >$file" 2>&1) && fail "non-root '$val' > $file succeeded"
	else
		out=$(bash -c "printf '%b' '$val' >$file" 2>&1) && fail "'$val' > $file succeeded"
	fi
	grep -qi "$want" <<<"$out" || fail "'$val' > $file: wanted '$want', got: $out"
}
state() { cat $sys/mode $sys/umcast $sys/pkey; ip -d link show ib0 | grep -o "pkey.*"; }
before=$(state)

# mode: names with and without newline
check bash -c "printf 'datagram' > $sys/mode"
check bash -c "printf 'datagram\n' > $sys/mode"
check bash -c "printf 'connected' > $sys/mode"
[[ $(cat $sys/mode) == connected && $(cat $sys/mtu) == 65520 ]] ||
	fail "connected: mode $(cat $sys/mode), MTU $(cat $sys/mtu)"
check bash -c "printf 'connected\n' > $sys/mode"
check bash -c "printf 'datagram\n' > $sys/mode"
[[ $(cat $sys/mode) == datagram && $(cat $sys/mtu) -le 4092 ]] ||
	fail "back to datagram: mode $(cat $sys/mode), MTU $(cat $sys/mtu)"
# (a value with a newline inside reaches sysfs as one write per line from bash's
# printf, so 'connected\n\n' would first set connected: not a case here)
for v in 'Datagram' 'datagramx' 'dat' ' datagram' '' '\n' 'connectedx' 'connected datagram'; do
	[[ -z $v ]] && continue
	expect "invalid argument" $sys/mode "$v"
done
expect "permission denied" $sys/mode 'datagram' user

# umcast: 0 or 1, nothing else
for v in 2 -1 abc 99999999999999999999 '0x' '1 1' 'yes' 'on' '01x'; do
	expect "invalid argument" $sys/umcast "$v"
done
expect "permission denied" $sys/umcast 1 user
[[ $(state) == "$before" ]] || fail "refused sysfs writes changed state: $(state)"
check bash -c "echo 1 > $sys/umcast"
[[ $(cat $sys/umcast) == 1 ]] || fail "umcast 1 not applied"
check bash -c "echo 0 > $sys/umcast"

# netlink
check ip link add link ib0 name ib0.8001 type ipoib pkey 0x8001
nl_before=$(ip -d link show ib0.8001 | grep -o "pkey.*")
for args in "umcast 2" "mode 7" "pkey 0x8002"; do
	# shellcheck disable=SC2086
	if ip link set ib0.8001 type ipoib $args 2>err; then fail "ip link set type ipoib $args accepted"; fi
	log "ip link set ib0.8001 type ipoib $args refused: $(cat err)"
done
[[ $(ip -d link show ib0.8001 | grep -o "pkey.*") == "$nl_before" ]] || fail "refused netlink changed state"
check ip link set ib0.8001 type ipoib mode connected
ip -d link show ib0.8001 | grep -q "mode connected" || fail "netlink mode connected: $(ip -d link show ib0.8001)"
check ip link set ib0.8001 type ipoib mode datagram

# a mode switch whose MTU cannot be applied changes nothing, either way
F=/sys/kernel/debug/ipoib/fault
c=/sys/class/net/ib0.8001
nl_state() { echo "$(cat $c/mode $c/mtu $c/umcast) $(ip -d link show ib0.8001 | grep -o "mode [a-z]*")"; }
for from in datagram connected; do
	to=connected
	[[ $from == datagram ]] || to=datagram
	check ip link set ib0.8001 type ipoib mode $from
	s0=$(nl_state)
	echo "1 16 0 ib0.8001" >$F/mtu_apply
	if ip link set ib0.8001 type ipoib mode $to umcast 1 2>err; then
		fail "mode $from -> $to accepted with its MTU refused: $(nl_state)"
	fi
	log "mode $from -> $to with the MTU refused: $(cat err)"
	grep -qi "mtu" err || fail "no reason given for the refused mode: $(cat err)"
	[[ $(awk '{ print $1 }' $F/mtu_apply) == 0 ]] || fail "mtu_apply fault not taken: $(cat $F/mtu_apply)"
	[[ $(nl_state) == "$s0" ]] || fail "refused mode $to changed state: $(nl_state), was $s0"
	echo "1 16 0 ib0.8001" >$F/mtu_apply
	expect "busy" $c/mode "$to"
	[[ $(nl_state) == "$s0" ]] || fail "refused sysfs mode $to changed state: $(nl_state), was $s0"
done
echo "0 0" >$F/mtu_apply
check ip link set ib0.8001 type ipoib mode datagram
for p in 0 0x8000 0x10000; do
	if ip link add link ib0 name bad type ipoib pkey $p 2>/dev/null; then fail "pkey $p accepted"; fi
done
[[ ! -e /sys/class/net/bad ]] || fail "a refused link exists"
if setpriv --reuid=65534 --regid=65534 --clear-groups ip link add link ib0 name bad type ipoib pkey 0x8005 2>err; then
	fail "non-root ip link add succeeded"
fi
check ip link del ib0.8001

# ethtool
ring=$(ethtool -g ib0)
for bad in "rx 0" "tx 1" "rx 9000" "tx 4294967295"; do
	# shellcheck disable=SC2086
	if ethtool -G ib0 $bad 2>/dev/null; then fail "ethtool -G $bad accepted"; fi
done
if setpriv --reuid=65534 --regid=65534 --clear-groups ethtool -G ib0 rx 64 2>/dev/null; then
	fail "non-root ethtool -G succeeded"
fi
[[ $(ethtool -g ib0) == "$ring" ]] || fail "refused ethtool -G changed the rings"
if ethtool -C ib0 rx-usecs 100000 2>/dev/null; then fail "rx-usecs 100000 accepted"; fi
[[ $(state) == "$before" ]] || fail "state changed: $(state)"
check ping -c 3 -i 0.2 "$MY_IB_IP"
