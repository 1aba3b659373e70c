package html

import (
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"consist/checker"
	"consist/history"
)

// The diagrams are drawn here rather than by a plotting or graph-layout
// library: a witness is a handful of operations on a few lanes (what
// Porcupine draws), and a dependency cycle is a ring, whose layout is a
// circle; the page's template writes both as SVG, escaping every label.

// witnessDrawing draws an anomaly's steps as Porcupine draws operations:
// one lane per process, each operation a bar from its invocation to its
// completion, numbered in the witness's order, with an arrow from each
// step to the next that names their relation.
type witnessDrawing struct {
	Width, Height int
	Lanes         []lane
	Bars          []wbar
	Arrows        []arrow
	// Placed: the bars are at their operations' times; else in the
	// witness's order.
	Placed bool
	steps  []stepView
	raw    []checker.Step
}

type lane struct {
	Y     int
	Label string
}

type wbar struct {
	N            int
	X, Y, W      int
	LX, LY       int
	Class, Op    string
	Label, Title string
	Anchor       string
}

type arrow struct {
	X1, Y1, X2, Y2 int
	LX, LY         int
	Label          string
	Class          string
}

const (
	witnessWidth = 900
	laneLeft     = 110
	laneHeight   = 46
)

func newWitness(a checker.Anomaly, steps []stepView) *witnessDrawing {
	d := &witnessDrawing{steps: steps, raw: a.Steps}
	d.layout(nil)
	return d
}

// place puts the bars at their operations' times in h, on clock c; end
// is the history's last moment.
func (d *witnessDrawing) place(h *history.History, c clock, end int64, ix map[int64]*history.Op) {
	spans := make([][2]int64, len(d.raw))
	for i, s := range d.raw {
		op, ok := ix[s.Index]
		if !ok {
			return
		}
		from, to, _ := span(h, c, op, end)
		spans[i] = [2]int64{from, to}
	}
	d.layout(spans)
}

func (d *witnessDrawing) layout(spans [][2]int64) {
	d.Lanes, d.Bars, d.Arrows = nil, nil, nil
	d.Placed = spans != nil
	laneOf := map[history.Process]int{}
	for _, s := range d.raw {
		if _, ok := laneOf[s.Process]; !ok {
			laneOf[s.Process] = len(d.Lanes)
			d.Lanes = append(d.Lanes, lane{Y: 30 + len(d.Lanes)*laneHeight, Label: "process " + s.Process.String()})
		}
	}
	d.Width = witnessWidth
	d.Height = 30 + len(d.Lanes)*laneHeight + 14
	span := witnessWidth - laneLeft - 20
	// As Porcupine does, bars keep the order of the invocations and
	// completions, not their spacing: a write long before two
	// concurrent operations is drawn beside them, still before them.
	var moments []int64
	for _, sp := range spans {
		moments = append(moments, sp[0], sp[1])
	}
	slices.Sort(moments)
	moments = slices.Compact(moments)
	at := func(t int64) int {
		r, _ := slices.BinarySearch(moments, t)
		return laneLeft + int(float64(r)/float64(max(len(moments)-1, 1))*float64(span))
	}
	n := len(d.raw)
	nth := map[history.Process]int{}
	for i, s := range d.raw {
		var x, w int
		if spans != nil {
			x = at(spans[i][0])
			w = max(at(spans[i][1])-x, 6)
		} else {
			slot := span / max(n, 1)
			x, w = laneLeft+i*slot+4, max(slot-8, 6)
		}
		y := d.Lanes[laneOf[s.Process]].Y
		// Labels alternate above and below their lane, so that
		// neighbouring operations' labels do not overlap.
		nth[s.Process]++
		ly := y - 4
		if nth[s.Process]%2 == 0 {
			ly = y + 25
		}
		label := fmt.Sprintf("%d: %s", i+1, short(s))
		label = clipText(label, 40)
		b := wbar{N: i + 1, X: x, Y: y, W: w, LX: x, LY: ly, Class: s.Type, Op: d.steps[i].Op, Label: label, Title: d.steps[i].Text, Anchor: "start"}
		// A label that would run off the right edge ends at its bar's end.
		if x+utf8.RuneCountInString(label)*7 > witnessWidth-4 {
			b.LX, b.Anchor = x+w, "end"
		}
		d.Bars = append(d.Bars, b)
	}
	for i, s := range d.raw {
		if s.Rel == "" || i+1 >= n {
			continue
		}
		a, b := d.Bars[i], d.Bars[i+1]
		x1, y1 := a.X+a.W, a.Y+7
		x2, y2 := b.X, b.Y+7
		d.Arrows = append(d.Arrows, arrow{X1: x1, Y1: y1, X2: x2, Y2: y2, LX: (x1 + x2) / 2, LY: (y1+y2)/2 + 14, Label: string(s.Rel), Class: "rel-" + string(s.Rel)})
	}
}

// short names a step in a few words: "read x → 3".
func short(s checker.Step) string {
	out := s.F
	if s.Key != nil {
		out += " " + history.Describe(s.Key)
	}
	if s.Value != nil {
		v := history.Describe(s.Value)
		if s.Type == "ok" && (s.F == "read" || s.F == "get") {
			out += " → " + v
		} else {
			out += " " + v
		}
	}
	if s.Type != "ok" {
		out += " (" + s.Type + ")"
	}
	return out
}

