#!/usr/bin/env bash
# Writes the large policy behind the `ringfence check` figures in docs/architecture.md:
#   large.yaml   N rules (default 20,000) over 2,000 actions and N distinct resource trees, each
#                with a `when` holding a regex (one of 50), a `glob()` (one of 100) and a
#                comparison; every tenth rule a deny. Patterns repeat across rules, as they do in
#                real policy sets, so each compiling stage meets most of them again.
# Usage: scripts/check-inputs.sh [dir] [rules]
set -euo pipefail
out="${1:-check-inputs}"
rules="${2:-20000}"
mkdir -p "$out"
awk -v n="$rules" 'BEGIN {
  print "ringfence: 1"
  print "kind: policy"
  print "name: large"
  print "rules:"
  for (i = 0; i < n; i++) {
    effect = (i % 10 == 0) ? "deny" : "allow"
    printf "  - id: r%d\n", i
    printf "    effect: %s\n", effect
    printf "    action: tool.a%d\n", i % 2000
    printf "    resources: [\"/data/t%d/**\"]\n", i
    printf "    when: params.query =~ \"(?i)^select .* from t%d\\\\b\" && glob(params.path, \"/srv/p%d/**\") && agent.trust >= 0.%d\n", i % 50, i % 100, i % 10
    printf "    reason: generated rule %d\n", i
  }
}' > "$out/large.yaml"
echo "wrote $out/large.yaml ($rules rules)"
