# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-cm.sh's body, the in-tree driver's reference run, with
# SIB_DRIVER=ours (connected mode over ib_cm with path records from opensm's SA,
# RC QPs on the SRQ, MTU 65520, iperf3 over RC, back to datagram mode under ping).
# guests: 1
# timeout: 360
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-cm.sh
. "$LAB_REPO/tests/softib/scenarios/softib-cm.sh"
