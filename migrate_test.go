package tenantmap_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// mgCaseV0 is the case model as tenants made before any migration have it.
type mgCaseV0 struct {
	ID    int64
	Title string `tm:",size:200"`
}

// mgCase is the case model at the latest migration, 3: title was renamed
// subject (2), priority was added with an index (1), notes was added (3).
type mgCase struct {
	ID       int64
	Subject  string `tm:",size:200"`
	Priority int    `tm:",index:by_priority,default:3"`
	Notes    *string
}

// mgAudit records each application of a data step, so a test can see that
// no step ran twice.
type mgAudit struct {
	ID   int64
	Step string `tm:",size:40"`
}

// mgMigrations take mgCaseV0's tables to mgCase's. hooks, if given, run
// in migration 3 after its audit record (and can make it fail).
func mgMigrations(hooks ...func(ctx context.Context) error) []tenantmap.Migration {
	return []tenantmap.Migration{
		{Version: 1, Name: "priority", Steps: []tenantmap.Step{
			tenantmap.AddColumn("case", tenantmap.Column{Name: "priority"}),
			tenantmap.AddIndex("case", "by_priority", "priority"),
			tenantmap.Func("audit v1", func(ctx context.Context) error { return mgAuditInsert(ctx, "v1") }),
		}},
		{Version: 2, Name: "subject", Steps: []tenantmap.Step{
			tenantmap.RenameColumn("case", "title", "subject"),
			tenantmap.SQL("UPDATE {case} SET priority = 1 WHERE subject LIKE ? AND {tenant}", "urgent%"),
		}},
		{Version: 3, Name: "notes", Steps: []tenantmap.Step{
			tenantmap.AddColumn("case", tenantmap.Column{Name: "notes"}),
			tenantmap.Func("audit v3", func(ctx context.Context) error {
				if err := mgAuditInsert(ctx, "v3"); err != nil {
					return err
				}
				for _, h := range hooks {
					if err := h(ctx); err != nil {
						return err
					}
				}
				return nil
			}),
		}},
	}
}

// mgAuditTables maps each handle to its audit table, for the Func step.
var mgAuditTables sync.Map

func mgAuditInsert(ctx context.Context, step string) error {
	db, _ := ctx.Value(mgDBKey{}).(*tenantmap.DB)
	t, ok := mgAuditTables.Load(db)
	if !ok {
		return errors.New("no audit table for this handle")
	}
	return t.(*tenantmap.Table[mgAudit]).Insert(ctx, &mgAudit{Step: step})
}

type mgDBKey struct{}

