#!/usr/bin/env bash
# Runs sockspec's whole catalogue on several kernels and writes one JSON report
# per kernel plus the diff between them. Guests are Debian cloud kernels booted
# under qemu (TCG: no KVM here) from an initramfs holding busybox, a static
# sockspec and the kernel modules the cases need; the running host kernel is
# measured natively.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<USAGE
usage: scripts/kernel-matrix.sh [--out DIR] [--timeout SECONDS] [--no-host] [PACKAGE...]

Runs the catalogue on each kernel and writes DIR/<kernel-release>.json, plus
DIR/diff.txt with 'sockspec diff' of each kernel against the next.

  PACKAGE      Debian kernel packages to boot (default: the newest
               linux-image-6.1.0-*-cloud-amd64 and linux-image-6.12.*-cloud-amd64)
  --out DIR    where reports, downloads and initramfs go (default: kernel-matrix/
               in cargo's target directory, target/kernel-matrix unless
               CARGO_TARGET_DIR says otherwise)
  --timeout S  a guest that has not printed its report after S seconds is
               killed and the matrix fails (default 300)
  --no-host    do not add the running kernel's own report
  --help       this text

Needs root (apt-get). Installs qemu-system-x86, busybox-static, cpio and
xz-utils if missing.
USAGE
}

out=
timeout_s=300
host=1
packages=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --out) [ $# -ge 2 ] || { echo "kernel-matrix.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift ;;
        --timeout) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "kernel-matrix.sh: --timeout needs a number of seconds" >&2; exit 2; }; timeout_s=$2; shift ;;
        --no-host) host=0 ;;
        -*) echo "kernel-matrix.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) packages+=("$1") ;;
    esac
    shift
done

need_rust
[ -n "$out" ] || out=$(target_dir)/kernel-matrix
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need xz xz-utils
need depmod kmod
if ! ldd /bin/busybox 2>&1 | grep -qE "not a dynamic executable|statically linked"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2
fi

mkdir -p "$out/debs" "$out/work"
out=$(cd "$out" && pwd)

newest() { apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -n 1; }
if [ ${#packages[@]} -eq 0 ]; then
    packages=("$(newest '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$')" "$(newest '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$')")
fi

echo "building a static sockspec" >&2
static=$(RUSTFLAGS='-C target-feature=+crt-static' build_sockspec --target x86_64-unknown-linux-gnu)
if ! ldd "$static" 2>&1 | grep -qE "not a dynamic executable|statically linked"; then
    echo "kernel-matrix.sh: $static is not static" >&2
    exit 1
fi

# Modules the cases need beyond what cloud kernels build in.
WANTED="veth bridge af_packet ipv6"

# build_initramfs PKGDIR RELEASE IMG: busybox, sockspec, modules (deps first), /init.
build_initramfs() {
    local pkg=$1 rel=$2 img=$3 root
    root=$(mktemp -d)
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,run,modules}
    cp /bin/busybox "$root/bin/busybox"
    for a in sh mount insmod poweroff cat echo mkdir; do ln -s busybox "$root/bin/$a"; done
    cp "$static" "$root/sockspec"
    local moddir="$pkg/lib/modules/$rel" order=()
    resolve() {
        local name=$1 path line dep
        path=$(grep -E "(^|/)$name\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1) || true
        [ -n "$path" ] || return 0
        line=$(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2)
        for dep in $line; do resolve "$(basename "$dep" | sed -E 's/\.ko(\.xz|\.zst)?$//')"; done
        case " ${order[*]:-} " in *" $path "*) ;; *) order+=("$path") ;; esac
    }
    for m in $WANTED; do resolve "${m//-/_}"; resolve "$m"; done
    : > "$root/modules/order"
    for path in "${order[@]:-}"; do
        [ -n "$path" ] || continue
        local base; base=$(basename "$path")
        case "$base" in
            *.xz) xz -dc "$moddir/$path" > "$root/modules/${base%.xz}"; base=${base%.xz} ;;
            *.zst) zstd -qdc "$moddir/$path" > "$root/modules/${base%.zst}"; base=${base%.zst} ;;
            *) cp "$moddir/$path" "$root/modules/$base" ;;
        esac
        echo "$base" >> "$root/modules/order"
    done
    cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod /modules/$m 2>/dev/null; done
SOCKSPEC_DEADLINE_SCALE=4 /sockspec run --format json --output /tmp/report.json --artifacts /tmp/artifacts 2>/dev/null
echo "@@SOCKSPEC-REPORT-BEGIN@@"
cat /tmp/report.json
echo "@@SOCKSPEC-REPORT-END@@"
poweroff -f
INIT
    chmod +x "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$img"
    rm -rf "$root"
}

# boot_one PACKAGE: prints the kernel release whose report it wrote.
boot_one() {
    local pkg=$1 deb dir rel img log
    deb=$(ls "$out/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$out/debs" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "kernel-matrix.sh: cannot download $pkg" >&2; return 1; }
        deb=$(ls "$out/debs/${pkg}"_*.deb | head -n 1)
    fi
    dir="$out/work/$pkg"
    [ -d "$dir" ] || { mkdir -p "$dir" && dpkg-deb -x "$deb" "$dir"; }
    rel=$(ls "$dir/lib/modules" | head -n 1)
    # The package leaves modules.dep to depmod at install time.
    [ -f "$dir/lib/modules/$rel/modules.dep" ] || depmod -b "$dir" "$rel"
    img="$out/work/$rel.initramfs.gz"
    build_initramfs "$dir" "$rel" "$img"
    log="$out/work/$rel.console.log"
    local start=$SECONDS
    if ! timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 -machine accel=tcg -cpu max -smp 2 -m 1024 \
        -nographic -no-reboot -kernel "$dir/boot/vmlinuz-$rel" -initrd "$img" \
        -append "console=ttyS0 quiet loglevel=1 panic=-1" > "$log" 2>&1 </dev/null; then
        echo "kernel-matrix.sh: guest $rel did not finish within ${timeout_s}s (console: $log)" >&2
        return 1
    fi
    tr -d '\r' < "$log" | sed -n '/@@SOCKSPEC-REPORT-BEGIN@@/,/@@SOCKSPEC-REPORT-END@@/p' | sed '1d;$d' > "$out/$rel.json"
    if ! grep -q '"kernel"' "$out/$rel.json"; then
        echo "kernel-matrix.sh: guest $rel printed no report (console: $log)" >&2
        return 1
    fi
    echo "  $rel: report in $((SECONDS - start)) s" >&2
    echo "$rel"
}

releases=()
for p in "${packages[@]}"; do
    echo "booting $p" >&2
    releases+=("$(boot_one "$p")")
done
if [ "$host" = 1 ]; then
    rel=$(uname -r)
    echo "running on the host kernel $rel (no image of it to boot)" >&2
    "$static" run --format json --output "$out/$rel.json" || true
    releases+=("$rel")
fi

: > "$out/diff.txt"
changed=0
for ((i = 0; i + 1 < ${#releases[@]}; i++)); do
    a=${releases[$i]} b=${releases[$((i + 1))]}
    if ! "$static" diff "$out/$a.json" "$out/$b.json" >> "$out/diff.txt"; then changed=1; fi
    echo >> "$out/diff.txt"
done
echo
for r in "${releases[@]}"; do
    printf '%-28s %s\n' "$r" "$(grep -o '"outcome": "[a-z]*"' "$out/$r.json" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
done
echo "reports: $out/*.json; differences: $out/diff.txt ($([ $changed = 1 ] && echo "some cases behave differently" || echo "no behaviour differences"))"
