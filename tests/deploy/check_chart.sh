#!/usr/bin/env bash
# Checks the deployment material (charts/switchboard, deploy/) as far as a machine without a
# cluster, helm or kubectl can:
#   1. the alert rules pass `promtool check rules`, every alert has a severity and a
#      summary/description, and promtool unit tests (below) show the main alerts firing;
#   2. the Grafana dashboard is valid JSON, and every panel query is valid PromQL;
#   3. the chart's YAML files without template syntax parse (python3 yaml, if installed), the
#      values schema is valid JSON, values.yaml satisfies it and copies with typos or bad
#      combinations do not (python3 jsonschema, if installed), and the templates are balanced
#      and include only defined helpers;
#   4. values.yaml lists exactly the seven targets and the nine Kafka topics, every topic the
#      binary names among them with the binary's own settings, and the binary's default ports;
#   5. the chart's files/alerts.yaml (read by templates/prometheusrule.yaml) is identical to
#      deploy/prometheus/alerts.yaml;
#   6. the per-target tables of _helpers.tpl (modules, peers, Secret keys) agree with the
#      binary's services/*/module.cc and with the expected table of who gets which secret;
#   7. the templates are wired as intended, read without rendering: a secret reaches a pod only
#      through that table, the Meta credentials and JWKS are whole-directory mounts on the
#      right targets, the gateway has its port, Service, Ingress and NetworkPolicy rule.
# If helm happens to be on PATH, it also lints and renders the chart.
#
#   tests/deploy/check_chart.sh [REPO_ROOT]
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
root=$(cd "$root" && pwd)
chart="$root/charts/switchboard"
rules="$root/deploy/prometheus/alerts.yaml"
dashboard="$root/deploy/grafana/switchboard-overview.json"

targets=(eligibility calls routing billing notifications webhooks gateway)
topics=(whatsapp.events.v1 calls.state.v1 routing.offers.v1 billing.usage.v1
  conversations.timeline.v1 whatsapp.outbound.v1 routing.availability.v1 eligibility.state.v1
  switchboard.deadletter.v1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Reading templates without rendering them: the defines of a file, the tables they build, and
# the blocks ({{ if }}, {{ range }}, {{ with }}) around a piece of text.
cat >"$work/chart_text.py" <<'EOF'
import re

ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)
OPENERS = ("if ", "range ", "with ", "define ", "block ")


def read(path):
    """A template's text without its comments."""
    return COMMENT.sub("", open(path).read())


def blocks_at(text, offset):
    """The headers of the blocks open at `offset`, outermost first; a block in its else branch
    reads "else of <header>"."""
    stack = []
    for m in ACTION.finditer(text):
        if m.start() >= offset:
            break
        a = m.group(1)
        if a.startswith(OPENERS):
            stack.append(a)
        elif a == "end" and stack:
            stack.pop()
        elif a.startswith("else") and stack:
            stack[-1] = "else of " + stack[-1]
    return stack


def enclosing(text, needle):
    """blocks_at for every occurrence of `needle`; fails if there is none."""
    found = [blocks_at(text, m.start()) for m in re.finditer(re.escape(needle), text)]
    assert found, f"not found: {needle}"
    return found


def inside(text, needle, condition):
    """Every occurrence of `needle` is inside a block (not its else branch) whose header
    contains `condition`."""
    for stack in enclosing(text, needle):
        assert any(condition in h and not h.startswith("else of") for h in stack), \
            f"{needle!r} is not inside a block with {condition!r}: {stack}"


def defines(text):
    """name -> body of every {{ define }}."""
    out, depth, name, start = {}, 0, None, 0
    for m in ACTION.finditer(text):
        a = m.group(1)
        if a.startswith("define "):
            name, start, depth = re.match(r'define\s+"([^"]+)"', a).group(1), m.end(), 1
        elif name and a.startswith(OPENERS):
            depth += 1
        elif name and a == "end":
            depth -= 1
            if depth == 0:
                out[name] = text[start:m.start()]
                name = None
    return out


