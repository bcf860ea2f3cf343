#!/usr/bin/env bash
# Fuzzes every parser with afl-fuzz and SharpFuzz, one target at a time, and prints executions and crashes per target.
# Not part of CI. Usage:
#   tests/Embeddings.Fuzz/run-fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#   tests/Embeddings.Fuzz/run-fuzz.sh --executions N           (about N executions per target)
#   tests/Embeddings.Fuzz/run-fuzz.sh SECONDS --executions N   (whichever comes first)
# Options after those: --targets "a b c" (default: all), --work DIR (default /tmp/embeddings-fuzz), --findings DIR
# (copies one crash input per distinct exception type and throwing method to DIR/<target>/, listed in its README.md).
# Crash inputs: $WORK/crashes/<target>/ with replay.txt, one line per input: the exception it throws, replayed on an
# uninstrumented build. The per-target afl-fuzz output (queue, hangs, fuzzer_stats) stays in $WORK/afl/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

seconds=""
executions=""
targets=""
work=/tmp/embeddings-fuzz
findings=""
while [ $# -gt 0 ]; do
  case "$1" in
    --executions) executions="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --findings) findings=$(realpath -m "$2"); shift 2 ;;
    [0-9]*) seconds="$1"; shift ;;
    *) echo "unknown argument '$1'" >&2; exit 2 ;;
  esac
done
limit=()
[ -n "$executions" ] && limit+=(-E "$executions")
[ -n "$seconds" ] && limit+=(-V "$seconds")
[ ${#limit[@]} -gt 0 ] || limit=(-V 60)

# afl-fuzz (Debian's afl++) and the SharpFuzz instrumentation tool (a dotnet tool, kept in its own folder).
if ! command -v afl-fuzz >/dev/null; then
  echo "Installing afl++..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
sharpfuzz_dir="$HOME/.dotnet/sharpfuzz-2.3.0"
if [ ! -x "$sharpfuzz_dir/sharpfuzz" ]; then
  echo "Installing SharpFuzz.CommandLine 2.3.0..."
  dotnet tool install --tool-path "$sharpfuzz_dir" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

# Two builds of the harness (tests/Embeddings.Benchmarks, command 'fuzz'): 'plain' writes the seeds and replays the
# crashes; 'instrumented' has this repository's assemblies rewritten by SharpFuzz for afl-fuzz's coverage map.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rm -rf "$work/plain" "$work/instrumented" "$work/seeds"
mkdir -p "$work"
dotnet build tests/Embeddings.Benchmarks -c Release -o "$work/plain" -v quiet -nologo
cp -r "$work/plain" "$work/instrumented"
for assembly in Embeddings.MLNetBridge Embeddings.Transforms Embeddings.Estimators Embeddings.Recommendation Embeddings.Cli; do
  "$sharpfuzz_dir/sharpfuzz" "$work/instrumented/$assembly.dll" >/dev/null
done
harness=(dotnet "$work/plain/Embeddings.Benchmarks.dll" fuzz)
"${harness[@]}" --seeds "$work/seeds"
[ -n "$targets" ] || targets=$(ls "$work/seeds")

# afl-fuzz drives SharpFuzz's persistent loop: one .NET process runs many inputs. A heap limit of 1 GiB turns a
# parser's attempt to allocate what the input announces into an OutOfMemoryException (a crash) instead of swapping
# the machine; an input slower than 5 s is a hang.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DOTNET_GCHeapHardLimit=0x40000000 DOTNET_gcServer=0
summary="$work/summary.txt"

# The first crash input of each distinct exception (type, throwing method and the message's first words without
# numbers or quoted values), named after the type and method.
save_findings() {
  local target=$1 dir="$findings/$1" file kind type frame class base name n
  mkdir -p "$dir"
  [ -f "$dir/README.md" ] || printf '# %s: crash inputs\n\nWhat each input throws (replayed with `fuzz %s --replay FILE`):\n\n' "$target" "$target" > "$dir/README.md"
  touch "$dir/.kinds"
  while IFS= read -r line; do
    file=${line%%: CRASH *}
    kind=$(printf '%s' "$line" | sed -n "s/^.*: CRASH \([^:]*\): \(.*\) | at \([^(]*\).*/\1 \3 \2/p" \
      | sed "s/'[^']*'//g; s/[0-9]\+//g" | cut -d' ' -f1-7)
    [ -n "$kind" ] && ! grep -qxF "$kind" "$dir/.kinds" || continue
    printf '%s\n' "$kind" >> "$dir/.kinds"
    read -r type frame < <(printf '%s' "$line" | sed -n 's/^.*: CRASH \([^:]*\):.* | at \([^(]*\).*/\1 \2/p') || true
    frame=${frame/..ctor/.ctor}
    class=${frame%.*}
    base="${type##*.}-${class##*.}-${frame##*.}"
    name="$base.input"; n=2
    while [ -e "$dir/$name" ]; do name="$base-$n.input"; n=$((n + 1)); done
    cp "$work/crashes/$target/$file" "$dir/$name"
    printf -- '- `%s`: %s\n' "$name" "$(printf '%s' "${line#*: CRASH }" | sed 's| in /[^ ]*/src/| in src/|')" >> "$dir/README.md"
  done < "$work/crashes/$target/replay.txt"
  rm -f "$dir/.kinds"
}
printf '%-16s %12s %10s %8s %6s  %s\n' target executions execs/s crashes hangs "distinct exceptions (replayed)" > "$summary"
for target in $targets; do
  out="$work/afl/$target"
  rm -rf "$out" "$work/crashes/$target"
  mkdir -p "$work/crashes/$target" "$work/afl"
  echo "== $target (${limit[*]})"
  afl-fuzz -i "$work/seeds/$target" -o "$out" -t 5000 -m none "${limit[@]}" -- \
    dotnet "$work/instrumented/Embeddings.Benchmarks.dll" fuzz "$target" > "$out.log" 2>&1 || true
  stats="$out/default/fuzzer_stats"
  stat() { sed -n "s/^$1 *: *//p" "$stats" 2>/dev/null | head -n 1; }
  crashes=0
  distinct="-"
  if compgen -G "$out/default/crashes/id:*" >/dev/null; then
    cp "$out"/default/crashes/id:* "$work/crashes/$target/"
    crashes=$(ls "$work/crashes/$target" | wc -l)
    (cd "$work/crashes/$target" && DOTNET_GCHeapHardLimit=0x40000000 "${harness[@]}" "$target" --replay id:* > replay.txt || true)
    # One line per distinct exception type and throwing frame.
    distinct=$(sed -n 's/^[^ ]*: CRASH \([^:]*\):.* | at \([^(]*\).*/\1 at \2/p' "$work/crashes/$target/replay.txt" | sort | uniq -c \
      | awk '{c=$1; $1=""; printf "%s%s (x%d)", (NR>1?"; ":""), substr($0,2), c}')
    [ -z "$findings" ] || save_findings "$target"
  fi
  printf '%-16s %12s %10s %8s %6s  %s\n' "$target" "$(stat execs_done)" "$(stat execs_per_sec)" "$crashes" "$(stat saved_hangs)" "$distinct" | tee -a "$summary"
done
echo
cat "$summary"
echo "crash inputs: $work/crashes/<target>/ (replay.txt: what each throws)"
