#!/usr/bin/env bash
# Runs the kernel tests whose behaviour depends on the cgroup layout inside throw-away QEMU guests
# with a pure cgroup v2 and a pure cgroup v1 kernel (this CI machine itself is hybrid), using
# ../shared/vm/run-in-vm (see its README). Java is emulated there (about 10x slower), so only these
# test classes run, on the classpath `mvn -B verify` already built, with the JUnit Platform console
# launcher and C1 only:
#   isolation-cgroups: dev.isolation.cgroups.SandboxCgroupIT, dev.isolation.cgroups.LeftoverCleanupIT
#   isolation-core:    every dev.isolation.core test class named *Cgroup*IT (none is fine)
# CI=true is set in the guest, so a kernel test that would skip there fails instead; a layout
# passes only if its JUnit reports pass .ci/summary.py --single: no failure, and no skip or abort but
# those for another cgroup arrangement or architecture, each listed with its reason (the console
# launcher's own exit status ignores aborted tests).
#
# Usage (from .ci/run, after mvn -B verify):  .ci/vm-tests.sh [LAYOUT...]   (default: v2 v1)
# Environment: RUN_IN_VM overrides the run-in-vm path; VM_TIMEOUT (seconds, default 1200);
# VM_TESTS_CLASSES (comma-separated class names) runs only those classes, when working on them.
# Exit status: non-zero when any layout fails (test failure, no tests found, VM error, timeout).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

# run-in-vm lives in shared/ beside the clone (<repo>/../shared), in CI and in a work tree alike.
RUN_IN_VM=${RUN_IN_VM:-$(dirname "$ROOT")/shared/vm/run-in-vm}
[ -x "$RUN_IN_VM" ] || { echo "vm-tests: $RUN_IN_VM not found or not executable (set RUN_IN_VM)" >&2; exit 2; }

