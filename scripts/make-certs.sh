#!/usr/bin/env bash
# The seed post's certificate steps with today's parameters: a local CA, a server
# key and CSR signed by that CA (SANs localhost and 127.0.0.1), keys without a
# passphrase so httpd starts unattended, key files at mode 0600.
# Usage: scripts/make-certs.sh DIR      (idempotent: keeps what is already there)
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
made=()
if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.crt -days 825 -subj "/CN=mod_isbalancer demo CA" 2>/dev/null
  made+=(ca.key ca.crt)
fi
if [ ! -s server.key ] || [ ! -s server.crt ]; then
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
    -days 825 -extfile server.ext 2>/dev/null
  made+=(server.key server.csr server.crt)
fi
chmod 0600 ca.key server.key
chmod 0644 ca.crt server.crt
if [ ${#made[@]} -gt 0 ]; then
  echo "make-certs: made ${made[*]} in $(pwd)"
else
  echo "make-certs: certificates already in $(pwd)"
fi
