#!/bin/bash
# `make check-debug`: the lab scenarios on a debug kernel (lockdep, KASAN, kmemleak, debug
# objects, hung-task and workqueue watchdogs; tests/debug/debug.config).
#
#   tests/check-debug.sh [SCENARIO...]      SCENARIO: a name (lab-wire) or a file;
#                                           default: tests/scenarios/*.sh (less SKIP
#                                           below) plus tests/debug/selftest-*.sh and
#                                           tests/debug/kunit.sh (the KUnit suite) and
#                                           the simulated subnet's with our driver
#                                           (tests/softib/scenarios, less the in-tree
#                                           references, "# once: yes")
#   SCENARIOS="lab-wire module-load" tests/check-debug.sh
#
# (a) builds the kernel from Debian's linux-source-6.12, or reuses the cached one
#     (tests/debug/build-kernel.sh; build/debug-kernel/; the last build here compiled
#     about 2000 objects in 10 min on 2 CPUs: build/debug-kernel/build-seconds);
# (b) builds the module against that tree (make KDIR=build/debug-kernel/src
#     KVER=<release> BUILD_DIR=build/<release>), which also makes the KUnit module
#     ib_ipoib_kunit.ko (staged as build/debug-kunit/ib_ipoib_kunit.ko for
#     tests/debug/kunit.sh), and the `make control` build the deadlock control scenario
#     loads (build/<release>-control); and, for the subnet's scenarios, softib.ko and
#     cmprobe.ko against the same tree (build/<release>/{softib,cmprobe});
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
# shellcheck source-path=SCRIPTDIR source=lab/entry-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab/entry-lib.sh" check-debug

