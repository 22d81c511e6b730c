#!/usr/bin/env bash
# Runs sockspec's whole catalogue on several kernels and writes one JSON report
# per kernel, the diff between neighbours and the matrix page. Guests are Debian
# cloud kernels booted under qemu (TCG: no KVM needed) from an initramfs holding
# busybox, sockspec and the kernel modules the cases need; the running host
# kernel is measured natively.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

SERIES="5.10 6.1 6.12 sid rc"
DEFAULT_KERNELS="5.10 6.1 6.12 sid host"
# Cases a guest runs at once (--case-jobs).
CASE_JOBS=16

usage() {
    cat <<USAGE
usage: scripts/kernel-matrix.sh [OPTIONS] [KERNEL...]

Runs the catalogue on each kernel and writes, in the output directory,
<kernel-release>.json per kernel, diff.txt ('sockspec diff' of each kernel
against the next), matrix.html (the matrix page) and matrix.md (its table).

KERNEL is one of
  a series    5.10 (bullseye, bullseye-security), 6.1 (bookworm), 6.12
              (bookworm, trixie), sid, rc (the release candidate in
              experimental): the newest Debian cloud kernel of that series
  a package   an exact Debian package name, e.g. linux-image-6.1.0-56-cloud-amd64
  a file      a kernel package of your own (a path ending in .deb, e.g. from
              'make bindeb-pkg'): its vmlinuz and modules as they are
  host        the running kernel, measured natively (no image of it to boot)
Default: $DEFAULT_KERNELS.

OPTIONS
  --out DIR        reports, apt lists, downloads and guests' files (default
                   kernel-matrix/ in cargo's target directory)
  --jobs N         guests booted at once (default 2)
  --case-jobs N    cases a guest runs at once (sockspec run --jobs; default
                   $CASE_JOBS): on emulated CPUs all at once starves
                   the cases that compute past their deadlines
  --timeout S      a guest still running after S seconds is killed and the
                   matrix fails (default 180)
  --cases PATTERN  run only the cases matching PATTERN (as 'sockspec run';
                   repeatable); default: the whole catalogue
  --append ARGS    more kernel command line for every guest
  --no-host        leave the running kernel out of the default matrix
  --list           print the packages each KERNEL resolves to, then stop
  --help           this text

Debian's suites are reached through a private apt configuration under
DIR/apt (the machine's own apt sources are neither used nor changed), checked with
the Debian archive keyring. Installs qemu-system-x86, busybox-static, cpio,
xz-utils, zstd, kmod and procps when missing (as root). SOCKSPEC_BIN names a
sockspec binary to use instead of building a static one.
Exit status: 0 when every kernel gave its report, 1 when one did not, 2 for
a bad command line.
USAGE
}

die_usage() {
    echo "kernel-matrix.sh: $1 (see --help)" >&2
    exit 2
}

out=
jobs=2
case_jobs=$CASE_JOBS
timeout_s=180
no_host=0
list=0
append=
patterns=()
kernels=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --out) [ $# -ge 2 ] || die_usage "--out needs a directory"; out=$2; shift ;;
        --jobs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die_usage "--jobs needs a number of guests"; jobs=$2; shift ;;
        --case-jobs) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die_usage "--case-jobs needs a number of cases"; case_jobs=$2; shift ;;
        --timeout) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout needs a number of seconds"; timeout_s=$2; shift ;;
        --cases) [ $# -ge 2 ] || die_usage "--cases needs a pattern"; patterns+=("$2"); shift ;;
        --append) [ $# -ge 2 ] || die_usage "--append needs kernel arguments"; append=$2; shift ;;
        --no-host) no_host=1 ;;
        --list) list=1 ;;
        -*) die_usage "unknown option '$1'" ;;
        *.deb)
            [ -f "$1" ] || die_usage "no such kernel package file '$1'"
            kernels+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")")
            ;;
        linux-image-*|host) kernels+=("$1") ;;
        *)
            case " $SERIES " in
                *" $1 "*) kernels+=("$1") ;;
                *) die_usage "unknown kernel '$1': a series ($SERIES), host, a linux-image-* package name or a .deb file" ;;
            esac
            ;;
    esac
    shift
