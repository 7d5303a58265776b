package tenantmap_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

var benchApp atomic.Int64

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
	u := keptDatabase(b, benchDatabase)
	db, err := openCreating(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedBenchTenants(b, db, n)
	benchSetup.url, benchSetup.tenants = u, n
	return u
}

// keptDatabase makes the database name on the PostgreSQL server unless it
// exists (benchmarks keep theirs between runs) and returns its URL.
func keptDatabase(b *testing.B, name string) string {
	b.Helper()
	conn, admin := pgAdmin(b)
	ctx := context.Background()
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
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

// backendPrivateMB reports the private memory (catalog and plan caches,
// prepared statements) of the server processes serving application app,
// averaged per process. It reads /proc, so it needs the server on this
// machine and the rights to read its processes' smaps; elsewhere it reports
// nothing.
func backendPrivateMB(b *testing.B, dsn, app string) {
	pids := appPIDs(b, dsn, app)
	var total float64
	n := 0
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && (f[0] == "Private_Clean:" || f[0] == "Private_Dirty:") {
				kb, _ := strconv.ParseFloat(f[1], 64)
				total += kb / 1024
			}
		}
		n++
	}
	if n > 0 {
		b.ReportMetric(total/float64(n), "MB/backend")
	}
}

func tenantmapOps(b *testing.B, pool *pgxpool.Pool, cfg *tenantmap.Config) map[string]op {
	b.Helper()
	db, err := openPoolCreating(context.Background(), pool, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return itemOps(b, db)
}

func tenantmapOpenOps(b *testing.B, cfg *tenantmap.Config) map[string]op {
	b.Helper()
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return itemOps(b, db)
}

func itemOps(b *testing.B, db *tenantmap.DB) map[string]op {
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
func runOps(b *testing.B, tenants int, o op, warmed func()) {
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
	// Then as the measured run calls, for 10 calls a tenant (at least
	// 2,000): a tenant's calls go to its home connections, which 4
	// goroutines' warm-up left partly cold, and a server backend prepares a
	// statement and builds its relation cache entries on its first call.
	// The run measures the steady state, as a long-running service sees it.
	settle := max(10*tenants, 2000)
	var wg2 sync.WaitGroup
	for g := range runtime.GOMAXPROCS(0) {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for range settle / runtime.GOMAXPROCS(0) {
				if err := o(ctx, rng.IntN(tenants), int64(1+rng.IntN(benchRows))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg2.Wait()
	if warmed != nil {
		warmed()
	}
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
//	go test -run XXX -bench Postgres -cpu 2 -benchtime 20000x -timeout 60m .
func BenchmarkPostgres(b *testing.B) {
	type variant struct {
		name string
		// raw: the baseline, hand-written statements through pgx on one pool.
		raw bool
		// pool: tenantmap on a pgx pool the caller made (OpenPool).
		pool bool
		// tweak changes the pgx pool (raw and pool variants).
		tweak func(*pgxpool.Config)
		// cfg changes tenantmap's own configuration (Open variants).
		cfg func(*tenantmap.Config)
	}
	generic := func(n int) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) {
			pc.ConnConfig.StatementCacheCapacity = n
			pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		}
	}
	cache := func(n int) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) { pc.ConnConfig.StatementCacheCapacity = n }
	}
	mode := func(m pgx.QueryExecMode) func(*pgxpool.Config) {
		return func(pc *pgxpool.Config) {
			pc.ConnConfig.DefaultQueryExecMode = m
			pc.ConnConfig.DescriptionCacheCapacity = 65536
		}
	}
	variants := []variant{
		{name: "pgx/default", raw: true},
		{name: "tenantmap/default"},
		{name: "pgx/cache=32768+generic", raw: true, tweak: generic(32768)},
		{name: "tenantmap/pool=default", pool: true},
		{name: "tenantmap/pool=cache32768", pool: true, tweak: cache(32768)},
		{name: "tenantmap/pool=cache32768+generic", pool: true, tweak: generic(32768)},
		{name: "tenantmap/pool=exec", pool: true, tweak: mode(pgx.QueryExecModeExec)},
		{name: "tenantmap/pool=describe", pool: true, tweak: mode(pgx.QueryExecModeCacheDescribe)},
		{name: "tenantmap/affinity,custom-plans", cfg: func(c *tenantmap.Config) { c.DisableGenericPlans = true }},
		// Two connections, one per goroutine, each caching every tenant's
		// statement: two server processes on two cores instead of four.
		{name: "tenantmap/conns=2,cache=16384", cfg: func(c *tenantmap.Config) { c.MaxConns, c.StatementCacheSize = 2, 16384 }},
		{name: "tenantmap/noaffinity,cache=16384", cfg: func(c *tenantmap.Config) { c.DisableTenantAffinity, c.StatementCacheSize = true, 16384 }},
		{name: "pgx/conns=2,cache=16384+generic", raw: true, tweak: func(pc *pgxpool.Config) {
			generic(16384)(pc)
			pc.MaxConns, pc.MinConns = 2, 2
		}},
	}
	for _, tenants := range benchTenantCounts() {
		dsn := benchDB(b, tenants)
		for _, opName := range []string{"get", "update", "insert"} {
			for _, v := range variants {
				if tenants == 1 && v.name != "pgx/default" && v.name != "tenantmap/default" {
					continue // at one tenant only the defaults matter
				}
				b.Run(fmt.Sprintf("tenants=%d/%s/%s", tenants, opName, v.name), func(b *testing.B) {
					app := fmt.Sprintf("tmbench-%d", benchApp.Add(1))
					tweak := func(pc *pgxpool.Config) {
						pc.ConnConfig.RuntimeParams["application_name"] = app
						if v.tweak != nil {
							v.tweak(pc)
						}
					}
					var ops map[string]op
					switch {
					case v.raw:
						ops = rawOps(benchPool(b, dsn, tweak))
					case v.pool:
						ops = tenantmapOps(b, benchPool(b, dsn, tweak), nil)
					default:
						u, err := url.Parse(dsn)
						if err != nil {
							b.Fatal(err)
						}
						q := u.Query()
						q.Set("application_name", app)
						u.RawQuery = q.Encode()
						cfg, err := tenantmap.ParseConfig(u.String())
						if err != nil {
							b.Fatal(err)
						}
						cfg.MaxConns = 4
						if v.cfg != nil {
							v.cfg(cfg)
						}
						ops = tenantmapOpenOps(b, cfg)
					}
					var cpu cpuSplit
					runOps(b, tenants, ops[opName], func() { cpu.start(b, dsn, app) })
					b.StopTimer()
					cpu.report(b)
					backendPrivateMB(b, dsn, app)
				})
			}
		}
	}
}

// seedBenchTenants creates the benchmark tenants 0…n-1 that db lacks, each
// with an item table of benchRows rows, four at a time.
func seedBenchTenants(b *testing.B, db *tenantmap.DB, n int) {
	b.Helper()
	ctx := context.Background()
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
}

// appPIDs returns the server processes serving application app.
func appPIDs(b *testing.B, dsn, app string) []int32 {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	return pids
}

// cpuSplit measures where a benchmark's CPU time goes: the server
// processes serving it (utime + stime from /proc/PID/stat, so the server
// must run on this machine) and this process (getrusage). Reported per
// call as server-µs/op and client-µs/op; with 2 cores, their sum over 2 is
// the floor of ns/op.
type cpuSplit struct {
	pids           []int32
	server, client time.Duration
	ok             bool
}

func (c *cpuSplit) start(b *testing.B, dsn, app string) {
	c.pids = appPIDs(b, dsn, app)
	c.server, c.ok = serverCPU(c.pids)
	c.client = clientCPU()
}

func (c *cpuSplit) report(b *testing.B) {
	if !c.ok {
		return
	}
	server, ok := serverCPU(c.pids)
	if !ok {
		return
	}
	b.ReportMetric(float64((server-c.server).Microseconds())/float64(b.N), "server-µs/op")
	b.ReportMetric(float64((clientCPU()-c.client).Microseconds())/float64(b.N), "client-µs/op")
}

// serverCPU sums the user and system time of the processes pids.
func serverCPU(pids []int32) (time.Duration, bool) {
	var ticks int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, false
		}
		// Fields after the command name (which may hold spaces) in its
		// parentheses; utime and stime are the 14th and 15th fields.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			return 0, false
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / 100, true // USER_HZ is 100 on Linux
}

func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
