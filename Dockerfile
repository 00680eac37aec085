# syntax=docker/dockerfile:1
# Build a static binary, then ship it on distroless/static: CA certificates,
# no shell, and root, as GitHub requires of Docker actions (no USER line).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/vultr-image-action/vultr-image-action/internal/cli.Version=${VERSION}" \
      -o /out/usr/local/bin/vultr-image-action . \
 && ln -s vultr-image-action /out/usr/local/bin/vultr-image-action-post

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /
ENTRYPOINT ["/usr/local/bin/vultr-image-action"]
