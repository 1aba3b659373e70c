package html

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"consist/history"
)

// The plots' limits: the latency plot draws at most MaxLatencyPoints
// operations (every failed and crashed one first, up to half of them, and
// an even sample of the rest); the quantiles and rates count every
// operation, in buckets of the run's duration.
const (
	MaxLatencyPoints = 6000
	quantileBuckets  = 60
	rateBuckets      = 120
)

// The outcomes' colours, as Jepsen's plots and timeline colour them.
var (
	colourOK    = color.RGBA{R: 0x4a, G: 0x90, B: 0xd9, A: 0xff}
	colourFail  = color.RGBA{R: 0xe5, G: 0x17, B: 0x7e, A: 0xff}
	colourInfo  = color.RGBA{R: 0xff, G: 0xa4, B: 0x00, A: 0xff}
	colourFault = color.NRGBA{R: 0xd3, G: 0x2f, B: 0x2f, A: 0x30}
	colourQuant = []color.Color{
		color.RGBA{R: 0x1b, G: 0x5e, B: 0x20, A: 0xff},
		color.RGBA{R: 0x6a, G: 0x1b, B: 0x9a, A: 0xff},
		color.RGBA{R: 0x21, G: 0x21, B: 0x21, A: 0xff},
	}
)

// plots are the latency and rate plots, as inline SVG, or why there are
// none.
type plots struct {
	Latency template.HTML
	Rate    template.HTML
	Sampled string
	Missing string
}

// sample is one completed operation: when it was invoked (seconds since
// the run began), how long it took (milliseconds), and its outcome.
type sample struct {
	at, ms float64
	typ    history.Type
}

func newPlots(h *history.History, faults []fault) *plots {
	c := newClock(h)
	if !c.timed {
		return &plots{Missing: "The history's events carry no times, so latency and throughput cannot be plotted; the timeline places operations by event index."}
	}
	var all []sample
	for i := range h.Ops {
		op := &h.Ops[i]
		done := h.CompleteEvent(op)
		if done == nil {
			continue
		}
		inv := h.InvokeEvent(op)
		all = append(all, sample{at: float64(inv.Time) / 1e9, ms: float64(done.Time-inv.Time) / 1e6, typ: op.Type})
	}
	if len(all) == 0 {
		return &plots{Missing: "No operation completed, so there is no latency or throughput to plot."}
	}
	lo, hi := bounds(h, c)
	x0, x1 := float64(lo)/1e9, float64(hi)/1e9
	if x1 <= x0 {
		x1 = x0 + 1e-3
	}
	p := &plots{}
	shown := pickSamples(all)
	if len(shown) < len(all) {
		p.Sampled = fmt.Sprintf("%d of %d operations drawn (every failed or crashed one while they fit, and an even sample of the rest); the quantile lines count all of them.", len(shown), len(all))
	}
	var err error
	if p.Latency, err = latencyPlot(all, shown, faults, x0, x1); err != nil {
		p.Missing = "The latency plot could not be drawn: " + err.Error()
	}
	if p.Rate, err = ratePlot(all, faults, x0, x1); err != nil {
		p.Missing = "The rate plot could not be drawn: " + err.Error()
	}
	return p
}

// pickSamples keeps at most MaxLatencyPoints samples: the failed and
// crashed ones first, up to half, then an even stride of the rest.
func pickSamples(all []sample) []sample {
	if len(all) <= MaxLatencyPoints {
		return all
	}
	var bad, good []int
	for i, s := range all {
		if s.typ == history.OK {
			good = append(good, i)
		} else {
			bad = append(bad, i)
		}
	}
	keep := make([]int, 0, MaxLatencyPoints)
	keep = append(keep, stride(bad, MaxLatencyPoints/2)...)
	keep = append(keep, stride(good, MaxLatencyPoints-len(keep))...)
	slices.Sort(keep)
	out := make([]sample, len(keep))
	for i, k := range keep {
		out[i] = all[k]
	}
	return out
}

// stride takes n evenly spaced elements of xs (all when it holds fewer).
func stride(xs []int, n int) []int {
	if len(xs) <= n {
		return xs
	}
	out := make([]int, n)
	for i := range n {
		out[i] = xs[int(int64(i)*int64(len(xs))/int64(n))]
	}
	return out
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return p
}

// shade shades each fault's interval across the plot's height.
func shade(p *plot.Plot, faults []fault, ymin, ymax float64) error {
	first := true
	for _, f := range faults {
		from, to := float64(f.From)/1e9, float64(f.To)/1e9
		if to-from < 1e-4 {
			to = from + 1e-4
		}
		poly, err := plotter.NewPolygon(plotter.XYs{{X: from, Y: ymin}, {X: to, Y: ymin}, {X: to, Y: ymax}, {X: from, Y: ymax}})
		if err != nil {
			return err
		}
		poly.Color = colourFault
		poly.LineStyle.Width = 0
		p.Add(poly)
		if first {
			p.Legend.Add("fault", poly)
			first = false
		}
	}
	return nil
}

