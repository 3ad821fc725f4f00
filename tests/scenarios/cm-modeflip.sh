# Connected-mode lifecycle under traffic: both guests flip ib0 and a child
# (ib0.8001) between connected and datagram 50 times each, unsynchronised,
# alternating sysfs (with and without a newline) and netlink, while pings
# (small and 20000-byte ones) run both ways on both interfaces; after every
# flip the mode and MTU are what was asked, after every fifth traffic flows
# again. Then a clean burst in connected mode; then, with connections live,
# a unloads ib_ipoib (rmmod must return) and loads it again; then b deletes
# its rxe0 (`rdma link delete`) with connections live and adds it back.
# Traffic works after each.
# guests: 2
# timeout: 1200
#
#   +-------------------------------+   pings both ways, both ifs   +-------------------------------+
#   | a  ib0      198.18.2.1        |===============================| b  ib0      198.18.2.2        |
#   |    ib0.8001 198.18.3.1        |===============================|    ib0.8001 198.18.3.2        |
#   |    50 x connected <-> datagram|   RC and UD, modes mixed      |    50 x connected <-> datagram|
#   |    then rmmod / insmod        |                               |    then rdma link del / add   |
#   +-------------------------------+                               +-------------------------------+

# shellcheck shell=bash
n=${NODE/a/1}
n=${n/b/2}
p=${PEER/a/1}
p=${p/b/2}
C=ib0.8001
CM_MTU=65520
FLIPS=50

# set_mode IF MODE sysfs|sysfs-nl|netlink: switch IF; check the mode and MTU that result.
set_mode() {
	local ifc=$1 mode=$2 how=$3 mtu
	case $how in
	sysfs) bash -c "printf '%s' $mode > /sys/class/net/$ifc/mode" ;;
	sysfs-nl) bash -c "echo $mode > /sys/class/net/$ifc/mode" ;;
	netlink) ip link set dev "$ifc" type ipoib mode "$mode" ;;
	esac || fail "$ifc -> $mode through $how failed"
	[[ $(<"/sys/class/net/$ifc/mode") == "$mode" ]] || fail "$ifc mode $(<"/sys/class/net/$ifc/mode") after $how -> $mode"
	mtu=$(<"/sys/class/net/$ifc/mtu")
	if [[ $mode == connected ]]; then
		((mtu == CM_MTU)) || fail "$ifc MTU $mtu in connected mode"
	else
		((mtu <= DGRAM_MTU)) || fail "$ifc MTU $mtu in datagram mode (limit $DGRAM_MTU)"
	fi
}

# child_up sysfs|netlink: create ib0.8001 that way, bring it up with this node's address.
child_up() {
	if [[ $1 == sysfs ]]; then
		check bash -c "echo 0x8001 > /sys/class/net/ib0/create_child"
	else
		check ip link add link ib0 name $C type ipoib pkey 0x8001
	fi
	wait_for 10 test -e /sys/class/net/$C
	check ip link set $C up
	check ip addr add "198.18.3.$n/24" dev $C
}

# both_rx R0 R1: ib0 received since its rx_packets was R0, and the child since R1.
both_rx() { (($(rx_count ib0) > $1 && $(rx_count $C) > $2)); }

