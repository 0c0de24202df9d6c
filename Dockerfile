# pay-common for CloudBase cloud hosting (云托管) or any container platform.
# Listens on port 80 (cloud hosting's default). Credentials come from the
# service's environment variables (see docs/deploy.md); never bake them in.

# ---- build ---------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# --locked: build exactly what Cargo.lock pins. aws-lc-sys and the bundled
# SQLite are compiled by the image's gcc; no cmake or system libraries needed.
# Profile dist (Cargo.toml): release plus thin LTO, stripped.
RUN cargo build --profile dist --locked --bin pay-common \
 && cp target/dist/pay-common /usr/local/bin/pay-common

# ---- runtime -------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to api.mch.weixin.qq.com and the business webhook.
# libcap2-bin only to grant the one capability below, then removed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /app/data \
 && chown -R app:app /app

COPY --from=build /usr/local/bin/pay-common /app/pay-common
# A non-root process may not bind ports below 1024 unless the runtime allows
# it (Docker does; many Kubernetes setups do not). Give the binary just
# CAP_NET_BIND_SERVICE so `PORT=80` works as user `app` everywhere.
RUN setcap 'cap_net_bind_service=+ep' /app/pay-common \
 && apt-get purge -y --auto-remove libcap2-bin

USER app
WORKDIR /app
ENV PORT=80 \
    HOST=0.0.0.0
EXPOSE 80
ENTRYPOINT ["/app/pay-common"]
CMD ["serve"]
