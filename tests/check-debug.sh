#!/bin/bash
# `make check-debug`: the lab scenarios on a debug kernel (lockdep, KASAN, kmemleak, debug
# objects, hung-task and workqueue watchdogs; tests/debug/debug.config).
#
#   tests/check-debug.sh [SCENARIO...]      SCENARIO: a name (lab-wire) or a file;
#                                           default: tests/scenarios/*.sh (less SKIP
#                                           below) plus tests/debug/selftest-*.sh and
#                                           tests/debug/kunit.sh (the KUnit suite)
#   SCENARIOS="lab-wire module-load" tests/check-debug.sh
#
# (a) builds the kernel from Debian's linux-source-6.12, or reuses the cached one
#     (tests/debug/build-kernel.sh; build/debug-kernel/; the last build here compiled
#     about 2000 objects in 10 min on 2 CPUs: build/debug-kernel/build-seconds);
# (b) builds the module against that tree (make KDIR=build/debug-kernel/src
#     KVER=<release> BUILD_DIR=build/<release>), which also makes the KUnit module
#     ib_ipoib_kunit.ko (staged as build/debug-kunit/ib_ipoib_kunit.ko for
#     tests/debug/kunit.sh), and the `make control` build the deadlock control scenario
#     loads (build/<release>-control);
# (c) runs the scenarios with tests/lab/run -K <bzImage> -M <its modules root>. Each
#     guest scans for leaks after its scenario (tests/lab/kmemleak): any suspected leak,
#     like any lockdep, KASAN, debug-objects or hung-task report, fails the scenario.
# Environment: LAB_PARALLEL=1 as for check.sh; LAB_PREBUILT=DIR takes
# DIR/<release>/ib_ipoib.ko and ib_ipoib_kunit.ko (and DIR/<release>-control/ib_ipoib.ko,
# copied to build/<release>-control/) instead of building; DEBUG_KERNEL_DIR as for
# build-kernel.sh; LAB_MEM (MiB per guest, default here 1536: KASAN's shadow takes an
# eighth); LAB_TIMEOUT_SCALE (tests/lab/run; default here 3: scenario timeouts are written
# for Debian's kernel, and under TCG the debug kernel boots, sets up and runs scenarios
# 3-4 times slower).
# Ends with the line "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=$REPO/tests/lab
cd "$REPO" || exit 1

