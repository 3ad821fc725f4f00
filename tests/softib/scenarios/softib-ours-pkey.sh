# The project's ib_ipoib (the module under test, tests/lab/run -m) on the softib
# subnet: softib-pkey.sh's body, which is the in-tree driver's reference run, with
# SIB_DRIVER=ours (P_Key children from opensm's partitions.conf, full and limited members, a P_Key added while up).
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-pkey.sh
. "$LAB_REPO/tests/softib/scenarios/softib-pkey.sh"
