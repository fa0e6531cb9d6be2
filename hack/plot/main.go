// Command plot draws README's sizing figure (docs/sizing.png) from the
// JSON that `go run ./hack/bench/scale -json FILE` writes: the layer 2
// plan's CPU time against the number of Services, one line per cluster
// size, for a full plan (log-log) and for one node gone from a Planner.
//
//	go run . -in ../../bin/bench-scale.json -out ../../docs/sizing.png
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// result is one benchmark of the scale bench: its name and metrics.
type result struct {
	Name    string             `json:"name"`
	Metrics map[string]float64 `json:"metrics"`
}

// series is one line: a cluster size, its points by Services.
type series struct {
	nodes  int
	points [][2]float64 // Services, ms
}

func main() {
	in := flag.String("in", "bin/bench-scale.json", "the scale bench's results")
	out := flag.String("out", "docs/sizing.png", "the figure")
	flag.Parse()
	b, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	var rs []result
	if err := json.Unmarshal(b, &rs); err != nil {
		fail(fmt.Errorf("%s: %w", *in, err))
	}
	img := image.NewRGBA(image.Rect(0, 0, 960, 430))
	fill(img, img.Bounds(), color.White)
	panel(img, image.Rect(0, 0, 480, 430), "full layer 2 plan (Compute), IPv4", "CPU per plan", pick(rs, "BenchmarkScalePlan/full/ipv4/"))
	panel(img, image.Rect(480, 0, 960, 430), "one node gone (Planner), IPv4", "CPU per change", pick(rs, "BenchmarkScalePlan/node-gone/ipv4/"))
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if err := png.Encode(f, img); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
	fmt.Println("wrote", *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plot:", err)
	os.Exit(1)
}

// pick groups the results under prefix (".../nodes=N/services=M") by
// node count, CPU milliseconds per operation.
func pick(rs []result, prefix string) []series {
	byNodes := map[int]*series{}
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.Name, prefix)
		if !ok {
			continue
		}
		var nodes, services int
		for _, part := range strings.Split(rest, "/") {
			k, v, _ := strings.Cut(part, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "nodes":
				nodes = n
			case "services":
				services = n
			}
		}
		ms, ok := r.Metrics["cpu-ms/op"]
		if !ok {
			ms = r.Metrics["ns/op"] / 1e6
		}
		if nodes == 0 || services == 0 || ms <= 0 {
			continue
		}
		s := byNodes[nodes]
		if s == nil {
			s = &series{nodes: nodes}
			byNodes[nodes] = s
		}
		s.points = append(s.points, [2]float64{float64(services), ms})
	}
	var out []series
	for _, s := range byNodes {
		sort.Slice(s.points, func(i, j int) bool { return s.points[i][0] < s.points[j][0] })
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].nodes < out[j].nodes })
	return out
}

var palette = []color.RGBA{{0x1f, 0x77, 0xb4, 255}, {0xff, 0x7f, 0x0e, 255}, {0x2c, 0xa0, 0x2c, 255}, {0xd6, 0x27, 0x28, 255}, {0x94, 0x67, 0xbd, 255}}

// panel draws one log-log chart of ms against Services in r.
func panel(img *image.RGBA, r image.Rectangle, title, ylabel string, ss []series) {
	plot := image.Rect(r.Min.X+70, r.Min.Y+52, r.Max.X-40, r.Max.Y-80)
	text(img, r.Min.X+70, r.Min.Y+18, title, color.Black)
	if len(ss) == 0 {
		text(img, plot.Min.X+10, plot.Min.Y+20, "not measured", color.Black)
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.points {
			lo, hi = math.Min(lo, p[1]), math.Max(hi, p[1])
			xlo, xhi = math.Min(xlo, p[0]), math.Max(xhi, p[0])
		}
	}
	ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yhi <= ylo {
		yhi = ylo + 1
	}
	lxlo, lxhi := math.Log10(xlo), math.Log10(xhi)
	if lxhi <= lxlo {
		lxhi = lxlo + 1
	}
	px := func(x float64) int {
		return plot.Min.X + int((math.Log10(x)-lxlo)/(lxhi-lxlo)*float64(plot.Dx()))
	}
	py := func(y float64) int {
		return plot.Max.Y - int((math.Log10(y)-ylo)/(yhi-ylo)*float64(plot.Dy()))
	}
	grey := color.RGBA{0xdd, 0xdd, 0xdd, 255}
	for e := ylo; e <= yhi; e++ {
		y := py(math.Pow(10, e))
		line(img, plot.Min.X, y, plot.Max.X, y, grey)
		text(img, r.Min.X+8, y+4, msLabel(math.Pow(10, e)), color.Black)
	}
	for _, p := range ss[0].points {
		x := px(p[0])
		line(img, x, plot.Min.Y, x, plot.Max.Y, grey)
		text(img, x-16, plot.Max.Y+16, thousands(int(p[0])), color.Black)
	}
	line(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, color.Black)
	line(img, plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, color.Black)
	text(img, plot.Min.X+plot.Dx()/2-80, plot.Max.Y+36, "Services (log scale)", color.Black)
	text(img, r.Min.X+8, plot.Min.Y-14, ylabel, color.Black)
	for i, s := range ss {
		c := palette[i%len(palette)]
		for j := 1; j < len(s.points); j++ {
			a, b := s.points[j-1], s.points[j]
			thick(img, px(a[0]), py(a[1]), px(b[0]), py(b[1]), c)
		}
		for _, p := range s.points {
			fill(img, image.Rect(px(p[0])-3, py(p[1])-3, px(p[0])+4, py(p[1])+4), c)
		}
		text(img, plot.Min.X+(i%4)*96, r.Max.Y-12, thousands(s.nodes)+" nodes", c)
	}
}

func msLabel(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%g s", ms/1000)
	case ms >= 1:
		return fmt.Sprintf("%g ms", ms)
	default:
		return fmt.Sprintf("%g us", ms*1000)
	}
}

// thousands formats n with commas (5,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// line draws from (x0,y0) to (x1,y1), one pixel wide.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		img.Set(x0+(x1-x0)*i/steps, y0+(y1-y0)*i/steps, c)
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	for d := -1; d <= 1; d++ {
		line(img, x0, y0+d, x1, y1+d, c)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
