# barelb's image for people with a container engine:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t barelb:dev .
# Without one, `make image` builds the same image in Go (hack/image): the
# same files at /, the same entrypoint and user, the same labels; its test
# (hack/image, TestDockerfileMatches) keeps this file in step with it.
# Use that tag (or your registry's) in config/deploy/*.yaml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ ./controller ./speaker ./cmd/speaker-bgp

# distroless static: no shell, no package manager; 65532 is its "nonroot".
FROM gcr.io/distroless/static-debian12
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="barelb" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/barelb/barelb"
COPY --from=build /out/controller /out/speaker /out/speaker-bgp /
# The controller runs as this non-root user; the speaker DaemonSet sets
# command: ["/speaker"] and runAsUser: 0 (it needs NET_RAW on the host network).
USER 65532:65532
ENTRYPOINT ["/controller"]
