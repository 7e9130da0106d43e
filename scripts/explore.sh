#!/usr/bin/env bash
# Manual check of the rate limits against a running `rampart serve --demo`
# (the automated version is TestFiveUsersOneAddressNo429 in internal/api):
# five demo users sign in from this one address, then use the API while
# bad requests from the same address go in between — bad cookies, bad
# tokens, wrong ids, malformed JSON, requests without a credential,
# cross-site POSTs. Exits 1 if any request made with a valid session got
# 429, or a sign-in failed; 0 otherwise, with a count of what was seen.
#
# Usage: scripts/explore.sh [BASE_URL]    (default http://127.0.0.1:8080)
#   RAMPART_DEMO_KEY  the demo mailbox secret `rampart serve --demo` prints
#                     (required: the sign-in links are read from /demo)
#
# Needs bash and curl only. Run it on the server's host (the demo mailbox
# answers loopback peers only) against a fresh server, or a minute after
# the last run: the default limits allow 5 sign-in link requests per
# minute per address, and this script makes 5.
set -euo pipefail

base=${1:-http://127.0.0.1:8080}
base=${base%/}
key=${RAMPART_DEMO_KEY:-}
if [ -z "$key" ]; then
  echo "explore: set RAMPART_DEMO_KEY to the demo mailbox secret that 'rampart serve --demo' printed" >&2
  exit 2
fi
command -v curl >/dev/null || { echo "explore: curl is not installed" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
users=(admin producer venue_manager viewer executive_producer)
domain=demo.rampart.test
declare -A session         # user -> session cookie value
declare -A valid_counts bad_counts
valid_429=()
n_bad=0

# req METHOD PATH [curl args...]: prints the status; headers in $tmp/h, body in $tmp/b.
req() {
  local method=$1 path=$2
  shift 2
  curl -sS -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' -X "$method" \
    -H 'Accept: application/json' "$@" "$base$path" || true
}

# cookie_from_headers NAME: the value of Set-Cookie NAME in $tmp/h.
cookie_from_headers() {
  tr -d '\r' <"$tmp/h" | sed -n "s/^[Ss]et-[Cc]ookie: $1=\([^;]*\).*/\1/p" | tail -n 1
}

# links: every sign-in link path in the demo mailbox, one a line.
links() {
  local status
  for _ in 1 2 3; do
    status=$(req GET "/demo?key=$key")
    case $status in
      200) grep -oE '/auth/link\?token=[A-Za-z0-9_-]+' "$tmp/b" | sort -u; return 0 ;;
      429) sleep "$(tr -d '\r' <"$tmp/h" | sed -n 's/^[Rr]etry-[Aa]fter: //p' | head -n 1)" ;;
      *) echo "explore: GET /demo: $status (is the server running with --demo, on this host, with this key?)" >&2; exit 1 ;;
    esac
  done
  echo "explore: /demo keeps answering 429" >&2
  exit 1
}

# valid USER METHOD PATH [BODY]: a request with USER's session; a 429 is a failure.
valid() {
  local user=$1 method=$2 path=$3 body=${4:-} status
  if [ -n "$body" ]; then
    status=$(req "$method" "$path" -H "Cookie: __Host-rampart_session=${session[$user]}" \
      -H 'Content-Type: application/json' --data-binary "$body")
  else
    status=$(req "$method" "$path" -H "Cookie: __Host-rampart_session=${session[$user]}")
  fi
  valid_counts[$status]=$(( ${valid_counts[$status]:-0} + 1 ))
  if [ "$status" = 429 ]; then
    valid_429+=("$user $method $path")
  fi
}

