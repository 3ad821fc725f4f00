# Debian's in-tree ib_ipoib on the softib subnet, datagram mode: three hosts (network
# namespaces h0-h2, one HCA each) ping each other over IPv4 and IPv6; the broadcast
# group and the IPv6 groups the driver joined through opensm show in saquery -g; a
# child of h0's interface with its parent's P_Key, in namespace h0c, reaches its parent
# (HCA multicast loopback) and h1; an iperf3 TCP figure (10 s, h1 -> h0) is printed
# for the README.
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   +------------------------------------------------------------------+
#   | a   softib.ko hcas=3, the distribution's ib_ipoib                 |
#   |                                                                  |
#   |  netns h0: ibX 198.18.3.1  2001:db8:3::1 -- softib0 p1 --+       |
#   |  netns h0c: sib0c 198.18.3.100 2001:db8:3::100                   |
#   |             (child of ibX, P_Key 0xffff, on softib0 p1 too)      |
#   |  netns h1: ibY 198.18.3.2  2001:db8:3::2 -- softib1 p1 --+ switch|
#   |  netns h2: ibZ 198.18.3.3  2001:db8:3::3 -- softib2 p1 --+       |
#   |                                                                  |
#   |  opensm on softib0 port 1 (initial namespace; SM and SA)         |
#   +------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

sib_subnet_up 3
sib_ipoib_hosts
for ((i = 0; i < SIB_HCAS; i++)); do
	wait_for 30 sib_carrier "$i"
done
log "every interface has its carrier (broadcast group joined)"
sib_ping_all

# Two interfaces on one port and partition, as ipoib-cni makes them: a netlink child of
# h0's interface with its parent's P_Key, in a namespace of its own (h0c). Only the
# HCA's multicast loopback can carry the parent's ARP and neighbour solicitations to
# the child's QP: the switch never sends a packet back out of the port it came in by.
# (No link-local address on the child: it would be its parent's, derived from the
# port GID, and fail DAD against it.)
check sib_in 0 ip link add link "${SIB_IF[0]}" name sib0c type ipoib pkey 0xffff
[[ -e /run/netns/h0c ]] || check ip netns add h0c
check sib_in 0 ip link set sib0c netns h0c
check ip netns exec h0c ip link set lo up
check ip netns exec h0c ip link set sib0c addrgenmode none
check ip netns exec h0c ip link set sib0c up
check ip netns exec h0c ip addr add 198.18.3.100/24 dev sib0c
check ip netns exec h0c ip -6 addr add 2001:db8:3::100/64 dev sib0c nodad
child_carrier() { [[ $(ip netns exec h0c cat /sys/class/net/sib0c/carrier) == 1 ]]; }
wait_for 30 child_carrier
for a in 198.18.3.100 2001:db8:3::100; do
	poll 30 sib_ping 0 "$a" || fail "h0 cannot reach its own port's child at $a"
	poll 30 sib_ping 1 "$a" || fail "h1 cannot reach h0's child at $a"
done
for a in "$(sib_hip 0)" "$(sib_hip6 0)" "$(sib_hip 1)"; do
	poll 30 ip netns exec h0c ping -c 1 -W 2 "$a" || fail "h0's child cannot reach $a"
done
log "a child on h0's port, in namespace h0c, reaches its parent and h1 (IPv4, IPv6)"

# the groups the drivers joined, as the SA (opensm) lists them
check saquery -C softib0 -P 1 -g >"$SIB_OSM/groups.txt"
sed 's/^/    /' "$SIB_OSM/groups.txt"
grep -Eq 'MGID\.+ff12:401b:ffff::ffff:ffff$' "$SIB_OSM/groups.txt" ||
	fail "saquery -g: no IPv4 broadcast group ff12:401b:ffff::ffff:ffff"
grep -Eq 'MGID\.+ff12:601b:ffff::1:ff' "$SIB_OSM/groups.txt" ||
	fail "saquery -g: no IPv6 solicited-node group ff12:601b:ffff::1:ff..."
log "saquery -g: $(grep -c 'MGID' "$SIB_OSM/groups.txt") groups"
# every host is a member of the broadcast group (the SA shows member port GIDs
# only to a trusted requester: opensm's default SM_Key is 1)
check saquery -C softib0 -P 1 --smkey 1 -m >"$SIB_OSM/members.txt"
n=$(grep -Ec 'MGID\.+ff12:401b:ffff::ffff:ffff$' "$SIB_OSM/members.txt" || true)
log "saquery -m: $n members of the broadcast group"
((n == SIB_HCAS)) || { cat "$SIB_OSM/members.txt"; fail "broadcast group has $n members, want $SIB_HCAS"; }

# benchmark figure (not asserted)
sib_iperf "" || log "no iperf3 in the guest: no figure"

sib_teardown
