# imgshield container image.
#
# The build stage runs scripts/build-release.sh and nothing else; scripts/test.sh runs the same
# script on every CI run (there is no Docker engine in CI), so these steps cannot drift from a
# tested build. The runtime stage installs scripts/runtime-packages.txt, which that script checks
# against the libraries the binary links (scripts/runtime-deps.sh --check).
#
#   docker build -t imgshield .
#   docker run --rm -p 8080:8080 imgshield --allow-host images.example.com

# Debian bookworm with the Rust toolchain the lockfile needs (Cargo.toml rust-version; checked
# by scripts/check-msrv.sh on every CI run).
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/build-release.sh /out

FROM debian:bookworm-slim
COPY scripts/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/runtime-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/imgshield \
        --shell /usr/sbin/nologin imgshield
COPY --from=build /out/imgshield /usr/local/bin/imgshield
# jemalloc is linked in (chosen by the soak, docs/BENCHMARKS.md); no MALLOC_ARENA_MAX needed.
# Without --root, the sample set is generated under the user's home (~/.cache) on first start.
ENV IMGSHIELD_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info \
    IMGSHIELD_LOG_FORMAT=json
USER imgshield
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/imgshield"]
