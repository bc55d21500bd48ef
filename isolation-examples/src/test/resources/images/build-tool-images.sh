#!/bin/sh
# Builds the test images with tools nobody here wrote (umoci, skopeo), as root, into OUT:
#   OUT/oci        an OCI layout; tag v3 = three layers:
#                  1. a busybox-static root (/bin/busybox and applet links, /etc, /opt/app/{old,config})
#                  2. /etc/motd deleted, /opt/app replaced (a new directory with only config = v2)
#                  3. a C toolchain copied from the host's /usr: the files gcc opens to compile
#                     TOOLCHAIN_PROBE.c (strace), nothing else
#                  its config: Env PATH, WorkingDir /opt/app, Cmd
#   OUT/docker.tar the same image converted by skopeo to a docker-archive (tag isolation/tool:v3)
#   OUT/oci.tar    ... to an OCI archive (tag v3)
#   OUT/back       the docker-archive converted back to an OCI layout by skopeo (tag v3)
# Usage: build-tool-images.sh OUT [C-SOURCE...]   (the sources whose compilation the toolchain must cover)
set -eu
out=$1
shift
rm -rf "$out"
mkdir -p "$out"
cd "$out"

umoci init --layout oci
umoci new --image oci:empty
umoci unpack --image oci:empty b1
r=b1/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/opt/app" "$r/tmp" "$r/usr/bin"
cp /bin/busybox "$r/bin/busybox"
for a in sh cat echo ls rm mkdir test id pwd head wc tr grep find chmod touch ln mv stat dd sleep true false env; do
  ln -s busybox "$r/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/opt/app:/bin/sh\n' > "$r/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$r/etc/group"
echo "motd of layer 1" > "$r/etc/motd"
echo old > "$r/opt/app/old"
echo v1 > "$r/opt/app/config"
umoci repack --image oci:layer1 b1

umoci unpack --image oci:layer1 b2
rm b2/rootfs/etc/motd
rm -rf b2/rootfs/opt/app
mkdir b2/rootfs/opt/app
echo v2 > b2/rootfs/opt/app/config
umoci repack --image oci:layer2 b2

umoci unpack --image oci:layer2 b3
probe=$(mktemp -d /tmp/isolation-toolchain.XXXXXX)
trap 'rm -rf "$probe"' EXIT
printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <math.h>\nint main(void){puts("ok");return 0;}\n' > "$probe/probe.c"
for src in "$probe/probe.c" "$@"; do
  strace -f -qq -e trace=openat,execve,newfstatat,access -o "$probe/trace.$(basename "$src")" \
    gcc -std=gnu17 -O2 -pipe -o "$probe/a.out" "$src" -lm >/dev/null 2>&1 || true
done
cat "$probe"/trace.* | grep -v ENOENT | grep -oE '"/[^"]+"' | tr -d '"' | while read -r p; do
  [ -f "$p" ] && realpath -s -m "$p"
done | grep -E '^/(usr|lib|lib64)/' | sort -u > "$probe/files"
while read -r f; do
  mkdir -p "b3/rootfs$(dirname "$f")"
  cp -L "$f" "b3/rootfs$f"
done < "$probe/files"
umoci repack --image oci:v3 b3
umoci config --image oci:v3 --config.env PATH=/usr/bin:/bin --config.workingdir /opt/app --config.cmd sh --config.cmd -c \
  --config.cmd 'cat /opt/app/config'
umoci gc --layout oci
rm -rf b1 b2 b3

skopeo copy -q oci:oci:v3 docker-archive:docker.tar:isolation/tool:v3
skopeo copy -q oci:oci:v3 oci-archive:oci.tar:v3
skopeo copy -q docker-archive:docker.tar oci:back:v3
