#!/bin/bash
# Build the lab's user-space tools: every tests/tools/*.c -> build/tools/NAME.
# Run from anywhere; rebuilds a tool only when its source is newer than the binary.
#   tests/tools/build-tools.sh [-f]    -f: rebuild everything
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
force=0
[[ ${1:-} == -f ]] && force=1

command -v gcc >/dev/null || { echo "build-tools: no gcc: apt-get install gcc" >&2; exit 1; }
if ! echo '#include <infiniband/verbs.h>' | gcc -E -x c - >/dev/null 2>&1; then
	echo "build-tools: <infiniband/verbs.h> not found: apt-get install libibverbs-dev" >&2
	exit 1
fi

cd "$top"
mkdir -p build/tools
shopt -s nullglob
for src in tests/tools/*.c; do
	name=$(basename "$src" .c)
	bin=build/tools/$name
	if ((!force)) && [[ -x $bin && $bin -nt $src ]]; then
		echo "build-tools: $name is up to date"
		continue
	fi
	cmd=(gcc -O2 -Wall -Wextra -o "$bin" "$src" -libverbs)
	echo "${cmd[*]}"
	"${cmd[@]}" || { echo "build-tools: building $name failed" >&2; exit 1; }
done
