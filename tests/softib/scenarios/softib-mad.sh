# Bad input for softib's subnet management agents: mad_fuzz (tests/tools) sends, from
# softib0 port 1 through ib_umad, a fixed list of malformed MADs and, for a minute,
# seeded random ones to every node (directed route and LID routed SMPs on QP0, GMPs on
# QP1) and checks every answer (status, TID, direction bit) or its absence. Then
# nothing may have changed: every port ACTIVE with the same LID, PortInfo, P_Key tables
# and forwarding tables as before, the SA answers, and opensm's next light sweep finds
# nothing to do (no new SUBNET UP). softib's debugfs counters show the MADs it refused
# and dropped. The kernel log is checked by the runner (WARNING, BUG, KASAN).
# guests: 1
# timeout: 300
# ipoib: no
#
#   +-------------------------------------------------------------------+
#   | a   softib.ko hcas=3                                               |
#   |                                                                   |
#   |   mad_fuzz --umad--> softib0 p1 ---+                              |
#   |   opensm  --umad-->     (SM)       +--- softib switch (SMA, QP1)  |
#   |                        softib1 p1 -+                              |
#   |                        softib2 p1 -+                              |
#   +-------------------------------------------------------------------+
#
# mad_fuzz is built on the host beforehand (tests/tools/build-tools.sh).

. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

FUZZ=$LAB_REPO/build/tools/mad_fuzz
RANDOM_COUNT=3000 # at least this many,
RANDOM_SECONDS=60 # and for at least this long
SEED=20261203
DBG=/sys/kernel/debug/softib

[[ -x $FUZZ ]] || fail "$FUZZ is missing: build it on the host (tests/tools/build-tools.sh)"
command -v ibroute >/dev/null || fail "no ibroute (infiniband-diags)"

sib_subnet_up 3
[[ -r $DBG/mad ]] || fail "no $DBG/mad"

umad=
for f in /sys/class/infiniband_mad/umad*; do
	[[ $(cat "$f/ibdev") == softib0 && $(cat "$f/port") == 1 ]] && umad=/dev/infiniband/${f##*/}
done
[[ -n $umad ]] || fail "no umad device for softib0 port 1"

smp() { smpquery -C softib0 -P 1 "$@"; }

# snapshot FILE: everything the fuzz must not change, as the SM's port sees it
snapshot() {
	local i l p
	{
		for ((i = 0; i < SIB_HCAS; i++)); do
			echo "softib$i: $(sib_port_attr "softib$i" state) lid $(sib_port_attr "softib$i" lid)" \
				"sm_lid $(sib_port_attr "softib$i" sm_lid)"
		done
		for l in "${lids[@]}"; do
			echo "== LID $l"
			smp nodeinfo "$l" | grep -v '^#'
			smp portinfo "$l" | grep -v '^#'
			smp pkeys "$l" | grep -v '^#'
		done
		for ((p = 1; p <= SIB_HCAS; p++)); do
			echo "== switch port $p"
			smp portinfo "$swlid" "$p" | grep -v '^#'
			smp pkeys "$swlid" "$p" | grep -v '^#'
		done
		echo "== switch"
		smp switchinfo "$swlid" | grep -v '^#'
		ibroute -C softib0 -P 1 "$swlid"
		ibroute -C softib0 -P 1 -M "$swlid"
	} >"$1" 2>>/tmp/snapshot.err
}

mad_counter() { awk -v k="$1" '$1 == k { print $2 }' "$DBG/mad"; }
light_sweeps() { grep -c 'LIGHT SWEEP COMPLETE' "$SIB_OSM/opensm.log" || true; }
light_sweeps_gt() { (($(light_sweeps) > $1)); }

lids=()
for ((i = 0; i < SIB_HCAS; i++)); do lids+=("$(($(sib_port_attr "softib$i" lid)))"); done
swlid=$(smp -D portinfo 0,1 | sed -n 's/^Lid:\.*\([0-9]*\)$/\1/p')
[[ $swlid =~ ^[0-9]+$ && $swlid != 0 ]] || fail "no switch LID ('$swlid')"
lids+=("$swlid")
log "LIDs: HCAs ${lids[*]:0:SIB_HCAS}, switch $swlid; umad $umad"

# opensm's first light sweep must have come (nothing changed since SUBNET UP)
wait_for 30 light_sweeps_gt 0
snapshot /tmp/before.txt
grep -q 'LinkState:.*Active' /tmp/before.txt || { cat /tmp/before.txt; fail "snapshot has no Active port"; }
ups0=$(sib_ups)
rej0=$(mad_counter rejected) drop0=$(mad_counter dropped)
log "before: opensm SUBNET UP $ups0, softib mad rejected $rej0 dropped $drop0"

t0=$(date +%s.%N)
rc=0
"$FUZZ" -d "$umad" -m malformed >/tmp/malformed.log 2>&1 || rc=$?
sed 's/^/    /' /tmp/malformed.log
((rc == 0)) || fail "mad_fuzz -m malformed: status $rc"
grep -q '^malformed: sent [1-9][0-9]* .* unexpected 0$' /tmp/malformed.log ||
	fail "mad_fuzz -m malformed printed no clean summary"
ntargets=$(grep -c '^target ' /tmp/malformed.log || true)
((ntargets == SIB_HCAS + 1)) || fail "mad_fuzz found $ntargets nodes, want $((SIB_HCAS + 1))"
log "malformed list: $(sib_since "$t0") s"

t0=$(date +%s.%N)
rc=0
"$FUZZ" -d "$umad" -m random -n "$RANDOM_COUNT" -T "$RANDOM_SECONDS" -s "$SEED" \
	>/tmp/random.log 2>&1 || rc=$?
sed 's/^/    /' /tmp/random.log
((rc == 0)) || fail "mad_fuzz -m random -s $SEED: status $rc"
sent=$(awk '/^random: sent .* unexpected 0$/ { print $3 }' /tmp/random.log)
if ! [[ $sent =~ ^[0-9]+$ ]] || ((sent < RANDOM_COUNT)); then
	fail "mad_fuzz -m random did not send $RANDOM_COUNT or more MADs cleanly"
fi
secs=$(awk '/^random: [0-9.]+ s$/ { print int($2) }' /tmp/random.log)
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < RANDOM_SECONDS)); then
	fail "mad_fuzz -m random ran ${secs:-?} s, not $RANDOM_SECONDS"
