package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// options are the command line's settings.
type options struct {
	Root, Out    string
	Tag, Version string
	Arch         string
	Names        []string
}

// result is one image written.
type result struct {
	Name, Ref string
	Digest    v1.Hash
	Tarball   string // docker save format
	Layout    string // OCI layout directory (shared by every image)
	Image     v1.Image
}

// refName is the annotation that names an image inside an OCI layout.
const refName = "org.opencontainers.image.ref.name"

// build compiles and writes every image o names. The OCI layout under
// o.Out is rebuilt from scratch, so it holds exactly the images of this run.
func build(o options) ([]result, error) {
	ss, err := lookup(o.Names)
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("-root %s: not the barelb checkout: %w", root, err)
	}
	if o.Version == "" {
		o.Version = gitOr(root, "dev", "describe", "--tags", "--always", "--dirty")
	}
	revision := gitOr(root, "unknown", "rev-parse", "HEAD")
	created := sourceTime(root)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	bin, err := os.MkdirTemp("", "barelb-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	lpath := filepath.Join(o.Out, "oci")
	if err := os.RemoveAll(lpath); err != nil {
		return nil, err
	}
	lp, err := layout.Write(lpath, empty.Index)
	if err != nil {
		return nil, err
	}
	var out []result
	for _, s := range ss {
		img, err := assemble(s, root, bin, o.Arch, created, labels(s, o.Version, revision, created))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		ref := s.Repo + ":" + o.Tag
		tag, err := name.NewTag(ref)
		if err != nil {
			return nil, err
		}
		if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{refName: ref})); err != nil {
			return nil, err
		}
		tb := filepath.Join(o.Out, s.Name+".tar")
		if err := tarball.WriteToFile(tb, tag, img); err != nil {
			return nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, result{Name: s.Name, Ref: ref, Digest: d, Tarball: tb, Layout: lpath, Image: img})
	}
	return out, nil
}

// labels are the OCI annotation keys as image labels.
func labels(s spec, version, revision string, created time.Time) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       s.Title,
		"org.opencontainers.image.description": s.Description,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
	}
}

// assemble builds s's binaries into bin and makes the image: one layer with
// the binaries at /, OCI media types, the config's entrypoint and user.
func assemble(s spec, root, bin, arch string, created time.Time, lbl map[string]string) (v1.Image, error) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, f := range s.Files {
		out := filepath.Join(bin, s.Name, filepath.Base(f.Path))
		if err := goBuild(root, f.Pkg, out, arch); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{
			Name: strings.TrimPrefix(f.Path, "/"), Mode: 0o755, Size: int64(len(b)),
			Typeflag: tar.TypeReg, ModTime: created, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint: s.Entrypoint,
			User:       s.User,
			WorkingDir: "/",
			Labels:     lbl,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "barelb hack/image: " + describeFiles(s.Files),
			Comment:   "static Go binaries, CGO_ENABLED=0",
		},
	})
}

func describeFiles(fs []file) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Pkg+" -> "+f.Path)
	}
	return strings.Join(parts, ", ")
}

// goBuild compiles pkg as a static Linux binary. -trimpath and no VCS
// stamp keep the bytes independent of the checkout's path.
func goBuild(root, pkg, out, arch string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, b)
	}
	return nil
}

// sourceTime is SOURCE_DATE_EPOCH if set, else the last commit's time, else
// the Unix epoch: never the wall clock, so rebuilds give the same digest.
func sourceTime(root string) time.Time {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOr(root, "0", "log", "-1", "--format=%ct")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		n = 0
	}
	return time.Unix(n, 0).UTC()
}

func gitOr(root, fallback string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return fallback
	}
	return strings.TrimSpace(string(b))
}
