# The debugfs link knob on the softib subnet, under Debian's in-tree ib_ipoib: pulling
# softib1 port 1's cable takes both ends DOWN (PORT_ERR: h1's carrier goes), plugging
# it back makes them train to INIT, opensm's next sweep brings them ACTIVE
# (PORT_ACTIVE: the carrier comes back) and h0 and h1 ping each other again.
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
	sib_ping_pair 0 1
	log "round $round: h0 and h1 ping each other again (IPv4, IPv6)"
done

sib_teardown
