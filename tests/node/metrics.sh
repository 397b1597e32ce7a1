#!/bin/sh
# metrics.sh: peerkeyd's metrics, read as Prometheus reads them (Debian's
# python3-prometheus-client parser, and a strict check of the exposition
# format and the naming conventions), over HTTP on a loopback port and
# with "peerkey metrics", checked against a scenario: peers in each
# state, releases and refusals by reason, heartbeats to a real peer and
# to one that is down, sessions, store size, start time, build info.
# Off unless configured; a non-loopback address is refused.
_title="metrics: Prometheus text over loopback HTTP and the control socket"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

PY=/usr/bin/python3
$PY -c 'import prometheus_client.parser' 2>/dev/null ||
    fatal "needs Debian's python3-prometheus-client (dev.sh deps)"
MP=$(free_port)
start_node a "metrics.listen=127.0.0.1:$MP" || fatal "cannot start node a"
start_node b || fatal "cannot start node b"
B=$W/blob
blob "$B" "stand-in ciphertext"

# The scenario: b (a real peerkeyd) guarded by a and guarding it; en with
# a blob; off, disabled by the operator; gone, whose address is closed.
pk a peer add b --node-key "$(node_keyid b)" --boot-key "$(printf '%064d' 1)" \
    --address "$(node_addr b)" --interval 500ms --timeout 1h
pk b peer add a --node-key "$(node_keyid a)" --boot-key "$(printf '%064d' 2)"
add_peer a en --timeout 60s
deposit a en disk1 "$B" >/dev/null
add_peer a off
pk a disable off
add_peer a gone --address "127.0.0.1:$(free_port)" --interval 500ms \
    --timeout 1h
keygen "$W/stranger.boot" >/dev/null
unlock a en >/dev/null
unlock a en >/dev/null
unlock a off >/dev/null
pktool unlock "$W/stranger.boot" "$(node_addr a)" >/dev/null
wait_for '[ "$(peer_field a gone last_check)" != 0 ] &&
    field_is a b last_check_ok true' 20 ||
    fail "the checks of b and gone have run"

# scrape FILE: GET /metrics into FILE; prints the status and content type.
scrape() {
	$PY - "$MP" "$1" <<'EOF'
import sys, urllib.request
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                           timeout=10)
open(sys.argv[2], "wb").write(r.read())
print(r.status, r.headers["Content-Type"])
EOF
}

# check FILE: parses FILE with prometheus_client and checks the format
# strictly; prints "ERROR ..." lines, then every sample as
# "name{k=v,...} value" (labels sorted).
check() {
	$PY - "$1" <<'EOF'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
err = lambda m: print("ERROR", m)
if not text.endswith("\n"):
    err("no final newline")
# Line by line: HELP and TYPE before a family's samples, once each.
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
sample_re = re.compile(r"^(%s)(\{(%s=\"(\\\\|\\\"|\\n|[^\"\\])*\",?)*\})? "
    r"(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$" % (name_re, "[a-zA-Z_][a-zA-Z0-9_]*"))
types, helps, seen, order = {}, {}, set(), []
for line in text.splitlines():
    if line.startswith("# HELP "):
        n = line.split(" ")[2]
        if n in helps: err("HELP twice: " + n)
        helps[n] = 1
    elif line.startswith("# TYPE "):
        n, t = line.split(" ")[2:4]
        if n in types: err("TYPE twice: " + n)
        if n not in helps: err("TYPE before HELP: " + n)
        types[n] = t
        order.append(n)
    elif line.startswith("#") or line == "":
        err("stray line: %r" % line)
    else:
        m = sample_re.match(line)
        if not m:
            err("bad sample line: %r" % line); continue
        base = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", base) \
            if re.sub(r"_(bucket|sum|count)$", "", base) in types and \
            types[re.sub(r"_(bucket|sum|count)$", "", base)] == "histogram" \
            else base
        if fam not in types: err("sample before its TYPE: " + base)
        if fam != order[-1]: err("family not contiguous: " + base)
        if line.rsplit(" ", 1)[0] in seen: err("series twice: " + line)
        seen.add(line.rsplit(" ", 1)[0])
# Naming: peerkey_ prefix, counters end in _total, units spelled out.
for n, t in types.items():
    if not n.startswith("peerkey_"): err("not peerkey_: " + n)
    if (t == "counter") != n.endswith("_total"): err("_total rule: " + n)
    if re.search(r"_(ms|milliseconds|kb|mb)(_|$)", n): err("unit: " + n)
# Prometheus' own parser, and the histograms' invariants.
for f in text_string_to_metric_families(text):
    for s in f.samples:
        print("%s{%s} %s" % (s.name, ",".join("%s=%s" % kv for kv in
            sorted(s.labels.items())), repr(float(s.value))))
    if f.type == "histogram":
        b = [s for s in f.samples if s.name.endswith("_bucket")]
        v = [s.value for s in b]
        if v != sorted(v): err("buckets not cumulative: " + f.name)
        c = [s.value for s in f.samples if s.name.endswith("_count")]
        if b[-1].labels["le"] != "+Inf" or c != [v[-1]]:
            err("+Inf bucket is not the count: " + f.name)
EOF
}