# bad: the next request of a cycle of bad ones (no valid session). The
# sign-in phase ($1 = signin) leaves out the kinds that spend the sign-in
# budgets of the address, which the script itself needs.
bad() {
  local kinds=10 status
  [ "${1:-}" = signin ] && kinds=7
  case $(( n_bad % kinds )) in
    0) status=$(req GET /api/me -H 'Cookie: __Host-rampart_session=v1.k1.garbage.garbage') ;;
    1) status=$(req GET /api/venues -H 'Authorization: Bearer not.a.token') ;;
    2) status=$(req GET /api/tokens -H 'Authorization: Basic YWRtaW46YWRtaW4=') ;;
    3) status=$(req GET /api/me -H 'Sec-Fetch-Site: cross-site' -H 'Sec-Fetch-Mode: no-cors' -H 'Sec-Fetch-Dest: image') ;;
    4) status=$(req POST /api/venues -H 'Sec-Fetch-Site: cross-site' -H 'Origin: https://evil.example' \
         -H 'Content-Type: application/x-www-form-urlencoded' --data 'code=X') ;;
    5) status=$(req GET /api/sessions) ;;
    6) status=$(req GET /api/me -H "Cookie: __Host-rampart_session=v1.zz.$(printf 'A%.0s' {1..32}).$(printf 'B%.0s' {1..43})") ;;
    7) status=$(req POST /auth/confirm) ;;
    8) status=$(req GET '/auth/link?token=bogus') ;;
    9) status=$(req POST /api/auth/login-link -H 'Content-Type: application/json' --data-binary '{"email":') ;;
  esac
  n_bad=$(( n_bad + 1 ))
  bad_counts[$status]=$(( ${bad_counts[$status]:-0} + 1 ))
}

# sign_in USER: link request, the new link from the mailbox, open it,
# confirm; stores the session cookie.
sign_in() {
  local user=$1 before status link linkck i
  before=$(links)
  status=$(req POST /api/auth/login-link -H 'Content-Type: application/json' \
    --data-binary "{\"email\":\"$user@$domain\"}")
  if [ "$status" != 202 ]; then
    echo "explore: sign-in link request for $user: $status $(cat "$tmp/b")" >&2
    exit 1
  fi
  link=""
  for i in $(seq 1 20); do
    link=$(comm -13 <(printf '%s\n' "$before") <(links) | head -n 1)
    [ -n "$link" ] && break
    sleep 0.3
  done
  if [ -z "$link" ]; then
    echo "explore: no new link in the demo mailbox for $user" >&2
    exit 1
  fi
  status=$(req GET "$link")
  linkck=$(cookie_from_headers __Host-rampart_link)
  if [ "$status" != 303 ] || [ -z "$linkck" ]; then
    echo "explore: opening the link for $user: $status" >&2
    exit 1
  fi
  status=$(req POST /auth/confirm -H "Cookie: __Host-rampart_link=$linkck")
  session[$user]=$(cookie_from_headers __Host-rampart_session)
  if [ "$status" != 200 ] || [ -z "${session[$user]}" ]; then
    echo "explore: confirming the link for $user: $status $(cat "$tmp/b")" >&2
    exit 1
  fi
  echo "explore: signed in $user@$domain"
}

for u in "${users[@]}"; do
  bad signin
  sign_in "$u"
  bad signin
done

# Venue ids of the demo organization, and one that exists nowhere.
valid admin GET /api/venues
venue=$(grep -oE '"id":"[0-9a-f-]{36}"' "$tmp/b" | head -n 1 | cut -d'"' -f4)
nowhere=00000000-0000-4000-8000-000000000000

for round in 1 2; do
  for u in "${users[@]}"; do
    for call in \
      "GET /api/me" "GET /api/sessions" "GET /api/agents" "GET /api/venues" \
      "GET /api/venues/$venue" "GET /api/venues/$nowhere" "GET /api/venues/not-a-uuid" \
      "GET /api/members" "GET /api/invites" "GET /api/tokens" "GET /api/audit/events" \
      "GET /api/proposals" "DELETE /api/tokens/$nowhere" "GET /" "GET /openapi.json"; do
      valid "$u" ${call}
      bad
    done
    valid "$u" POST /api/venues '{"code":'
    bad
    valid "$u" POST /api/venues '{"code":"X","name":1}'
    bad
    valid "$u" PATCH "/api/members/$nowhere" '{"role":"viewer","venue_codes":[]}'
    bad
    valid "$u" POST /api/auth/switch-org "{\"organization_id\":\"$nowhere\"}"
    bad
  done
done
for u in "${users[@]}"; do
  valid "$u" GET /api/me
done

summary() {
  local -n counts=$1
  local s out=""
  for s in $(printf '%s\n' "${!counts[@]}" | sort); do out+="${counts[$s]}×$s "; done
  echo "${out% }"
}
echo "explore: valid-session requests: $(summary valid_counts)"
echo "explore: bad requests: $(summary bad_counts)"
if [ ${#valid_429[@]} -gt 0 ]; then
  echo "explore: FAIL: ${#valid_429[@]} valid-session requests got 429:" >&2
  printf '  %s\n' "${valid_429[@]}" >&2
  exit 1
fi
echo "explore: ok: no valid-session request got 429"
