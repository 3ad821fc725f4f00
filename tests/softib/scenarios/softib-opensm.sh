# opensm brings the softib subnet up: every port ACTIVE with a LID, ibnetdiscover
# sees the HCAs and the switch, the SA (opensm, over QP1) answers, and every LID
# answers a LID-routed PortInfo SMP.
# guests: 1
# timeout: 240
# ipoib: no
#
#   +---------------------------------------------------------------+
#   | a   softib.ko hcas=3 (tests/softib, built for this kernel)     |
#   |                                                               |
#   |    softib0 p1 ---+                                            |
#   |    softib1 p1 ---+--- softib switch (ports 1-3, SMA only)     |
#   |    softib2 p1 ---+                                            |
#   |                                                               |
#   |    opensm on softib0 port 1 (SM and SA); rxe0 is ignored      |
#   +---------------------------------------------------------------+

HCAS=3
KO=$LAB_REPO/build/$LAB_KVER/softib/softib.ko
OSM=/tmp/osm
[[ -f $KO ]] || fail "no $KO: make -C tests/softib KVER=$LAB_KVER"
command -v opensm >/dev/null || fail "no opensm (tests/lab/deps.sh install)"
command -v ibstat >/dev/null || fail "no infiniband-diags (tests/lab/deps.sh install)"

# port_attr DEV ATTR: /sys/class/infiniband/DEV/ports/1/ATTR
port_attr() { cat "/sys/class/infiniband/$1/ports/1/$2"; }

# all_active: every softib port ACTIVE with a non-zero LID
all_active() {
	local i
	for ((i = 0; i < HCAS; i++)); do
		[[ $(port_attr "softib$i" state) == "4: ACTIVE" ]] || return 1
		[[ $(port_attr "softib$i" lid) != 0x0 ]] || return 1
	done
}

check modprobe ib_umad
t0=$(date +%s.%N)
check insmod "$KO" hcas=$HCAS seed=7
wait_for 10 test -e "/sys/class/infiniband/softib$((HCAS - 1))/ports/1/state"
for ((i = 0; i < HCAS; i++)); do
	st=$(port_attr "softib$i" state) lid=$(port_attr "softib$i" lid)
	ll=$(port_attr "softib$i" link_layer)
	log "softib$i before the SM: state '$st' lid $lid link layer $ll"
	[[ $ll == InfiniBand ]] || fail "softib$i link layer is '$ll'"
	[[ $st == "2: INIT" && $lid == 0x0 ]] || fail "softib$i is '$st' with LID $lid before any SM"
done

# userspace MADs through ib_umad reach softib0's SMA (directed route, 0 hops)
for f in /sys/class/infiniband_mad/umad*; do
	log "${f##*/}: $(cat "$f/ibdev") port $(cat "$f/port")"
done
ls -l /dev/infiniband | sed 's/^/    /'
check smpquery -C softib0 -P 1 -D nodeinfo 0

guid=$(ibstat -p softib0 | head -n 1)
[[ $guid =~ ^0x[0-9a-f]{16}$ ]] || fail "no port GUID for softib0 ('$guid')"
mkdir -p "$OSM/cache"
echo 'Default=0x7fff, ipoib : ALL=full ;' >"$OSM/partitions.conf"
# Not -B (daemon): opensm 3.3.23 has no pidfile option, and a child of this shell has
# a known PID to stop. stdin is /dev/null.
# -d 2: flush the log after every message. opensm flushes only its error and "sys"
#   messages, and 3.3.23 logs SUBNET UP at info level, so without it the line sits in
#   stdio's buffer until opensm exits and a poll of the file never sees it.
# -D 0x07: errors, info and verbose, for LIGHT SWEEP COMPLETE (checked at the end).
# -s 2: a light sweep every 2 s instead of 10 s, so that check comes soon.
osm_args=(-g "$guid" -f "$OSM/opensm.log" -P "$OSM/partitions.conf" -d 2 -D 0x07 -s 2)
log "+ opensm ${osm_args[*]} &"
OSM_TMP_DIR=$OSM OSM_CACHE_DIR=$OSM/cache opensm "${osm_args[@]}" \
	</dev/null >"$OSM/opensm.out" 2>&1 &
osm_pid=$!
stop_opensm() {
	kill "$osm_pid" 2>/dev/null && wait "$osm_pid" 2>/dev/null
	cp "$OSM/opensm.log" "$LAB_SHARED/a.opensm.log" 2>/dev/null
	return 0
}
trap stop_opensm EXIT

