# The kselftest suite (tests/selftests) in a lab guest: `make -C tests/selftests
# run_tests` through the kernel's own runner (lib.mk, runner.sh from linux-source,
# extracted on the host by tests/drivers-net/prepare.sh) prints valid KTAP, one result
# line per scenario: two real scenarios pass (module-load on rxe0, softib-ours-pkey
# on the soft fabric); a control that fails as expected is "ok"; a failing scenario
# is "not ok"; a two-guest scenario is "ok ... # SKIP" with its reason; an unknown name
# is "not ok"; the program exits 1 when anything failed and 4 (SKIP) when everything
# skipped. ("kselftest: no": the suite leaves this scenario out of its own list.)
# guests: 1
# timeout: 300
# ipoib: no
# kselftest: no
#
#   +----------------------------------------------------------+
#   | a   rxe0 on eth0 (set up by the lab)                      |
#   |     make -C tests/selftests run_tests                     |
#   |       module-load      ib_ipoib on rxe0                   |
#   |       softib-ours-pkey  softib.ko, netns hosts, P_Keys    |
#   |       /tmp/ktap/*.sh   made-up: xfail, fail, two hosts    |
#   +----------------------------------------------------------+

k=/tmp/ktap
mkdir -p "$k"
cat >"$k/ktap-xfail.sh" <<'EOF'
# guests: 1
# timeout: 60
# ipoib: no
# expect: fail
# expect-reason: script exited 1
fail "failing on purpose (a control: the suite must say ok)"
EOF
cat >"$k/ktap-fail.sh" <<'EOF'
# guests: 1
# timeout: 60
# ipoib: no
fail "failing on purpose (the suite must say not ok)"
EOF
cat >"$k/ktap-twohost.sh" <<'EOF'
# guests: 2
# timeout: 60
true
EOF

# shellcheck source-path=SCRIPTDIR source=../selftests/ktap-valid.sh
. "$LAB_REPO/tests/selftests/ktap-valid.sh"

# has FILE ERE: FILE has a line matching ERE
has() { grep -Eq -- "$2" "$1" || fail "no line /$2/ in the suite's output"; }

# The output goes through a pipe: runner.sh appends the tests' output to /dev/stdout,
# which, were stdout a file, would be a second file offset overwriting the first's lines.
export SELFTESTS_OUT=$LAB_SHARED/selftests IPOIB_KO=$LAB_MODULE
log "+ make -C tests/selftests run_tests (module-load, softib-ours-pkey and three made-up scenarios)"
SELFTESTS="module-load softib-ours-pkey $k/ktap-xfail.sh $k/ktap-fail.sh $k/ktap-twohost.sh no-such-scenario" \
	make -C "$LAB_REPO/tests/selftests" run_tests 2>&1 | cat >"$k/run1.tap" ||
	fail "make run_tests failed: $(tail -n 5 "$k/run1.tap")"
sed 's/^/    | /' "$k/run1.tap"
ktap_valid "$k/run1.tap" || fail "the suite's output is not valid KTAP"
has "$k/run1.tap" '^TAP version 13$'
has "$k/run1.tap" '^1\.\.1$'
has "$k/run1.tap" '^# overriding timeout to [0-9]+$' # settings, through the Makefile
has "$k/run1.tap" '^# 1\.\.6$'
has "$k/run1.tap" '^# ok 1 module-load$'
has "$k/run1.tap" '^# ok 2 softib-ours-pkey$'
has "$k/run1.tap" '^# ok 3 ktap-xfail$'
has "$k/run1.tap" '^# not ok 4 ktap-fail$'
has "$k/run1.tap" '^# ok 5 ktap-twohost # SKIP needs two hosts over RoCE: tests/lab/run$'
has "$k/run1.tap" '^# not ok 6 no-such-scenario$'
has "$k/run1.tap" '^# # Totals: pass:3 fail:2 xfail:0 xpass:0 skip:1 error:0$'
has "$k/run1.tap" '^not ok 1 selftests: .*: run_scenarios\.sh # exit=1$'

log "+ make -C tests/selftests run_tests (only a two-guest scenario: all skipped)"
SELFTESTS="$k/ktap-twohost.sh" make -C "$LAB_REPO/tests/selftests" run_tests 2>&1 | cat >"$k/run2.tap" ||
	fail "make run_tests failed: $(tail -n 5 "$k/run2.tap")"
sed 's/^/    | /' "$k/run2.tap"
ktap_valid "$k/run2.tap" || fail "the suite's output is not valid KTAP"
has "$k/run2.tap" '^# ok 1 ktap-twohost # SKIP needs two hosts'
has "$k/run2.tap" '^ok 1 selftests: .*: run_scenarios\.sh # SKIP$'
log "KTAP valid; every result as expected"