// mgOld opens the backend and registers the models as they were before
// any migration; mgNew opens another handle on the same database with the
// latest models and the migrations.
func mgOld(t *testing.T, b backend) (*tenantmap.DB, *tenantmap.Table[mgCaseV0]) {
	t.Helper()
	db := b.open(t)
	cases, err := tenantmap.Register[mgCaseV0](db, b.strategy("{tenant}_case"), tenantmap.ModelName("case"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantmap.Register[mgAudit](db, b.strategy("{tenant}_audit"), tenantmap.ModelName("audit")); err != nil {
		t.Fatal(err)
	}
	return db, cases
}

func mgNew(t *testing.T, b backend, old *tenantmap.DB, hooks ...func(ctx context.Context) error) (*tenantmap.DB, *tenantmap.Table[mgCase], *tenantmap.Table[mgAudit]) {
	t.Helper()
	db := reopen(t, old)
	cases, audit := mgRegister(t, b, db, hooks...)
	return db, cases, audit
}

// mgRegister registers the latest models and the migrations on db.
func mgRegister(t testing.TB, b backend, db *tenantmap.DB, hooks ...func(ctx context.Context) error) (*tenantmap.Table[mgCase], *tenantmap.Table[mgAudit]) {
	t.Helper()
	cases, err := tenantmap.Register[mgCase](db, b.strategy("{tenant}_case"), tenantmap.ModelName("case"))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := tenantmap.Register[mgAudit](db, b.strategy("{tenant}_audit"), tenantmap.ModelName("audit"))
	if err != nil {
		t.Fatal(err)
	}
	mgAuditTables.Store(db, audit)
	if err := db.SetMigrations(mgMigrations(hooks...)...); err != nil {
		t.Fatal(err)
	}
	return cases, audit
}

// mgCtx is a context for a tenant that the Func steps can find the
// handle in.
func mgCtx(db *tenantmap.DB, tenant string) context.Context {
	return context.WithValue(tenantmap.WithTenant(context.Background(), tenant), mgDBKey{}, db)
}

// mgSeed makes tenants with the old model and a few rows each.
func mgSeed(t *testing.T, db *tenantmap.DB, cases *tenantmap.Table[mgCaseV0], ids ...string) {
	t.Helper()
	for _, id := range ids {
		mustCreate(t, db, id)
		for _, title := range []string{"urgent: " + id, "later: " + id} {
			if err := cases.Insert(tenantmap.WithTenant(context.Background(), id), &mgCaseV0{Title: title}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// mgCheckMigrated checks that a tenant has the latest shape and its rows
// came through: subjects from titles, priorities from the default and the
// data step, each data step applied once.
func mgCheckMigrated(t *testing.T, db *tenantmap.DB, cases *tenantmap.Table[mgCase], audit *tenantmap.Table[mgAudit], id string) {
	t.Helper()
	ctx := tenantmap.WithTenant(context.Background(), id)
	tn, err := db.Tenants().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if tn.MigrationVersion != 3 || tn.LastError != "" {
		t.Errorf("%s: schema version %d (want 3), last error %q", id, tn.MigrationVersion, tn.LastError)
	}
	got, err := cases.Find(ctx, tenantmap.OrderBy("id"))
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if len(got) != 2 || got[0].Subject != "urgent: "+id || got[0].Priority != 1 || got[1].Subject != "later: "+id || got[1].Priority != 3 || got[0].Notes != nil {
		t.Errorf("%s: rows after migrating: %+v", id, got)
	}
	steps, err := audit.Find(ctx, tenantmap.OrderBy("id"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.Step)
	}
	if strings.Join(names, ",") != "v1,v3" {
		t.Errorf("%s: data steps applied: %v, want each of v1, v3 once", id, names)
	}
	// The new column works through the latest model.
	note := "n"
	c := &mgCase{Subject: "new", Notes: &note}
	if err := cases.Insert(ctx, c); err != nil {
		t.Fatalf("%s: insert after migrating: %v", id, err)
	}
	back, err := cases.Get(ctx, c.ID)
	if err != nil || back.Notes == nil || *back.Notes != "n" || back.Priority != 3 {
		t.Errorf("%s: read back %+v, %v", id, back, err)
	}
}

func TestMigrate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		ids := []string{"acme", "globex", "initech", "umbrella", "hooli"}
		mgSeed(t, old, oldCases, ids...)
		db, cases, audit := mgNew(t, b, old)
		var progress []tenantmap.MigrateProgress
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Parallel: 3, Progress: func(p tenantmap.MigrateProgress) {
			progress = append(progress, p)
		}})
		if err != nil {
			t.Fatalf("migrate: %v\n%+v", err, rep)
		}
		if rep.Target != 3 || rep.Count(tenantmap.ResultMigrated) != len(ids) || len(rep.Tenants) != len(ids) {
			t.Fatalf("report: %+v", rep)
		}
		// One pass over the tenants, or, for shared tables changed by each
		// migration, one per version.
		passes := 1
		if isShared(b) {
			passes = 3
		}
		if len(progress) != passes*len(ids) || progress[len(progress)-1].Done != len(ids) || progress[0].Total != len(ids) || progress[len(progress)-1].Version != 3 {
			t.Errorf("progress: %+v", progress)
		}
		if isShared(b) {
			if len(rep.Shared) != 2 {
				t.Errorf("shared table report: %+v", rep.Shared)
			}
			for _, s := range rep.Shared {
				if s.Result != tenantmap.ResultMigrated || s.From != 0 || s.To != 3 || s.Err != nil {
					t.Errorf("shared table report: %+v", s)
				}
			}
		} else if len(rep.Shared) != 0 {
			t.Errorf("no shared table, but the report has %+v", rep.Shared)
		}
		for _, id := range ids {
			mgCheckMigrated(t, db, cases, audit, id)
		}
		// A new tenant is made at the latest version; a second run has
		// nothing to do.
		mustCreate(t, db, "newco")
		if tn, _ := db.Tenants().Get(context.Background(), "newco"); tn.MigrationVersion != 3 {
			t.Errorf("a new tenant is at version %d, want 3", tn.MigrationVersion)
		}
		rep, err = db.Migrate(context.Background(), tenantmap.MigrateOptions{})
		if err != nil || len(rep.Tenants) != 0 || len(rep.Shared) != 0 {
			t.Errorf("second run: %v, %+v", err, rep)
		}
	})
}

// TestMigrateDryRun: a dry run lists each tenant's statements and changes
// nothing.
func TestMigrateDryRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		mgSeed(t, old, oldCases, "acme")
		db, _, _ := mgNew(t, b, old)
		before := physicalTables(t, db)
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{DryRun: true})
		if err != nil {
			t.Fatalf("dry run: %v\n%+v", err, rep)
		}
		if len(rep.Tenants) != 1 || rep.Tenants[0].Result != tenantmap.ResultPlanned {
			t.Fatalf("report: %+v", rep)
		}
		all := strings.Join(rep.Tenants[0].Statements, "\n")
		for _, s := range rep.Shared {
			all += "\n" + strings.Join(s.Statements, "\n")
		}
		for _, want := range []string{"ADD COLUMN", "RENAME COLUMN", "INDEX", "UPDATE", "-- go: audit v3"} {
			if !strings.Contains(all, want) {
				t.Errorf("the plan lacks %q:\n%s", want, all)
			}
		}
		if tn, _ := db.Tenants().Get(context.Background(), "acme"); tn.MigrationVersion != 0 {
			t.Errorf("a dry run moved the tenant to version %d", tn.MigrationVersion)
		}
		if after := physicalTables(t, db); !slices.Equal(before, after) {
			t.Errorf("a dry run changed the tables: %v → %v", before, after)
		}
		cols := describeColumns(t, old, "case", "acme")
		if strings.Contains(cols, "priority") {
			t.Errorf("a dry run added columns: %s", cols)
		}
	})
}

