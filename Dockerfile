# The songcheck collector on Node 20. TypeScript runs through tsx (a runtime dependency), so there is no build
# step; the build stage only exists for better-sqlite3, which uses its prebuilt binary when one matches and
# compiles with python3/make/g++ otherwise (e.g. on arm64 with a newer Node patch release).
FROM node:20.18.1-bookworm-slim AS deps
WORKDIR /opt/songcheck
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20.18.1-bookworm-slim
ENV NODE_ENV=production \
    SONGCHECK_HOST=0.0.0.0 \
    SONGCHECK_PORT=8080 \
    SONGCHECK_DATA_DIR=/data
WORKDIR /opt/songcheck
COPY --from=deps /opt/songcheck/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY collector ./collector
COPY protocol ./protocol
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.SONGCHECK_PORT||8080)+'/healthz').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"
# SIGTERM from `docker stop` closes gracefully: in-flight batches are acknowledged before exit.
CMD ["node", "bin/songcheck-collector.js", "serve"]
