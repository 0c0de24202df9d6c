#!/usr/bin/env bash
# check-glibc.sh BINARY MAX
#
# Fails (exit 1) when BINARY needs a glibc symbol version newer than MAX,
# e.g. `scripts/check-glibc.sh dist/pay-common 2.17` for CentOS 7, which is
# what Tencent SCF / CloudBase cloud functions run on.
# Prints the highest GLIBC_ version found and, on failure, the symbols that
# need more than MAX. Exit codes: 0 ok, 1 too new, 2 usage / tool error.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY MAX_GLIBC_VERSION   (e.g. $0 target/release/pay-common 2.17)" >&2
  exit 2
fi
bin=$1
max=$2

if [ ! -f "$bin" ]; then
  echo "check-glibc: no such file: $bin" >&2
  exit 2
fi
if ! [[ $max =~ ^[0-9]+(\.[0-9]+)+$ ]]; then
  echo "check-glibc: MAX must look like 2.17, got '$max'" >&2
  exit 2
fi

# One line per versioned dynamic symbol: "<version> <symbol>".
list_versions() {
  if command -v objdump >/dev/null 2>&1; then
    # objdump -T: "... DF *UND*  0000000000000000 (GLIBC_2.14) memcpy"
    # (newer binutils print "GLIBC_2.14" without parentheses)
    objdump -T "$1" 2>/dev/null |
      sed -nE 's/.*[( ]GLIBC_([0-9][0-9.]*)\)?[[:space:]]+([^[:space:]]+)$/\1 \2/p'
  elif command -v readelf >/dev/null 2>&1; then
    # readelf --dyn-syms -W: "... UND memcpy@GLIBC_2.14 (3)"
    readelf --dyn-syms -W "$1" 2>/dev/null |
      sed -nE 's/.*[[:space:]]([^[:space:]@]+)@+GLIBC_([0-9][0-9.]*).*/\2 \1/p'
  else
    echo "check-glibc: need objdump or readelf (binutils)" >&2
    exit 2
  fi
}

if ! head -c 4 "$bin" | grep -q $'\x7fELF'; then
  echo "check-glibc: $bin is not an ELF file" >&2
  exit 2
fi

versions=$(list_versions "$bin" | sort -u)
if [ -z "$versions" ]; then
  if command -v readelf >/dev/null 2>&1 && ! readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    echo "check-glibc: $bin is statically linked; no glibc symbol versions needed (max allowed $max) - OK"
    exit 0
  fi
  echo "check-glibc: found no GLIBC_ symbol versions in $bin (not dynamically linked against glibc?) - OK"
  exit 0
fi

highest=$(printf '%s\n' "$versions" | cut -d' ' -f1 | sort -uV | tail -n1)
# "a <= b" for dotted versions: the smaller of the two sorts first.
le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

if le "$highest" "$max"; then
  echo "check-glibc: $bin needs at most GLIBC_$highest (max allowed $max) - OK"
  exit 0
fi

echo "check-glibc: $bin needs GLIBC_$highest, newer than the allowed $max - FAIL" >&2
echo "check-glibc: symbols needing more than GLIBC_$max:" >&2
printf '%s\n' "$versions" | while read -r v sym; do
  if ! le "$v" "$max"; then echo "  GLIBC_$v  $sym" >&2; fi
done
exit 1
