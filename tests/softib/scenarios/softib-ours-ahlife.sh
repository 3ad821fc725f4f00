# Address handles must be gone before the PD they were made on (issue 11, item 1).
# Neighbours that die while they hold an address handle, on a kernel whose RCU
# callbacks run late: h0's neighbours of h1 and h2 are killed by `ethtool -G`
# (which destroys the old PD) and by unloading the driver (which unregisters the
# interfaces). The guest boots with every CPU's callbacks offloaded and lazy, and
# with expedited grace periods: a callback queued with call_rcu() then waits up to
# 10 s after synchronize_rcu() has returned, so a driver that drops an AH reference
# from an RCU callback and relies on a grace period having run it is caught every
# time, not by luck: ib_dealloc_pd() warns that the PD is still in use (and the
# debug kernel's KASAN reports the late rdma_destroy_ah() on the freed PD). Lazy
# RCU needs 6.2 or later: on 6.1 only the expedited grace periods apply. The lab's
# scan of the kernel log after the scenario is the verdict (the kmsg markers show
# which step a report follows); unregistering a netdev waits for every callback
# (rcu_barrier), so by the end of rmmod the late ones have run.
# guests: 1
# timeout: 300
# ipoib: no
# append: rcu_nocbs=all rcutree.enable_rcu_lazy=1 rcupdate.rcu_expedited=1
#
#   +---------------------------------------------------------------------+
#   | a   softib.ko hcas=3, this project's ib_ipoib; lazy RCU callbacks   |
#   |                                                                     |
#   |  netns h0: 198.18.3.1 -- softib0 --+                                |
#   |  netns h1: 198.18.3.2 -- softib1 --+-- switch    opensm on softib0  |
#   |  netns h2: 198.18.3.3 -- softib2 --+                                |
#   |                                                                     |
#   |  3 rounds: h0 pings h1, h2 (2 neighbours, 2 AHs); ethtool -G on h0  |
#   |  then: h0's neighbours alive, rmmod ib_ipoib                        |
#   +---------------------------------------------------------------------+

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-common.bash
. "$LAB_REPO/tests/softib/scenarios/softib-common.bash"

# rcu_setting: how this kernel runs RCU callbacks, for the log
rcu_setting() {
	local lazy=n/a exp nocb
	[[ -r /sys/module/rcutree/parameters/enable_rcu_lazy ]] &&
		lazy=$(cat /sys/module/rcutree/parameters/enable_rcu_lazy)
	exp=$(cat /sys/kernel/rcu_expedited 2>/dev/null || echo '?')
	nocb=$(grep -o 'rcu_nocbs=[^ ]*' /proc/cmdline || echo 'no rcu_nocbs')
	echo "lazy callbacks: $lazy, expedited grace periods: $exp, $nocb"
}

# neighbours: how many neighbours h0's interface holds (its debugfs path list)
neighbours() {
	local f
	f=$(find /sys/kernel/debug/ipoib -name "${SIB_IF[0]}@*_path" | head -n 1)
	[[ -n $f ]] || { echo 0; return; }
	awk '/neighbours:/ { n += $2 } END { print n + 0 }' "$f"
}
has_neighbours() { (($(neighbours) >= $1)); }

# reach: h0 pings h1 and h2 over IPv4 and IPv6 (a neighbour per peer: one hardware
# address answers both)
reach() {
	local j a
	for j in 1 2; do
		for a in "$(sib_hip "$j")" "$(sib_hip6 "$j")"; do
			wait_for 30 sib_ping 0 "$a"
		done
	done
	wait_for 10 has_neighbours 2
}

log "RCU: $(rcu_setting)"
if [[ $(uname -r) != 6.1.* ]] && ! grep -q 'rcutree.enable_rcu_lazy=1' /proc/cmdline; then
	log "this kernel was booted without lazy RCU: the check runs, but its window is narrow"
fi

sib_subnet_up 3
sib_ipoib_hosts
for i in 0 1 2; do wait_for 30 sib_carrier "$i"; done

ring=$(sib_in 0 ethtool -g "${SIB_IF[0]}" | awk '/^Current/ { c = 1 } c && /^RX:/ { print $2; exit }')
[[ $ring =~ ^[0-9]+$ ]] || fail "ethtool -g ${SIB_IF[0]}: no current RX size"
for round in 1 2 3; do
	reach
	log "round $round: h0 has $(neighbours) neighbours; ethtool -G rx $((round % 2 ? ring / 2 : ring))"
	kmsg "ahlife round $round: ethtool -G with live neighbours"
	check sib_in 0 ethtool -G "${SIB_IF[0]}" rx $((round % 2 ? ring / 2 : ring))
	wait_for 30 sib_carrier 0
done

reach
log "unloading ib_ipoib with $(neighbours) neighbours on h0"
kmsg "ahlife: rmmod ib_ipoib with live neighbours"
sib_ipoib_unload
sib_opensm_stop
check rmmod softib
