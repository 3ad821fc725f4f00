# The demo: two guests, ib0 up with IPv4 and IPv6, ping across, and a short
# human summary (lines starting with "DEMO").
# guests: 2
# timeout: 300
#
#   +---------------------------+                  +---------------------------+
#   | a  ib0 198.18.2.1/24      |  IPoIB datagram  | b  ib0 198.18.2.2/24      |
#   |        2001:db8:2::1/64   |==================|        2001:db8:2::2/64   |
#   |    rxe0 (soft-RoCE) eth0  |  over RoCE v2    |    rxe0 (soft-RoCE) eth0  |
#   +---------------------------+                  +---------------------------+

demo() { echo "DEMO[$NODE] $*"; }

wait_ib0
loaded=$(cat /sys/module/ib_ipoib/srcversion)
ours=$(modinfo -F srcversion "$LAB_MODULE")
demo "kernel $(uname -r); module ib_ipoib $(cat /sys/module/ib_ipoib/version)" \
	"from $LAB_MODULE ($([[ $loaded == "$ours" ]] && echo "this project's build" || echo "NOT this project's build"))"
if ! wait_carrier 2>/dev/null; then
	demo "ib0 has no carrier: the broadcast group was not joined"
	exit 1
fi
demo "ib0 mtu $(cat /sys/class/net/ib0/mtu)  hwaddr $(cat /sys/class/net/ib0/address)"
demo "ib0 $(ip -br addr show dev ib0 | awk '{ $1 = $2 = ""; print }')"
barrier up
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
wait_for 60 ping -6 -c 1 -W 1 "$PEER_IB_IP6"
barrier resolved
v4=$(ping -q -c 20 -i 0.05 "$PEER_IB_IP" | tail -n 2 | tr '\n' ' ')
v6=$(ping -6 -q -c 20 -i 0.05 "$PEER_IB_IP6" | tail -n 2 | tr '\n' ' ')
demo "ping $PEER_IB_IP: $v4"
demo "ping $PEER_IB_IP6: $v6"
demo "neighbour $(ip neigh show dev ib0 "$PEER_IB_IP" | head -n1)"
barrier done