def table(body):
    """The dict a helper builds with `set $x "key" (list "a" "b")` or `set $x "key" "value"`."""
    out = {}
    for key, items, value in re.findall(
            r'set \$\w+ "([\w.-]+)" (?:\(list((?: "[^"]*")*)\)|"([^"]*)")', body):
        out[key] = value if value else re.findall(r'"([^"]*)"', items)
    return out


def registrations(source):
    """Each registry.Add({...}) of a services/*/module.cc: name, target, deps, peers."""
    out = []
    for m in re.finditer(r"registry\.Add\(", source):
        depth, i = 0, m.end() - 1
        while True:
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            if depth == 0:
                break
            i += 1
        call = source[m.end():i]

        def strings(field):
            found = re.search(r"\." + field + r"\s*=\s*\{([^}]*)\}", call)
            return re.findall(r'"([^"]*)"', found.group(1)) if found else []

        out.append({"name": re.search(r'\.name\s*=\s*"([^"]+)"', call).group(1),
                    "target": bool(re.search(r"\.target\s*=\s*true", call)),
                    "deps": strings("deps"), "peers": strings("peers")})
    return out
EOF

# shellcheck source=tests/deploy/run_checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/run_checks.sh"

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

reject("an unknown target targets.frontend", lambda v: v["targets"].update(frontend={"enabled": True, "replicas": 1}))
reject("targets.calls.replica: 2", lambda v: v["targets"]["calls"].update(replica=2))
reject("kafka.broker: x", lambda v: v["kafka"].update(broker="x"))
reject("a top-level imagee: {}", lambda v: v.update(imagee={}))
reject("targets.gateway without replicas", lambda v: v["targets"]["gateway"].pop("replicas"))
reject("ports.gateway: 70000", lambda v: v["ports"].update(gateway=70000))
reject("gateway.rateLimit: -1", lambda v: v["gateway"].update(rateLimit=-1))
reject("gateway.corsOrigin (a typo)", lambda v: v["gateway"].update(corsOrigin="*"))
reject("gateway.ingress.hosts[0].paths: []", lambda v: v["gateway"]["ingress"]["hosts"][0].update(paths=[]))
reject("gateway.ingress.hosts[0].paths[0].pathType: prefix",
       lambda v: v["gateway"]["ingress"]["hosts"][0]["paths"][0].update(pathType="prefix"))
reject("networkPolicy.gatewayfrom (a typo)", lambda v: v["networkPolicy"].update(gatewayfrom=[]))
reject("auth.jwks with both configMap and secret",
       lambda v: v["auth"]["jwks"].update(configMap="idp-keys", secret="idp-keys"))
reject("auth.jwks.configmap (a typo)", lambda v: v["auth"]["jwks"].update(configmap="idp-keys"))
reject("auth.jwks.key: keys/jwks.json (a path, not a key)", lambda v: v["auth"]["jwks"].update(key="keys/jwks.json"))
reject("auth.jwks.configMap: Idp_Keys (not an object name)", lambda v: v["auth"]["jwks"].update(configMap="Idp_Keys"))
reject("auth.audience: [a, b]", lambda v: v["auth"].update(audience=["a", "b"]))
reject("auth.jwksFile (unknown)", lambda v: v["auth"].update(jwksFile="/keys.json"))
reject("meta.credentialsSecret: 42", lambda v: v["meta"].update(credentialsSecret=42))
reject("meta.credentialsFile (unknown)", lambda v: v["meta"].update(credentialsFile="/meta.json"))
reject("meta.credentialsKey: \"\"", lambda v: v["meta"].update(credentialsKey=""))
reject("secret.authSecret shorter than 16 bytes", lambda v: v["secret"].update(authSecret="short"))

# And what a real installation sets is accepted.
def accept(what, change):
    good = copy.deepcopy(values)
    change(good)
    failed = errors(good)
    if failed:
        sys.exit(f"  schema rejected {what}: {failed[0]}")
    print(f"  accepted: {what}")

def installation(v):
    v["kafka"]["brokers"] = "kafka:9092"
    v["secret"]["existingSecret"] = "switchboard-credentials"
    v["auth"].update(jwks={"configMap": "idp-keys", "secret": "", "key": "keys.json"},
                     issuer="https://id.example.com/", audience="switchboard")
    v["meta"].update(credentialsSecret="switchboard-meta")
    v["gateway"].update(rateLimit=0, corsOrigins="https://console.example.com")
    v["gateway"]["ingress"].update(enabled=True, className="nginx",
                                   tls=[{"secretName": "switchboard-tls", "hosts": ["switchboard.example.com"]}])
    v["networkPolicy"].update(enabled=True, gatewayFrom=[{"namespaceSelector": {}}])

