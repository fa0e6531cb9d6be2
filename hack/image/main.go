// Command image builds barelb's container images without a container
// engine: it compiles static binaries (CGO_ENABLED=0) and assembles them,
// with go-containerregistry, into one-layer images with no shell and no
// base image.
//
//	cd hack/image && go run . -root ../.. -out ../../bin/image [barelb] [pause] [backend] [all]
//
// With no names it builds "barelb" (the controller and speaker image). It
// writes, under -out:
//
//	oci/        an OCI image layout holding every image built, each named by
//	            its org.opencontainers.image.ref.name annotation
//	NAME.tar    the same image in `docker save` format, for
//	            `ctr -n k8s.io images import` and `docker load`
//
// Layers and configs carry the last commit's time (or SOURCE_DATE_EPOCH),
// so the same source gives the same image digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.Root, "root", "../..", "the barelb checkout to build from")
	flag.StringVar(&o.Out, "out", "../../bin/image", "directory for oci/ and the NAME.tar files")
	flag.StringVar(&o.Tag, "tag", "dev", "tag of every image (barelb:TAG, barelb.test/pause:TAG, ...)")
	flag.StringVar(&o.Version, "version", "", "org.opencontainers.image.version label (default: git describe)")
	flag.StringVar(&o.Arch, "arch", "amd64", "GOARCH of the binaries and the image platform")
	flag.Parse()
	o.Names = flag.Args()
	res, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	for _, r := range res {
		fmt.Printf("%s %s %s\n", r.Ref, r.Digest, r.Tarball)
	}
	fmt.Printf("oci layout: %s (%s)\n", res[0].Layout, strings.Join(refs(res), ", "))
}

func refs(res []result) []string {
	var s []string
	for _, r := range res {
		s = append(s, r.Ref)
	}
	return s
}
