# syntax=docker/dockerfile:1
# The action's image: the binary, cross-compiled on the build machine's
# platform, on a small Debian with what templates call from shell-local
# steps (sh, bash, coreutils, ssh, curl, jq, git, CA certificates, tzdata)
# and ansible-core, for the ansible provisioner from `uses:`.
# Root, as GitHub requires of Docker actions (no USER line).
#
# Both base images are build arguments: the release pins them by digest,
# and the container test (.ci/container) builds with images it made itself.
ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} \
      go build -trimpath -ldflags="-s -w -X github.com/vultr-image-action/vultr-image-action/internal/cli.Version=${VERSION}" \
      -o /out/usr/local/bin/vultr-image-action . \
 && ln -s vultr-image-action /out/usr/local/bin/vultr-image-action-post

FROM ${BASE_IMAGE}
# Installed only when the base lacks them (a prepared base has them).
RUN set -e; need=; \
    for c in sh bash ssh curl jq git ansible-playbook; do command -v "$c" >/dev/null || need=1; done; \
    [ -e /usr/share/zoneinfo/UTC ] && [ -e /etc/ssl/certs/ca-certificates.crt ] || need=1; \
    if [ -n "$need" ]; then \
      apt-get update && apt-get install -y --no-install-recommends bash coreutils openssh-client curl jq git ca-certificates tzdata ansible-core \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /out/ /
LABEL org.opencontainers.image.source="https://github.com/vultr-image-action/vultr-image-action"
ENTRYPOINT ["/usr/local/bin/vultr-image-action"]
