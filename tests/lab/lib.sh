# shellcheck shell=bash
# Helpers for lab scenarios. guest-init sources this before the scenario, with
#   NODE=a|b  LAB_SHARED=<dir shared by both guests and the host>  LAB_MODULE=<ib_ipoib.ko>
#   LAB_KVER=<uname -r>  LAB_REPO=<repo, read-only>  LAB_SCENARIO=<name>  LAB_GUESTS=1|2
#   LAB_TIMEOUT_SCALE=<factor for slow kernels, see scaled>
# Scenarios run with `set -e -o pipefail`: any failing command fails the scenario.

: "${NODE:?NODE must be a or b}"
case $NODE in
a) PEER=b ;;
b) PEER=a ;;
*) echo "lib.sh: bad NODE=$NODE" >&2; exit 1 ;;
esac
export NODE PEER

# The lab's addresses: 198.18.0.0/15 (RFC 2544 benchmarking) and 2001:db8::/32 (RFC 3849).
ETH_IP_A=198.18.1.1 ETH_IP_B=198.18.1.2
IB_IP_A=198.18.2.1 IB_IP_B=198.18.2.2
IB_IP6_A=2001:db8:2::1 IB_IP6_B=2001:db8:2::2
if [[ $NODE == a ]]; then
	MY_ETH_IP=$ETH_IP_A PEER_ETH_IP=$ETH_IP_B MY_IB_IP=$IB_IP_A PEER_IB_IP=$IB_IP_B
	MY_IB_IP6=$IB_IP6_A PEER_IB_IP6=$IB_IP6_B
else
	MY_ETH_IP=$ETH_IP_B PEER_ETH_IP=$ETH_IP_A MY_IB_IP=$IB_IP_B PEER_IB_IP=$IB_IP_A
	MY_IB_IP6=$IB_IP6_B PEER_IB_IP6=$IB_IP6_A
fi
export ETH_IP_A ETH_IP_B IB_IP_A IB_IP_B IB_IP6_A IB_IP6_B
export MY_ETH_IP PEER_ETH_IP MY_IB_IP PEER_IB_IP MY_IB_IP6 PEER_IB_IP6
LAB_SYNC=${LAB_SHARED:-/run/lab/shared}/sync

# log MSG...: timestamped (seconds since boot) message on stdout.
log() {
	local up
	read -r up _ </proc/uptime
	printf '[%8s %s] %s\n' "$up" "$NODE" "$*"
}

# fail MSG...: report and end the scenario with status 1.
fail() {
	log "FAIL: $*"
	touch "$LAB_SYNC/abort.$NODE" 2>/dev/null || true
	exit 1
}

# run CMD...: show the command, then run it (its status is returned).
run() {
	log "+ $*"
	"$@"
}

# check CMD...: run CMD, fail the scenario if it returns non-zero.
check() {
	log "+ $*"
	"$@" || fail "command failed (status $?): $*"
}

# kmsg MSG...: write a line into the kernel log (handy to line up dmesg with the script).
kmsg() { echo "lab[$NODE]: $*" >/dev/kmsg; }

# klog: the kernel log since this scenario's "LAB: scenario NAME ... begins" marker (all
# of it if there is none). Check the log with this, not dmesg: a machine that runs
# scenarios one after another (the kselftest suite, tests/selftests) keeps the lines of
# the earlier ones.
klog() {
	dmesg | awk -v m="LAB: scenario $LAB_SCENARIO " '{ l[NR] = $0 }
		index($0, m) && / begins$/ { s = NR }
		END { for (i = s ? s : 1; i <= NR; i++) print l[i] }'
}

# Quietly true if the peer guest has given up (its scenario failed).
_peer_aborted() { [[ -e $LAB_SYNC/abort.$PEER ]]; }

# scaled SECONDS: SECONDS times LAB_TIMEOUT_SCALE (tests/lab/run; 3 on the debug kernel,
# which runs everything 3-4 times slower), rounded. For the waits of a scenario that are
# there for speed, not for what it tests; poll (so wait_for, wait_signal, barrier) uses it.
scaled() { awk -v t="$1" -v f="${LAB_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * f + 0.5 }'; }

# poll TIMEOUT CMD...: run CMD (output hidden) until it succeeds; return 1 if it has not
# after TIMEOUT seconds (scaled) or if the peer guest gave up. The interval grows from
# 0.1 s to 1 s.
poll() {
	local end delay=0.1
	end=$(($(date +%s) + $(scaled "$1")))
	shift
	until "$@" >/dev/null 2>&1; do
		_peer_aborted && return 1
		(($(date +%s) < end)) || return 1
		sleep "$delay"
		case $delay in 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; *) delay=1 ;; esac
	done
}

