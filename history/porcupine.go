package history

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

const fixEtcdLog = "each line of a Porcupine etcd log reads: INFO  jepsen.util - <process> :<type> :<f> <value>, e.g. INFO  jepsen.util - 2\t:invoke\t:write\t4"

// parsePorcupine reads Porcupine's test data. The first non-blank line
// chooses the kind: "INFO ..." lines are Jepsen etcd logs (parseEtcdLog);
// an op map or a ';' comment starts a kv log of EDN op maps with :key,
// which the EDN reader reads (get, put and append keep their names).
func parsePorcupine(data []byte, name string) ([]Event, error) {
	line, lineNo := firstLine(data)
	switch {
	case line == nil:
		return nil, &Error{File: name, Msg: "the history is empty", Fix: "pass a file that holds at least one event"}
	case bytes.HasPrefix(line, []byte("INFO")):
		return parseEtcdLog(data, name)
	case line[0] == '{' || line[0] == ';':
		return parseEDN(data, name)
	}
	return nil, &Error{File: name, Line: lineNo, Msg: fmt.Sprintf("%q starts neither a Porcupine etcd log nor a kv log", clip(line)),
		Fix: "a Porcupine log holds INFO  jepsen.util lines or kv op maps such as {:process 0, :type :invoke, :f :get, :key \"1\", :value nil}"}
}

// firstLine returns the first non-blank line, trimmed, and its number, or
// nil when every line is blank.
func firstLine(data []byte) ([]byte, int) {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line, n
		}
	}
	return nil, 0
}

// nextLine splits off data's first line, without its newline.
func nextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// parseEtcdLog reads the Jepsen etcd logs of Porcupine's test data, one
// event per line, blank lines ignored:
//
//	INFO  jepsen.util - <process>\t:<type>\t:<f>\t<value>
//
// Fields may be separated by any run of spaces and tabs. The value is EDN
// (nil, an integer, [from to]); :timed-out means the event carries no value
// and sets Error to "timed-out". Index is the event's position.
func parseEtcdLog(data []byte, name string) ([]Event, error) {
	var events []Event
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		line, data = nextLine(data)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		e, err := parseEtcdLine(string(line), name, lineNo)
		if err != nil {
			return nil, err
		}
		e.Index = int64(len(events))
		events = append(events, e)
	}
	return events, nil
}

// parseEtcdLine parses one non-blank, trimmed line of an etcd log.
func parseEtcdLine(line, name string, lineNo int) (Event, error) {
	bad := func(format string, args ...any) (Event, error) {
		return Event{}, &Error{File: name, Line: lineNo, Msg: fmt.Sprintf(format, args...), Fix: fixEtcdLog}
	}
	info, rest := nextField(line)
	logger, rest := nextField(rest)
	dash, rest := nextField(rest)
	if info != "INFO" || logger != "jepsen.util" || dash != "-" {
		return bad("%q is not an \"INFO  jepsen.util - \" line", clip([]byte(line)))
	}
	proc, rest := nextField(rest)
	typ, rest := nextField(rest)
	f, rest := nextField(rest)
	if rest == "" {
		return bad("the line has %s instead of four fields after \"jepsen.util -\": process, type, f and value", fieldCount(proc, typ, f))
	}
	e := Event{Time: NoTime, Line: int32(lineNo)}
	var ok bool
	if e.Process, ok = parseLogProcess(proc); !ok {
		return bad("process %q is neither a non-negative integer nor :nemesis", proc)
	}
	if e.Type, ok = ParseType(strings.TrimPrefix(typ, ":")); !ok {
		return bad("type %q is not :invoke, :ok, :fail or :info", typ)
	}
	if e.F = strings.TrimPrefix(f, ":"); e.F == "" {
		return bad("the f field is empty")
	}
	if rest == ":timed-out" {
		e.Error = "timed-out"
		return e, nil
	}
	v, err := parseEDNForm([]byte(rest), name, lineNo)
	if err != nil {
		if pe, ok := err.(*Error); ok {
			pe.Msg = fmt.Sprintf("value %q: %s", rest, pe.Msg)
		}
		return Event{}, err
	}
	e.Value, e.HasValue = v, true
	return e, nil
}

// nextField splits off the first field of s, separated by spaces or tabs,
// and returns it with the rest of s, leading space removed.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

func fieldCount(fields ...string) string {
	n := 0
	for _, f := range fields {
		if f != "" {
			n++
		}
	}
	return fmt.Sprintf("%d field(s)", n)
}

func parseLogProcess(s string) (Process, bool) {
	if s == ":nemesis" {
		return Nemesis, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return Process(n), true
}
