// Package porcupine writes Porcupine's interactive visualization of a
// register history's object (github.com/anishathalye/porcupine): every
// operation on a timeline and the longest partial linearizations
// Porcupine's search finds (checker/linearizable.Explore runs it), made
// safe to open whatever the history holds.
package porcupine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"strings"

	porc "github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

// WriteHTML writes Porcupine's interactive visualization of the object that
// key names (nil for the single default register): every operation on a
// timeline, and the longest partial linearizations Porcupine finds. It runs
// Porcupine's own search on that object alone (linearizable.Explore),
// bounded by opts.Timeout; a history Porcupine cannot finish in time is
// shown as far as it got.
//
// Nothing a history holds runs in the page. Porcupine shows an operation's
// description with textContent, so it is passed as text (inside the page's
// script it is a JSON string whose <, > and & are escaped); it puts the
// states and the operation metadata into a tooltip with innerHTML, so those
// are HTML-escaped and the metadata is empty. Beside the escaping, the page
// carries a Content-Security-Policy that allows its one inline script, by
// hash, and nothing else: no inline event handler, no other script, no
// image, frame, font or connection, so a value that slipped through the
// escaping still could not run or fetch anything.
func WriteHTML(ctx context.Context, w io.Writer, h *history.History, opts checker.Options, key any) error {
	return writeHTML(ctx, w, h, opts, key, pageSafety{escape: true, policy: true})
}

// pageSafety says which of the page's two defences are on; both always are
// but in the tests that show each one alone is enough and that without
// them a history's script does run.
type pageSafety struct {
	escape bool // HTML-escape what Porcupine puts into innerHTML
	policy bool // add the Content-Security-Policy
}

func writeHTML(ctx context.Context, w io.Writer, h *history.History, opts checker.Options, key any, safety pageSafety) error {
	ex, err := linearizable.Explore(ctx, h, opts, key)
	if err != nil {
		return fmt.Errorf("visualize: %w", err)
	}
	model := ex.Model
	// Porcupine shows an operation's description with textContent: text,
	// not markup. It shows states with innerHTML: escaped here.
	if safety.escape {
		describe := model.DescribeState
		model.DescribeState = func(state any) string { return html.EscapeString(describe(state)) }
	}
	model.DescribeOperationMetadata = func(any) string { return "" }
	var page bytes.Buffer
	if err := porc.Visualize(model, ex.Info, &page); err != nil {
		return fmt.Errorf("visualize %s: %w", h.Source, err)
	}
	out := page.Bytes()
	if safety.policy {
		if out, err = withPolicy(out); err != nil {
			return fmt.Errorf("visualize %s: %w", h.Source, err)
		}
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("visualize %s: %w", h.Source, err)
	}
	return nil
}

// withPolicy adds to Porcupine's page a Content-Security-Policy that lets
// only its one inline script run, named by its SHA-256 (CSP level 2), and
// loads nothing: the styles are inline, the drawing is inline SVG. The
// policy is a <meta> element, as the page is opened from a file. The page
// must hold exactly one <script> element, whose data JSON cannot end it
// early: encoding/json writes < as \u003c.
func withPolicy(page []byte) ([]byte, error) {
	// The browser hashes the script's text after turning CR LF and CR into
	// LF; the page holds no CR where it matters, so make that so everywhere.
	page = bytes.ReplaceAll(page, []byte("\r\n"), []byte("\n"))
	page = bytes.ReplaceAll(page, []byte("\r"), []byte("\n"))
	const open, end, head = "<script>", "</script>", "<head>"
	if n, m := bytes.Count(bytes.ToLower(page), []byte("<script")), bytes.Count(bytes.ToLower(page), []byte("</script")); n != 1 || m != 1 {
		return nil, fmt.Errorf("porcupine's page holds %d <script> and %d </script> tags, not one each: its template changed, update withPolicy", n, m)
	}
	i, j := bytes.Index(page, []byte(open)), bytes.Index(page, []byte(end))
	h := bytes.Index(page, []byte(head))
	if i < 0 || j < i || h < 0 || h > i {
		return nil, fmt.Errorf("porcupine's page has no <head> before a plain <script>: its template changed, update withPolicy")
	}
	sum := sha256.Sum256(page[i+len(open) : j])
	policy := strings.Join([]string{
		"default-src 'none'",
		"script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		"style-src 'unsafe-inline'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
	meta := `<meta http-equiv="Content-Security-Policy" content="` + policy + `">`
	h += len(head)
	out := make([]byte, 0, len(page)+len(meta)+1)
	out = append(out, page[:h]...)
	out = append(out, "\n"+meta...)
	return append(out, page[h:]...), nil
}
