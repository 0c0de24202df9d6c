#!/usr/bin/env bash
# benches/profile.sh - where the service's time goes, per phase, as instruction counts
# (valgrind's callgrind: repeatable on a busy machine, unlike wall-clock or sampled profiles).
#
#   benches/profile.sh [--orders 200] [--callbacks sdk|gateway] [other bench flags]
#
# Runs `cargo bench --bench load` with the service started under callgrind and one profile dump
# per phase (start-up + warm-up, orders, callbacks, burst), then prints the top functions of
# the order and callback phases with instructions per request. Needs valgrind; the release
# profile keeps symbols, so function names resolve. Output: target/profile/callgrind.out.*.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v valgrind >/dev/null || { echo "profile.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }

OUT="$ROOT/target/profile"
rm -rf "$OUT" && mkdir -p "$OUT"
BIN="${PROFILE_BIN:-$ROOT/target/release/pay-common}"
cargo build --release --bin pay-common --quiet
cargo bench --bench load --no-run --quiet

# The bench clears the service's environment, so the wrapper names everything absolutely.
cat >"$OUT/service.sh" <<WRAP
#!/bin/sh
exec $(command -v valgrind) --tool=callgrind --callgrind-out-file=$OUT/callgrind.out.%p \\
  --dump-instr=no --collect-jumps=no "$BIN" "\$@" 2>>$OUT/valgrind.log
WRAP
cat >"$OUT/hook.sh" <<'HOOK'
#!/bin/sh
# $1 = phase about to start, $2 = service pid: dump what the previous phase cost.
# vgdb names its pipes after $HOST, which the bench sets to 127.0.0.1 for the service.
HOST=127.0.0.1 callgrind_control --dump="before-$1" "$2" >/dev/null
HOOK
chmod +x "$OUT/service.sh" "$OUT/hook.sh"

orders=200
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--orders" ] && orders="${args[$((i + 1))]}"
done
cargo bench --bench load -- --orders "$orders" --repeat 1 --concurrency 4 --burst 0 --rounds 3 \
  --bin "$OUT/service.sh" --phase-hook "$OUT/hook.sh" "$@"

# The bench SIGKILLs the service: remove valgrind's leftover pipes.
for f in "$OUT"/callgrind.out.*; do
  pid="${f##*callgrind.out.}"; pid="${pid%%.*}"
  rm -f /tmp/vgdb-pipe-*-"$pid"-by-*
done

# Dumps are numbered in order: .1 = start-up and warm-up, .2 = orders, .3 = callbacks.
for part in 2:orders 3:callbacks; do
  n="${part%%:*}"; name="${part#*:}"
  f="$(ls "$OUT"/callgrind.out.*."$n" 2>/dev/null | head -n1)"
  [ -n "$f" ] || { echo "no dump $n in $OUT" >&2; continue; }
  total="$(grep -m1 '^summary:' "$f" | awk '{print $2}')"
  echo
  echo "== $name: $total instructions, $((total / orders)) per request ($f)"
  callgrind_annotate --inclusive=no --threshold=90 "$f" 2>/dev/null | sed -n '1,60p' | grep -E '^ *[0-9,]+ \(' | head -n 30
done
