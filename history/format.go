package history

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Format is a history file format.
type Format uint8

// The formats consist reads. Auto detects the format from the content.
const (
	Auto Format = iota
	// JSONL is consist's native format: one JSON event per line.
	JSONL
	// EDN is Jepsen's: op maps one per line (Elle's history.edn) or in
	// one vector or list (Knossos).
	EDN
	// Porcupine is the format of Porcupine's test data: Jepsen etcd logs
	// ("INFO  jepsen.util - ..." lines) or kv op maps with :key.
	Porcupine
)

var formatNames = [...]string{Auto: "auto", JSONL: "jsonl", EDN: "edn", Porcupine: "porcupine"}

// String returns the format's name as the --format flag spells it.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// ParseFormat returns the format named s: auto, jsonl, edn or porcupine.
func ParseFormat(s string) (Format, error) {
	for f, name := range formatNames {
		if strings.EqualFold(name, s) {
			return Format(f), nil
		}
	}
	return 0, fmt.Errorf("unknown history format %q: use one of jsonl, edn, porcupine (or auto to detect it)", s)
}

// ReadFile reads, pairs and validates the history in the file at path.
func ReadFile(path string, format Format) (*History, error) {
	data, err := os.ReadFile(path) // sized from the file: no regrowing, as io.ReadAll does
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	return Parse(data, path, format)
}

// Read reads, pairs and validates a history from r. name labels the input
// in error messages. With format Auto the format is detected from the
// content.
func Read(r io.Reader, name string, format Format) (*History, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read history %s: %w", name, err)
	}
	return Parse(data, name, format)
}

// Parse reads, pairs and validates a history held in memory.
// A UTF-8 byte order mark at the start is ignored.
func Parse(data []byte, name string, format Format) (*History, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: name, Msg: "the history is empty", Fix: "pass a file that holds at least one event"}
	}
	if format == Auto {
		format = Detect(data)
	}
	torn := 0
	if format == JSONL {
		data, torn = dropTornTail(data)
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, &Error{File: name, Line: line, Msg: "the file is binary, not a text history", Fix: "pass a JSON Lines, EDN or Porcupine log file"}
	}
	var events []Event
	var err error
	switch format {
	case JSONL:
		events, err = parseJSONL(data, name)
	case EDN:
		events, err = parseEDN(data, name)
	case Porcupine:
		events, err = parsePorcupine(data, name)
	default:
		return nil, fmt.Errorf("unknown history format %v: use jsonl, edn or porcupine", format)
	}
	if err != nil {
		return nil, err
	}
	h, err := New(name, events)
	if err != nil {
		return nil, err
	}
	h.Format = format
	h.TornLine = torn
	return h, nil
}

// dropTornTail removes a last line that a writer killed mid-write left
// incomplete: one with no newline after it that does not decode as an
// event. A recorder ends every line it writes with a newline, and the
// kernel may cut a write short when the writer is killed, so such a line
// is an event the run never finished recording, not bad input. It returns
// the data without the line and the line's number, or 0 if nothing was
// dropped.
func dropTornTail(data []byte) ([]byte, int) {
	if len(data) == 0 || data[len(data)-1] == '\n' {
		return data, 0
	}
	start := bytes.LastIndexByte(data, '\n') + 1
	tail := bytes.TrimSpace(data[start:])
	if len(tail) == 0 || start == 0 {
		return data, 0
	}
	if utf8.Valid(tail) && bytes.IndexByte(tail, 0) < 0 {
		if _, err := decodeEvent(tail); err == nil {
			return data, 0
		}
	}
	return data[:start], 1 + bytes.Count(data[:start], []byte("\n"))
}

// utf8BOM is the byte order mark some editors put at the start of a file.
var utf8BOM = []byte("\xef\xbb\xbf")

// firstInvalid returns the offset of the first NUL byte or invalid UTF-8
// sequence in data.
func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return len(data)
}

// Detect guesses a history's format from its first meaningful line (blank
// lines and ';' comments are skipped): a JSON object ('{' then '"') is JSONL;
// an "INFO ..." log line or an op map with :key is a Porcupine log; anything
// else is EDN.
func Detect(data []byte) Format {
	data = bytes.TrimPrefix(data, utf8BOM)
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0 || line[0] == ';':
			continue
		case startsJSONObject(line):
			return JSONL
		case bytes.HasPrefix(line, []byte("INFO")):
			return Porcupine
		case bytes.HasPrefix(line, []byte("{:")) && bytes.Contains(line, []byte(":key ")):
			return Porcupine
		default:
			return EDN
		}
	}
	return EDN
}

// startsJSONObject reports whether line starts like a JSON object with a
// member: '{', optional space, '"'.
func startsJSONObject(line []byte) bool {
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	rest := bytes.TrimLeft(line[1:], " \t")
	return len(rest) > 0 && rest[0] == '"'
}
