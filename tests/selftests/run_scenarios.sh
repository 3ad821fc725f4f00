#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The project's one-VM scenarios as one kselftest program: every scenario runs in
# this machine (it plays the lab's guest "a"), and each gives one KTAP result line.
# Run it through `make -C tests/selftests run_tests` (the kernel's kselftest runner,
# see Makefile), as root, in a throwaway VM: it loads and unloads modules, creates
# the soft-RoCE device rxe0 and network namespaces, and sets hung-task sysctls: it
# skips itself unless the kernel command line shows a test VM (virtme-ng's "virtme"
# arguments, or the lab's lab.node=) or SELFTESTS_FORCE=1.
#
# Which scenarios: tests/softib/scenarios/softib-ours-*.sh (one guest, network
# namespaces as hosts) and tests/scenarios/*.sh with "# guests: 1" (one soft-RoCE
# device); two-guest scenarios are listed as SKIP (they need tests/lab/run).
# Scenarios expected to pass come first, controls ("# expect: fail") last. A scenario
# with "# kselftest: no" in its header is left out.
#
# Environment:
#   SELFTESTS="NAME|FILE ..."  run only these (a scenario name, or a scenario file
#                       anywhere), in this order; default: all
#   IPOIB_KO=FILE       the module under test (default build/$(uname -r)/ib_ipoib.ko)
#   SOFTIB_KO=FILE      the soft InfiniBand fabric (default build/$(uname -r)/softib/softib.ko)
#   IPOIB_REPO=DIR      the project tree (default: two levels above this script)
#   SELFTESTS_OUT=DIR   per-scenario artefacts: DIR/NAME/a.out, a.dmesg (default
#                       /tmp/ipoib-selftests)
#   LAB_TIMEOUT_SCALE=F multiplies the scenarios' timeouts and waits (slow kernels)
#
# The environment a scenario gets is the lab's (tests/lab/guest-init): NODE=a,
# LAB_REPO, LAB_KVER, LAB_MODULE, LAB_SHARED, LAB_SCENARIO, LAB_GUESTS=1, rxe0 (the
# lab guest's, on eth0; elsewhere on a veth pair ksft0/ksft0p, 198.18.1.1/24), the
# module loaded and ib0 up unless "# ipoib: no", and "LAB: scenario NAME begins" in the
# kernel log. A scenario fails when its script fails or runs out of its "# timeout:",
# or when the kernel log after its marker matches tests/lab/bad-patterns (BUG,
# WARNING, lockdep, hung tasks, KASAN...), as in the lab. A scenario that leaves the
# kernel wedged (a hung task, or a module that cannot be unloaded) ends the run: the
# rest are skipped. The control that deadlocks on purpose
# (softib-ours-deadlock-control) runs last.
#
# Exit status (kselftest's): 0 all passed (some may have skipped), 1 a failure, 4 all
# skipped.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "${IPOIB_REPO:-$here/../..}" && pwd)
KSFT_DIR=${IPOIB_KSFT_DIR:-$REPO/build/drivers-net/linux-source-6.12/tools/testing/selftests}
KVER=$(uname -r)
OUT=${SELFTESTS_OUT:-/tmp/ipoib-selftests}
TWO_HOSTS="needs two hosts over RoCE: tests/lab/run"

# shellcheck source=/dev/null # extracted from linux-source at test time
if ! . "$KSFT_DIR/kselftest/ktap_helpers.sh" 2>/dev/null; then
	echo "TAP version 13"
	echo "1..0 # SKIP no $KSFT_DIR/kselftest/ktap_helpers.sh (tests/drivers-net/prepare.sh)"
	exit 4
fi
# shellcheck source-path=SCRIPTDIR source=../lab/verdict.sh
. "$REPO/tests/lab/verdict.sh"

diag() { sed 's/\r$//; s/^/# /'; } # a KTAP diagnostic block (stdin)

ktap_print_header
if ((EUID != 0)); then
	ktap_skip_all "must run as root (it loads modules)"
	exit "$KSFT_SKIP"
fi
# It changes the machine (modules, rxe0, sysctls): only in a VM made for tests.
if ! grep -qE '(^| )(lab\.node=|virtme)' /proc/cmdline && [[ ${SELFTESTS_FORCE:-0} != 1 ]]; then
	ktap_skip_all "not a test VM (virtme-ng or tests/lab): SELFTESTS_FORCE=1 runs it anyway"
	exit "$KSFT_SKIP"
fi
# The sysctls the scenarios need (the lab guest's), given back at the end: a kernel
# the deadlock control wedged then reports its stuck tasks only as often as before.
SYSCTLS=(kernel.hung_task_timeout_secs=20 kernel.hung_task_warnings=-1
	kernel.panic_on_oops=0 kernel.panic_on_warn=0 kernel.printk_ratelimit=0)
