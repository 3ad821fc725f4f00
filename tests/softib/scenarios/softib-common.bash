# shellcheck shell=bash
# Shared setup of the softib scenarios, sourced by them in the guest (after lib.sh):
#   . "$LAB_REPO/tests/softib/scenarios/softib-common.bash"
# It is not a scenario itself (no .sh: the runners never pick it up).
#
# sib_subnet_up HCAS: insmod softib (seed 7), start opensm on softib0 port 1, wait
#   until every port is ACTIVE with a LID and opensm has logged SUBNET UP; sets
#   SIB_SETUP_S (insmod to SUBNET UP, seconds).
# sib_opensm_start / sib_opensm_stop: (re)start or stop that opensm (its log is
#   appended to $SIB_OSM/opensm.log and saved to $LAB_SHARED/a.opensm.log on exit).
# sib_ipoib_hosts HCAS: load the driver SIB_DRIVER names (unless an ib_ipoib is loaded
#   already), move softibN's interface into
#   netns hN with 198.18.3.(N+1)/24 and 2001:db8:3::(N+1)/64; SIB_IF[N] is its name.
#   The namespaces may exist already (the interfaces are back after a reload).
# sib_ipoib_unload: unload that driver.
#
# SIB_DRIVER (set before sourcing this file): intree (default) loads Debian's
# ib_ipoib (by path, see sib_ipoib_load), the reference; ours insmods the project's
# module under test ($LAB_MODULE, tests/lab/run -m), after softib, so the scenario
# keeps its "# ipoib: no" header. The softib-ours-*.sh scenarios set it and source the
# in-tree scenario of the same name.
# SIB_DEBUG=1 (ours only) turns the driver's debug messages on.
# SIB_OSM_ARGS (an array, set before sib_subnet_up): more opensm arguments.
# sib_iperf WHAT: iperf3 TCP h1 -> h0 for 10 s, the figure logged (false without iperf3).
# sib_iperf_bg: iperf3 TCP h1 -> h0 for 60 s in the background, PIDs into pids.
# sib_host N PEER CMD...: run CMD in a bash inside host N's namespace that has lib.sh's
#   helpers and the scenario's functions, with host N as "this node" and host PEER as
#   the peer (IB_IF, MY_IB_IP, PEER_IB_IP... below); see there.
# sib_host_pair CMD...: sib_host 0 1 CMD and sib_host 1 0 CMD at once.

SIB_KO=${SOFTIB_KO:-$LAB_REPO/build/$LAB_KVER/softib/softib.ko} # SOFTIB_KO: tests/selftests
SIB_OSM=/tmp/osm
SIB_HCAS=3
SIB_OSM_PID=
SIB_IF=()
SIB_DRIVER=${SIB_DRIVER:-intree}
[[ -v SIB_OSM_ARGS ]] || SIB_OSM_ARGS=()

# sib_port_attr DEV ATTR [PORT=1]: /sys/class/infiniband/DEV/ports/PORT/ATTR
sib_port_attr() { cat "/sys/class/infiniband/$1/ports/${3:-1}/$2"; }

# sib_all_active: every softib port ACTIVE with a non-zero LID
sib_all_active() {
	local i
	for ((i = 0; i < SIB_HCAS; i++)); do
		[[ $(sib_port_attr "softib$i" state) == "4: ACTIVE" ]] || return 1
		[[ $(sib_port_attr "softib$i" lid) != 0x0 ]] || return 1
	done
}

# sib_since T0: seconds since date +%s.%N value T0, one decimal
sib_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# sib_ups: how many SUBNET UP opensm has logged (all its runs)
sib_ups() { grep -c -- '-> SUBNET UP$' "$SIB_OSM/opensm.log" 2>/dev/null || true; }
# sib_ups_gt N: opensm has logged more than N SUBNET UP
sib_ups_gt() { (($(sib_ups) > $1)); }

# sib_opensm_start: start opensm on softib0 port 1 in the background.
# -d 2 flushes its log after every line (SUBNET UP is an info line, which opensm
# 3.3.23 otherwise leaves in stdio's buffer), -D 0x07 adds verbose lines (LIGHT
# SWEEP COMPLETE), -s 2 sweeps every 2 s (link changes are found within 2 s).
# Not -B: a child of this shell has a known PID to stop.
sib_opensm_start() {
	local guid
	guid=$(ibstat -p softib0 | head -n 1)
	[[ $guid =~ ^0x[0-9a-f]{16}$ ]] || fail "no port GUID for softib0 ('$guid')"
	mkdir -p "$SIB_OSM/cache"
	[[ -f $SIB_OSM/partitions.conf ]] ||
		echo 'Default=0x7fff, ipoib : ALL=full ;' >"$SIB_OSM/partitions.conf"
	local args=(-g "$guid" -f "$SIB_OSM/opensm.log" -P "$SIB_OSM/partitions.conf"
		-d 2 -D 0x07 -s 2 "${SIB_OSM_ARGS[@]}")
	log "+ opensm ${args[*]} &"
	OSM_TMP_DIR=$SIB_OSM OSM_CACHE_DIR=$SIB_OSM/cache opensm "${args[@]}" \
		</dev/null >>"$SIB_OSM/opensm.out" 2>&1 &
	SIB_OSM_PID=$!
}