// describeColumns lists a tenant's columns of a model, by name.
func describeColumns(t *testing.T, db *tenantmap.DB, model, tenant string) string {
	t.Helper()
	d, err := db.Describe(tenantmap.WithTenant(context.Background(), tenant), model)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d.Columns {
		names = append(names, c.Name)
	}
	return fmt.Sprint(names)
}

// failFor makes migration 3 fail for the tenant id.
func failFor(id string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if t, _ := tenantmap.TenantFrom(ctx); t == id {
			return errors.New("injected failure for " + id)
		}
		return nil
	}
}

// mgCheckUnmigrated checks that a tenant whose migration failed kept its
// old version: on databases with transactional DDL nothing of the failed
// migration is left; on MySQL the versions before the failed step are.
func mgCheckFailed(t *testing.T, b backend, db *tenantmap.DB, id string) {
	t.Helper()
	tn, err := db.Tenants().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	if db.Dialect().Name() == "mysql" || isShared(b) {
		// MySQL records migration 3's first step; tenants of shared tables
		// go through one version at a time, and 1 and 2 succeeded.
		want = 2
	}
	if tn.MigrationVersion != want || !strings.Contains(tn.LastError, "injected failure") {
		t.Errorf("%s after a failed migration: version %d (want %d), last error %q", id, tn.MigrationVersion, want, tn.LastError)
	}
	if want == 0 && !isShared(b) {
		if cols := describeColumns(t, db, "case", id); strings.Contains(cols, "priority") {
			t.Errorf("%s: the failed migration left columns behind: %s", id, cols)
		}
	}
}

// TestMigrateFailure: a failing tenant is reported and keeps its old
// version; by default the others go on, and a rerun without the fault
// finishes it, applying no step twice.
func TestMigrateFailure(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		ids := []string{"t1", "t2", "t3", "t4"}
		mgSeed(t, old, oldCases, ids...)
		db, _, _ := mgNew(t, b, old, failFor("t2"))
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Parallel: 2})
		if !errors.Is(err, tenantmap.ErrMigrationFailed) {
			t.Fatalf("want ErrMigrationFailed, got %v", err)
		}
		if rep.Count(tenantmap.ResultFailed) != 1 || rep.Count(tenantmap.ResultMigrated) != 3 {
			t.Fatalf("report: %+v", rep.Tenants)
		}
		for _, r := range rep.Tenants {
			if (r.Tenant == "t2") != (r.Result == tenantmap.ResultFailed) {
				t.Errorf("tenant %s: %s (%v)", r.Tenant, r.Result, r.Err)
			}
		}
		mgCheckFailed(t, b, db, "t2")
		// The rerun, without the fault, finishes t2 only.
		db2, cases, audit := mgNew(t, b, old)
		rep, err = db2.Migrate(mgCtx(db2, ""), tenantmap.MigrateOptions{})
		if err != nil || len(rep.Tenants) != 1 || rep.Tenants[0].Tenant != "t2" || rep.Tenants[0].Result != tenantmap.ResultMigrated {
			t.Fatalf("rerun: %v, %+v", err, rep.Tenants)
		}
		for _, id := range ids {
			mgCheckMigrated(t, db2, cases, audit, id)
		}
	})
}

