package target

import (
	"reflect"
	"testing"
)

var db = &Database{Name: "db", Settings: []Setting{
	{Name: "dsn", Address: true},
	{Name: "level", Default: "serializable"},
	{Name: "fast", Bool: true, Default: "false"},
}}

func TestWithDefaults(t *testing.T) {
	got := db.WithDefaults(map[string]string{"fast": "true", "other": "x"})
	want := map[string]string{"dsn": "", "level": "serializable", "fast": "true"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WithDefaults: %v, want %v", got, want)
	}
}

func TestGiven(t *testing.T) {
	if name, ok := db.Given(Conn{Settings: map[string]string{"dsn": "x"}}); !ok || name != "dsn" {
		t.Fatalf("a DSN given: %q %v", name, ok)
	}
	if _, ok := db.Given(Conn{Settings: map[string]string{"level": "x"}}); ok {
		t.Fatal("a setting that is no address counted as one")
	}
}
