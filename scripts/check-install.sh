#!/bin/sh
# SPDX-License-Identifier: MIT
# check-install.sh - the installed-consumer tests of `make check`.
#
#  1. make install PREFIX=<stage>/prefix DESTDIR= (no ldconfig for it); run
#     the README's build lines exactly as written (the shared C and C++ lines
#     with their rpath, the static line: no libae.so in readelf/ldd) on
#     examples/consumer_static.c and consumer.cpp, and run each program with
#     no LD_LIBRARY_PATH; build both through CMake's find_package(ae 1.1
#     CONFIG) (examples/cmake: ae::ae shared, ae::ae_static) and run them;
#     run the installed bin/ae-inspect (--help, and on the golden model file)
#     and find its manual page share/man/man1/ae-inspect.1 (rendered by
#     `man -l` without warnings when man and groff or mandoc are installed);
#     make uninstall with the same settings: no file of ours may be left, and
#     a file that was there before must still be there.
#  2. make install DESTDIR=<stage>/destdir PREFIX=/usr LIBDIR=/usr/lib/<multiarch>:
#     the files land under DESTDIR, ae.pc names /usr (no DESTDIR inside) with a
#     relative libdir; bin/ae-inspect and its manual page are under DESTDIR;
#     make uninstall with the same leaves no file.
#
# Environment: MAKE (make), O (build folder, default .), CC, CXX.
# The stage is $O/stage (emptied first).
set -eu

make=${MAKE:-make}
o=${O:-.}
cc=${CC:-cc}
cxx=${CXX:-c++}
stage=$(mkdir -p "$o" && cd "$o" && pwd)/stage
prefix=$stage/prefix
destdir=$stage/destdir
out=$stage/out

say() { echo "check-install: $*"; }
die() { echo "check-install: FAIL: $*" >&2; exit 1; }
files_under() { find "$1" \( -type f -o -type l \) 2>/dev/null | LC_ALL=C sort; }

rm -rf "$stage"
mkdir -p "$prefix/lib" "$prefix/include" "$out"
# Files that are not ours: uninstall must leave them alone.
echo keep >"$prefix/lib/not-ours.txt"
echo keep >"$prefix/include/not-ours.h"

# ---- 1. install into a prefix, build and run the consumers ---------------------
"$make" --no-print-directory -s install DESTDIR= PREFIX="$prefix" >"$out/install.log" 2>&1 ||
    { cat "$out/install.log" >&2; die "make install PREFIX=$prefix failed"; }

version=$(sed -n 's/^#define AE_VERSION_STRING "\(.*\)"/\1/p' include/ae/common.h)
major=${version%%.*}
for f in lib/libae.so."$version" lib/libae.so."$major" lib/libae.so lib/libae.a \
         lib/pkgconfig/ae.pc include/ae.h include/ae/common.h include/ae/sys/layer.h \
         bin/ae-inspect share/man/man1/ae-inspect.1 share/doc/libae/LICENSE; do
    [ -e "$prefix/$f" ] || die "make install did not put down $f"
done
[ "$(readlink "$prefix/lib/libae.so")" = "libae.so.$major" ] || die "libae.so does not link to libae.so.$major"
[ "$(readlink "$prefix/lib/libae.so.$major")" = "libae.so.$version" ] || die "libae.so.$major does not link to libae.so.$version"
for h in $(cd include && find . -name '*.h' | sed 's|^\./||'); do
    cmp -s "include/$h" "$prefix/include/$h" || die "installed $h differs from include/$h"
done

# the installed tool runs, and its manual page is where man looks
[ -x "$prefix/bin/ae-inspect" ] || die "bin/ae-inspect is not executable"
rc=0
"$prefix/bin/ae-inspect" --help >"$out/inspect-help.txt" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$out/inspect-help.txt" >&2; die "the installed ae-inspect --help exited $rc"; }
grep -q '^Usage: ae-inspect ' "$out/inspect-help.txt" || die "the installed ae-inspect --help prints no usage"
OPENBLAS_NUM_THREADS=1 "$prefix/bin/ae-inspect" tests/data/golden_v1.aem >"$out/inspect.txt" 2>&1 ||
    { cat "$out/inspect.txt" >&2; die "the installed ae-inspect rejects tests/data/golden_v1.aem"; }
page=$prefix/share/man/man1/ae-inspect.1
grep -q "^\.TH AE-INSPECT 1 .*\"libae $version\"" "$page" || die "$page: the .TH line does not name libae $version"
if command -v man >/dev/null 2>&1; then
    found=$(MANPATH=$prefix/share/man man -w ae-inspect 2>/dev/null) || found=
    [ "$found" = "$page" ] || die "MANPATH=$prefix/share/man man -w ae-inspect gives '$found', not $page"
