package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
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

// ReadFile reads, pairs and validates the history in the file at path. It
// is ReadFileContext without a deadline or a size limit.
func ReadFile(path string, format Format) (*History, error) {
	return ReadFileContext(context.Background(), path, format, Limits{})
}

// Limits bound what reading a history may take.
type Limits struct {
	// MaxBytes, when positive, is the largest history file read; a bigger
	// one is refused before it is read whole.
	MaxBytes int64
}

// ReadFileContext reads, pairs and validates the history in the file at
// path, within ctx and limits. It detects binary content from the first
// bytes read, before reading the rest, and honours ctx while it opens and
// reads the file: a named pipe that nobody writes, or a device that never
// ends, costs no more than ctx allows. A directory is refused, naming the
// history.jsonl inside it as what to pass instead.
func ReadFileContext(ctx context.Context, path string, format Format, limits Limits) (*History, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	if fi.IsDir() {
		return nil, &Error{File: path, Msg: "is a directory, not a history file",
			Fix: "pass a history file, or for a run folder its history: " + filepath.Join(path, "history.jsonl")}
	}
	f, err := openContext(ctx, path, fi)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Closing the file unblocks a read of a pipe waiting for its writer.
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	size := int64(0)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	data, err := readAll(ctx, f, path, size, limits)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, format)
}

// openContext opens path for reading within ctx. Opening a named pipe
// blocks until a writer opens it; when ctx ends first, the pipe is opened
// for writing and closed again, so the blocked open returns and nothing is
// left waiting.
func openContext(ctx context.Context, path string, fi os.FileInfo) (*os.File, error) {
	if fi.Mode()&os.ModeNamedPipe == 0 {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open history: %w", err)
		}
		return f, nil
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, fmt.Errorf("open history: %w", o.err)
		}
		return o.f, nil
	case <-ctx.Done():
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("open history %s: no writer opened the pipe before the deadline (%w); write the history to a file and pass that", path, context.Cause(ctx))
	}
}

// sniffSize is how much is read before the content is checked for binary
// bytes.
const sniffSize = 64 << 10

// readAll reads r to its end in chunks, within ctx and limits.MaxBytes; it
// refuses binary content as soon as the first chunk shows it. size, when
// known, sizes the buffer at once.
func readAll(ctx context.Context, r io.Reader, name string, size int64, limits Limits) ([]byte, error) {
	if limits.MaxBytes > 0 && size > limits.MaxBytes {
		return nil, tooBig(name, limits)
	}
	buf := make([]byte, 0, max(size+1, 4096)) // +1: EOF is seen without regrowing
	sniffed := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read history %s: stopped after %d bytes (%w)", name, len(buf), context.Cause(ctx))
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		chunk := buf[len(buf):min(cap(buf), len(buf)+1<<20)]
		n, err := r.Read(chunk)
		buf = buf[:len(buf)+n]
		if limits.MaxBytes > 0 && int64(len(buf)) > limits.MaxBytes {
			return nil, tooBig(name, limits)
		}
		if !sniffed && (len(buf) >= sniffSize || err != nil) {
			sniffed = true
			if e := binaryError(buf[:min(len(buf), sniffSize)], name); e != nil {
				return nil, e
			}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("read history %s: stopped after %d bytes (%w)", name, len(buf), context.Cause(ctx))
			}
			return nil, fmt.Errorf("read history %s: %w", name, err)
		}
	}
}

// ErrTooBig is the cause of a refusal to read a history larger than
// Limits.MaxBytes. It is not malformed input: the history may be fine, and
// a larger budget would read it.
var ErrTooBig = errors.New("history larger than the limit")

func tooBig(name string, limits Limits) error {
	return fmt.Errorf("%w: %s is larger than the %d-byte limit; raise the memory budget, or check a smaller history", ErrTooBig, name, limits.MaxBytes)
}