LOADS=()
start_load() {
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	LOADS+=($!)
	ping -q -i 0.05 -W 1 -s 20000 "$PEER_IB_IP" >/dev/null 2>&1 &
	LOADS+=($!)
	ping -q -i 0.01 -W 1 "198.18.3.$p" >/dev/null 2>&1 &
	LOADS+=($!)
	ping -6 -q -i 0.05 -W 1 "$PEER_IB_IP6" >/dev/null 2>&1 &
	LOADS+=($!)
}
stop_load() {
	((${#LOADS[@]})) || return 0
	kill "${LOADS[@]}" 2>/dev/null || true
	wait "${LOADS[@]}" 2>/dev/null || true
	LOADS=()
}

# both_connected: ib0 and the child to connected (if not already), and working.
both_connected() {
	[[ $(</sys/class/net/ib0/mode) == connected ]] || set_mode ib0 connected sysfs-nl
	[[ $(</sys/class/net/$C/mode) == connected ]] || set_mode $C connected netlink
	wait_carrier
	wait_carrier "$C"
}

# clean_traffic TAG: once both sides are back, clean bursts on ib0 and on the child,
# small and 30000 bytes (one at a time, see cm-ping.sh). Without DF: a large packet sent
# while the peer was in datagram mode (or its connection not up yet) went over UD and
# came back as ICMP fragmentation-needed, which leaves the kernel with a path MTU of
# 4092 for that peer for minutes; the connection carries the fragments all the same.
clean_traffic() {
	barrier "$1"
	wait_for 90 ping -c 1 -W 2 "$PEER_IB_IP"
	wait_for 90 ping -c 1 -W 2 "198.18.3.$p"
	wait_for 90 ping -c 1 -W 3 -s 30000 "$PEER_IB_IP"
	ping_burst_late ib0 "$PEER_IB_IP"
	ping_burst_late ib0 "$PEER_IB_IP" -s 30000 -A
	ping_burst_late $C "198.18.3.$p"
	ping_burst_late $C "198.18.3.$p" -s 30000 -A
	conn_used ib0 "$PEER_IB_IP"
	conn_used $C "198.18.3.$p"
	barrier "$1-clean"
}

# conn_used IF DEST: IF reaches DEST over a connection: a ping goes out over it.  An
# attempt can fail while the peer is still settling (a lost CM message costs one ~8 s
# REQ timeout; a refusal backs off 10 s) and the traffic meanwhile goes over UD, so
# allow for a few attempts, keeping traffic going.  A connection count alone proves
# nothing here: after the peer reloaded, the connection to its old QP may still be
# counted until its DREQ or a timeout ends it.
conn_used() {
	local ifc=$1 dest=$2 t0
	t0=$(nic_stat cm_tx_packets "$ifc")
	poll 60 _ping_conn "$ifc" "$dest" "$t0" && return 0
	log_counters
	dmesg | grep -E "ib_ipoib|$ifc" | tail -n 40
	fail "$ifc sent nothing to $dest over a connection after clean traffic" \
		"($(nic_stat cm_tx_conns "$ifc") connections," \
		"$(nic_stat cm_tx_connect_failed "$ifc") failed attempts)"
}
_ping_conn() { ping -c 1 -W 2 "$2" >/dev/null; (($(nic_stat cm_tx_packets "$1") > $3)); }

# live_conns: wait until ib0 and the child each have active and passive connections.
live_conns() {
	local i
	for i in ib0 $C; do
		wait_for 60 nic_ge cm_tx_conns 1 "$i"
		wait_for 60 nic_ge cm_rx_conns 1 "$i"
	done
	log "live: ib0 tx $(nic_stat cm_tx_conns) rx $(nic_stat cm_rx_conns)," \
		"$C tx $(nic_stat cm_tx_conns $C) rx $(nic_stat cm_rx_conns $C)"
}

# the driver's debug messages say why a connection attempt failed (dmesg, artefacts)
ipoib_debug_on
wait_ib0
wait_carrier
DGRAM_MTU=$(</sys/class/net/ib0/mtu)
((DGRAM_MTU <= 4092)) || fail "datagram MTU $DGRAM_MTU"
child_up netlink
wait_carrier "$C"
both_connected
barrier up
wait_for 90 ping -c 1 -W 2 "$PEER_IB_IP"
wait_for 90 ping -c 1 -W 2 "198.18.3.$p"
barrier ready

# --- 50 flips on each interface, both guests at once, under load ---
start_load
for ((i = 1; i <= FLIPS; i++)); do
	if ((i % 2)); then mode=datagram; else mode=connected; fi
	# each mode is reached through each way in turn: sysfs, sysfs with newline, netlink
	case $(((i - 1) / 2 % 3)) in
	0) how=sysfs other=netlink ;;
	1) how=sysfs-nl other=sysfs ;;
	*) how=netlink other=sysfs-nl ;;
	esac
	set_mode ib0 "$mode" "$how"
	set_mode $C "$mode" "$other"
	# Most flips come back to back, catching connections being set up or torn down;
	# after every fifth, traffic must be received on both again (the peer may be
	# mid-flip: modes mix), so that the next flips hit live connections too.
	((i % 5 == 0)) || continue
	r0=$(rx_count ib0)
	r1=$(rx_count $C)
	wait_for 60 both_rx "$r0" "$r1"
	log "flip $i: ib0 $mode ($how), $C $mode ($other); ib0 tx/rx connections" \
		"$(nic_stat cm_tx_conns)/$(nic_stat cm_rx_conns)"
done
stop_load
log "after $FLIPS flips: ib0 $(</sys/class/net/ib0/mode), $C $(</sys/class/net/$C/mode)"
both_connected
clean_traffic flips

# --- rmmod on a with connections live (and traffic), then reload ---
start_load
live_conns
barrier conns-live
if [[ $NODE == a ]]; then
	check rmmod ib_ipoib
	[[ ! -e /sys/module/ib_ipoib ]] || fail "module still loaded"
	[[ ! -e /sys/class/net/ib0 && ! -e /sys/class/net/$C ]] || fail "an interface survived rmmod"
	load_ipoib
	ipoib_debug_on
	wait_ib0
	ipoib_up
	child_up sysfs
	both_connected
	signal a-reloaded
else
	wait_signal a-reloaded 180
fi
stop_load
clean_traffic reload

# --- rdma link delete on b with connections live (and traffic), then add back ---
start_load
live_conns
barrier conns-live-2
if [[ $NODE == b ]]; then
	check rdma link delete rxe0
	[[ ! -e /sys/class/net/ib0 && ! -e /sys/class/net/$C ]] || fail "an interface survived device removal"
	check rdma link add rxe0 type rxe netdev eth0
	wait_for 30 port_active rxe0 1
	wait_ib0
	ipoib_up
	child_up netlink
	both_connected
	signal b-readded
else
	wait_signal b-readded 180
fi
stop_load
clean_traffic readd
log "ib0: $(nic_stat cm_tx_conns) tx / $(nic_stat cm_rx_conns) rx connections," \
	"$(nic_stat cm_tx_connect_failed) failed attempts," \
	"$(nic_stat cm_tx_ud_fallback) UD fallbacks, $(nic_stat cm_icmp_too_big) too-big"
