// The end-to-end tests of tenantctl: TestMain builds the real binary once,
// and every test runs it as a user or a script would, on SQLite and on
// PostgreSQL, checking its standard output, standard error and exit code.
//
// PostgreSQL is TENANTMAP_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each test makes
// a database of its own there and drops it at the end. Set the variable to
// "skip" to run the SQLite half alone.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/cli"
	"github.com/tenantmap/tenantmap/examples/casetracker"
)

// tenantctlBin is the binary TestMain built.
var tenantctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tenantctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tenantctlBin = filepath.Join(dir, "tenantctl")
	build := exec.Command("go", "build", "-o", tenantctlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building tenantctl: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// Every test names its database or runs in a directory of its own: a
	// tenantmap.db left here means one ran the binary on the default file.
	_, statErr := os.Stat("tenantmap.db")
	hadDefault := statErr == nil
	code := m.Run()
	if _, err := os.Stat("tenantmap.db"); err == nil && !hadDefault {
		fmt.Fprintln(os.Stderr, "FAIL: a test ran tenantctl on the default database: tenantmap.db was left in cmd/tenantctl")
		os.Remove("tenantmap.db")
		os.Remove("tenantmap.db-wal")
		os.Remove("tenantmap.db-shm")
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// Running the binary

// result is one run of the binary.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("tenantctl %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// tool runs the binary on one database.
type tool struct {
	url   string   // passed as --url unless ""
	env   []string // added to the environment (which never has TENANTMAP_URL otherwise)
	dir   string   // the working directory, if not the test's
	stdin io.Reader
}

// command is the binary with args, ready to start, and its output buffers.
func (c tool) command(ctx context.Context, args []string) (*exec.Cmd, []string, *bytes.Buffer, *bytes.Buffer) {
	if c.url != "" {
		args = append([]string{"--url", c.url}, args...)
	}
	cmd := exec.CommandContext(ctx, tenantctlBin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, cli.EnvURL+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, c.env...)
	cmd.Dir = c.dir
	cmd.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, args, &stdout, &stderr
}

// run runs the binary and returns what it printed and its exit code.
func (c tool) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, args, stdout, stderr := c.command(ctx, args)
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String(), code: exitCode(t, err)}
	if ctx.Err() != nil {
		t.Fatalf("timed out: %s", r)
	}
	return r
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running tenantctl: %v", err)
	return -1
}

// expect runs the binary and stops the test unless it exits with code.
func (c tool) expect(t *testing.T, code int, args ...string) result {
	t.Helper()
	r := c.run(t, args...)
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

// pipe runs `tenantctl from... | tenantctl to...`, one process's standard
// output the other's standard input.
func (c tool) pipe(t *testing.T, from, to []string) (result, result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c1, args1, _, stderr1 := c.command(ctx, from)
	c2, args2, stdout2, stderr2 := c.command(ctx, to)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c1.Stdout, c2.Stdin = pw, pr
	if err := c1.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	pr.Close()
	err1, err2 := c1.Wait(), c2.Wait()
	r1 := result{args: args1, stderr: stderr1.String(), code: exitCode(t, err1)}
	r2 := result{args: args2, stdout: stdout2.String(), stderr: stderr2.String(), code: exitCode(t, err2)}
	if ctx.Err() != nil {
		t.Fatalf("timed out:\n%s\n%s", r1, r2)
	}
	return r1, r2
}

// row returns the whitespace-separated fields of the first line of out
// whose first field is first, or nil.
func row(out, first string) []string {
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	return nil
}

// wantRow checks that the output has a line whose fields begin with want.
func wantRow(t *testing.T, r result, want ...string) {
	t.Helper()
	for line := range strings.SplitSeq(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) >= len(want) && slices.Equal(f[:len(want)], want) {
			return
		}
	}
	t.Errorf("want a line %q in the output, got %s", strings.Join(want, " "), r)
}

func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("the output is not the expected JSON: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in the output:\n%s", r)
	}
}

// ---------------------------------------------------------------------------
// The databases

const (
	envPostgres     = "TENANTMAP_POSTGRES_URL"
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "tenants.db")
}

// postgresURL makes a fresh database for the test, dropped when it ends.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv(envPostgres)
	if base == "skip" {
		t.Skipf("%s=skip", envPostgres)
	}
	if base == "" {
		base = defaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is unreachable at %s: %v\n"+
			"Start PostgreSQL, point %s at a server (postgres://user@host:port/db?sslmode=disable), or set %s=skip to skip the PostgreSQL tests.",
			base, err, envPostgres, envPostgres)
	}
	defer conn.Close(context.Background())
	name := "tm_cli_" + randomHex()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", envPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// eachDatabase runs f as parallel subtests, on a fresh SQLite file and a
// fresh PostgreSQL database.
func eachDatabase(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	for _, db := range []struct {
		name string
		url  func(*testing.T) string
	}{{"sqlite", sqliteURL}, {"postgres", postgresURL}} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			f(t, db.url(t))
		})
	}
}

// ---------------------------------------------------------------------------
// The library, for what the binary does not show

// caseV1 is the case of release 1, before casetracker's migrations.
type caseV1 struct {
	ID        int64
	Title     string    `tm:",size:200"`
	Status    string    `tm:",size:20,index,default:open"`
	CreatedAt time.Time `tm:",default:now"`
}

var releaseOneTenants = []string{"t1", "t2", "t3", "t4", "t5", "t6"}

