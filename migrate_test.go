package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

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

// mgMigrations take mgCaseV0's tables to mgCase's.
func mgMigrations() []tenantmap.Migration {
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
				return mgAuditInsert(ctx, "v3")
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

func mgNew(t *testing.T, b backend, old *tenantmap.DB) (*tenantmap.DB, *tenantmap.Table[mgCase], *tenantmap.Table[mgAudit]) {
	t.Helper()
	db := reopen(t, old)
	cases, err := tenantmap.Register[mgCase](db, b.strategy("{tenant}_case"), tenantmap.ModelName("case"))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := tenantmap.Register[mgAudit](db, b.strategy("{tenant}_audit"), tenantmap.ModelName("audit"))
	if err != nil {
		t.Fatal(err)
	}
	mgAuditTables.Store(db, audit)
	if err := db.SetMigrations(mgMigrations()...); err != nil {
		t.Fatal(err)
	}
	return db, cases, audit
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
	if tn.SchemaVersion != 3 || tn.LastError != "" {
		t.Errorf("%s: schema version %d (want 3), last error %q", id, tn.SchemaVersion, tn.LastError)
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
		if tn, _ := db.Tenants().Get(context.Background(), "newco"); tn.SchemaVersion != 3 {
			t.Errorf("a new tenant is at version %d, want 3", tn.SchemaVersion)
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
		if tn, _ := db.Tenants().Get(context.Background(), "acme"); tn.SchemaVersion != 0 {
			t.Errorf("a dry run moved the tenant to version %d", tn.SchemaVersion)
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
