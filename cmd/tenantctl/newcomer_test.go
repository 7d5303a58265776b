package main

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
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

// TestReadOnlyCommandsChangeNothing: a read-only command on a database
// without a catalog says so and creates nothing (issue 12 item 12); init
// and tenants create make the catalog.
func TestReadOnlyCommandsChangeNothing(t *testing.T) {
	readOnly := [][]string{{"tenants", "list"}, {"status"}, {"drift"}, {"tenants", "show", "acme"}, {"migrate", "--dry-run"}}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "typo.db")
		c := tool{url: "sqlite:" + path}
		for _, args := range readOnly {
			r := c.run(t, args...)
			if args[0] == "models" {
				continue // lists the application's models, needs no database
			}
			if r.code == 0 || !strings.Contains(r.stderr, "no tenantmap catalog") || !strings.Contains(r.stderr, "init") {
				t.Errorf("want a failure naming the missing catalog and the fix, got %s", r)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%v made %s", args, path)
			}
		}
		c.expect(t, 0, "init")
		c.expect(t, 0, "tenants", "list")
	})
	t.Run("postgres", func(t *testing.T) {
		u := postgresURL(t)
		c := tool{url: u}
		for _, args := range readOnly {
			if args[0] == "models" {
				continue
			}
			if r := c.run(t, args...); r.code == 0 || !strings.Contains(r.stderr, "no tenantmap catalog") {
				t.Errorf("want a failure naming the missing catalog, got %s", r)
			}
		}
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("read-only commands made %d tables", n)
		}
		c.expect(t, 0, "tenants", "create", "acme")
		c.expect(t, 0, "status")
	})
}

