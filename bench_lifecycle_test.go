package tenantmap_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/dialect"
)

// lcItem is the model the lifecycle benchmarks provision and migrate: a
// key, four columns and an index.
type lcItem struct {
	ID        int64
	Title     string `tm:",size:200"`
	Status    string `tm:",size:20,index"`
	Priority  int
	UpdatedAt time.Time
}

// lcParallel is the parallelism of both sides of the lifecycle benchmarks.
const lcParallel = 4

func lcTenantID(i int) string { return fmt.Sprintf("p%05d", i) }

// lcMigration adds a column and an index to every tenant's items.
var lcMigration = tenantmap.Migration{Version: 1, Name: "note", Steps: []tenantmap.Step{
	tenantmap.AddColumn("lc_item", tenantmap.Column{Name: "note", Kind: dialect.String, Size: 100, Nullable: true}),
	tenantmap.AddIndex("lc_item", "by_note", "note"),
}}

// lcRawMigration is the same migration for one tenant, as raw SQL.
func lcRawMigration(id string) []string {
	t := `"public"."` + id + `_lc_item"`
	return []string{
		`ALTER TABLE ` + t + ` ADD COLUMN "note" VARCHAR(100)`,
		`CREATE INDEX "` + id + `_lc_item_by_note_idx" ON ` + t + ` ("note")`,
	}
}

// lcRegister registers lcItem and lcMigration on db.
func lcRegister(b *testing.B, db *tenantmap.DB) {
	b.Helper()
	if _, err := tenantmap.Register[lcItem](db, tenantmap.TablePerTenant("{tenant}_lc_item"), tenantmap.ModelName("lc_item")); err != nil {
		b.Fatal(err)
	}
	if err := db.SetMigrations(lcMigration); err != nil {
		b.Fatal(err)
	}
}

