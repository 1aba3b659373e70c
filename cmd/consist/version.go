package main

import (
	"fmt"
	"runtime/debug"
)

// version describes this build of consist: the module version and the
// version control revision the build info records ("devel" and "unknown"
// where it records none, as in a test binary or go run).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel (no build information)"
	}
	return versionOf(info)
}

func versionOf(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	rev, at, modified := "unknown", "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	out := fmt.Sprintf("%s (revision %s", v, rev)
	if at != "" {
		out += ", " + at
	}
	if modified {
		out += ", modified"
	}
	return out + ", " + info.GoVersion + ")"
}
