package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The images a real-node lab imports into every node's containerd, built
// locally by hack/image (nothing is ever pulled; Pods must say
// imagePullPolicy: Never or IfNotPresent).
const (
	// ImageTag is the tag of every image the lab builds.
	ImageTag = "lab"
	// PauseImage is containerd's sandbox_image.
	PauseImage = "barelb.test/pause:" + ImageTag
	// BackendImage runs e2e/cmd/backend (entrypoint /backend), the seed's
	// httpd stand-in.
	BackendImage = "barelb.test/backend:" + ImageTag
	// BarelbImage is the controller and speaker image (entrypoint
	// /controller; /speaker beside it), as `make image` builds it.
	BarelbImage = "barelb:" + ImageTag
)

// labImages are hack/image's names of the images above; each is imported
// from <imageDir>/<name>.tar.
var labImages = []string{"pause", "backend", "barelb"}

// buildImages builds the lab's images into the state directory unless
// Options.ImageDir holds them already. go build's cache makes a rebuild
// of unchanged sources take seconds.
func (l *Lab) buildImages(ctx context.Context) error {
	if l.opts.ImageDir != "" {
		l.imageDir = l.opts.ImageDir
		for _, n := range labImages {
			if _, err := os.Stat(filepath.Join(l.imageDir, n+".tar")); err != nil {
				return fmt.Errorf("Options.ImageDir: %w (build with: make image IMAGE_TAG=%s IMAGES=all)", err, ImageTag)
			}
		}
		return nil
	}
	l.imageDir = filepath.Join(l.StateDir, "images")
	return l.hackImage(ctx, l.imageDir, ImageTag, labImages...)
}

// hackImage runs hack/image: the named images, tagged tag, into out.
func (l *Lab) hackImage(ctx context.Context, out, tag string, names ...string) error {
	args := append([]string{"run", ".", "-root", l.opts.RepoRoot, "-out", out, "-tag", tag}, names...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(l.opts.RepoRoot, "hack", "image")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build images (hack/image): %v: %s", err, b)
	}
	return nil
}

// LoadBarelbImage builds barelb's image as `make image IMAGE_TAG=tag`
// does and imports it into every node's containerd, as an operator pushes
// a new release to the registry their nodes pull from: the second tag an
// upgrade test rolls to. It returns the image reference (barelb:<tag>).
// Real-node labs only; go build's cache makes it take seconds.
func (l *Lab) LoadBarelbImage(ctx context.Context, tag string) (string, error) {
	if !l.opts.RealNodes {
		return "", fmt.Errorf("LoadBarelbImage: not a real-node lab")
	}
	dir := filepath.Join(l.StateDir, "images-"+tag)
	if err := l.hackImage(ctx, dir, tag, "barelb"); err != nil {
		return "", err
	}
	err := l.forEachNode(func(n *Node) error { return l.importImage(ctx, n, filepath.Join(dir, "barelb.tar")) })
	return "barelb:" + tag, err
}
