#!/usr/bin/env bash
# Runs the scale-up benchmarks (docs/scale.md, docs/partitioned-training.md) one after another, each command's output
# kept, and prints the lines that carry the figures.
#
# usage: tests/Embeddings.Benchmarks/scale-figures.sh RESULTS_DIR [SECTION ...]
#   SECTION (default: all, in this order):
#     skipgram      skipgram-scale: the text8-like corpus 1x and 10x (peak memory, words/s, their ratios)   ~5 min
#     node2vec      node2vec-scale: 1,000,000-node graph, edge file -> `embeddings node2vec` -> vectors,
#                   10 walks x 80, dimension 128, 1 epoch (peak memory, wall, steps/s, words/s)             ~50 min
#     partitioned   node2vec-partitioned: the same graph in memory and partitioned (P = 4, 1.5 GiB budget),
#                   killed (SIGKILL) after 100 buckets and resumed; peak RSS, link AUC, buckets once each   ~2 h
#     quality       readme-figures.sh word2vec blogcatalog: analogy accuracy and BlogCatalog F1 on the
#                   streamed (default) path                                                                ~15 min
# Needs the shared data folder beside the repository (../shared/data: the text8-like corpus, BlogCatalog) for
# skipgram and quality; node2vec and partitioned generate their graph. 2 threads everywhere; speed figures are only
# comparable between runs on an otherwise idle machine, memory and quality figures do not depend on load.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$1"
RESULTS=$(cd "$1" && pwd)
shift
SECTIONS=("$@")
[[ ${#SECTIONS[@]} -gt 0 ]] || SECTIONS=(skipgram node2vec partitioned quality)
for s in "${SECTIONS[@]}"; do
    [[ $s =~ ^(skipgram|node2vec|partitioned|quality)$ ]] || { echo "unknown section '$s'" >&2; exit 2; }
done
cd "$REPO" # the benchmarks look for ../shared relative to the working directory

echo "== build (Release)"
dotnet build tests/Embeddings.Benchmarks -c Release >"$RESULTS/build.log" 2>&1 || { tail -n 20 "$RESULTS/build.log"; exit 1; }
BENCH=(dotnet "$REPO/tests/Embeddings.Benchmarks/bin/Release/net10.0/Embeddings.Benchmarks.dll")
FAILED=()

# run NAME COMMAND...: COMMAND's output goes to NAME.log; a failure is reported and the next section still runs.
run() {
    local name=$1
    shift
    echo "== $name: $* ($(date -u +%H:%M) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
    local start=$SECONDS
    if "$@" >"$RESULTS/$name.log" 2>&1; then
        echo "   done in $((SECONDS - start)) s"
    else
        echo "   FAILED (exit $?) after $((SECONDS - start)) s"
        FAILED+=("$name")
    fi
    tail -n 12 "$RESULTS/$name.log" | sed 's/^/   | /'
}

for s in "${SECTIONS[@]}"; do
    case $s in
        skipgram) run skipgram-scale "${BENCH[@]}" skipgram-scale ;;
        node2vec) run node2vec-scale "${BENCH[@]}" node2vec-scale --work "$RESULTS/node2vec-scale" ;;
        partitioned) run node2vec-partitioned "${BENCH[@]}" node2vec-partitioned --kill-after-buckets 100 --directory "$RESULTS/partitions" ;;
        quality) run quality bash "$REPO/tests/Embeddings.Benchmarks/readme-figures.sh" "$RESULTS/quality" word2vec blogcatalog ;;
    esac
done

if [[ ${#FAILED[@]} -gt 0 ]]; then
    echo "failed: ${FAILED[*]}"
    exit 1
fi