accept("JWKS from a ConfigMap, issuer, audience, Meta credentials, the gateway's Ingress", installation)
accept("JWKS from a Secret", lambda v: v["auth"]["jwks"].update(secret="idp-keys"))
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
dead = v["strimzi"]["topics"]["switchboard.deadletter.v1"]
assert dead == {"config": {"retention.ms": 14 * 24 * 3600 * 1000}}, dead
assert v["ports"]["gateway"] == 8090 and v["ports"]["webhooks"] == 8080, v["ports"]
assert v["gateway"]["rateLimit"] == 100, v["gateway"]
assert set(v["autoscaling"]["kafkaLag"]["groups"]) <= set(v["targets"]) - {"gateway", "webhooks"}
print("  (python3 yaml agrees; topic defaults 12 partitions, 3 replicas, min ISR 2, 7 days;")
print("   the dead-letter topic 14 days; no lag scaling for the targets that consume nothing)")
EOF
  fi
  # Every topic the binary names (libs/kafka/kafka.h) has its KafkaTopic.
  local t
  for t in $(grep -o 'inline constexpr char k[A-Za-z]*\[\] = "[^"]*"' "$root/libs/kafka/kafka.h" | cut -d'"' -f2); do
    printf '%s\n' "${topics[@]}" | grep -qx "$t" || { echo "  libs/kafka/kafka.h names $t, the chart has no KafkaTopic"; return 1; }
  done
  # A topic's own settings in the chart are those the binary gives it when it creates the topics
  # itself (SuiteTopics in libs/kafka/kafka.cc: compaction, the dead letters' retention).
  if have_pyyaml; then
    python3 - "$root" "$chart/values.yaml" <<'EOF'
import re, sys, yaml
root = sys.argv[1]
names = dict(re.findall(r'inline constexpr char (k\w+)\[\] = "([^"]+)"', open(f"{root}/libs/kafka/kafka.h").read()))
suite = re.search(r"SuiteTopics\(\) \{(.*?)\n\}", open(f"{root}/libs/kafka/kafka.cc").read(), re.S).group(1)
code = {names[k]: dict(re.findall(r'\{"([^"]+)", "([^"]+)"\}', configs))
        for k, configs in re.findall(r"\{\.name = (k\w+), \.configs = \{(.*?\})\}\}", suite)}
listed = {names[k] for k in re.findall(r"\{(?:\.name = )?(k\w+)", suite)}
topics = yaml.safe_load(open(sys.argv[2]))["strimzi"]["topics"]
for name, entry in topics.items():
    if name not in listed:
        continue  # checked above: every topic the binary names is in the chart
    chart = {k: str(v) for k, v in ((entry or {}).get("config") or {}).items()}
    assert chart == code.get(name, {}), f"{name}: the chart sets {chart}, libs/kafka/kafka.cc {code.get(name, {})}"
print(f"  topic settings as in libs/kafka/kafka.cc: {code}")
EOF
  fi
  # The chart's defaults are the binary's: the gateway's and the edge's ports, the rate limit.
  python3 - "$root" <<'EOF'
import re, sys
def default(path, flag):
    source = open(f"{sys.argv[1]}/{path}").read()
    m = re.search(r'Flag\(\s*"' + flag + r'",.*?,\s*(\d+)(?:,\s*\d+)?\)', source, re.S)
    assert m, f"--{flag} not found in {path}"
    return int(m.group(1))
assert default("services/gateway/module.cc", "gateway-port") == 8090
assert default("services/gateway/module.cc", "gateway-rate-limit") == 100
assert default("services/webhooks/module.cc", "webhooks-port") == 8080
print("  ports.gateway 8090, ports.webhooks 8080 and gateway.rateLimit 100 are the binary's defaults")
EOF
}

# --- 5. the rule file inside the chart --------------------------------------------------------

