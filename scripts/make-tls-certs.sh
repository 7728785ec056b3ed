#!/usr/bin/env bash
# Makes a private CA and a coordinator certificate signed by it, with openssl:
#   scripts/make-tls-certs.sh OUT_DIR NAME...
# NAMEs are the host names and IP addresses workers and clients use to reach
# the coordinator (e.g. coord.example.internal 10.0.0.5 127.0.0.1). Writes
# OUT_DIR/ca.crt (give it to workers and clients: --tls-ca), OUT_DIR/ca.key
# (keep it offline), OUT_DIR/tls.crt and OUT_DIR/tls.key (the coordinator's
# --tls-cert and --tls-key; the names of a Kubernetes TLS secret). Keys are
# mode 0600. Refuses to overwrite existing files.
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 OUT_DIR NAME..." >&2
  exit 2
fi
out="$1"
shift
for file in ca.crt ca.key tls.crt tls.key; do
  if [[ -e "$out/$file" ]]; then
    echo "make-tls-certs.sh: $out/$file exists; not overwriting" >&2
    exit 1
  fi
done
san=()
for name in "$@"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then san+=("IP:$name"); else san+=("DNS:$name"); fi
done
mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${key[@]}" -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 \
  -subj "/CN=flopwise CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=keyCertSign,cRLSign 2>"$work/log"
openssl req "${key[@]}" -keyout "$out/tls.key" -out "$work/tls.csr" -subj "/CN=$1" 2>>"$work/log"
(IFS=,; printf 'subjectAltName = %s\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n' "${san[*]}") >"$work/ext"
openssl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -out "$out/tls.crt" -days 825 -extfile "$work/ext" 2>>"$work/log"
chmod 0644 "$out/ca.crt" "$out/tls.crt"
echo "make-tls-certs.sh: $out/tls.crt for ${san[*]}, signed by $out/ca.crt" >&2
