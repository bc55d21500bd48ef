#!/bin/sh
# Fuzzes the helper's plan decoder (src/main/c/plan.c) with libFuzzer for SECONDS (default 60),
# starting from the plans in src/test/resources/plans (hex, as PlanFormatTest checks them).
# Needs clang with libFuzzer (Debian: apt-get install -y clang libclang-rt-14-dev). Fails on a crash.
set -eu
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
core="$here/../../.."
work="$core/target/fuzz-plan"
CLANG="${CLANG:-clang}"
mkdir -p "$work/corpus" "$work/seeds"
"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$core/src/main/c" \
  -o "$work/plan_fuzz" "$here/plan_fuzz.c" "$core/src/main/c/plan.c"
for f in "$core"/src/test/resources/plans/*.hex; do
  python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(open(sys.argv[1]).read()))' "$f" \
    > "$work/seeds/$(basename "$f" .hex)"
done
cd "$work"
./plan_fuzz -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 corpus seeds
