# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-rdmacm.sh's body, which is the in-tree driver's reference run, with
# SIB_DRIVER=ours (rdma_cm's lookup of the interface behind an incoming connection).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-rdmacm.sh
. "$LAB_REPO/tests/softib/scenarios/softib-rdmacm.sh"
