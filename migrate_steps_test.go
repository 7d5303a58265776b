package tenantmap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/dialect"
)

type stNoteV0 struct {
	ID     int64
	Body   string `tm:",size:100"`
	Legacy string `tm:",size:40,index:legacy"`
}

type stNote struct {
	ID   int64
	Body string `tm:",size:100"`
}

// stTag is a model registered after the first tenants were made.
type stTag struct {
	ID   int64
	Name string `tm:",size:50,unique:by_name"`
}

func stMigrations() []tenantmap.Migration {
	return []tenantmap.Migration{
		{Version: 1, Name: "no legacy", Steps: []tenantmap.Step{
			tenantmap.DropIndex("note", "legacy"),
			tenantmap.DropColumn("note", "legacy"),
		}},
		{Version: 2, Name: "tags", Steps: []tenantmap.Step{tenantmap.CreateTable("tag")}},
		{Version: 3, Name: "unique tag names", Steps: []tenantmap.Step{tenantmap.AddUniqueIndex("tag", "by_name", "name")}},
	}
}

// TestMigrateSteps: DropIndex, DropColumn, CreateTable (for a model
// registered after the tenants were made) and an index on the new table,
// skipped where CreateTable made it at its latest shape; the result has no
// drift, and a run that would stop between CreateTable and a later change
// to its table is refused.
func TestMigrateSteps(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		old := b.open(t)
		oldNotes, err := tenantmap.Register[stNoteV0](old, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, old, "s1", "s2")
		for _, id := range []string{"s1", "s2"} {
			if err := oldNotes.Insert(tenantmap.WithTenant(bg, id), &stNoteV0{Body: "hello " + id, Legacy: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		db := reopen(t, old)
		notes, err := tenantmap.Register[stNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		tags, err := tenantmap.Register[stTag](db, b.strategy("{tenant}_tag"), tenantmap.ModelName("tag"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(stMigrations()...); err != nil {
			t.Fatal(err)
		}
		// Version 2 makes tag at its latest shape, which version 3 changes.
		rep, err := db.Migrate(bg, tenantmap.MigrateOptions{Target: 2})
		if !errors.Is(err, tenantmap.ErrMigrationFailed) || rep.Count(tenantmap.ResultFailed) != 2 || !errors.Is(rep.Tenants[0].Err, tenantmap.ErrInvalidMigration) {
			t.Fatalf("a run to version 2: %v %+v", err, rep.Tenants)
		}
		if rep, err = db.Migrate(bg, tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		mustCreate(t, db, "s3")
		for _, id := range []string{"s1", "s2", "s3"} {
			ctx := tenantmap.WithTenant(bg, id)
			if err := tags.Insert(ctx, &stTag{Name: "bug"}); err != nil {
				t.Fatalf("%s: insert a tag: %v", id, err)
			}
			if err := tags.Insert(ctx, &stTag{Name: "bug"}); err == nil {
				t.Errorf("%s: two tags named bug: the unique index is missing", id)
			}
			info, err := db.Describe(ctx, "note")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range info.Columns {
				if c.Name == "legacy" {
					t.Errorf("%s: legacy column left", id)
				}
			}
			for _, ix := range info.Indexes {
				if strings.Contains(ix.Name, "legacy") {
					t.Errorf("%s: legacy index left: %v", id, ix)
				}
			}
			if id != "s3" {
				if n, err := notes.Count(ctx, tenantmap.Query{}); err != nil || n != 1 {
					t.Errorf("%s: %d notes after migrating (%v), want 1", id, n, err)
				}
			}
		}
		drift, err := db.Drift(bg, tenantmap.DriftOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range drift {
			if d.Err != nil || len(d.Differences) > 0 {
				t.Errorf("%s: drift %v %v", d.Tenant, d.Differences, d.Err)
			}
		}
	})
}

// TestMigrateAlterColumnType: a type change where the database can
// (PostgreSQL, MySQL) keeps the data; on SQLite it is ErrUnsupported and
// changes nothing.
func TestMigrateAlterColumnType(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		old := b.open(t)
		oldNotes, err := tenantmap.Register[stNote](old, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, old, "w1")
		if err := oldNotes.Insert(tenantmap.WithTenant(bg, "w1"), &stNote{Body: "kept"}); err != nil {
			t.Fatal(err)
		}
		type wideNote struct {
			ID   int64
			Body *string `tm:",size:500"`
		}
		db := reopen(t, old)
		notes, err := tenantmap.Register[wideNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(tenantmap.Migration{Version: 1, Name: "wider body", Steps: []tenantmap.Step{
			tenantmap.AlterColumnType("note", tenantmap.Column{Name: "body", Kind: dialect.String, Size: 500, Nullable: true}),
		}}); err != nil {
			t.Fatal(err)
		}
		rep, err := db.Migrate(bg, tenantmap.MigrateOptions{})
		if db.Dialect().Name() == "sqlite" {
			if !errors.Is(err, tenantmap.ErrMigrationFailed) || len(rep.Tenants) != 1 && len(rep.Shared) != 1 {
				t.Fatalf("SQLite: %v %+v %+v", err, rep.Tenants, rep.Shared)
			}
			var cause error
			if len(rep.Shared) == 1 {
				cause = rep.Shared[0].Err
			} else {
				cause = rep.Tenants[0].Err
			}
			if !errors.Is(cause, tenantmap.ErrUnsupported) {
				t.Errorf("SQLite: want ErrUnsupported, got %v", cause)
			}
			if tn, _ := db.Tenants().Get(bg, "w1"); tn.SchemaVersion != 0 {
				t.Errorf("SQLite: the tenant moved to version %d", tn.SchemaVersion)
			}
			return
		}
		if err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		ctx := tenantmap.WithTenant(bg, "w1")
		got, err := notes.Find(ctx, tenantmap.Query{})
		if err != nil || len(got) != 1 || got[0].Body == nil || *got[0].Body != "kept" {
			t.Fatalf("after the type change: %+v %v", got, err)
		}
		long := strings.Repeat("x", 400)
		if err := notes.Insert(ctx, &wideNote{Body: &long}); err != nil {
			t.Errorf("a 400-byte body after widening to 500: %v", err)
		}
		if err := notes.Insert(ctx, &wideNote{}); err != nil {
			t.Errorf("a NULL body after making it nullable: %v", err)
		}
		drift, err := db.Drift(bg, tenantmap.DriftOptions{})
		if err != nil || len(drift) != 1 || len(drift[0].Differences) != 0 {
			t.Errorf("drift after the type change: %+v %v", drift, err)
		}
	})
}

// TestMigrateStepDoneNotRecorded (MySQL): a DDL step applied by a run cut
// short before it was recorded is found applied by introspection and not
// run again; the migration finishes.
func TestMigrateStepDoneNotRecorded(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if !strings.HasPrefix(b.name, "mysql/") {
			t.Skip("where DDL is transactional a step is never done without its record")
		}
		old, oldCases := mgOld(t, b)
		mgSeed(t, old, oldCases, "m1", "m2")
		// Migration 1's first step, done by hand: the column is there, the
		// catalog still says version 0, step 0.
		stmt := "ALTER TABLE {case} ADD COLUMN priority BIGINT NOT NULL DEFAULT 3"
		if isShared(b) {
			stmt = "ALTER TABLE `case` ADD COLUMN priority BIGINT NOT NULL DEFAULT 3" // the shared table's step
		}
		if _, err := old.Exec(tenantmap.WithTenant(context.Background(), "m1"), stmt); err != nil {
			t.Fatal(err)
		}
		db, cases, audit := mgNew(t, b, old)
		if rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		mgCheckMigrated(t, db, cases, audit, "m1")
		mgCheckMigrated(t, db, cases, audit, "m2")
	})
}
