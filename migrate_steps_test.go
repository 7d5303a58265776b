package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
			if tn, _ := db.Tenants().Get(bg, "w1"); tn.MigrationVersion != 0 {
				t.Errorf("SQLite: the tenant moved to version %d", tn.MigrationVersion)
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

// TestStringDefaultsAreLiterals: a string default, in a migration or a
// model's tag, reaches the database as exactly that string on every
// dialect — quotes, backslashes (which MySQL's default mode reads as
// escapes) and SQL in it stay data.
func TestStringDefaultsAreLiterals(t *testing.T) {
	nasty := []string{
		`\', ADD COLUMN pwned INT DEFAULT 7 -- `,
		`it's`,
		`back\slash\`,
		`\\`,
		`'; DROP TABLE x; --`,
		`$$ dollar $$`,
		"new\nline",
		`ünïcödé "quoted"`,
	}
	type tagged struct {
		ID   int64
		Note string `tm:",default:it's \\ back\\"`
	}
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		old := b.open(t)
		oldNotes, err := tenantmap.Register[stNote](old, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tenantmap.Register[tagged](old, b.strategy("{tenant}_tagged"), tenantmap.ModelName("tagged")); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, old, "q1")
		ctx := tenantmap.WithTenant(bg, "q1")
		if err := oldNotes.Insert(ctx, &stNote{Body: "row"}); err != nil {
			t.Fatal(err)
		}
		var steps []tenantmap.Step
		for i, s := range nasty {
			steps = append(steps, tenantmap.AddColumn("note", tenantmap.Column{Name: fmt.Sprintf("c%d", i), Kind: dialect.String, Size: 100, Default: s}))
		}
		db := reopen(t, old)
		if _, err := tenantmap.Register[stNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note")); err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(tenantmap.Migration{Version: 1, Name: "nasty defaults", Steps: steps}); err != nil {
			t.Fatal(err)
		}
		if rep, err := db.Migrate(bg, tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		info, err := db.Describe(ctx, "note")
		if err != nil {
			t.Fatal(err)
		}
		want := 2 + len(nasty) + btoi(isShared(b))
		if len(info.Columns) != want {
			t.Errorf("the table has %d columns, want %d: %+v", len(info.Columns), want, info.Columns)
		}
		for i, s := range nasty {
			got := rawStrings(t, db, ctx, fmt.Sprintf("SELECT c%d FROM {note} WHERE {tenant}", i))
			if len(got) != 1 || got[0] != s {
				t.Errorf("default %q came back as %q", s, got)
			}
		}
		// The tag's default, through Create's DDL.
		if _, err := old.Exec(ctx, "INSERT INTO {tagged} (id) VALUES (5)"); err != nil && !isShared(b) {
			t.Fatal(err)
		}
		if !isShared(b) {
			got := rawStrings(t, old, ctx, "SELECT note FROM {tagged} WHERE id = 5 AND {tenant}")
			if len(got) != 1 || got[0] != `it's \ back\` {
				t.Errorf("the tag default came back as %q", got)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMigrateSharedWaitsForEveryTenant: a shared table's DDL waits until
// every tenant has reached the version before it — also the tenants a run
// limited to some does not take along — so that their own earlier steps
// still find what they read.
func TestMigrateSharedWaitsForEveryTenant(t *testing.T) {
	type noteV0 struct {
		ID     int64
		Body   string `tm:",size:100"`
		Legacy string `tm:",size:100"`
	}
	eachBackend(t, func(t *testing.T, b backend) {
		if !isShared(b) {
			t.Skip("tenants' own tables change with them")
		}
		bg := context.Background()
		old := b.open(t)
		oldNotes, err := tenantmap.Register[noteV0](old, b.strategy(""), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, old, "a", "b")
		for _, id := range []string{"a", "b"} {
			if err := oldNotes.Insert(tenantmap.WithTenant(bg, id), &noteV0{Body: "old", Legacy: "legacy " + id}); err != nil {
				t.Fatal(err)
			}
		}
		db := reopen(t, old)
		notes, err := tenantmap.Register[stNote](db, b.strategy(""), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(
			tenantmap.Migration{Version: 1, Name: "keep legacy", Steps: []tenantmap.Step{tenantmap.SQL("UPDATE {note} SET body = legacy WHERE {tenant}")}},
			tenantmap.Migration{Version: 2, Name: "no legacy", Steps: []tenantmap.Step{tenantmap.DropColumn("note", "legacy")}},
		); err != nil {
			t.Fatal(err)
		}
		rep, err := db.Migrate(bg, tenantmap.MigrateOptions{Tenants: []string{"a"}})
		if !errors.Is(err, tenantmap.ErrMigrationFailed) {
			t.Fatalf("a run for a alone that cannot finish: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		if ta, _ := db.Tenants().Get(bg, "a"); ta.MigrationVersion != 1 {
			t.Errorf("a at version %d, want 1: the shared table's version 2 waits for b", ta.MigrationVersion)
		}
		info, err := db.Describe(tenantmap.WithTenant(bg, "b"), "note")
		if err != nil {
			t.Fatal(err)
		}
		hasLegacy := false
		for _, c := range info.Columns {
			hasLegacy = hasLegacy || c.Name == "legacy"
		}
		if !hasLegacy {
			t.Fatal("a run for a alone dropped the shared column b's migration still reads")
		}
		// The run for all finishes both, b's data step first.
		if rep, err = db.Migrate(bg, tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		for _, id := range []string{"a", "b"} {
			got, err := notes.Find(tenantmap.WithTenant(bg, id), tenantmap.Query{})
			if err != nil || len(got) != 1 || got[0].Body != "legacy "+id {
				t.Errorf("%s after migrating: %+v %v", id, got, err)
			}
		}
	})
}

// TestMigrateCreateSharedTableParallel: CreateTable of a model in a shared
// table, for more tenants than the pool has connections, migrated as many
// at once as the pool has: no migration waits for a second connection.
func TestMigrateCreateSharedTableParallel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if !isShared(b) {
			t.Skip("the shared table's check is what would take a second connection")
		}
		old := b.open(t)
		if _, err := tenantmap.Register[stNote](old, b.strategy(""), tenantmap.ModelName("note")); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range 8 {
			ids = append(ids, fmt.Sprintf("p%d", i))
		}
		mustCreate(t, old, ids...)
		db := reopen(t, old)
		if _, err := tenantmap.Register[stNote](db, b.strategy(""), tenantmap.ModelName("note")); err != nil {
			t.Fatal(err)
		}
		tags, err := tenantmap.Register[stTag](db, b.strategy(""), tenantmap.ModelName("tag"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(tenantmap.Migration{Version: 1, Name: "tags", Steps: []tenantmap.Step{tenantmap.CreateTable("tag")}}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if rep, err := db.Migrate(ctx, tenantmap.MigrateOptions{Parallel: 8}); err != nil {
			t.Fatalf("migrate: %v %+v", err, rep.Tenants)
		}
		for _, id := range ids {
			if err := tags.Insert(tenantmap.WithTenant(context.Background(), id), &stTag{Name: "x"}); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
	})
}

// TestMigrateLowerTargetKeepsProgress (MySQL): a tenant part way through a
// migration (a run cut short, its first step recorded) is left as it is by
// a run to a lower target, and the next run to the latest finishes it from
// the recorded step.
func TestMigrateLowerTargetKeepsProgress(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if !strings.HasPrefix(b.name, "mysql/") || isShared(b) {
			t.Skip("only where DDL is not transactional a tenant stops part way through a migration")
		}
		bg := context.Background()
		old, oldCases := mgOld(t, b)
		mgSeed(t, old, oldCases, "lt")
		db, cases, audit := mgNew(t, b, old)
		if _, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Target: 1}); err != nil {
			t.Fatal(err)
		}
		// Migration 2's first step, as a run cut short after recording it.
		ctx := tenantmap.WithTenant(bg, "lt")
		if _, err := db.Exec(ctx, "ALTER TABLE {case} RENAME COLUMN title TO subject"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, "UPDATE "+tenantmap.CatalogTable+" SET migration_step = 1 WHERE id = ?", "lt"); err != nil {
			t.Fatal(err)
		}
		rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{Target: 1})
		if err != nil || len(rep.Tenants) != 1 || rep.Tenants[0].Result != tenantmap.ResultCurrent {
			t.Fatalf("a run to version 1: %v %+v", err, rep.Tenants)
		}
		steps := rawStrings(t, db, ctx, "SELECT CONCAT(schema_version, '/', migration_step) FROM "+tenantmap.CatalogTable+" WHERE id = ?", "lt")
		if len(steps) != 1 || steps[0] != "1/1" {
			t.Fatalf("after a run to a lower target the tenant is at %v, want 1/1 as it was", steps)
		}
		if rep, err := db.Migrate(mgCtx(db, ""), tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("finishing: %v %+v", err, rep.Tenants)
		}
		mgCheckMigrated(t, db, cases, audit, "lt")
	})
}

// TestMigrateMixedPlacement: a tenant with some models in a database of
// its own and others in the DB's own database migrates each where it is.
func TestMigrateMixedPlacement(t *testing.T) {
	type logV0 struct {
		ID   int64
		Line string `tm:",size:100"`
	}
	type log struct {
		ID    int64
		Line  string `tm:",size:100"`
		Level *int
	}
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		old := b.open(t)
		if _, err := tenantmap.Register[stNote](old, b.strategy("{tenant}_note"), tenantmap.ModelName("note")); err != nil {
			t.Fatal(err)
		}
		if _, err := tenantmap.Register[logV0](old, tenantmap.TablePerTenant("{tenant}_log"), tenantmap.ModelName("log")); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, old, "mx")
		db := reopen(t, old)
		if _, err := tenantmap.Register[stNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note")); err != nil {
			t.Fatal(err)
		}
		logs, err := tenantmap.Register[log](db, tenantmap.TablePerTenant("{tenant}_log"), tenantmap.ModelName("log"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetMigrations(tenantmap.Migration{Version: 1, Name: "levels", Steps: []tenantmap.Step{
			tenantmap.AddColumn("log", tenantmap.Column{Name: "level"}),
			tenantmap.AddIndex("note", "body", "body"),
		}}); err != nil {
			t.Fatal(err)
		}
		if rep, err := db.Migrate(bg, tenantmap.MigrateOptions{}); err != nil {
			t.Fatalf("migrate: %v %+v %+v", err, rep.Tenants, rep.Shared)
		}
		lvl := 2
		if err := logs.Insert(tenantmap.WithTenant(bg, "mx"), &log{Line: "x", Level: &lvl}); err != nil {
			t.Fatal(err)
		}
		drift, err := db.Drift(bg, tenantmap.DriftOptions{})
		if err != nil || len(drift) != 1 || len(drift[0].Differences) != 1 || drift[0].Differences[0].Kind != tenantmap.DiffExtraIndex {
			// The note index is the migration's, not the model's: drift says so.
			t.Errorf("drift: %+v %v", drift, err)
		}
	})
}