func latencyPlot(all, shown []sample, faults []fault, x0, x1 float64) (template.HTML, error) {
	p := newPlot("Latency", "seconds since the run began", "latency (ms, log scale)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	const floor = 1e-3 // 1µs: a log scale has no 0
	ymin, ymax := math.Inf(1), 0.0
	for _, s := range all {
		ms := max(s.ms, floor)
		ymin, ymax = min(ymin, ms), max(ymax, ms)
	}
	ymin, ymax = ymin/1.5, ymax*1.5
	p.Y.Min, p.Y.Max = ymin, ymax
	p.X.Min, p.X.Max = x0, x1
	if err := shade(p, faults, ymin, ymax); err != nil {
		return "", err
	}
	for _, o := range []struct {
		typ    history.Type
		name   string
		colour color.Color
	}{{history.OK, "ok", colourOK}, {history.Info, "info", colourInfo}, {history.Fail, "fail", colourFail}} {
		var xys plotter.XYs
		for _, s := range shown {
			if s.typ == o.typ {
				xys = append(xys, plotter.XY{X: s.at, Y: max(s.ms, floor)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return "", err
		}
		radius := vg.Points(1.3)
		if len(shown) < 500 {
			radius = vg.Points(2.5)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: o.colour, Radius: radius, Shape: draw.CircleGlyph{}}
		p.Add(sc)
		p.Legend.Add(o.name, sc)
	}
	qs := quantiles(all, x0, x1)
	for i, name := range []string{"p50", "p95", "p99"} {
		if len(qs[i]) == 0 {
			continue
		}
		l, err := plotter.NewLine(qs[i])
		if err != nil {
			return "", err
		}
		l.Color = colourQuant[i]
		l.Width = vg.Points(1.4)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	return svg(p, 9*vg.Inch, 4*vg.Inch)
}

// quantiles are the p50, p95 and p99 latencies of the operations invoked
// in each bucket of the run, drawn at the bucket's middle.
func quantiles(all []sample, x0, x1 float64) [3]plotter.XYs {
	buckets := make([][]float64, quantileBuckets)
	for _, s := range all {
		k := min(int((s.at-x0)/(x1-x0)*quantileBuckets), quantileBuckets-1)
		buckets[max(k, 0)] = append(buckets[max(k, 0)], max(s.ms, 1e-3))
	}
	var out [3]plotter.XYs
	for k, b := range buckets {
		if len(b) == 0 {
			continue
		}
		slices.Sort(b)
		x := x0 + (float64(k)+0.5)*(x1-x0)/quantileBuckets
		for i, q := range []float64{0.5, 0.95, 0.99} {
			// Nearest rank.
			r := int(math.Ceil(q*float64(len(b)))) - 1
			out[i] = append(out[i], plotter.XY{X: x, Y: b[max(r, 0)]})
		}
	}
	return out
}

func ratePlot(all []sample, faults []fault, x0, x1 float64) (template.HTML, error) {
	p := newPlot("Throughput", "seconds since the run began", "ops/s (by completion)")
	width := (x1 - x0) / rateBuckets
	counts := map[history.Type][]float64{}
	for _, t := range []history.Type{history.OK, history.Info, history.Fail} {
		counts[t] = make([]float64, rateBuckets)
	}
	ymax := 0.0
	for _, s := range all {
		k := min(int((s.at+s.ms/1e3-x0)/width), rateBuckets-1)
		counts[s.typ][max(k, 0)] += 1 / width
	}
	for _, c := range counts {
		ymax = max(ymax, slices.Max(c))
	}
	p.X.Min, p.X.Max = x0, x1
	p.Y.Min, p.Y.Max = 0, ymax*1.1+1
	if err := shade(p, faults, 0, ymax*1.1+1); err != nil {
		return "", err
	}
	for _, o := range []struct {
		typ    history.Type
		name   string
		colour color.Color
	}{{history.OK, "ok", colourOK}, {history.Info, "info", colourInfo}, {history.Fail, "fail", colourFail}} {
		c := counts[o.typ]
		if slices.Max(c) == 0 {
			continue
		}
		xys := make(plotter.XYs, rateBuckets)
		for k := range c {
			xys[k] = plotter.XY{X: x0 + (float64(k)+0.5)*width, Y: c[k]}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		l.Color = o.colour
		l.Width = vg.Points(1.4)
		p.Add(l)
		p.Legend.Add(o.name, l)
	}
	return svg(p, 9*vg.Inch, 3*vg.Inch)
}

// lagPlot draws the version lags' percentiles of each row (every key,
// then the stalest keys) as grouped bars, and the time lags' beside them
// when measured.
func lagPlot(rows []lagRow, timed bool) template.HTML {
	p := newPlot("Staleness: version lag", "", "versions behind")
	names := make([]string, len(rows))
	var p50, p99, mx plotter.Values
	for i, r := range rows {
		names[i] = clipText(r.Key, 24)
		p50 = append(p50, float64(r.P50))
		p99 = append(p99, float64(r.P99))
		mx = append(mx, float64(r.Max))
	}
	w := vg.Points(10)
	for i, s := range []struct {
		name string
		v    plotter.Values
	}{{"p50", p50}, {"p99", p99}, {"max", mx}} {
		b, err := plotter.NewBarChart(s.v, w)
		if err != nil {
			return ""
		}
		b.Color = colourQuant[i]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(i-1) * w
		p.Add(b)
		p.Legend.Add(s.name, b)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	out, err := svg(p, 7*vg.Inch, 3.2*vg.Inch)
	if err != nil {
		return ""
	}
	return out
}

// svg renders p as inline SVG markup: gonum's vgsvg output without its
// XML declaration and comment. Every text in it is gonum's html-escaped
// text (vgsvg escapes what it writes), and none comes from a history but
// key names, clipped and escaped.
func svg(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	// Sizes in points: let the page scale the drawing to its column.
	s = strings.Replace(s, "<svg ", `<svg class="plot" preserveAspectRatio="xMinYMin meet" `, 1)
	return template.HTML(s), nil
}