check_rules_copy() {
  cmp "$rules" "$chart/files/alerts.yaml" ||
    { echo "  run: cp deploy/prometheus/alerts.yaml charts/switchboard/files/alerts.yaml"; return 1; }
  grep -q '\.Files\.Get "files/alerts.yaml"' "$chart/templates/prometheusrule.yaml"
}

# --- 6. the per-target tables -----------------------------------------------------------------

# _helpers.tpl says which modules each target depends on, which targets it calls and which keys
# of the credentials Secret it gets. The first two must be the binary's own (the registry.Add of
# each services/*/module.cc); the third must be the expected table below, and follow from the
# code: a target gets the Redis/PostgreSQL URL if and only if it depends on redis/postgres, and
# Meta's secrets only where the code uses them.
check_target_tables() {
  python3 - "$work" "$chart/templates/_helpers.tpl" "$root" "${targets[*]}" <<'EOF'
import glob, os, re, sys
sys.path.insert(0, sys.argv[1])
import chart_text as ct

helpers = ct.defines(ct.read(sys.argv[2]))
root, targets = sys.argv[3], set(sys.argv[4].split())
deps = ct.table(helpers["switchboard.dependencies"])
peers = ct.table(helpers["switchboard.peers"])
keys = ct.table(helpers["switchboard.secretKeys"])
env = ct.table(helpers["switchboard.secretEnvName"])
bad = []

# The binary's targets, their modules and peers.
code, graph_users, credential_users = {}, set(), set()
for path in sorted(glob.glob(os.path.join(root, "services", "*", "module.cc"))):
    source = open(path).read()
    for reg in ct.registrations(source):
        if reg["target"]:
            code[reg["name"]] = reg
            if "ctx.graph()" in source:
                graph_users.add(reg["name"])
            if "ctx.meta_credentials()" in source:
                credential_users.add(reg["name"])
if set(code) != targets:
    bad.append(f"the binary's targets are {sorted(code)}, the chart's {sorted(targets)}")
for name, table in (("switchboard.dependencies", deps), ("switchboard.peers", peers),
                    ("switchboard.secretKeys", keys)):
    if set(table) != targets:
        bad.append(f"{name} has {sorted(table)}, want {sorted(targets)}")
for t, reg in sorted(code.items()):
    if sorted(deps.get(t, [])) != sorted(reg["deps"]):
        bad.append(f"{t}: _helpers.tpl depends on {deps.get(t)}, services/{t}/module.cc on {reg['deps']}")
    if sorted(peers.get(t, [])) != sorted(reg["peers"]):
        bad.append(f"{t}: _helpers.tpl calls {peers.get(t)}, services/{t}/module.cc {reg['peers']}")

# Who gets which secret.
want = {
    "eligibility": ["authSecret", "redisUrl", "postgresUrl"],
    "calls": ["authSecret", "postgresUrl", "metaAccessToken"],
    "routing": ["authSecret", "postgresUrl"],
    "billing": ["authSecret", "postgresUrl"],
    "notifications": ["authSecret", "redisUrl", "postgresUrl", "metaAccessToken"],
    "webhooks": ["authSecret", "redisUrl", "postgresUrl", "metaAppSecret", "metaVerifyToken",
                 "metaAccessToken"],
    "gateway": ["authSecret", "redisUrl"],
}
for t in sorted(targets):
    if sorted(keys.get(t, [])) != sorted(want[t]):
        bad.append(f"{t}: gets {keys.get(t)}, want {want[t]}")
    d, k = set(deps.get(t, [])), set(keys.get(t, []))
    for store, key in (("redis", "redisUrl"), ("postgres", "postgresUrl")):
        if (store in d) != (key in k):
            bad.append(f"{t}: depends on {store}: {store in d}, gets {key}: {key in k}")
    if any(x.startswith("meta") for x in k) and "whatsapp" not in d:
        bad.append(f"{t}: gets Meta secrets without depending on whatsapp")
    if t in graph_users and "metaAccessToken" not in k:
        bad.append(f"{t}: calls the Graph API (ctx.graph()) but gets no metaAccessToken")
    if t in credential_users and not {"metaAppSecret", "metaVerifyToken"} <= k:
        bad.append(f"{t}: reads Meta's apps (ctx.meta_credentials()) but gets no app secret")

# Each key's variable is the binary's flag, and every key of secret.keys has one.
want_env = {"authSecret": "SWITCHBOARD_AUTH_SECRET", "redisUrl": "SWITCHBOARD_REDIS_URL",
            "postgresUrl": "SWITCHBOARD_POSTGRES_URL",
            "metaAppSecret": "SWITCHBOARD_META_APP_SECRET",
            "metaVerifyToken": "SWITCHBOARD_META_VERIFY_TOKEN",
            "metaAccessToken": "SWITCHBOARD_META_ACCESS_TOKEN"}
if env != want_env:
    bad.append(f"switchboard.secretEnvName is {env}")
runtime = open(os.path.join(root, "libs/runtime/config.cc")).read() + \
    open(os.path.join(root, "libs/runtime/app.cc")).read()
for name in list(want_env.values()) + ["SWITCHBOARD_META_CREDENTIALS_FILE",
        "SWITCHBOARD_AUTH_JWKS_FILE", "SWITCHBOARD_AUTH_ISSUER", "SWITCHBOARD_AUTH_AUDIENCE"]:
    flag = name[len("SWITCHBOARD_"):].lower().replace("_", "-")
    if f'"{flag}"' not in runtime:
        bad.append(f"{name}: the binary declares no --{flag}")

if bad:
    sys.exit("\n".join("  " + b for b in bad))
variables = sorted(want_env.values())
for t in sorted(targets):
    got = [env[k] for k in keys[t]]
    print(f"  {t:13} {' '.join(v[len('SWITCHBOARD_'):] for v in got)}")
    for v in variables:
        assert (v in got) == (v in [want_env[k] for k in want[t]])
assert "SWITCHBOARD_META_ACCESS_TOKEN" not in [env[k] for k in keys["eligibility"]]
assert [t for t in targets if "metaAppSecret" in keys[t]] == ["webhooks"]
print(f"  modules and peers as in services/*/module.cc; {len(targets)} targets, each only its own secrets")
EOF
}

