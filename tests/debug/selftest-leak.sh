# Debug-tier self-test: a module that leaks must fail the scenario through the lab's
# leak check (tests/lab/kmemleak). Only for the debug kernel: tests/check-debug.sh builds
# build/debug-selftest/lab_leaky.ko (kernels without kmemleak would pass this). The name
# avoids "k"+"memleak": tests/lab/run fails a scenario on any log line with that word.
# guests: 1
# timeout: 240
# expect: fail
# expect-reason: unreferenced object
# ipoib: no
#
#   +---------+
#   | a       |  insmod lab_leaky.ko (kmalloc()s 200 bytes and forgets them)
#   +---------+

check insmod "$LAB_REPO/build/debug-selftest/lab_leaky.ko"
