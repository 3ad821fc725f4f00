# Control for softib-ours-deadlock: the same scenario with the test-only build
# whose interfaces all share one workqueue (make control). It must FAIL: a down
# hangs behind a sibling's rtnl-waiting task and the hung-task detector reports
# it (or the down never returns).
# guests: 1
# smp: 2
# timeout: 420
# ipoib: no
# expect: fail
# expect-reason: blocked for more than|did not return
#
#   (topology: see softib-ours-deadlock.sh; module: build/<release>-control)

# the lab gives us the normal module's path; the control sits beside it
DEADLOCK_MODULE=$LAB_REPO/build/$LAB_KVER-control/ib_ipoib.ko
version=$(modinfo -F version "$DEADLOCK_MODULE")
[[ $version == *sharedwq-control ]] || fail "$DEADLOCK_MODULE is not the control build ($version)"
DEADLOCK_DURATION=240
# shellcheck source=tests/softib/scenarios/softib-ours-deadlock.sh
. "$LAB_REPO/tests/softib/scenarios/softib-ours-deadlock.sh"