# --- 7. how the templates are wired -----------------------------------------------------------

check_chart_wiring() {
  python3 - "$work" "$chart/templates" <<'EOF'
import os, re, sys
sys.path.insert(0, sys.argv[1])
import chart_text as ct

d = sys.argv[2]
deployment = ct.read(os.path.join(d, "deployment.yaml"))
helpers = ct.read(os.path.join(d, "_helpers.tpl"))
secret = ct.read(os.path.join(d, "secret.yaml"))
service = ct.read(os.path.join(d, "service.yaml"))
ingress = ct.read(os.path.join(d, "ingress.yaml"))
netpol = ct.read(os.path.join(d, "networkpolicy.yaml"))
hpa = ct.read(os.path.join(d, "hpa.yaml"))
pdb = ct.read(os.path.join(d, "pdb.yaml"))
checked = []

def check(what, ok):
    assert ok, what
    checked.append(what)

# Secrets reach a pod only through switchboard.secretKeys.
check("one secretKeyRef, inside the range over switchboard.secretKeys",
      deployment.count("secretKeyRef:") == 1)
ct.inside(deployment, "secretKeyRef:", 'include "switchboard.secretKeys" $target')
ct.inside(deployment, "optional: true", "has $key $optionalKeys")
for name in ("AUTH_SECRET", "REDIS_URL", "POSTGRES_URL", "META_APP_SECRET", "META_VERIFY_TOKEN",
             "META_ACCESS_TOKEN"):
    check(f"SWITCHBOARD_{name} is named only by switchboard.secretEnvName",
          f"SWITCHBOARD_{name}" not in deployment)
check("the auth secret is never optional, JWKS or not",
      '"authSecret"' not in deployment and "optionalKeys = append" not in deployment)

# Files from Secrets and ConfigMaps: whole directories (a subPath mount never sees an update).
for name in os.listdir(d):
    check(f"{name}: no subPath", not re.search(r"^\s*subPath:", open(os.path.join(d, name)).read(), re.M))
meta_if = 'and $.Values.meta.credentialsSecret (has "whatsapp" $deps)'
for needle in ("SWITCHBOARD_META_CREDENTIALS_FILE", "name: meta-credentials",
               "mountPath: /var/run/secrets/switchboard-meta"):
    ct.inside(deployment, needle, meta_if)
check("the Meta credentials file is under the mount",
      "/var/run/secrets/switchboard-meta/%s\" $.Values.meta.credentialsKey" in deployment)
for needle in ("SWITCHBOARD_AUTH_JWKS_FILE", "name: jwks",
               "mountPath: /var/run/secrets/switchboard-jwks"):
    ct.inside(deployment, needle, "if $jwks")
check("the JWKS file is under the mount",
      "/var/run/secrets/switchboard-jwks/%s\" $.Values.auth.jwks.key" in deployment)
for mount in ("switchboard-meta", "switchboard-jwks", "kafka-user", "kafka-ca"):
    check(f"{mount} is mounted read-only",
          re.search(r"mountPath: /var/run/secrets/" + mount + r"\n\s+readOnly: true", deployment))
check("the jwks volume is the configMap or else the secret",
      re.search(r"if \$\.Values\.auth\.jwks\.configMap \}\}\s*configMap:\s*name: \{\{ \$\.Values\.auth\.jwks\.configMap \}\}"
                r"\s*\{\{- else \}\}\s*secret:\s*secretName: \{\{ \$\.Values\.auth\.jwks\.secret \}\}", deployment))
ct.inside(deployment, "SWITCHBOARD_AUTH_ISSUER", "with $.Values.auth.issuer")
ct.inside(deployment, "SWITCHBOARD_AUTH_AUDIENCE", "with $.Values.auth.audience")
check("checksum/secret only for the chart's own Secret",
      all(any("not $.Values.secret.existingSecret" in h for h in s)
          for s in ct.enclosing(deployment, "checksum/secret")))
check("the chart's Secret always requires the auth secret",
      'required "secret.authSecret is required (or set secret.existingSecret)"' in secret)
validate = ct.defines(helpers)["switchboard.validate"]
check("validate refuses two JWKS sources", "auth.jwks: set configMap or secret, not both" in validate)
check("validate refuses no auth secret, with a JWKS as without",
      "if not .Values.secret.authSecret }}" in validate)

# Kafka settings and secrets only for the targets that use Kafka (not the gateway).
for needle in ("SWITCHBOARD_KAFKA_BROKERS", "SWITCHBOARD_KAFKA_CONFIG", "name: kafka-user",
               "name: kafka-ca", "name: kafka-config", "checksum/kafka-config"):
    ct.inside(deployment, needle, 'has "kafka" $deps')

# The gateway: its flags, its http port everywhere the webhook edge has one.
for needle in ("SWITCHBOARD_GATEWAY_PORT", "SWITCHBOARD_GATEWAY_CORS_ORIGINS",
               "SWITCHBOARD_GATEWAY_RATE_LIMIT"):
    ct.inside(deployment, needle, 'eq $target "gateway"')
ct.inside(deployment, "SWITCHBOARD_WEBHOOKS_PORT", 'eq $target "webhooks"')
http = ct.defines(helpers)["switchboard.httpPort"]
check("httpPort: webhooks -> ports.webhooks, gateway -> ports.gateway",
      re.search(r'eq \.target "webhooks" \}\}\s*\{\{- int \.root\.Values\.ports\.webhooks', http) and
      re.search(r'eq \.target "gateway" \}\}\s*\{\{- int \.root\.Values\.ports\.gateway', http))
for name, text in (("deployment.yaml", deployment), ("service.yaml", service),
                   ("networkpolicy.yaml", netpol)):
    check(f"{name}: the http port comes from switchboard.httpPort",
          'include "switchboard.httpPort" $ctx' in text)
    if name != "deployment.yaml":
        check(f"{name}: no port of its own for one target", not re.search(r"ports\.(webhooks|gateway)", text))
ct.inside(deployment, "$.Values.ports.webhooks", 'eq $target "webhooks"')
ct.inside(deployment, "$.Values.ports.gateway", 'eq $target "gateway"')
ct.inside(deployment, "- name: http", "if $httpPort")
ct.inside(service, "- name: http", "if $httpPort")
ct.inside(netpol, "port: {{ $httpPort }}", "if $httpPort")
check("networkpolicy: the gateway's http port from gatewayFrom, the edge's from webhooksFrom",
      'ternary $.Values.networkPolicy.gatewayFrom $.Values.networkPolicy.webhooksFrom (eq $target "gateway")' in netpol)
check("the gateway gets the addresses of the enabled targets only",
      '(or (ne $target "gateway") (dig $peer "enabled" false $.Values.targets))' in deployment)
ct.inside(ingress, '"target" "webhooks" "ingress" .Values.ingress', "if .Values.ingress.enabled")
ct.inside(ingress, '"target" "gateway" "ingress" .Values.gateway.ingress', "if .Values.gateway.ingress.enabled")
check("the Ingress goes to the target's Service, port http",
      re.search(r"service:\s*name: \{\{ \$service \}\}\s*port:\s*name: http", ct.defines(helpers)["switchboard.ingress"]))
check("validate: gateway.ingress needs the gateway target",
      "gateway.ingress.enabled needs targets.gateway.enabled" in validate)

# Every enabled target, the gateway included, gets the same probes, HPA, PDB and policy.
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    check(f"{probe} for every target",
          all(h in ("range $target, $cfg := .Values.targets", "if $cfg.enabled") for h in ct.enclosing(deployment, probe)[0]))
check("readiness asks for the target's own health service",
      re.search(r'readinessProbe:\s*grpc:\s*port: \{\{ int \$\.Values\.ports\.grpc \}\}\s*service: \{\{ \$target \| quote \}\}', deployment))
for name, text in (("hpa.yaml", hpa), ("pdb.yaml", pdb), ("networkpolicy.yaml", netpol)):
    check(f"{name}: no target left out", not re.search(r"(eq|ne) \$target", text.replace(
        '(eq $target "gateway")', "")))
print(f"  {len(checked)} assertions and the blocks around {deployment.count('SWITCHBOARD_')} variables hold")
EOF
}

