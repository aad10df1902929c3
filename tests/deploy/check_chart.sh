#!/usr/bin/env bash
# Checks the deployment material (charts/switchboard, deploy/) as far as a machine without a
# cluster, helm or kubectl can:
#   1. the alert rules pass `promtool check rules`, every alert has a severity and a
#      summary/description, and promtool unit tests (below) show the main alerts firing;
#   2. the Grafana dashboard is valid JSON, and every panel query is valid PromQL;
#   3. the chart's YAML files without template syntax parse (python3 yaml, if installed), the
#      values schema is valid JSON and values.yaml satisfies it (python3 jsonschema, if
#      installed), and the templates are balanced and include only defined helpers;
#   4. values.yaml lists exactly the six targets and the eight Kafka topics;
#   5. the chart's files/alerts.yaml (read by templates/prometheusrule.yaml) is identical to
#      deploy/prometheus/alerts.yaml.
# If helm happens to be on PATH, it also lints and renders the chart.
#
#   tests/deploy/check_chart.sh [REPO_ROOT]
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
root=$(cd "$root" && pwd)
chart="$root/charts/switchboard"
rules="$root/deploy/prometheus/alerts.yaml"
dashboard="$root/deploy/grafana/switchboard-overview.json"

targets=(eligibility calls routing billing notifications webhooks)
topics=(whatsapp.events.v1 calls.state.v1 routing.offers.v1 billing.usage.v1
  conversations.timeline.v1 whatsapp.outbound.v1 routing.availability.v1 eligibility.state.v1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 skipped=0
SKIP=77

# run NAME FUNCTION: runs the check in a subshell with errexit on; 0 passes, 77 skips.
run() {
  local name=$1 rc
  shift
  set +e
  (set -euo pipefail; "$@")
  rc=$?
  set -e
  case $rc in
    0) echo "ok:   $name"; passed=$((passed + 1)) ;;
    "$SKIP") echo "skip: $name"; skipped=$((skipped + 1)) ;;
    *) echo "FAIL: $name"; failed=$((failed + 1)) ;;
  esac
}

have_pyyaml() { python3 -c 'import yaml' 2>/dev/null; }

# --- 1. alert rules ---------------------------------------------------------------------------

check_rules_syntax() {
  command -v promtool >/dev/null || { echo "  promtool not found (Debian package: prometheus)"; return 1; }
  promtool check rules "$rules"
}

check_rules_annotated() {
  local alerts severities summaries descriptions
  alerts=$(grep -c '^ *- alert: ' "$rules")
  severities=$(grep -cE '^ *severity: (critical|warning|info)$' "$rules")
  summaries=$(grep -c '^ *summary: ' "$rules")
  descriptions=$(grep -c '^ *description: ' "$rules")
  echo "  $alerts alerts, $severities severities, $summaries summaries, $descriptions descriptions"
  [ "$alerts" -gt 0 ] && [ "$severities" -eq "$alerts" ] &&
    [ "$summaries" -eq "$alerts" ] && [ "$descriptions" -eq "$alerts" ]
}

# Every alert links its runbook, and the page exists.
check_rules_runbooks() {
  local alerts urls missing=0 f
  alerts=$(grep -c '^ *- alert: ' "$rules")
  urls=$(grep -c '^ *runbook_url: docs/runbooks/[a-z0-9-]*\.md$' "$rules")
  for f in $(grep -o 'runbook_url: docs/runbooks/[a-z0-9-]*\.md' "$rules" | cut -d' ' -f2); do
    [ -s "$root/$f" ] || { echo "  $f is missing"; missing=1; }
  done
  echo "  $alerts alerts, $urls runbook links"
  [ "$alerts" -gt 0 ] && [ "$urls" -eq "$alerts" ] && [ "$missing" -eq 0 ]
}

