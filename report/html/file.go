package html

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"consist/report"
	"consist/run/folder"
)

// WriteFile writes r as dir/report.html (folder.ReportFile), making dir
// if need be, and returns the file's path.
func WriteFile(dir string, r report.Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the report folder: %w", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		return "", err
	}
	path := filepath.Join(dir, folder.ReportFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write the HTML report: %w", err)
	}
	return path, nil
}
