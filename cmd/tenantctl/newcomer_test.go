package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// moduleRoot is the repository's root, two levels up from cmd/tenantctl.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestBuildFromRoot runs the README's `go build ./cmd/tenantctl` in the
// module's root: the binary's name must not collide with a directory there.
func TestBuildFromRoot(t *testing.T) {
	root := moduleRoot(t)
	out := filepath.Join(root, "tenantctl")
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		t.Fatalf("%s is a directory: `go build ./cmd/tenantctl` cannot write its binary there", out)
	}
	if _, err := os.Stat(out); err == nil {
		t.Skipf("%s exists already; not overwriting it", out)
	}
	build := exec.Command("go", "build", "./cmd/tenantctl")
	build.Dir = root
	b, err := build.CombinedOutput()
	defer os.Remove(out)
	if err != nil {
		t.Fatalf("go build ./cmd/tenantctl in %s: %v\n%s", root, err, b)
	}
	if fi, err := os.Stat(out); err != nil || fi.IsDir() {
		t.Fatalf("go build ./cmd/tenantctl made no binary %s: %v", out, err)
	}
}
