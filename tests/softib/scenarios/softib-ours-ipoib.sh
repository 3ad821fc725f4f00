# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-ipoib.sh's body, which is the in-tree driver's reference run, with
# SIB_DRIVER=ours (datagram IPv4/IPv6 pings among three hosts, the groups it joined in saquery).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-ipoib.sh
. "$LAB_REPO/tests/softib/scenarios/softib-ipoib.sh"
