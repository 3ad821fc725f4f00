# Connected-mode lifecycle under traffic (the project's ib_ipoib on the softib subnet;
# was the two-guest RoCE scenario cm-modeflip): h0 and h1 each flip their parent and a
# P_Key child (0x8001, a partition of opensm's partitions.conf) between connected and
# datagram 25 times, both hosts at once and unsynchronised, alternating sysfs (with
# and without a newline) and netlink, while pings (small and 20000-byte ones, IPv4 and
# IPv6) run both ways on both interfaces; after every flip the mode and MTU are what
# was asked, after every fifth traffic flows again. Then clean bursts in connected
# mode, each interface using a connection. Then, with connections live and traffic
# running, ib_ipoib is unloaded (rmmod must return) and loaded again; then, again
# with connections live, softib is unloaded (every HCA unregistered under the loaded
# driver, as `rdma link delete` did to rxe0 in the RoCE original: the driver's
# device-removal path) and loaded again with a new opensm. Traffic works after each.
#
# 25 flips instead of the original's 50: the ways cycle with period 6 (datagram and
# connected, each through sysfs, sysfs with newline and netlink, the child through
# another way than the parent), so 25 flips reach every (mode, way) pair at least 4
# times on each of the four interfaces, and the traffic checks (flips 5, 10, 15, 20,
# 25) follow both modes and all three ways; the other 25 repeated the same pairs.
# Not covered as the original did: one host's HCA going while its peer keeps its
# own (softib has no per-HCA hot-remove; both HCAs go here, so no host keeps a
# connection to a vanished device: that is softib-ours-cm-peer-gone's cable pull).
# guests: 1
# timeout: 600
# ipoib: no
#
#   +------------------------------------------------------------------------+
#   | a   softib.ko hcas=2, the project's ib_ipoib                          |
#   |                                                                        |
#   |  netns h0: ibX      198.18.3.1 -- softib0 p1 --+ switch                |
#   |            ibX.8001 198.18.4.1  (0x8001 full)  |   pings both ways,    |
#   |  netns h1: ibY      198.18.3.2 -- softib1 p1 --+   both interfaces,    |
#   |            ibY.8001 198.18.4.2  (0x8001 full)      RC and UD mixed     |
#   |  each host: 25 x connected <-> datagram on both, then rmmod ib_ipoib,  |
#   |  then rmmod softib (connections live), each loaded again               |
#   |  opensm on softib0 port 1, partitions.conf: Default, P1=0x8001         |
#   +------------------------------------------------------------------------+

SIB_DRIVER=ours
SIB_DEBUG=1 # why a connection attempt failed (dmesg, artefacts)
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

CM_MTU=65520
FLIPS=25

# the child and its addresses (inside sib_host: C is this host's child)
cip() { echo "198.18.4.$(($1 + 1))"; }
C=${IB_IF:-}.8001
CPEER_IP=$(cip "${SIB_PEER:-0}")

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

# both_rx R0 R1: the parent received since its rx_packets was R0, and the child since R1.
both_rx() { (($(rx_count "$IB_IF") > $1 && $(rx_count "$C") > $2)); }

LOADS=()
start_load() {
	ping -q -i 0.01 -W 1 "$PEER_IB_IP" >/dev/null 2>&1 &
	LOADS+=($!)
	ping -q -i 0.05 -W 1 -s 20000 "$PEER_IB_IP" >/dev/null 2>&1 &
	LOADS+=($!)
	ping -q -i 0.01 -W 1 "$CPEER_IP" >/dev/null 2>&1 &
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

# both_connected (a host): parent and child to connected (if not already), and up.
both_connected() {
	[[ $(<"/sys/class/net/$IB_IF/mode") == connected ]] || set_mode "$IB_IF" connected sysfs-nl
	[[ $(<"/sys/class/net/$C/mode") == connected ]] || set_mode "$C" connected netlink
	wait_carrier
	wait_carrier "$C"
}

# flips DGRAM_MTU (a host): FLIPS flips of parent and child under its own load.
flips() {
	local i mode how other r0 r1
	DGRAM_MTU=$1
	start_load
	for ((i = 1; i <= FLIPS; i++)); do
		if ((i % 2)); then mode=datagram; else mode=connected; fi
		# each mode is reached through each way in turn: sysfs, sysfs with newline, netlink
		case $(((i - 1) / 2 % 3)) in
		0) how=sysfs other=netlink ;;
		1) how=sysfs-nl other=sysfs ;;
		*) how=netlink other=sysfs-nl ;;
		esac
		set_mode "$IB_IF" "$mode" "$how"
		set_mode "$C" "$mode" "$other"
		# Most flips come back to back, catching connections being set up or torn down;
		# after every fifth, traffic must be received on both again (the peer may be
		# mid-flip: modes mix), so that the next flips hit live connections too.
		((i % 5 == 0)) || continue
		r0=$(rx_count "$IB_IF")
		r1=$(rx_count "$C")
		wait_for 60 both_rx "$r0" "$r1"
		log "flip $i: $IB_IF $mode ($how), $C $mode ($other); tx/rx connections" \
			"$(nic_stat cm_tx_conns)/$(nic_stat cm_rx_conns)"
	done
	stop_load
	log "after $FLIPS flips: $IB_IF $(<"/sys/class/net/$IB_IF/mode"), $C $(<"/sys/class/net/$C/mode")"
	both_connected
}