# val FILE SERIES: the value of one series (as check prints it).
val() {
	grep -F "$2 " "$W/$1.samples" | head -n 1 | cut -d' ' -f2
}

is "$(scrape "$W/http.txt")" "200 text/plain; version=0.0.4; charset=utf-8" \
    "GET /metrics: 200, the text format's content type"
check "$W/http.txt" >"$W/http.samples"
is "$(grep ERROR "$W/http.samples")" "" \
    "prometheus_client parses it; the format and the names are strict"
pk a metrics >"$W/ctl.txt"
check "$W/ctl.txt" >"$W/ctl.samples"
is "$(grep ERROR "$W/ctl.samples")" "" "peerkey metrics: the same, strict"
is "$(cut -d' ' -f1 "$W/ctl.samples" | sort)" \
    "$(cut -d' ' -f1 "$W/http.samples" | sort)" \
    "the two carry the same series"
is "$(pk a -j metrics | jq -r .text | head -n 1)" "$(head -n 1 "$W/ctl.txt")" \
    "peerkey -j metrics: the text under \"text\""

is "$(val ctl 'peerkey_peers{state=enabled}')" 3.0 "peers: 3 enabled (b, en, gone)"
is "$(val ctl 'peerkey_peers{state=disabled-by-operator}')" 1.0 \
    "peers: 1 disabled by the operator (off)"
is "$(val ctl 'peerkey_peer_enabled{peer=off}')" 0.0 "off is not enabled"
is "$(val ctl 'peerkey_releases_total{protocol=native}')" 2.0 \
    "releases: the two unlocks of en"
is "$(val ctl 'peerkey_refusals_total{protocol=native,reason=disabled}')" 1.0 \
    "refusals by reason: off, disabled"
is "$(val ctl 'peerkey_refusals_total{protocol=native,reason=unknown_boot_key}')" \
    1.0 "refusals by reason: the stranger, unknown_boot_key"
is "$(val ctl 'peerkey_refusals_total{protocol=mandos,reason=denied}')" 0.0 \
    "every reason has its series, 0 until it happens"
ok '[ "$(val ctl "peerkey_heartbeats_total{result=ok}" | cut -d. -f1)" -ge 1 ]' \
    "heartbeats ok: a's checks of b"
ok '[ "$(val ctl "peerkey_heartbeats_total{result=failed}" | cut -d. -f1)" -ge 1 ]' \
    "heartbeats failed: a's checks of gone"
is "$(val ctl 'peerkey_heartbeat_duration_seconds_count{}')" \
    "$(val ctl 'peerkey_heartbeats_total{result=ok}')" \
    "the latency histogram counts the good heartbeats"
is "$(val ctl 'peerkey_peer_last_check_ok{peer=gone}'):$(val ctl 'peerkey_peer_last_check_ok{peer=b}')" \
    "0.0:1.0" "last check: gone failed, b ok"
ok 'awk "BEGIN { exit !($(val ctl "peerkey_peer_last_seen_age_seconds{peer=b}") < 30) }"' \
    "b's last proof of life is recent"
is "$(peer_field a gone last_seen):$(val ctl 'peerkey_peer_last_seen_age_seconds{peer=gone}')" \
    "0:" "a peer never seen (gone: every heartbeat fails) has no age"
is "$(val ctl "peerkey_heartbeats_received_total{}")" 0.0 \
    "heartbeats received: none (b has no address of a)"
pk b metrics >"$W/b.txt"
check "$W/b.txt" >"$W/b.samples"
ok '[ "$(val b "peerkey_heartbeats_received_total{}" | cut -d. -f1)" -ge 1 ]' \
    "heartbeats received by b: a's checks of it"
ok '[ "$(val ctl "peerkey_sessions{kind=handshake}")" = 0.0 ]' \
    "sessions by kind: none in a handshake now"
ok '[ "$(val ctl "peerkey_store_size_bytes{}" | cut -d. -f1)" -ge 4096 ]' \
    "store size: the database's bytes"
now=$(date +%s)
ok 'awk "BEGIN { t = $(val ctl "peerkey_start_time_seconds{}");
    exit !(t > $now - 600 && t <= $now) }"' "start time: seconds since the epoch"
is "$(val ctl 'peerkey_build_info{version='"$(pk a -j status | jq -r .self.version)"'}')" \
    1.0 "build info: the version"

# GET /metrics and nothing else.
is "$($PY - "$MP" <<'EOF'
import sys, urllib.request, urllib.error
def status(path, data=None):
    try:
        return urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1],
            path), data=data, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code
print(status("/"), status("/metrics/../blobs"), status("/metrics", b"x"))
EOF
)" "404 404 405" "other paths: 404; POST: 405"

# Off by default; only loopback.
ok '! log_has b "metrics: http"' "b, no [metrics] listen: no listener"
pk b metrics >"$W/b.txt" && check "$W/b.txt" | grep -q '^peerkey_build_info' &&
    pass "...but peerkey metrics works" || fail "...but peerkey metrics works"
set_conf b "metrics.listen=192.0.2.1:$MP"
like "$("$PEERKEYD" -n -f "$W/b/peerkeyd.conf" 2>&1)" \
    'loopback address only' "a non-loopback listen address is refused"

finish