# --- optional: helm itself --------------------------------------------------------------------

check_helm() {
  command -v helm >/dev/null || { echo "  helm not installed"; return "$SKIP"; }
  local set=(--set kafka.brokers=kafka:9092 --set secret.authSecret=check-chart-secret-0123456789
    --set secret.redisUrl=redis://redis:6379/0
    --set secret.postgresUrl=postgresql://sb:sb@postgres:5432/sb
    --set serviceMonitor.enabled=true --set prometheusRule.enabled=true
    --set strimzi.enabled=true --set ingress.enabled=true --set gateway.ingress.enabled=true
    --set networkPolicy.enabled=true --set autoscaling.enabled=true
    --set meta.credentialsSecret=switchboard-meta --set auth.jwks.configMap=idp-jwks
    --set auth.issuer=https://id.example.com/ --set auth.audience=switchboard)
  helm lint "$chart" "${set[@]}"
  helm template sb "$chart" "${set[@]}" >"$work/rendered.yaml"
  echo "  rendered $(grep -c '^kind:' "$work/rendered.yaml") resources"
  # A JWKS does not replace the auth secret (it signs the suite's own tokens).
  if helm template sb "$chart" --set kafka.brokers=kafka:9092 --set secret.redisUrl=redis://redis:6379/0 \
    --set secret.postgresUrl=postgresql://sb:sb@postgres:5432/sb --set auth.jwks.secret=idp-jwks >/dev/null 2>&1; then
    echo "  rendered with a JWKS but no auth secret"; return 1
  fi
  if helm template sb "$chart" "${set[@]}" --set auth.jwks.secret=idp-jwks >/dev/null 2>&1; then
    echo "  rendered with two JWKS sources"; return 1
  fi
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
run "values.yaml lists exactly the seven targets and nine topics" check_values_lists
run "charts/switchboard/files/alerts.yaml is identical to deploy/prometheus/alerts.yaml" check_rules_copy
run "per-target tables agree with services/*/module.cc; each target gets only its secrets" check_target_tables
run "templates: secrets, mounts, gateway and Kafka wired as intended" check_chart_wiring
run "helm lint and helm template" check_helm

echo "check_chart: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
