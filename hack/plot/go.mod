// Module plot draws the sizing figure from make bench-scale's results. It
// is its own module so golang.org/x/image (its font) and the newer
// golang.org/x/sys it asks for stay out of barelb's main go.mod.
module github.com/barelb/barelb/hack/plot

go 1.26.0

require golang.org/x/image v0.48.0