// seedReleaseOne makes tenants as release 1 did: at schema version 0, with
// a case table of release 1's shape and no comment table, two cases each,
// the second one escalated.
func seedReleaseOne(t *testing.T, u string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CreateCatalog = true // release 1 made the catalog
	db, err := tenantmap.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases, err := tenantmap.Register[caseV1](db, tenantmap.TablePerTenant("{tenant}_case"), tenantmap.ModelName("case"))
	if err != nil {
		t.Fatal(err)
	}
	if ids == nil {
		ids = releaseOneTenants
	}
	for _, id := range ids {
		tn, err := db.Tenants().Create(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tn.MigrationVersion != 0 {
			t.Fatalf("release 1's tenant %s is at migration version %d, want 0", id, tn.MigrationVersion)
		}
		for _, c := range []caseV1{{Title: id + " login fails"}, {Title: id + " data lost", Status: "escalated"}} {
			if err := cases.For(id).Insert(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// rawExec runs one raw statement for a tenant, through the library.
func rawExec(t *testing.T, u, tenant, stmt string) {
	t.Helper()
	ctx := context.Background()
	db, err := tenantmap.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(tenantmap.WithTenant(ctx, tenant), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// openApp opens the database with casetracker's models, as the binary does.
func openApp(t *testing.T, u string) (*tenantmap.DB, *casetracker.Tables) {
	t.Helper()
	db, err := tenantmap.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := casetracker.Register(db)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, tables
}

// checkMigratedRows checks that release 1's rows of each tenant are there,
// with the priorities migration 1 gave them, and that the comment table
// migration 3 made works.
func checkMigratedRows(t *testing.T, u string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	db, tables := openApp(t, u)
	defer db.Close()
	for _, id := range ids {
		cs, err := tables.Cases.For(id).Find(ctx, tenantmap.OrderBy("id"))
		if err != nil {
			t.Errorf("tenant %s: reading cases: %v", id, err)
			continue
		}
		type got struct {
			Title, Status string
			Priority      int
			SLA           bool
		}
		var have []got
		for _, c := range cs {
			have = append(have, got{c.Title, c.Status, c.Priority, c.SLADeadline != nil})
			if c.CreatedAt.IsZero() {
				t.Errorf("tenant %s: case %d lost its creation time", id, c.ID)
			}
		}
		want := []got{{id + " login fails", "open", 3, false}, {id + " data lost", "escalated", 1, false}}
		if !slices.Equal(have, want) {
			t.Errorf("tenant %s: cases after the migration\n got %+v\nwant %+v", id, have, want)
		}
		if len(cs) == 0 {
			continue
		}
		cm := casetracker.Comment{CaseID: cs[0].ID, Body: "a comment"}
		if err := tables.Comments.For(id).Insert(ctx, &cm); err != nil {
			t.Errorf("tenant %s: inserting a comment into the table migration 3 made: %v", id, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Migrations

// TestMigrateReleaseOneTenants takes release 1's tenants through status,
// drift, a dry run, a parallel migration with progress lines, and a second
// migration that has nothing to do.
func TestMigrateReleaseOneTenants(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		seedReleaseOne(t, u)
		c := tool{url: u}

		r := c.expect(t, 3, "status", "--check")
		wantRow(t, r, "0", "6", "behind")
		if !strings.Contains(r.stdout, "latest migration: 3") || !strings.Contains(r.stdout, "behind 6, failed 0") {
			t.Errorf("status should say the latest migration is 3 and 6 tenants are behind:\n%s", r)
		}
		if !strings.Contains(r.stderr, "6 tenants behind version 3") {
			t.Errorf("status --check should say why it exits 3:\n%s", r)
		}
		r = c.expect(t, 3, "drift")
		if !strings.Contains(r.stdout, "6 tenants checked: 6 with drift") {
			t.Errorf("drift should find all 6 tenants drifted:\n%s", r)
		}
		for _, id := range releaseOneTenants {
			if row(r.stdout, id) == nil {
				t.Errorf("drift does not list tenant %s:\n%s", id, r)
			}
		}

		// A dry run prints every tenant's plan and changes nothing.
		r = c.expect(t, 0, "migrate", "--dry-run")
		up := strings.ToUpper(r.stdout)
		for _, sql := range []string{"ADD COLUMN", "CREATE INDEX", "CREATE TABLE"} {
			if !strings.Contains(up, sql) {
				t.Errorf("the dry run's plan has no %s:\n%s", sql, r)
			}
		}
		for _, id := range releaseOneTenants {
			if !strings.Contains(r.stdout, "-- tenant "+id+": 0 → 3") {
				t.Errorf("the dry run's plan has no section for tenant %s:\n%s", id, r)
			}
		}
		r = c.expect(t, 3, "status", "--check")
		wantRow(t, r, "0", "6", "behind")
		c.expect(t, 3, "drift")

		r = c.expect(t, 0, "migrate", "--parallel", "3", "--progress", "lines")
		wantRow(t, r, "RESULT", "TENANTS")
		wantRow(t, r, "migrated", "6")
		wantRow(t, r, "failed", "0")
		wantRow(t, r, "skipped", "0")
		wantRow(t, r, "total", "6")
		if !strings.Contains(r.stdout, "migrated to version 3") {
			t.Errorf("the summary should name the version reached:\n%s", r)
		}
		if strings.Contains(r.stdout, "FAILED TENANT") {
			t.Errorf("no tenant failed, but the summary lists failed tenants:\n%s", r)
		}
		var progress []string
		for line := range strings.SplitSeq(r.stderr, "\n") {
			if strings.Contains(line, "to version 3") {
				progress = append(progress, line)
			}
		}
		if len(progress) == 0 || !strings.Contains(progress[len(progress)-1], "6/6 tenants") || !strings.Contains(progress[len(progress)-1], "100%") {
			t.Errorf("want progress lines on stderr, the last one \"to version 3: 6/6 tenants 100%%\", got %q in %s", progress, r)
		}
		if strings.Contains(r.stderr, "\r") {
			t.Errorf("--progress lines drew a bar:\n%q", r.stderr)
		}
		checkProgressRates(t, progress)

		r = c.expect(t, 0, "status")
		wantRow(t, r, "3", "6")
		if row(r.stdout, "0") != nil || strings.Contains(r.stdout, "behind\n") || !strings.Contains(r.stdout, "active 6, suspended 0, dropped 0 (kept until purged); behind 0, failed 0") {
			t.Errorf("after the migration every tenant should be at 3:\n%s", r)
		}
		c.expect(t, 0, "status", "--check")
		r = c.expect(t, 0, "drift")
		if !strings.Contains(r.stdout, "6 tenants checked: 0 with drift, 0 could not be checked") {
			t.Errorf("no tenant should drift after the migration:\n%s", r)
		}
		checkMigratedRows(t, u, releaseOneTenants...)

		r = c.expect(t, 0, "migrate")
		if !strings.Contains(r.stdout, "nothing to migrate: every tenant is at version 3") {
			t.Errorf("a second migration should have nothing to do:\n%s", r)
		}
		r = c.expect(t, 0, "tenants", "list")
		for _, id := range releaseOneTenants {
			if f := row(r.stdout, id); len(f) < 3 || f[1] != "active" || f[2] != "3" {
				t.Errorf("tenants list: want %s active at schema 3, got %v in %s", id, f, r)
			}
		}
	})
}

// progressLine is a progress line's numbers:
// "migrate to version 3: 1/6 tenants  16%  1820/s  ETA 0s  failed 0".
var progressLine = regexp.MustCompile(`to version (\d+): (\d+)/(\d+) tenants +(\d+)%  (\d+)/s  ETA (\S+)  failed (\d+)`)

// checkProgressRates checks that the rates the progress lines give are
// rates a database can reach. Migrating one tenant is a transaction of
// several DDL statements and catalog writes: nowhere near 10µs, so no line
// can claim more than 100,000 tenants a second for the handful here.
func checkProgressRates(t *testing.T, lines []string) {
	t.Helper()
	for _, line := range lines {
		m := progressLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("a progress line in an unexpected format: %q", line)
			continue
		}
		if rate, _ := strconv.Atoi(m[5]); rate > 100_000 {
			t.Errorf("progress line %q claims %d tenants a second (and an ETA from that): the rate is measured from when the first tenant finished, not from when the pass began", line, rate)
		}
	}
}

// TestMigrateFailingTenant makes one tenant fail: a table in the way of
// the one migration 3 creates. The others migrate; status reports it until
// the table is gone and a second run finishes it.
func TestMigrateFailingTenant(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		seedReleaseOne(t, u)
		rawExec(t, u, "t3", "CREATE TABLE t3_comment (note TEXT)")
		c := tool{url: u}

		// One at a time, stopping at the first failure: t1 and t2 migrate,
		// t3 fails, the rest are not attempted.
		r := c.expect(t, 3, "migrate", "--parallel", "1", "--stop-on-error", "--progress", "none")
		wantRow(t, r, "migrated", "2")
		wantRow(t, r, "failed", "1")
		wantRow(t, r, "skipped", "3")
		wantRow(t, r, "total", "6")
		if !strings.Contains(r.stderr, "1 tenants failed, 3 not attempted") {
			t.Errorf("migrate --stop-on-error should say what it left:\n%s", r)
		}
		r = c.expect(t, 0, "status")
		wantRow(t, r, "0", "4", "behind")
		wantRow(t, r, "3", "2")

		// Without --stop-on-error the others go on.
		r = c.expect(t, 3, "migrate", "--progress", "none")
		wantRow(t, r, "migrated", "3")
		wantRow(t, r, "failed", "1")
		wantRow(t, r, "total", "4")
		wantRow(t, r, "FAILED", "TENANT", "AT", "VERSION", "ERROR")
		if f := row(r.stdout, "t3"); len(f) < 3 || f[1] != "0" {
			t.Errorf("want t3 listed under FAILED TENANT at version 0 with its error, got %v in %s", f, r)
		}
		if !strings.Contains(r.stderr, "1 tenants failed, 0 not attempted") {
			t.Errorf("migrate should say on stderr why it exits 3:\n%s", r)
		}
		if r.stderr != "tenantctl: 1 tenants failed, 0 not attempted: rerun after fixing them\n" {
			t.Errorf("--progress none should print nothing but the error on stderr:\n%q", r.stderr)
		}

		r = c.expect(t, 0, "status")
		wantRow(t, r, "0", "1", "behind")
		wantRow(t, r, "3", "5")
		if !strings.Contains(r.stdout, "behind 1, failed 1") {
			t.Errorf("status should count one tenant behind and failed:\n%s", r)
		}
		wantRow(t, r, "FAILED", "TENANT", "AT", "VERSION", "LAST", "ERROR")
		if f := row(r.stdout, "t3"); len(f) < 3 || f[1] != "0" {
			t.Errorf("status should list t3 at version 0 with its last error, got %v in %s", f, r)
		}
		r = c.expect(t, 3, "status", "--check")
		if !strings.Contains(r.stderr, "1 tenants behind version 3, 1 failed") {
			t.Errorf("status --check should say why it exits 3:\n%s", r)
		}
		r = c.expect(t, 0, "tenants", "show", "t3")
		if !strings.Contains(r.stdout, "last error:") || !strings.Contains(r.stdout, "migration version: 0 (latest 3)") {
			t.Errorf("tenants show should give t3's version and last error:\n%s", r)
		}
		// The others are done: a drift check of them finds nothing.
		c.expect(t, 0, "drift", "--tenant", "t1,t6")
		c.expect(t, 3, "drift", "--tenant", "t3")

		rawExec(t, u, "t3", "DROP TABLE t3_comment")
		r = c.expect(t, 0, "migrate", "--progress", "none")
		wantRow(t, r, "migrated", "1")
		wantRow(t, r, "failed", "0")
		wantRow(t, r, "total", "1")
		r = c.expect(t, 0, "status", "--check")
		wantRow(t, r, "3", "6")
		if strings.Contains(r.stdout, "FAILED TENANT") {
			t.Errorf("t3 was migrated, but status still lists it as failed:\n%s", r)
		}
		r = c.expect(t, 0, "tenants", "show", "t3")
		if strings.Contains(r.stdout, "last error:") {
			t.Errorf("t3 was migrated, but it still shows its last error:\n%s", r)
		}
		c.expect(t, 0, "drift")
		checkMigratedRows(t, u, releaseOneTenants...)
	})
}

// migrateJSON is migrate --json's output.
type migrateJSON struct {
	Target    int64          `json:"target"`
	DryRun    bool           `json:"dry_run"`
	ElapsedMS int64          `json:"elapsed_ms"`
	Counts    map[string]int `json:"counts"`
	Shared    []struct {
		Table  string `json:"table"`
		From   int64  `json:"from"`
		To     int64  `json:"to"`
		Result string `json:"result"`
	} `json:"shared"`
	Tenants []struct {
		Tenant     string   `json:"tenant"`
		From       int64    `json:"from"`
		To         int64    `json:"to"`
		Result     string   `json:"result"`
		ByOther    bool     `json:"by_other_runner"`
		Error      string   `json:"error"`
		Statements []string `json:"statements"`
	} `json:"tenants"`
}

// TestMigrateJSON reads migrate --json as a script would: a dry run, a run
// where one tenant fails, and a run with nothing to do.
func TestMigrateJSON(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		seedReleaseOne(t, u)
		rawExec(t, u, "t6", "CREATE TABLE t6_comment (note TEXT)")
		c := tool{url: u}

		var plan migrateJSON
		decodeJSON(t, c.expect(t, 0, "migrate", "--dry-run", "--json"), &plan)
		if plan.Target != 3 || !plan.DryRun || plan.Counts["planned"] != 6 || len(plan.Tenants) != 6 || plan.Shared == nil {
			t.Errorf("dry run: want target 3, dry_run, 6 planned tenants, got %+v", plan)
		}
		for i, tm := range plan.Tenants {
			if tm.Tenant != releaseOneTenants[i] || tm.From != 0 || tm.To != 3 || tm.Result != "planned" || len(tm.Statements) == 0 {
				t.Errorf("dry run: tenant %d: want %s planned 0 → 3 with statements, got %+v", i, releaseOneTenants[i], tm)
			}
		}

		r := c.expect(t, 3, "migrate", "--json", "--progress", "none")
		var rep migrateJSON
		decodeJSON(t, r, &rep)
		want := map[string]int{"migrated": 5, "current": 0, "failed": 1, "skipped": 0}
		if rep.Target != 3 || rep.DryRun || fmt.Sprint(rep.Counts) != fmt.Sprint(want) || len(rep.Tenants) != 6 {
			t.Errorf("want target 3 and counts %v over 6 tenants, got %+v", want, rep)
		}
		for i, tm := range rep.Tenants {
			id := releaseOneTenants[i]
			switch {
			case tm.Tenant != id:
				t.Errorf("tenant %d is %q, want %s (in id order)", i, tm.Tenant, id)
			case id == "t6" && (tm.Result != "failed" || tm.Error == "" || tm.From != 0):
				t.Errorf("want t6 failed at 0 with its error, got %+v", tm)
			case id != "t6" && (tm.Result != "migrated" || tm.From != 0 || tm.To != 3 || tm.Error != ""):
				t.Errorf("want %s migrated 0 → 3, got %+v", id, tm)
			}
		}

		rawExec(t, u, "t6", "DROP TABLE t6_comment")
		decodeJSON(t, c.expect(t, 0, "migrate", "--json", "--progress", "none", "--tenant", "t6"), &rep)
		if rep.Counts["migrated"] != 1 || len(rep.Tenants) != 1 || rep.Tenants[0].Tenant != "t6" || rep.Tenants[0].Result != "migrated" {
			t.Errorf("want t6 migrated, got %+v", rep)
		}

		rep = migrateJSON{}
		decodeJSON(t, c.expect(t, 0, "migrate", "--json"), &rep)
		if rep.Target != 3 || rep.Tenants == nil || len(rep.Tenants) != 0 || rep.Counts["migrated"] != 0 {
			t.Errorf("with nothing to migrate, want target 3 and an empty tenants list, got %+v", rep)
		}

		var status struct {
			Latest   int64          `json:"latest"`
			Versions map[string]int `json:"versions"`
			Statuses map[string]int `json:"statuses"`
			Behind   int            `json:"behind"`
			Failed   []any          `json:"failed"`
		}
		decodeJSON(t, c.expect(t, 0, "status", "--json", "--check"), &status)
		if status.Latest != 3 || status.Versions["3"] != 6 || len(status.Versions) != 1 || status.Statuses["active"] != 6 || status.Behind != 0 || status.Failed == nil || len(status.Failed) != 0 {
			t.Errorf("status --json after the migrations: %+v", status)
		}
	})
}

// TestMigrateTarget migrates to a version below the latest with --to,
// then asks for a version no migration has.
func TestMigrateTarget(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		seedReleaseOne(t, u)
		c := tool{url: u}
		r := c.expect(t, 0, "migrate", "--to", "2", "--progress", "none")
		if !strings.Contains(r.stdout, "migrated to version 2") {
			t.Errorf("migrate --to 2:\n%s", r)
		}
		wantRow(t, r, "migrated", "6")
		r = c.expect(t, 3, "status", "--check")
		wantRow(t, r, "2", "6", "behind")
		r = c.expect(t, 3, "drift")
		if !strings.Contains(r.stdout, "6 with drift") {
			t.Errorf("tenants at version 2 lack the comment table of version 3:\n%s", r)
		}

		// No migration has version 9: the command fails, and must not
		// report the tenants as being at version 9.
		for _, args := range [][]string{{"migrate", "--to", "9"}, {"migrate", "--to", "9", "--json"}} {
			r = c.run(t, args...)
			if r.code != 1 && r.code != 2 {
				t.Errorf("want exit 1 or 2 for a version no migration has, got %s", r)
			}
			if !strings.Contains(r.stderr, "no migration has version 9") {
				t.Errorf("want the missing version named on stderr:\n%s", r)
			}
			if strings.Contains(r.stdout, "every tenant is at version 9") || strings.Contains(r.stdout, `"target": 9`) {
				t.Errorf("a failed migrate --to 9 printed a report saying the tenants are at version 9, which no migration has:\n%s", r)
			}
		}
		r = c.expect(t, 3, "status", "--check")
		wantRow(t, r, "2", "6", "behind")

		c.expect(t, 0, "migrate", "--progress", "none")
		c.expect(t, 0, "status", "--check")
		checkMigratedRows(t, u, releaseOneTenants...)
	})
}

// TestMigrateTwoRunners runs two migrations at once: they share the
// tenants, each migrated once, and both succeed.
func TestMigrateTwoRunners(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		ids := make([]string, 24)
		for i := range ids {
			ids[i] = fmt.Sprintf("r%02d", i)
		}
		seedReleaseOne(t, u, ids...)
		c := tool{url: u}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		type runner struct {
			cmd            *exec.Cmd
			args           []string
			stdout, stderr *bytes.Buffer
		}
		var runners []runner
		for range 2 {
			var rn runner
			rn.cmd, rn.args, rn.stdout, rn.stderr = c.command(ctx, []string{"migrate", "--json", "--progress", "none", "--parallel", "2"})
			if err := rn.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			runners = append(runners, rn)
		}
		migrated := 0
		for _, rn := range runners {
			code := exitCode(t, rn.cmd.Wait())
			r := result{args: rn.args, stdout: rn.stdout.String(), stderr: rn.stderr.String(), code: code}
			if r.code != 0 {
				t.Errorf("want exit 0 from both runners, got %s", r)
				continue
			}
			var rep migrateJSON
			decodeJSON(t, r, &rep)
			migrated += rep.Counts["migrated"]
			if rep.Counts["failed"] != 0 || rep.Counts["skipped"] != 0 {
				t.Errorf("a runner failed or skipped tenants: %s", r)
			}
		}
		if migrated != len(ids) {
			t.Errorf("the two runners migrated %d tenants between them, want each of the %d once", migrated, len(ids))
		}
		r := c.expect(t, 0, "status", "--check")
		wantRow(t, r, "3", strconv.Itoa(len(ids)))
		checkMigratedRows(t, u, ids[0], ids[len(ids)-1])
	})
}

