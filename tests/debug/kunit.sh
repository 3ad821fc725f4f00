# The driver's KUnit suite (ipoib_kunit.c: P_Key parsing and validation, broadcast address
# and MGID, hardware addresses, neighbour hashing, MTU arithmetic) on the debug kernel:
# insmod ib_ipoib_kunit.ko runs the suite "ib_ipoib"; its KTAP results (debugfs, else the
# kernel log) must show at least one case, every planned case "ok" (a failed or skipped
# case, or a missing result, fails the scenario). Prints the number of cases passed (the
# "KUNIT ib_ipoib:" line, which tests/check-debug.sh repeats) and saves the KTAP as a.ktap.
# Only for kernels with CONFIG_KUNIT: tests/check-debug.sh stages the module, built beside
# ib_ipoib.ko, as build/debug-kunit/ib_ipoib_kunit.ko.
# guests: 1
# timeout: 300
# ipoib: no
#
#   +-------------------------------------------------------------+
#   | a   insmod ib_ipoib_kunit.ko (runs the suite), read         |
#   |     /sys/kernel/debug/kunit/ib_ipoib/results, rmmod         |
#   +-------------------------------------------------------------+
# shellcheck shell=bash # sourced by guest-init after tests/lab/lib.sh

KUNIT_MODULE=${KUNIT_MODULE:-$LAB_REPO/build/debug-kunit/ib_ipoib_kunit.ko}
SUITE=ib_ipoib
RESULTS=/sys/kernel/debug/kunit/$SUITE/results
KTAP=$LAB_SHARED/$NODE.ktap

[[ -f $KUNIT_MODULE ]] || fail "no $KUNIT_MODULE (tests/check-debug.sh stages it from build/<release>/)"
vermagic=$(modinfo -F vermagic "$KUNIT_MODULE")
[[ $vermagic == "$LAB_KVER "* ]] || fail "$KUNIT_MODULE was built for '${vermagic%% *}', not $LAB_KVER"
[[ -d /sys/module/kunit ]] || fail "this kernel has no KUnit (CONFIG_KUNIT)"

# The suite runs inside insmod (on the module's way to "live"); its results stay in
# debugfs until rmmod.
kmsg "insmod $KUNIT_MODULE"
check insmod "$KUNIT_MODULE"
if poll 30 grep -Eq "^(not )?ok 1 $SUITE\$" "$RESULTS"; then
	cat "$RESULTS" >"$KTAP"
	log "KTAP from $RESULTS (saved as $NODE.ktap)"
else
	# No debugfs results (CONFIG_KUNIT_DEBUGFS off?): the suite's KTAP in the kernel log,
	# from its "# Subtest:" line to its result line, without the timestamps.
	log "no results in $RESULTS; taking the KTAP from the kernel log"
	dmesg | sed 's/^\[[^]]*\] \{0,1\}//' |
		awk -v s="$SUITE" '$0 ~ "^    # Subtest: " s "$" { on = 1 }
			on { print }
			on && $0 ~ "^(not )?ok [0-9]+ " s "$" { exit }' >"$KTAP" || true
fi
sed 's/^/    | /' "$KTAP"

# The suite's cases are the KTAP lines at subtest depth 1 (four spaces): a plan "1..N"
# and one "ok"/"not ok" line per case ("ok ... # SKIP" for a skipped one).
plan=$(sed -n 's/^    1\.\.\([0-9][0-9]*\)$/\1/p' "$KTAP" | head -n 1)
pass=$(grep -Ec '^    ok [0-9]+ [^#]*$' "$KTAP") || true
skip=$(grep -Ec '^    ok [0-9]+ .*# SKIP' "$KTAP") || true
nok=$(grep -Ec '^    not ok [0-9]+ ' "$KTAP") || true
suite=$(grep -Ex "(not )?ok [0-9]+ $SUITE" "$KTAP" | head -n 1) || true
log "KUNIT $SUITE: $pass of ${plan:-?} cases passed ($nok failed, $skip skipped)"
grep -E '^    (not ok|ok [0-9]+ .*# SKIP)' "$KTAP" | sed 's/^ */not passed: /' || true
grep -E 'EXPECTATION FAILED|ASSERTION FAILED' "$KTAP" | sed 's/^ */    /' || true

[[ -n $plan ]] || fail "no KTAP plan for suite $SUITE (did the suite run?)"
((plan > 0)) || fail "suite $SUITE planned no cases"
((nok == 0)) || fail "$nok KUnit case(s) failed"
((skip == 0)) || fail "$skip KUnit case(s) skipped"
((pass == plan)) || fail "$pass case results for a plan of $plan"
[[ $suite == "ok "* ]] || fail "suite result line is '${suite:-missing}', not 'ok N $SUITE'"

check rmmod ib_ipoib_kunit
