# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-lidchange.sh's body, which is the in-tree driver's reference run,
# with SIB_DRIVER=ours (h1's LID changed by opensm restarted with an edited
# guid2lid, traffic recovers both ways, the new DLID resolved, the event logged).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-lidchange.sh
. "$LAB_REPO/tests/softib/scenarios/softib-lidchange.sh"