done
[ -n "$out" ] || out=$(target_dir)/kernel-matrix
if [ ${#kernels[@]} -eq 0 ]; then
    read -r -a kernels <<< "$DEFAULT_KERNELS"
    [ "$no_host" = 1 ] && kernels=("${kernels[@]/host/}") && read -r -a kernels <<< "${kernels[*]}"
fi

mkdir -p "$out/debs" "$out/work" "$out/apt/lists/partial" "$out/apt/cache/archives/partial"
out=$(cd "$out" && pwd)
work=$out/work
labels=("${kernels[@]##*/}")

# One state file per kernel, read by the progress display; each guest's
# `timeout` pid too, so that guests die with the script (Ctrl-C, a kill, an
# error): timeout passes the signal on to qemu.
state_dir=$(mktemp -d)
# shellcheck disable=SC2317  # called by the traps
cleanup() {
    local p n alive
    # The guests' watchers first (they would report the guest's death), then
    # the guests; then wait, 5 s at most, until every qemu is gone.
    # (set -e holds in traps: a job that ended meanwhile must not fail it.)
    for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
    for p in "$state_dir"/*.qemu; do
        [ -f "$p" ] && { kill "$(cat "$p")" 2>/dev/null || true; }
    done
    for n in $(seq 50); do
        alive=0
        for p in "$state_dir"/*.pid; do
            [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null && alive=$n
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "$state_dir"/*.pid; do
        [ -f "$p" ] && { kill -KILL "$(cat "$p")" 2>/dev/null || true; }
    done
    rm -rf "$state_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Written whole, then renamed: the display never reads a half-written state.
set_state() { printf '%s\n' "$2" > "$state_dir/$1.new" && mv "$state_dir/$1.new" "$state_dir/$1"; }
for i in "${!kernels[@]}"; do set_state "$i" "waiting"; done

# --- Progress: on a terminal, one line per kernel, redrawn; in a log, a line
# per change of phase (not one per finished case).
tty=0
[ -t 2 ] && tty=1
shown=0
declare -A logged=()
show_progress() {
    local i st
    if [ "$tty" = 1 ] && [ "$shown" = 1 ]; then printf '\033[%dA' "${#labels[@]}" >&2; fi
    for i in "${!labels[@]}"; do
        st=$(cat "$state_dir/$i" 2>/dev/null || echo waiting)
        if [ "$tty" = 1 ]; then
            printf '\r\033[2K  %-30s %s\n' "${labels[$i]:0:30}" "${st:0:90}" >&2
        elif [ "${logged[$i]:-}" != "${st%%:*}" ]; then
            logged[$i]=${st%%:*}
            printf '  %-30s %s\n' "${labels[$i]}" "$st" >&2
        fi
    done
    shown=1
}

# --- Tools.
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need xz xz-utils
need zstd zstd
need depmod kmod
need pgrep procps
if ! ldd /bin/busybox 2>&1 | grep -qE "not a dynamic executable|statically linked"; then
    need_package busybox-static
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${SOCKSPEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SOCKSPEC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# --- Debian's suites through a private apt configuration.
ALL_SUITES="bullseye bullseye-security bookworm bookworm-security trixie trixie-security sid experimental"
series_suites() {
    case "$1" in
        5.10) echo "bullseye bullseye-security" ;;
        6.1) echo "bookworm bookworm-security" ;;
        6.12) echo "bookworm bookworm-security trixie trixie-security" ;;
        sid) echo "sid" ;;
        rc) echo "experimental" ;;
        *) echo "$ALL_SUITES" ;;
    esac
}
# The versioned image packages of a series (not the linux-image-cloud-amd64
# metapackage, not -unsigned or -dbg). Bullseye also carries a backported 6.1
# (6.1.0-0.deb11.N), which the 5.10 pattern leaves out.
series_pattern() {
    case "$1" in
        5.10) echo '^linux-image-5\.10\.0-[0-9]+-cloud-amd64$' ;;
        6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
        6.12) echo '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-cloud-amd64$' ;;
        sid|rc) echo '^linux-image-[0-9][^ ]*-cloud-amd64$' ;;
        *) printf '^%s$\n' "${1//./\\.}" ;;
    esac
}

# apt_private apt-get|apt-cache ARG...: apt on the private configuration. The
# package cache is kept (images for containers turn it off): each apt-cache
# call would otherwise parse every list again, seconds each.
apt_private() {
    local tool=$1 sandbox=()
    shift
    # apt drops to the _apt user to download, who may not write in DIR.
    [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
    "$tool" -o Dir::Etc::sourcelist="$out/apt/sources.list" -o Dir::Etc::sourceparts=- \
        -o Dir::State::Lists="$out/apt/lists" -o Dir::Cache="$out/apt/cache" \
        -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin \
        -o Acquire::Languages=none -o APT::Get::List-Cleanup=false "${sandbox[@]}" "$@"
}

# apt_sources SUITE...: a sources.list asking for the Packages index of main
# only, rewritten only when it changes (a newer sources.list makes apt
# rebuild its package cache: seconds).
apt_sources() {
    local s base
    for s in "$@"; do
        case "$s" in *-security) base=$security_mirror ;; *) base=$mirror ;; esac
        echo "deb [signed-by=$keyring arch=amd64 target=Packages] $base $s main"
    done > "$out/apt/sources.list.new"
    if cmp -s "$out/apt/sources.list.new" "$out/apt/sources.list"; then
        rm "$out/apt/sources.list.new"
    else
        mv "$out/apt/sources.list.new" "$out/apt/sources.list"
    fi
}

# newest_in SUITES PATTERN: "package version depends" of the newest package
# whose name matches PATTERN in one of SUITES.
newest_in() {
    local suites=" $1 " pattern=$2 names=() best='' best_v='' p v where suite
    mapfile -t names < <(apt_private apt-cache pkgnames linux-image- | grep -E "$pattern" || true)
    [ ${#names[@]} -gt 0 ] || return 0
    # madison: "NAME | VERSION | SITE SUITE/COMPONENT ARCH Packages", SUITE
    # as sources.list names it (experimental's codename would be rc-buggy).
    while IFS='|' read -r p v where; do
        p=${p// /}
        v=${v// /}
        read -r _ suite _ <<< "$where"
        case "$suites" in *" ${suite%%/*} "*) ;; *) continue ;; esac
        if [ -z "$best_v" ] || dpkg --compare-versions "$v" gt "$best_v"; then
            best=$p
            best_v=$v
        fi
    done < <(apt_private apt-cache madison "${names[@]}")
    [ -n "$best" ] || return 0
    echo "$best $best_v $(apt_private apt-cache show "$best=$best_v" | sed -n 's/^Depends: //p' | head -n 1 | tr -d ' ')"
}

# --- Resolve every kernel to the packages that hold its vmlinuz and modules.
needed_suites=()
for k in "${kernels[@]}"; do
    case "$k" in
        /*|host) ;;
        *) read -r -a s <<< "$(series_suites "$k")"; needed_suites+=("${s[@]}") ;;
    esac
done
if [ ${#needed_suites[@]} -gt 0 ]; then
    [ -f "$keyring" ] || need_package debian-archive-keyring
    read -r -a needed_suites <<< "$(printf '%s\n' "${needed_suites[@]}" | awk '!seen[$0]++' | tr '\n' ' ')"
    apt_sources "${needed_suites[@]}"
    for i in "${!kernels[@]}"; do
        case "${kernels[$i]}" in /*|host) ;; *) set_state "$i" "resolving" ;; esac
    done
    show_progress
    # Lists younger than an hour for the same suites are kept: Debian's
    # archive changes a few times a day, and an update costs seconds.
    stamp=$out/apt/updated
    if [ -n "$(find "$stamp" -mmin -60 2>/dev/null)" ] && cmp -s "$stamp" "$out/apt/sources.list"; then
        :
    # --error-on=any: a suite that failed to download fails the update (apt
    # would only warn, and the kernel would look missing from the suite).
    elif apt_private apt-get update -qq --error-on=any > "$out/apt/update.log" 2>&1; then
        cp "$out/apt/sources.list" "$stamp"
    else
        # The lists of an earlier update will do, if every suite has one.
        # shellcheck disable=SC2016
        if apt_private apt-get indextargets --format '$(FILENAME)' 'Identifier: Packages' |
            awk '{ n++; if ((getline line < $0) > 0) have++ } END { exit !(n > 0 && have == n) }'; then
            echo "kernel-matrix.sh: apt-get update failed; using the package lists downloaded before:" >&2
            sed 's/^/  /' "$out/apt/update.log" >&2
        else
            echo "kernel-matrix.sh: cannot get Debian's package lists (apt-get update failed):" >&2
            sed 's/^/  /' "$out/apt/update.log" >&2
            exit 1
        fi
    fi
fi

# pkgsets[i]: "package=version ..." to download for kernel i, the .deb's path,
# or "host".
pkgsets=()
for i in "${!kernels[@]}"; do
    k=${kernels[$i]}
    if [[ "$k" == /* ]] || [ "$k" = host ]; then
        pkgsets[i]=$k
        continue
    fi
    found=$(newest_in "$(series_suites "$k")" "$(series_pattern "$k")")
    if [ -z "$found" ]; then
        echo "kernel-matrix.sh: no Debian cloud kernel '$k' in $(series_suites "$k")" >&2
        exit 1
    fi
    read -r p v d <<< "$found"
    set="$p=$v"
    # sid and experimental split a kernel: linux-image-* is small and depends on
    # linux-binary-* (the vmlinuz), linux-modules-* and linux-base-* (config,
    # modules.builtin); older packages hold everything themselves.
    for dep in ${d//,/ }; do
        dep=${dep%%(*}
        dep=${dep%%|*}
        [[ "$dep" =~ ^linux-(binary|modules|base)-[0-9] ]] && set+=" $dep=$v"
    done
    pkgsets[i]=$set
done

if [ "$list" = 1 ]; then
    for i in "${!kernels[@]}"; do printf '%s %s\n' "${labels[$i]}" "${pkgsets[$i]}"; done
    exit 0
fi

# --- Downloads, all in one apt-get (it fetches in parallel); the cache is kept.
deb_of() {
    local pv=$1 f
    for f in "$out/debs/${pv%%=*}_${pv#*=}_"*.deb; do
        [ -f "$f" ] && echo "$f" && return 0
    done
    return 1
}
missing=()
for i in "${!kernels[@]}"; do
    case "${pkgsets[$i]}" in /*|host) continue ;; esac
    for pv in ${pkgsets[$i]}; do
        deb_of "$pv" >/dev/null || { missing+=("$pv"); set_state "$i" "downloading"; }
    done
done
show_progress
if [ ${#missing[@]} -gt 0 ]; then
    if ! (cd "$out/debs" && apt_private apt-get download -q "${missing[@]}") > "$out/apt/download.log" 2>&1; then
        echo "kernel-matrix.sh: cannot download ${missing[*]}:" >&2
        grep -E '^(E|W|Err):' "$out/apt/download.log" | sed 's/^/  /' >&2 || tail -n 5 "$out/apt/download.log" >&2
        exit 1
    fi
fi

# --- Unpacking: a directory per kernel with lib/modules/REL (linked from
# usr/lib/modules in the split packaging) and its vmlinuz.
# unpack I: prints "DIR RELEASE VMLINUZ", or fails saying what is missing.
unpack() {
    local set=${pkgsets[$1]} dir debs=() pv deb rel vmlinuz moddirs=()
    if [[ "$set" == /* ]]; then
        debs=("$set")
        dir=$work/$(basename "$set" .deb)
    else
        for pv in $set; do debs+=("$(deb_of "$pv")"); done
        dir=$work/${set%% *}
        dir=${dir/=/_}
    fi
    if [ ! -f "$dir/.unpacked" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        for deb in "${debs[@]}"; do
            dpkg-deb -x "$deb" "$dir" || { echo "cannot unpack $deb" >&2; return 1; }
        done
        touch "$dir/.unpacked"
    fi
    for rel in "$dir"/lib/modules/* "$dir"/usr/lib/modules/*; do
        [ -d "$rel" ] && moddirs+=("$rel")
    done
    if [ ${#moddirs[@]} -eq 0 ]; then
        echo "no kernel modules in ${debs[*]##*/} (neither lib/modules/ nor usr/lib/modules/)" >&2
        return 1
    fi
    rel=$(basename "${moddirs[0]}")
    if [ ! -e "$dir/lib/modules/$rel" ]; then
        mkdir -p "$dir/lib/modules"
        ln -s "../../usr/lib/modules/$rel" "$dir/lib/modules/$rel"
    fi
    for vmlinuz in "$dir/boot/vmlinuz-$rel" "$dir/lib/modules/$rel/vmlinuz" ""; do
        [ -f "$vmlinuz" ] && break
    done
    if [ -z "$vmlinuz" ]; then
        echo "no vmlinuz for $rel in ${debs[*]##*/} (neither boot/vmlinuz-$rel nor usr/lib/modules/$rel/vmlinuz)" >&2
        return 1
    fi
    if [ ! -d "$dir/lib/modules/$rel/kernel" ]; then
        echo "no kernel modules for $rel in ${debs[*]##*/} (lib/modules/$rel/kernel is missing)" >&2
        return 1
    fi
    # The packages leave modules.dep to depmod at install time.
    if [ ! -f "$dir/lib/modules/$rel/modules.dep" ] && ! depmod -b "$dir" "$rel"; then
        echo "depmod failed for $rel in $dir" >&2
        return 1
    fi
    echo "$dir $rel $vmlinuz"
}

# Modules the cases need beyond what cloud kernels build in (the guest has no
# modprobe, so nothing is loaded on demand): veth and bridge for topologies,
# inet_diag and tcp_diag for lab::diag's sock_diag lookups (without them a
# case waiting on a connection's state sees nothing and times out), sch_htb
# for so_priority.classifies (its classes count packets by skb->priority).
WANTED="veth bridge af_packet ipv6 inet_diag tcp_diag sch_htb"

# built_in MODULE MODDIR CONFIG: listed in modules.builtin, or (7.x lists no
# ipv6.ko there) set to y in the kernel's config (CONFIG, or MODDIR/config).
built_in() {
    local option
    case "$1" in af_packet) option=PACKET ;; *) option=${1^^} ;; esac
    grep -qE "/$1\.ko" "$2/modules.builtin" 2>/dev/null ||
        grep -qx "CONFIG_$option=y" "$3" "$2/config" 2>/dev/null
}

