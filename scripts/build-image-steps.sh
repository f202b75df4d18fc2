#!/bin/sh
# The build steps of the image (the Dockerfile's build stage runs them in this order); .ci/run
# runs the same steps on the checkout, so CI exercises what the image does without a Docker engine.
#
#   fetch           download every package of pnpm-lock.yaml into pnpm's store (needs only the
#                   lockfile, the root manifest, the workspace file and patches/: the Dockerfile
#                   caches this layer)
#   build           install from the lockfile without the network, bundle the server and the
#                   migration CLI into apps/server/dist
#   deploy <outdir> the server's package, bundle and migrations, with production dependencies
#                   only (what dist/ leaves external), into <outdir>: the runtime image's /app
set -eu
cd "$(dirname "$0")/.."

case "${1:-}" in
  fetch)
    pnpm fetch
    ;;
  build)
    pnpm install --frozen-lockfile --offline
    pnpm build
    ;;
  deploy)
    [ -n "${2:-}" ] || { echo "usage: $0 deploy <outdir>" >&2; exit 2; }
    # --legacy: the server's production dependencies hold no workspace package (those are
    # bundled), so pnpm 10's injected-workspace deploy has nothing to inject.
    pnpm --filter @tasks/server deploy --legacy --prod "$2"
    ;;
  *)
    echo "usage: $0 fetch | build | deploy <outdir>" >&2
    exit 2
    ;;
esac
