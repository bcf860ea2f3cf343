#!/usr/bin/env bash
# Issue 16's fault-tolerance acceptance run (docs/cluster.md, "The multi-process benchmark"):
# three `embeddings cluster silo` processes on 127.0.0.1 train node2vec on the Barabasi-Albert benchmark graph of
# node2vec-partitioned (1% of the edges held out) with P = 8; one silo that holds a live lease is killed with SIGKILL
# in the middle of the epoch; the job must complete, coordinator.log must show the lease expiring and the bucket being
# leased again, and the link-prediction AUC must be within 0.01 of the uninterrupted reference.
#
# The reference is ClusterJob.TrainInProcess on the same job files (description, pairs; the initial partitions written
# again as the submission writes them): the job uses Deterministic ordering, whose result is a function of the job
# alone (every bucket trains from fixed partition versions, in a fixed order per partition, with a seed tied to the
# bucket), so an uninterrupted cluster run and TrainInProcess are the same computation. The reference step also checks
# the cluster's vectors against it bit for bit.
#
# usage: tests/Embeddings.Benchmarks/cluster-kill.sh RESULTS_DIR [--nodes N] [--partitions P] [--lease-seconds S]
#          [--kill-at FRACTION] [--walks N] [--length N] [--dimension N] [--workers N] [--seed N] [--base-port PORT]
#          [--poll-ms MS] [--keep-storage]
# defaults: --nodes 1000000 --partitions 8 --lease-seconds 30 --kill-at 0.5 --walks 10 --length 80 --dimension 128
#           --workers 2 (the submitter's walk threads) --seed 1 --base-port 22111 --poll-ms 200
# Run from the repository root. The run is timed: take the CPU lock around it on a shared machine,
#   flock /work/.cpu.lock tests/Embeddings.Benchmarks/cluster-kill.sh /tmp/cluster-kill --nodes 20000
# RESULTS_DIR gets: edges/ (train.tsv, link-pairs.tsv), storage/ (the cluster's shared folder; removed at the end
# unless --keep-storage), silo-K.log, submit.log, *.time (/usr/bin/time: wall s, user s, sys s, peak RSS KiB),
# coordinator.log (a copy), cluster-vectors.parquet, reference-vectors.parquet, summary.txt.
set -euo pipefail

die() { echo "cluster-kill: FAILED: $*" >&2; exit 1; }

[[ $# -ge 1 && $1 != --* ]] || die "usage: $0 RESULTS_DIR [--nodes N] [--partitions P] [--lease-seconds S] [--kill-at FRACTION] [--walks N] [--length N] [--dimension N] [--workers N] [--seed N] [--base-port PORT] [--poll-ms MS] [--keep-storage]"
RESULTS=$1; shift
NODES=1000000; PARTITIONS=8; LEASE=30; KILL_AT=0.5; WALKS=10; LENGTH=80; DIMENSION=128; WORKERS=2; SEED=1; BASE_PORT=22111; POLL_MS=200; KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --nodes) NODES=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --lease-seconds) LEASE=$2; shift 2 ;;
    --kill-at) KILL_AT=$2; shift 2 ;;
    --walks) WALKS=$2; shift 2 ;;
    --length) LENGTH=$2; shift 2 ;;
    --dimension) DIMENSION=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --poll-ms) POLL_MS=$2; shift 2 ;;
    --keep-storage) KEEP=1; shift ;;
    *) die "unknown option '$1'" ;;
  esac
done
[[ -f Embeddings.sln ]] || die "run from the repository root (no Embeddings.sln here)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed for CPU seconds and peak RSS"
command -v python3 >/dev/null || die "python3 is needed to read the coordinator's JSON files"
[[ ! -e $RESULTS || -z $(ls -A "$RESULTS" 2>/dev/null) ]] || die "RESULTS_DIR '$RESULTS' is not empty; give a new or empty folder"
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
STORAGE=$RESULTS/storage
JOB=kill
mkdir -p "$STORAGE"
SUMMARY=$RESULTS/summary.txt
say() { echo "$*" | tee -a "$SUMMARY"; }
stamp() { date -u +%H:%M:%S; }