// lcOpen opens a fresh PostgreSQL database with lcItem registered.
func lcOpen(b *testing.B, migrations ...tenantmap.Migration) (*tenantmap.DB, string) {
	b.Helper()
	u := newPostgresDatabase(b)
	db, err := openCreating(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := tenantmap.Register[lcItem](db, tenantmap.TablePerTenant("{tenant}_lc_item"), tenantmap.ModelName("lc_item")); err != nil {
		b.Fatal(err)
	}
	if len(migrations) > 0 {
		if err := db.SetMigrations(migrations...); err != nil {
			b.Fatal(err)
		}
	}
	return db, u
}

// checkpoint makes PostgreSQL write its dirty pages out now, so that a
// checkpoint (which fsyncs every file the setup made) does not fall inside
// the timed part of one side and not the other's.
func checkpoint(b *testing.B) {
	b.Helper()
	conn, _ := pgAdmin(b)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
}

// parallelTenants runs fn for tenants 0…n-1, lcParallel at a time.
func parallelTenants(b *testing.B, n int, fn func(ctx context.Context, i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, lcParallel)
	for range lcParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(context.Background(), i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// rawDDL runs statements in one transaction through pgx, as tenantmap
// does for a tenant.
func rawDDL(ctx context.Context, pool *pgxpool.Pool, stmts []string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// lcBatch is how many tenants each side handles before the other's turn:
// the two sides take turns in one database, so that the server's state
// (its catalog's size, a checkpoint, the disk's moods on this machine) is
// the same for both.
const lcBatch = 250

// interleave runs raw and tm over b.N tenants each, taking turns in
// batches of lcBatch, and reports each side's time per tenant and their
// ratio.
func interleave(b *testing.B, raw, tm func(from, to int)) {
	b.Helper()
	var rawTime, tmTime time.Duration
	b.ResetTimer()
	for from := 0; from < b.N; from += lcBatch {
		to := min(b.N, from+lcBatch)
		start := time.Now()
		raw(from, to)
		rawTime += time.Since(start)
		start = time.Now()
		tm(from, to)
		tmTime += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(rawTime.Microseconds())/float64(b.N), "pgx-µs/tenant")
	b.ReportMetric(float64(tmTime.Microseconds())/float64(b.N), "tenantmap-µs/tenant")
	b.ReportMetric(float64(tmTime)/float64(rawTime), "tenantmap/pgx")
}

// parallelRange runs fn for i in [from, to), lcParallel at a time.
func parallelRange(b *testing.B, from, to int, fn func(ctx context.Context, i int) error) {
	b.Helper()
	parallelTenants(b, to-from, func(ctx context.Context, i int) error { return fn(ctx, from+i) })
}

// BenchmarkProvision creates 2×b.N tenants (one table and one index each)
// in one PostgreSQL database, 4 at a time, the two sides taking turns:
// b.N through tenantmap's Create (which also records each tenant, its
// table and its placement in the catalog, in the same transaction), and
// b.N as the same DDL issued directly with pgx, one transaction per
// tenant.
//
//	go test -run XXX -bench Provision -benchtime 10000x -timeout 60m .
func BenchmarkProvision(b *testing.B) {
	db, u := lcOpen(b)
	pool := benchPool(b, u, func(pc *pgxpool.Config) { pc.MaxConns, pc.MinConns = lcParallel, lcParallel })
	checkpoint(b)
	b.ReportAllocs()
	interleave(b, func(from, to int) {
		parallelRange(b, from, to, func(ctx context.Context, i int) error {
			stmts, err := tenantmap.ProvisionSQL(db, rawTenantID(i))
			if err != nil {
				return err
			}
			return rawDDL(ctx, pool, stmts)
		})
	}, func(from, to int) {
		parallelRange(b, from, to, func(ctx context.Context, i int) error {
			_, err := db.Tenants().Create(ctx, lcTenantID(i))
			return err
		})
	})
}

// rawTenantID names the tables the raw side makes.
func rawTenantID(i int) string { return fmt.Sprintf("r%05d", i) }

// BenchmarkMigrateAddColumn migrates 2×b.N tenants, made beforehand (not
// timed) in one PostgreSQL database, by adding a column and an index to
// each one's table, 4 at a time, the two sides taking turns: b.N through
// tenantmap's Migrate (a run per batch, limited to the batch's tenants),
// and b.N as the same two statements issued directly with pgx, in a
// transaction per tenant.
//
//	go test -run XXX -bench MigrateAddColumn -benchtime 10000x -timeout 60m .
func BenchmarkMigrateAddColumn(b *testing.B) {
	old, u := lcOpen(b)
	parallelTenants(b, 2*b.N, func(ctx context.Context, i int) error {
		id := lcTenantID(i / 2)
		if i%2 == 1 {
			id = rawTenantID(i / 2)
		}
		_, err := old.Tenants().Create(ctx, id)
		return err
	})
	// The raw side's tenants are migrated behind the catalog's back: mark
	// them done, or every tenantmap run would list them as pending.
	if _, err := tenantmap.AdminExec(context.Background(), old, "UPDATE "+tenantmap.CatalogTable+" SET schema_version = 1 WHERE id LIKE 'r%'"); err != nil {
		b.Fatal(err)
	}
	old.Close()
	db, err := openCreating(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lcRegister(b, db)
	pool := benchPool(b, u, func(pc *pgxpool.Config) { pc.MaxConns, pc.MinConns = lcParallel, lcParallel })
	checkpoint(b)
	b.ReportAllocs()
	interleave(b, func(from, to int) {
		parallelRange(b, from, to, func(ctx context.Context, i int) error {
			return rawDDL(ctx, pool, lcRawMigration(rawTenantID(i)))
		})
	}, func(from, to int) {
		ids := make([]string, 0, to-from)
		for i := from; i < to; i++ {
			ids = append(ids, lcTenantID(i))
		}
		rep, err := db.Migrate(context.Background(), tenantmap.MigrateOptions{Parallel: lcParallel, Tenants: ids})
		if err != nil || rep.Count(tenantmap.ResultMigrated) != len(ids) {
			b.Fatalf("migrated %d of %d: %v", rep.Count(tenantmap.ResultMigrated), len(ids), err)
		}
	})
}

// lcKeptDatabase holds TENANTMAP_BENCH_TENANTS (10,000) tenants at the
// latest migration, kept between runs, for BenchmarkMigrateNothing.
const lcKeptDatabase = "tenantmap_bench_migrate"

// BenchmarkMigrateNothing runs Migrate over 10,000 tenants that are all at
// the latest version: one catalog query, no tenant touched.
//
//	go test -run XXX -bench MigrateNothing -benchtime 20x .
func BenchmarkMigrateNothing(b *testing.B) {
	n := benchTenantCounts()[1]
	ctx := context.Background()
	db, err := openCreating(ctx, keptDatabase(b, lcKeptDatabase))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lcRegister(b, db)
	have, _, err := db.Tenants().List(ctx, tenantmap.ListOptions{After: lcTenantID(n - 2), Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(have) == 0 {
		parallelTenants(b, n, func(ctx context.Context, i int) error {
			if _, err := db.Tenants().Get(ctx, lcTenantID(i)); err == nil {
				return nil
			}
			_, err := db.Tenants().Create(ctx, lcTenantID(i))
			return err
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rep, err := db.Migrate(ctx, tenantmap.MigrateOptions{})
		if err != nil || len(rep.Tenants) != 0 {
			b.Fatalf("a run with nothing to do: %v, %d tenants", err, len(rep.Tenants))
		}
	}
}
