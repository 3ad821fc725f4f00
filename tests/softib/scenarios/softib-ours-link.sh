# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-link.sh's body, which is the in-tree driver's reference run, with
# SIB_DRIVER=ours (softib1's cable pulled and plugged back twice: carrier off and on, pings again; a third time with a mode switch during a failing rejoin).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-link.sh
. "$LAB_REPO/tests/softib/scenarios/softib-link.sh"
