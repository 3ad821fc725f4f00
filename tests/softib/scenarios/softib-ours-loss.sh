# The project's ib_ipoib (the module under test, tests/lab/run -m) on a lossy, slow
# softib cable: softib-loss.sh's body with SIB_DRIVER=ours (10% drop in datagram
# and connected mode, 20 ms delay, 100% drop: RETRY_EXC, the connection torn down,
# and a new one after drop 0). Unlike the in-tree driver, ours asks for transport
# retries (retry_count 6): with 10% drop its RC connections retry and stay.
# guests: 1
# timeout: 300
# ipoib: no

SIB_DRIVER=ours
# shellcheck source=tests/softib/scenarios/softib-loss.sh
. "$LAB_REPO/tests/softib/scenarios/softib-loss.sh"
