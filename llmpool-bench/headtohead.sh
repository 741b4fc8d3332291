#!/usr/bin/env bash
# llmpool against ONE peer, in alternating rounds, for the cells where a single run is too noisy to
# tell them apart (docs/benchmarks.md, "Head to head"):
#
#   llmpool-bench/headtohead.sh                       llmpool vs reactor-strict, h2 and h2c at c=64, 4 rounds
#   llmpool-bench/headtohead.sh --rival=apache --protocols=h1 --concurrency=64,256 --rounds=6
#
# Each round is one llmpool-bench/peers.sh run of the two clients (each in its own JVM, with its own
# JIT warm-up, as in the full run), in the order A B, then B A, then A B, ...: a machine that drifts
# during the rounds favours neither. Printed per cell: each client's req/s in every round, the
# median, and the median of the per-round ratios llmpool / rival (the figure to quote). Every
# round's results stay in --out (round-N/results.csv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RIVAL=reactor-strict
PROTOCOLS=h2,h2c
CONCURRENCY=64
ROUNDS=4
WARMUP=6
MEASURE=4
BUILD=yes
OUT=""

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

Options (defaults in brackets):
  --rival=NAME            the peer (a --clients name of peers.sh) [$RIVAL]
  --protocols=LIST        h1, h2, h2c [$PROTOCOLS]
  --concurrency=LIST      [$CONCURRENCY]
  --rounds=N              rounds, alternating the order [$ROUNDS]
  --warmup=S              JIT warm-up per JVM and round, seconds [$WARMUP]
  --measure=S             measured window per cell [$MEASURE]
  --no-build              use the classes already built
  --out=DIR               [llmpool-bench/target/headtohead/<date>]
EOF
}

for arg in "$@"; do
  case "$arg" in
    --rival=*) RIVAL="${arg#*=}" ;;
    --protocols=*) PROTOCOLS="${arg#*=}" ;;
    --concurrency=*) CONCURRENCY="${arg#*=}" ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --measure=*) MEASURE="${arg#*=}" ;;
    --no-build) BUILD=no ;;
    --out=*) OUT="${arg#*=}" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "headtohead.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $RIVAL == llmpool || -z $RIVAL ]]; then
  echo "headtohead.sh: --rival must name another client" >&2
  exit 2
fi
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
  echo "headtohead.sh: --rounds must be a positive number, got '$ROUNDS'" >&2
  exit 2
fi
[[ -n "$OUT" ]] || OUT="llmpool-bench/target/headtohead/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

build=()
[[ $BUILD == yes ]] || build=(--no-build)
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2 == 1)); then order="llmpool,$RIVAL"; else order="$RIVAL,llmpool"; fi
  printf '\n== round %d of %d: %s\n' "$r" "$ROUNDS" "$order"
  llmpool-bench/peers.sh --clients="$order" --protocols="$PROTOCOLS" --concurrency="$CONCURRENCY" \
    --phases=matrix --no-h2load --warmup="$WARMUP" --measure="$MEASURE" --label="head to head" \
    --out="$OUT/round-$r" "${build[@]}" >"$OUT/round-$r.log" 2>&1 \
    || { echo "round $r failed; its log: $OUT/round-$r.log" >&2; tail -5 "$OUT/round-$r.log" >&2; exit 1; }
  build=(--no-build) # built once
  grep -E "^(llmpool|$RIVAL) " "$OUT/round-$r.log" | grep -v warm-up || true
done

# Per cell: req/s per round for both, the medians, the median of the per-round ratios.
{
  printf '\n== llmpool vs %s, %d rounds (req/s; ratio = llmpool / %s in the same round)\n' \
    "$RIVAL" "$ROUNDS" "$RIVAL"
  for ((r = 1; r <= ROUNDS; r++)); do
    awk -F, -v r="$r" -v rival="$RIVAL" \
      'NR > 1 && $4 == "ok" && ($1 == "llmpool" || $1 == rival) { print $2 "," $3 "," r "," $1 "," $8 }' \
      "$OUT/round-$r/results.csv"
  done | sort -t, -k1,1 -k2,2n -k3,3n | awk -F, -v rival="$RIVAL" '
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function flush(   k, n, ln, rn, line, ml, mr, mq) {
      if (cell == "") return
      n = 0; ln = 0; rn = 0; line = ""
      for (k = 1; k <= maxr; k++) {
        if ((k in L) && (k in R) && R[k] > 0) { ra[++n] = L[k] / R[k] }
        if (k in L) lv[++ln] = L[k]
        if (k in R) rv[++rn] = R[k]
        line = line sprintf("  r%d %s/%s", k, (k in L) ? sprintf("%.0f", L[k]) : "-", (k in R) ? sprintf("%.0f", R[k]) : "-")
      }
      ml = ln ? median(lv, ln) : 0; mr = rn ? median(rv, rn) : 0; mq = n ? median(ra, n) : 0 # sorts ra
      printf "%-9s llmpool median %8.0f  %s median %8.0f  ratio median %.2fx (min %.2fx, max %.2fx)\n", cell, \
        ml, rival, mr, mq, n ? ra[1] : 0, n ? ra[n] : 0
      print "         " line
      delete L; delete R; delete lv; delete rv; delete ra; maxr = 0
    }
    {
      c = $1 " c=" $2
      if (c != cell) { flush(); cell = c }
      if ($4 == "llmpool") L[$3] = $5; else R[$3] = $5
      if ($3 > maxr) maxr = $3
    }
    END { flush() }'
} | tee "$OUT/summary.txt"
echo "rounds: $OUT/round-*/results.csv; summary: $OUT/summary.txt"
