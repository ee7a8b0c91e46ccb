# Multi-stage: the build stage installs every dependency and compiles src to dist (`npm run build`,
# which also copies the SQL migrations and the dashboard page); the runtime stage has production
# dependencies only, runs the compiled JavaScript (no TypeScript loader in the serving process) and runs
# as an unprivileged user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/var/lib/recsvc
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Recipes are read from models/ relative to the working directory; the bundled sample from ../sample
# relative to dist/data/importers.
COPY models ./models
COPY sample ./sample
COPY openapi ./openapi
RUN useradd --system --uid 10001 --home /app recsvc && mkdir -p /var/lib/recsvc/imports && chown -R recsvc /var/lib/recsvc
USER recsvc
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# A larger young generation (the flag `npm start` uses): a request allocates short-lived objects only,
# and scavenges were ~9% of the serving CPU with the default 16 MB semi-space (bench/README.md, Serving).
CMD ["node", "--max-semi-space-size=64", "dist/server.js"]