// pgbouncerURL is the test's fresh database (postgresURL) reached through
// PgBouncer in transaction pooling mode (TENANTMAP_PGBOUNCER_URL).
func pgbouncerURL(t *testing.T) string {
	t.Helper()
	bouncer := os.Getenv("TENANTMAP_PGBOUNCER_URL")
	if bouncer == "skip" {
		t.Skip("TENANTMAP_PGBOUNCER_URL=skip")
	}
	if bouncer == "" {
		bouncer = "postgres://postgres@127.0.0.1:6432/test?sslmode=disable"
	}
	direct, err := url.Parse(postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(bouncer)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = direct.Path
	return u.String()
}

// TestThroughPgBouncer: tenantctl runs through PgBouncer again and again
// (issue 12 item 11): a run leaves no named statement on the pooler's
// server sessions that the next run would prepare again.
func TestThroughPgBouncer(t *testing.T) {
	u := pgbouncerURL(t)
	c := tool{url: u}
	c.expect(t, 0, "tenants", "create", "acme")
	for i := 0; i < 3; i++ {
		wantRow(t, c.expect(t, 0, "tenants", "list"), "acme", "active")
		c.expect(t, 0, "status")
	}
	c.expect(t, 0, "tenants", "create", "globex")
	// The URL's parameter says it too, with the flag off.
	p := tool{url: u + "&transaction_pooler=true"}
	for i := 0; i < 2; i++ {
		wantRow(t, p.expect(t, 0, "--transaction-pooler=false", "tenants", "list"), "globex", "active")
	}
}

// TestMigrateBelowTenants: migrate --to a version below the tenants' says
// that they are past it and stay there, not that they are at it (issue 12
// item 14).
func TestMigrateBelowTenants(t *testing.T) {
	c := tool{url: sqliteURL(t)}
	c.expect(t, 0, "tenants", "create", "a", "b", "c")
	r := c.expect(t, 0, "migrate", "--to", "1")
	if strings.Contains(r.stdout, "every tenant is at version 1") || !strings.Contains(r.stdout, "3 of 3 tenants are past it") ||
		!strings.Contains(r.stdout, "does not migrate down") {
		t.Errorf("want the tenants past version 1 reported, got %s", r)
	}
	var rep struct {
		Target    int64          `json:"target"`
		DryRun    bool           `json:"dry_run"`
		ElapsedMS int64          `json:"elapsed_ms"`
		Counts    map[string]int `json:"counts"`
		Shared    []any          `json:"shared"`
		Tenants   []any          `json:"tenants"`
		Ahead     int            `json:"ahead"`
	}
	decodeJSON(t, c.expect(t, 0, "--json", "migrate", "--to", "1"), &rep)
	if rep.Ahead != 3 || rep.Target != 1 {
		t.Errorf("--json: want ahead 3 at target 1, got %+v", rep)
	}
	if r := c.expect(t, 0, "migrate"); !strings.Contains(r.stdout, "every tenant is at version 3") {
		t.Errorf("want every tenant at the latest version, got %s", r)
	}
}

// TestCreateSeveral: tenants create checks every id before creating any,
// and reports each id's result in text and JSON (issue 12 item 15); a
// dropped id is said to be retained (item 17).
func TestCreateSeveral(t *testing.T) {
	path := filepath.Join(t.TempDir(), "several.db")
	c := tool{url: "sqlite:" + path}
	r := c.expect(t, 2, "tenants", "create", "a", "B", "c_")
	for _, want := range []string{`not created a: not attempted`, `"B"`, `"c_": must end with a letter or a digit`, "2 of 3 ids invalid"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("want %q in the report, got %s", want, r)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("invalid ids made the database %s", path)
	}
	type result struct {
		ID               string `json:"id"`
		Key              string `json:"key"`
		Status           string `json:"status"`
		Version          int64  `json:"version"`
		MigrationVersion int64  `json:"migration_version"`
		CreatedAt        string `json:"created_at"`
		Error            string `json:"error"`
	}
	var got []result
	decodeJSON(t, c.expect(t, 2, "--json", "tenants", "create", "a", "B"), &got)
	if len(got) != 2 || got[0].ID != "a" || got[0].Error == "" || got[1].ID != "B" || !strings.Contains(got[1].Error, "invalid tenant id") {
		t.Errorf("--json with a bad id: %+v", got)
	}
	c.expect(t, 0, "tenants", "create", "a")
	got = nil
	decodeJSON(t, c.expect(t, 1, "--json", "tenants", "create", "a", "b", "c"), &got)
	if len(got) != 3 || !strings.Contains(got[0].Error, "already exists") || got[1].Status != "active" || got[2].MigrationVersion != 3 {
		t.Errorf("--json with an existing id: %+v", got)
	}
	if ids := listIDs(t, c); strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("want a, b and c created, got %v", ids)
	}
	c.expect(t, 0, "tenants", "drop", "c", "--confirm", "c", "--retain", "24h")
	r = c.expect(t, 1, "tenants", "create", "c")
	if !strings.Contains(r.stderr, "c was dropped and is retained until 20") || !strings.Contains(r.stderr, "tenants restore c") {
		t.Errorf("want the dropped id's retention, got %s", r)
	}
}

// TestCreateOneInvalidJSON: one invalid id with --json prints its result.
func TestCreateOneInvalidJSON(t *testing.T) {
	c := tool{url: sqliteURL(t)}
	r := c.expect(t, 2, "--json", "tenants", "create", "x_")
	if !strings.Contains(r.stdout, `"error": "tenantmap: invalid tenant id`) {
		t.Errorf("want the id's result as JSON, got %s", r)
	}
}

// TestUsageLineAndModels: an argument error shows the command's usage
// line, and models lists the application's models without a database
// (issue 12 item 17).
func TestUsageLineAndModels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	c := tool{url: "sqlite:" + path}
	for args, want := range map[string]string{
		"tenants show":       "usage: tenantctl tenants show ID",
		"tenants create":     "usage: tenantctl tenants create ID...",
		"tenants drop a b":   "usage: tenantctl tenants drop ID --confirm ID",
		"tenants list --bad": "usage: tenantctl tenants list",
	} {
		if r := c.expect(t, 2, strings.Fields(args)...); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--help' for more") {
			t.Errorf("want %q, got %s", want, r)
		}
	}
	r := c.expect(t, 0, "models")
	wantRow(t, r, "case", "TablePerTenant({tenant}_case)")
	wantRow(t, r, "comment", "TablePerTenant({tenant}_comment)")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("models made %s", path)
	}
}