# build_initramfs DIR RELEASE IMG: busybox, sockspec (with its libraries when
# it is not static), the modules (dependencies first) and /init.
build_initramfs() {
    local dir=$1 rel=$2 img=$3 root moddir=$1/lib/modules/$2 order=() m path base lib
    root=$(mktemp -d)
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,run,modules}
    cp /bin/busybox "$root/bin/busybox"
    for m in sh mount insmod poweroff cat echo; do ln -s busybox "$root/bin/$m"; done
    # Debug information is no use in the guest and slows its unpacking.
    strip --strip-debug -o "$root/sockspec" "$bin" 2>/dev/null || cp "$bin" "$root/sockspec"
    for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    resolve() {
        local name=$1 path line dep
        path=$(grep -E "(^|/)$name\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1) || true
        [ -n "$path" ] || return 1
        line=$(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2)
        for dep in $line; do resolve "$(basename "$dep" | sed -E 's/\.ko(\.xz|\.zst|\.gz)?$//')" || true; done
        case " ${order[*]:-} " in *" $path "*) ;; *) order+=("$path") ;; esac
    }
    for m in $WANTED; do
        if ! resolve "$m" && ! built_in "$m" "$moddir" "$dir/boot/config-$rel"; then
            echo "kernel module $m is missing: neither in $moddir nor built in (modules.builtin, config)" >&2
            rm -rf "$root"
            return 1
        fi
    done
    : > "$root/modules/order"
    for path in "${order[@]:-}"; do
        [ -n "$path" ] || continue
        base=$(basename "$path")
        case "$base" in
            *.xz) xz -dc "$moddir/$path" > "$root/modules/${base%.xz}"; base=${base%.xz} ;;
            *.zst) zstd -qdc "$moddir/$path" > "$root/modules/${base%.zst}"; base=${base%.zst} ;;
            *.gz) gzip -dc "$moddir/$path" > "$root/modules/${base%.gz}"; base=${base%.gz} ;;
            *) cp "$moddir/$path" "$root/modules/$base" ;;
        esac
        echo "$base" >> "$root/modules/order"
    done
    # The report goes out on the second serial port (a file on the host),
    # apart from the console, whose last lines explain a failure. The console
    # is a terminal: sockspec draws its progress there, which the host reads.
    cat > "$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in \$(cat /modules/order); do insmod /modules/\$m || echo "sockspec-guest: insmod \$m failed"; done
