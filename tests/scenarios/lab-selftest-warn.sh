# Runner self-test: a kernel warning after the scenario marker must fail the scenario.
# guests: 1
# timeout: 120
# expect: fail
# expect-reason: kernel log matched 'WARNING:'
# ipoib: no
# once: yes
#
#   +---------+
#   | a       |  (no peer; nothing on the wire)
#   +---------+

log "writing a fake warning into the kernel log"
echo "WARNING: lab self-test (this scenario must be reported as failed)" >/dev/kmsg
exit 0