# (SIGKILL after 10 s: opensm whose device went away may not act on SIGTERM)
sib_opensm_stop() {
	[[ -n $SIB_OSM_PID ]] || return 0
	kill "$SIB_OSM_PID" 2>/dev/null
	if ! poll 10 _sib_osm_gone; then
		log "opensm did not exit within 10 s of SIGTERM: SIGKILL"
		kill -KILL "$SIB_OSM_PID" 2>/dev/null
	fi
	wait "$SIB_OSM_PID" 2>/dev/null || true
	SIB_OSM_PID=
	return 0
}
_sib_osm_gone() { sib_gone "$SIB_OSM_PID"; }

# sib_gone PID: PID has exited (a child of ours not yet waited for is a zombie,
# which kill -0 still finds)
sib_gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[[ -z $st || $st == Z ]]
}

# sib_teardown: ib_ipoib unloaded while the SA still answers its leaves (with opensm
# gone first, ib_core's multicast cleanup waits for each leave to time out), then
# opensm stopped and softib unloaded (each must succeed)
sib_teardown() {
	sib_ipoib_unload
	sib_opensm_stop
	check rmmod softib
}

_sib_exit() {
	sib_opensm_stop
	cp "$SIB_OSM/opensm.log" "$LAB_SHARED/a.opensm.log" 2>/dev/null
	return 0
}

sib_subnet_up() {
	local t0 i
	SIB_HCAS=${1:-3}
	[[ -f $SIB_KO ]] || fail "no $SIB_KO: make -C tests/softib KVER=$LAB_KVER"
	command -v opensm >/dev/null || fail "no opensm (tests/lab/deps.sh install)"
	command -v ibstat >/dev/null || fail "no infiniband-diags (tests/lab/deps.sh install)"
	check modprobe ib_umad
	t0=$(date +%s.%N)
	check insmod "$SIB_KO" hcas="$SIB_HCAS" seed=7
	wait_for 10 test -e "/sys/class/infiniband/softib$((SIB_HCAS - 1))/ports/1/state"
	sib_opensm_start
	trap _sib_exit EXIT
	if ! poll 60 sib_all_active; then
		tail -n 40 "$SIB_OSM/opensm.log"
		fail "not every softib port became ACTIVE with a LID"
	fi
	log "insmod to all ports ACTIVE: $(sib_since "$t0") s"
	poll 60 sib_ups_gt 0 || {
		tail -n 30 "$SIB_OSM/opensm.log"
		fail "opensm never logged SUBNET UP"
	}
	SIB_SETUP_S=$(sib_since "$t0")
	log "setup (insmod to opensm's SUBNET UP): $SIB_SETUP_S s"
	for ((i = 0; i < SIB_HCAS; i++)); do
		log "softib$i: LID $(sib_port_attr "softib$i" lid), SM LID $(sib_port_attr "softib$i" sm_lid)"
	done
}

# sib_ifname DEV: the IPoIB netdev of DEV port 1 (its hardware address ends in the
# port GID), in the initial namespace
sib_ifname() {
	local gid n
	gid=$(sib_port_attr "$1" gids/0 | tr -d ':')
	for n in /sys/class/net/*; do
		[[ $(cat "$n/type") == 32 ]] || continue
		[[ $(tr -d ':' <"$n/address") == *"$gid" ]] && { echo "${n##*/}"; return 0; }
	done
	return 1
}

# sib_hip N / sib_hip6 N: addresses of host N
sib_hip() { echo "198.18.3.$(($1 + 1))"; }
sib_hip6() { echo "2001:db8:3::$(($1 + 1))"; }

# sib_in N CMD...: run CMD in host N's namespace
sib_in() {
	local n=$1
	shift
	ip netns exec "h$n" "$@"
}