LAYOUTS=("$@")
[ ${#LAYOUTS[@]} -gt 0 ] || LAYOUTS=(v2 v1)
JUNIT_PLATFORM_VERSION=1.14.1
OUT=target/vm
mkdir -p "$OUT"

for m in isolation-cgroups isolation-core; do
  [ -d "$m/target/classes" ] && [ -d "$m/target/test-classes" ] || {
    echo "vm-tests: $m/target/{classes,test-classes} missing: run mvn -B verify first" >&2; exit 2; }
done

echo "== vm-tests: resolving the test classpath and the console launcher"
# The compile phase (every plugin in it skipped: nothing is built or written) makes the reactor
# resolve isolation-cgroups to its target/classes instead of a possibly stale or absent jar in ~/.m2.
mvn -B -q -Dstyle.color=never -pl isolation-cgroups,isolation-core \
  -Dexec.skip=true -Dmaven.main.skip=true -Dmaven.test.skip=true -Dmaven.resources.skip=true \
  compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/vm/test-classpath.txt
LAUNCHER=$OUT/junit-platform-console-standalone-$JUNIT_PLATFORM_VERSION.jar
if [ ! -s "$LAUNCHER" ]; then
  mvn -B -q -Dstyle.color=never -N dependency:copy \
    -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM_VERSION \
    -DoutputDirectory="$OUT"
fi
[ -s "$LAUNCHER" ] || { echo "vm-tests: $LAUNCHER was not downloaded" >&2; exit 2; }

# Our own modules first (classes + test classes), then the third-party dependencies; drop any
# dev.isolation jar the resolution may have picked from ~/.m2. The modules' output directories are
# copied into target/vm/classpath, so a rebuild on the host during a (slow) guest run cannot
# change classes under the running tests. The classpath goes on the JVM's own -cp (not the
# launcher's --class-path) so that java.class.path is the test classpath, as under failsafe:
# tests that start a child JVM with it (CgroupLimitsIT) need that.
SNAP=$OUT/classpath
rm -rf "$SNAP"
CP=
for m in isolation-cgroups isolation-core; do
  for d in test-classes classes; do
    mkdir -p "$SNAP/$m"
    cp -a "$m/target/$d" "$SNAP/$m/$d"
    CP+="${CP:+:}$ROOT/$SNAP/$m/$d"
  done
done
# both modules carry the same JUnit configuration: one copy on the classpath (JUnit warns of two)
if cmp -s "$SNAP/isolation-cgroups/test-classes/junit-platform.properties" "$SNAP/isolation-core/test-classes/junit-platform.properties"; then
  rm "$SNAP/isolation-core/test-classes/junit-platform.properties"
fi
declare -A seen=()
for m in isolation-cgroups isolation-core; do
  f=$m/target/vm/test-classpath.txt
  [ -s "$f" ] || continue
  IFS=: read -r -a entries < "$f" || true   # the file has no final newline
  for e in "${entries[@]}"; do
    case $e in */dev/isolation/*|*/target/classes|*/target/test-classes) continue ;; esac
    [ -z "${seen[$e]:-}" ] || continue
    seen[$e]=1; CP+=":$e"
  done
done

# The native helper is a resource of isolation-core's target/classes (static, so it runs in the
# guest, whose / is the host's /).
HELPER=$SNAP/isolation-core/classes/dev/isolation/core/internal/launch/native/linux-$(uname -m)/isolation-helper
[ -x "$HELPER" ] || { echo "vm-tests: native helper $HELPER missing: run mvn -B verify first" >&2; exit 2; }

SELECT=(--select-class dev.isolation.cgroups.SandboxCgroupIT --select-class dev.isolation.cgroups.LeftoverCleanupIT)
while IFS= read -r c; do
  c=${c#"$SNAP"/isolation-core/test-classes/}; c=${c%.class}
  SELECT+=(--select-class "${c//\//.}")
done < <(d=$SNAP/isolation-core/test-classes/dev/isolation/core
          [ ! -d "$d" ] || find "$d" -name '*Cgroup*IT.class' ! -name '*$*' | sort)
for ((i = 1; i < ${#SELECT[@]}; i += 2)); do
  f=${SELECT[i]//.//}.class
  [ -f "$SNAP/isolation-cgroups/test-classes/$f" ] || [ -f "$SNAP/isolation-core/test-classes/$f" ] || {
    echo "vm-tests: test class ${SELECT[i]} not compiled" >&2; exit 2; }
done
# the CPU time limit reads the cgroup's usage file, which differs between v1 and v2
SELECT+=(--select-method 'dev.isolation.core.VerdictIT#busyLoopPastOneSecondOfCpuIsTimeLimit'
         --select-method 'dev.isolation.core.VerdictIT#allocatingPastTheMemoryLimitIsMemoryLimit')
if [ -n "${VM_TESTS_CLASSES:-}" ]; then
  SELECT=()
  IFS=, read -r -a only <<< "$VM_TESTS_CLASSES"
  for c in "${only[@]}"; do SELECT+=(--select-class "$c"); done
fi
echo "== vm-tests: test classes: $(printf '%s ' "${SELECT[@]}" | sed 's/--select-[a-z]* //g')"

JAVA=java
[ -z "${JAVA_HOME:-}" ] || JAVA=$JAVA_HOME/bin/java

failed=() summary=()
for layout in "${LAYOUTS[@]}"; do
  reports=$OUT/reports-$layout
  log=$OUT/console-$layout.log
  rm -rf "$reports" "$log"
  echo
  echo "================ cgroup $layout guest: kernel tests ================"
  start=$SECONDS
  set +e
  "$RUN_IN_VM" --cgroup "$layout" --mem 2G --cpus 2 --timeout "${VM_TIMEOUT:-1200}" -- \
    env CI=true "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto \
      -cp "$CP:$ROOT/$LAUNCHER" org.junit.platform.console.ConsoleLauncher execute \
      --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests \
      --include-classname '.*IT' --reports-dir "$reports" \
      "${SELECT[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ] && ! "$ROOT/.ci/summary.py" --single "$layout=$reports"; then
    rc=1   # an aborted or skipped test the guest could have run, or no reports at all
  fi
  set -e
  secs=$((SECONDS - start))
  counts=$(sed -n 's/^\[ *\([0-9]*\) tests \(found\|successful\|failed\|skipped\|aborted\) *\]$/\1 \2/p' "$log" |
           paste -sd, - | sed 's/,/, /g')
  summary+=("$(printf '%-3s %-6s %4ss  %s' "$layout" "$([ "$rc" = 0 ] && echo PASSED || echo FAILED)" "$secs" \
               "${counts:-no test summary (exit $rc)}")")
  if [ "$rc" = 0 ]; then
    echo "== vm-tests: cgroup $layout: PASSED in ${secs}s"
  else
    case $rc in 124) why="timed out" ;; 125) why="VM error" ;; *) why="failed, or a test skipped or aborted" ;; esac
    echo "== vm-tests: cgroup $layout: FAILED ($why, exit $rc) in ${secs}s"
    failed+=("$layout")
  fi
done

echo
echo "== vm-tests: summary (layout, result, guest run time, tests)"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "== vm-tests: FAILED on: ${failed[*]}"
  exit 1
fi
echo "== vm-tests: passed on: ${LAYOUTS[*]}"
