# The whole kselftest suite in one lab guest, the way a kernel developer runs it in a
# VM: `make -C tests/selftests run_tests` through the kernel's own runner, every
# scenario of its default list one after another in this one machine (no guest per
# scenario). It passes when the output is valid KTAP with one result line per
# scenario of the list, none of them "not ok", every skip one of the expected kind
# (a two-guest scenario: rxe has no network namespaces), and the program's own line
# "ok". Run by `make selftests` (tests/selftests/lab.sh), not by make check, whose
# scenarios are these same ones, each in a guest of its own.
# guests: 1
# timeout: 7200
# smp: 1
# ipoib: no
# kselftest: no
#
#   +---------------------------------------------------------------+
#   | a   1 vCPU; rxe0 on eth0 (the lab's); netns hosts on softib    |
#   |     make -C tests/selftests run_tests                          |
#   |       every softib-ours-*.sh    softib.ko, opensm, netns hosts |
#   |       every "# guests: 1" one  ib_ipoib on rxe0               |
#   |       two-guest scenarios      ok ... # SKIP (listed)          |
#   +---------------------------------------------------------------+

# shellcheck source-path=SCRIPTDIR source=ktap-valid.sh
. "$LAB_REPO/tests/selftests/ktap-valid.sh"

tap=$LAB_SHARED/suite.tap
export SELFTESTS_OUT=$LAB_SHARED/selftests IPOIB_KO=$LAB_MODULE
# The scenarios the suite will run: its own default list, from the same headers.
want=$(awk 'FNR == 1 { f = FILENAME; k = 1 } !/^#/ { if (k) print f; nextfile }
	/^# kselftest: no$/ { k = 0 }' "$LAB_REPO"/tests/softib/scenarios/softib-ours-*.sh \
	"$LAB_REPO"/tests/scenarios/*.sh | xargs -n1 basename | sed 's/\.sh$//' | sort)
n=$(wc -l <<<"$want")
log "+ make -C tests/selftests run_tests: $n scenarios, one after another"
# Into a file opened for appending, not a pipe: a control that wedges the kernel on
# purpose (softib-ours-deadlock-control) leaves processes stuck for good, and one that
# inherited a pipe would keep its reader waiting after make has ended. O_APPEND also
# keeps the runner's own appends to /dev/stdout from overwriting make's lines. A local
# file (appends over 9p trust the guest's idea of the size), copied to the share after.
: >/tmp/suite.tap
make -C "$LAB_REPO/tests/selftests" run_tests >>/tmp/suite.tap 2>&1
log "make run_tests exited $? after $((SECONDS / 60)) min"

# The suite has judged each scenario's share of the kernel log, the controls' WARNING
# and hung tasks included (they must be there). The deadlock control runs last and
# leaves rtnl held for good: the tasks stuck behind it would be named every 20 s
# (the workers its shared workqueue keeps starting wait in a retry loop). Every task
# stuck now must be one the hung-task detector names since that control began (it
# names a task within two of its 20 s periods); then the detector is quieted, and the
# lab's own check of this guest's log starts again here, at this scenario's marker
# written anew (tests/lab/verdict.sh).
d_state() { # "pid:context switches" of every task in D state (cat: a task may be gone)
	cat /proc/[0-9]*/status 2>/dev/null | awk 'function out() { if (s == "D") print p ":" c }
		/^Name:/ { out(); s = ""; c = 0 } /^State:/ { s = $2 } /^Pid:/ { p = $2 }
		/ctxt_switches:/ { c += $2 } END { out() }' | sort
}
named_since_control() {
	dmesg | awk '/LAB: scenario softib-ours-deadlock-control .* begins/ { on = 1 }
		on && match($0, /INFO: task .*:[0-9]+ blocked for more than/) {
			t = substr($0, RSTART, RLENGTH); sub(/ blocked.*/, "", t); sub(/.*:/, "", t); print t }' |
		sort -u
}
unnamed=
all_stuck_named() { # (files, not process substitution: a minimal VM may have no /dev/fd)
	d_state >/tmp/stuck.1
	# stuck: in D state now and 2 s later without having run in between (what the
	# detector looks for; a task that sleeps in a retry loop runs now and then)
	sleep 2
	d_state >/tmp/stuck.2
	named_since_control >/tmp/stuck.named
	unnamed=$(comm -12 /tmp/stuck.1 /tmp/stuck.2 | cut -d: -f1 | sort | comm -23 - /tmp/stuck.named | tr '\n' ' ')
	[[ -z $unnamed ]]
}
if ! poll 90 all_stuck_named; then
	for pid in $unnamed; do
		log "stuck, never named: $pid $(cat "/proc/$pid/comm" 2>/dev/null) $(tr '\n' ' ' <"/proc/$pid/stack" 2>/dev/null)"
	done
	fail "tasks stuck that the hung-task detector did not name since the deadlock control began: $unnamed"
fi
log "$(wc -l </tmp/stuck.named) tasks named stuck since the deadlock control began, and no other: the hung-task detector is quieted"
sysctl -q -w kernel.hung_task_warnings=0
echo "<4>LAB: scenario $LAB_SCENARIO begins" >/dev/kmsg
cp /tmp/suite.tap "$tap"
ktap_valid "$tap" || fail "the suite's output is not valid KTAP"
echo "$want" >"$LAB_SHARED/want"
sed -n -E 's/^# (not )?ok [0-9]+ ([^ ]+).*/\2/p' "$tap" | sort >"$LAB_SHARED/got"
# (files, not process substitution: a minimal VM may have no /dev/fd)
cmp -s "$LAB_SHARED/want" "$LAB_SHARED/got" ||
	fail "not one result per scenario: missing $(comm -23 "$LAB_SHARED/want" "$LAB_SHARED/got" | tr '\n' ' ')extra $(comm -13 "$LAB_SHARED/want" "$LAB_SHARED/got" | tr '\n' ' ')"
bad=$(awk '/^# not ok [0-9]+ / { printf "%s ", $5 }' "$tap")
[[ -z $bad ]] || fail "failed in the suite: $bad"
odd=$(grep -E '^# ok [0-9]+ [^ ]+ # SKIP' "$tap" | grep -v '# SKIP needs two hosts over RoCE: tests/lab/run$' || true)
[[ -z $odd ]] || fail "skipped for another reason than two hosts: $odd"
grep -Eq '^ok 1 selftests: .*: run_scenarios\.sh$' "$tap" ||
	fail "the runner's line is not ok: $(grep -E '^(not )?ok 1 ' "$tap")"
totals=$(grep -E '^# # Totals: ' "$tap")
log "every scenario passed or skipped as expected; ${totals#\# # }"