// TestMigrateStopAndCanary: StopOnError starts no tenant after a failure;
// a failing canary stops the run before the other tenants.
func TestMigrateStopAndCanary(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		ids := []string{"a1", "a2", "a3", "a4", "a5"}
		mgSeed(t, old, oldCases, ids...)
		db, _, _ := mgNew(t, b, old, failFor("a2"))
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Parallel: 1, StopOnError: true})
		if !errors.Is(err, tenantmap.ErrMigrationFailed) {
			t.Fatalf("want ErrMigrationFailed, got %v", err)
		}
		want := map[string]tenantmap.MigrateResult{"a1": tenantmap.ResultMigrated, "a2": tenantmap.ResultFailed,
			"a3": tenantmap.ResultSkipped, "a4": tenantmap.ResultSkipped, "a5": tenantmap.ResultSkipped}
		for _, r := range rep.Tenants {
			if want[r.Tenant] != r.Result {
				t.Errorf("stop on error: %s %s (%v), want %s", r.Tenant, r.Result, r.Err, want[r.Tenant])
			}
		}
		if len(rep.Tenants) != len(ids) {
			t.Errorf("stop on error reports %d tenants: %+v", len(rep.Tenants), rep.Tenants)
		}
		if tn, _ := db.Tenants().Get(context.Background(), "a3"); tn.MigrationVersion == 3 {
			t.Errorf("a3 was migrated after the run stopped")
		}

		// A canary of one, the failing tenant (a1 is done): a3… stay.
		db2, _, _ := mgNew(t, b, old, failFor("a2"))
		rep, err = db2.Migrate(mgCtx(db2, ""), tenantmap.MigrateOptions{Canary: 1, Parallel: 4})
		if !errors.Is(err, tenantmap.ErrMigrationFailed) {
			t.Fatalf("canary: want ErrMigrationFailed, got %v", err)
		}
		for _, id := range []string{"a3", "a4", "a5"} {
			tn, _ := db2.Tenants().Get(context.Background(), id)
			if tn.MigrationVersion == 3 {
				t.Errorf("canary failed, yet %s was migrated", id)
			}
		}
		// A canary that passes lets the rest through.
		db3, cases, audit := mgNew(t, b, old)
		rep, err = db3.Migrate(mgCtx(db3, ""), tenantmap.MigrateOptions{Canary: 1})
		if err != nil {
			t.Fatalf("passing canary: %v %+v", err, rep.Tenants)
		}
		for _, id := range ids {
			mgCheckMigrated(t, db3, cases, audit, id)
		}
	})
}

// TestMigrateCancel: a run whose context is cancelled part way leaves
// every tenant at its old version or the new one; a rerun finishes the
// rest and applies no step twice.
func TestMigrateCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		var ids []string
		for i := range 8 {
			ids = append(ids, fmt.Sprintf("c%d", i))
		}
		mgSeed(t, old, oldCases, ids...)
		db, cases, audit := mgNew(t, b, old)
		ctx, cancel := context.WithCancel(mgCtx(db, ""))
		defer cancel()
		rep, err := db.Migrate(ctx, tenantmap.MigrateOptions{Parallel: 2, Progress: func(p tenantmap.MigrateProgress) {
			if p.Version == 3 && p.Done == 3 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v (%+v)", err, rep.Tenants)
		}
		migrated := 0
		for _, id := range ids {
			tn, err := db.Tenants().Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tn.MigrationVersion == 3:
				migrated++
			case db.Dialect().Name() == "mysql" || isShared(b):
				// Stepwise (MySQL) or in passes (shared tables): part way is a
				// version recorded with its steps.
			case tn.MigrationVersion != 0:
				t.Errorf("%s at version %d after a cancelled run: neither old nor new", id, tn.MigrationVersion)
			}
		}
		if migrated < 3 || migrated == len(ids) {
			t.Errorf("%d of %d tenants migrated before the cancel; want at least 3, not all", migrated, len(ids))
		}
		rep, err = db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{})
		if err != nil {
			t.Fatalf("rerun: %v %+v", err, rep.Tenants)
		}
		for _, id := range ids {
			mgCheckMigrated(t, db, cases, audit, id)
		}
	})
}

