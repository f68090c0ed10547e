#!/bin/sh
# SPDX-License-Identifier: MIT
# check-install.sh - the installed-consumer tests of `make check`.
#
#  1. make install PREFIX=<stage>/prefix DESTDIR= ; build examples/consumer.cpp
#     as C++11 with $(pkg-config --cflags --libs ae) from that prefix, run it
#     with LD_LIBRARY_PATH; build examples/consumer_static.c as C11 with
#     $(pkg-config --static --cflags --libs ae) against libae.a only, run it;
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

PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
[ "$(pkg-config --modversion ae)" = "$version" ] || die "pkg-config --modversion ae is not $version"
cflags=$(pkg-config --cflags ae) || die "pkg-config --cflags ae failed"
libs=$(pkg-config --libs ae) || die "pkg-config --libs ae failed"
say "pkg-config ae $version: --cflags $cflags --libs $libs"

# C++11 consumer, shared library
# shellcheck disable=SC2086 # pkg-config output is a list of options
"$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror -o "$out/consumer" \
    examples/consumer.cpp $cflags $libs || die "examples/consumer.cpp does not build against the installed libae"
readelf -d "$out/consumer" | grep -q "NEEDED.*\[libae\.so\.$major\]" ||
    die "consumer does not need libae.so.$major"
LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} OPENBLAS_NUM_THREADS=1 \
    "$out/consumer" || die "consumer (C++, shared) exited $?"

# C11 consumer, static library only: -lae becomes -l:libae.a
scflags=$(pkg-config --static --cflags ae) || die "pkg-config --static --cflags ae failed"
slibs=$(pkg-config --static --libs ae | sed -e 's/^-lae /-l:libae.a /' -e 's/ -lae / -l:libae.a /g' -e 's/ -lae$/ -l:libae.a/')
case " $slibs " in *" -l:libae.a "*) ;; *) die "no -lae in pkg-config --static --libs ae: $slibs" ;; esac
say "pkg-config --static ae: --libs $slibs"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$out/consumer_static" \
    examples/consumer_static.c $scflags $slibs ||
    die "examples/consumer_static.c does not build against the installed libae.a"
if readelf -d "$out/consumer_static" | grep -q 'NEEDED.*libae'; then
    die "consumer_static needs libae.so: it should hold libae.a"
fi
OPENBLAS_NUM_THREADS=1 "$out/consumer_static" || die "consumer_static (C, static) exited $?"

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
