#!/usr/bin/env bash
# Reproduces the README's headline figures, one command per figure, each command's full output kept.
#
# usage: tests/Embeddings.Benchmarks/readme-figures.sh RESULTS_DIR [SECTION ...]
#   SECTION: word2vec blogcatalog recommend mf-cli mf-bench (default: all of them, in that order); `summary` alone
#   prints the summary of the logs already in RESULTS_DIR again.
#   RESULTS_DIR gets NAME.log (stdout + stderr of each command), NAME.time (/usr/bin/time -v: wall time, peak RSS),
#   the trained vector files, recommend-eval.json and summary.txt (the compact summary printed at the end).
#
# What it measures (protocols: docs/evaluation-protocols.md; 2 threads everywhere):
#   word2vec     the word2vec benchmark (ours, then gensim back to back; skip-gram and CBOW; classic text8 settings):
#                analogy accuracy (total / semantic / syntactic), wall s, words/s, peak MiB.          7-12 min
#                (needs /usr/bin/python3 with gensim: apt-get install -y python3-gensim python3-sklearn python3-scipy)
#   blogcatalog  DeepWalk (node2vec p = q = 1) and node2vec p = q = 0.25 on BlogCatalog, then node-classification
#                over the 5 splits: Macro-/Micro-F1 (mean +- spread), wall s and peak RSS of training.  ~1 min
#   recommend    recommend-eval on ml-100k, seeds 1-3: HR@10 / NDCG@10 of popularity, item2vec, node2vec,
#                implicit MF, blend and the ranker, test and validation (mean and HR@10 range).        ~2 min
#   mf-cli       embeddings mf explicit (ml-latest-small tutorial files, rank 400: test RMSE) and implicit
#                (ml-100k leave-last-out, rank 64: test HR@10 / NDCG@10).                              ~10 s
#   mf-bench     the mf benchmark: explicit RMSE for seeds 1-6 (4 settings) and the implicit ALS speed row.  ~40 s
# All of it: about 11-16 minutes on 2 cores, most of it the word2vec benchmark (gensim skip-gram alone is 3.5-5.5 min).
# Speed figures (wall s, words/s, s) are only comparable with runs made back to back on an otherwise idle machine;
# quality figures do not depend on machine load.
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
[[ ${#SECTIONS[@]} -gt 0 ]] || SECTIONS=(word2vec blogcatalog recommend mf-cli mf-bench)
for s in "${SECTIONS[@]}"; do
    [[ $s =~ ^(word2vec|blogcatalog|recommend|mf-cli|mf-bench|summary)$ ]] || { echo "unknown section '$s'" >&2; exit 2; }
done
DATA=$REPO/../shared/data
THREADS=2
FAILED=()

cd "$REPO" # the benchmarks look for ../shared relative to the working directory

want() { local s; for s in "${SECTIONS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

# have PATH...: true when every path exists; otherwise says which is missing (the section is skipped).
have() {
    local path
    for path in "$@"; do
        if [[ ! -e $path ]]; then
            echo "skipped: $path is missing (shared data is expected at $DATA)" | tee -a "$RESULTS/skipped.txt"
            return 1
        fi
    done
}

# run NAME COMMAND...: runs COMMAND with its output in NAME.log and /usr/bin/time -v's report in NAME.time.
# A failing command is reported (and makes the script exit 1 at the end) but does not stop the others.
run() {
    local name=$1
    shift
    echo "== $name: $*" | tee "$RESULTS/$name.log"
    local timer=()
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v -o "$RESULTS/$name.time")
    local start=$SECONDS
    if "${timer[@]}" "$@" >>"$RESULTS/$name.log" 2>&1; then
        echo "   done in $((SECONDS - start)) s"
    else
        local code=$?
        echo "   FAILED (exit $code) after $((SECONDS - start)) s; last lines of $RESULTS/$name.log:"
        tail -n 5 "$RESULTS/$name.log" | sed 's/^/   | /'
        FAILED+=("$name (exit $code)")
    fi
}

if [[ ${SECTIONS[*]} != summary ]]; then
# Release build, once; afterwards the built DLLs run directly (what `dotnet run -c Release --project ...` runs).
echo "== build (Release)"
dotnet build -c Release "$REPO/src/Cli/Embeddings.Cli.csproj" >"$RESULTS/build.log" 2>&1 &&
    dotnet build -c Release "$REPO/tests/Embeddings.Benchmarks/Embeddings.Benchmarks.csproj" >>"$RESULTS/build.log" 2>&1 ||
    { echo "build failed; see $RESULTS/build.log"; tail -n 20 "$RESULTS/build.log"; exit 1; }
CLI=(dotnet "$(ls "$REPO"/src/Cli/bin/Release/net*/Embeddings.Cli.dll | head -n 1)")
BENCH=(dotnet "$(ls "$REPO"/tests/Embeddings.Benchmarks/bin/Release/net*/Embeddings.Benchmarks.dll | head -n 1)")
git -C "$REPO" log -1 --format='commit %H %s' >"$RESULTS/commit.txt" 2>/dev/null || true
{ date -u '+%F %T UTC'; nproc; uptime; } >"$RESULTS/machine.txt"
fi

if want word2vec && have "$DATA/corpus/enwiki-text8like.txt.gz" "$DATA/corpus/questions-words.txt"; then
    /usr/bin/python3 -c 'import gensim' 2>/dev/null ||
        echo "note: /usr/bin/python3 has no gensim; the benchmark will skip the gensim rows"
    run word2vec "${BENCH[@]}" word2vec --threads $THREADS --work "$RESULTS/word2vec-work"
    rm -f "$RESULTS/word2vec-work/corpus-10k-lines.txt" # 100 MB, rebuilt from the .gz on every run
fi

if want blogcatalog && have "$DATA/graphs/blogcatalog/edges.tsv"; then
    BC=$DATA/graphs/blogcatalog
    for setting in "deepwalk 1" "node2vec 0.25"; do
        read -r name pq <<<"$setting"
        run "$name-train" "${CLI[@]}" node2vec --input "$BC/edges.tsv" --output "$RESULTS/$name.txt" \
            --workers $THREADS --p "$pq" --q "$pq"
        run "$name-classify" "${CLI[@]}" node-classification --vectors "$RESULTS/$name.txt" \
            --labels "$BC/labels.tsv" --splits "$BC/splits.tsv"
    done
fi

if want recommend && have "$DATA/movielens/ml-100k/u.data"; then
    run recommend-eval "${CLI[@]}" recommend-eval --input "$DATA/movielens/ml-100k/u.data" --seeds 3 \
        --threads $THREADS --json "$RESULTS/recommend-eval.json"
fi

if want mf-cli && have "$DATA/movielens/ml-latest-small-mlnet/recommendation-ratings-train.csv" "$DATA/movielens/ml-100k/u.data"; then
    ML=$DATA/movielens/ml-latest-small-mlnet
    run mf-explicit "${CLI[@]}" mf --input "$ML/recommendation-ratings-train.csv" --test "$ML/recommendation-ratings-test.csv" \
        --rank 400 --lambda 0.1 --learning-rate 0.05 --iterations 40 --threads $THREADS --output "$RESULTS/mf-movies.txt"
    run mf-implicit "${CLI[@]}" mf --input "$DATA/movielens/ml-100k/u.data" --implicit --rank 64 --iterations 15 \
        --alpha 5 --lambda 30 --recency-half-life 3 --exclude-last 1 --threads $THREADS --output "$RESULTS/mf-items.txt"
fi

if want mf-bench && have "$DATA/movielens/ml-latest-small-mlnet/recommendation-ratings-train.csv" "$DATA/movielens/ml-100k/u.data"; then
    run mf-bench-explicit "${BENCH[@]}" mf --section explicit --seeds 6
    run mf-bench-speed "${BENCH[@]}" mf --section speed
fi

# ---- summary: the figure lines of each log, wall time and peak RSS from /usr/bin/time ----
peak() { [[ -f $RESULTS/$1.time ]] && awk -F': ' '/Maximum resident/ { printf "%.0f MiB", $2 / 1024 }' "$RESULTS/$1.time"; }
wall() { [[ -f $RESULTS/$1.time ]] && awk -F': ' '/Elapsed \(wall/ { print $2 }' "$RESULTS/$1.time"; }
section() { [[ -f $RESULTS/$1.log ]] && echo && echo "-- $2 (wall $(wall "$1"), peak $(peak "$1"))"; }

{
    echo "== summary ($(cat "$RESULTS/commit.txt" 2>/dev/null)); full outputs in $RESULTS"
    if section word2vec "word2vec benchmark (ours vs gensim)"; then
        sed -n '/^tool /,$p' "$RESULTS/word2vec.log"
    fi
    for name in deepwalk node2vec; do
        if section "$name-train" "BlogCatalog $name: training"; then
            grep -E 'nodes,.*stored edges' "$RESULTS/$name-train.log" | tail -n 1 | sed 's/^.*; skip-gram/skip-gram/'
            grep -E '\(5 splits\)' "$RESULTS/$name-classify.log" || grep -i -E 'macro|micro' "$RESULTS/$name-classify.log" | tail -n 1
        fi
    done
    if section recommend-eval "recommend-eval, ml-100k, seeds 1-3"; then
        # the closing table: mean over seeds and the HR@10 range
        sed -n '/^model /,/^total/p' "$RESULTS/recommend-eval.log"
    fi
    if section mf-explicit "mf explicit, rank 400"; then
        grep -i -E 'rmse' "$RESULTS/mf-explicit.log" | tail -n 3
    fi
    if section mf-implicit "mf implicit, rank 64, --exclude-last 1"; then
        grep -i -E 'hr@10|ndcg' "$RESULTS/mf-implicit.log" | tail -n 3
    fi
    if section mf-bench-explicit "mf benchmark, explicit, seeds 1-6"; then
        grep -E '^\(?[0-9]|rank|^settings' "$RESULTS/mf-bench-explicit.log" | tail -n 6
    fi
    if section mf-bench-speed "mf benchmark, speed"; then
        grep -E '^== speed' "$RESULTS/mf-bench-speed.log"
    fi
    [[ -f $RESULTS/skipped.txt ]] && echo && cat "$RESULTS/skipped.txt"
    if [[ ${#FAILED[@]} -gt 0 ]]; then
        echo
        echo "FAILED: ${FAILED[*]}"
    fi
} | tee "$RESULTS/summary.txt"

[[ ${#FAILED[@]} -eq 0 ]]