# Every process this script starts is recorded here and stopped on exit (by its process id).
CHILDREN=()
cleanup() {
  local code=$?
  for pid in "${CHILDREN[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      pkill -KILL -P "$pid" 2>/dev/null || true   # the dotnet process under /usr/bin/time
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  if [[ $code -ne 0 ]]; then echo "cluster-kill: exit code $code; logs in $RESULTS" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "cluster-kill: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
say "settings: --nodes $NODES --partitions $PARTITIONS --lease-seconds $LEASE --kill-at $KILL_AT --walks $WALKS --length $LENGTH --dimension $DIMENSION --workers $WORKERS --seed $SEED (p 0.25, q 4, window 10, 1 epoch, Deterministic ordering)"

echo "[$(stamp)] building the command line and the benchmarks (Release)"
dotnet build src/Cli/Embeddings.Cli.csproj -c Release -v q -nologo >"$RESULTS/build.log" 2>&1 || die "build of src/Cli failed (see $RESULTS/build.log)"
dotnet build tests/Embeddings.Benchmarks/Embeddings.Benchmarks.csproj -c Release -v q -nologo >>"$RESULTS/build.log" 2>&1 || die "build of the benchmarks failed (see $RESULTS/build.log)"
CLI=(dotnet "$PWD/src/Cli/bin/Release/net10.0/Embeddings.Cli.dll")
BENCH=(dotnet "$PWD/tests/Embeddings.Benchmarks/bin/Release/net10.0/Embeddings.Benchmarks.dll")
TIME_FORMAT="%e %U %S %M"

echo "[$(stamp)] writing the graph's training edges and held-out pairs"
/usr/bin/time -f "$TIME_FORMAT" -o "$RESULTS/edges.time" "${BENCH[@]}" cluster-kill edges --out "$RESULTS/edges" --nodes "$NODES" --seed "$SEED" | tee "$RESULTS/edges.log" \
  || die "cluster-kill edges failed"

# The workers write each episode's pairs as a task and the coordinator deletes them once the episode is trained, so the
# storage holds at most --pair-window (2) episodes' pairs: 8 bytes x 10.45 pairs per walk step with window 10 (measured:
# 8,358 pairs per node at 20,000 nodes, 8,360 at 100,000), in episodes of at most 4 GiB and at least 8 per epoch. Each
# silo writing pairs keeps a scratch copy of its episode in the temporary folder (up to 2 at once), and the storage holds
# the graph (about 8.3 bytes per stored edge) and a few versions of both matrices.
NEED_GB=$(python3 -c "
pairs = $NODES*$WALKS*$LENGTH*10.45*8
episode = pairs / max(8, -(-pairs // (4 * 2**30)))
print(round((2 * episode + 2 * episode + $NODES * 40 * 8.3 + 4*$NODES*$DIMENSION*4*3) / 1e9, 1))")
FREE_GB=$(df -P --block-size=1G "$STORAGE" | awk 'NR==2 {print $4}')
say "disk: the job needs about $NEED_GB GB in $STORAGE and the temporary folder; $FREE_GB GB free"
python3 -c "import sys; sys.exit(0 if $FREE_GB > $NEED_GB else 1)" || die "not enough free disk for the job's pair files ($NEED_GB GB needed, $FREE_GB GB free)"

# ---- three silos, each its own OS process, under /usr/bin/time
SILO_PID=(); SILO_PORT=()
for k in 1 2 3; do
  port=$((BASE_PORT + k - 1)); gateway=$((port + 100))
  seed_flag=(); [[ $k -gt 1 ]] && seed_flag=(--seed-silo "127.0.0.1:$BASE_PORT")
  /usr/bin/time -f "$TIME_FORMAT" -o "$RESULTS/silo-$k.time" "${CLI[@]}" cluster silo --storage "$STORAGE" --port "$port" --gateway-port "$gateway" \
    --poll-ms "$POLL_MS" "${seed_flag[@]}" >"$RESULTS/silo-$k.log" 2>&1 &
  SILO_PID[$k]=$!; SILO_PORT[$k]=$port; CHILDREN+=("$!")
  for _ in $(seq 1 120); do
    grep -q "^silo on" "$RESULTS/silo-$k.log" && break
    kill -0 "${SILO_PID[$k]}" 2>/dev/null || die "silo $k exited while starting (see $RESULTS/silo-$k.log)"
    sleep 0.5
  done
  grep -q "^silo on" "$RESULTS/silo-$k.log" || die "silo $k did not start within 60 s (see $RESULTS/silo-$k.log)"
  echo "[$(stamp)] silo $k: port $port, gateway $gateway, time pid ${SILO_PID[$k]}"
done
dotnet_pid() { pgrep -P "$1" | head -1; }

# ---- the submission: the graph and the counting pass on the submitter; pairs (as tasks) and training on the silos
echo "[$(stamp)] submitting node2vec (P = $PARTITIONS, lease timeout $LEASE s)"
SUBMIT_START=$(date +%s.%N)
/usr/bin/time -f "$TIME_FORMAT" -o "$RESULTS/submit.time" "${CLI[@]}" cluster submit node2vec --storage "$STORAGE" --gateway "127.0.0.1:$((BASE_PORT + 100))" \
  --job-id "$JOB" --input "$RESULTS/edges/train.tsv" --output "$RESULTS/cluster-vectors.parquet" --partitions "$PARTITIONS" --lease-seconds "$LEASE" \
  --dimensions "$DIMENSION" --num-walks "$WALKS" --walk-length "$LENGTH" --window-size 10 --iter 1 --p 0.25 --q 4 --workers "$WORKERS" --seed "$SEED" \
  >"$RESULTS/submit.log" 2>&1 &
SUBMIT_PID=$!; CHILDREN+=("$SUBMIT_PID")

# The job folder's size every 5 s while the job runs (the bound the pair window promises), largest kept.
( peak=0; while kill -0 "$SUBMIT_PID" 2>/dev/null; do
    # (the folder appears only once the submitter writes the job: du fails until then, which must not end the loop)
    size=$(du -sb "$STORAGE/$JOB" 2>/dev/null | awk '{print $1}') || size=0; size=${size:-0}
    if (( size > peak )); then peak=$size; echo "$peak" >"$RESULTS/storage-peak-bytes"; fi
    sleep 5
  done ) &
CHILDREN+=("$!")

# ---- wait for the middle of the epoch, then SIGKILL a silo (not the first: it keeps the membership table) that holds a
# live lease and does not host the coordinator.
CHECKPOINT=$STORAGE/$JOB/checkpoint.json
VICTIM=""
while [[ -z $VICTIM ]]; do
  kill -0 "$SUBMIT_PID" 2>/dev/null || die "the submission ended before the kill (see $RESULTS/submit.log)"
  CHOICE=$(python3 - "$CHECKPOINT" "$STORAGE/$JOB/coordinator.log" "$KILL_AT" "${SILO_PORT[2]}" "${SILO_PORT[3]}" <<'EOF' || true
import json, sys
checkpoint, log, kill_at, ports = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
try:
    state = json.load(open(checkpoint))
    events = [json.loads(l) for l in open(log) if l.strip()]
except (OSError, ValueError):
    sys.exit(0)
total = len(__import__('base64').b64decode(state['Done'])) * 8  # bits, rounded up to bytes
total = max(total, 1)
job = [e for e in events if e['kind'] == 'activated']
if not job: sys.exit(0)
import re
m = re.search(r'(\d+) buckets \(', job[0]['detail'])
total = int(m.group(1)) if m else total
t = re.search(r'new job: (\d+) tasks', job[0]['detail'])
tasks = int(t.group(1)) if t else 0
if state['DoneCount'] < kill_at * (total + tasks): sys.exit(0)
coordinator = job[-1]['worker']
for port in ports:
    if f':{port}:' in coordinator or coordinator.endswith(f':{port}'):
        continue
    for lease in state['Leases']:
        # a bucket's lease (work items after the pair tasks): the acceptance asks for a bucket retried
        if f':{port}@' in lease['WorkerId'] and lease['WorkItem'] >= tasks:
            print(port, lease['Token'], lease['WorkItem'], state['DoneCount'], total)
            sys.exit(0)
EOF
)
  if [[ -n $CHOICE ]]; then
    read -r VPORT VTOKEN VITEM VDONE VTOTAL <<<"$CHOICE"
    for k in 2 3; do [[ ${SILO_PORT[$k]} == "$VPORT" ]] && VICTIM=$k; done
    VPID=$(dotnet_pid "${SILO_PID[$VICTIM]}")
    [[ -n $VPID ]] || die "no dotnet process under silo $VICTIM's /usr/bin/time"
    VRSS=$(awk '/VmHWM/ {print $2}' "/proc/$VPID/status" 2>/dev/null || echo "?")
    kill -KILL "$VPID"
    KILL_TIME=$(date -u +%H:%M:%S.%N | cut -c1-12)
    say "kill: [$KILL_TIME UTC] SIGKILL to silo $VICTIM (port $VPORT, pid $VPID, peak RSS ${VRSS} KiB) at $VDONE of $VTOTAL buckets done; it held lease $VTOKEN of work item $VITEM"
  else
    sleep 0.5   # each look starts python3; buckets take 0.1 s (20,000 nodes) to seconds (1M)
  fi
done

echo "[$(stamp)] waiting for the job to complete"
set +e
wait "$SUBMIT_PID"; SUBMIT_CODE=$?
set -e
SUBMIT_END=$(date +%s.%N)
[[ $SUBMIT_CODE -eq 0 ]] || die "cluster submit exited with code $SUBMIT_CODE (see $RESULTS/submit.log)"
tail -1 "$RESULTS/submit.log" | sed 's/^/submit: /' | tee -a "$SUMMARY"
say "storage: the job's folder peaked at $(python3 -c "print(f'{$(cat "$RESULTS/storage-peak-bytes" 2>/dev/null || echo 0)/1e9:.2f}')") GB (sampled every 5 s)"

# Stop the surviving silos (SIGTERM: a graceful stop), the first one last.
for k in 3 2 1; do
  [[ $k == "$VICTIM" ]] && continue
  pid=$(dotnet_pid "${SILO_PID[$k]}"); [[ -n $pid ]] && kill -TERM "$pid"
  wait "${SILO_PID[$k]}" || true
done
wait "${SILO_PID[$VICTIM]}" 2>/dev/null || true
cp "$STORAGE/$JOB/coordinator.log" "$RESULTS/coordinator.log"

# ---- what the coordinator recorded about the killed lease
python3 - "$RESULTS/coordinator.log" "$VTOKEN" "$VITEM" "$VPORT" <<'EOF' | tee -a "$SUMMARY" || die "coordinator.log does not show the expiry and the retry of the killed silo's bucket"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
token, item, port = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
expired = [e for e in events if e['kind'] == 'expired' and f':{port}@' in e['worker']]
ok = True
if not expired:
    print(f"log: NO lease of the killed silo (port {port}) expired"); sys.exit(1)
for e in expired:
    print("log: " + json.dumps(e))
    retry = [r for r in events if r['kind'] == 'leased' and r['workItem'] == e['workItem'] and r['sequence'] > e['sequence']]
    done = [r for r in events if r['kind'] == 'completed' and r['workItem'] == e['workItem']]
    if not retry or not done:
        print(f"log: work item {e['workItem']} was NOT leased again and completed after its expiry"); ok = False; continue
    print("log: " + json.dumps(retry[0]))
    print("log: " + json.dumps(done[0]))
    print(f"log: the lease {e['token']} of work item {e['workItem']} (bucket ({e['input']}, {e['output']}) of episode {e['episode']}) expired {e['time'][11:23]} and was leased again as {retry[0]['token']} to {retry[0]['worker']} at {retry[0]['time'][11:23]}; completed once, by lease {done[0]['token']}")
completed = [e for e in events if e['kind'] == 'completed']
items = [e['workItem'] for e in completed]
leased = {}
for e in events:
    if e['kind'] == 'leased':
        leased[e['workItem']] = leased.get(e['workItem'], 0) + 1
retried = sum(1 for v in leased.values() if v > 1)
kinds = {}
for e in events:
    kinds[e['kind']] = kinds.get(e['kind'], 0) + 1
print(f"work items (pair tasks and buckets): {len(items)} committed ({len(set(items))} distinct), {kinds.get('expired', 0)} leases expired, {retried} leased more than once, {kinds.get('rejected', 0)} completions rejected, {kinds.get('released', 0)} released, {kinds.get('activated', 0)} coordinator activations; finished: {kinds.get('finished', 0) == 1}")
if len(items) != len(set(items)) or kinds.get('finished', 0) != 1: ok = False
sys.exit(0 if ok else 1)
EOF

# ---- the uninterrupted reference and the AUCs
echo "[$(stamp)] training the reference (ClusterJob.TrainInProcess on the same job)"
/usr/bin/time -f "$TIME_FORMAT" -o "$RESULTS/reference.time" "${BENCH[@]}" cluster-kill reference --storage "$STORAGE" --job "$JOB" \
  --out "$RESULTS/reference-vectors.parquet" --work "$RESULTS/reference-storage" | tee "$RESULTS/reference.log" || die "the reference failed"
grep -v '^RESULT' "$RESULTS/reference.log" | tee -a "$SUMMARY" >/dev/null
"${BENCH[@]}" cluster-kill auc --vectors "$RESULTS/cluster-vectors.parquet" --pairs "$RESULTS/edges/link-pairs.tsv" | tee "$RESULTS/auc-cluster.log" || die "AUC of the cluster's vectors failed"
"${BENCH[@]}" cluster-kill auc --vectors "$RESULTS/reference-vectors.parquet" --pairs "$RESULTS/edges/link-pairs.tsv" | tee "$RESULTS/auc-reference.log" || die "AUC of the reference failed"
A_CLUSTER=$(awk '$1=="RESULT" && $2=="auc" {print $3}' "$RESULTS/auc-cluster.log")
A_REFERENCE=$(awk '$1=="RESULT" && $2=="auc" {print $3}' "$RESULTS/auc-reference.log")
[[ -n $A_CLUSTER && -n $A_REFERENCE ]] || die "no AUC read"
VERDICT=$(python3 -c "d=$A_CLUSTER-$A_REFERENCE; print(f'difference {d:+.4f}: ' + ('within 0.01' if abs(d) <= 0.01 else 'MORE than 0.01'))")
say "link-prediction AUC (dot product, held-out edges against as many random non-edges): killed run $A_CLUSTER, uninterrupted reference $A_REFERENCE; $VERDICT"

# ---- time and memory of every process
say "process          wall s   CPU s  peak RSS MiB"
for name in edges silo-1 silo-2 silo-3 submit reference; do
  f=$RESULTS/$name.time
  # GNU time writes "Command terminated by signal 9" before the figures of a killed process.
  read -r wall user sys rss < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$f" | tail -1)
  label=$name; [[ $name == "silo-$VICTIM" ]] && label="$name (killed)"
  say "$(printf '%-16s %7.1f %7.1f %13.0f' "$label" "$wall" "$(python3 -c "print($user+$sys)")" "$(python3 -c "print($rss/1024)")")"
done
say "job wall (submission to vectors written): $(python3 -c "print(f'{$SUBMIT_END-$SUBMIT_START:.1f}')") s"

[[ $KEEP -eq 1 ]] || rm -rf "$STORAGE"
echo "$VERDICT" | grep -q "within 0.01" || die "the AUC difference is more than 0.01"
grep -q "bit for bit" "$RESULTS/reference.log" || die "the cluster's vectors differ from the reference (see $RESULTS/reference.log)"
say "cluster-kill: PASSED"