// TestMigrateTwoRunners: two handles (as two processes would) migrate one
// catalog at once; they share the tenants, each tenant is migrated once,
// and neither fails.
func TestMigrateTwoRunners(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		var ids []string
		for i := range 10 {
			ids = append(ids, fmt.Sprintf("r%02d", i))
		}
		mgSeed(t, old, oldCases, ids...)
		db1, cases, audit := mgNew(t, b, old)
		db2, _, _ := mgNew(t, b, old)
		var wg sync.WaitGroup
		reps := make([]*tenantmap.MigrateReport, 2)
		errs := make([]error, 2)
		for i, db := range []*tenantmap.DB{db1, db2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reps[i], errs[i] = db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Parallel: 2})
			}()
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("runner %d: %v %+v", i, errs[i], reps[i].Tenants)
			}
		}
		for _, id := range ids {
			mgCheckMigrated(t, db1, cases, audit, id)
		}
		// Every tenant was migrated by exactly one of them (the data steps
		// above ran once each); each reports the rest as current.
		n := reps[0].Count(tenantmap.ResultMigrated) + reps[1].Count(tenantmap.ResultMigrated)
		if !isShared(b) && n != len(ids) {
			t.Errorf("the two runners migrated %d tenants between them, want %d", n, len(ids))
		}
	})
}

// The environment that makes TestMigrateKillChild the child process of
// TestMigrateKill: the database's configuration, as JSON, and the backend.
const (
	envKillConfig  = "TENANTMAP_TEST_KILL_CONFIG"
	envKillBackend = "TENANTMAP_TEST_KILL_BACKEND"
)

// TestMigrateKill: a migrating process killed with SIGKILL part way through
// (some tenants inside their migration) leaves every tenant at its old
// version or the new one (on MySQL, at a recorded step); a rerun brings
// every tenant to the target with the schema it implies, and no data step
// runs twice.
func TestMigrateKill(t *testing.T) {
	if os.Getenv(envKillConfig) != "" {
		t.Skip("in the child process")
	}
	eachBackend(t, func(t *testing.T, b backend) {
		if strings.HasPrefix(b.name, "pgbouncer/") || b.name == "postgres/shared-rls" {
			t.Skip("covered by the postgres backends; the kill is the client's")
		}
		old, oldCases := mgOld(t, b)
		var ids []string
		for i := range 12 {
			ids = append(ids, fmt.Sprintf("k%02d", i))
		}
		mgSeed(t, old, oldCases, ids...)
		cfg, _ := openConfigs.Load(old)
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateKillChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envKillConfig+"="+string(js), envKillBackend+"="+b.name)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := 0
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.HasPrefix(sc.Text(), "migrated ") {
				if done++; done == 4 {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
		}
		_ = cmd.Wait()
		if done < 4 {
			t.Fatalf("the child finished %d tenants before it ended:\n%s", done, strings.Join(lines, "\n"))
		}
		migrated := 0
		for _, id := range ids {
			tn, err := old.Tenants().Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tn.MigrationVersion == 3 {
				migrated++
			}
		}
		if migrated < 4 || migrated == len(ids) {
			t.Errorf("%d of %d tenants at the target after the kill; want at least 4, not all", migrated, len(ids))
		}
		db, cases, audit := mgNew(t, b, old)
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{})
		if err != nil {
			t.Fatalf("rerun: %v %+v", err, rep.Tenants)
		}
		for _, id := range ids {
			mgCheckMigrated(t, db, cases, audit, id)
		}
	})
}

