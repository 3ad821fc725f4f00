# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-hotremove.sh's body, the in-tree driver's reference run, with
# SIB_DRIVER=ours (softib1 hot-removed under RC and P_Key child traffic, then added
# back).
# guests: 1
# timeout: 360
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-hotremove.sh
. "$LAB_REPO/tests/softib/scenarios/softib-hotremove.sh"
