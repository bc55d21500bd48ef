#!/bin/sh
# Builds the native helper as a static binary into the jar's per-architecture resource folder.
# Called by the Maven build (exec-maven-plugin) with the classes output directory.
set -eu
out_root="$1"
dir0="$(dirname "$0")"
src="$dir0/monitor.c $dir0/steps.c $dir0/plan.c"
CC="${CC:-cc}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "isolation-core: no C compiler ('$CC') found. The native helper is built from $src;" >&2
  echo "install one (Debian/Ubuntu: apt-get install -y gcc libc6-dev) or set CC." >&2
  exit 1
fi
arch="$(uname -m)"
dir="$out_root/dev/isolation/core/internal/launch/native/linux-$arch"
mkdir -p "$dir"
# shellcheck disable=SC2086
"$CC" -static -O2 -s -Wall -Wextra -Werror -I"$dir0" -o "$dir/isolation-helper" $src
