# shellcheck shell=bash
# What both scenario runners share: tests/lab/run (a qemu guest per scenario) and
# tests/selftests/run_scenarios.sh (every scenario in the current VM, KTAP output).
#
#   meta FILE KEY DEFAULT   value of "# KEY: value" in FILE's leading comment block
#   scan_log FILE MARKER    first bad kernel-log line after the last "LAB: scenario
#                           MARKER begins" (anywhere if MARKER is empty), as
#                           "PATTERN<TAB>LINE"; a scenario that judged the log before
#                           its own later marker (tests/selftests/lab-suite.sh) writes
#                           that marker again
#   BAD_PATTERNS            the fixed strings scan_log looks for (tests/lab/bad-patterns)

mapfile -t BAD_PATTERNS <<<"$(grep -v -e "^#" -e "^$" "$(dirname "${BASH_SOURCE[0]}")/bad-patterns")" # (no /dev/fd in a minimal VM)
((${#BAD_PATTERNS[@]})) || { echo "verdict.sh: no patterns in tests/lab/bad-patterns" >&2; exit 2; }

meta() {
	local v
	v=$(awk -v k="$2" '!/^#/ { exit }
		{ line = $0; sub(/^#[ \t]*/, "", line)
		  if (index(line, k ":") == 1) { sub(/^[^:]*:[ \t]*/, "", line); sub(/[ \t]+$/, "", line); print line; exit } }' "$1")
	echo "${v:-$3}"
}

scan_log() {
	[[ -f $1 ]] || return 1
	LAB_MARKER="LAB: scenario $2 begins" LAB_PATTERNS=$(printf '%s\n' "${BAD_PATTERNS[@]}") \
		awk -v on="$([[ -z $2 ]] && echo 1)" 'BEGIN { n = split(ENVIRON["LAB_PATTERNS"], p, "\n") }
		{ sub(/\r$/, "") }
		index($0, ENVIRON["LAB_MARKER"]) { on = 1; hit = ""; next }
		on && hit == "" { for (i = 1; i <= n; i++) if (p[i] != "" && index($0, p[i])) { hit = p[i] "\t" $0; break } }
		END { if (hit != "") print hit }' "$1" |
		grep .
}