fi
if command -v man >/dev/null 2>&1 && { command -v groff || command -v mandoc; } >/dev/null 2>&1; then
    # man-db's man checks the roff with --warnings; other mans just render
    warn=
    if man --help 2>&1 | grep -q -e '--warnings'; then warn=--warnings; fi
    # shellcheck disable=SC2086
    msgs=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man $warn -l "$page" 2>&1 >"$out/ae-inspect.txt") ||
        { echo "$msgs" >&2; die "man -l $page failed"; }
    [ -z "$msgs" ] || { echo "$msgs" >&2; die "man -l $page warns (above)"; }
    grep -q 'EXIT STATUS' "$out/ae-inspect.txt" || die "man -l $page rendered no EXIT STATUS section"
    say "installed ae-inspect runs; man -l renders its manual page without warnings"
else
    say "installed ae-inspect runs; its manual page is installed (man, groff and mandoc absent: not rendered)"
fi

# make install ran no ldconfig for this prefix (not a folder the loader searches)
if grep -q '^ldconfig' "$out/install.log"; then die "make install PREFIX=$prefix ran ldconfig"; fi
for f in lib/pkgconfig/ae-static.pc lib/cmake/ae/aeConfig.cmake lib/cmake/ae/aeConfigVersion.cmake; do
    [ -e "$prefix/$f" ] || die "make install did not put down $f"
done

PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
for m in ae ae-static; do
    [ "$(pkg-config --modversion $m)" = "$version" ] || die "pkg-config --modversion $m is not $version"
done
say "pkg-config ae $version: --libs $(pkg-config --libs ae); ae-static: --libs $(pkg-config --libs ae-static)"

# The README's build lines, run exactly as written (the block after the
# marker comment), on train.c = examples/consumer_static.c and train.cpp =
# examples/consumer.cpp; each program must start with no LD_LIBRARY_PATH.
awk '/^<!-- scripts\/check-install.sh runs the lines of this block/ { m = 1; next }
     m && /^```sh$/ { on = 1; next } on && /^```$/ { exit } on { print }' README.md >"$out/readme-lines.sh"
[ "$(grep -c . "$out/readme-lines.sh")" -ge 3 ] || die "README.md: no build-line block after the check-install marker"
mkdir -p "$out/readme"
cp examples/consumer_static.c "$out/readme/train.c"
cp examples/consumer.cpp "$out/readme/train.cpp"
nlines=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    nlines=$((nlines + 1))
    rm -f "$out/readme/train"
    (cd "$out/readme" && CC="$cc" CXX="$cxx" sh -c "$line") >"$out/readme.log" 2>&1 ||
        { cat "$out/readme.log" >&2; die "the README line failed: $line"; }
    case $line in
    *static*)
        if readelf -d "$out/readme/train" | grep -q 'NEEDED.*libae'; then
            die "the README's static line gives a program that needs libae.so: $line"
        fi
        if ldd "$out/readme/train" | grep -q libae; then die "ldd finds libae.so in the static program"; fi
        kind=static ;;
    *)
        readelf -d "$out/readme/train" | grep -q "NEEDED.*\[libae\.so\.$major\]" ||
            die "the README's shared line gives a program that does not need libae.so.$major: $line"
        ldd "$out/readme/train" | grep -q "libae\.so\.$major => $prefix/lib/libae\.so\.$major" ||
            { ldd "$out/readme/train" >&2; die "the loader does not find $prefix/lib/libae.so.$major (above)"; }
        kind=shared ;;
    esac
    (cd "$out/readme" && env -u LD_LIBRARY_PATH OPENBLAS_NUM_THREADS=1 ./train) >"$out/readme-run.log" 2>&1 ||
        { cat "$out/readme-run.log" >&2; die "the program of the README line exited non-zero: $line"; }
    say "README line $nlines ($kind) builds a program that starts: $(tail -n 1 "$out/readme-run.log")"
done <"$out/readme-lines.sh"

# CMake: examples/cmake finds the package (find_package(ae 1.1 CONFIG)) and
# builds consumer.cpp against ae::ae (shared) and consumer_static.c against
# ae::ae_static, warnings as errors; both run with no LD_LIBRARY_PATH.
command -v cmake >/dev/null 2>&1 || die "cmake is missing (scripts/ensure-deps.sh test installs it)"
cmake -S examples/cmake -B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >"$out/cmake.log" 2>&1 &&
    cmake --build "$out/cmake" >>"$out/cmake.log" 2>&1 ||
    { cat "$out/cmake.log" >&2; die "examples/cmake does not build against the installed package config"; }
