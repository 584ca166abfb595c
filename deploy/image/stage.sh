#!/bin/sh
# Stages the root file system of the image `make image` builds: the built
# binary as /usr/bin/loupe, the shared libraries it links (as ldd finds
# them on this machine, at the same paths), and the empty directories
# loupe writes to or mounts over. Nothing else: no shell, no packages.
#
#   deploy/image/stage.sh BINARY DEST
set -eu

if [ $# -ne 2 ] || [ ! -x "$1" ]; then
	echo "usage: $0 BINARY DEST (BINARY: the built loupe)" >&2
	exit 2
fi
bin=$1
dest=$2

rm -rf "$dest"
mkdir -p "$dest/rootfs/usr/bin"
cp "$bin" "$dest/rootfs/usr/bin/loupe"
# Libraries loupe opens itself when a feature is used, by soname: the
# agent's HTTP server (src/agent/mhd.c).
dlopened="libmicrohttpd.so.12"

# What a file links: from "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1
# (0x...)" and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)"; the
# vDSO has no file.
linked() {
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\// { print $1 }'
}

libs=$(linked "$bin")
for so in $dlopened; do
	path=$(ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
	if [ -z "$path" ]; then
		echo "$0: $so is not installed (make deps installs it)" >&2
		exit 1
	fi
	libs="$libs $path $(linked "$path")"
done
for lib in $(printf '%s\n' $libs | sort -u); do
	mkdir -p "$dest/rootfs$(dirname "$lib")"
	cp -L "$lib" "$dest/rootfs$lib"
done
# the BTF cache (a volume in the DaemonSet), the host's mount points,
# and /tmp for a read-only root
for d in var/cache/loupe tmp sys proc host/proc run/containerd \
	 run/containers var/lib/containers var/lib/docker/containers; do
	mkdir -p "$dest/rootfs/$d"
done
chmod 1777 "$dest/rootfs/tmp"
cp "$(dirname "$0")/Containerfile" "$dest/Containerfile"
