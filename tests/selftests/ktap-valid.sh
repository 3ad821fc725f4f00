# shellcheck shell=bash
# ktap_valid FILE: true if FILE is valid KTAP at the top level and at the nested "# "
# level (the kselftest runner's line per program, and the program's line per
# scenario): a version line, then a plan 1..N, then results numbered 1..N in order,
# as many as planned; otherwise "invalid KTAP: ..." saying what is wrong. Sourced by
# the scenarios that check the suite's output (tests/scenarios/selftests-ktap.sh,
# tests/selftests/lab-suite.sh).
ktap_valid() {
	awk '
	function line(lv, s) {
		if (s ~ /^(TAP|KTAP) version [0-9]+$/) { ver[lv]++; return }
		if (s ~ /^1\.\.[0-9]+( #.*)?$/) {
			if (!ver[lv]) bad = bad " plan-before-version(" lv ")"
			plan[lv] = substr(s, 4) + 0; return }
		if (s ~ /^(not )?ok [0-9]+( |$)/) {
			n = s; sub(/^(not )?ok /, "", n); n += 0
			if (n != ++cnt[lv]) bad = bad " result " n " out of order (" lv ")"
			if (!(lv in plan)) bad = bad " result-before-plan(" lv ")" }
	}
	/^# / { line("nested", substr($0, 3)); next }
	{ line("top", $0) }
	END {
		for (lv in plan) if (plan[lv] != cnt[lv] + 0) bad = bad " " lv ": plan " plan[lv] ", results " cnt[lv] + 0
		if (!ver["top"] || !ver["nested"]) bad = bad " missing version line"
		if (bad != "") { print "invalid KTAP:" bad; exit 1 }
	}' "$1"
}