# promtool compares annotations too; the tests check expressions, labels and timing, so they
# run against a copy without annotations (whose templates `promtool check rules` validated).
check_rules_fire() {
  awk '
    skip && match($0, /^ */) && RLENGTH > indent && $0 !~ /^ *$/ { next }
    { skip = 0 }
    /^ *annotations: *$/ { skip = 1; match($0, /^ */); indent = RLENGTH; next }
    { print }' "$rules" >"$work/rules.yaml"
  cat >"$work/rules_test.yaml" <<'EOF'
rule_files:
  - rules.yaml
evaluation_interval: 1m
tests:
  - name: a dependency down for 2m pages; other pods and dependencies do not
    interval: 1m
    input_series:
      - series: 'switchboard_dependency_up{namespace="sb",target="calls",dependency="postgres",pod="a"}'
        values: '1 0x10'
      - series: 'switchboard_dependency_up{namespace="sb",target="calls",dependency="postgres",pod="b"}'
        values: '1x11'
      - series: 'switchboard_dependency_up{namespace="sb",target="calls",dependency="kafka",pod="a"}'
        values: '1x11'
    alert_rule_test:
      - eval_time: 2m
        alertname: SwitchboardDependencyDown
        exp_alerts: []
      - eval_time: 4m
        alertname: SwitchboardDependencyDown
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, target: calls, dependency: postgres}

  - name: target down and not ready
    interval: 1m
    input_series:
      - series: 'up{namespace="sb",switchboard_target="routing",pod="r1",instance="10.0.0.1:9464",job="sb-switchboard-routing"}'
        values: '0x15'
      - series: 'up{namespace="sb",switchboard_target="calls",pod="c1",instance="10.0.0.2:9464",job="sb-switchboard-calls"}'
        values: '1x15'
      - series: 'kube_deployment_spec_replicas{namespace="sb",deployment="sb-switchboard-routing"}'
        values: '2x15'
      - series: 'kube_deployment_status_replicas_available{namespace="sb",deployment="sb-switchboard-routing"}'
        values: '0x15'
      - series: 'kube_deployment_spec_replicas{namespace="sb",deployment="unrelated"}'
        values: '2x15'
      - series: 'kube_deployment_status_replicas_available{namespace="sb",deployment="unrelated"}'
        values: '0x15'
    alert_rule_test:
      - eval_time: 6m
        alertname: SwitchboardTargetDown
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, switchboard_target: routing}
      - eval_time: 6m
        alertname: SwitchboardTargetNotReady
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, deployment: sb-switchboard-routing}

  - name: gRPC errors above 5% for 10m page; health checks and drained streams do not count
    interval: 1m
    input_series:
      - series: 'switchboard_grpc_server_handled_total{namespace="sb",switchboard_target="calls",grpc_service="switchboard.calls.v1.CallsService",grpc_method="StartCall",grpc_code="OK"}'
        values: '0+60x20'
      - series: 'switchboard_grpc_server_handled_total{namespace="sb",switchboard_target="calls",grpc_service="switchboard.calls.v1.CallsService",grpc_method="StartCall",grpc_code="Unavailable"}'
        values: '0+6x20'
      - series: 'switchboard_grpc_server_handled_total{namespace="sb",switchboard_target="notifications",grpc_service="switchboard.notifications.v1.NotificationsService",grpc_method="Subscribe",grpc_code="Unavailable"}'
        values: '0+60x20'
      - series: 'switchboard_grpc_server_handled_total{namespace="sb",switchboard_target="notifications",grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="Unknown"}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: SwitchboardGrpcErrorRatioHigh
        exp_alerts: []
      - eval_time: 15m
        alertname: SwitchboardGrpcErrorRatioHigh
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, switchboard_target: calls, grpc_service: switchboard.calls.v1.CallsService}

  - name: p99 latency above 1s for 10m warns
    interval: 1m
    input_series:
      - series: 'switchboard_grpc_server_handling_seconds_bucket{namespace="sb",switchboard_target="eligibility",grpc_service="switchboard.eligibility.v1.EligibilityService",grpc_method="CheckEligibility",le="0.1"}'
        values: '0+30x20'
      - series: 'switchboard_grpc_server_handling_seconds_bucket{namespace="sb",switchboard_target="eligibility",grpc_service="switchboard.eligibility.v1.EligibilityService",grpc_method="CheckEligibility",le="1"}'
        values: '0+30x20'
      - series: 'switchboard_grpc_server_handling_seconds_bucket{namespace="sb",switchboard_target="eligibility",grpc_service="switchboard.eligibility.v1.EligibilityService",grpc_method="CheckEligibility",le="5"}'
        values: '0+60x20'
      - series: 'switchboard_grpc_server_handling_seconds_bucket{namespace="sb",switchboard_target="eligibility",grpc_service="switchboard.eligibility.v1.EligibilityService",grpc_method="CheckEligibility",le="+Inf"}'
        values: '0+60x20'
      - series: 'switchboard_grpc_server_handling_seconds_count{namespace="sb",switchboard_target="eligibility",grpc_service="switchboard.eligibility.v1.EligibilityService",grpc_method="CheckEligibility"}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: SwitchboardGrpcLatencyHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, switchboard_target: eligibility, grpc_service: switchboard.eligibility.v1.EligibilityService, grpc_method: CheckEligibility}

  - name: consumer lag high and growing; a stale copy of a partition is not counted twice
    interval: 1m
    input_series:
      - series: 'switchboard_kafka_consumer_lag_messages{namespace="sb",switchboard_target="billing",pod="b1",group="billing",topic="calls.state.v1",partition="0"}'
        values: '0+100x40'
      - series: 'switchboard_kafka_consumer_lag_messages{namespace="sb",switchboard_target="billing",pod="b2",group="billing",topic="calls.state.v1",partition="0"}'
        values: '0+100x40'
    alert_rule_test:
      - eval_time: 12m
        alertname: SwitchboardKafkaConsumerLagHigh
        exp_alerts: []
      - eval_time: 35m
        alertname: SwitchboardKafkaConsumerLagHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, group: billing, topic: calls.state.v1}
      - eval_time: 35m
        alertname: SwitchboardKafkaConsumerLagGrowing
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, group: billing, topic: calls.state.v1}

  - name: the first poison message (a new counter series) alerts, then clears
    interval: 1m
    input_series:
      - series: 'switchboard_kafka_consumer_messages_total{namespace="sb",switchboard_target="calls",pod="c1",group="calls",topic="whatsapp.events.v1",outcome="poison"}'
        values: '_x20 1x20'
      - series: 'switchboard_kafka_consumer_messages_total{namespace="sb",switchboard_target="calls",pod="c1",group="calls",topic="whatsapp.events.v1",outcome="ok"}'
        values: '0+10x40'
    alert_rule_test:
      - eval_time: 10m
        alertname: SwitchboardKafkaPoisonMessages
        exp_alerts: []
      - eval_time: 25m
        alertname: SwitchboardKafkaPoisonMessages
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, switchboard_target: calls, group: calls, topic: whatsapp.events.v1}
      - eval_time: 39m
        alertname: SwitchboardKafkaPoisonMessages
        exp_alerts: []

  - name: producer delivery failures warn
    interval: 1m
    input_series:
      - series: 'switchboard_kafka_producer_messages_total{namespace="sb",switchboard_target="webhooks",pod="w1",topic="whatsapp.events.v1",outcome="failed"}'
        values: '0+5x20'
      - series: 'switchboard_kafka_producer_messages_total{namespace="sb",switchboard_target="webhooks",pod="w1",topic="whatsapp.events.v1",outcome="delivered"}'
        values: '0+50x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: SwitchboardKafkaProducerDeliveryFailures
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, switchboard_target: webhooks, topic: whatsapp.events.v1}

  - name: outbox backlog warns after 60s and pages after 10 minutes
    interval: 1m
    input_series:
      - series: 'switchboard_outbox_oldest_unsent_age_seconds{namespace="sb",switchboard_target="calls",pod="c1",schema="calls"}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: SwitchboardOutboxBacklog
        exp_alerts:
          - exp_labels: {severity: warning, namespace: sb, switchboard_target: calls, schema: calls}
      - eval_time: 5m
        alertname: SwitchboardOutboxStalled
        exp_alerts: []
      - eval_time: 18m
        alertname: SwitchboardOutboxStalled
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, switchboard_target: calls, schema: calls}

  - name: Graph API failures page; business refusals do not
    interval: 1m
    input_series:
      - series: 'switchboard_calls_graph_requests_total{namespace="sb",switchboard_target="calls",pod="c1",action="connect",outcome="ok"}'
        values: '0+10x30'
      - series: 'switchboard_calls_graph_requests_total{namespace="sb",switchboard_target="calls",pod="c1",action="connect",outcome="META_138006"}'
        values: '0+10x30'
      - series: 'switchboard_calls_graph_requests_total{namespace="sb",switchboard_target="calls",pod="c1",action="accept",outcome="HTTP_CONNECT_FAILED"}'
        values: '0+0x10 0+10x20'
    alert_rule_test:
      - eval_time: 9m
        alertname: SwitchboardGraphApiUnreachable
        exp_alerts: []
      - eval_time: 25m
        alertname: SwitchboardGraphApiUnreachable
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, switchboard_target: calls}

  - name: a rejected access token pages
    interval: 1m
    input_series:
      - series: 'switchboard_calls_graph_requests_total{namespace="sb",switchboard_target="calls",pod="c1",action="connect",outcome="META_190"}'
        values: '0 0 0 1 2 3 4 5 6 7'
    alert_rule_test:
      - eval_time: 2m
        alertname: SwitchboardGraphApiTokenRejected
        exp_alerts: []
      - eval_time: 6m
        alertname: SwitchboardGraphApiTokenRejected
        exp_alerts:
          - exp_labels: {severity: critical, namespace: sb, switchboard_target: calls}
