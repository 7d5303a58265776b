package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// TestQuickstart runs the example and checks the story it tells.
func TestQuickstart(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	runErr := run(context.Background())
	w.Close()
	os.Stdout = stdout
	out, _ := io.ReadAll(r)
	if runErr != nil {
		t.Fatalf("quickstart failed: %v\n%s", runErr, out)
	}
	for _, want := range []string{
		"acme sees 3 open case(s)",
		"globex sees 1 open case(s)",
		"initech sees 2 open case(s)",
		`acme's case #1 is "Login fails"`,
		`globex's case #1 is "Export times out"`,
		"not found = true",
		"fails closed: true",
		"unknown tenant: true",
		"0 evictions, 3 mappings cached",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
