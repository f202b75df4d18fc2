# syntax=docker/dockerfile:1
# The API image: `docker build -t tasks-api .`, then
#   docker run --rm -e DATABASE_URL=... tasks-api node dist/migrate.js   (apply migrations)
#   docker run -e DATABASE_URL=... -e JWT_SECRET=... -p 3000:3000 tasks-api
# The build steps live in scripts/build-image-steps.sh, which .ci/run also runs on every change.

FROM node:24-slim AS build
ENV CI=true COREPACK_ENABLE_DOWNLOAD_PROMPT=0 TURBO_TELEMETRY_DISABLED=1
WORKDIR /repo
# pnpm comes from the hash-pinned `packageManager` of package.json.
RUN corepack enable
# Packages first, from the lockfile alone: this layer is rebuilt only when dependencies change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches/ patches/
COPY scripts/build-image-steps.sh scripts/
RUN scripts/build-image-steps.sh fetch
COPY . .
RUN scripts/build-image-steps.sh build && scripts/build-image-steps.sh deploy /out

FROM node:24-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Owned by root and only readable by the app's user: the process cannot rewrite its own code.
COPY --from=build /out /app
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `node dist/migrate.js [deploy|status]` is the migration entry (compose's `migrate` service),
# `node --import ./dist/tracing.js dist/worker.js` the job workers' (compose's `worker` service).
# dist/tracing.js starts OpenTelemetry before the app loads, when OTEL_EXPORTER_OTLP_ENDPOINT is set.
CMD ["node", "--import", "./dist/tracing.js", "dist/server.js"]