# sib_ipoib_load: load the driver SIB_DRIVER names (both are module ib_ipoib). The
# in-tree one is insmodded by its path under kernel/: `modprobe ib_ipoib` would take
# this project's copy wherever DKMS installed one under updates/ (make check does,
# before the scenarios), and the reference run would then test our driver. The
# in-tree module has no version attribute; ours always has one.
sib_ipoib_load() {
	local ko d
	case $SIB_DRIVER in
	intree)
		ko=$(find "/lib/modules/$LAB_KVER/kernel/drivers/infiniband/ulp/ipoib" \
			-name 'ib_ipoib.ko*' | head -n 1)
		[[ -n $ko ]] || fail "no in-tree ib_ipoib.ko under /lib/modules/$LAB_KVER/kernel"
		for d in $(modinfo -F depends "$ko" | tr ',' ' '); do check modprobe "$d"; done
		check insmod "$ko"
		[[ ! -e /sys/module/ib_ipoib/version ]] ||
			fail "the in-tree ib_ipoib has a version: $(cat /sys/module/ib_ipoib/version)"
		;;
	ours)
		[[ -n ${LAB_MODULE:-} && -f $LAB_MODULE ]] ||
			fail "SIB_DRIVER=ours needs the module under test (tests/lab/run -m)"
		load_ipoib
		[[ ${SIB_DEBUG:-0} != 1 ]] || ipoib_debug_on
		[[ -e /sys/module/ib_ipoib/version ]] || fail "ib_ipoib loaded, but not ours"
		;;
	*) fail "SIB_DRIVER=$SIB_DRIVER: not intree or ours" ;;
	esac
	log "ib_ipoib: $SIB_DRIVER ($(cat /sys/module/ib_ipoib/version 2>/dev/null || echo "no version"))"
}

sib_ipoib_unload() { check rmmod ib_ipoib; }

sib_ipoib_hosts() {
	local i n
	[[ -d /sys/module/ib_ipoib ]] || sib_ipoib_load
	for ((i = 0; i < SIB_HCAS; i++)); do
		wait_for 10 sib_ifname "softib$i"
		n=$(sib_ifname "softib$i")
		SIB_IF[i]=$n
		log "softib$i port 1: $n (mode $(cat "/sys/class/net/$n/mode"))"
		[[ -e /run/netns/h$i ]] || check ip netns add "h$i"
		check ip link set "$n" netns "h$i"
		check sib_in "$i" ip link set lo up
		check sib_in "$i" ip link set "$n" up
		check sib_in "$i" ip addr add "$(sib_hip "$i")/24" dev "$n"
		check sib_in "$i" ip -6 addr add "$(sib_hip6 "$i")/64" dev "$n" nodad
	done
}

# sib_rc N FIELD: softibN's RC counter FIELD (rx, rnr, lost, retry, rnr_retry,
# retry_exc; debugfs softib/softibN/rc, read in the initial namespace)
sib_rc() { awk -v f="$2" '$1 == f { print $2 }' "/sys/kernel/debug/softib/softib$1/rc"; }

# sib_ipoib_ifs N: the IPoIB interfaces (type 32) in host N's namespace, one a line.
# (Other kernels put their own devices in every namespace: the debug kernel's
# built-in SIT driver adds sit0.)
sib_ipoib_ifs() {
	# shellcheck disable=SC2016 # expanded by that sh
	sib_in "$1" sh -c 'for n in /sys/class/net/*; do
		[ "$(cat "$n/type" 2>/dev/null)" = 32 ] && echo "${n##*/}"; done; true'
}

# sib_carrier N: host N's interface has its carrier
sib_carrier() { [[ $(sib_in "$1" cat "/sys/class/net/${SIB_IF[$1]}/carrier") == 1 ]]; }
# sib_carrier_changes N: how often host N's interface lost or regained its carrier
sib_carrier_changes() { sib_in "$1" cat "/sys/class/net/${SIB_IF[$1]}/carrier_changes"; }

# sib_ping N ADDR: one ping from host N answered within 2 s
sib_ping() { sib_in "$1" ping -c 1 -W 2 "$2"; }

# sib_ping_pair N M: hosts N and M reach each other again, over IPv4 and IPv6 (polled)
sib_ping_pair() {
	local a
	for a in "$(sib_hip "$2")" "$(sib_hip6 "$2")"; do wait_for 30 sib_ping "$1" "$a"; done
	for a in "$(sib_hip "$1")" "$(sib_hip6 "$1")"; do wait_for 30 sib_ping "$2" "$a"; done
}

# sib_iperf WHAT: iperf3 TCP h1 -> h0 for 10 s, its sender and receiver lines
# logged under "iperf3 TCP h1 -> h0 WHAT"; false (nothing run) without iperf3 in
# the guest. The figure is for the README, never asserted.
sib_iperf() {
	local out
	command -v iperf3 >/dev/null || return 1
	sib_in 0 iperf3 -s -1 -D -B "$(sib_hip 0)"
	wait_for 10 sib_in 0 sh -c "ss -ltn | grep -q ':5201 '"
	out=$(sib_in 1 iperf3 -c "$(sib_hip 0)" -t 10 -f m 2>&1) || fail "iperf3: $out"
	log "iperf3 TCP h1 -> h0 $1(10 s, $(nproc) vCPUs):"
	grep -E 'sender|receiver' <<<"$out" | sed 's/^/    /'
	return 0
}

