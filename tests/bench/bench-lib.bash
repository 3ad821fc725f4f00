# shellcheck shell=bash
# Helpers of the benchmark's guest side, sourced by tests/bench/bench-scenario.sh and
# bench-children.sh (soft-RoCE, ib0) and softib-bench.sh (the soft InfiniBand fabric,
# both drivers). Not a scenario (no .sh).
#   CHILD_PARENT  the parent interface (default ib0); N_IDLE as in bench-children.sh
#   child N: CHILD_PARENT.8xxx, the child with P_Key 0x8000 + N

: "${CHILD_PARENT:=ib0}"
bench() { echo "BENCH $*"; }

# iperf3_json FILE: "RX_BITS TX_BITS RETRANSMITS" (receiver and sender bit/s) from iperf3 -J
iperf3_json() {
	python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]
print(int(e["sum_received"]["bits_per_second"]), int(e["sum_sent"]["bits_per_second"]), e["sum_sent"].get("retransmits", 0))' "$1"
}

# ping_stats FILE: "LOSS_PERCENT MIN_US AVG_US MEDIAN_US" from ping's output (the median
# from the per-reply times: averages under TCG carry the odd 100 ms outlier).
ping_stats() {
	local med
	med=$(sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' "$1" | sort -n |
		awk '{ t[NR] = $1 } END { if (NR) printf "%.1f\n", (t[int((NR + 1) / 2)] + t[int(NR / 2) + 1]) / 2 * 1000 }')
	awk -v med="$med" '/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) loss = $i + 0 }
	     /^(rtt|round-trip)/ { split($4, r, "/"); printf "%s %.1f %.1f %s\n", loss, r[1] * 1000, r[2] * 1000, med; ok = 1 }
	     END { exit !(ok && med != "") }' "$1"
}

child() { printf '%s.%04x' "$CHILD_PARENT" $((0x8000 + $1)); }
# batch FIRST LAST [up]: ip -batch commands creating children FIRST..LAST (and setting
# them up); batch_up FIRST LAST: setting them up
batch() {
	local i
	for ((i = $1; i <= $2; i++)); do
		printf 'link add link %s name %s type ipoib pkey 0x%04x\n' "$CHILD_PARENT" "$(child "$i")" $((0x8000 + i))
		[[ ${3:-} != up ]] || printf 'link set %s up\n' "$(child "$i")"
	done
}
batch_up() {
	local i
	for ((i = $1; i <= $2; i++)); do printf 'link set %s up\n' "$(child "$i")"; done
}
# all_carrier FIRST LAST: true once every child FIRST..LAST has its carrier (no forks)
all_carrier() {
	local i c
	for ((i = $1; i <= $2; i++)); do
		read -r c <"/sys/class/net/$(child "$i")/carrier" 2>/dev/null || return 1
		[[ $c == 1 ]] || return 1
	done
}
wait_carriers() {
	local end=$((SECONDS + 120))
	until all_carrier "$1" "$2"; do
		((SECONDS < end)) || fail "children $(child "$1")-$(child "$2"): no carrier after 120s"
		sleep 0.2
	done
}

# snap: kernel memory (KiB) and kernel threads, after dropping the page cache; sets
# KMEM (MemTotal - MemFree - Buffers - Cached - AnonPages: what the kernel itself holds),
# AVAIL (MemAvailable), SUNRECL (SUnreclaim), KTHREADS (children of kthreadd, pid 2) and
# RESCUERS (the workqueue rescuer threads of CHILD_PARENT*): medians of three readings.
snap() {
	local i p c k=() a=() s=() t=() r=() kids v
	sleep 2
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for i in 0 1 2; do
		sleep 0.5
		v=$(awk '{ m[$1] = $2 }
			END { k = m["MemTotal:"] - m["MemFree:"] - m["Buffers:"] - m["Cached:"] - m["AnonPages:"]
			      print k, m["MemAvailable:"], m["SUnreclaim:"] }' /proc/meminfo)
		read -r "k[i]" "a[i]" "s[i]" <<<"$v"
		read -ra kids </proc/2/task/2/children || true # (no newline at its end)
		t[i]=$((${#kids[@]} + 1)) r[i]=0
		for p in "${kids[@]}"; do
			read -r c <"/proc/$p/comm" 2>/dev/null || continue
			[[ $c != kworker/R-"$CHILD_PARENT"* ]] || r[i]=$((r[i] + 1))
		done
	done
	med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
	KMEM=$(med "${k[@]}") AVAIL=$(med "${a[@]}") SUNRECL=$(med "${s[@]}")
	KTHREADS=$(med "${t[@]}") RESCUERS=$(med "${r[@]}")
	log "snap: kernel $KMEM KiB, MemAvailable $AVAIL KiB, SUnreclaim $SUNRECL KiB," \
		"$KTHREADS kernel threads ($RESCUERS $CHILD_PARENT rescuers)"
}
# per_child NAME FROM TO UNIT: "BENCH NAME (TO - FROM) / N_IDLE UNIT"
per_child() { bench "$1" "$(awk -v d="$(($3 - $2))" -v n="$N_IDLE" 'BEGIN { printf "%.1f", d / n }')" "$4"; }

# idle_cost: create N_IDLE children (down), then set them up and wait for their
# carriers, reporting what each costs ("BENCH child_*_each", child_idle_n, the rings)
idle_cost() {
	local k0 a0 s0 th0 r0
	snap
	k0=$KMEM a0=$AVAIL s0=$SUNRECL th0=$KTHREADS r0=$RESCUERS
	batch 1 "$N_IDLE" >idle.batch
	check ip -batch idle.batch
	snap
	per_child child_mem_down_kib_each "$k0" "$KMEM" KiB
	per_child child_memavail_down_kib_each "$AVAIL" "$a0" KiB
	per_child child_sunreclaim_down_kib_each "$s0" "$SUNRECL" KiB
	per_child child_threads_down_each "$th0" "$KTHREADS" count
	batch_up 1 "$N_IDLE" >idle-up.batch
	check ip -batch idle-up.batch
	wait_carriers 1 "$N_IDLE"
	snap
	per_child child_mem_up_kib_each "$k0" "$KMEM" KiB
	per_child child_memavail_up_kib_each "$AVAIL" "$a0" KiB
	per_child child_sunreclaim_up_kib_each "$s0" "$SUNRECL" KiB
	per_child child_threads_each "$th0" "$KTHREADS" count
	per_child child_rescuer_threads_each "$r0" "$RESCUERS" count
	bench child_idle_n "$N_IDLE" count
	bench child_ring_recv "$(cat /sys/module/ib_ipoib/parameters/recv_queue_size)" entries
	bench child_ring_send "$(cat /sys/module/ib_ipoib/parameters/send_queue_size)" entries
}
