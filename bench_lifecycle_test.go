package tenantmap_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
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
	tenantmap.AddColumn("lc_item", tenantmap.Column{Name: "note", Kind: 7 /* dialect.String */, Size: 100, Nullable: true}),
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

// lcOpen opens a fresh PostgreSQL database with lcItem registered.
func lcOpen(b *testing.B, migrations ...tenantmap.Migration) (*tenantmap.DB, string) {
	b.Helper()
	u := newPostgresDatabase(b)
	db, err := tenantmap.Open(context.Background(), u)
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

// BenchmarkProvision creates b.N tenants (one table and one index each)
// on PostgreSQL, 4 at a time: through tenantmap's Create (which also
// records each tenant, its table and its placement in the catalog, in the
// same transaction), and as the same DDL issued directly with pgx, one
// transaction per tenant. Each side has a fresh database.
//
//	go test -run XXX -bench Provision -benchtime 10000x -timeout 60m .
func BenchmarkProvision(b *testing.B) {
	b.Run("pgx", func(b *testing.B) {
		db, u := lcOpen(b)
		pool := benchPool(b, u, func(pc *pgxpool.Config) { pc.MaxConns, pc.MinConns = lcParallel, lcParallel })
		b.ReportAllocs()
		b.ResetTimer()
		parallelTenants(b, b.N, func(ctx context.Context, i int) error {
			stmts, err := tenantmap.ProvisionSQL(db, lcTenantID(i))
			if err != nil {
				return err
			}
			return rawDDL(ctx, pool, stmts)
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tenants/s")
	})
	b.Run("tenantmap", func(b *testing.B) {
		db, _ := lcOpen(b)
		b.ReportAllocs()
		b.ResetTimer()
		parallelTenants(b, b.N, func(ctx context.Context, i int) error {
			_, err := db.Tenants().Create(ctx, lcTenantID(i))
			return err
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tenants/s")
	})
}

// BenchmarkMigrateAddColumn migrates b.N tenants, made beforehand (not
// timed), by adding a column and an index to each one's table, 4 at a
// time: through tenantmap's Migrate, and as the same two statements issued
// directly with pgx in a transaction per tenant.
//
//	go test -run XXX -bench MigrateAddColumn -benchtime 10000x -timeout 60m .
func BenchmarkMigrateAddColumn(b *testing.B) {
	seed := func(b *testing.B, db *tenantmap.DB) {
		parallelTenants(b, b.N, func(ctx context.Context, i int) error {
			_, err := db.Tenants().Create(ctx, lcTenantID(i))
			return err
		})
	}
	b.Run("pgx", func(b *testing.B) {
		db, u := lcOpen(b)
		seed(b, db)
		pool := benchPool(b, u, func(pc *pgxpool.Config) { pc.MaxConns, pc.MinConns = lcParallel, lcParallel })
		b.ReportAllocs()
		b.ResetTimer()
		parallelTenants(b, b.N, func(ctx context.Context, i int) error {
			return rawDDL(ctx, pool, lcRawMigration(lcTenantID(i)))
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tenants/s")
	})
	b.Run("tenantmap", func(b *testing.B) {
		old, u := lcOpen(b)
		seed(b, old)
		old.Close()
		db, err := tenantmap.Open(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := tenantmap.Register[lcItem](db, tenantmap.TablePerTenant("{tenant}_lc_item"), tenantmap.ModelName("lc_item")); err != nil {
			b.Fatal(err)
		}
		if err := db.SetMigrations(lcMigration); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		rep, err := db.Migrate(context.Background(), tenantmap.MigrateOptions{Parallel: lcParallel})
		b.StopTimer()
		if err != nil || rep.Count(tenantmap.ResultMigrated) != b.N {
			b.Fatalf("migrated %d of %d: %v", rep.Count(tenantmap.ResultMigrated), b.N, err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tenants/s")
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
	conn, admin := pgAdmin(b)
	ctx := context.Background()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", lcKeptDatabase).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+lcKeptDatabase); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close(ctx)
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + lcKeptDatabase
	db, err := tenantmap.Open(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := tenantmap.Register[lcItem](db, tenantmap.TablePerTenant("{tenant}_lc_item"), tenantmap.ModelName("lc_item")); err != nil {
		b.Fatal(err)
	}
	if err := db.SetMigrations(lcMigration); err != nil {
		b.Fatal(err)
	}
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
