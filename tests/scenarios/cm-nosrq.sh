# Connected mode without a shared receive queue: max_nonsrq_conn_qp is
# brought into 0..4096 (as in-tree) and refused at insmod when not a
# number; then a loads with max_nonsrq_conn_qp=2, arms the srq_create fault
# and re-creates ib0 (rdma link delete/add: whether the SRQ is made when the
# interface is registered, opened or switched to connected, that creation
# fails), so ib0 runs connected mode with a receive QP per connection
# ("connected mode without SRQ" in the kernel log). b (with its SRQ) and a
# ping both ways in connected mode with sizes up to 65000 bytes, a accepting
# b's connection on the non-SRQ path.  Then: 0..3 byte messages over RC
# (fault cm_send_short) are counted as short frames and dropped on both
# paths; b's SRQ emptied by failed posts (fault post_recv, more faults than
# SRQ slots) is refilled and RC traffic resumes; b with max_srq_conn_qp=0
# refuses a's new connection (cm_rx_refused) and a falls back to datagrams.
# guests: 2
# timeout: 480
# ipoib: no
#
#   +----------------------------------------+            +-----------------------------+
#   | a  insmod max_nonsrq_conn_qp=2         |            | b  insmod (defaults)        |
#   |    fault/srq_create "1 12", rxe0 re-   |    RC      |    ib0 198.18.2.2 connected |
#   |    added: ib0 198.18.2.1 connected,    |============|    (SRQ)                    |
#   |    per-connection receive QPs          |            |                             |
#   +----------------------------------------+            +-----------------------------+

# shellcheck shell=bash
sys=/sys/class/net/ib0
F=/sys/kernel/debug/ipoib/fault
P=/sys/module/ib_ipoib/parameters/max_nonsrq_conn_qp
CM_MTU=65520
NOSRQ_MSG="connected mode without SRQ"

if [[ $NODE == a ]]; then
	# --- the parameter: known to the module, bounds accepted, the rest refused ---
	modinfo -p "$LAB_MODULE" | grep -q '^max_nonsrq_conn_qp:' ||
		fail "$LAB_MODULE has no max_nonsrq_conn_qp parameter: $(modinfo -p "$LAB_MODULE")"
	# numbers are brought into 0..4096 as the in-tree driver does; garbage is refused
	for pair in 0:0 1:1 4096:4096 4097:4096 -1:0 99999999:4096; do
		load_ipoib "max_nonsrq_conn_qp=${pair%:*}"
		[[ $(<$P) == "${pair#*:}" ]] || fail "max_nonsrq_conn_qp=${pair%:*} reads $(<$P)"
		wait_ib0
		check rmmod ib_ipoib
	done
	for bad in abc 1x ""; do
		if insmod "$LAB_MODULE" "max_nonsrq_conn_qp=$bad" 2>err; then fail "insmod max_nonsrq_conn_qp=$bad loaded"; fi
		log "insmod max_nonsrq_conn_qp=$bad refused: $(cat err)"
		[[ ! -e /sys/module/ib_ipoib ]] || fail "module loaded by max_nonsrq_conn_qp=$bad"
		log "kernel: $(dmesg | tail -n 1)"
	done

	# --- ib0 without an SRQ ---
	load_ipoib max_nonsrq_conn_qp=2
	[[ $(<$P) == 2 ]] || fail "max_nonsrq_conn_qp reads $(<$P)"
	wait_ib0
	[[ -w $F/srq_create ]] || fail "no srq_create fault site under $F: $(ls $F)"
	! dmesg | grep -q "$NOSRQ_MSG" || fail "'$NOSRQ_MSG' before the fault was armed"
	check bash -c "echo '1 12' > $F/srq_create"
	check rdma link delete rxe0
	[[ ! -e $sys ]] || fail "ib0 survived the removal of rxe0"
	check rdma link add rxe0 type rxe netdev eth0
	wait_for 30 port_active rxe0 1
	wait_ib0
	ipoib_up
	check bash -c "echo connected > $sys/mode"
else
	load_ipoib
	wait_ib0
	ipoib_up
	check ip link set dev ib0 type ipoib mode connected
fi
wait_carrier
[[ $(<$sys/mode) == connected && $(<$sys/mtu) == "$CM_MTU" ]] ||
	fail "connected mode: mode $(<$sys/mode) mtu $(<$sys/mtu)"
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier connected

# --- traffic both ways over RC, a receiving on its per-connection QP ---
wait_for 90 ping -c 1 -W 3 -s 8000 -Mdo "$PEER_IB_IP"
wait_for 60 nic_ge cm_tx_conns 1
wait_for 60 nic_ge cm_rx_conns 1
if [[ $NODE == a ]]; then
	read -r left _ _ _ injected <"$F/srq_create"
	log "srq_create: $(<"$F/srq_create")"
	[[ $left == 0 && $injected == 1 ]] || fail "srq_create fault not consumed once: $(<"$F/srq_create")"
	wait_for 30 sh -c "dmesg | grep -q '$NOSRQ_MSG'"
	log "kernel: $(dmesg | grep -m1 "$NOSRQ_MSG")"