# sib_iperf_bg: iperf3 TCP h1 -> h0 for 60 s in the background (nothing without
# iperf3 in the guest); the server's and the client's PIDs are appended to the
# caller's pids array (ip netns exec directly: $! is the command itself)
sib_iperf_bg() {
	command -v iperf3 >/dev/null || return 0
	ip netns exec h0 iperf3 -s -1 -B "$(sib_hip 0)" >/tmp/iperf-s.out 2>&1 &
	pids+=($!)
	wait_for 10 sib_in 0 sh -c "ss -ltn | grep -q ':5201 '"
	ip netns exec h1 iperf3 -c "$(sib_hip 0)" -t 60 >/tmp/iperf-c.out 2>&1 &
	pids+=($!)
}

# sib_ping_all: every host pings every other over IPv4 and IPv6 (first answer
# polled: address resolution and path records come first), then 20 more each
sib_ping_all() {
	local i j a out
	for ((i = 0; i < SIB_HCAS; i++)); do
		for ((j = 0; j < SIB_HCAS; j++)); do
			((i != j)) || continue
			for a in "$(sib_hip "$j")" "$(sib_hip6 "$j")"; do
				poll 30 sib_ping "$i" "$a" || fail "h$i cannot ping $a"
				out=$(sib_in "$i" ping -q -c 20 -i 0.02 -W 2 "$a" 2>&1) || true
				grep -q ' 0% packet loss' <<<"$out" ||
					fail "h$i -> $a lost echoes: $out"
				log "h$i -> $a: $(grep -E 'rtt|round-trip' <<<"$out")"
			done
		done
	done
}

# sib_host N PEER CMD...: CMD (a function of the calling scenario, or a command) in a
# bash inside host N's namespace, so that lib.sh's helpers (nic_stat, ping_burst_late,
# wait_carrier, drop_count...) work there unchanged: /sys/class/net and /proc/net are
# the namespace's. That bash sources lib.sh, this file and the scenario (SIB_SELF,
# by default the file that sourced this one), which must return before its body when
# SIB_HOST is set; IB_IF is host N's interface, MY_IB_IP(6) its addresses and
# PEER_IB_IP(6) host PEER's. Its status is CMD's (a fail ends it with 1). Within
# the namespace /sys is a fresh sysfs without debugfs: SIB_DBG is debugfs mounted
# where the hosts see it too.
SIB_SELF=${SIB_SELF:-${BASH_SOURCE[1]:-}}
SIB_DBG=/run/sib-debugfs
_sib_dbg_mount() {
	! mountpoint -q "$SIB_DBG" || return 0
	mkdir -p "$SIB_DBG"
	mount -t debugfs debugfs "$SIB_DBG" || fail "cannot mount debugfs on $SIB_DBG"
}
sib_host() {
	local n=$1 p=$2
	shift 2
	_sib_dbg_mount
	sib_in "$n" env SIB_HOST="$n" SIB_PEER="$p" SIB_SELF="$SIB_SELF" IB_IF="${SIB_IF[n]}" \
		SIB_PEER_IF="${SIB_IF[p]}" bash -c '. "$LAB_REPO/tests/lab/lib.sh"
		. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"
		. "$SIB_SELF"
		"$@"' "sib_host$n" "$@"
}

# sib_host_pair CMD...: CMD in hosts 0 and 1 at once (sib_host 0 1 and sib_host 1 0;
# their echo counters and interfaces are their own); fails if either failed.
sib_host_pair() {
	local p0 p1 r0=0 r1=0
	_sib_dbg_mount # once, before the two start
	sib_host 0 1 "$@" &
	p0=$!
	sib_host 1 0 "$@" &
	p1=$!
	wait "$p0" || r0=$?
	wait "$p1" || r1=$?
	((r0 == 0 && r1 == 0)) || fail "$1 failed (h0 status $r0, h1 status $r1)"
}

# Inside sib_host: this node is host SIB_HOST, its peer host SIB_PEER; log lines say
# which host; a fail in another host's bash (both touch abort.$NODE) ends the waits.
if [[ -n ${SIB_HOST:-} ]]; then
	MY_IB_IP=$(sib_hip "$SIB_HOST") MY_IB_IP6=$(sib_hip6 "$SIB_HOST")
	PEER_IB_IP=$(sib_hip "$SIB_PEER") PEER_IB_IP6=$(sib_hip6 "$SIB_PEER")
	log() {
		local up
		read -r up _ </proc/uptime
		printf '[%8s %s h%s] %s\n' "$up" "$NODE" "$SIB_HOST" "$*"
	}
	_peer_aborted() { [[ -e $LAB_SYNC/abort.$NODE ]]; }
fi