// TestMigrateInterrupted sends SIGINT to a migration under way: it stops
// between tenants, every tenant at its old version or the new one, and a
// second run finishes it.
func TestMigrateInterrupted(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		ids := make([]string, 100)
		for i := range ids {
			ids[i] = fmt.Sprintf("s%03d", i)
		}
		seedReleaseOne(t, u, ids...)
		c := tool{url: u}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd, _, stdout, _ := c.command(ctx, []string{"migrate", "--parallel", "1", "--progress", "lines"})
		cmd.Stderr = nil
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The first progress line comes after the first tenant: interrupt
		// the run there, with most tenants still to go.
		var errText strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(errText.String(), "\n") {
			n, err := stderr.Read(buf)
			errText.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Logf("signalling: %v", err)
		}
		rest, _ := io.ReadAll(stderr)
		errText.Write(rest)
		code := exitCode(t, cmd.Wait())
		r := result{args: cmd.Args[1:], stdout: stdout.String(), stderr: errText.String(), code: code}
		if r.code == 0 {
			t.Logf("the run finished before the interrupt arrived:\n%s", r)
		} else {
			if r.code != 1 && r.code != 3 || !strings.Contains(r.stderr, "context canceled") {
				t.Errorf("want exit 1 (or 3) and the cancellation on stderr, got %s", r)
			}
			if f := row(r.stdout, "skipped"); len(f) < 2 || f[1] == "0" {
				t.Errorf("an interrupted run should leave tenants not attempted: %v in %s", f, r)
			}
		}
		var ts []tenantJSON
		decodeJSON(t, c.expect(t, 0, "tenants", "list", "--json"), &ts)
		if len(ts) != len(ids) {
			t.Fatalf("%d tenants after the interrupted run, want %d", len(ts), len(ids))
		}
		for _, tn := range ts {
			if tn.MigrationVersion != 0 && tn.MigrationVersion != 3 {
				t.Errorf("tenant %s is at version %d after the interrupted run: neither its old version nor the new one", tn.ID, tn.MigrationVersion)
			}
		}
		if r.code != 0 {
			c.expect(t, 3, "status", "--check")
			c.expect(t, 3, "drift")
		}
		c.expect(t, 0, "migrate", "--progress", "none")
		c.expect(t, 0, "status", "--check")
		c.expect(t, 0, "drift")
		checkMigratedRows(t, u, ids[0], ids[50], ids[len(ids)-1])
	})
}

