#!/usr/bin/env bash
# Side by side: two checkouts of this project import the same 100k-row
# organization file (2% invalid) on PostgreSQL, fresh and then the same file
# again, alternating so both see the same machine. For "is this change more
# than 10% slower?" (make bench compares with the peers instead).
#
#   bench/ab.sh ROUNDS CHECKOUT_A CHECKOUT_B   # e.g. a `git worktree add` of main
#
# Uses this checkout's .venv for both; BENCH_PG (default
# postgres://postgres@127.0.0.1:5432) and a database ab_<checkout name> each,
# dropped and re-created every round. Prints the run's own duration_s (the
# import, not the start-up) and wall / user CPU / peak RSS (KB) per import.
set -euo pipefail
rounds=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
python="$root/.venv/bin/python"
pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
file=${BENCH_DIR:-/tmp/importer-bench}/ab-org100000.csv
mkdir -p "$(dirname "$file")"
[ -s "$file" ] || DEBUG=1 "$python" "$root/manage.py" generate_dataset --target organization --rows 100000 \
    --seed 1 --invalid-rate 0.02 --out "$file" -v 0
export SECRET_KEY=${SECRET_KEY:-ab-bench-only-key} DEBUG=1
unset REDIS_URL
for round in $(seq "$rounds"); do
  for checkout in "$@"; do
    name=$(basename "$checkout")
    db="ab_${name//[^a-zA-Z0-9_]/_}"
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    export DATABASE_URL="$pg/$db"
    (cd "$checkout" && "$python" manage.py migrate -v 0 >/dev/null 2>&1)
    for mode in fresh again; do
      summary=$(cd "$checkout" && /usr/bin/time -f "%e %U %M" -o /tmp/ab-time.txt \
        "$python" manage.py import_file "$file" --target organization --source bench --sync --json -v 0 2>/dev/null | tail -1)
      seconds=$(echo "$summary" | "$python" -c 'import json, sys; d = json.load(sys.stdin); print(d["duration_s"], d["status"])')
      echo "round $round  $name  $mode  duration_s/status: $seconds  wall/user/RSS: $(cat /tmp/ab-time.txt)"
    done
  done
done
