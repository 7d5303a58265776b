package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenCaseDatabase: the application's own command opens the database
// --url or TENANTMAP_URL names, as the admin commands do, and leaves no
// stray casetracker.db in the working directory (issue 12 item 16).
func TestOpenCaseDatabase(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "embedcli")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	work := t.TempDir()
	run := func(env string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "TENANTMAP_URL="+env)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("embedcli %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	envDB := "sqlite:" + filepath.Join(dir, "env.db")
	flagDB := "sqlite:" + filepath.Join(dir, "flag.db")
	run(envDB, "admin", "tenants", "create", "acme")
	if out := run(envDB, "open-case", "acme", "Login fails"); !strings.Contains(out, "opened for acme") {
		t.Errorf("open-case with TENANTMAP_URL: %s", out)
	}
	run("", "admin", "--url", flagDB, "tenants", "create", "globex")
	if out := run(envDB, "open-case", "--url", flagDB, "globex", "Export times out"); !strings.Contains(out, "opened for globex") {
		t.Errorf("open-case --url: %s", out)
	}
	if _, err := os.Stat(filepath.Join(work, "casetracker.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open-case made casetracker.db in its working directory")
	}
}
