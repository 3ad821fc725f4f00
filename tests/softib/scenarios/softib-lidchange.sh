# A LID change on the softib subnet, with Debian's in-tree ib_ipoib (the
# reference; softib-ours-lidchange.sh runs the same body with this project's
# driver). opensm is stopped, its guid2lid cache edited to give h1's port a new
# LID, and restarted honoring the cache (-x), as when an SM takes over with
# another LID plan: its first sweep sets softib1's new LID (PortInfo Set: the
# port raises IB_EVENT_LID_CHANGE, which both drivers answer with a normal
# flush, the interface down and up) and the client-reregister bit on every port
# (IB_EVENT_CLIENT_REREGISTER: a light flush, paths forgotten, groups rejoined),
# so the other hosts look h1's path up again too. Checked: softib1's LID is the
# new one, h0 <-> h1 and h1 <-> h2 ping again over IPv4 and IPv6 (polled), the SA's
# path records (saquery) and h0's path to h1 (debugfs ipoib/<if>_path) carry the
# new DLID and no longer the old one, and, for our driver, it logged the event.
# Both drivers, 6.12 and 6.1: the LID is set 1.2-1.4 s after opensm starts, pings
# both ways again 4-6 s after (ours) or 7-8 s (in-tree); a 20 s ping h0 -> h1
# across the change lost 0 of 100 (ours) and 2-3 of 100 (in-tree); both logged the
# event on h1 (in-tree: "Event 11", at debug_level 1). Not covered: a LID set behind
# the SM's back (ibportstate ... lid): no client reregister would reach the other
# hosts, so their paths to h1 would wait for some other flush (not run, neither
# driver's behaviour there is verified). Then h0 and h1 switch to connected mode:
# ib_cm connects over the new path, pings h0 <-> h1 (IPv4, IPv6) go over RC
# (softib1's RC counter), and both go back to datagram mode.
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   +--------------------------------------------------------------------+
#   | a   softib.ko hcas=3, the distribution's ib_ipoib                   |
#   |                                                                    |
#   |  netns h0: ibX 198.18.3.1 -- softib0 p1 --+                         |
#   |  netns h1: ibY 198.18.3.2 -- softib1 p1 --+ switch   (h1's LID      |
#   |  netns h2: ibZ 198.18.3.3 -- softib2 p1 --+           becomes 0x40) |
#   |  opensm on softib0 port 1: stopped, guid2lid edited, started -x     |
#   +--------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

NEW_LID=0x0040
lid_of() { printf '0x%04x' "$(($(sib_port_attr "softib$1" lid)))"; }
lid_is() { [[ $(lid_of "$1") == "$2" ]]; }
# h0's path to h1 (debugfs, both drivers' format "DLID: 0x...") has DLID $1. The
# in-tree driver names the file ipoib/<if>_path; ours, for an interface outside
# init_net, ipoib/<if>@<netns inode>_path
h0_dlid() {
	local d=/sys/kernel/debug/ipoib inum
	inum=$(sib_in 0 readlink /proc/self/ns/net | tr -dc 0-9)
	if [[ -e $d/${SIB_IF[0]}@${inum}_path ]]; then
		grep -Eq "DLID: +$1\b" "$d/${SIB_IF[0]}@${inum}_path"
	else
		grep -Eq "DLID: +$1\b" "$d/${SIB_IF[0]}_path"
	fi
}

sib_subnet_up 3
sib_ipoib_hosts
for i in 0 1 2; do wait_for 30 sib_carrier "$i"; done
sib_ping_pair 0 1
sib_ping_pair 1 2
old=$(lid_of 1) lid0=$(lid_of 0) lid2=$(lid_of 2)
[[ $old != "$NEW_LID" && $lid0 != "$NEW_LID" && $lid2 != "$NEW_LID" ]] ||
	fail "opensm already gave $NEW_LID to a port"
wait_for 10 h0_dlid "$old"
log "h0's path to h1: DLID $old"

