#!/usr/bin/env bash
# Writes the inputs behind the `ringfence bench` and `eval` figures in docs/performance.md into
# the directory given (default: bench-inputs/):
#   single.yaml + req.json              1 rule: glob + ring gate + numeric `when`
#   many100.yaml, many10000.yaml        n allow rules on distinct actions `tool.actionI`
#   req-last100.json, req-last10000.json  a request matching the last of them
#   regex100.yaml + req-sql.json        100 caseless regex deny rules, a query none matches
#   requests-1m.jsonl                   1,000,000 workspace reads for `eval -p policies/workspace.yaml`
set -euo pipefail
out="${1:-bench-inputs}"
mkdir -p "$out"

cat > "$out/single.yaml" <<'YAML'
ringfence: 1
kind: policy
name: single
rules:
  - id: read-workspace
    effect: allow
    action: fs.read
    resources: ["/workspace/**"]
    ring: 2
    when: agent.trust >= 0.7
YAML
echo '{"agent":{"id":"did:mesh:agent-1","trust":0.85},"action":"fs.read","resource":"/workspace/data/sales.csv"}' > "$out/req.json"

for n in 100 10000; do
    awk -v n="$n" 'BEGIN {
        print "ringfence: 1\nkind: policy\nname: many\nrules:"
        for (i = 0; i < n; i++) {
            printf "  - id: rule-%d\n    effect: allow\n    action: tool.action%d\n    resources: [\"/data/%d/**\"]\n    when: agent.trust >= 0.5\n", i, i, i
        }
    }' > "$out/many$n.yaml"
    printf '{"agent":{"id":"a","trust":0.9},"action":"tool.action%d","resource":"/data/%d/x.csv"}\n' $((n - 1)) $((n - 1)) > "$out/req-last$n.json"
done

awk 'BEGIN {
    print "ringfence: 1\nkind: policy\nname: regexes\nrules:"
    for (i = 0; i < 100; i++) {
        printf "  - id: deny-%d\n    effect: deny\n    action: database.query\n    when: params.query =~ \"(?i)\\\\bforbidden_table_%d\\\\b\"\n", i, i
    }
    print "  - id: allow-queries\n    effect: allow\n    action: database.query"
}' > "$out/regex100.yaml"
echo '{"agent":{"id":"a","trust":0.9},"action":"database.query","params":{"query":"SELECT region, sum(total) FROM sales WHERE year = 2026 GROUP BY region"}}' > "$out/req-sql.json"

awk 'BEGIN {
    for (i = 0; i < 1000000; i++) {
        printf "{\"agent\":{\"id\":\"agent-%d\",\"trust\":%.2f},\"action\":\"fs.read\",\"resource\":\"/workspace/data/%d.csv\"}\n", i % 10, (i * 37 % 100) / 100, i % 10
    }
}' > "$out/requests-1m.jsonl"
echo "wrote $out/"