fi
log "$sent random MADs (seed $SEED) in $(sib_since "$t0") s"

rej1=$(mad_counter rejected) drop1=$(mad_counter dropped)
log "after: softib mad rejected $rej1 (+$((rej1 - rej0))) dropped $drop1 (+$((drop1 - drop0)))"
# the switch alone gets some 40 rejected (status) and 3 dropped MADs from the fixed list
((rej1 - rej0 >= 100)) || fail "softib counted only $((rej1 - rej0)) rejected MADs"
((drop1 - drop0 >= 3)) || fail "softib counted only $((drop1 - drop0)) dropped MADs"

# Nothing changed: opensm's next light sweep finds nothing, and every table reads the same
sweeps=$(light_sweeps)
wait_for 30 light_sweeps_gt "$sweeps"
ups1=$(sib_ups)
((ups1 == ups0)) || {
	grep -E -- '-> SUBNET UP$|HEAVY SWEEP|ERR' "$SIB_OSM/opensm.log" | tail -n 20 | sed 's/^/    opensm: /'
	fail "opensm swept heavily after the fuzz ($ups0 -> $ups1 SUBNET UP)"
}
snapshot /tmp/after.txt
if ! cmp -s /tmp/before.txt /tmp/after.txt; then
	diff -u /tmp/before.txt /tmp/after.txt | head -n 60 || true
	fail "the subnet changed under malformed and random MADs"
fi
log "PortInfo, P_Key tables, SwitchInfo and forwarding tables of $((${#lids[@]})) LIDs unchanged"
for ((i = 0; i < SIB_HCAS; i++)); do
	ibstat "softib$i" | grep -q 'State: Active' || fail "softib$i is not Active"
done
check saquery -C softib1 -P 1 -N >/tmp/nodes.txt
nodes=$(grep -c 'NodeRecord dump' /tmp/nodes.txt || true)
((nodes == SIB_HCAS + 1)) || fail "saquery found $nodes NodeRecords, want $((SIB_HCAS + 1))"
for l in "${lids[@]}"; do
	smpquery -C softib2 -P 1 portinfo "$l" | grep -q 'LinkState:.*Active' ||
		fail "smpquery portinfo $l from softib2: not Active"
done
log "subnet healthy: all ports Active, saquery $nodes NodeRecords"

sib_opensm_stop
trap - EXIT
cp "$SIB_OSM/opensm.log" "$LAB_SHARED/a.opensm.log" 2>/dev/null
check rmmod softib
