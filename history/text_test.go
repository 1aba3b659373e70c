package history

import (
	"bytes"
	"strings"
	"testing"
)

// TestIsTextLargeFile checks that a file large enough to be checked in
// pieces is refused as binary wherever its bad byte lies, with the line
// of that byte.
func TestIsTextLargeFile(t *testing.T) {
	line := `{"type":"invoke","process":0,"f":"read","value":null}` + "\n"
	n := (5 << 20) / len(line)
	good := []byte(strings.Repeat(line, n))
	if !isText(good) {
		t.Fatal("a large valid file is not text")
	}
	for _, at := range []int{3, n / 2, n - 2} {
		for _, bad := range [][]byte{{0}, {0xff}, {0xe2, 0x82}} {
			data := bytes.Clone(good)
			copy(data[at*len(line)+10:], bad)
			if isText(data) {
				t.Errorf("a bad byte %x on line %d is not seen", bad, at+1)
			}
			_, err := Parse(data, "big.jsonl", JSONL)
			wantError(t, err, at+1, "binary")
		}
	}
}