else
	! dmesg | grep -q "$NOSRQ_MSG" || fail "b, with its SRQ, says '$NOSRQ_MSG'"
fi
rx0=$(nic_stat cm_rx_packets)
barrier rc-up
# (8000 bytes and more one at a time: see cm-ping.sh)
for size in 56 1400 8000 32000 65000; do
	if ((size >= 8000)); then one=(-A); else one=(); fi
	log "ping -s $size -M do ${one[*]} $PEER_IB_IP"
	ping_burst_late ib0 "$PEER_IB_IP" -s "$size" -Mdo "${one[@]}"
done
ping_burst_late ib0 "$PEER_IB_IP6" -s 32000 -Mdo -A
barrier pings-sent
rx1=$(nic_stat cm_rx_packets)
conns=$(nic_stat cm_rx_conns)
log "cm_rx_packets +$((rx1 - rx0)), cm_rx_conns $conns, cm_tx_conns $(nic_stat cm_tx_conns)"
# 6 bursts of 50 requests from the peer, 6 x 50 replies to ours
((rx1 - rx0 >= 600)) || fail "cm_rx_packets moved by $((rx1 - rx0)) for 600 echo packets"
if [[ $NODE == a ]]; then
	((conns >= 1 && conns <= 2)) || fail "a has $conns passive connections (max_nonsrq_conn_qp=2)"
fi

# --- 0..3 byte messages (each side's next 4 RC sends carry 2 bytes): counted, dropped ---
short0=$(nic_stat rx_short_frame)
barrier short-armed
echo "4 3 0 ib0" >$F/cm_send_short
ping -q -c 4 -i 0.2 -W 1 -s 100 "$PEER_IB_IP" >/dev/null 2>&1 || true
wait_for 30 nic_ge rx_short_frame $((short0 + 4))
log "rx_short_frame +$(($(nic_stat rx_short_frame) - short0)), cm_send_short: $(<$F/cm_send_short)"
barrier short-done

# --- b's SRQ emptied by 300 failed posts (256 slots): refilled, RC traffic resumes ---
faults_left_none() { [[ $(awk '{ print $1 }' $F/post_recv) == 0 ]]; }
if [[ $NODE == b ]]; then
	ref0=$(nic_stat rx_refilled)
	echo "300 105 0 ib0" >$F/post_recv
	signal srq-armed
	wait_signal srq-flood-done 120
	wait_for 60 faults_left_none
	log "post_recv: $(<$F/post_recv); rx_refilled +$(($(nic_stat rx_refilled) - ref0))"
	nic_ge rx_refilled $((ref0 + 1)) || fail "no SRQ slot refilled"
	signal srq-refilled
else
	wait_signal srq-armed 60
	ping -q -c 400 -i 0.005 -W 1 -s 1000 "$PEER_IB_IP" >/dev/null 2>&1 || true
	signal srq-flood-done
	wait_signal srq-refilled 120
	rx0=$(nic_stat cm_tx_packets)
	ping_burst_late ib0 "$PEER_IB_IP" -s 8000 -Mdo -A
	log "cm_tx_packets +$(($(nic_stat cm_tx_packets) - rx0)) after the refill"
fi
barrier srq-done

# --- b bounds its passive connections: max_srq_conn_qp=0 refuses a's next one ---
SP=/sys/module/ib_ipoib/parameters/max_srq_conn_qp
if [[ $NODE == b ]]; then
	[[ $(<$SP) == 16384 ]] || fail "max_srq_conn_qp reads $(<$SP)"
	ref0=$(nic_stat cm_rx_refused)
	echo 0 >$SP
	signal bounded
	wait_for 90 nic_ge cm_rx_refused $((ref0 + 1))
	log "cm_rx_refused +$(($(nic_stat cm_rx_refused) - ref0)); kernel: $(dmesg | grep -m1 'refusing a connection')"
	signal refused
	wait_signal fallback-ok 120
	echo 16384 >$SP
else
	wait_signal bounded 60
	fail0=$(nic_stat cm_tx_connect_failed)
	# a new connection: leaving connected mode takes the old one down
	check bash -c "echo datagram > $sys/mode"
	check bash -c "echo connected > $sys/mode"
	# traffic, so that the connection is tried (after the 1 s a teardown waits)
	ping_refused() { ping -c 1 -W 1 "$PEER_IB_IP" && nic_ge cm_tx_connect_failed $((fail0 + 1)); }
	wait_for 90 ping_refused
	wait_signal refused 120
	# refused, it sends datagrams
	ping_burst ib0 "$PEER_IB_IP"
	signal fallback-ok
fi
barrier end
