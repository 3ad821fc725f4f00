#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl (from Debian's linux-source-6.12) over the driver's sources.
set -euo pipefail

top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=$top/build/checkpatch
tarball=/usr/src/linux-source-6.12.tar.xz

if [ ! -f "$dir/scripts/checkpatch.pl" ]; then
	if [ ! -f "$tarball" ]; then
		if [ "$(id -u)" = 0 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y \
				--no-install-recommends linux-source-6.12 >/dev/null
		else
			echo "checkpatch needs: apt-get install -y linux-source-6.12" >&2
			exit 1
		fi
	fi
	mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch
fi

cd "$top"
files=$(ls ./*.c ./*.h tests/softib/*.c tests/softib/*.h tests/cmprobe/*.c; find compat -name '*.h')
# shellcheck disable=SC2086
perl "$dir/scripts/checkpatch.pl" --no-tree --strict --quiet --file \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG $files
echo "checkpatch: clean"
