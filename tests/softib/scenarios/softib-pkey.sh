# P_Key children of Debian's in-tree ib_ipoib on the softib subnet, partitions from
# opensm's partitions.conf. Partition 0x8001 lists h0 as full member and h2 as a
# limited one; h1 is not listed, so its child (pkey 0x8001) waits without a carrier.
# Listing h1 as a limited member (partitions.conf rewritten, SIGHUP: a heavy sweep
# programs softib1's P_Key table, PKEY_CHANGE) makes its child come up and reach h0
# (full), but never h2 (limited and limited: dropped by the P_Key check). h1's parent
# keeps its carrier throughout (its own P_Key did not change).
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   +----------------------------------------------------------------------+
#   | a   softib.ko hcas=3, the distribution's ib_ipoib                     |
#   |                                                                      |
#   |  netns h0: ibX.8001 198.18.4.1 (full)    -- softib0 p1 --+           |
#   |  netns h1: ibY.8001 198.18.4.2 (unlisted, -- softib1 p1 --+ switch   |
#   |                                 then limited)              |          |
#   |  netns h2: ibZ.8001 198.18.4.3 (limited)  -- softib2 p1 --+           |
#   |  (parents ibX-ibZ on the default partition 0xffff, 198.18.3.0/24)    |
#   |  opensm on softib0 port 1, partitions.conf below                     |
#   +----------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

pguid() { ibstat -p "softib$1" | head -n 1; }
cip() { echo "198.18.4.$(($1 + 1))"; }
# partitions LIST1: write partitions.conf with partition 0x8001's member list
partitions() {
	mkdir -p "$SIB_OSM"
	printf '%s\n' 'Default=0x7fff, ipoib : ALL=full ;' \
		"P1=0x8001, ipoib : $1 ;" >"$SIB_OSM/partitions.conf"
	sed 's/^/    partitions.conf: /' "$SIB_OSM/partitions.conf"
}
# has_pkey DEV PKEY: PKEY is in port 1's P_Key table
has_pkey() { grep -qx "$2" "/sys/class/infiniband/$1/ports/1/pkeys/"*; }
cif() { echo "${SIB_IF[$1]}.8001"; }
child_carrier() { [[ $(sib_in "$1" cat "/sys/class/net/$(cif "$1")/carrier") == 1 ]]; }

check modprobe ib_umad
# port GUIDs of seed 7 (README): softibN port 1 is 0x02feeb000007<N+1>01; written
# before opensm starts (sib_opensm_start keeps an existing partitions.conf)
g() { printf '0x02feeb000007%02x01' "$(($1 + 1))"; }
partitions "$(g 0)=full, $(g 2)=limited"
sib_subnet_up 3
for i in 0 1 2; do
	[[ $(pguid "$i") == "$(g "$i")" ]] || fail "softib$i port GUID $(pguid "$i"), not $(g "$i")"
done
has_pkey softib0 0x8001 || fail "softib0 has no full 0x8001"
has_pkey softib2 0x0001 || fail "softib2 has no limited 0x0001"
! has_pkey softib1 0x8001 && ! has_pkey softib1 0x0001 || fail "softib1 has partition 0x8001"
sib_ipoib_hosts
for i in 0 1 2; do
	wait_for 30 sib_carrier "$i"
	check sib_in "$i" ip link add link "${SIB_IF[i]}" name "$(cif "$i")" type ipoib pkey 0x8001
	check sib_in "$i" ip link set "$(cif "$i")" up
	check sib_in "$i" ip addr add "$(cip "$i")/24" dev "$(cif "$i")"
done
wait_for 30 child_carrier 0
wait_for 30 child_carrier 2
log "children of h0 (full) and h2 (limited) have their carrier"
wait_for 30 sib_ping 0 "$(cip 2)"
wait_for 30 sib_ping 2 "$(cip 0)"
log "h0 <-> h2 over partition 0x8001 (full and limited)"
! child_carrier 1 || fail "h1's child has a carrier though partition 0x8001 does not list softib1"
! sib_ping 1 "$(cip 0)" >/dev/null 2>&1 || fail "h1 reaches h0 over 0x8001 without the partition"

cc1=$(sib_carrier_changes 1)
log "listing softib1 as a limited member of 0x8001"
partitions "$(g 0)=full, $(g 1)=limited, $(g 2)=limited"
check kill -HUP "$SIB_OSM_PID"
wait_for 30 has_pkey softib1 0x0001
log "softib1's P_Key table has 0x0001 (limited 0x8001)"
wait_for 30 child_carrier 1
log "h1's child has its carrier"
wait_for 30 sib_ping 1 "$(cip 0)"
wait_for 30 sib_ping 0 "$(cip 1)"
log "h1 <-> h0 over partition 0x8001 (limited and full)"
# The parent's own P_Key (index 0) did not change: it keeps running (both drivers)
cc=$(sib_carrier_changes 1)
log "h1's ${SIB_IF[1]}: $cc1 carrier changes before the P_Key change, $cc after"
((cc == cc1)) || fail "h1's ${SIB_IF[1]} lost its carrier over a P_Key that is not its own"
# pviol: softib2 port 1's PortInfo P_KeyViolations
pviol() {
	smpquery -C softib0 -P 1 portinfo "$(($(sib_port_attr softib2 lid)))" |
		sed -n 's/^PkeyViolations:\.*//p'
}
v0=$(pviol)
! sib_in 1 ping -c 3 -i 0.3 -W 1 "$(cip 2)" >/dev/null 2>&1 ||
	fail "h1 (limited) reaches h2 (limited) over partition 0x8001"
v1=$(pviol)
log "softib2 port 1 P_Key violations: $v0 before, $v1 after"
((v1 > v0)) || fail "softib2 counted no P_Key violation"
log "h1 (limited) cannot reach h2 (limited); their parents still can:"
wait_for 30 sib_ping 1 "$(sib_hip 2)"
log "    h1 -> h2 over the default partition"

sib_teardown