# wait_for TIMEOUT CMD...: poll, and fail the scenario if CMD never succeeded.
wait_for() {
	poll "$@" && return 0
	_peer_aborted && fail "peer $PEER failed while waiting for: ${*:2}"
	fail "timed out after $(scaled "$1")s waiting for: ${*:2}"
}

# signal NAME: raise a named flag in the shared directory (seen by both guests).
signal() {
	mkdir -p "$LAB_SYNC"
	echo "$NODE" >"$LAB_SYNC/$1.tmp.$NODE"
	mv "$LAB_SYNC/$1.tmp.$NODE" "$LAB_SYNC/$1"
	log "signal $1"
}

# wait_signal NAME [TIMEOUT=120]: wait until some guest has raised flag NAME.
wait_signal() {
	log "waiting for signal $1"
	wait_for "${2:-120}" test -e "$LAB_SYNC/$1"
}

# barrier NAME [TIMEOUT=120]: both guests wait here for each other (no-op with 1 guest).
barrier() {
	[[ ${LAB_GUESTS:-1} -ge 2 ]] || return 0
	signal "barrier.$1.$NODE"
	wait_signal "barrier.$1.$PEER" "${2:-120}"
}

# on NODE CMD...: run CMD only on that node (a or b); true elsewhere.
on() {
	local n=$1
	shift
	[[ $n == "$NODE" ]] || return 0
	"$@"
}

# rx_count IF / tx_count IF: packet counters of interface IF.
rx_count() { cat "/sys/class/net/$1/statistics/rx_packets"; }
tx_count() { cat "/sys/class/net/$1/statistics/tx_packets"; }

# nic_stat NAME [IF=$IB_IF]: one `ethtool -S` counter of IF; a counter IF does not have
# fails the caller (and says so), rather than reading as zero.
nic_stat() {
	local ifc=${2:-$IB_IF} v
	v=$(ethtool -S "$ifc" | awk -v k="$1:" '$1 == k { print $2 }')
	[[ $v =~ ^[0-9]+$ ]] || { echo "ethtool -S $ifc has no counter $1" >&2; return 1; }
	echo "$v"
}
# nic_ge NAME MIN [IF] / nic_eq NAME VALUE [IF]: the counter compares so (for polling).
nic_ge() { local v; v=$(nic_stat "$1" "${3:-}") && ((v >= $2)); }
nic_eq() { local v; v=$(nic_stat "$1" "${3:-}") && ((v == $2)); }

# drop_count IF: every packet IF itself counted as dropped or in error.
drop_count() {
	local d=/sys/class/net/$1/statistics
	echo $(($(cat "$d/tx_dropped") + $(cat "$d/rx_dropped") + $(cat "$d/tx_errors") + $(cat "$d/rx_errors")))
}

