# initramfs.sh - the test host's initramfs, in two parts concatenated into
# one file (the kernel unpacks concatenated cpio archives in order):
#   base     busybox, /.run-in-host/init and the KVM modules; cached in
#            $HOSTS_BUILD/initrd-base-<key>.cpio.gz, key = hash of its inputs
#   payload  per run: /.run-in-host/config (architecture, modules, cwd,
#            command line) plus the command, its libraries and the files
#            named in its arguments, at their absolute paths on this machine
# Sourced by tests/hosts/run-in-host after common.sh and kernel.sh.

BUSYBOX=/bin/busybox

# base_key KERNEL_DIR: cache key of the base initramfs.
base_key() {
    local m args=()
    for m in "$1"/modules/*.ko; do args+=("file:$m"); done
    hash_of "kernel:$1" "file:$BUSYBOX" "file:$HOSTS_SRC/init.sh" \
        "file:$HOSTS_SRC/lib/initramfs.sh" "${args[@]}"
}

# base_build KERNEL_DIR OUT: build the base initramfs (call under with_lock).
base_build() {
    local kdir=$1 out=$2 stage
    [ -f "$out" ] && return 0
    verbose "building base initramfs $out"
    stage=$(mktemp -d "$HOSTS_BUILD/base-tmp.XXXXXX") || die "mktemp failed"
    # shellcheck disable=SC2064
    trap "rm -rf '$stage'" EXIT
    mkdir -p "$stage/.run-in-host/modules"
    cp "$BUSYBOX" "$stage/.run-in-host/busybox"
    install -m 755 "$HOSTS_SRC/init.sh" "$stage/.run-in-host/init"
    cp "$kdir"/modules/*.ko "$stage/.run-in-host/modules/"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$out.tmp" ||
        die "could not write $out"
    # The kernel finds an archive that follows a compressed one only at a
    # 4-byte aligned offset; it skips zero padding between archives.
    truncate -s %512 "$out.tmp" || die "could not pad $out"
    mv "$out.tmp" "$out"
    # Older base archives are never used again.
    find "$HOSTS_BUILD" -maxdepth 1 -name 'initrd-base-*.cpio.gz' ! -path "$out" -delete
}

# ---- payload: the caller's files ------------------------------------------

# Paths (absolute, without the leading /) to pack, with all parent dirs.
declare -A PACK_SEEN=()
PACK_LIST=()

# pack_entry ABS: add ABS and its parent directories to the payload list.
pack_entry() {
    local p=${1#/}
    while [ -n "$p" ] && [ "$p" != . ] && [ -z "${PACK_SEEN[$p]:-}" ]; do
        PACK_SEEN[$p]=1
        PACK_LIST+=("$p")
        case $p in */*) p=${p%/*} ;; *) p= ;; esac
    done
}

# pack_path PATH: pack a file (with its libraries if it is a dynamic ELF
# program or library) or a directory tree, at its absolute path.
pack_path() {
    local abs f
    abs=$(abs_path "$1")
    if [ -d "$abs" ] && ! packable_tree "$abs"; then
        say "warning: packing $abs as an empty directory, not its contents"
        pack_entry "$abs"
    elif [ -d "$abs" ]; then
        while IFS= read -r -d '' f; do
            pack_entry "$f"
        done < <(find -L "$abs" \( -type f -o -type d \) -print0 2>/dev/null)
    elif [ -f "$abs" ]; then
        pack_entry "$abs"
        pack_program_deps "$abs"
    else
        die "cannot pack $1: not a regular file or directory"
    fi
}

# packable_tree DIR: false for trees never copied whole into a test host.
packable_tree() {
    case $1 in
    / | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /run | /run/*) return 1 ;;
    esac
    return 0
}

# is_elf FILE: true if FILE starts with the ELF magic.
is_elf() {
    [ "$(head -c4 -- "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]
}

# pack_program_deps FILE: pack the interpreter of a #! script, and the
# shared libraries and dynamic loader of an ELF file (none if static).
pack_program_deps() {
    local file=$1 line interp lib libs
    if is_elf "$file"; then
        libs=$(elf_libraries "$file") || exit
        while IFS= read -r lib; do
            [ -n "$lib" ] && pack_entry "$(abs_path "$lib")"
        done <<<"$libs"
    elif IFS= read -r line <"$file" && [ "${line#\#!}" != "$line" ]; then
        read -r interp _ <<<"${line#\#!}"
        case $interp in
        /*) [ -f "$interp" ] && [ -z "${PACK_SEEN[${interp#/}]:-}" ] && pack_path "$interp" ;;
        esac
    fi
    return 0
}

# elf_libraries FILE: the files ldd says FILE loads (loader included).
elf_libraries() {
    local out
    out=$(ldd -- "$1" 2>&1) || {
        # "not a dynamic executable": static program, nothing to add.
        case $out in *"not a dynamic executable"*|*"statically linked"*) return 0 ;; esac
        die "ldd $1 failed: $out"
    }
    if grep -q '=> not found' <<<"$out"; then
        die "$1 needs libraries ldd cannot find:" \
            "$(grep '=> not found' <<<"$out" | awk '{print $1}' | tr '\n' ' ')"
    fi
    awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out"
}

# resolve_command CMD: absolute path of the program CMD runs (PATH search
# when CMD has no slash), or nothing if it is not a file here.
resolve_command() {
    local c=$1
    case $c in
    */*) [ -f "$c" ] && abs_path "$c" ;;
    *) c=$(type -P -- "$c") && abs_path "$c" ;;
    esac
}

