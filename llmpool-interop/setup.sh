#!/bin/sh
# Installs what the interop suite drives (docs/interop.md): nginx from Debian and node.js.
# The suite skips nginx or node scenarios, with a message, when these are missing.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  echo "nginx: $(/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1)"
else
  apt-get update
  apt-get install -y --no-install-recommends nginx-light
fi
if command -v node >/dev/null 2>&1; then
  echo "node: $(node --version)"
else
  apt-get install -y --no-install-recommends nodejs
fi
command -v openssl >/dev/null 2>&1 || apt-get install -y --no-install-recommends openssl
