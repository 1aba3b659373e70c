package history

import (
	"bufio"
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return Read(f, path, format)
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
func Parse(data []byte, name string, format Format) (*History, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: name, Msg: "the history is empty", Fix: "pass a file that holds at least one event"}
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, &Error{File: name, Line: line, Msg: "the file is binary, not a text history", Fix: "pass a JSON Lines, EDN or Porcupine log file"}
	}
	if format == Auto {
		format = Detect(data)
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
	return h, nil
}

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

// Detect guesses a history's format from its first meaningful line: a JSON
// object is JSONL, an "INFO  jepsen.util" line or an op map with :key is a
// Porcupine log, anything else that starts like EDN is EDN.
func Detect(data []byte) Format {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "{\""):
			return JSONL
		case strings.HasPrefix(line, "INFO") && strings.Contains(line, "jepsen.util"):
			return Porcupine
		case strings.HasPrefix(line, "{:") && strings.Contains(line, ":key "):
			return Porcupine
		default:
			return EDN
		}
	}
	return EDN
}