EOF
  (cd "$work" && promtool test rules rules_test.yaml)
}

# --- 2. dashboard -----------------------------------------------------------------------------

check_dashboard_json() {
  python3 -m json.tool "$dashboard" >/dev/null
  python3 - "$dashboard" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("uid") and d.get("title"), "uid and title are required"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids must be unique"
names = {v["name"] for v in d["templating"]["list"]}
assert {"datasource", "namespace", "target"} <= names, names
print(f"  {d['title']!r}: {len(d['panels'])} panels")
EOF
}

# Every panel query, with the dashboard variables filled in, must be valid PromQL: promtool
# checks them as recording rules.
check_dashboard_promql() {
  python3 - "$dashboard" "$work/dashboard_rules.yaml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
subst = {"$__rate_interval": "5m", "$namespace": ".*", "$target": ".*"}
lines = ["groups:", "  - name: dashboard", "    rules:"]
n = 0
for panel in d["panels"]:
    for t in panel.get("targets", []):
        expr = t["expr"]
        for k, v in subst.items():
            expr = expr.replace(k, v)
        assert "$" not in expr, f"unknown variable in {expr}"
        n += 1
        lines.append(f"      - record: dashboard:panel{panel['id']}:{t['refId']}")
        lines.append(f"        expr: {json.dumps(expr)}")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print(f"  {n} queries")
EOF
  promtool check rules "$work/dashboard_rules.yaml"
}

