#!/bin/bash
# Container health: a real protocol exchange with the service on its own port, not a
# process check. Usage: healthcheck.sh smtpd|imapd|sieved|admin-api|deliverd
set -u
exec 2>/dev/null
case "${1:-}" in
  smtpd)
    # The MX greets with 220 and answers EHLO; submissions (465) completes a TLS handshake.
    exec 3<>/dev/tcp/127.0.0.1/25 || exit 1
    read -r -t 5 greeting <&3 || exit 1
    [[ $greeting == 220* ]] || exit 1
    printf 'EHLO healthcheck\r\n' >&3
    while read -r -t 5 line <&3; do [[ $line == 250\ * ]] && break; [[ $line == 250-* ]] || exit 1; done
    [[ $line == 250\ * ]] || exit 1
    printf 'QUIT\r\n' >&3
    printf 'QUIT\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:465 | grep -q '^220 '
    ;;
  imapd)
    printf 'a LOGOUT\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:993 | grep -q '^\* OK'
    ;;
  sieved)
    exec 3<>/dev/tcp/127.0.0.1/4190 || exit 1
    while read -r -t 5 line <&3; do [[ $line == OK* ]] && exit 0; done
    exit 1
    ;;
  admin-api)
    printf 'GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
      timeout 5 openssl s_client -quiet -connect 127.0.0.1:443 | head -1 | grep -q '^HTTP/1.1 200'
    ;;
  deliverd)
    # It listens on nothing: its work is the outbound queue. Unhealthy when a record has
    # been due for more than HEALTH_QUEUE_LAG seconds (120) without being claimed.
    now=$(date +%s) || exit 1
    mailstead --json queue list |
      jq -e --argjson limit "$((now - ${HEALTH_QUEUE_LAG:-120}))" \
        'type == "array" and all(.[]; .leased_by != "" or .next_attempt == 0 or .next_attempt >= $limit)' >/dev/null
    ;;
  *)
    echo "usage: healthcheck.sh smtpd|imapd|sieved|admin-api|deliverd" >&2
    exit 2
    ;;
esac
