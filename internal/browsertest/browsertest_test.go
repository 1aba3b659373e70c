package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/internal/browsertest"
)

const page = `<!doctype html>
<html><head><title>before</title></head><body>
<div id="a" style="width:200px;height:100px">a</div>
<div id="gap" style="height:3000px"></div>
<button id="b" style="width:200px;height:100px">b</button>
<div id="cover" style="position:fixed;left:0;top:0;width:100%;height:100%;display:none"></div>
<script>
window.seen = []
window.fromInit = window.initRan === true
for (const id of ['a', 'b']) {
  const el = document.getElementById(id)
  el.addEventListener('mouseover', () => seen.push('over ' + id))
  el.addEventListener('mousemove', () => seen.push('move ' + id))
  el.addEventListener('click', () => { seen.push('click ' + id); document.title = 'clicked' })
}
console.log('loaded', 3)
console.error('an error')
</script>
</body></html>`

// TestPage drives a small page through every helper: the init script runs
// first, hovering and clicking cause the events a mouse causes (the
// button is far below the fold, so it must be scrolled to), the console is
// read in order, a failing page script is seen as an exception, and an
// element under another cannot be hovered.
func TestPage(t *testing.T) {
	start := time.Now()
	b := browsertest.Start(t)
	t.Logf("started in %s", time.Since(start))
	file := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	p := b.Open(t, file, `window.initRan = true`)
	if !browsertest.Eval[bool](p, `fromInit`) {
		t.Error("the init script did not run before the page's own")
	}
	if got, want := p.Messages(), []browsertest.Message{{Type: "log", Text: "loaded 3"}, {Type: "error", Text: "an error"}}; !slices.Equal(got, want) {
		t.Errorf("messages %v, want %v", got, want)
	}
	if n := p.Count("div"); n != 3 {
		t.Errorf("%d divs, want 3", n)
	}
	if n := p.HoverAll("#a, #b", nil); n != 2 {
		t.Errorf("hovered %d, want 2", n)
	}
	p.Click("#b", 0)
	got := browsertest.Eval[[]string](p, `seen`)
	if want := []string{"over a", "move a", "over b", "move b", "click b"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if title := browsertest.Eval[string](p, `document.title`); title != "clicked" {
		t.Errorf("title %q after the click", title)
	}
	p.Do(`setTimeout(() => { null.x }, 0)`)
	p.WaitFor(`true`, time.Second)
	p.Do(`new Promise(done => setTimeout(done, 10))`)
	errs := p.Errors()
	if len(errs) != 2 || errs[1].Type != "exception" || !strings.Contains(errs[1].Text, "TypeError") {
		t.Errorf("errors %v, want the console.error and a TypeError", errs)
	}
	shot := filepath.Join(t.TempDir(), "page.png")
	p.Screenshot(shot)
	if data, err := os.ReadFile(shot); err != nil || !strings.HasPrefix(string(data), "\x89PNG") {
		t.Errorf("screenshot: %v, %d bytes", err, len(data))
	}

	// Hover refuses an element another lies on top of, as a person's
	// mouse could not reach it, and says what covers it.
	rec := &recorder{TB: t}
	p = b.Open(rec, file)
	p.Do(`document.getElementById('cover').style.display = 'block'`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Hover("#a", 0)
	}()
	<-done
	if !strings.Contains(rec.fatal, "covered") || !strings.Contains(rec.fatal, `id="cover"`) {
		t.Errorf("hovering a covered element: %q, want it refused naming the cover", rec.fatal)
	}
	if seen := browsertest.Eval[[]string](p, `seen`); len(seen) != 0 {
		t.Errorf("the covered element saw %q", seen)
	}
	t.Logf("done in %s", time.Since(start))
}

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as the real one does, without failing the test.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestDialogs: an alert and a confirm open dialogs, each recorded and
// dismissed, so the page goes on (confirm answers false); OpenURL opens a
// served page.
func TestDialogs(t *testing.T) {
	b := browsertest.Start(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>served</title><script>alert('one'); window.answer = confirm('two'); document.title = 'after'</script>`)
	}))
	defer srv.Close()
	p := b.OpenURL(t, srv.URL, `window.initRan = true`)
	p.WaitFor(`document.title === 'after'`, 10*time.Second)
	d := p.Dialogs()
	if len(d) != 2 || d[0].Source != "alert" || d[0].Text != "one" || d[1].Source != "confirm" || d[1].Text != "two" {
		t.Errorf("dialogs %v, want the alert and the confirm", d)
	}
	if browsertest.Eval[bool](p, `window.answer`) || !browsertest.Eval[bool](p, `window.initRan`) {
		t.Error("the confirm was not dismissed, or the init script did not run")
	}
}
