package tenantmap_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
)

// Item is the benchmarks' model: a key and four columns.
type Item struct {
	ID        int64
	Title     string
	Status    string
	Priority  int
	UpdatedAt time.Time
}

const (
	benchRows     = 10 // rows per tenant read by Get and Update
	benchDatabase = "tenantmap_bench"
)

// benchTenantCounts are the tenant counts the PostgreSQL benchmarks run
// with; TENANTMAP_BENCH_TENANTS overrides the largest (default 10,000).
func benchTenantCounts() []int {
	n := 10_000
	if s := os.Getenv("TENANTMAP_BENCH_TENANTS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	return []int{1, n}
}

func benchTenantID(i int) string { return fmt.Sprintf("b%05d", i) }

var benchSetup struct {
	sync.Mutex
	url     string
	tenants int
}

// benchDB prepares (once, and kept between runs) a database holding n
// tenants, each with an item table of benchRows rows.
func benchDB(b *testing.B, n int) string {
	b.Helper()
	benchSetup.Lock()
	defer benchSetup.Unlock()
	if benchSetup.tenants >= n {
		return benchSetup.url
	}
	conn, admin := pgAdmin(b)
	ctx := context.Background()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", benchDatabase).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+benchDatabase); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close(ctx)
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + benchDatabase
	db, err := tenantmap.Open(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	items, err := tenantmap.Register[Item](db, tenantmap.TablePerTenant("{tenant}_item"))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := benchTenantID(i)
				if _, err := db.Tenants().Get(ctx, id); err == nil {
					continue
				}
				if _, err := db.Tenants().Create(ctx, id); err != nil {
					errs <- err
					return
				}
				rows := make([]*Item, benchRows)
				for r := range rows {
					rows[r] = &Item{Title: "item " + strconv.Itoa(r), Status: "open", Priority: r, UpdatedAt: time.Now()}
				}
				if err := items.For(id).InsertMany(ctx, rows); err != nil {
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
	benchSetup.url, benchSetup.tenants = u.String(), n
	return u.String()
}

// benchPool opens a pgx pool of 4 connections configured by tweak.
func benchPool(b *testing.B, dsn string, tweak func(*pgxpool.Config)) *pgxpool.Pool {
	b.Helper()
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	pc.MaxConns, pc.MinConns = 4, 4
	if tweak != nil {
		tweak(pc)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// op runs one operation for tenant i, row r.
type op func(ctx context.Context, tenant int, row int64) error

// rawOps are the same statements tenantmap renders, written by hand and run
// through pgx directly: the baseline.
func rawOps(pool *pgxpool.Pool) map[string]op {
	sel := func(t int) string {
		return `SELECT "id","title","status","priority","updated_at" FROM "public"."` + benchTenantID(t) + `_item" WHERE "id"=$1`
	}
	ins := func(t int) string {
		return `INSERT INTO "public"."` + benchTenantID(t) + `_item" ("title","status","priority","updated_at") VALUES ($1,$2,$3,$4) RETURNING "id"`
	}
	upd := func(t int) string {
		return `UPDATE "public"."` + benchTenantID(t) + `_item" SET "title"=$1,"status"=$2,"priority"=$3,"updated_at"=$4 WHERE "id"=$5`
	}
	return map[string]op{
		"get": func(ctx context.Context, t int, row int64) error {
			var it Item
			return pool.QueryRow(ctx, sel(t), row).Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt)
		},
		"insert": func(ctx context.Context, t int, _ int64) error {
			it := Item{Title: "new", Status: "open", Priority: 1, UpdatedAt: time.Now()}
			return pool.QueryRow(ctx, ins(t), it.Title, it.Status, it.Priority, it.UpdatedAt).Scan(&it.ID)
		},
		"update": func(ctx context.Context, t int, row int64) error {
			it := Item{ID: row, Title: "updated", Status: "open", Priority: 2, UpdatedAt: time.Now()}
			_, err := pool.Exec(ctx, upd(t), it.Title, it.Status, it.Priority, it.UpdatedAt, it.ID)
			return err
		},
	}
}

func tenantmapOps(b *testing.B, pool *pgxpool.Pool, cfg *tenantmap.Config) map[string]op {
	b.Helper()
	db, err := tenantmap.OpenPool(context.Background(), pool, cfg)
	if err != nil {
		b.Fatal(err)
	}
	items, err := tenantmap.Register[Item](db, tenantmap.TablePerTenant("{tenant}_item"))
	if err != nil {
		b.Fatal(err)
	}
	ctxs := map[int]context.Context{}
	var mu sync.Mutex
	tctx := func(ctx context.Context, t int) context.Context {
		mu.Lock()
		defer mu.Unlock()
		c, ok := ctxs[t]
		if !ok {
			c = tenantmap.WithTenant(ctx, benchTenantID(t))
			ctxs[t] = c
		}
		return c
	}
	return map[string]op{
		"get": func(ctx context.Context, t int, row int64) error {
			_, err := items.Get(tctx(ctx, t), row)
			return err
		},
		"insert": func(ctx context.Context, t int, _ int64) error {
			return items.Insert(tctx(ctx, t), &Item{Title: "new", Status: "open", Priority: 1, UpdatedAt: time.Now()})
		},
		"update": func(ctx context.Context, t int, row int64) error {
			return items.Update(tctx(ctx, t), &Item{ID: row, Title: "updated", Status: "open", Priority: 2, UpdatedAt: time.Now()})
		},
	}
}

// runOps warms the pool (every tenant's statement on every connection, as
// far as random choice gets there) and then measures o with 2 goroutines,
// DESIGN.md's set-up. Run with -cpu 2.
func runOps(b *testing.B, tenants int, o op) {
	ctx := context.Background()
	warm := 6 * tenants
	if warm < 200 {
		warm = 200
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := g; i < warm; i += 4 {
				if err := o(ctx, i%tenants, int64(1+rng.IntN(benchRows))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 2))
		for pb.Next() {
			if err := o(ctx, rng.IntN(tenants), int64(1+rng.IntN(benchRows))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The PostgreSQL benchmarks compare tenantmap with raw pgx on the same
// tables and statements, at 1 tenant and at 10,000, under each connection
// configuration that matters at scale. See docs/benchmarks.md.
//
//	go test -run XXX -bench Postgres -cpu 2 -benchtime 20000x .
func BenchmarkPostgres(b *testing.B) {
	type variant struct {
		name  string
		raw   bool
		tweak func(*pgxpool.Config)
	}
	cache := func(n int) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) { pc.ConnConfig.StatementCacheCapacity = n }
	}
	generic := func(n int) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) {
			pc.ConnConfig.StatementCacheCapacity = n
			pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		}
	}
	mode := func(m pgx.QueryExecMode) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) { pc.ConnConfig.DefaultQueryExecMode = m }
	}
	describe := func(pc *pgxpool.Config) {
		pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		pc.ConnConfig.DescriptionCacheCapacity = 65536
	}
	variants := []variant{
		{"pgx/default", true, nil},
		{"tenantmap/default", false, nil},
		{"pgx/cache=32768", true, cache(32768)},
		{"tenantmap/cache=32768", false, cache(32768)},
		{"tenantmap/cache=32768+generic", false, generic(32768)},
		{"pgx/cache=32768+generic", true, generic(32768)},
		{"tenantmap/exec", false, mode(pgx.QueryExecModeExec)},
		{"tenantmap/describe", false, describe},
	}
	for _, tenants := range benchTenantCounts() {
		dsn := benchDB(b, tenants)
		for _, opName := range []string{"get", "update", "insert"} {
			for _, v := range variants {
				if tenants == 1 && v.tweak != nil {
					continue // at one tenant only the defaults matter
				}
				b.Run(fmt.Sprintf("tenants=%d/%s/%s", tenants, opName, v.name), func(b *testing.B) {
					pool := benchPool(b, dsn, v.tweak)
					var ops map[string]op
					if v.raw {
						ops = rawOps(pool)
					} else {
						ops = tenantmapOps(b, pool, nil)
					}
					runOps(b, tenants, ops[opName])
				})
			}
		}
	}
}
