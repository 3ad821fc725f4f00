# Runner self-test: a scenario that never finishes must be reported as a timeout.
# guests: 1
# timeout: 60
# expect: fail
# expect-reason: timeout
# ipoib: no
# once: yes
#
#   +---------+
#   | a       |  (no peer; the script just sleeps)
#   +---------+

log "sleeping forever"
sleep infinity