# --- 3. chart files ---------------------------------------------------------------------------

check_chart_metadata() {
  grep -qx 'apiVersion: v2' "$chart/Chart.yaml"
  grep -qx 'name: switchboard' "$chart/Chart.yaml"
  grep -qx 'version: 0.1.0' "$chart/Chart.yaml"
  grep -qx 'appVersion: "0.1.0"' "$chart/Chart.yaml"
}

check_chart_yaml_parses() {
  have_pyyaml || { echo "  python3 yaml module not installed: not parsing YAML"; return "$SKIP"; }
  local f n=0
  while IFS= read -r -d '' f; do
    if grep -q '{{' "$f"; then
      continue
    fi
    python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" ||
      { echo "  does not parse: ${f#"$root"/}"; return 1; }
    echo "  parses: ${f#"$root"/}"
    n=$((n + 1))
  done < <(find "$chart" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
  [ "$n" -gt 0 ]
}

check_values_schema() {
  python3 -m json.tool "$chart/values.schema.json" >/dev/null
  if ! have_pyyaml || ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "  python3 yaml/jsonschema not installed: schema parsed, values not validated"
    return "$SKIP"
  fi
  python3 - "$chart/values.schema.json" "$chart/values.yaml" <<'EOF'
import copy, json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
values = yaml.safe_load(open(sys.argv[2]))

def errors(v):
    return [("/".join(map(str, e.absolute_path)) or "(root)") + ": " + e.message
            for e in validator.iter_errors(v)]

failed = errors(values)
if failed:
    sys.exit("  values.yaml does not satisfy values.schema.json:\n" + "\n".join("    " + e for e in failed))
print("  accepted: values.yaml")

# Every key of values.yaml is described: a "properties" entry with a description and a type.
def resolve(node):
    # Follows a "$ref" to #/definitions/..., or the one in an "allOf".
    for ref in [node.get("$ref")] + [n.get("$ref") for n in node.get("allOf", [])]:
        if ref:
            node = {**schema["definitions"][ref.split("/")[-1]], **node}
    return node

def undescribed(value, node, path):
    if not isinstance(value, dict):
        return []
    missing = []
    for k, v in value.items():
        entry = node.get("properties", {}).get(k)
        if entry is not None:
            if "description" not in entry or not {"type", "enum"} & set(resolve(entry)):
                missing.append(path + k)
            missing += undescribed(v, resolve(entry), path + k + ".")
        elif isinstance(node.get("additionalProperties"), dict):
            missing += undescribed(v, resolve(node["additionalProperties"]), path + k + ".")
        elif "properties" in node:
            missing.append(path + k)
    return missing

missing = undescribed(values, schema, "")
if missing:
    sys.exit("  keys of values.yaml without a type and description in the schema: " + ", ".join(missing))
print("  every key of values.yaml has a type and a description in the schema")

# Typos and unknown keys must fail `helm install`/`helm template`, not be silently ignored.
def reject(what, change):
    bad = copy.deepcopy(values)
    change(bad)
    failed = errors(bad)
    if not failed:
        sys.exit(f"  schema accepted {what}")
    print(f"  rejected: {what} ({failed[0]})")

reject("an unknown target targets.gateway", lambda v: v["targets"].update(gateway={"enabled": True, "replicas": 1}))
reject("targets.calls.replica: 2", lambda v: v["targets"]["calls"].update(replica=2))
reject("kafka.broker: x", lambda v: v["kafka"].update(broker="x"))
reject("a top-level imagee: {}", lambda v: v.update(imagee={}))
EOF
}

# Without helm, check what can be checked statically: balanced delimiters and blocks, and that
# every included helper is defined.
check_templates_static() {
  python3 - "$chart/templates" <<'EOF'
import pathlib, re, sys
d = pathlib.Path(sys.argv[1])
files = sorted(p for p in d.iterdir() if p.is_file())
defined, used, bad = set(), set(), []
opener = re.compile(r"\{\{-?\s*(if|range|with|define|block)\b")
closer = re.compile(r"\{\{-?\s*end\s*-?\}\}")
for p in files:
    text = re.sub(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", "", p.read_text(), flags=re.S)
    if text.count("{{") != text.count("}}"):
        bad.append(f"{p.name}: unbalanced {{{{ }}}}")
    if len(opener.findall(text)) != len(closer.findall(text)):
        bad.append(f"{p.name}: {len(opener.findall(text))} blocks opened, {len(closer.findall(text))} ended")
    defined |= set(re.findall(r'\{\{-?\s*define\s+"([^"]+)"', text))
    used |= set(re.findall(r'include\s+"([^"]+)"', text))
missing = used - defined
if missing:
    bad.append(f"included but not defined: {sorted(missing)}")
if bad:
    sys.exit("\n".join("  " + b for b in bad))
print(f"  {len(files)} templates, {len(defined)} helpers, all includes defined")
EOF
  # Every target has its dependency list in the helpers.
  local t
  for t in "${targets[@]}"; do
    grep -q "set \$deps \"$t\"" "$chart/templates/_helpers.tpl" ||
      { echo "  no dependency entry for $t in _helpers.tpl"; return 1; }
  done
}

# --- 4. targets and topics --------------------------------------------------------------------

# Keys of a block in values.yaml: block_keys PARENT_REGEX CHILD_INDENT prints the keys indented
# by CHILD_INDENT spaces directly under the first line matching PARENT_REGEX.
block_keys() {
  awk -v parent="$1" -v indent="$2" '
    function level(s) { match(s, /^ */); return RLENGTH }
    !inside && $0 ~ parent { inside = 1; base = level($0); next }
    inside && $0 ~ /^ *(#.*)?$/ { next }
    inside && level($0) <= base { exit }
    inside && level($0) == indent && $0 ~ /^ *[A-Za-z0-9_.-]+:/ {
      key = $0; sub(/^ */, "", key); sub(/:.*/, "", key); print key
    }' "$chart/values.yaml" | sort
}

check_values_lists() {
  local want got
  want=$(printf '%s\n' "${targets[@]}" | sort | xargs)
  got=$(block_keys '^targets:' 2 | xargs)
  [ "$got" = "$want" ] || { echo "  targets: want [$want] got [$got]"; return 1; }
  want=$(printf '%s\n' "${topics[@]}" | sort | xargs)
  got=$(block_keys '^  topics:' 4 | xargs)
  [ "$got" = "$want" ] || { echo "  strimzi.topics: want [$want] got [$got]"; return 1; }
  echo "  ${#targets[@]} targets, ${#topics[@]} topics"
  if have_pyyaml; then
    python3 - "$chart/values.yaml" "${targets[*]}" "${topics[*]}" <<'EOF'
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
assert set(v["targets"]) == set(sys.argv[2].split()), sorted(v["targets"])
assert set(v["strimzi"]["topics"]) == set(sys.argv[3].split()), sorted(v["strimzi"]["topics"])
d = v["strimzi"]["defaults"]
assert d["partitions"] == 12 and d["replicas"] == 3, d
assert d["config"]["min.insync.replicas"] == 2, d
assert d["config"]["retention.ms"] == 7 * 24 * 3600 * 1000, d
assert v["strimzi"]["topics"]["routing.availability.v1"]["config"]["cleanup.policy"] == "compact"
print("  (python3 yaml agrees; topic defaults 12 partitions, 3 replicas, min ISR 2, 7 days)")
EOF
  fi
}

# --- 5. the rule file inside the chart --------------------------------------------------------

check_rules_copy() {
  cmp "$rules" "$chart/files/alerts.yaml" ||
    { echo "  run: cp deploy/prometheus/alerts.yaml charts/switchboard/files/alerts.yaml"; return 1; }
  grep -q '\.Files\.Get "files/alerts.yaml"' "$chart/templates/prometheusrule.yaml"
}

# --- optional: helm itself --------------------------------------------------------------------

check_helm() {
  command -v helm >/dev/null || { echo "  helm not installed"; return "$SKIP"; }
  local set=(--set kafka.brokers=kafka:9092 --set secret.authSecret=check-chart-secret-0123456789
    --set secret.redisUrl=redis://redis:6379/0
    --set secret.postgresUrl=postgresql://sb:sb@postgres:5432/sb
    --set serviceMonitor.enabled=true --set prometheusRule.enabled=true
    --set strimzi.enabled=true --set ingress.enabled=true)
  helm lint "$chart" "${set[@]}"
  helm template sb "$chart" "${set[@]}" >"$work/rendered.yaml"
  echo "  rendered $(grep -c '^kind:' "$work/rendered.yaml") resources"
}

run "promtool check rules deploy/prometheus/alerts.yaml" check_rules_syntax
run "every alert has a severity, summary and description" check_rules_annotated
run "every alert links a runbook in docs/runbooks/ that exists" check_rules_runbooks
run "promtool test rules: alerts fire as intended" check_rules_fire
run "Grafana dashboard is valid JSON" check_dashboard_json
run "dashboard queries are valid PromQL" check_dashboard_promql
run "Chart.yaml: apiVersion v2, switchboard 0.1.0, appVersion 0.1.0" check_chart_metadata
run "chart YAML without templates parses" check_chart_yaml_parses
run "values.yaml satisfies values.schema.json" check_values_schema
run "templates are balanced and include defined helpers" check_templates_static
run "values.yaml lists exactly the six targets and eight topics" check_values_lists
run "charts/switchboard/files/alerts.yaml is identical to deploy/prometheus/alerts.yaml" check_rules_copy
run "helm lint and helm template" check_helm

echo "check_chart: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
