#!/bin/bash
# `make check`: build the module for each tested kernel (newest 6.1.* and 6.12.*) and run
# the lab scenarios on each in qemu.
#
#   tests/check.sh [SCENARIO...]           SCENARIO: a name (lab-wire) or a file
#   SCENARIOS="lab-wire module-load" tests/check.sh
#
# Environment: LAB_PARALLEL=1 runs two one-guest scenarios at a time (tests/lab/run -j);
# LAB_PREBUILT=DIR takes DIR/KVER/ib_ipoib.ko instead of building (to test the lab itself);
# LAB_OUT=DIR puts the artefacts in DIR/KVER/SCENARIO/ (default build/lab/results).
# Ends with the line "N passed, N failed"; exits non-zero if anything failed.
# shellcheck source-path=SCRIPTDIR source=lab/entry-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab/entry-lib.sh" check
start=$SECONDS # the printed duration covers everything, package installation included

# (a) packages
need_lab_packages

# (b) kernels
mapfile -t KERNELS < <("$LAB/deps.sh" kernels)
if ((${#KERNELS[@]} != 2)); then
	die "need one 6.1.* and one 6.12.* kernel with headers, found: ${KERNELS[*]:-none}"
fi

# (d) scenarios: arguments, else $SCENARIOS, else all: the driver's (tests/scenarios)
# and the simulated InfiniBand subnet's (tests/softib/scenarios: Debian's opensm, and
# the in-tree ib_ipoib or ours on softib.ko, one guest, network namespaces as hosts;
# two at a time)
SCENARIO_DIRS+=("$REPO/tests/softib/scenarios")
wanted_scenarios "$@"
((${#FILES[@]})) || default_scenarios "$REPO"/tests/scenarios/*.sh "$REPO"/tests/softib/scenarios/*.sh
jobs=()
[[ ${LAB_PARALLEL:-0} == 1 ]] && jobs=(-j)

# One compound command: bash reads it whole first, so edits during a run are harmless.
{
tally_start

step "style (checkpatch)" make -s -C "$REPO" style
step "test tools" "$REPO/tests/tools/build-tools.sh"
# the kernel's own drivers/net selftests, from linux-source-6.12, which
# tests/softib/scenarios/softib-ours-drvnet.sh runs on our interface
step "drivers/net selftests (linux-source-6.12)" "$REPO/tests/drivers-net/prepare.sh"
# DKMS: install this tree's module for the tested kernels on the host; the
# guests see it over 9p and tests/scenarios/dkms-modprobe.sh modprobes it
step "dkms-install [${KERNELS[*]}]" make -C "$REPO" dkms-install KVER="${KERNELS[*]}"
for k in "${KERNELS[@]}"; do
	echo "=== $k"
	# (c) the module for this kernel, W=1 and sparse clean, its test-only control
	# build, softib and the rdma_cm probe (MOD: -m FILE, or none if it did not build)
	build_for_kernel "$k"
	# (e) one line per scenario; runner self-tests ("# once: yes") on the first kernel only
	# One-guest scenarios (the simulated subnet's, and soft-RoCE's single-host ones)
	# run two at a time (one vCPU each), which costs the 2-CPU host less than one
	# after another; two-guest ones one at a time, before them.
	run=() sib=()
	for f in "${FILES[@]}"; do
		[[ $k != "${KERNELS[0]}" ]] && grep -qx '# once: yes' "$f" && continue
		if [[ $f == "$REPO"/tests/softib/scenarios/* ]] || grep -qx '# guests: 1' "$f"; then
			sib+=("$f")
		else
			run+=("$f")
		fi
	done
	report_skips "$k"
	out=${LAB_OUT:-$REPO/build/lab/results}/$k
	((${#run[@]} == 0)) || run_lab "$k" "${MOD[@]}" "${jobs[@]}" -o "$out" "${run[@]}"
	((${#sib[@]} == 0)) || run_lab "$k" "${MOD[@]}" -j -o "$out" "${sib[@]}"
done
t=$((SECONDS - start))
echo "make check took ${t}s ($((t / 60)) min $((t % 60)) s) for ${KERNELS[*]}"
tally_end
exit
}