// TestMigrateKillChild is the process TestMigrateKill kills: it migrates
// slowly, printing each tenant it finishes.
func TestMigrateKillChild(t *testing.T) {
	js := os.Getenv(envKillConfig)
	if js == "" {
		t.Skip("run by TestMigrateKill")
	}
	var cfg tenantmap.Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		t.Fatal(err)
	}
	var b backend
	for _, x := range backends {
		if x.name == os.Getenv(envKillBackend) {
			b = x
		}
	}
	db, err := openConfigCreating(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	slow := func(ctx context.Context) error {
		select {
		case <-time.After(40 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	mgRegister(t, b, db, slow)
	_, err = db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Parallel: 2, Progress: func(p tenantmap.MigrateProgress) {
		if p.Version == 3 && p.Result == tenantmap.ResultMigrated {
			fmt.Println("migrated " + p.Tenant)
		}
	}})
	t.Fatalf("the child was not killed: %v", err)
}

// TestDrift: migrated tenants and new ones have no drift; a tenant left
// behind shows the migrations it lacks; a change made by hand outside the
// migrations shows up as exactly that change, on that tenant only.
func TestDrift(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		old, oldCases := mgOld(t, b)
		mgSeed(t, old, oldCases, "d1", "d2", "d3")
		db, _, _ := mgNew(t, b, old)
		if _, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Tenants: []string{"d1", "d2"}}); err != nil && !isShared(b) {
			t.Fatal(err)
		}
		if isShared(b) {
			// A shared table changes for all its tenants at once: migrate all.
			if _, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate(t, db, "d4")
		drift, err := db.Drift(context.Background(), tenantmap.DriftOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(drift) != 4 {
			t.Fatalf("drift of %d tenants, want 4: %+v", len(drift), drift)
		}
		for _, d := range drift {
			if d.Err != nil {
				t.Fatalf("%s: %v", d.Tenant, d.Err)
			}
			behind := d.Tenant == "d3" && !isShared(b)
			if !behind && len(d.Differences) > 0 {
				t.Errorf("%s: unexpected drift: %v", d.Tenant, d.Differences)
			}
			if behind {
				kinds := map[tenantmap.DiffKind]bool{}
				for _, x := range d.Differences {
					kinds[x.Kind] = true
				}
				if !kinds[tenantmap.DiffBehind] || !kinds[tenantmap.DiffMissingColumn] || !kinds[tenantmap.DiffExtraColumn] || !kinds[tenantmap.DiffMissingIndex] {
					t.Errorf("d3 (not migrated): %v", d.Differences)
				}
			}
		}
		if isShared(b) {
			return // a change by hand to a shared table is every tenant's
		}
		// By hand: an extra column on d2's cases.
		if _, err := db.Exec(tenantmap.WithTenant(context.Background(), "d2"), "ALTER TABLE {case} ADD COLUMN by_hand INTEGER"); err != nil {
			t.Fatal(err)
		}
		drift, err = db.Drift(context.Background(), tenantmap.DriftOptions{Tenants: []string{"d1", "d2"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(drift) != 2 || len(drift[0].Differences) != 0 || len(drift[1].Differences) != 1 ||
			drift[1].Differences[0].Kind != tenantmap.DiffExtraColumn || drift[1].Differences[0].Column != "by_hand" {
			t.Errorf("after a change by hand: %+v", drift)
		}
	})
}

// TestMigrateNothingToDo: a run with nothing to apply touches no tenant:
// it succeeds even with a tenant's table gone, opens no connection to a
// tenant's own database, and reports nothing.
func TestMigrateNothingToDo(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		mgRegister(t, b, db)
		mustCreate(t, db, "n1", "n2", "n3")
		// Break a tenant behind the catalog's back: a run that looked at
		// it would fail.
		stmt := "DROP TABLE {case}"
		if isShared(b) {
			stmt = "DROP TABLE `case`"
			if db.Dialect().Name() == "postgres" {
				stmt = `DROP TABLE "case"`
			}
		}
		if _, err := db.Exec(tenantmap.WithTenant(context.Background(), "n2"), stmt); err != nil {
			t.Fatal(err)
		}
		before := db.TenantConnStats()
		var calls int
		rep, err := db.Migrate(context.Background(), tenantmap.MigrateOptions{Progress: func(tenantmap.MigrateProgress) { calls++ }})
		if err != nil || len(rep.Tenants) != 0 || len(rep.Shared) != 0 || calls != 0 {
			t.Fatalf("a run with nothing to do: %v, %+v, %d progress calls", err, rep, calls)
		}
		if after := db.TenantConnStats(); after.Dials != before.Dials {
			t.Errorf("a run with nothing to do opened %d connections to tenants' databases", after.Dials-before.Dials)
		}
	})
}
