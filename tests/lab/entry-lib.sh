# shellcheck shell=bash
# The library of the lab's entry points on the host: tests/check.sh, tests/check-debug.sh,
# tests/bench/bench.sh and tests/demo/demo.sh (the scenarios, in the guests, have theirs:
# tests/lab/lib.sh). An entry point starts with
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lab/entry-lib.sh" NAME   (from tests/; ../lab/ below)
#
# NAME (check, bench...) opens its messages. The preamble below then sets
# `set -uo pipefail`, ENTRY=NAME, REPO (the top of the tree) and LAB (tests/lab), and
# changes to REPO. Below it, in this order: requirements, scenario resolution, the tally.

set -uo pipefail
ENTRY=${1:?entry-lib.sh: no entry point name}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$REPO/tests/lab
cd "$REPO" || exit 1

# --- Requirements: what an entry point cannot run without. An unmet one says why
# ("ENTRY: ..." on stderr) and ends the entry point with status 1.

# die MSG...: "ENTRY: MSG" on stderr, exit 1.
die() {
	echo "$ENTRY: $*" >&2
	exit 1
}

# need_lab_packages: the lab's Debian packages (tests/lab/deps.sh install).
need_lab_packages() {
	"$LAB/deps.sh" install || die "the lab's packages are missing (see above)"
}