echo "@@SOCKSPEC-RUNNING@@"
SOCKSPEC_DEADLINE_SCALE=$deadline_scale /sockspec run --jobs $case_jobs --format json --output /tmp/report.json --artifacts /tmp/artifacts$pattern_args
echo "@@SOCKSPEC-RAN \$?@@"
cat /tmp/report.json > /dev/ttyS1
poweroff -f
INIT
    chmod +x "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$img"
    rm -rf "$root"
}

# console_tail LOG: the console's last lines, indented, for error messages;
# after a panic, from a few lines before the panic's own line (its reason),
# which a long call trace would push out of the last lines.
console_tail() {
    tr '\r' '\n' < "$1" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -av '^\s*$' |
        awk '{ line[NR] = $0 } /Kernel panic/ && !p { p = NR }
             END { from = p ? p - 5 : NR - 14; if (from < 1) from = 1
                   to = p ? p + 14 : NR; if (to > NR) to = NR
                   for (i = from; i <= to; i++) print "    | " line[i] }'
}

# summary REPORT: "71 pass" or "70 pass, 1 fail".
summary() {
    grep -o '"outcome": "[a-z]*"' "$1" | cut -d'"' -f4 | sort | uniq -c |
        awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'
}

# fail I WHAT [DETAIL]: kernel I failed; the reason is printed at the end.
fail() {
    set_state "$1" "FAILED: ${2%%;*}"
    printf '%s\n' "$2" > "$work/$1.error"
    [ -z "${3:-}" ] || printf '%s\n' "$3" >> "$work/$1.error"
}