if ! poll 60 all_active; then
	if ! kill -0 "$osm_pid" 2>/dev/null; then
		log "opensm exited: $(cat "$OSM/opensm.out")"
		timeout 30 strace -f -e trace=openat,ioctl,read,write -o "$LAB_SHARED/a.strace" \
			opensm -o -g "$guid" -f "$OSM/opensm2.log" </dev/null >/dev/null 2>&1
	fi
	tail -n 40 "$OSM/opensm.log"
	ibstat softib0 || true
	fail "not every softib port became ACTIVE with a LID"
fi
t1=$(date +%s.%N)
log "setup (insmod to all ports ACTIVE): $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
for ((i = 0; i < HCAS; i++)); do
	ibstat "softib$i" | sed 's/^/    /'
done
poll 60 grep -q -- '-> SUBNET UP$' "$OSM/opensm.log" || {
	tail -n 30 "$OSM/opensm.log"
	fail "opensm never logged SUBNET UP"
}
t2=$(date +%s.%N)
log "opensm SUBNET UP after $(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s from insmod"
grep -E -- '-> SUBNET UP$|Entering MASTER|ERR' "$OSM/opensm.log" | head -n 20 |
	sed 's/^/    opensm: /'

# The SM's view of the fabric, from the SM's port
check ibnetdiscover -C softib0 -P 1 >"$OSM/net.txt"
sed 's/^/    /' "$OSM/net.txt"
cas=$(grep -c '^Ca' "$OSM/net.txt" || true)
sws=$(grep -c '^Switch' "$OSM/net.txt" || true)
log "ibnetdiscover: $cas CAs, $sws switches"
((cas == HCAS && sws == 1)) || fail "ibnetdiscover found $cas CAs and $sws switches, want $HCAS and 1"

# The SA (opensm, over QP1 through the switch)
check saquery -C softib0 -P 1 -N >"$OSM/nodes.txt"
nodes=$(grep -c 'NodeRecord dump' "$OSM/nodes.txt" || true)
log "saquery: $nodes NodeRecords"
((nodes == HCAS + 1)) || { cat "$OSM/nodes.txt"; fail "saquery found $nodes NodeRecords, want $((HCAS + 1))"; }
check saquery -C softib1 -P 1 -p >"$OSM/paths.txt"
paths=$(grep -c 'PathRecord dump' "$OSM/paths.txt" || true)
log "saquery -p from softib1: $paths PathRecords"
((paths > 0)) || fail "saquery -p returned no PathRecords"

# LID-routed SMPs to every LID (the switch's too)
# (here-strings, not process substitution: the guest has no /dev/fd)
mapfile -t lids <<<"$(sed -n 's/.*lid \([0-9]*\) .*/\1/p' "$OSM/net.txt" | sort -un)"
for ((i = 0; i < HCAS; i++)); do lids+=("$(($(port_attr "softib$i" lid)))"); done
mapfile -t lids <<<"$(printf '%s\n' "${lids[@]}" | sort -un)"
((${#lids[@]} >= HCAS + 1)) || fail "found only LIDs ${lids[*]}"
for l in "${lids[@]}"; do
	out=$(smpquery -C softib2 -P 1 portinfo "$l") || fail "smpquery portinfo $l failed"
	grep -q 'LinkState:.*Active' <<<"$out" || fail "smpquery portinfo $l: not Active: $out"
	log "smpquery portinfo $l: $(grep -E '^Lid:' <<<"$out" | tr -s '.' ' ')"
done

# Nothing changed in the subnet since it came up, so opensm's light sweeps (SwitchInfo
# PortStateChange, NodeDescription) must find nothing: one heavy sweep, one SUBNET UP.
# A switch that reports the SM's own ARMED/ACTIVE Sets as port state changes makes
# the first light sweep start a second heavy sweep.
poll 30 grep -q 'LIGHT SWEEP COMPLETE' "$OSM/opensm.log" ||
	fail "opensm never completed a light sweep (sweep interval 2 s)"
ups=$(grep -c -- '-> SUBNET UP$' "$OSM/opensm.log" || true)
log "opensm: $ups SUBNET UP before its first quiet light sweep"
((ups == 1)) || {
	grep -E -- '-> SUBNET UP$|HEAVY SWEEP|LIGHT SWEEP' "$OSM/opensm.log" | sed 's/^/    opensm: /'
	fail "opensm swept heavily $ups times in a subnet that did not change"
}

stop_opensm
trap - EXIT
check rmmod softib
