#!/usr/bin/env sh
# Self-signed TLS certificate for the compose stack's nginx (deploy/nginx/certs/, git-ignored).
# Browsers will warn; production uses real certificates (or the Kubernetes Ingress's).
set -eu
cd "$(dirname "$0")/nginx"
mkdir -p certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout certs/tls.key -out certs/tls.crt
chmod 600 certs/tls.key
echo "wrote deploy/nginx/certs/tls.crt and tls.key"