// ---------------------------------------------------------------------------
// Lifecycle

type tenantJSON struct {
	ID               string     `json:"id"`
	Key              string     `json:"key"`
	Status           string     `json:"status"`
	Version          int64      `json:"version"`
	MigrationVersion int64      `json:"migration_version"`
	CreatedAt        time.Time  `json:"created_at"`
	PurgeAfter       *time.Time `json:"purge_after"`
	LastError        string     `json:"last_error"`
}

type showJSON struct {
	tenantJSON
	Placements []struct {
		Model    string `json:"model"`
		Strategy string `json:"strategy"`
		Database string `json:"database"`
		Schema   string `json:"schema"`
		Table    string `json:"table"`
	} `json:"placements"`
}

func listIDs(t *testing.T, c tool, args ...string) []string {
	t.Helper()
	var ts []tenantJSON
	decodeJSON(t, c.expect(t, 0, append([]string{"tenants", "list", "--json"}, args...)...), &ts)
	ids := []string{}
	for _, tn := range ts {
		ids = append(ids, tn.ID)
	}
	return ids
}

func showStatus(t *testing.T, c tool, id string) string {
	t.Helper()
	var s showJSON
	decodeJSON(t, c.expect(t, 0, "tenants", "show", id, "--json"), &s)
	if s.ID != id {
		t.Fatalf("tenants show %s --json shows %q", id, s.ID)
	}
	return s.Status
}

