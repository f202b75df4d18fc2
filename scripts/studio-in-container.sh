#!/bin/sh
# Prisma Studio inside a container (docker-compose.yml, profile `tools`). Studio listens on
# 127.0.0.1 only and answers browser requests only from the origin localhost:<its port>, so it
# keeps port 5555 inside and a small forwarder exposes it on 0.0.0.0:5556, which compose
# publishes as the host's port 5555: the browser's origin is then localhost:5555, as Studio wants.
set -eu
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}"

node -e '
const net = require("node:net");
net
  .createServer((client) => {
    const studio = net.connect(5555, "127.0.0.1");
    client.on("error", () => studio.destroy());
    studio.on("error", () => client.destroy());
    client.pipe(studio).pipe(client);
  })
  .listen(5556, "0.0.0.0");
' &
exec node_modules/.bin/prisma studio --port 5555 --browser none --url "$DATABASE_URL"
