#!/bin/bash
# 16-spread.sh: shares spread across labels as the policy says (issue 17).
# Six machines; h1's operator labels its five peers with their zones
# (h2, h3 in zone a; h4, h5 in b; h6 in c: "peerkey peer label") and
# splits h1's disk with "peerkey enroll --threshold K --guardians N". The
# picker (src/cli/guardians.c) lets no zone hold K of the N shares when
# the zones allow it -- 2 of 3 lands one share in each zone, 3 of 5 at
# most two in one -- and, when they do not (2 of 5 over three zones, or
# named guardians two of which share a zone), takes the best spread and
# warns, saying why. Each pick is read back from the LUKS2 token and the
# guardians' own stores; the real peerkey-boot unlocks from the last one.
#
#	h1 --+                 h1: enrolls, its disk split K of N
#	h2 --+  zone a
#	h3 --+  zone a
#	h4 --+-- switch  zone b
#	h5 --+  zone b
#	h6 --+  zone c
CL_INTERVAL=1s CL_TIMEOUT=10s CL_EXTENDED=5s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_star 6
pass "six machines: h1 knows h2..h6, and they know it"

d1=$CL_DIR/h1
img=$d1/disk.img
zone() { pk1 peer label "h$1" "zone=$2" >/dev/null; }
ok 'zone 2 a && zone 3 a && zone 4 b && zone 5 b && zone 6 c' \
    "h1's operator labels its peers: h2 h3 zone a, h4 h5 zone b, h6 zone c"
is "$(pk1 -j status | jq -r '[.peers[] | "\(.name)=\(.labels.zone)"] |
    sort | join(" ")')" "h2=a h3=a h4=b h5=b h6=c" "...status shows them"

# token Q: jq Q over h1's newest peerkey token.
token() {
	cryptsetup luksDump --dump-json-metadata "$img" |
	    jq -r "[.tokens[] | select(.type == \"peerkey\")] |
	    max_by(.generation) | $1"
}
guardians() { token '[.guardians[] | "\(.name)=\(.share)"] | join(" ")'; }
# zones: the zone of each guardian, in share order.
zones() {
	local g z=""
	for g in $(token '.guardians[].name'); do
		z="$z $(pk1 -j status | jq -r --arg g "$g" \
		    '.peers[] | select(.name == $g) | .labels.zone // "-"')"
	done
	echo $z
}
# split WHAT ARGS...: enroll (the first time) or rotate with ARGS;
# stderr in $CL_DIR/WHAT.err.
split() {
	local what=$1 cmd=rotate
	shift
	[ "$what" = first ] && cmd=enroll
	cl_pkd 1 "$cmd" "$img" --key-file "$d1/typed" "$@" \
	    >"$CL_DIR/$what.out" 2>"$CL_DIR/$what.err"
}

# --- 2 of 3: one share in each zone ------------------------------------------
ok 'split first --threshold 2 --guardians 3' "h1 enrolls its disk 2 of 3"
is "$(guardians)" "h2=1 h4=2 h6=3" "one guardian of each zone"
is "$(zones)" "a b c" "...zones a, b, c: none holds 2"
unlike "$(cat "$CL_DIR/first.err")" "warning" "...and enroll does not warn"
for n in 2 4 6; do
	is "$(cl_pk "$n" -j status | jq '.peers[] | select(.name == "h1") |
	    .blobs')" 1 "h$n holds h1's share"
done
is "$(cl_pk 3 -j status | jq '.peers[] | select(.name == "h1") | .blobs')" \
    0 "h3 holds nothing of h1"

# --- 2 of 5 over three zones: cannot hold; the best spread, and why ----------
ok 'split two-of-five --threshold 2 --guardians 5' "h1 rotates into 2 of 5"
is "$(guardians)" "h2=1 h4=2 h6=3 h3=4 h5=5" "the zones in turn"
like "$(cat "$CL_DIR/two-of-five.err")" \
    "warning: the shares are not spread as the policy asks \(no zone may hold 2\): only 3 zones for 2 of 5: zone=a holds 2" \
    "...and rotate says why the policy cannot hold"

# --- 3 of 5: at most two in a zone, fewer than K ------------------------------
ok 'split three-of-five --threshold 3 --guardians 5' "h1 rotates into 3 of 5"
is "$(zones)" "a b c a b" "two in a, two in b, one in c: none holds 3"
unlike "$(cat "$CL_DIR/three-of-five.err")" "warning" "...no warning"

# --- named guardians: checked against the same policy --------------------------
ok 'split named --threshold 2 --guardians h2,h3,h4' \
    "h1 rotates onto h2, h3, h4 by name"
is "$(guardians)" "h2=1 h3=2 h4=3" "the names as given"
like "$(cat "$CL_DIR/named.err")" "only 2 zones for 2 of 3: zone=a holds 2" \
    "...and a warning: h2 and h3 share zone a"

# --- another label: --spread rack, which nobody has --------------------------
ok 'split racks --threshold 2 --guardians 3 --spread rack' \
    "h1 rotates, spread over rack"
like "$(cat "$CL_DIR/racks.err")" \
    "only 1 rack for 2 of 3: 3 guardians have no rack label" \
    "...peers without the label count as one value, and it says so"
ok '! cl_pkd 1 rotate "$img" --key-file "$d1/typed" --threshold 2 \
    --guardians 3 --spread Rack 2>/dev/null' "--spread Rack is refused"

# --- a disabled peer is never picked ------------------------------------------
ok 'pk1 disable h4 >/dev/null' "h1's operator disables h4"
ok '! split too-few --threshold 3 --guardians 5' \
    "3 of 5 with h4 disabled: four can guard, refused"
like "$(cat "$CL_DIR/too-few.err")" "needs 5 reachable guardians; 4 are" \
    "...and says why"
is "$(token '.spread')" rack "the token records the label it spread over"
ok 'split no-h4 --threshold 3 --guardians 4' "h1 rotates into 3 of 4"
like "$(cat "$CL_DIR/no-h4.err")" "no rack may hold 3" \
    "...a rotate keeps the token's label (rack) unless told"
ok 'split no-h4 --threshold 3 --guardians 4 --spread zone' \
    "h1 rotates into 3 of 4, spread over zone again"
is "$(token '.spread')" zone "...the token says zone"
is "$(guardians)" "h2=1 h5=2 h6=3 h3=4" "h4 is left out, the zones in turn"
unlike "$(cat "$CL_DIR/no-h4.err")" "warning" "...two in zone a, fewer than 3"

cl_pkd 1 boot-config >/dev/null
is "$(pk1 -j status "$img" | jq -r '.disks[0] |
    "\(.threshold) \(.guardians | length) \(.could_release | length)"')" \
    "3 4 4" "peerkey status: the disk is 3 of 4, and all 4 could release it"
cl_down 1
ok 'cl_unlocks 1 60s' "h1 reboots: three of its spread shares unlock it"
cl_done