// TestTenantLifecycle creates, lists, shows, suspends, resumes, drops,
// restores and purges tenants through the binary.
func TestTenantLifecycle(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		c := tool{url: u}
		r := c.expect(t, 0, "tenants", "create", "a", "b")
		if r.stdout != "created a (migration version 3)\ncreated b (migration version 3)\n" {
			t.Errorf("tenants create output:\n%s", r)
		}

		r = c.expect(t, 0, "tenants", "list")
		wantRow(t, r, "ID", "STATUS", "SCHEMA", "CREATED", "LAST", "ERROR")
		wantRow(t, r, "a", "active", "3")
		wantRow(t, r, "b", "active", "3")
		var ts []tenantJSON
		decodeJSON(t, c.expect(t, 0, "tenants", "list", "--json"), &ts)
		if len(ts) != 2 || ts[0].ID != "a" || ts[1].ID != "b" {
			t.Fatalf("tenants list --json: want a and b, got %+v", ts)
		}
		for _, tn := range ts {
			if tn.Status != "active" || tn.MigrationVersion != 3 || tn.Key == "" || tn.CreatedAt.IsZero() || time.Since(tn.CreatedAt) > time.Hour || tn.PurgeAfter != nil {
				t.Errorf("tenants list --json: %+v", tn)
			}
		}
		if ids := listIDs(t, c, "--limit", "1"); !slices.Equal(ids, []string{"a"}) {
			t.Errorf("tenants list --limit 1: %v", ids)
		}
		if ids := listIDs(t, c, "--after", "a"); !slices.Equal(ids, []string{"b"}) {
			t.Errorf("tenants list --after a: %v", ids)
		}

		r = c.expect(t, 0, "tenants", "show", "a")
		if !strings.Contains(r.stdout, "status:            active") || !strings.Contains(r.stdout, "migration version: 3 (latest 3)") {
			t.Errorf("tenants show a:\n%s", r)
		}
		wantRow(t, r, "MODEL", "STRATEGY", "DATABASE", "SCHEMA", "TABLE")
		for _, m := range []string{"case", "comment"} {
			if f := row(r.stdout, m); len(f) != 5 || f[1] != "table" || f[4] != "a_"+m {
				t.Errorf("tenants show a: want model %s in table a_%s, got %v in %s", m, m, f, r)
			}
		}
		var s showJSON
		decodeJSON(t, c.expect(t, 0, "tenants", "show", "a", "--json"), &s)
		if len(s.Placements) != 2 || s.Placements[0].Table != "a_case" || s.Placements[1].Table != "a_comment" || s.Placements[0].Strategy != "table" {
			t.Errorf("tenants show a --json placements: %+v", s.Placements)
		}

		r = c.expect(t, 0, "tenants", "suspend", "a")
		if r.stdout != "a: suspended\n" {
			t.Errorf("tenants suspend a:\n%s", r)
		}
		if st := showStatus(t, c, "a"); st != "suspended" {
			t.Errorf("after suspend, a is %q", st)
		}
		c.expect(t, 1, "tenants", "suspend", "a") // suspended already
		r = c.expect(t, 0, "tenants", "resume", "a")
		if r.stdout != "a: active\n" || showStatus(t, c, "a") != "active" {
			t.Errorf("tenants resume a:\n%s", r)
		}

		// A drop must be confirmed with the same id.
		r = c.expect(t, 2, "tenants", "drop", "a")
		if !strings.Contains(r.stderr, "confirm") {
			t.Errorf("a drop without --confirm should ask for it:\n%s", r)
		}
		r = c.expect(t, 2, "tenants", "drop", "a", "--confirm", "b")
		if !strings.Contains(r.stderr, `--confirm "b" does not name the tenant "a"`) {
			t.Errorf("drop --confirm of another id:\n%s", r)
		}
		if showStatus(t, c, "a") != "active" || showStatus(t, c, "b") != "active" {
			t.Fatal("an unconfirmed drop changed a tenant")
		}

		// Soft drop: kept, listed as dropped, restorable.
		r = c.expect(t, 0, "tenants", "drop", "a", "--confirm", "a")
		if !strings.Contains(r.stdout, "a: dropped, kept until "+time.Now().UTC().Add(7*24*time.Hour).Format("2006-01-02")) {
			t.Errorf("a soft drop keeps the tenant for 7 days by default:\n%s", r)
		}
		if ids := listIDs(t, c, "--status", "dropped"); !slices.Equal(ids, []string{"a"}) {
			t.Errorf("tenants list --status dropped: %v", ids)
		}
		wantRow(t, c.expect(t, 0, "tenants", "list", "--status", "dropped"), "a", "dropped")
		if ids := listIDs(t, c, "--status", "active"); !slices.Equal(ids, []string{"b"}) {
			t.Errorf("tenants list --status active: %v", ids)
		}
		r = c.expect(t, 0, "status")
		if !strings.Contains(r.stdout, "active 1, suspended 0, dropped 1") {
			t.Errorf("status with a dropped tenant:\n%s", r)
		}
		c.expect(t, 1, "tenants", "create", "a") // the id stays taken
		r = c.expect(t, 0, "tenants", "restore", "a")
		if r.stdout != "a: active\n" || showStatus(t, c, "a") != "active" {
			t.Errorf("tenants restore a:\n%s", r)
		}
		c.expect(t, 1, "tenants", "restore", "a") // not dropped

		// Hard drop: gone at once, and the id is free again.
		r = c.expect(t, 0, "tenants", "drop", "a", "--confirm", "a", "--retain", "0")
		if r.stdout != "a: dropped\n" {
			t.Errorf("tenants drop --retain 0:\n%s", r)
		}
		r = c.expect(t, 4, "tenants", "show", "a")
		if !strings.Contains(r.stderr, "not found") {
			t.Errorf("show of a dropped tenant:\n%s", r)
		}
		if ids := listIDs(t, c); !slices.Equal(ids, []string{"b"}) {
			t.Errorf("after dropping a: %v", ids)
		}

		// Purge removes soft-dropped tenants once their retention is over.
		c.expect(t, 0, "tenants", "drop", "b", "--confirm", "b")
		r = c.expect(t, 0, "tenants", "purge")
		if r.stdout != "nothing to purge\n" {
			t.Errorf("a purge now must keep b, dropped for 7 days:\n%s", r)
		}
		if ids := listIDs(t, c, "--status", "dropped"); !slices.Equal(ids, []string{"b"}) {
			t.Errorf("after the first purge: %v", ids)
		}
		r = c.expect(t, 0, "tenants", "purge", "--now", time.Now().Add(31*24*time.Hour).UTC().Format(time.RFC3339))
		if r.stdout != "purged b\n" {
			t.Errorf("tenants purge a month ahead:\n%s", r)
		}
		c.expect(t, 4, "tenants", "show", "b")
		if ids := listIDs(t, c); len(ids) != 0 {
			t.Errorf("after the purge: %v", ids)
		}

		// Both ids are free, their tables gone.
		c.expect(t, 0, "tenants", "create", "a", "b")
		var made []tenantJSON
		decodeJSON(t, c.expect(t, 0, "tenants", "create", "c", "--json"), &made)
		if len(made) != 1 || made[0].ID != "c" || made[0].MigrationVersion != 3 {
			t.Errorf("tenants create --json: %+v", made)
		}
		c.expect(t, 0, "status", "--check")
		c.expect(t, 0, "drift")
	})
}

