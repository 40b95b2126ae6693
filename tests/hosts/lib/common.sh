# common.sh - messages, exit codes, packages, locking and hashing for the
# test-host harness. Sourced by tests/hosts/run-in-host (bash).

# Exit status for "the harness could not do its job" (missing package, host
# crashed, timed out): 125, like env(1) and git bisect's "cannot test".
EXIT_HARNESS=125
# Exit status when a prerequisite is missing; --prepare sets it to 77 so that
# check-hosts can tell "cannot run here" from "ran and failed".
EXIT_PREREQ=125

say() { printf 'run-in-host: %s\n' "$*" >&2; }
die() { say "error: $*"; exit "$EXIT_HARNESS"; }
die_prereq() { say "error: $*"; exit "$EXIT_PREREQ"; }
START_TIME=$EPOCHREALTIME
# verbose MSG: with --verbose, MSG with the seconds since the start.
verbose() {
    [ "${VERBOSE:-0}" = 1 ] || return 0
    local us=$(( ${EPOCHREALTIME/./} - ${START_TIME/./} ))
    say "$(printf '%d.%02d s: %s' $((us / 1000000)) $((us % 1000000 / 10000)) "$*")"
}

# Commands and files the harness needs, each with the Debian package that
# provides it. need_packages KEY... checks the keys' providers.
declare -A PKG_OF=(
    [apt-get]=apt [apt-cache]=apt [dpkg-deb]=dpkg [cpio]=cpio [gzip]=gzip
    [xz]=xz-utils [zstd]=zstd [modinfo]=kmod [flock]=util-linux [ldd]=libc-bin
    [sha256sum]=coreutils [timeout]=coreutils [setsid]=util-linux
    [/bin/busybox]=busybox-static [qemu-system-x86_64]=qemu-system-x86
    [bochs]=bochs [/usr/share/bochs/BIOS-bochs-latest]=bochsbios
    [/usr/share/vgabios/vgabios.bin]=vgabios
    [/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so]=bochs-term
    [xorriso]=xorriso [/usr/lib/ISOLINUX/isolinux.bin]=isolinux
    [/usr/lib/syslinux/modules/bios/ldlinux.c32]=syslinux-common
    [gcc]=gcc [/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
)

have() {
    case $1 in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

# need_packages KEY...: every KEY (a command or an absolute file) must be
# present. Missing ones are installed with apt-get when VMM_HOSTS_INSTALL=1,
# otherwise the exact apt-get command is printed and we stop.
need_packages() {
    local key missing=()
    for key in "$@"; do
        have "$key" || missing+=("${PKG_OF[$key]:-$key}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "${VMM_HOSTS_INSTALL:-0}" = 1 ]; then
        say "installing missing packages: ${missing[*]}"
        apt_lists_present || apt_update
        apt-get install -y "${missing[@]}" >&2 ||
            die_prereq "apt-get install -y ${missing[*]} failed"
        for key in "$@"; do
            have "$key" || die_prereq "$key still missing after installing ${missing[*]}"
        done
        return 0
    fi
    die_prereq "missing package(s): ${missing[*]}." \
        "Install them with: apt-get install -y ${missing[*]}" \
        "(or set VMM_HOSTS_INSTALL=1 to let run-in-host do it)"
}

# apt_lists_present: true if apt has package lists (a fresh container has none).
apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# apt_update: apt-get update (only called when VMM_HOSTS_INSTALL=1).
apt_update() {
    say "running apt-get update"
    apt-get update >&2 || die_prereq "apt-get update failed"
}

# with_lock CMD...: run CMD while holding the build cache lock, so parallel
# invocations never build the same cache entry twice or see half of one.
with_lock() {
    mkdir -p "$HOSTS_BUILD"
    (
        flock -w 1800 9 || die "could not lock $HOSTS_BUILD/.lock within 30 minutes"
        "$@"
    ) 9>"$HOSTS_BUILD/.lock"
}

# hash_of ARGS...: sha256 (first 16 hex digits) of strings and file contents.
# A "file:PATH" argument contributes PATH's contents, anything else itself.
hash_of() {
    local a
    for a in "$@"; do
        case $a in
        file:*) printf 'F%s\n' "${a#file:}"; sha256sum <"${a#file:}" ;;
        *) printf 'S%s\n' "$a" ;;
        esac
    done | sha256sum | cut -c1-16
}

# shell_quote STRING: STRING as one single-quoted POSIX sh word.
shell_quote() {
    local s=${1//\'/\'\\\'\'}
    printf "'%s'" "$s"
}

# abs_path PATH: absolute form of PATH without resolving symbolic links
# (the path the caller typed is the path the command sees inside the host).
abs_path() {
    case $1 in
    /*) realpath -s -m -- "$1" ;;
    *) realpath -s -m -- "$PWD/$1" ;;
    esac
}
