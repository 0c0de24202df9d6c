#!/usr/bin/env bash
# scripts/package.sh - build dist/pay-common-scf.zip for a CloudBase / Tencent
# SCF HTTP function (console upload, Integration Center code replacement, or
# `tcb fn deploy`).
#
# SCF runs functions on CentOS 7 (glibc 2.17), older than any machine we build
# on, so the binary is linked against glibc 2.17 with cargo-zigbuild (zig acts
# as the C compiler and linker for aws-lc-sys, the bundled SQLite and Rust).
# The script installs what it lacks: ziglang from PyPI, cargo-zigbuild from
# crates.io.
#
# Output:
#   dist/scf/pay-common, dist/scf/scf_bootstrap   (the unpacked function; cloudbaserc.json deploys this dir)
#   dist/pay-common-scf.zip                        (the same two files at the zip root, mode 755)
#
# Environment knobs:
#   CARGO_TARGET_DIR   default <repo>/target-zig (kept apart from target/)
#   PAY_COMMON_GLIBC   glibc version to link against and to enforce, default 2.17
#   PACKAGE_NICE       nice level for the build, default 10
#   PACKAGE_SMOKE=1    after packaging, start dist/scf/scf_bootstrap and GET /healthz on :9000
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GLIBC="${PAY_COMMON_GLIBC:-2.17}"
TRIPLE=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-zig}"
NICE="${PACKAGE_NICE:-10}"
DIST="$ROOT/dist"
STAGE="$DIST/scf"
ZIP="$DIST/pay-common-scf.zip"
# Profile `dist` (Cargo.toml): release plus thin LTO, stripped; smaller than `--release`.
BIN="$CARGO_TARGET_DIR/$TRIPLE/dist/pay-common"

