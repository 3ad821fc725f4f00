# The debugfs link knob on the softib subnet, under Debian's in-tree ib_ipoib: pulling
# softib1 port 1's cable takes both ends DOWN (PORT_ERR: h1's carrier goes), plugging
# it back makes them train to INIT, opensm's next sweep brings them ACTIVE
# (PORT_ACTIVE: the carrier comes back) and h0 and h1, their neighbour caches flushed,
# ping each other again (IPv6 address resolution needs the rejoined solicited-node
# groups, not only the broadcast group). With our
# driver, a third bounce: a switch to datagram mode while the broadcast rejoin fails
# keeps the group's MTU.
# guests: 1
# timeout: 300
# ipoib: no
# once: yes
#
#   +-------------------------------------------------------------------+
#   | a   softib.ko hcas=2, the distribution's ib_ipoib                  |
#   |                                                                   |
#   |  netns h0: 198.18.3.1 -- softib0 p1 --+                           |
#   |  netns h1: 198.18.3.2 -- softib1 p1 --x-- switch port 2           |
#   |                          (/sys/kernel/debug/softib/softib1/port1/link)
#   |  opensm on softib0 port 1, sweeping every 2 s                     |
#   +-------------------------------------------------------------------+

# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

KNOB=/sys/kernel/debug/softib/softib1/port1/link

# state_is DEV STATE PHYS: port 1 of DEV is in that logical and physical state
state_is() {
	[[ $(sib_port_attr "$1" state) == *"$2" && $(sib_port_attr "$1" phys_state) == *"$3" ]]
}
no_carrier() { ! sib_carrier "$1"; }

sib_subnet_up 2
sib_ipoib_hosts
wait_for 30 sib_carrier 0
wait_for 30 sib_carrier 1
sib_ping_all
[[ $(cat "$KNOB") == 1 ]] || fail "$KNOB reads '$(cat "$KNOB")', not 1"

for round in 1 2; do
	kmsg "link knob round $round: pulling softib1 port 1"
	log "round $round: + echo 0 >$KNOB"
	echo 0 >"$KNOB"
	wait_for 10 state_is softib1 DOWN Polling
	log "softib1 port 1: $(sib_port_attr softib1 state), $(sib_port_attr softib1 phys_state)"
	wait_for 20 no_carrier 1
	log "h1's ${SIB_IF[1]} lost its carrier"
	! sib_in 0 ping -c 2 -i 0.2 -W 1 "$(sib_hip 1)" >/dev/null 2>&1 ||
		fail "h0 still reaches h1 with the cable pulled"
	# the SM's port is untouched
	state_is softib0 ACTIVE LinkUp || fail "softib0: $(sib_port_attr softib0 state)"

	t0=$(date +%s.%N)
	log "+ echo 1 >$KNOB"
	echo 1 >"$KNOB"
	wait_for 10 state_is softib1 '' LinkUp
	log "softib1 port 1 trained: $(sib_port_attr softib1 state), $(sib_port_attr softib1 phys_state)"
	wait_for 30 state_is softib1 ACTIVE LinkUp
	log "softib1 port 1 ACTIVE again after $(sib_since "$t0") s (opensm's sweep)"
	wait_for 30 sib_carrier 1
	log "h1's carrier is back after $(sib_since "$t0") s"
	# forget the neighbours: address resolution must go through the groups the
	# hosts rejoined (h1's solicited-node group, not only the broadcast group)
	check sib_in 0 ip neigh flush dev "${SIB_IF[0]}"
	check sib_in 1 ip neigh flush dev "${SIB_IF[1]}"
	sib_ping_pair 0 1
	log "round $round: h0 and h1 ping each other again (IPv4, IPv6)"
done

# Our driver only (its fault knobs): after a link bounce the interface reopens and
# rejoins its broadcast group; until that join succeeds the group's MTU (opensm's
# 2048 here) stays the datagram limit, as in-tree keeps it across a reopen. A switch
# from connected to datagram mode meanwhile must not offer the port's 4092: h1's next
# four broadcast joins fail (ETIMEDOUT; retries after 1, 2, 4 and 8 s) while it
# switches.
if [[ $SIB_DRIVER == ours ]]; then
	IF1=${SIB_IF[1]}
	F=/sys/kernel/debug/ipoib/fault/mcast_join
	mode1() { sib_in 1 sh -c "echo $1 >/sys/class/net/$IF1/mode"; }
	mtu1() { sib_in 1 cat "/sys/class/net/$IF1/mtu"; }
	joins_failed() { [[ $(cat "$F") =~ injected\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= $1)); }
	dgram=$(mtu1)
	max=$(sib_in 1 ip -d link show "$IF1" | grep -o 'maxmtu [0-9]*')
	max=${max#maxmtu }
	((dgram < max)) || fail "datagram MTU $dgram is the port's ($max): nothing to tell apart"
	check mode1 connected
	check bash -c "echo '4 110 0 $IF1' >$F"
	echo 0 >"$KNOB"
	wait_for 10 state_is softib1 DOWN Polling
	wait_for 20 no_carrier 1
	echo 1 >"$KNOB"
	wait_for 30 state_is softib1 ACTIVE LinkUp
	wait_for 30 joins_failed 1
	check mode1 datagram
	m=$(mtu1)
	log "h1 switched to datagram during its failing rejoin ($(tr '\n' ' ' <"$F")): MTU $m, carrier $(sib_in 1 cat "/sys/class/net/$IF1/carrier")"
	((m <= dgram)) || fail "MTU $m in datagram mode before the broadcast join (group MTU $dgram)"
	wait_for 60 sib_carrier 1
	(($(mtu1) == dgram)) || fail "MTU $(mtu1) after the join, want $dgram"
	check sib_in 0 ip neigh flush dev "${SIB_IF[0]}"
	check sib_in 1 ip neigh flush dev "${SIB_IF[1]}"
	sib_ping_pair 0 1
	log "joined again: MTU $(mtu1), h0 and h1 ping each other"
else
	log "the mode switch during a failing rejoin is tested with our driver only (fault knobs)"
fi

sib_teardown