# log_counters: where packets went, for a failure report: every IPoIB interface's
# statistics (ip -s -s, ethtool -S), eth0's, the soft-RoCE device's and UDP's.
log_counters() {
	local i
	for i in /sys/class/net/*; do
		[[ $(cat "$i/type") == 32 || ${i##*/} == eth0 ]] || continue
		ip -s -s link show "${i##*/}" || true
		[[ ${i##*/} == eth0 ]] || ethtool -S "${i##*/}" | grep -v ': 0$' || true
	done
	tc -s qdisc show 2>/dev/null || true
	rdma statistic show 2>/dev/null || true
	# every IP, IPv6, ICMP, UDP and TCP counter that is not zero (discards, reassembly
	# failures, neighbour resolution...), absolute values
	if command -v nstat >/dev/null; then
		nstat -asz | awk 'NR > 1 && $2 != 0 { print "    " $1, $2 }'
	else
		cat /proc/net/snmp /proc/net/snmp6
	fi 2>/dev/null || true
	grep -H . /proc/net/stat/ndisc_cache /proc/net/stat/arp_cache 2>/dev/null || true
}

# ping_burst IF DEST [PING-ARGS...]: 50 echo requests 20 ms apart over IF, none may be
# lost.  A loss that IF counted as a drop or error fails at once.  A loss nothing here
# counted happened outside the driver (rxe, its UDP socket, virtio under TCG) or at the
# peer, whose counters it saves at the end: the counters are logged and one more burst,
# which must be clean, decides.
ping_burst() {
	local ifc=$1 dest=$2 try d0 out
	shift 2
	for try in 1 2; do
		d0=$(drop_count "$ifc")
		out=$(ping -q -c 50 -i 0.02 -W 2 "$@" "$dest" 2>&1) || true
		grep -q ' 0% packet loss' <<<"$out" && return 0
		log "burst to $dest over $ifc (try $try): $(grep 'packets transmitted' <<<"$out")"
		log_counters
		(($(drop_count "$ifc") == d0)) ||
			fail "$ifc counted drops or errors while losing echoes to $dest"
	done
	fail "ping $dest over $ifc lost packets twice in a row"
}

# echo_counts: "SENT REPLIES": ICMP and ICMPv6 echo requests this node has sent and echo
# replies it has received, from the kernel's counters.
echo_counts() {
	awk '$1 == "Icmp:" {
		if (!h) { for (i = 2; i <= NF; i++) { if ($i == "OutEchos") o = i; if ($i == "InEchoReps") r = i }; h = 1 }
		else { s += $o; g += $r } }
	     $1 == "Icmp6OutEchos" { s += $2 }
	     $1 == "Icmp6InEchoReplies" { g += $2 }
	     END { print s + 0, g + 0 }' /proc/net/snmp /proc/net/snmp6
}
_replies_since() { local g; read -r _ g <<<"$(echo_counts)" && ((g - $1 >= $2)); }

# ping_burst_late IF DEST [PING-ARGS...]: ping_burst for reliable transports (connected
# mode's RC connections): a reply counts however late it comes, up to 60 s, from the
# kernel's ICMP counters, where ping itself gives up two round trips after its last
# request. A frame lost on the wire is retransmitted by the RC transport after its
# timeout, which on a loaded host is longer than ping waits; a lost reply is still
# lost. Otherwise as ping_burst (a second burst decides when no counter of IF moved).
# Nothing else on this node may send echo requests meanwhile.
ping_burst_late() {
	local ifc=$1 dest=$2 try s0 g0 s1 g1 d0 out
	shift 2
	for try in 1 2; do
		d0=$(drop_count "$ifc")
		read -r s0 g0 <<<"$(echo_counts)"
		out=$(ping -q -c 50 -i 0.02 -W 2 "$@" "$dest" 2>&1) || true
		read -r s1 _ <<<"$(echo_counts)"
		((s1 - s0 == 50)) || fail "ping $* $dest over $ifc sent $((s1 - s0)) requests, not 50: $out"
		poll 60 _replies_since "$g0" 50 && return 0
		read -r _ g1 <<<"$(echo_counts)"
		log "burst to $dest over $ifc (try $try): 50 requests, $((g1 - g0)) replies within 60 s" \
			"(ping: $(grep 'packets transmitted' <<<"$out"))"
		log_counters
		(($(drop_count "$ifc") == d0)) ||
			fail "$ifc counted drops or errors while losing echoes to $dest"
	done
	fail "ping $dest over $ifc lost packets twice in a row"
}

# port_active [DEV=rxe0] [PORT=1]: true if the RDMA port is ACTIVE.
port_active() {
	grep -q ACTIVE "/sys/class/infiniband/${1:-rxe0}/ports/${2:-1}/state" 2>/dev/null
}

# IB_IF: name of the IPoIB interface (override in a scenario if it differs).
IB_IF=${IB_IF:-ib0}

# wait_ib0 [TIMEOUT=30]: wait until the IPoIB interface $IB_IF exists.
wait_ib0() { wait_for "${1:-30}" test -e "/sys/class/net/$IB_IF"; }

# wait_carrier [IF=$IB_IF] [TIMEOUT=60]: wait until IPoIB interface IF has its carrier
# (it has joined its broadcast group); fail the scenario if it has not by then.
wait_carrier() { wait_for "${2:-60}" grep -qx 1 "/sys/class/net/${1:-$IB_IF}/carrier"; }

# load_ipoib [PARAM=VALUE...]: load the project's module (never the in-tree one:
# insmod of $LAB_MODULE) after modprobing the modules it depends on.
load_ipoib() {
	local d
	for d in $(modinfo -F depends "$LAB_MODULE" | tr ',' ' '); do
		modprobe "$d" || fail "modprobe $d (needed by $LAB_MODULE) failed"
	done
	check insmod "$LAB_MODULE" "$@"
}

# ipoib_debug_on: the loaded driver's debug messages into the kernel log (debug_level=1,
# and dynamic debug where the kernel has it: Debian's has, the debug kernel's has not).
ipoib_debug_on() {
	echo 1 >/sys/module/ib_ipoib/parameters/debug_level
	local ctl=/sys/kernel/debug/dynamic_debug/control
	[[ ! -w $ctl ]] || echo 'module ib_ipoib +p' >"$ctl"
}

# ipoib_up: bring $IB_IF up with this node's lab addresses (IPv4 /24, IPv6 /64 nodad).
ipoib_up() {
	check ip link set "$IB_IF" up
	check ip addr add "$MY_IB_IP/24" dev "$IB_IF"
	check ip -6 addr add "$MY_IB_IP6/64" dev "$IB_IF" nodad
}

# Make any failing command (set -e) say where it happened.
set -e -o pipefail
trap 'log "FAIL: status $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"; touch "$LAB_SYNC/abort.$NODE" 2>/dev/null || true' ERR
