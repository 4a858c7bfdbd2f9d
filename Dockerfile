# The bpfdraft server as a container image: a static binary on distroless,
# run as an unprivileged user. The browser assets are embedded in the
# binary, so no Node.js step is needed.
#
#   docker build -t bpfdraft .
#   docker run -p 8080:8080 -v bpfdraft-data:/data bpfdraft
#
# Settings come from the environment (BPFDRAFT_<FLAG>, see docs/operations.md)
# or from flags after "serve"; a flag wins over the environment.

FROM golang:1.26 AS build
WORKDIR /src
# Modules in a layer of their own, downloaded again only when they change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/bpfdraft ./cmd/bpfdraft
# An empty data directory for the final stage, owned by its user: a new
# volume mounted on /data starts with this owner.
RUN mkdir /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bpfdraft /bpfdraft
COPY --from=build --chown=65532:65532 /out/data /data
# distroless's "nonroot" user.
USER 65532:65532
# The defaults are environment variables rather than flags in CMD, so
# that "docker run IMAGE serve --demo" and BPFDRAFT_* settings keep them.
ENV BPFDRAFT_ADDR=0.0.0.0:8080 \
    BPFDRAFT_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
# The image has no shell or curl: the binary checks its own /readyz (on
# the port of BPFDRAFT_ADDR).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/bpfdraft", "probe"]
# serve drains websockets on SIGTERM within --shutdown-timeout (15 s by
# default): stop with more than that (docker stop -t 30).
ENTRYPOINT ["/bpfdraft"]
CMD ["serve"]
