#!/bin/sh
# Builds the native helper as a static binary into the jar's per-architecture resource folders:
# linux-<this machine's architecture> with musl-gcc where it is installed, else $CC (default cc; see
# below), and the other of x86_64/aarch64 with
# Debian's cross compiler where it is installed (gcc-aarch64-linux-gnu + libc6-dev-arm64-cross,
# gcc-x86-64-linux-gnu + libc6-dev-amd64-cross). Every *.c file of this directory is compiled
# into the one binary (monitor.c, steps.c, plan.c). Called by the Maven build (exec-maven-plugin) with the classes output
# directory. ISOLATION_CROSS=require makes a missing cross compiler an error (CI), =skip skips it.
set -eu
out_root="$1"
here="$(dirname "$0")"
CC_SET="${CC:-}"
CC="${CC:-cc}"
srcs=$(ls "$here"/*.c)
flags="-static -O2 -s -Wall -Wextra -Werror -I$here" # plan.h, plan_tags.h, helper.h beside the sources
resources="$out_root/dev/isolation/core/internal/launch/native"

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "isolation-core: no C compiler ('$CC') found. The native helper is built from $here/*.c;" >&2
  echo "install one (Debian/Ubuntu: apt-get install -y gcc libc6-dev) or set CC." >&2
  exit 1
fi
arch="$(uname -m)"
mkdir -p "$resources/linux-$arch"
# This machine's helper is linked with musl where musl-gcc is installed (Debian: musl-tools) and CC
# is not set: glibc's static start-up probes the CPU with cpuid, which traps to the hypervisor on a
# virtual machine (about 1 ms per exec measured on the development VM; musl's start-up is about
# 0.1 ms), and the helper is exec'd once per sandbox. musl has no kernel headers of its own: the
# system's linux/, asm/ and asm-generic/ are given to it, and nothing else of glibc's.
# ISOLATION_MUSL=require makes a missing musl-gcc an error (CI), =skip uses $CC.
musl="${ISOLATION_MUSL:-auto}"
if [ "$musl" != skip ] && [ -z "$CC_SET" ] && command -v musl-gcc >/dev/null 2>&1; then
  headers="$out_root/../isolation-musl-kernel-headers"
  multiarch="$(cc -print-multiarch 2>/dev/null || echo "$arch-linux-gnu")"
  rm -rf "$headers"
  mkdir -p "$headers"
  ln -s /usr/include/linux "$headers/linux"
  ln -s "/usr/include/$multiarch/asm" "$headers/asm"
  ln -s /usr/include/asm-generic "$headers/asm-generic"
  # shellcheck disable=SC2086
  musl-gcc $flags -isystem "$headers" -o "$resources/linux-$arch/isolation-helper" $srcs
elif [ "$musl" = require ]; then
  echo "isolation-core: ISOLATION_MUSL=require but musl-gcc is missing (or CC is set): apt-get install -y musl-tools musl-dev" >&2
  exit 1
else
  # shellcheck disable=SC2086 # the flags and the source list are word lists
  "$CC" $flags -o "$resources/linux-$arch/isolation-helper" $srcs
fi

case "$arch" in
  x86_64) other=aarch64; cross=aarch64-linux-gnu-gcc; pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
  aarch64) other=x86_64; cross=x86_64-linux-gnu-gcc; pkgs="gcc-x86-64-linux-gnu libc6-dev-amd64-cross" ;;
  *) exit 0 ;;
esac
mode="${ISOLATION_CROSS:-auto}"
[ "$mode" != skip ] || exit 0
if ! command -v "$cross" >/dev/null 2>&1; then
  if [ "$mode" = require ]; then
    echo "isolation-core: ISOLATION_CROSS=require but $cross is missing: apt-get install -y $pkgs" >&2
    exit 1
  fi
  echo "isolation-core: $cross not found: the jar gets no linux-$other helper (apt-get install -y $pkgs)" >&2
  exit 0
fi
mkdir -p "$resources/linux-$other"
# shellcheck disable=SC2086
"$cross" $flags -o "$resources/linux-$other/isolation-helper" $srcs