// cycleDrawing draws a dependency cycle as a ring of transactions, each
// edge labelled with its relation.
type cycleDrawing struct {
	Width, Height int
	Nodes         []cnode
	Edges         []cedge
}

type cnode struct {
	N          int
	X, Y       int
	BX, BY     int
	Op         string
	Label, Sub string
	Title      string
}

type cedge struct {
	// Path is drawn moved by Transform.
	Path      string
	Transform string
	// cx, cy is the curve's control point, which bounds it.
	cx, cy int
	LX, LY int
	Label  string
	Class  string
}

const (
	boxW = 210
	boxH = 44
)

func newCycle(a checker.Anomaly, steps []stepView) *cycleDrawing {
	n := len(a.Steps)
	// Far enough apart that neighbouring boxes leave room for the edge
	// between them.
	r := max(120.0, (boxW/2+60)/math.Sin(math.Pi/float64(max(n, 3))))
	start := -math.Pi / 2
	if n == 2 {
		// Side by side: the boxes are wide.
		r, start = boxW/2+70, math.Pi
	}
	size := int(2*r) + boxW + 40
	d := &cycleDrawing{Width: size, Height: size}
	if n == 2 {
		d.Height = 220
	}
	cx, cy := float64(d.Width)/2, float64(d.Height)/2
	pts := make([][2]float64, n)
	for i, s := range a.Steps {
		angle := start + 2*math.Pi*float64(i)/float64(n)
		x, y := cx+r*math.Cos(angle), cy+r*math.Sin(angle)
		pts[i] = [2]float64{x, y}
		d.Nodes = append(d.Nodes, cnode{N: i + 1, X: int(x), Y: int(y), BX: int(x) - boxW/2, BY: int(y) - boxH/2, Op: steps[i].Op,
			Label: fmt.Sprintf("T%d · process %s · index %d", i+1, s.Process, s.Index),
			Sub:   clipText(history.Describe(s.Value), 34), Title: steps[i].Text})
	}
	for i, s := range a.Steps {
		j := (i + 1) % n
		p0, p1 := pts[i], pts[j]
		dx, dy := p1[0]-p0[0], p1[1]-p0[1]
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		ux, uy := dx/l, dy/l
		// Leave each box at its edge.
		cut := func(ux, uy float64) float64 {
			return min(float64(boxW)/2/math.Max(math.Abs(ux), 1e-9), float64(boxH)/2/math.Max(math.Abs(uy), 1e-9)) + 6
		}
		s0 := [2]float64{p0[0] + ux*cut(ux, uy), p0[1] + uy*cut(ux, uy)}
		s1 := [2]float64{p1[0] - ux*cut(ux, uy), p1[1] - uy*cut(ux, uy)}
		// Bow the edge outwards, away from the ring's centre, so that the
		// two edges of a two-transaction cycle do not overlap.
		mx, my := (s0[0]+s1[0])/2, (s0[1]+s1[1])/2
		nx, ny := -uy, ux
		if (mx-cx)*nx+(my-cy)*ny < 0 {
			nx, ny = -nx, -ny
		}
		bow := 28.0
		if n == 2 {
			bow = 45
		}
		ctl := [2]float64{mx + nx*bow, my + ny*bow}
		lx, ly := 0.25*s0[0]+0.5*ctl[0]+0.25*s1[0], 0.25*s0[1]+0.5*ctl[1]+0.25*s1[1]
		rel := string(s.Rel)
		if rel == "" {
			rel = "?"
		}
		d.Edges = append(d.Edges, cedge{
			Path: fmt.Sprintf("M%.0f %.0fQ%.0f %.0f %.0f %.0f", s0[0], s0[1], ctl[0], ctl[1], s1[0], s1[1]),
			LX:   int(lx + nx*10), LY: int(ly+ny*10) + 4, Label: rel, Class: "rel-" + rel, cx: int(ctl[0]), cy: int(ctl[1])})
	}
	d.fit()
	return d
}

// fit crops the drawing to what it holds, with a margin.
func (d *cycleDrawing) fit() {
	const margin = 12
	minX, minY, maxX, maxY := math.MaxInt, math.MaxInt, math.MinInt, math.MinInt
	grow := func(x0, y0, x1, y1 int) {
		minX, minY, maxX, maxY = min(minX, x0), min(minY, y0), max(maxX, x1), max(maxY, y1)
	}
	for _, n := range d.Nodes {
		grow(n.BX, n.BY, n.BX+boxW, n.BY+boxH)
	}
	for _, e := range d.Edges {
		grow(e.LX-20, e.LY-14, e.LX+20, e.LY+6)
		grow(e.cx, e.cy, e.cx, e.cy)
	}
	if minX > maxX {
		return
	}
	dx, dy := margin-minX, margin-minY
	for i := range d.Nodes {
		n := &d.Nodes[i]
		n.X, n.Y, n.BX, n.BY = n.X+dx, n.Y+dy, n.BX+dx, n.BY+dy
	}
	for i := range d.Edges {
		e := &d.Edges[i]
		e.LX, e.LY = e.LX+dx, e.LY+dy
		e.Transform = fmt.Sprintf("translate(%d %d)", dx, dy)
	}
	d.Width, d.Height = maxX-minX+2*margin, maxY-minY+2*margin
}
