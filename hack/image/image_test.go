package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImages builds every image into a temporary directory and reads it
// back from the OCI layout and from the docker-format tarball, as
// containerd and docker would: the entrypoint and user of each, the
// labels, exactly the expected files in the one layer, each one a static
// executable, and no shell anywhere.
func TestImages(t *testing.T) {
	out := t.TempDir()
	res, err := build(options{Root: "../..", Out: out, Tag: "test", Version: "v9.9.9-test", Arch: "amd64", Names: []string{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(specs()) {
		t.Fatalf("built %d images, want %d", len(res), len(specs()))
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		byRef[d.Annotations[refName]] = d.Digest
	}
	for _, s := range specs() {
		t.Run(s.Name, func(t *testing.T) {
			ref := s.Repo + ":test"
			dg, ok := byRef[ref]
			if !ok {
				t.Fatalf("OCI layout has no image named %q (has %v)", ref, byRef)
			}
			img, err := idx.Image(dg)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, s, img)

			// The tarball carries the very same image under its tag: the
			// same config blob (docker's format has no manifest of its own
			// to compare, the reader synthesises one).
			tag, _ := name.NewTag(ref)
			timg, err := tarball.ImageFromPath(filepath.Join(out, s.Name+".tar"), &tag)
			if err != nil {
				t.Fatal(err)
			}
			tc, err := timg.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			lc, err := img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			if tc != lc {
				t.Errorf("tarball's image config %s, OCI layout's %s", tc, lc)
			}
			checkImage(t, s, timg)
		})
	}
}

func checkImage(t *testing.T, s spec, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, s.Entrypoint) {
		t.Errorf("entrypoint %q, want %q", c.Entrypoint, s.Entrypoint)
	}
	if c.User != s.User {
		t.Errorf("user %q, want %q", c.User, s.User)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version": "v9.9.9-test",
		"org.opencontainers.image.source":  Source,
		"org.opencontainers.image.title":   s.Title,
	} {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if rev := c.Labels["org.opencontainers.image.revision"]; len(rev) != 40 {
		t.Errorf("label org.opencontainers.image.revision = %q, want a commit hash", rev)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	files := layerFiles(t, layers[0])
	var want []string
	for _, f := range s.Files {
		want = append(want, strings.TrimPrefix(f.Path, "/"))
	}
	var got []string
	for n := range files {
		got = append(got, n)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("layer holds %q, want exactly %q", got, want)
	}
	for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, ok := files[sh]; ok {
			t.Errorf("image contains a shell: /%s", sh)
		}
	}
	for n, f := range files {
		if f.mode&0o111 == 0 {
			t.Errorf("/%s is not executable (mode %o)", n, f.mode)
		}
		if interp := elfInterp(t, n, f.data); interp != "" {
			t.Errorf("/%s is dynamically linked (interpreter %s): CGO crept in", n, interp)
		}
	}
}

type layerFile struct {
	mode int64
	data []byte
}

func layerFiles(t *testing.T, l v1.Layer) map[string]layerFile {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]layerFile{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = layerFile{mode: h.Mode, data: b}
	}
	return files
}

// elfInterp is the binary's PT_INTERP: empty for a static executable.
func elfInterp(t *testing.T, name string, b []byte) string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/%s: not an ELF executable: %v", name, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			s, _ := io.ReadAll(p.Open())
			return strings.TrimRight(string(s), "\x00")
		}
	}
	return ""
}

// TestDockerfileMatches: the Dockerfile (for people with a container
// engine) must give the barelb image the same entrypoint, user and files
// as this program.
func TestDockerfileMatches(t *testing.T) {
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var final []string // the last stage's instructions
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		final = append(final, line)
	}
	s := specs()[0]
	var entry []string
	var user string
	var copied []string
	for _, line := range final {
		op, arg, _ := strings.Cut(line, " ")
		switch op {
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(arg), &entry); err != nil {
				t.Fatalf("ENTRYPOINT %s: want the exec (JSON) form: %v", arg, err)
			}
		case "USER":
			user = strings.TrimSpace(arg)
		case "COPY":
			for _, w := range strings.Fields(arg) {
				if !strings.HasPrefix(w, "--") {
					copied = append(copied, "/"+filepath.Base(w))
				}
			}
			copied = copied[:len(copied)-1] // the destination
		case "CMD":
			t.Errorf("Dockerfile sets CMD %s; the image built here has none", arg)
		}
	}
	if !slices.Equal(entry, s.Entrypoint) {
		t.Errorf("Dockerfile ENTRYPOINT %q, hack/image's %q", entry, s.Entrypoint)
	}
	if user != s.User {
		t.Errorf("Dockerfile USER %q, hack/image's %q", user, s.User)
	}
	var want []string
	for _, f := range s.Files {
		want = append(want, f.Path)
	}
	slices.Sort(copied)
	slices.Sort(want)
	if !slices.Equal(copied, want) {
		t.Errorf("Dockerfile copies %q into the final image, hack/image puts %q", copied, want)
	}
}