// binaryError returns the error for a prefix of a file that holds a NUL
// byte or invalid UTF-8, or nil. A character cut at its end is not held
// against it: the prefix may end inside one, and a torn last line may too
// (Parse judges that).
func binaryError(head []byte, name string) error {
	head = bytes.TrimPrefix(head, utf8BOM)
	check := head
	for i := 0; i < utf8.UTFMax-1 && len(check) > 0 && !utf8.Valid(check); i++ {
		check = check[:len(check)-1]
	}
	if utf8.Valid(check) && bytes.IndexByte(check, 0) < 0 {
		return nil
	}
	at := firstInvalid(check)
	line := 1 + bytes.Count(check[:at], []byte("\n"))
	return &Error{File: name, Line: line, Msg: fmt.Sprintf("the file is binary, not a text history (byte %d)", at+1),
		Fix: "pass a JSON Lines, EDN or Porcupine log file"}
}

// Read reads, pairs and validates a history from r. name labels the input
// in error messages. With format Auto the format is detected from the
// content. Binary content is refused from its first bytes.
func Read(r io.Reader, name string, format Format) (*History, error) {
	return ReadContext(context.Background(), r, name, format, Limits{})
}

// ReadContext is Read within ctx and limits: it stops reading when ctx
// ends or the input passes limits.MaxBytes. A read that blocks is
// interrupted only if r returns when ctx ends (closing r does that for a
// pipe or a terminal).
func ReadContext(ctx context.Context, r io.Reader, name string, format Format, limits Limits) (*History, error) {
	data, err := readAll(ctx, r, name, 0, limits)
	if err != nil {
		return nil, err
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
	if !isText(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, &Error{File: name, Line: line, Msg: "the file is binary, not a text history", Fix: "pass a JSON Lines, EDN or Porcupine log file"}
	}
	if len(data) > math.MaxInt32 && bytes.Count(data, []byte{'\n'}) >= math.MaxInt32 {
		return nil, &Error{File: name, Msg: fmt.Sprintf("the history has more than %d lines, the most an event's line number holds", math.MaxInt32),
			Fix: "split the history, or remove its blank lines"}
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
	h, err := newChecked(name, events)
	if err != nil {
		return nil, err
	}
	h.Format = format
	h.TornLine = torn
	if len(h.Events) == 0 {
		msg := "the history holds no events"
		if torn > 0 {
			msg = fmt.Sprintf("the history holds no events: its only one, on line %d, is cut short", torn)
		}
		return nil, &Error{File: name, Line: torn, Msg: msg, Fix: "pass a history with at least one complete event"}
	}
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
	if !isTornEvent(tail) {
		return data, 0 // a whole event, or garbage the parser reports
	}
	return data[:start], 1 + bytes.Count(data[:start], []byte("\n"))
}

// isTornEvent reports whether tail is an event cut short: text that
// starts a JSON object and breaks off before it ends, with nothing
// invalid before the cut. A complete object (even one that is no valid
// event), random bytes or other garbage is not torn: the parser reports it
// with its line.
func isTornEvent(tail []byte) bool {
	if len(tail) == 0 || tail[0] != '{' || bytes.IndexByte(tail, 0) >= 0 {
		return false
	}
	// A cut may split a multi-byte character; anything else invalid is
	// not a recorder's output.
	valid := tail
	for i := 0; i < utf8.UTFMax && len(valid) > 0 && !utf8.Valid(valid); i++ {
		valid = valid[:len(valid)-1]
	}
	if !utf8.Valid(valid) {
		return false
	}
	var v any
	err := json.NewDecoder(bytes.NewReader(valid)).Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
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

// isText reports whether data is valid UTF-8 without a NUL byte. A large
// file is checked in pieces, one per processor, split at newlines (which
// no multi-byte character holds).
func isText(data []byte) bool {
	parts := runtime.GOMAXPROCS(0)
	if len(data) < 1<<22 || parts < 2 {
		return utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
	}
	ok := make([]bool, parts)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		piece := data
		if p < parts-1 {
			end := bytes.IndexByte(data[len(data)/(parts-p):], '\n')
			if end < 0 {
				end = len(data)
			} else {
				end += len(data)/(parts-p) + 1
			}
			piece, data = data[:end], data[end:]
		}
		wg.Go(func() { ok[p] = utf8.Valid(piece) && bytes.IndexByte(piece, 0) < 0 })
	}
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}