# One compound command: bash reads it whole first, so edits during a run are harmless.
{
start=$SECONDS

# Lab packages, as in check.sh.
"$LAB/deps.sh" install || { echo "check-debug: the lab's packages are missing (see above)" >&2; exit 1; }

# Scenarios left out of the default set here (still run when named), and why.
declare -A SKIP=(
	[dkms-modprobe]="tests the host's DKMS install under /lib/modules/<release>; the debug kernel's modules are private (build/debug-kernel/root)"
)

# Scenarios: arguments, else $SCENARIOS, else all.
read -ra names <<<"${SCENARIOS:-}"
(($#)) && names=("$@")
files=() skipped=()
if ((${#names[@]} == 0)); then
	for f in "$REPO"/tests/scenarios/*.sh "$REPO"/tests/debug/selftest-*.sh "$REPO"/tests/debug/kunit.sh; do
		n=$(basename "$f" .sh)
		if [[ -n ${SKIP[$n]:-} ]]; then
			skipped+=("$n")
		else
			files+=("$f")
		fi
	done
else
	for n in "${names[@]}"; do
		if [[ -f $n ]]; then
			files+=("$n")
		elif [[ -f $REPO/tests/scenarios/${n%.sh}.sh ]]; then
			files+=("$REPO/tests/scenarios/${n%.sh}.sh")
		elif [[ -f $REPO/tests/debug/${n%.sh}.sh ]]; then
			files+=("$REPO/tests/debug/${n%.sh}.sh")
		else
			echo "check-debug: no scenario $n" >&2
			exit 1
		fi
	done
fi

# (a) the kernel
t=$SECONDS
vars=$("$REPO/tests/debug/build-kernel.sh") || {
	echo "FAIL debug-kernel: tests/debug/build-kernel.sh failed"
	echo "0 passed, 1 failed"
	exit 1
}
DEBUG_KVER='' DEBUG_KERNEL='' DEBUG_MODROOT='' DEBUG_KDIR=''
while IFS='=' read -r k v; do
	case $k in DEBUG_KVER | DEBUG_KERNEL | DEBUG_MODROOT | DEBUG_KDIR) printf -v "$k" '%s' "$v" ;; esac
done <<<"$vars"
[[ -n $DEBUG_KVER && -n $DEBUG_KERNEL && -n $DEBUG_MODROOT && -n $DEBUG_KDIR ]] || {
	echo "check-debug: build-kernel.sh printed no kernel variables" >&2
	exit 1
}
k=$DEBUG_KVER
echo "=== $k (debug kernel; ready in $((SECONDS - t))s)"

passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# (b) the module
built=${LAB_PREBUILT:-$REPO/build}/$k # where ib_ipoib.ko and ib_ipoib_kunit.ko are
mod=(-m "$built/ib_ipoib.ko")
if [[ -z ${LAB_PREBUILT:-} ]] && { ! make -C "$REPO" KDIR="$DEBUG_KDIR" KVER="$k" BUILD_DIR="build/$k" >"$log" 2>&1 ||
	[[ ! -f $REPO/build/$k/ib_ipoib.ko ]]; }; then
	echo "FAIL build [$k]: make KDIR=$DEBUG_KDIR KVER=$k BUILD_DIR=build/$k did not produce build/$k/ib_ipoib.ko"
	tail -n 30 "$log" | sed 's/^/    | /'
	failed=$((failed + 1))
	mod=() # scenarios that need the module fail; the lab's own still run
fi
if [[ " ${files[*]} " == *"/child-deadlock-control.sh "* ]]; then
	if [[ -z ${LAB_PREBUILT:-} ]]; then
		if ! make -C "$REPO" KDIR="$DEBUG_KDIR" KVER="$k" control >"$log" 2>&1; then
			echo "FAIL control build [$k]: make KDIR=$DEBUG_KDIR KVER=$k control"
			tail -n 30 "$log" | sed 's/^/    | /'
			failed=$((failed + 1))
		fi
	elif [[ -f $LAB_PREBUILT/$k-control/ib_ipoib.ko ]]; then
		# where the control scenario looks for it
		mkdir -p "$REPO/build/$k-control"
		cp -p "$LAB_PREBUILT/$k-control/ib_ipoib.ko" "$REPO/build/$k-control/"
	fi
fi

# The KUnit module, where tests/debug/kunit.sh looks for it: Kbuild builds it beside
# ib_ipoib.ko on kernels with CONFIG_KUNIT. Staged afresh each run (never a stale copy;
# none at all when the module build failed, which is already counted).
kunit_ko=$REPO/build/debug-kunit/ib_ipoib_kunit.ko
rm -f "$kunit_ko"
if [[ " ${files[*]} " == *"/kunit.sh "* ]] && ((${#mod[@]})); then
	if [[ -f $built/ib_ipoib_kunit.ko ]]; then
		mkdir -p "${kunit_ko%/*}"
		cp -p "$built/ib_ipoib_kunit.ko" "$kunit_ko"
	else
		echo "FAIL build [$k]: no ib_ipoib_kunit.ko beside $built/ib_ipoib.ko (Kbuild makes it when CONFIG_KUNIT)"
		failed=$((failed + 1))
	fi
fi

# The self-test's leaking module (tests/debug/leak-selftest), when selftest-leak runs.
if [[ " ${files[*]} " == *"/selftest-leak.sh "* ]]; then
	st=$REPO/build/debug-selftest
	mkdir -p "$st"
	cp -p "$REPO"/tests/debug/leak-selftest/{Kbuild,lab_leaky.c} "$st/"
	if ! make -C "$DEBUG_KDIR" M="$st" modules >"$log" 2>&1; then
		echo "FAIL build [$k]: the kmemleak self-test module (tests/debug/leak-selftest) did not build"
		tail -n 20 "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
fi

# The user-space tools hostile-input sends from the peer guest (ud_inject; the guests
# run the host's user space, so the host build serves the debug kernel too).
if [[ " ${files[*]} " == *"/hostile-input.sh "* ]] &&
	! "$REPO/tests/tools/build-tools.sh" >"$log" 2>&1; then
	echo "FAIL build: tests/tools/build-tools.sh (the hostile-input tools)"
	tail -n 20 "$log" | sed 's/^/    | /'
	failed=$((failed + 1))
fi

# (c) the scenarios
jobs=()
[[ ${LAB_PARALLEL:-0} == 1 ]] && jobs=(-j)
export LAB_MEM=${LAB_MEM:-1536}
export LAB_TIMEOUT_SCALE=${LAB_TIMEOUT_SCALE:-3}
# pci=noacpi: PCI interrupt routing from the BIOS's $PIR table. With ACPI's _PRT, the
# debug kernel's AML interpreter hit its 30 s loop timeout five times under TCG (2.5 min
# of boot).
export LAB_APPEND="pci=noacpi ${LAB_APPEND:-}"
"$LAB/run" -k "$k" -K "$DEBUG_KERNEL" -M "$DEBUG_MODROOT" "${mod[@]}" "${jobs[@]}" \
	-o "$REPO/build/lab/results/$k" "${files[@]}" | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -c '^PASS ' "$log") f=$(grep -c '^FAIL ' "$log")
if ((rc != 0 && f == 0)); then
	echo "FAIL lab [$k]: tests/lab/run exited $rc"
	f=1
fi
passed=$((passed + p)) failed=$((failed + f))
# The KUnit scenario's own count of cases (its "KUNIT <suite>:" line).
kres=$REPO/build/lab/results/$k/kunit/a.out
if [[ " ${files[*]} " == *"/kunit.sh "* && -f $kres ]]; then
	kline=$(grep -ao 'KUNIT .*' "$kres" | tail -n 1)
	echo "${kline:-KUNIT: no case count in $kres}"
fi
for n in "${skipped[@]}"; do echo "SKIP $n [$k]: ${SKIP[$n]}"; done
echo "($k: $((SECONDS - start))s)"
echo "$passed passed, $failed failed"
((failed == 0))
exit # never read on past the block (the file may have changed meanwhile)
}
