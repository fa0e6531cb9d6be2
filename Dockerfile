# barelb's image: the controller and speaker binaries, static, on a
# distroless base. Not built by make test (the CI machine has no container
# engine); build it with
#   docker build -t barelb:dev .
# and use that tag (or your registry's) in config/deploy/*.yaml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/ ./controller ./speaker

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/controller /out/speaker /
