# Builds the writ binary and serves the console without the hydration bundle (server-rendered
# pages work without JavaScript). Queries are checked against the committed .sqlx data.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release -p server --bin writ \
    && mkdir -p /out/site \
    && cp target/release/writ /out/writ \
    && cp style/writ.css /out/site/writ.css

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/writ writ
COPY --from=build /out/writ /usr/local/bin/writ
COPY --from=build /out/site /usr/share/writ/site
USER writ
ENV WRIT_LISTEN=0.0.0.0:3000 \
    WRIT_SITE_ROOT=/usr/share/writ/site
EXPOSE 3000
ENTRYPOINT ["writ"]
CMD ["serve"]