readelf -d "$out/cmake/consumer" | grep -q "NEEDED.*\[libae\.so\.$major\]" || die "CMake's consumer (ae::ae) does not need libae.so.$major"
if readelf -d "$out/cmake/consumer_static" | grep -q 'NEEDED.*libae'; then
    die "CMake's consumer_static (ae::ae_static) needs libae.so"
fi
for p in consumer consumer_static; do
    env -u LD_LIBRARY_PATH OPENBLAS_NUM_THREADS=1 "$out/cmake/$p" >"$out/cmake-run.log" 2>&1 ||
        { cat "$out/cmake-run.log" >&2; die "CMake's $p exited non-zero"; }
done
# a request for another major, or a newer minor, is refused
mkdir -p "$out/cmake-v"
for want in 2.0 1.99; do
    printf 'cmake_minimum_required(VERSION 3.13)\nproject(v NONE)\nfind_package(ae %s CONFIG)\nif(ae_FOUND)\n  message(FATAL_ERROR "found")\nendif()\n' \
        "$want" >"$out/cmake-v/CMakeLists.txt"
    cmake -S "$out/cmake-v" -B "$out/cmake-v/b" -DCMAKE_PREFIX_PATH="$prefix" >"$out/cmake-v.log" 2>&1 ||
        { cat "$out/cmake-v.log" >&2; die "find_package(ae $want) found libae $version"; }
    rm -rf "$out/cmake-v/b"
done
say "CMake: find_package(ae 1.1 CONFIG): ae::ae (shared) and ae::ae_static build and run; 2.0 and 1.99 refused"

# uninstall: none of our files left, the others kept
"$make" --no-print-directory -s uninstall DESTDIR= PREFIX="$prefix" >"$out/uninstall.log" 2>&1 ||
    { cat "$out/uninstall.log" >&2; die "make uninstall PREFIX=$prefix failed"; }
left=$(files_under "$prefix")
expected=$(printf '%s\n' "$prefix/include/not-ours.h" "$prefix/lib/not-ours.txt")
if [ "$left" != "$expected" ]; then
    echo "$left" >&2
    die "after make uninstall the prefix should hold only the two files that were not ours (above: what it holds)"
fi
[ ! -e "$prefix/include/ae" ] || die "make uninstall left the empty folder include/ae"
say "PREFIX=$prefix: install, C++ and static C consumers, uninstall: OK"

# ---- 2. staged install: DESTDIR + a multiarch LIBDIR ------------------------------
multi=$("$cc" -print-multiarch 2>/dev/null || true)
libdir=/usr/lib${multi:+/$multi}
"$make" --no-print-directory -s install DESTDIR="$destdir" PREFIX=/usr LIBDIR="$libdir" \
    >"$out/install2.log" 2>&1 || { cat "$out/install2.log" >&2; die "make install DESTDIR=$destdir failed"; }
pc=$destdir$libdir/pkgconfig/ae.pc
[ -f "$pc" ] || die "no $pc after make install DESTDIR=$destdir"
[ -e "$destdir$libdir/libae.so.$version" ] || die "no libae.so.$version under $destdir$libdir"
[ -e "$destdir/usr/include/ae/sys/layer.h" ] || die "no ae/sys/layer.h under $destdir/usr/include"
[ -x "$destdir/usr/bin/ae-inspect" ] || die "no bin/ae-inspect under $destdir/usr"
[ -f "$destdir/usr/share/man/man1/ae-inspect.1" ] || die "no share/man/man1/ae-inspect.1 under $destdir/usr"
if grep -q "$destdir" "$pc"; then die "ae.pc contains DESTDIR ($destdir)"; fi
grep -qx 'prefix=/usr' "$pc" || die "ae.pc: prefix is not /usr"
grep -qx "libdir=\${prefix}${libdir#/usr}" "$pc" || die "ae.pc: libdir is not \${prefix}${libdir#/usr}"
"$make" --no-print-directory -s uninstall DESTDIR="$destdir" PREFIX=/usr LIBDIR="$libdir" \
    >"$out/uninstall2.log" 2>&1 || { cat "$out/uninstall2.log" >&2; die "make uninstall DESTDIR=$destdir failed"; }
left=$(files_under "$destdir")
[ -z "$left" ] || { echo "$left" >&2; die "make uninstall DESTDIR=$destdir left files (above)"; }
say "DESTDIR=$destdir PREFIX=/usr LIBDIR=$libdir: install, ae.pc, uninstall: OK"

rm -rf "$stage"
say "OK"
