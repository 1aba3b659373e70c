package history

import "fmt"

// Error is malformed input: it names the file and line, what is wrong there,
// and how to fix it. Every reader and New return *Error for bad input, so a
// caller can tell bad input (errors.As) from an I/O failure.
type Error struct {
	File string
	// Line is 1-based; 0 when the problem is not on one line (an empty
	// file, say).
	Line int
	Msg  string
	// Fix says what to do about it; may be empty.
	Fix string
}

// Error renders as "file:line: what is wrong (fix)".
func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "<input>"
	}
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", where, e.Line)
	}
	if e.Fix == "" {
		return fmt.Sprintf("%s: %s", where, e.Msg)
	}
	return fmt.Sprintf("%s: %s (%s)", where, e.Msg, e.Fix)
}