// ---------------------------------------------------------------------------
// Clone, export, import

// sampleRows puts cases and comments into tenant src through the library.
func sampleRows(t *testing.T, u, src string) {
	t.Helper()
	ctx := context.Background()
	db, tables := openApp(t, u)
	defer db.Close()
	sla := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	cases := []casetracker.Case{
		{Title: "Login fails", Priority: 1, SLADeadline: &sla},
		{Title: "Slow search", Status: "closed"},
		{Title: `Quotes "and" ünïcödé, a newline` + "\n" + `and a \ backslash`},
	}
	for i := range cases {
		if err := tables.Cases.For(src).Insert(ctx, &cases[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, cm := range []casetracker.Comment{{CaseID: cases[0].ID, Body: "seen it"}, {CaseID: cases[2].ID, Body: strings.Repeat("long ", 1000)}} {
		if err := tables.Comments.For(src).Insert(ctx, &cm); err != nil {
			t.Fatal(err)
		}
	}
}

type tenantRows struct {
	cases    []casetracker.Case
	comments []casetracker.Comment
}

func readRows(t *testing.T, u string, ids ...string) map[string]tenantRows {
	t.Helper()
	ctx := context.Background()
	db, tables := openApp(t, u)
	defer db.Close()
	out := map[string]tenantRows{}
	for _, id := range ids {
		cs, err := tables.Cases.For(id).Find(ctx, tenantmap.OrderBy("id"))
		if err != nil {
			t.Fatalf("tenant %s: %v", id, err)
		}
		cms, err := tables.Comments.For(id).Find(ctx, tenantmap.OrderBy("id"))
		if err != nil {
			t.Fatalf("tenant %s: %v", id, err)
		}
		out[id] = tenantRows{cs, cms}
	}
	return out
}

func sameCases(a, b []casetracker.Case) bool {
	return slices.EqualFunc(a, b, func(x, y casetracker.Case) bool {
		sla := (x.SLADeadline == nil) == (y.SLADeadline == nil) && (x.SLADeadline == nil || x.SLADeadline.Equal(*y.SLADeadline))
		return sla && x.ID == y.ID && x.Title == y.Title && x.Status == y.Status && x.Priority == y.Priority && x.CreatedAt.Equal(y.CreatedAt)
	})
}

func sameComments(a, b []casetracker.Comment) bool {
	return slices.EqualFunc(a, b, func(x, y casetracker.Comment) bool {
		return x.ID == y.ID && x.CaseID == y.CaseID && x.Body == y.Body && x.CreatedAt.Equal(y.CreatedAt)
	})
}

// TestTransfer copies a tenant's rows by clone, by export to a file and
// import from it, and by export to standard output piped into import.
func TestTransfer(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		c := tool{url: u}
		c.expect(t, 0, "tenants", "create", "src")
		sampleRows(t, u, "src")

		r := c.expect(t, 0, "tenants", "clone", "src", "cloned")
		if r.stdout != "cloned src into cloned: 5 rows of 2 models\n" {
			t.Errorf("tenants clone:\n%s", r)
		}
		c.expect(t, 1, "tenants", "clone", "src", "cloned") // exists already
		c.expect(t, 4, "tenants", "clone", "nobody", "other")

		file := filepath.Join(t.TempDir(), "src.jsonl")
		r = c.expect(t, 0, "tenants", "export", "src", "-o", file)
		if r.stdout != "exported src to "+file+": 5 rows of 2 models\n" {
			t.Errorf("tenants export -o:\n%s", r)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var header struct {
			Format string `json:"format"`
			Tenant string `json:"tenant"`
		}
		first, _, _ := bytes.Cut(data, []byte("\n"))
		if err := json.Unmarshal(first, &header); err != nil || header.Format != "tenantmap-export" || header.Tenant != "src" {
			t.Errorf("the export's first line is not its header (%v): %s", err, first)
		}
		// An existing file is never overwritten.
		c.expect(t, 1, "tenants", "export", "src", "-o", file)
		if again, _ := os.ReadFile(file); !bytes.Equal(again, data) {
			t.Error("a second export overwrote the file")
		}
		// A failed export leaves no file behind.
		missing := filepath.Join(t.TempDir(), "nobody.jsonl")
		c.expect(t, 4, "tenants", "export", "nobody", "-o", missing)
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed export left %s (%v)", missing, err)
		}

		r = c.expect(t, 0, "tenants", "import", "fromfile", "-i", file)
		if r.stdout != "imported fromfile: 5 rows of 2 models\n" {
			t.Errorf("tenants import -i:\n%s", r)
		}

		exp, imp := c.pipe(t, []string{"tenants", "export", "src"}, []string{"tenants", "import", "piped"})
		if exp.code != 0 || imp.code != 0 || imp.stdout != "imported piped: 5 rows of 2 models\n" {
			t.Errorf("tenants export src | tenants import piped:\n%s\n%s", exp, imp)
		}

		// Import is all or nothing: a broken file makes no tenant.
		broken := tool{url: u, stdin: bytes.NewReader(data[:len(data)/2])}
		broken.expect(t, 1, "tenants", "import", "broken")
		c.expect(t, 4, "tenants", "show", "broken")
		garbage := tool{url: u, stdin: strings.NewReader("not an export\n")}
		r = garbage.expect(t, 1, "tenants", "import", "garbage")
		if !strings.Contains(r.stderr, "invalid export") {
			t.Errorf("import of a non-export:\n%s", r)
		}
		c.expect(t, 4, "tenants", "show", "garbage")

		rows := readRows(t, u, "src", "cloned", "fromfile", "piped")
		src := rows["src"]
		if len(src.cases) != 3 || len(src.comments) != 2 || src.cases[0].SLADeadline == nil {
			t.Fatalf("the source's rows: %+v", src)
		}
		for _, id := range []string{"cloned", "fromfile", "piped"} {
			if !sameCases(rows[id].cases, src.cases) {
				t.Errorf("%s's cases differ from src's:\n got %+v\nwant %+v", id, rows[id].cases, src.cases)
			}
			if !sameComments(rows[id].comments, src.comments) {
				t.Errorf("%s's comments differ from src's:\n got %+v\nwant %+v", id, rows[id].comments, src.comments)
			}
		}

		// The copies' keys go on after the copied ones.
		ctx := context.Background()
		db, tables := openApp(t, u)
		defer db.Close()
		for _, id := range []string{"cloned", "fromfile", "piped"} {
			nc := casetracker.Case{Title: "after the copy"}
			if err := tables.Cases.For(id).Insert(ctx, &nc); err != nil {
				t.Errorf("%s: inserting after the copy: %v", id, err)
			} else if nc.ID <= src.cases[len(src.cases)-1].ID {
				t.Errorf("%s: a new case got key %d, not past the copied ones", id, nc.ID)
			}
		}
		db.Close()
		c.expect(t, 0, "drift")
	})
}

// ---------------------------------------------------------------------------
// Usage and errors

// TestUsage checks that mistakes on the command line exit 2 with a
// message, before any database is touched.
func TestUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := tool{url: "sqlite:" + filepath.Join(dir, "usage.db")}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"tenants", "nosuch"}, `unknown command "nosuch"`},
		{[]string{"--nosuch", "status"}, "unknown flag: --nosuch"},
		{[]string{"tenants", "list", "--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"migrate", "-z"}, "unknown shorthand flag"},
		{[]string{"tenants"}, "tenants needs a subcommand"},
		{[]string{"tenants", "show"}, "accepts 1 arg(s)"},
		{[]string{"tenants", "create"}, "requires at least 1 arg(s)"},
		{[]string{"tenants", "clone", "a"}, "accepts 2 arg(s)"},
		{[]string{"status", "extra"}, `unknown command "extra"`},
		{[]string{"migrate", "--parallel", "0"}, "--parallel must be at least 1"},
		{[]string{"migrate", "--parallel", "many"}, "invalid argument"},
		{[]string{"migrate", "--progress", "fancy"}, `--progress "fancy"`},
		{[]string{"tenants", "list", "--status", "gone"}, `--status "gone"`},
		{[]string{"tenants", "purge", "--now", "tomorrow"}, "--now"},
		{[]string{"tenants", "drop", "a", "--confirm", "a", "--retain", "forever"}, "invalid argument"},
		{[]string{"tenants", "create", "x", "--placement", "cloud"}, "unknown strategy"},
	} {
		r := c.expect(t, 2, tc.args...)
		if !strings.HasPrefix(r.stderr, "tenantctl: ") || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("want %q on stderr and nothing on stdout:\n%s", tc.msg, r)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "usage.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error opened the database (%v)", err)
	}
	r := c.expect(t, 0, "--help")
	if !strings.Contains(r.stdout, "Exit codes: 0 success, 1 failure, 2 usage, 3 problems found") {
		t.Errorf("--help should give the exit codes:\n%s", r)
	}
}

