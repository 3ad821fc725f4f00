# SM change on the softib subnet under Debian's in-tree ib_ipoib: opensm is killed
# and a new one started on the same port. The new SM knows no multicast member, sets
# ClientReregister in every port's PortInfo (CLIENT_REREGISTER), and the drivers join
# their groups again: the broadcast group has both hosts again, the IPv6 groups show
# in saquery -g, and h0 and h1 ping each other over IPv4 and IPv6.
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   +-------------------------------------------------------------------+
#   | a   softib.ko hcas=2, the distribution's ib_ipoib                  |
#   |                                                                   |
#   |  netns h0: 198.18.3.1 -- softib0 p1 --+-- switch                  |
#   |  netns h1: 198.18.3.2 -- softib1 p1 --+                           |
#   |                                                                   |
#   |  opensm on softib0 port 1: killed, then started again             |
#   +-------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

BCAST=ff12:401b:ffff::ffff:ffff

# members MGID: how many ports the SA lists as members of group MGID (trusted
# query: opensm's default SM_Key is 1)
members() {
	saquery -C softib1 -P 1 --smkey 1 -m >/tmp/members.txt 2>&1 || { echo -1; return 0; }
	grep -Ec "MGID\.+$1\$" /tmp/members.txt || true
}
members_are() { (($(members "$1") == $2)); }
# v6_groups: solicited-node groups the SA knows
v6_groups() {
	saquery -C softib1 -P 1 -g 2>/dev/null | grep -Ec 'MGID\.+ff12:601b:ffff::1:ff' || true
}
v6_groups_ge() { (($(v6_groups) >= $1)); }

sib_subnet_up 2
sib_ipoib_hosts
wait_for 30 sib_carrier 0
wait_for 30 sib_carrier 1
sib_ping_all
wait_for 20 members_are "$BCAST" 2
v6=$(v6_groups)
log "before: broadcast group has 2 members, $v6 solicited-node groups"
((v6 >= 2)) || fail "only $v6 IPv6 solicited-node groups"

for round in 1 2; do
	kmsg "SM change round $round"
	log "round $round: killing opensm (pid $SIB_OSM_PID)"
	cc="$(sib_carrier_changes 0) $(sib_carrier_changes 1)"
	sib_opensm_stop
	ups=$(sib_ups)
	t0=$(date +%s.%N)
	sib_opensm_start
	wait_for 60 sib_ups_gt "$ups"
	log "new opensm: SUBNET UP after $(sib_since "$t0") s"
	wait_for 30 members_are "$BCAST" 2
	log "broadcast group has both hosts again after $(sib_since "$t0") s"
	wait_for 30 v6_groups_ge "$v6"
	log "saquery -g: $(v6_groups) solicited-node groups again"
	sib_ping_pair 0 1
	log "round $round: h0 and h1 ping each other again (IPv4, IPv6)"
	# not asserted: whether a driver drops its carrier while it rejoins
	log "carrier changes of h0 h1: $cc before, $(sib_carrier_changes 0) $(sib_carrier_changes 1) after"
done

sib_teardown
