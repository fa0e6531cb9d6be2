// Module image builds barelb's container images in Go, without a container
// engine. It is its own module so go-containerregistry and its dependencies
// stay out of barelb's main go.mod.
module github.com/barelb/barelb/hack/image

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