// TestErrors checks the exit codes of a bad tenant id, a missing tenant
// and a bad or unreachable database.
func TestErrors(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		c := tool{url: u}
		r := c.expect(t, 2, "tenants", "create", "bad id")
		if !strings.Contains(r.stderr, `"bad id"`) || !strings.Contains(r.stderr, "invalid tenant id") {
			t.Errorf("want a message naming the invalid id:\n%s", r)
		}
		r = c.expect(t, 2, "tenants", "create", "Upper")
		if !strings.Contains(r.stderr, `"Upper"`) {
			t.Errorf("want a message naming the invalid id:\n%s", r)
		}
		c.expect(t, 0, "init") // invalid ids made no catalog
		for _, args := range [][]string{
			{"tenants", "show", "nobody"},
			{"tenants", "suspend", "nobody"},
			{"tenants", "resume", "nobody"},
			{"tenants", "restore", "nobody"},
			{"tenants", "drop", "nobody", "--confirm", "nobody"},
			{"tenants", "drop", "nobody", "--confirm", "nobody", "--retain", "0"},
			{"tenants", "export", "nobody"},
			{"migrate", "--tenant", "nobody"},
		} {
			r := c.expect(t, 4, args...)
			if !strings.Contains(r.stderr, `"nobody"`) {
				t.Errorf("want a message naming the missing tenant:\n%s", r)
			}
		}
		if ids := listIDs(t, c); len(ids) != 0 {
			t.Errorf("the failed commands made tenants: %v", ids)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		r := tool{url: "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"}.expect(t, 1, "tenants", "list")
		if !strings.HasPrefix(r.stderr, "tenantctl: ") || !strings.Contains(r.stderr, "127.0.0.1:1") || r.stdout != "" {
			t.Errorf("want the unreachable server named on stderr:\n%s", r)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("giving up on an unreachable database took %s", d)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		t.Parallel()
		r := tool{url: "bogus:xyz"}.expect(t, 2, "status")
		if !strings.Contains(r.stderr, "invalid database URL") || !strings.Contains(r.stderr, `"bogus"`) {
			t.Errorf("want the bad URL's scheme named:\n%s", r)
		}
		dir := t.TempDir()
		tool{env: []string{"TENANTMAP_URL=bogus:xyz"}, dir: dir}.expect(t, 2, "status")
		if _, err := os.Stat(filepath.Join(dir, "tenantmap.db")); !errors.Is(err, os.ErrNotExist) {
			t.Error("a bad TENANTMAP_URL fell back on the default database")
		}
	})
}

