# Lab self-check: two guests on one Ethernet wire, Soft-RoCE on both, no IPoIB.
# guests: 2
# timeout: 240
# ipoib: no
#
#   +---------------------+      qemu socket netdev      +---------------------+
#   | a                   |      (127.0.0.1 on host)     | b                   |
#   | eth0 198.18.1.1/24  |------------------------------| eth0 198.18.1.2/24  |
#   | rxe0 port 1 (RoCEv2)|                              | rxe0 port 1 (RoCEv2)|
#   | ibv_ud_pingpong     |  --- UD over RoCE v2 --->    | ibv_ud_pingpong     |
#   | (client)            |                              | (server, :18515)    |
#   +---------------------+                              +---------------------+

PP_PORT=18515
gid1() { cat /sys/class/infiniband/rxe0/ports/1/gids/1; }

check port_active rxe0 1
check rdma link show rxe0/1
rdma link show rxe0/1 | grep -q 'state ACTIVE' || fail "rdma link: rxe0/1 not ACTIVE"
ibv_devinfo -d rxe0 | grep -q PORT_ACTIVE || fail "ibv_devinfo: rxe0 port not PORT_ACTIVE"
# GID 1 is the RoCE v2 GID of eth0's IPv4 address (filled in asynchronously).
wait_for 30 grep -qi "ffff:c612:01" /sys/class/infiniband/rxe0/ports/1/gids/1
log "GID 1: $(gid1) ($(cat /sys/class/infiniband/rxe0/ports/1/gid_attrs/types/1))"

wait_for 60 ping -c 1 -W 1 "$PEER_ETH_IP"
check ping -c 3 -i 0.2 -W 2 "$PEER_ETH_IP"
barrier eth-up

if [[ $NODE == b ]]; then
	ibv_ud_pingpong -d rxe0 -g 1 -p "$PP_PORT" >pp.log 2>&1 &
	server=$!
	# Ready when the server listens for its exchange connection (do not connect to it).
	wait_for 30 sh -c "ss -Hltn 'sport = :$PP_PORT' | grep -q ."
	signal pingpong-server-ready
	wait "$server" || { cat pp.log; fail "ibv_ud_pingpong server failed"; }
else
	wait_signal pingpong-server-ready 60
	ibv_ud_pingpong -d rxe0 -g 1 -p "$PP_PORT" "$PEER_ETH_IP" >pp.log 2>&1 ||
		{ cat pp.log; fail "ibv_ud_pingpong client failed"; }
fi
cat pp.log
grep -q 'iters in' pp.log || fail "ibv_ud_pingpong did not report its iterations"
barrier done
