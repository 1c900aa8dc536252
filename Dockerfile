# pixelpress: an in-memory image service. Two stages: `build` installs the production dependencies, compiles dist/ and
# the optional native addon with a C toolchain; the final stage gets only what runs, on a slim Debian Node LTS base.
# Every RUN and COPY below is executed by scripts/docker-steps.sh (no Docker daemon needed), which test/deploy runs;
# docs/deploy.md explains the choices. Keep paths relative to WORKDIR: the script maps WORKDIR into a scratch folder.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The toolchain node-gyp needs for native/ (the ring-blur addon); the official node images carry Node's headers.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY native ./native
COPY src ./src
# Production dependencies only. npm's install script builds native/, and prepare compiles src/ to dist/ with the
# typescript dependency, so nothing compiles when the container starts.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The compiler is needed only for the step above: about 30 MB the final image does not carry.
RUN rm -rf node_modules/typescript node_modules/@typescript node_modules/.bin/tsc node_modules/.bin/tsserver native/build/Release/obj.target

FROM ${NODE_IMAGE}
# jemalloc: glibc's malloc fragments under libvips' threads and RSS creeps (docs/deploy.md has the measurements).
# A font, because slim images have none and the text watermark renders through fontconfig.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json ./
COPY config ./config
COPY playground ./playground
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release ./native/build/Release
COPY --from=build /app/node_modules ./node_modules
# A bare library name: the dynamic loader finds it in the multiarch folder of any architecture (amd64, arm64).
# MALLOC_CONF keeps blocks up to 16 MiB in jemalloc's ordinary arenas, reused rather than paged in anew for every
# request, and given back after 10 s unused (scripts/service-env.mjs says why; docs/benchmarks.md has the figures).
# The MALLOC_* settings are glibc's fallback should the preload ever be removed (jemalloc ignores them): two arenas,
# and fixed thresholds so that large pixel buffers stay in mmap and go back to the system when freed.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LD_PRELOAD=libjemalloc.so.2 \
    MALLOC_CONF=oversize_threshold:16777216,background_thread:true \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    UV_THREADPOOL_SIZE=4
# The files above belong to root and stay read-only to the service; it writes nothing, so a read-only root
# filesystem works (docs/deploy.md).
USER node
EXPOSE 8000
# SIGTERM: /ready turns 503, in-flight requests finish within PP_SHUTDOWN_GRACE_SECONDS (10 s), then the process
# exits; give the container at least 15 s (`docker stop -t 15`, compose stop_grace_period).
STOPSIGNAL SIGTERM
# Slim images have no curl: Node's fetch checks liveness.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/process/server.js"]