# boot_one I: boots kernel I and writes its report; runs in the background,
# its state file says how it goes and its .error file why it failed.
boot_one() {
    local i=$1 unpacked dir rel vmlinuz img log report start booted='' rc=0 took cpu
    set_state "$i" "unpacking"
    unpacked=$(unpack "$i" 2> "$work/$i.err") || { fail "$i" "$(tail -n 1 "$work/$i.err")"; return 1; }
    read -r dir rel vmlinuz <<< "$unpacked"
    img=$work/$rel.initramfs.gz
    build_initramfs "$dir" "$rel" "$img" 2> "$work/$i.err" || { fail "$i" "$(tail -n 1 "$work/$i.err")"; return 1; }
    log=$work/$rel.console.log
    report=$work/$rel.report
    : > "$report"
    : > "$log"
    echo "$rel" > "$work/$i.release"
    set_state "$i" "booting $rel"
    start=$SECONDS
    # A guest's time under TCG (measured as qemu's CPU time, 238 cases, 16
    # at a time): 4 to 7 s of CPU to boot, about 50 s for the cases. No default
    # devices (no NIC option ROM, no VGA) and qboot instead of SeaBIOS trim
    # the firmware's part; `quiet` keeps the emulated UART out of it. The CPU
    # model (max, qemu64, Nehalem), tsc=reliable and mitigations=off changed
    # nothing measurable. Two vCPUs: the cases run side by side in the guest.
    # no_timer_check: on a loaded host the emulated timer can miss the
    # kernel's early IO-APIC check, which then panics ("IO-APIC + timer
    # doesn't work!", seen with 6.12 at load 24).
    timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 -machine pc,accel=tcg -cpu max -smp 2 -m 1024 \
        -nodefaults -no-user-config -display none -bios "$bios" \
        -serial "file:$log" -serial "file:$report" -no-reboot \
        -kernel "$vmlinuz" -initrd "$img" \
        -append "console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check $append" \
        > "$work/$rel.qemu.log" 2>&1 < /dev/null &
    local qpid=$!
    echo "$qpid" > "$state_dir/$i.qemu"
    # The console says when the cases start and how many are done; qemu's
    # CPU time (user + system, in clock ticks, last seen) says what the guest
    # cost, however busy the machine was.
    local qemu='' ticks='' done_n
    while kill -0 "$qpid" 2>/dev/null; do
        if [ -z "$qemu" ]; then
            qemu=$(pgrep -P "$qpid" | head -n 1 || true)
            [ -z "$qemu" ] || echo "$qemu" > "$state_dir/$i.pid"
        fi
        if [ -n "$qemu" ] && [ -r "/proc/$qemu/stat" ]; then
            ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$qemu/stat" 2>/dev/null || echo "$ticks")
        fi
        if grep -aq '@@SOCKSPEC-RUNNING@@' "$log"; then
            [ -n "$booted" ] || booted=$((SECONDS - start))
            done_n=$(tr '\r' '\n' < "$log" | grep -aoE '[0-9]+/[0-9]+ done' | tail -n 1 || true)
            set_state "$i" "running $rel: ${done_n:-none done yet}, $((SECONDS - start)) s"
        fi
        sleep 0.5
    done
    wait "$qpid" || rc=$?
    rm -f "$state_dir/$i.qemu" "$state_dir/$i.pid"
    took=$((SECONDS - start))
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", $1 / hz }' <<< "${ticks:-0}")
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$i" "guest $rel did not finish within ${timeout_s} s (--timeout); the console's last lines:" "$(console_tail "$log")"
        return 1
    fi
    if grep -aq 'Kernel panic' "$log"; then
        fail "$i" "guest $rel panicked after ${took} s; the console from the panic on:" "$(console_tail "$log")"
        return 1
    fi
    if [ "$rc" != 0 ]; then
        fail "$i" "qemu failed for $rel (exit status $rc): $(tr '\n' ' ' < "$work/$rel.qemu.log")" "$(console_tail "$log")"
        return 1
    fi
    tr -d '\r' < "$report" > "$out/$rel.json"
    if ! grep -q '"kernel"' "$out/$rel.json"; then
        rm -f "$out/$rel.json"
        fail "$i" "guest $rel stopped after ${took} s without a report; the console's last lines:" "$(console_tail "$log")"
        return 1
    fi
    echo "${booted:-0} $took $cpu" > "$work/$i.times"
    set_state "$i" "done in $took s (booted in ${booted:-?} s, $cpu s of CPU): $(summary "$out/$rel.json")"
}

