# IP multicast over ib0: a group b joined through a socket receives UDP from
# a; a group nobody joined is not delivered to b's interface at all.
# guests: 2
# timeout: 300
#
#   +----------------------+  UDP to 239.1.2.3 (joined by b)   +----------------------+
#   | a  ib0 198.18.2.1    |==================================>| b  ib0 198.18.2.2    |
#   |    sender            |  UDP to 239.1.2.4 (nobody joined) |    receiver socket   |
#   +----------------------+ - - - - - - - - - - - - - - - - ->+----------------------+

wait_ib0
wait_carrier
wait_for 60 ping -c 1 -W 1 "$PEER_IB_IP"
barrier ready

if [[ $NODE == b ]]; then
	python3 - "$MY_IB_IP" >recv.log 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("239.1.2.3", 5000))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton("239.1.2.3"), socket.inet_aton(sys.argv[1])))
open("/tmp/joined", "w").close()
s.settimeout(60)
n = 0
while n < 20:
    data, src = s.recvfrom(2000)
    if data.startswith(b"ipoib-mcast"):
        n += 1
print("received", n)
PY
	recv=$!
	wait_for 30 test -e /tmp/joined
	# the IPoIB group address appears in ib0's multicast list
	wait_for 30 sh -c "ip maddr show dev ib0 | grep -q 'ff:12:40:1b:.*:e0:01:02:03\|01:02:03'"
	signal joined
	wait "$recv" || { cat recv.log; fail "receiver did not get 20 datagrams"; }
	cat recv.log
	signal got-joined
	# nothing addressed to the unjoined group may reach ib0
	rx0=$(cat /sys/class/net/ib0/statistics/multicast)
	signal count-start
	wait_signal unjoined-sent 120
	rx1=$(cat /sys/class/net/ib0/statistics/multicast)
	log "multicast frames received while a sent 50 to an unjoined group: $((rx1 - rx0))"
	((rx1 - rx0 < 10)) || fail "unjoined group reached ib0 ($((rx1 - rx0)) frames)"
else
	wait_signal joined 120
	python3 - "$MY_IB_IP" 239.1.2.3 200 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
for i in range(int(sys.argv[3])):
    s.sendto(b"ipoib-mcast %d" % i, (sys.argv[2], 5000))
    time.sleep(0.05)
PY
	send=$!
	wait_signal got-joined 120
	kill "$send" 2>/dev/null || true
	wait_signal count-start 60
	python3 - "$MY_IB_IP" 239.1.2.4 50 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
for i in range(int(sys.argv[3])):
    s.sendto(b"ipoib-mcast %d" % i, (sys.argv[2], 5000))
    time.sleep(0.01)
PY
	tx=$(cat /sys/class/net/ib0/statistics/tx_packets)
	log "sent 50 datagrams to 239.1.2.4 (ib0 tx_packets now $tx)"
	signal unjoined-sent
fi
barrier done