// ---------------------------------------------------------------------------
// Where the database comes from

// TestDatabaseFromEnvironment: --url, else TENANTMAP_URL, else
// sqlite:tenantmap.db in the working directory.
func TestDatabaseFromEnvironment(t *testing.T) {
	t.Parallel()
	t.Run("TENANTMAP_URL", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		envFile, flagFile := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
		env := tool{env: []string{"TENANTMAP_URL=sqlite:" + envFile}, dir: dir}
		env.expect(t, 0, "tenants", "create", "fromenv")
		if _, err := os.Stat(envFile); err != nil {
			t.Fatalf("TENANTMAP_URL's database was not made: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "tenantmap.db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("with TENANTMAP_URL set, the default database was made too (%v)", err)
		}
		if ids := listIDs(t, tool{url: "sqlite:" + envFile}); !slices.Equal(ids, []string{"fromenv"}) {
			t.Errorf("the tenant made with TENANTMAP_URL is not in its database: %v", ids)
		}
		// --url wins over TENANTMAP_URL.
		env.url = "sqlite:" + flagFile
		env.expect(t, 0, "tenants", "create", "fromflag")
		if ids := listIDs(t, env); !slices.Equal(ids, []string{"fromflag"}) {
			t.Errorf("--url should win over TENANTMAP_URL: %v", ids)
		}
		env.url = ""
		if ids := listIDs(t, env); !slices.Equal(ids, []string{"fromenv"}) {
			t.Errorf("TENANTMAP_URL's database after --url: %v", ids)
		}
	})
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		c := tool{dir: dir}
		c.expect(t, 0, "tenants", "create", "local")
		file := filepath.Join(dir, "tenantmap.db")
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("with no --url or TENANTMAP_URL, want %s: %v", file, err)
		}
		if ids := listIDs(t, c); !slices.Equal(ids, []string{"local"}) {
			t.Errorf("the default database again: %v", ids)
		}
		if ids := listIDs(t, tool{url: "sqlite:" + file}); !slices.Equal(ids, []string{"local"}) {
			t.Errorf("%s does not hold the tenant: %v", file, ids)
		}
	})
}

// ---------------------------------------------------------------------------
// Custom fields

func TestFields(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, u string) {
		c := tool{url: u}
		c.expect(t, 0, "tenants", "create", "a", "b")
		r := c.expect(t, 0, "fields", "add", "a", "case", "region", "string", "--size", "20", "--default", "eu", "--index")
		if r.stdout != "a: case.region added (string)\n" {
			t.Errorf("fields add output:\n%s", r)
		}
		c.expect(t, 0, "fields", "add", "a", "case", "score", "int64", "--nullable")
		r = c.expect(t, 0, "fields", "list", "a", "case")
		wantRow(t, r, "NAME", "TYPE", "SIZE", "NULLABLE", "DEFAULT", "INDEXED")
		wantRow(t, r, "region", "string", "20", "false", "eu", "true")
		wantRow(t, r, "score", "int64", "true") // no size: the columns close up
		var fs []tenantmap.FieldDef
		decodeJSON(t, c.expect(t, 0, "fields", "list", "b", "case", "--json"), &fs)
		if len(fs) != 0 {
			t.Errorf("b has a's fields: %+v", fs)
		}
		c.expect(t, 0, "fields", "rename", "a", "case", "score", "points")
		c.expect(t, 0, "fields", "drop", "a", "case", "region")
		decodeJSON(t, c.expect(t, 0, "fields", "list", "a", "case", "--json"), &fs)
		if len(fs) != 1 || fs[0].Name != "points" || fs[0].Type != "int64" || !fs[0].Nullable {
			t.Errorf("after rename and drop: %+v", fs)
		}
		// The application reads the field through its Extra.
		db, tables := openApp(t, u)
		ctx := tenantmap.WithTenant(context.Background(), "a")
		cs := &casetracker.Case{Title: "x"}
		cs.Extra.Set("points", 7)
		if err := tables.Cases.Insert(ctx, cs); err != nil {
			t.Fatal(err)
		}
		got, err := tables.Cases.Get(ctx, cs.ID)
		if err != nil || got.Extra.Int64("points") != 7 {
			t.Fatalf("the app reads %v, %v", got, err)
		}
		db.Close()
		for _, bad := range [][]string{
			{"fields", "add", "a", "case", "title", "string", "--nullable"},   // the model's own field
			{"fields", "add", "a", "case", "x y", "string", "--nullable"},     // not a name
			{"fields", "add", "a", "case", "n", "decimal", "--nullable"},      // not a type
			{"fields", "add", "a", "case", "n", "int64"},                      // neither nullable nor defaulted
			{"fields", "add", "a", "nomodel", "n", "int64", "--nullable"},     // no such model
			{"fields", "rename", "a", "case", "nothere", "n"},                 // no such field
			{"fields", "add", "a", "comment", "n", "int64", "--nullable"},     // a struct without Extra
			{"fields", "add", "a", "case", "n", "int64", "--default", "many"}, // a default that is not an int
		} {
			r := c.expect(t, 2, bad...)
			if r.stderr == "" {
				t.Errorf("%v: no message", bad)
			}
		}
		r = c.expect(t, 4, "fields", "add", "nobody", "case", "n", "int64", "--nullable")
		if !strings.Contains(r.stderr, `"nobody"`) {
			t.Errorf("want the missing tenant named:\n%s", r)
		}
		decodeJSON(t, c.expect(t, 0, "fields", "list", "a", "case", "--json"), &fs)
		if len(fs) != 1 {
			t.Errorf("refused commands changed the fields: %+v", fs)
		}
	})
}