# run_host I: the running kernel's own report, natively.
run_host() {
    local i=$1 rel start
    rel=$(uname -r)
    echo "$rel" > "$work/$i.release"
    set_state "$i" "running natively"
    show_progress
    start=$SECONDS
    "$bin" run --format json --output "$out/$rel.json" "${patterns[@]}" 2> "$work/$i.err" || true
    if ! grep -q '"kernel"' "$out/$rel.json" 2>/dev/null; then
        fail "$i" "no report from the host kernel $rel: $(tail -n 3 "$work/$i.err")"
        return 1
    fi
    echo "0 $((SECONDS - start)) -" > "$work/$i.times"
    set_state "$i" "done in $((SECONDS - start)) s: $(summary "$out/$rel.json")"
}

# --- The sockspec the guests run: SOCKSPEC_BIN, or a static build.
show_progress
if [ -n "${SOCKSPEC_BIN:-}" ]; then
    bin=$SOCKSPEC_BIN
else
    need_rust
    build_log=$work/build.log
    if ! RUSTFLAGS='-C target-feature=+crt-static' in_checkout cargo build --release --target x86_64-unknown-linux-gnu \
        --message-format=json-render-diagnostics > "$build_log" 2> "$build_log.err"; then
        echo "kernel-matrix.sh: cargo build of a static sockspec failed:" >&2
        tail -n 20 "$build_log.err" >&2
        exit 1
    fi
    bin=$(grep -o '"executable":"[^"]*sockspec"' "$build_log" | tail -n 1 | cut -d'"' -f4)
    if [ -z "$bin" ] || ! ldd "$bin" 2>&1 | grep -qE "not a dynamic executable|statically linked"; then
        echo "kernel-matrix.sh: cargo built no static sockspec (${bin:-no executable in $build_log})" >&2
        exit 1
    fi