dbg=/sys/module/ib_ipoib/parameters/debug_level
[[ ! -w $dbg ]] || echo 1 >"$dbg"
[[ $SIB_DRIVER != ours ]] || ipoib_debug_on
kmsg "LID change: softib1 $old -> $NEW_LID"
g2l=$SIB_OSM/cache/guid2lid
guid=$(ibstat -p softib1 | head -n 1)
# traffic while the LID changes: h0 pings h1 for 20 s (the loss is logged, not
# asserted; the change and the recovery take about 7 s)
sib_in 0 ping -q -i 0.2 -w 20 "$(sib_hip 1)" >/tmp/lid-ping.out 2>&1 &
pinger=$!
sib_opensm_stop
[[ -f $g2l ]] || fail "opensm left no guid2lid cache"
grep -qi "^$guid " "$g2l" || { cat "$g2l"; fail "no $guid in $g2l"; }
awk -v g="$guid" -v l="$NEW_LID" 'tolower($1) == g { $2 = l; $3 = l } 1' "$g2l" >"$g2l.new"
check mv "$g2l.new" "$g2l"
sed 's/^/    guid2lid: /' "$g2l"
t0=$(date +%s.%N)
SIB_OSM_ARGS+=(-x)
sib_opensm_start
wait_for 60 lid_is 1 "$NEW_LID"
log "softib1 port 1 LID: $old -> $(lid_of 1) after $(sib_since "$t0") s"
{ lid_is 0 "$lid0" && lid_is 2 "$lid2"; } || fail "other LIDs changed: $(lid_of 0) $(lid_of 2)"
sib_ping_pair 0 1
sib_ping_pair 1 2
log "h0 <-> h1 and h1 <-> h2 ping again (IPv4, IPv6) after $(sib_since "$t0") s"
wait "$pinger" || true
log "h0 -> h1 during the change: $(grep -E 'transmitted' /tmp/lid-ping.out)"

# the SA hands out the new LID, and h0 resolved it
sa=$(saquery -C softib0 -P 1 -p 2>&1) || fail "saquery -p: $sa"
# (saquery prints the DLID in decimal)
grep -Eq "dlid\.+$((NEW_LID))\$" <<<"$sa" ||
	{ grep -i dlid <<<"$sa" | sort | uniq -c; fail "no path record with DLID $NEW_LID"; }
log "saquery -p: path records to DLID $NEW_LID"
wait_for 30 h0_dlid "$NEW_LID"
! h0_dlid "$old" || fail "h0 still has a path with h1's old DLID $old"
log "h0's path to h1: DLID $NEW_LID (old $old gone)"
ev=$(klog | grep -Ei "${SIB_IF[1]}.*(event LID change|Event 11 )" | tail -n 1) || true
log "h1's driver on the event: ${ev:-(nothing logged)}"
if [[ $SIB_DRIVER == ours && -z $ev ]]; then
	# our event line is a netdev_dbg(): without dynamic debug (the debug kernel) it
	# is compiled out, and the recovery above is all there is to check
	[[ ! -e /sys/kernel/debug/dynamic_debug/control ]] ||
		fail "our driver logged no LID change event on ${SIB_IF[1]}"
	log "no dynamic debug in this kernel: our driver's event line cannot be logged"
fi
[[ ! -w $dbg ]] || echo 0 >"$dbg"

# connected mode after the change: ib_cm connects h0 and h1 over path records
# with the new DLID; softib1 counts the RC messages it accepted
r1=$(sib_rc 1 rx)
for i in 0 1; do check sib_in "$i" sh -c "echo connected >/sys/class/net/${SIB_IF[i]}/mode"; done
sib_ping_pair 0 1
check sib_in 0 ping -q -c 10 -i 0.05 -W 2 "$(sib_hip 1)"
log "connected mode: h0 <-> h1 ping, softib1 accepted $(($(sib_rc 1 rx) - r1)) RC messages"
(($(sib_rc 1 rx) - r1 >= 10)) || fail "connected-mode pings to h1 did not go over RC"
for i in 0 1; do check sib_in "$i" sh -c "echo datagram >/sys/class/net/${SIB_IF[i]}/mode"; done
sib_teardown