t0=$(date +%s)
step() { printf '\n==> [package %3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { printf 'package: ERROR: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
step "checking tools (zig, cargo-zigbuild, rust target $TRIPLE)"

command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
command -v python3 >/dev/null || die "python3 not found (needed for ziglang and for writing the zip)"

# cargo-zigbuild finds zig on PATH or, failing that, the ziglang Python package.
if command -v zig >/dev/null 2>&1; then
  ZIG_VERSION="$(zig version)"
elif ZIG_VERSION="$(python3 -m ziglang version 2>/dev/null)"; then
  :
else
  echo "zig not found; installing ziglang from PyPI"
  python3 -m pip install --quiet ziglang \
    || python3 -m pip install --quiet --user ziglang \
    || die "could not pip install ziglang"
  ZIG_VERSION="$(python3 -m ziglang version)" || die "ziglang installed but 'python3 -m ziglang version' fails"
fi
echo "zig $ZIG_VERSION"

if ! cargo-zigbuild --version >/dev/null 2>&1; then
  echo "cargo-zigbuild not found; installing from crates.io (cargo install --locked)"
  ti=$(date +%s)
  cargo install cargo-zigbuild --locked --quiet || die "cargo install cargo-zigbuild failed"
  echo "installed cargo-zigbuild in $(( $(date +%s) - ti ))s"
fi
ZIGBUILD_VERSION="$(cargo-zigbuild --version | head -n1)" || die "cargo-zigbuild is not runnable (is ~/.cargo/bin on PATH?)"
echo "$ZIGBUILD_VERSION"

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$TRIPLE"; then
    rustup target add "$TRIPLE"
  fi
fi

# --- build -------------------------------------------------------------------
step "building pay-common (profile dist) for $TRIPLE, glibc $GLIBC (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
tb=$(date +%s)
nice -n "$NICE" cargo zigbuild --profile dist --locked --bin pay-common --target "$TRIPLE.$GLIBC"
BUILD_SECS=$(( $(date +%s) - tb ))
[ -x "$BIN" ] || die "build finished but $BIN is missing"
echo "build took ${BUILD_SECS}s"

# --- glibc check -------------------------------------------------------------
step "checking glibc symbol versions (must be <= $GLIBC)"
glibc_report="$("$ROOT/scripts/check-glibc.sh" "$BIN" "$GLIBC" 2>&1)" || {
  printf '%s\n' "$glibc_report" >&2
  die "the binary needs a newer glibc than $GLIBC; it would not start on SCF (CentOS 7)"
}
printf '%s\n' "$glibc_report"
MAX_GLIBC="$(printf '%s\n' "$glibc_report" | sed -nE 's/.*GLIBC_([0-9][0-9.]*).*/\1/p' | head -n1)"
MAX_GLIBC="${MAX_GLIBC:-none}"

# --- stage + zip ---------------------------------------------------------------
step "staging $STAGE and writing $ZIP"
grep -q $'\r' scf_bootstrap && die "scf_bootstrap has CRLF line endings; SCF needs LF"
head -n1 scf_bootstrap | grep -qx '#!/bin/bash' || die "scf_bootstrap must start with #!/bin/bash"
rm -rf "$STAGE" "$ZIP"
mkdir -p "$STAGE"
install -m 755 "$BIN" "$STAGE/pay-common"
install -m 755 scf_bootstrap "$STAGE/scf_bootstrap"

# Python's zipfile instead of zip(1): always present, and it lets us set the
# Unix mode explicitly (SCF keeps it; a missing x bit on scf_bootstrap is the
# classic "container exited" deploy failure).
python3 - "$STAGE" "$ZIP" <<'PY'
import os, sys, time, zipfile
stage, out = sys.argv[1], sys.argv[2]
# Reproducible entries: fixed timestamp (SOURCE_DATE_EPOCH if set).
epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01
stamp = time.gmtime(max(epoch, 315532800))[:6]
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in ("pay-common", "scf_bootstrap"):
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.create_system = 3                      # Unix, so external_attr is honoured
        info.external_attr = (0o100755 & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(stage, name), "rb") as f:
            z.writestr(info, f.read())
# Verify what we wrote.
with zipfile.ZipFile(out) as z:
    names = sorted(i.filename for i in z.infolist())
    assert names == ["pay-common", "scf_bootstrap"], names
    for i in z.infolist():
        mode = (i.external_attr >> 16) & 0o777
        assert mode == 0o755, (i.filename, oct(mode))
        print(f"  {i.filename:14} mode {oct(mode)[2:]}  {i.file_size:>10} bytes  -> {i.compress_size:>9} compressed")
PY

# --- optional smoke test -------------------------------------------------------
if [ "${PACKAGE_SMOKE:-0}" = "1" ]; then
  step "smoke test: dist/scf/scf_bootstrap, GET http://127.0.0.1:9000/healthz"
  log="$DIST/smoke.log"
  (cd "$STAGE" && DATABASE_URL="" exec ./scf_bootstrap) >"$log" 2>&1 &
  pid=$!
  ok=0
  for _ in $(seq 1 50); do
    if python3 -c 'import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:9000/healthz", timeout=1).status == 200 else 1)' 2>/dev/null; then
      ok=1; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$ok" = 1 ]; then
    echo "healthz answered 200"
  else
    cat "$log" >&2
    die "smoke test failed: /healthz did not answer 200 on :9000 (log above, $log)"
  fi
fi

# --- summary -------------------------------------------------------------------
bin_size=$(stat -c %s "$STAGE/pay-common")
zip_size=$(stat -c %s "$ZIP")
step "done"
printf 'binary   %s  %s bytes (%s MiB)\n' "$STAGE/pay-common" "$bin_size" "$(awk "BEGIN{printf \"%.1f\", $bin_size/1048576}")"
printf 'zip      %s  %s bytes (%s MiB)\n' "$ZIP" "$zip_size" "$(awk "BEGIN{printf \"%.1f\", $zip_size/1048576}")"
printf 'glibc    highest symbol version GLIBC_%s (limit %s)\n' "$MAX_GLIBC" "$GLIBC"
printf 'toolchain %s; zig %s; %s\n' "$(rustc --version)" "$ZIG_VERSION" "$ZIGBUILD_VERSION"
printf 'time     build %ss, total %ss\n' "$BUILD_SECS" "$(( $(date +%s) - t0 ))"
echo "PACKAGE OK: upload $ZIP, or run: tcb fn deploy pay-common --httpFn --force"