fi

# Watchdogs stretched for emulation (120 s instead of 20 for most cases): a
# slow case is measured, not killed; a hung one still ends the guest in time.
deadline_scale=6
pattern_args=
for p in "${patterns[@]}"; do pattern_args+=" '$p'"; done
bios=/usr/share/qemu/qboot.rom
[ -f "$bios" ] || bios=bios.bin

matrix_start=$SECONDS
# The host first, alone: guests would slow its cases down.
for i in "${!kernels[@]}"; do
    [ "${kernels[$i]}" = host ] && { run_host "$i" || true; }
done
for i in "${!kernels[@]}"; do
    [ "${kernels[$i]}" = host ] && continue
    rm -f "$work/$i.error" "$work/$i.release" "$work/$i.times"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        show_progress
        sleep 0.5
    done
    boot_one "$i" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
    show_progress
    sleep 0.5
done
wait || true
show_progress
elapsed=$((SECONDS - matrix_start))

failed=0
releases=()
for i in "${!kernels[@]}"; do
    if [ -f "$work/$i.error" ]; then
        failed=1
        echo "kernel-matrix.sh: ${labels[$i]}: $(cat "$work/$i.error")" >&2
    else
        releases+=("$(cat "$work/$i.release")")
    fi
done
[ ${#releases[@]} -gt 0 ] || exit 1

: > "$out/diff.txt"
changed=0
for ((i = 0; i + 1 < ${#releases[@]}; i++)); do
    a=${releases[$i]}
    b=${releases[$((i + 1))]}
    "$bin" diff "$out/$a.json" "$out/$b.json" >> "$out/diff.txt" || changed=1
    echo >> "$out/diff.txt"
done
reports=()
for r in "${releases[@]}"; do reports+=("$out/$r.json"); done
"$bin" matrix "${reports[@]}" --output "$out/matrix.html"
"$bin" matrix "${reports[@]}" --format markdown --output "$out/matrix.md"

echo
printf '%-30s %8s %8s %8s  %s\n' kernel "boot s" "all s" "CPU s" cases
for i in "${!kernels[@]}"; do
    [ -f "$work/$i.error" ] && continue
    read -r booted took cpu < "$work/$i.times"
    printf '%-30s %8s %8s %8s  %s\n' "$(cat "$work/$i.release")" "$booted" "$took" "$cpu" "$(summary "$out/$(cat "$work/$i.release").json")"
done
echo "matrix: ${#releases[@]} kernels in $elapsed s"
echo "reports: $out/*.json"
echo "differences: $out/diff.txt ($([ $changed = 1 ] && echo "some cases behave differently" || echo "no behaviour differences"))"
echo "page: $out/matrix.html (table: $out/matrix.md)"
exit "$failed"