# need_kernel WHY [ERE]: KVER, unless set, becomes the newest kernel the lab tests
# (tests/lab/deps.sh kernels) whose release matches ERE; "ENTRY: WHY" if there is none.
# With ERE, deps.sh's word on the other series (one missing) is not shown.
need_kernel() {
	if [[ -z ${KVER:-} ]]; then
		if (($# > 1)); then
			KVER=$("$LAB/deps.sh" kernels 2>/dev/null | grep -E "$2" | tail -n 1)
		else
			KVER=$("$LAB/deps.sh" kernels | tail -n 1)
		fi
	fi
	[[ -n $KVER ]] || die "$1"
}

# --- Scenarios: a name (lab-wire, or lab-wire.sh) or a file.

# Where a name is looked for, in this order (an entry point may add directories).
SCENARIO_DIRS=("$REPO/tests/scenarios")
# Scenarios left out of the default set (still run when named), by name, and why.
declare -A SKIP=()
# The scenarios to run (files), and the names default_scenarios left out.
FILES=() SKIPPED=()

# skip NAME WHY: leave NAME out of default_scenarios; report_skips says WHY.
skip() { SKIP[$1]=$2; }

# wanted_scenarios ARG...: FILES = the scenarios named by the ARGs, else by the words of
# $SCENARIOS; none named, FILES=(). Each name is a file, or NAME.sh in the first of
# SCENARIO_DIRS that has it; an unknown one ends the entry point ("ENTRY: no scenario").
wanted_scenarios() {
	local names n d f
	read -ra names <<<"${SCENARIOS:-}"
	(($#)) && names=("$@")
	FILES=()
	for n in "${names[@]}"; do
		f=
		if [[ -f $n ]]; then
			f=$n
		else
			for d in "${SCENARIO_DIRS[@]}"; do
				[[ -f $d/${n%.sh}.sh ]] && { f=$d/${n%.sh}.sh; break; }
			done
		fi
		[[ -n $f ]] || die "no scenario $n"
		FILES+=("$f")
	done
}

# default_scenarios FILE...: FILES = the FILEs less those skipped (SKIPPED: their names).
default_scenarios() {
	local f n
	FILES=() SKIPPED=()
	for f in "$@"; do
		n=$(basename "$f" .sh)
		if [[ -n ${SKIP[$n]:-} ]]; then
			SKIPPED+=("$n")
		else
			FILES+=("$f")
		fi
	done
}

# has_scenario NAME: true if FILES holds scenario NAME (some DIR/NAME.sh).
has_scenario() { [[ " ${FILES[*]} " == *"/$1.sh "* ]]; }

# report_skips KVER: "SKIP NAME [KVER]: WHY" for each of SKIPPED.
report_skips() {
	local n
	for n in "${SKIPPED[@]}"; do echo "SKIP $n [$1]: ${SKIP[$n]}"; done
}

# --- The tally: a "PASS NAME" or "FAIL NAME" line per step and per scenario, counted in
# passed and failed; the last line is "N passed, N failed".

# tally_start: zero counts, and log, a scratch file for the output of the step at hand
# (removed at exit).
tally_start() {
	passed=0 failed=0
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
}

# count_fail WHAT [LINES=30]: "FAIL WHAT", then the last LINES lines of log (indented),
# counted as a failure.
count_fail() {
	echo "FAIL $1"
	((${2:-30} == 0)) || tail -n "${2:-30}" "$log" | sed 's/^/    | /'
	failed=$((failed + 1))
}

# step NAME CMD...: run CMD (output into log, shown only if it fails), counted as NAME
# passed or failed; returns CMD's success.
step() {
	local name=$1
	shift
	if "$@" >"$log" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
		return 0
	fi
	count_fail "$name"
	return 1
}

# no_warnings CMD...: CMD succeeds and prints no compiler/sparse warning
# shellcheck disable=SC2317 # (called through step)
no_warnings() {
	local out
	out=$("$@" 2>&1) || { echo "$out"; return 1; }
	! grep -E '(warning|error):' <<<"$out"
}

# build_for_kernel KVER: the steps that build what the scenarios load for KVER, each
# W=1 and sparse clean: the module (build/KVER), its test-only shared-workqueue
# control (build/KVER-control, which the deadlock controls load), the simulated
# InfiniBand subnet (tests/softib) and the rdma_cm probe (tests/cmprobe). MOD becomes
# (-m MODULE) for tests/lab/run, or () if the module did not build (then false:
# scenarios that need it fail, the lab's own still run). LAB_PREBUILT=DIR takes
# DIR/KVER/ib_ipoib.ko (and DIR/KVER-control/) instead of building the module.
build_for_kernel() {
	local k=$1
	MOD=(-m "$REPO/build/$k/ib_ipoib.ko")
	if [[ -n ${LAB_PREBUILT:-} ]]; then
		MOD=(-m "$LAB_PREBUILT/$k/ib_ipoib.ko")
		if [[ -f $LAB_PREBUILT/$k-control/ib_ipoib.ko ]]; then
			mkdir -p "$REPO/build/$k-control"
			cp -p "$LAB_PREBUILT/$k-control/ib_ipoib.ko" "$REPO/build/$k-control/"
		fi
	elif ! step "build W=1 [$k]" no_warnings make -C "$REPO" KVER="$k" BUILD_DIR="build/$k" ||
		[[ ! -f $REPO/build/$k/ib_ipoib.ko ]]; then
		MOD=()
	else
		step "sparse [$k]" no_warnings make -C "$REPO" KVER="$k" sparse
		step "control build [$k]" no_warnings make -C "$REPO" KVER="$k" control
	fi
	step "softib build W=1 [$k]" no_warnings make -C "$REPO/tests/softib" KVER="$k" &&
		step "softib sparse [$k]" no_warnings make -C "$REPO/tests/softib" KVER="$k" sparse
	step "cmprobe build W=1 [$k]" no_warnings make -C "$REPO/tests/cmprobe" KVER="$k" &&
		step "cmprobe sparse [$k]" no_warnings make -C "$REPO/tests/cmprobe" KVER="$k" sparse
	((${#MOD[@]}))
}

# run_lab KVER ARG...: tests/lab/run -k KVER ARG..., its output shown and its PASS and FAIL
# lines counted; a non-zero exit without a FAIL line counts as "FAIL lab [KVER]".
run_lab() {
	local k=$1 rc p f
	shift
	"$LAB/run" -k "$k" "$@" | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$log") f=$(grep -c '^FAIL ' "$log")
	if ((rc != 0 && f == 0)); then
		echo "FAIL lab [$k]: tests/lab/run exited $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
}

# tally_end: "N passed, N failed"; true if nothing failed.
tally_end() {
	echo "$passed passed, $failed failed"
	((failed == 0))
}