# pack_arguments ARGS...: pack every argument naming an existing file or
# directory, and the PATH of every --option=PATH argument.
pack_arguments() {
    local a
    for a in "$@"; do
        if [ -e "$a" ]; then
            pack_path "$a"
        elif [[ $a == -*=* && -e ${a#*=} ]]; then
            pack_path "${a#*=}"
        fi
    done
}

# pack_extra_files: pack $VMM_HOST_FILES (space-separated; each must exist).
pack_extra_files() {
    local f
    for f in ${VMM_HOST_FILES:-}; do
        [ -e "$f" ] || die "VMM_HOST_FILES names $f, which does not exist"
        pack_path "$f"
    done
}

# write_config FILE ARCH MODULES CWD CMD ARGS...: the init's config fragment.
write_config() {
    local file=$1 arch=$2 modules=$3 cwd=$4 a name
    shift 4
    {
        echo "# run-in-host payload config (sourced by /.run-in-host/init)"
        echo "HOST_ARCH=$arch"
        echo "HOST_MODULES=$(shell_quote "$modules")"
        echo "RUN_CWD=$(shell_quote "$cwd")"
        # The caller's PATH, so a command given by name is found as here.
        echo "PATH=$(shell_quote "$PATH"):/.run-in-host/bin"
        for name in ${VMM_HOST_ENV:-}; do
            [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
                die "VMM_HOST_ENV: '$name' is not a variable name"
            [ -n "${!name+set}" ] && echo "export $name=$(shell_quote "${!name}")"
        done
        printf 'set --'
        for a in "$@"; do printf ' %s' "$(shell_quote "$a")"; done
        printf '\n'
    } >"$file"
}

# payload_build OUT ARCH MODULES CMD ARGS...: write the per-run payload
# (uncompressed cpio: the emulated CPU would spend time on gunzip).
payload_build() {
    local out=$1 arch=$2 modules=$3 cmd=$4 prog stage
    shift 3
    prog=$(resolve_command "$cmd") ||
        die "command '$cmd' not found on this machine (give a path or a program in PATH)"
    pack_path "$prog"
    pack_entry "$PWD"
    pack_arguments "${@:2}"
    pack_extra_files
    stage=${out%/*}/stage
    mkdir -p "$stage/.run-in-host"
    write_config "$stage/.run-in-host/config" "$arch" "$modules" "$PWD" "$@"
    (cd "$stage" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$out" ||
        die "could not write the payload archive"
    if [ ${#PACK_LIST[@]} -gt 0 ]; then
        (cd / && printf '%s\n' "${PACK_LIST[@]}" | LC_ALL=C sort |
            cpio -o -H newc -L -R 0:0 --quiet) >>"$out" ||
            die "could not pack the command's files"
    fi
    payload_check_size "$out"
}

# payload_check_size FILE: refuse payloads that cannot fit in the host's RAM.
payload_check_size() {
    local max=${VMM_HOST_MAX_PAYLOAD_MB:-256} bytes
    bytes=$(stat -c %s "$1")
    verbose "payload: ${#PACK_LIST[@]} entries, $((bytes >> 10)) KiB"
    [ "$bytes" -le $((max << 20)) ] ||
        die "the files to pack total $((bytes >> 20)) MiB, more than the" \
            "${max} MiB limit (test hosts have 512-1024 MiB of RAM);" \
            "set VMM_HOST_MAX_PAYLOAD_MB to raise it"
}