# clean_traffic (a host, the peer back and connected): clean bursts on the parent and
# on the child, small and 30000 bytes (one at a time, see cm-ping.sh). Without DF: a
# large packet sent while the peer was in datagram mode (or its connection not up
# yet) went over UD and came back as ICMP fragmentation-needed, which leaves the
# kernel with a path MTU of 4092 for that peer for minutes; the connection carries
# the fragments all the same.
clean_traffic() {
	wait_for 90 ping -c 1 -W 2 "$PEER_IB_IP"
	wait_for 90 ping -c 1 -W 2 "$CPEER_IP"
	wait_for 90 ping -c 1 -W 3 -s 30000 "$PEER_IB_IP"
	ping_burst_late "$IB_IF" "$PEER_IB_IP"
	ping_burst_late "$IB_IF" "$PEER_IB_IP" -s 30000 -A
	ping_burst_late "$C" "$CPEER_IP"
	ping_burst_late "$C" "$CPEER_IP" -s 30000 -A
	conn_used "$IB_IF" "$PEER_IB_IP"
	conn_used "$C" "$CPEER_IP"
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
	klog | grep -E "ib_ipoib|$ifc" | tail -n 40
	fail "$ifc sent nothing to $dest over a connection after clean traffic" \
		"($(nic_stat cm_tx_conns "$ifc") connections," \
		"$(nic_stat cm_tx_connect_failed "$ifc") failed attempts)"
}
_ping_conn() { ping -c 1 -W 2 "$2" >/dev/null; (($(nic_stat cm_tx_packets "$1") > $3)); }

# live_conns (a host): the parent and the child each have active and passive connections.
live_conns() {
	local i
	for i in "$IB_IF" "$C"; do
		wait_for 60 nic_ge cm_tx_conns 1 "$i"
		wait_for 60 nic_ge cm_rx_conns 1 "$i"
	done
	log "live: $IB_IF tx $(nic_stat cm_tx_conns) rx $(nic_stat cm_rx_conns)," \
		"$C tx $(nic_stat cm_tx_conns "$C") rx $(nic_stat cm_rx_conns "$C")"
}

# load_bg (a host): start_load, then wait until the bash running sib_host is killed
load_bg() {
	start_load
	trap 'stop_load; exit 0' TERM
	while :; do sleep 1; done
}

[[ -z ${SIB_HOST:-} ]] || return 0 # sib_host: the functions only

# port GUIDs of seed 7 (softib README): softibN port 1 is 0x02feeb000007<N+1>01;
# partitions.conf written before opensm starts (sib_opensm_start keeps it)
g() { printf '0x02feeb000007%02x01' "$(($1 + 1))"; }
has_pkey() { grep -qx "$2" "/sys/class/infiniband/$1/ports/1/pkeys/"*; }

# hcif N: host N's child
hcif() { echo "${SIB_IF[$1]}.8001"; }

# child_up N sysfs|netlink: create host N's child that way, bring it up, address it.
# A child made through the parent's create_child is registered in the initial
# namespace (as the in-tree driver does): moved into hN like its parent.
child_up() {
	local n=$1 c
	c=$(hcif "$n")
	if [[ $2 == sysfs ]]; then
		check sib_in "$n" sh -c "echo 0x8001 >/sys/class/net/${SIB_IF[n]}/create_child"
		wait_for 10 test -e "/sys/class/net/$c"
		check ip link set "$c" netns "h$n"
	else
		check sib_in "$n" ip link add link "${SIB_IF[n]}" name "$c" type ipoib pkey 0x8001
	fi
	check sib_in "$n" ip link set "$c" up
	check sib_in "$n" ip addr add "$(cip "$n")/24" dev "$c"
}