SYSCTLS_BEFORE=()
for kv in "${SYSCTLS[@]}"; do
	v=$(sysctl -n "${kv%%=*}" 2>/dev/null) && SYSCTLS_BEFORE+=("${kv%%=*}=$v")
done
# shellcheck disable=SC2317 # the EXIT trap calls it
restore_sysctls() { ((${#SYSCTLS_BEFORE[@]} == 0)) || sysctl -q -w "${SYSCTLS_BEFORE[@]}" || true; }
trap restore_sysctls EXIT
sysctl -q -w "${SYSCTLS[@]}" ||
	echo "# warning: cannot set the hung-task sysctls (the deadlock control needs 20 s)"
ip link set lo up

# bounded SECS CMD...: run CMD for at most SECS; 124 if it has not ended (a command
# stuck in the kernel cannot be killed: it is left behind)
bounded() {
	local end=$((SECONDS + $1)) pid
	shift
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < end)) || { kill -9 "$pid" 2>/dev/null; return 124; }
		sleep 0.2
	done
	wait "$pid"
}

# The default list, in order: scenarios expected to pass, then controls, then controls
# that wedge the kernel (a hung task). One awk reads every header (a process per file
# and key costs minutes under emulation).
default_list() {
	local f expect reason ks out
	local -a by_order=() scan
	out=$(awk -v OFS='\037' '
		function done() { if (f != "") print f, e, r, k }
		FNR == 1 { done(); f = FILENAME; e = "pass"; r = ""; k = "yes" }
		!/^#/ { nextfile }
		{ l = $0; sub(/^#[ \t]*/, "", l); v = l; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v) }
		index(l, "expect:") == 1 { e = v }
		index(l, "expect-reason:") == 1 { r = v }
		index(l, "kselftest:") == 1 { k = v }
		END { done() }' "$@")
	mapfile -t scan <<<"$out"
	for f in "${scan[@]}"; do
		IFS=$'\037' read -r f expect reason ks <<<"$f"
		# "# kselftest: no": not in the suite (selftests-ktap, which runs the suite)
		[[ $ks == no ]] && continue
		if [[ $expect != fail ]]; then
			by_order[0]+="$f"$'\n'
		elif [[ $reason == *"blocked for more than"* ]]; then
			by_order[2]+="$f"$'\n'
		else
			by_order[1]+="$f"$'\n'
		fi
	done
	printf '%s' "${by_order[0]:-}" "${by_order[1]:-}" "${by_order[2]:-}"
}
FILES=()
if [[ -n ${SELFTESTS:-} ]]; then
	for w in $SELFTESTS; do
		f=
		if [[ -f $w ]]; then
			f=$(realpath "$w")
		else
			for c in "$REPO/tests/softib/scenarios/${w%.sh}.sh" "$REPO/tests/scenarios/${w%.sh}.sh"; do
				[[ -f $c ]] && f=$c
			done
		fi
		FILES+=("${f:-missing:$w}")
	done
else
	list=$(default_list "$REPO"/tests/softib/scenarios/softib-ours-*.sh "$REPO"/tests/scenarios/*.sh)
	mapfile -t FILES <<<"$list"
fi
ktap_set_plan "${#FILES[@]}"

export NODE=a LAB_REPO=$REPO LAB_KVER=$KVER LAB_GUESTS=1
export LAB_MODULE=${IPOIB_KO:-$REPO/build/$KVER/ib_ipoib.ko}
export SOFTIB_KO=${SOFTIB_KO:-$REPO/build/$KVER/softib/softib.ko}
export LAB_TIMEOUT_SCALE=${LAB_TIMEOUT_SCALE:-1}
[[ -f $LAB_MODULE ]] && LAB_MODULE=$(realpath "$LAB_MODULE")
RUN_ID=$(date +%s)-$$

# lab_sh CMD: CMD in bash with the lab's library (tests/lab/lib.sh), errexit off
lab_sh() { NODE=a bash -c ". \"\$LAB_REPO/tests/lab/lib.sh\" && set +e && trap - ERR && $1"; }

# The node's soft-RoCE device as guest-init sets it up: rxe0, ACTIVE. The lab's guest
# has it already (on eth0). Elsewhere it goes on a veth pair of its own, ksft0/ksft0p
# (198.18.1.1/24, MTU 9000, a FIFO qdisc, as the lab's eth0): the machine's own
# interfaces are left alone.
node_setup() {
	if [[ ! -e /sys/class/infiniband/rxe0 ]]; then
		if [[ ! -e /sys/class/net/ksft0 ]] &&
			! ip link add ksft0 mtu 9000 type veth peer name ksft0p mtu 9000; then
			echo "cannot create the veth pair ksft0/ksft0p for rxe0"
			return 1
		fi
		if ! { ip addr replace 198.18.1.1/24 dev ksft0 && ip link set ksft0p up &&
			ip link set ksft0 up; }; then
			echo "ksft0 setup"
			return 1
		fi
		tc qdisc replace dev ksft0 root pfifo limit 1000 2>/dev/null
		modprobe rdma_rxe || { echo "modprobe rdma_rxe"; return 1; }
		for m in ib_core ib_cm ib_uverbs rdma_ucm; do modprobe -q "$m"; done
		rdma link add rxe0 type rxe netdev ksft0 || { echo "rdma link add rxe0"; return 1; }
	fi
	lab_sh 'poll 30 port_active rxe0 1' || { echo "rxe0 port 1 not ACTIVE"; return 1; }
}

# unload MOD: unload MOD if loaded (bounded); false if it stays
unload() {
	[[ -e /sys/module/$1 ]] || return 0
	bounded 60 rmmod "$1" && return 0
	echo "cannot unload $1 (left loaded by an earlier scenario)"
	return 1
}

# headers FILE: H_GUESTS, H_TIMEOUT, H_EXPECT, H_REASON, H_IPOIB from FILE's header
# (meta's defaults; one awk for all, as each process counts under emulation). No
# process substitution here: the lab's guest, like other minimal VMs, has no /dev/fd.
headers() {
	local out
	out=$(awk -v OFS='\037' '
		BEGIN { v["guests"] = 1; v["timeout"] = 300; v["expect"] = "pass"; v["ipoib"] = "yes" }
		!/^#/ { exit }
		{ l = $0; sub(/^#[ \t]*/, "", l); k = l; sub(/:.*/, "", k); x = l; sub(/^[^:]*:[ \t]*/, "", x)
		  sub(/[ \t]+$/, "", x)
		  if (index(l, k ":") == 1 && !(k in seen) && x != "") { v[k] = x; seen[k] = 1 } }
		END { print v["guests"], v["timeout"], v["expect"], v["expect-reason"], v["ipoib"] }' "$1")
	IFS=$'\037' read -r H_GUESTS H_TIMEOUT H_EXPECT H_REASON H_IPOIB <<<"$out"
}

# why_skip FILE NAME (after headers FILE): print why this machine cannot run the
# scenario (nothing: it can)
why_skip() {
	local f=$1 n=$2
	[[ $H_GUESTS == 2 ]] && { echo "$TWO_HOSTS"; return; }
	if [[ $H_IPOIB == yes || $n == softib-ours-* ]] || grep -q 'LAB_MODULE' "$f"; then
		[[ -f $LAB_MODULE ]] || { echo "no module $LAB_MODULE (make KVER=$KVER BUILD_DIR=build/$KVER, or IPOIB_KO=)"; return; }
	fi
	if [[ $n == softib-* ]]; then
		[[ -f $SOFTIB_KO ]] || { echo "no $SOFTIB_KO (make -C tests/softib KVER=$KVER, or SOFTIB_KO=)"; return; }
		command -v opensm >/dev/null || { echo "no opensm"; return; }
	fi
	case $n in
	dkms-modprobe)
		compgen -G "/lib/modules/$KVER/updates/dkms/ib_ipoib.ko*" >/dev/null ||
			echo "no DKMS-installed ib_ipoib for $KVER (make dkms-install)" ;;
	softib-ours-deadlock-control)
		[[ -f $REPO/build/$KVER-control/ib_ipoib.ko ]] ||
			echo "no control build $REPO/build/$KVER-control/ib_ipoib.ko (make KVER=$KVER control)" ;;
	esac
}

WEDGED=
VERDICT='' REASON=''
# run_scenario FILE: set VERDICT (pass|fail|skip) and REASON, with diagnostics on stdout
run_scenario() {
	local file=$1 name id dir timeout expect expect_reason ipoib budget start rc hit=''
	local -a reasons=()
	local ns_before
	name=$(basename "$file" .sh)
	VERDICT=fail REASON=
	if [[ $file == missing:* ]]; then
		REASON="no scenario ${file#missing:}"
		return
	fi
	if [[ -n $WEDGED ]]; then
		VERDICT=skip REASON="the kernel is wedged since $WEDGED"
		return
	fi
	headers "$file"
	timeout=$H_TIMEOUT expect=$H_EXPECT expect_reason=$H_REASON ipoib=$H_IPOIB
	REASON=$(why_skip "$file" "$name")
	[[ -n $REASON ]] && { VERDICT=skip; return; }
	if ! [[ $H_GUESTS =~ ^[12]$ && $timeout =~ ^[0-9]+$ && $expect =~ ^(pass|fail)$ && $ipoib =~ ^(yes|no)$ ]]; then
		REASON="bad header (guests=$H_GUESTS timeout=$timeout expect=$expect ipoib=$ipoib)"
		return
	fi
	# the lab's budget: the scaled timeout less a tenth (there is no boot to pay for here)
	budget=$(awk -v t="$timeout" -v f="$LAB_TIMEOUT_SCALE" 'BEGIN { printf "%d", t * f * 0.9 + 0.5 }')
	dir=$OUT/$name
	rm -rf -- "$dir"
	mkdir -p "$dir/sync" "$dir/work"

	# a clean node: no driver or fabric left by the previous scenario
	if ! REASON=$(unload ib_ipoib && unload softib && node_setup); then
		WEDGED="$name's setup"
		return
	fi
	REASON=
	ns_before=$(ip netns list | awk '{ print $1 }')
	id="$name [selftests $RUN_ID]"
	echo "<4>LAB: scenario $id begins" >/dev/kmsg
	export LAB_SCENARIO=$name LAB_SHARED=$dir
	if [[ $ipoib == yes ]]; then
		if ! lab_sh 'load_ipoib' >"$dir/a.setup" 2>&1; then
			REASON="setup: loading $LAB_MODULE failed"
			diag <"$dir/a.setup"
			return
		fi
		# shellcheck disable=SC2016 # expanded by lab_sh's bash
		lab_sh 'poll 20 test -e /sys/class/net/$IB_IF && ip link set $IB_IF up &&
			ip addr add $MY_IB_IP/24 dev $IB_IF && ip -6 addr add $MY_IB_IP6/64 dev $IB_IF nodad' \
			>>"$dir/a.setup" 2>&1 || echo "# warning: ib0 setup failed (left to the scenario)"
	fi

	echo "# $name: running (budget ${budget}s)"
	start=$SECONDS
	# shellcheck disable=SC2016 # expanded by the inner bash
	(cd "$dir/work" && exec timeout -k 5 "$budget" bash -c '. "$LAB_REPO/tests/lab/lib.sh"; . "$1"' \
		"$name" "$file") </dev/null >"$dir/a.out" 2>&1
	rc=$?
	if ((rc == 124 || rc == 137)) && ((SECONDS - start >= budget)); then
		rc=timeout
		echo w >/proc/sysrq-trigger # the blocked tasks, into the kernel log
	fi
	echo "# $name: ended ($rc) after $((SECONDS - start))s"
	for n in $(ip netns list | awk '{ print $1 }'); do
		grep -qxF -- "$n" <<<"$ns_before" || ip netns del "$n" 2>/dev/null
	done
	dmesg >"$dir/a.dmesg" 2>&1

	case $rc in
	0) ;;
	timeout) reasons+=("timeout (scenario ran out of its ${budget}s)") ;;
	*) reasons+=("script exited $rc$(grep -a -m1 -o 'FAIL: .*' "$dir/a.out" | cut -c1-200 | sed 's/^/ (/; s/$/)/')") ;;
	esac
	if hit=$(scan_log "$dir/a.dmesg" "$id"); then
		reasons+=("kernel log matched '${hit%%$'\t'*}': ${hit#*$'\t'}")
	fi
	[[ $hit == "blocked for more than"* ]] && WEDGED=$name # tasks stuck for good
	local r
	for r in "${reasons[@]}"; do REASON+="${REASON:+; }$r"; done
	if [[ $expect == pass ]]; then
		((${#reasons[@]})) || VERDICT=pass
	elif ((${#reasons[@]} == 0)); then
		REASON="expected to fail, but passed"
	elif [[ -n $expect_reason ]] && ! grep -Eq -- "$expect_reason" <<<"$REASON"; then
		REASON="expected a failure matching /$expect_reason/, got: $REASON"
	else
		VERDICT=pass REASON="failed as expected: $REASON"
	fi
	if [[ $VERDICT == fail ]]; then
		echo "# --- tail of $dir/a.out"
		tail -n 25 "$dir/a.out" | diag
		[[ -n $hit ]] && { echo "# --- kernel log"; grep -aF -A 15 -m 1 -- "${hit#*$'\t'}" "$dir/a.dmesg" | diag; }
	fi
}

for file in "${FILES[@]}"; do
	name=$(basename "${file#missing:}" .sh)
	run_scenario "$file"
	case $VERDICT in
	pass) [[ -n $REASON ]] && echo "# $name: $REASON"
		ktap_test_pass "$name" ;;
	skip) # ktap_test_skip has no room for the reason
		echo "ok $KTAP_TESTNO $name # SKIP $REASON"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1)) ;;
	*) echo "# $name: $REASON"
		ktap_test_fail "$name" ;;
	esac
done
[[ -n $WEDGED ]] && echo "# the kernel is left wedged by $WEDGED (tasks blocked for good: reboot this VM)"
ktap_print_totals
((KTAP_CNT_FAIL)) && exit "$KSFT_FAIL"
((KTAP_CNT_PASS == 0 && KTAP_CNT_SKIP)) && exit "$KSFT_SKIP"
exit "$KSFT_PASS"
