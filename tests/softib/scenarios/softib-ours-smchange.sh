# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-smchange.sh's body, which is the in-tree driver's reference run, with
# SIB_DRIVER=ours (opensm killed and restarted (SM change, client reregister), every group rejoined).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-smchange.sh
. "$LAB_REPO/tests/softib/scenarios/softib-smchange.sh"