# One compound command: bash reads it whole first, so edits during a run are harmless.
{
start=$SECONDS

# Lab packages, as in check.sh.
need_lab_packages

# Scenarios left out of the default set here (still run when named), and why.
skip dkms-modprobe "tests the host's DKMS install under /lib/modules/<release>; the debug kernel's modules are private (build/debug-kernel/root)"
skip softib-cm "the in-tree ib_ipoib in connected mode; the debug kernel's is built without it (no CONFIG_INFINIBAND_IPOIB_CM)"
for f in "$REPO"/tests/softib/scenarios/*.sh; do
	grep -qx '# once: yes' "$f" &&
		skip "$(basename "$f" .sh)" "the fabric with Debian's in-tree ib_ipoib (a reference; the debug kernel's own has no connected mode)"
done

# Scenarios: arguments, else $SCENARIOS, else all.
SCENARIO_DIRS+=("$REPO/tests/debug" "$REPO/tests/softib/scenarios")
wanted_scenarios "$@"
((${#FILES[@]})) ||
	default_scenarios "$REPO"/tests/scenarios/*.sh "$REPO"/tests/debug/selftest-*.sh \
		"$REPO"/tests/debug/kunit.sh "$REPO"/tests/softib/scenarios/*.sh
# The subnet's scenarios apart: built for and run two at a time below.
RUN_FILES=() SIB_FILES=()
for f in "${FILES[@]}"; do
	if [[ $f == "$REPO"/tests/softib/scenarios/* ]]; then
		SIB_FILES+=("$f")
	else
		RUN_FILES+=("$f")
	fi
done

# (a) the kernel
t=$SECONDS
tally_start
vars=$("$REPO/tests/debug/build-kernel.sh") || {
	count_fail "debug-kernel: tests/debug/build-kernel.sh failed" 0
	tally_end
	exit
}
DEBUG_KVER='' DEBUG_KERNEL='' DEBUG_MODROOT='' DEBUG_KDIR=''
while IFS='=' read -r k v; do
	case $k in DEBUG_KVER | DEBUG_KERNEL | DEBUG_MODROOT | DEBUG_KDIR) printf -v "$k" '%s' "$v" ;; esac
done <<<"$vars"
[[ -n $DEBUG_KVER && -n $DEBUG_KERNEL && -n $DEBUG_MODROOT && -n $DEBUG_KDIR ]] ||
	die "build-kernel.sh printed no kernel variables"
k=$DEBUG_KVER
echo "=== $k (debug kernel; ready in $((SECONDS - t))s)"

# (b) the module
built=${LAB_PREBUILT:-$REPO/build}/$k # where ib_ipoib.ko and ib_ipoib_kunit.ko are
mod=(-m "$built/ib_ipoib.ko")
if [[ -z ${LAB_PREBUILT:-} ]] && { ! make -C "$REPO" KDIR="$DEBUG_KDIR" KVER="$k" BUILD_DIR="build/$k" >"$log" 2>&1 ||
	[[ ! -f $REPO/build/$k/ib_ipoib.ko ]]; }; then
	count_fail "build [$k]: make KDIR=$DEBUG_KDIR KVER=$k BUILD_DIR=build/$k did not produce build/$k/ib_ipoib.ko"
	mod=() # scenarios that need the module fail; the lab's own still run
fi
if has_scenario softib-ours-deadlock-control; then
	if [[ -z ${LAB_PREBUILT:-} ]]; then
		if ! make -C "$REPO" KDIR="$DEBUG_KDIR" KVER="$k" control >"$log" 2>&1; then
			count_fail "control build [$k]: make KDIR=$DEBUG_KDIR KVER=$k control"
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
if has_scenario kunit && ((${#mod[@]})); then
	if [[ -f $built/ib_ipoib_kunit.ko ]]; then
		mkdir -p "${kunit_ko%/*}"
		cp -p "$built/ib_ipoib_kunit.ko" "$kunit_ko"
	else
		count_fail "build [$k]: no ib_ipoib_kunit.ko beside $built/ib_ipoib.ko (Kbuild makes it when CONFIG_KUNIT)" 0
	fi
fi

# The self-test's leaking module (tests/debug/leak-selftest), when selftest-leak runs.
if has_scenario selftest-leak; then
	st=$REPO/build/debug-selftest
	mkdir -p "$st"
	cp -p "$REPO"/tests/debug/leak-selftest/{Kbuild,lab_leaky.c} "$st/"
	if ! make -C "$DEBUG_KDIR" M="$st" modules >"$log" 2>&1; then
		count_fail "build [$k]: the kmemleak self-test module (tests/debug/leak-selftest) did not build" 20
	fi
fi

# The user-space tools hostile-input sends from the peer guest (ud_inject; the guests
# run the host's user space, so the host build serves the debug kernel too).
if has_scenario hostile-input &&
	! "$REPO/tests/tools/build-tools.sh" >"$log" 2>&1; then
	count_fail "build: tests/tools/build-tools.sh (the hostile-input tools)" 20
fi

# The kernel's own selftest machinery (lib.mk, kselftest/ and drivers/net, from
# linux-source-6.12), which selftests-ktap and softib-ours-drvnet use from the
# read-only share: extracted on the host first, as check.sh does.
if { has_scenario selftests-ktap || has_scenario softib-ours-drvnet; } &&
	! "$REPO/tests/drivers-net/prepare.sh" >"$log" 2>&1; then
	count_fail "build: tests/drivers-net/prepare.sh (the kernel's selftest machinery)" 20
fi

# The simulated InfiniBand subnet (tests/softib) and the rdma_cm probe (tests/cmprobe),
# built against the debug tree, when their scenarios run.
sib_built=1
if ((${#SIB_FILES[@]})); then
	for m in softib cmprobe; do
		make -C "$REPO/tests/$m" KDIR="$DEBUG_KDIR" KVER="$k" >"$log" 2>&1 && continue
		count_fail "build [$k]: make -C tests/$m KDIR=$DEBUG_KDIR KVER=$k"
		sib_built=0
	done
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
((${#RUN_FILES[@]} == 0)) || run_lab "$k" -K "$DEBUG_KERNEL" -M "$DEBUG_MODROOT" "${mod[@]}" \
	"${jobs[@]}" -o "$REPO/build/lab/results/$k" "${RUN_FILES[@]}"
# The subnet's scenarios are one-guest: two at a time, as in check.sh.
((${#SIB_FILES[@]} == 0 || !sib_built)) || run_lab "$k" -K "$DEBUG_KERNEL" -M "$DEBUG_MODROOT" \
	"${mod[@]}" -j -o "$REPO/build/lab/results/$k" "${SIB_FILES[@]}"
# The KUnit scenario's own count of cases (its "KUNIT <suite>:" line).
kres=$REPO/build/lab/results/$k/kunit/a.out
if has_scenario kunit && [[ -f $kres ]]; then
	kline=$(grep -ao 'KUNIT .*' "$kres" | tail -n 1)
	echo "${kline:-KUNIT: no case count in $kres}"
fi
report_skips "$k"
echo "($k: $((SECONDS - start))s)"
tally_end
exit # never read on past the block (the file may have changed meanwhile)
}