# hosts_up HOW0 HOW1: both hosts' interfaces moved in (sib_ipoib_hosts), their
# children made (host 0's through HOW0, host 1's through HOW1), all in connected mode
hosts_up() {
	local i
	sib_ipoib_hosts
	for i in 0 1; do wait_for 30 sib_carrier "$i"; done
	child_up 0 "$1"
	child_up 1 "$2"
	sib_host_pair both_connected
}

# pair_traffic WHAT: both hosts' clean bursts
pair_traffic() {
	sib_host_pair clean_traffic
	log "$1: clean traffic both ways on parents and children, over connections"
}

# with_live_conns: both hosts' load started (background sib_host), their connections up
LOADPIDS=()
with_live_conns() {
	sib_host 0 1 load_bg &
	LOADPIDS=($!)
	sib_host 1 0 load_bg &
	LOADPIDS+=($!)
	sib_host_pair live_conns
}
stop_live_load() {
	# the host bashes (children of ip netns exec, itself a child of env) get the signal
	local p
	for p in "${LOADPIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait "${LOADPIDS[@]}" 2>/dev/null || true
	LOADPIDS=()
}

partitions() {
	mkdir -p "$SIB_OSM"
	printf '%s\n' 'Default=0x7fff, ipoib : ALL=full ;' \
		"P1=0x8001, ipoib : $(g 0)=full, $(g 1)=full ;" >"$SIB_OSM/partitions.conf"
	sed 's/^/    partitions.conf: /' "$SIB_OSM/partitions.conf"
}

check modprobe ib_umad
partitions
sib_subnet_up 2
for i in 0 1; do has_pkey "softib$i" 0x8001 || fail "softib$i has no full 0x8001 from opensm"; done
sib_ipoib_hosts
for i in 0 1; do wait_for 30 sib_carrier "$i"; done
DGRAM_MTU=$(sib_in 0 cat "/sys/class/net/${SIB_IF[0]}/mtu")
((DGRAM_MTU <= 4092)) || fail "datagram MTU $DGRAM_MTU"
child_up 0 netlink
child_up 1 sysfs
sib_host_pair both_connected
check sib_host 0 1 wait_for 90 ping -c 1 -W 2 "$(sib_hip 1)"
check sib_host 0 1 wait_for 90 ping -c 1 -W 2 "$(cip 1)"

# --- 25 flips on each interface, both hosts at once, under load ---
sib_host_pair flips "$DGRAM_MTU"
pair_traffic flips

# --- rmmod ib_ipoib with connections live (and traffic), then reload ---
with_live_conns
t0=$(date +%s.%N)
check timeout 120 rmmod ib_ipoib
log "rmmod ib_ipoib with live connections: $(sib_since "$t0") s"
stop_live_load
[[ ! -e /sys/module/ib_ipoib ]] || fail "module still loaded"
for i in 0 1; do
	[[ -z $(sib_ipoib_ifs "$i") ]] ||
		fail "an IPoIB interface of h$i survived rmmod: $(sib_ipoib_ifs "$i")"
done
hosts_up sysfs netlink
pair_traffic reload

# --- rmmod softib with connections live: every HCA goes under the loaded driver ---
with_live_conns
t0=$(date +%s.%N)
check timeout 120 rmmod softib
log "rmmod softib with live connections: $(sib_since "$t0") s"
stop_live_load
[[ -d /sys/module/ib_ipoib ]] || fail "ib_ipoib went with softib"
for i in 0 1; do
	[[ -z $(sib_ipoib_ifs "$i") ]] ||
		fail "an IPoIB interface of h$i survived device removal: $(sib_ipoib_ifs "$i")"
done
# its port gone, opensm may ignore SIGTERM (sib_opensm_stop would wait 10 s for it)
kill -KILL "$SIB_OSM_PID"
sib_opensm_stop
sib_subnet_up 2
for i in 0 1; do wait_for 30 has_pkey "softib$i" 0x8001; done
hosts_up netlink sysfs
pair_traffic readd
for i in 0 1; do
	log "h$i: $(sib_in "$i" ethtool -S "${SIB_IF[i]}" | grep -E 'cm_(tx_conns|rx_conns|tx_connect_failed|tx_ud_fallback|icmp_too_big)' | tr -s ' \n' ' ')"
done
sib_teardown
