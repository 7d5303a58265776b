package tenantmap_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/dialect"
)

// The strategy benchmarks compare each strategy on each database with the
// raw driver running the same statement on the same tables, and measure
// DatabasePerTenant's connection cap at 1,000 tenants. See
// docs/benchmarks.md.
//
//	go test -run XXX -bench 'Strategies/.*/get' -cpu 2 -benchtime 20000x -count 3 .
//	go test -run XXX -bench 'Strategies/.*/insert' -cpu 2 -benchtime 2000x -count 3 .
//	go test -run XXX -bench DatabasePerTenantCap -cpu 2 -benchtime 2000x -count 3 -timeout 60m .

const (
	// strategyTenants is the number of tenants each strategy benchmark
	// creates and calls.
	strategyTenants = 100
	// pgOwnDBTenants is the number of tenants called on PostgreSQL's
	// DatabasePerTenant in BenchmarkStrategies: few enough that both sides
	// keep a connection to each tenant's database open (two, when both
	// goroutines call one tenant) within the server's 100 connections, so the
	// figures are the cost of a call, not of a dial. BenchmarkDatabasePerTenantCap
	// measures the dials.
	pgOwnDBTenants = 16

	// dbptDatabase and dbptPrefix name the PostgreSQL set DatabasePerTenant
	// benchmarks keep between runs: the main database (the catalog) and the
	// prefix of the tenants' databases. Drop them with
	//	psql -c 'DROP DATABASE tenantmap_bench_dbpt'
	//	psql -Atc "SELECT 'DROP DATABASE ' || datname || ';' FROM pg_database WHERE starts_with(datname, 'tmbench_')" | psql
	dbptDatabase = "tenantmap_bench_dbpt"
	dbptPrefix   = "tmbench_"

	capTenants  = 1000 // tenants BenchmarkDatabasePerTenantCap spreads its calls over
	capMaxConns = 20   // its Config.TenantMaxConns
)

// strategyTenantCount is the number of tenants the PostgreSQL table, schema
// and shared pairs call: strategyTenants, or TENANTMAP_BENCH_STRATEGY_TENANTS
// (the shared table at 10,000 tenants, say).
func strategyTenantCount() int {
	if v, err := strconv.Atoi(os.Getenv("TENANTMAP_BENCH_STRATEGY_TENANTS")); err == nil && v > 0 {
		return v
	}
	return strategyTenants
}

// strategyOp runs one call for tenant t on its seeded row r (0…benchRows-1)
// and checks what came back.
type strategyOp func(ctx context.Context, t, r int) error

// strategyEnv is one database × strategy, seeded: the tenants the calls go
// to and the two ways to call them, each opened afresh for each
// sub-benchmark.
type strategyEnv struct {
	ids   []string
	keys  [][]int64 // each tenant's seeded keys
	ownDB bool      // tenantmap reaches each tenant on connections to its own database
	// cfg and strategy open tenantmap on the seeded tables.
	cfg      *tenantmap.Config
	strategy tenantmap.Strategy
	// raw opens the raw driver on the same tables; closed when b ends.
	raw func(b *testing.B) rawSide
}

// rawSide is the raw driver's ops on one pair and, where each tenant has a
// database of its own, the number of connections it has opened so far.
type rawSide struct {
	ops map[string]strategyOp
	// prepared runs the same statements prepared once (database/sql
	// drivers); nil where the driver caches statements itself (pgx).
	prepared func(b *testing.B) map[string]strategyOp
	dials    func() int64 // nil: one pool for every tenant
}

// seedTitle is the title of a tenant's seeded row r: Get checks that it
// got its tenant's row.
func seedTitle(id string, r int) string { return id + " item " + strconv.Itoa(r) }

// checkItem fails unless it is the row key of tenant id.
func checkItem(it *Item, id string, key int64) error {
	if it.ID != key || !strings.HasPrefix(it.Title, id+" item ") {
		return fmt.Errorf("tenant %s, key %d: got row %d %q, not the tenant's row", id, key, it.ID, it.Title)
	}
	return nil
}

func newItem() Item { return Item{Title: "new", Status: "open", Priority: 1, UpdatedAt: time.Now()} }

// tenantmapStrategyOps calls Get and Insert through tenantmap.
func tenantmapStrategyOps(items *tenantmap.Table[Item], ids []string, keys [][]int64) map[string]strategyOp {
	ctxs := make([]context.Context, len(ids))
	for i, id := range ids {
		ctxs[i] = tenantmap.WithTenant(context.Background(), id)
	}
	return map[string]strategyOp{
		"get": func(_ context.Context, t, r int) error {
			it, err := items.Get(ctxs[t], keys[t][r])
			if err != nil {
				return err
			}
			return checkItem(it, ids[t], keys[t][r])
		},
		"insert": func(_ context.Context, t, _ int) error {
			it := newItem()
			if err := items.Insert(ctxs[t], &it); err != nil {
				return err
			}
			if it.ID <= 0 {
				return fmt.Errorf("tenant %s: insert returned key %d", ids[t], it.ID)
			}
			return nil
		},
	}
}

// rawItemSQL writes by hand the Get and Insert statements tenantmap renders
// for a table: quoted, schema-qualified where there is a schema, with the
// tenant filter first on a shared table and the tenant last in its insert.
func rawItemSQL(dialectName, schema, table string, shared, returning bool) (get, insert string) {
	q := func(s string) string {
		if dialectName == "postgres" {
			return `"` + s + `"`
		}
		return "`" + s + "`"
	}
	ph := func(n int) string {
		switch dialectName {
		case "postgres":
			return "$" + strconv.Itoa(n)
		case "sqlite":
			return "?" + strconv.Itoa(n)
		}
		return "?"
	}
	t := q(table)
	if schema != "" {
		t = q(schema) + "." + t
	}
	get = "SELECT " + q("id") + "," + q("title") + "," + q("status") + "," + q("priority") + "," + q("updated_at") + " FROM " + t + " WHERE "
	insert = "INSERT INTO " + t + " (" + q("title") + "," + q("status") + "," + q("priority") + "," + q("updated_at")
	if shared {
		get += q(tenantmap.TenantColumn) + "=" + ph(1) + " AND " + q("id") + "=" + ph(2)
		insert += "," + q(tenantmap.TenantColumn) + ") VALUES (" + ph(1) + "," + ph(2) + "," + ph(3) + "," + ph(4) + "," + ph(5) + ")"
	} else {
		get += q("id") + "=" + ph(1)
		insert += ") VALUES (" + ph(1) + "," + ph(2) + "," + ph(3) + "," + ph(4) + ")"
	}
	if returning {
		insert += " RETURNING " + q("id")
	}
	return get, insert
}

// rawPgxOps runs the statements through pgx: pools[t] is tenant t's pool
// (its own database's, for DatabasePerTenant). Under row-level security
// each statement goes in one batch after set_config, as tenantmap sends it.
func rawPgxOps(pools []*pgxpool.Pool, ids []string, keys [][]int64, gets, inserts []string, shared, rls bool) map[string]strategyOp {
	setTenant := "SELECT set_config('" + tenantmap.RowSecuritySetting + "', $1, true)"
	return map[string]strategyOp{
		"get": func(ctx context.Context, t, r int) error {
			var it Item
			key := keys[t][r]
			var err error
			switch {
			case rls:
				batch := &pgx.Batch{}
				batch.Queue(setTenant, ids[t])
				batch.Queue(gets[t], ids[t], key)
				br := pools[t].SendBatch(ctx, batch)
				if _, err = br.Exec(); err == nil {
					err = br.QueryRow().Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt)
				}
				if cerr := br.Close(); err == nil {
					err = cerr
				}
			case shared:
				err = pools[t].QueryRow(ctx, gets[t], ids[t], key).Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt)
			default:
				err = pools[t].QueryRow(ctx, gets[t], key).Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt)
			}
			if err != nil {
				return err
			}
			return checkItem(&it, ids[t], key)
		},
		"insert": func(ctx context.Context, t, _ int) error {
			it := newItem()
			var err error
			switch {
			case rls:
				batch := &pgx.Batch{}
				batch.Queue(setTenant, ids[t])
				batch.Queue(inserts[t], it.Title, it.Status, it.Priority, it.UpdatedAt, ids[t])
				br := pools[t].SendBatch(ctx, batch)
				if _, err = br.Exec(); err == nil {
					err = br.QueryRow().Scan(&it.ID)
				}
				if cerr := br.Close(); err == nil {
					err = cerr
				}
			case shared:
				err = pools[t].QueryRow(ctx, inserts[t], it.Title, it.Status, it.Priority, it.UpdatedAt, ids[t]).Scan(&it.ID)
			default:
				err = pools[t].QueryRow(ctx, inserts[t], it.Title, it.Status, it.Priority, it.UpdatedAt).Scan(&it.ID)
			}
			if err == nil && it.ID <= 0 {
				err = fmt.Errorf("tenant %s: insert returned key %d", ids[t], it.ID)
			}
			return err
		},
	}
}

// rawSQLOps runs the statements through database/sql: dbs[t] is tenant t's
// handle (its own file's, for DatabasePerTenant on SQLite). Without
// RETURNING (MySQL) the key comes from LastInsertId, as in tenantmap.
func rawSQLOps(dbs []*sql.DB, ids []string, keys [][]int64, gets, inserts []string, shared, returning bool) map[string]strategyOp {
	return rawSQLCalls(ids, keys, shared, returning,
		func(ctx context.Context, t int, args ...any) *sql.Row {
			return dbs[t].QueryRowContext(ctx, gets[t], args...)
		},
		func(ctx context.Context, t int, args ...any) *sql.Row {
			return dbs[t].QueryRowContext(ctx, inserts[t], args...)
		},
		func(ctx context.Context, t int, args ...any) (sql.Result, error) {
			return dbs[t].ExecContext(ctx, inserts[t], args...)
		})
}

// rawPreparedOps are rawSQLOps through statements prepared once (one per
// pool and text), as a program that prepares its statements runs them.
func rawPreparedOps(b *testing.B, dbs []*sql.DB, ids []string, keys [][]int64, gets, inserts []string, shared, returning bool) map[string]strategyOp {
	type key struct {
		db   *sql.DB
		text string
	}
	stmts := map[key]*sql.Stmt{}
	prepare := func(db *sql.DB, text string) *sql.Stmt {
		if st, ok := stmts[key{db, text}]; ok {
			return st
		}
		st, err := db.Prepare(text)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		stmts[key{db, text}] = st
		return st
	}
	getStmts, insStmts := make([]*sql.Stmt, len(ids)), make([]*sql.Stmt, len(ids))
	for t := range ids {
		getStmts[t], insStmts[t] = prepare(dbs[t], gets[t]), prepare(dbs[t], inserts[t])
	}
	return rawSQLCalls(ids, keys, shared, returning,
		func(ctx context.Context, t int, args ...any) *sql.Row {
			return getStmts[t].QueryRowContext(ctx, args...)
		},
		func(ctx context.Context, t int, args ...any) *sql.Row {
			return insStmts[t].QueryRowContext(ctx, args...)
		},
		func(ctx context.Context, t int, args ...any) (sql.Result, error) {
			return insStmts[t].ExecContext(ctx, args...)
		})
}

// rawSQLCalls are the raw side's get and insert over database/sql, given
// how tenant t's get and insert statements run.
func rawSQLCalls(ids []string, keys [][]int64, shared, returning bool,
	get, insertRow func(ctx context.Context, t int, args ...any) *sql.Row,
	insertExec func(ctx context.Context, t int, args ...any) (sql.Result, error)) map[string]strategyOp {
	return map[string]strategyOp{
		"get": func(ctx context.Context, t, r int) error {
			var it Item
			key := keys[t][r]
			var row *sql.Row
			if shared {
				row = get(ctx, t, ids[t], key)
			} else {
				row = get(ctx, t, key)
			}
			if err := row.Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt); err != nil {
				return err
			}
			return checkItem(&it, ids[t], key)
		},
		"insert": func(ctx context.Context, t, _ int) error {
			it := newItem()
			var err error
			switch {
			case returning && shared:
				err = insertRow(ctx, t, it.Title, it.Status, it.Priority, it.UpdatedAt, ids[t]).Scan(&it.ID)
			case returning:
				err = insertRow(ctx, t, it.Title, it.Status, it.Priority, it.UpdatedAt).Scan(&it.ID)
			default:
				var res sql.Result
				if shared {
					res, err = insertExec(ctx, t, it.Title, it.Status, it.Priority, it.UpdatedAt, ids[t])
				} else {
					res, err = insertExec(ctx, t, it.Title, it.Status, it.Priority, it.UpdatedAt)
				}
				if err == nil {
					it.ID, err = res.LastInsertId()
				}
			}
			if err == nil && it.ID <= 0 {
				err = fmt.Errorf("tenant %s: insert returned key %d", ids[t], it.ID)
			}
			return err
		},
	}
}

// seedStrategyTenants creates tenants 0…n-1 on db, each with benchRows rows,
// four at a time, and returns their ids and keys.
func seedStrategyTenants(b *testing.B, db *tenantmap.DB, items *tenantmap.Table[Item], n int) ([]string, [][]int64) {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	keys := make([][]int64, n)
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
				if _, err := db.Tenants().Create(ctx, id); err != nil {
					errs <- err
					return
				}
				rows := seedRows(id)
				if err := items.For(id).InsertMany(ctx, rows); err != nil {
					errs <- err
					return
				}
				ids[i] = id
				for _, it := range rows {
					keys[i] = append(keys[i], it.ID)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return ids, keys
}

func seedRows(id string) []*Item {
	rows := make([]*Item, benchRows)
	for r := range rows {
		rows[r] = &Item{Title: seedTitle(id, r), Status: "open", Priority: r, UpdatedAt: time.Now()}
	}
	return rows
}

// ownDBKeys are the keys of tenants in databases of their own: each
// tenant's table has its own sequence, and its seeded rows came first.
func ownDBKeys(n int) ([]string, [][]int64) {
	ids := make([]string, n)
	keys := make([][]int64, n)
	for i := range ids {
		ids[i] = benchTenantID(i)
		for r := range benchRows {
			keys[i] = append(keys[i], int64(r+1))
		}
	}
	return ids, keys
}

// openItems opens cfg and registers Item with s on it, closed when b ends.
func openItems(b *testing.B, cfg *tenantmap.Config, s tenantmap.Strategy) (*tenantmap.DB, *tenantmap.Table[Item]) {
	b.Helper()
	c := *cfg
	db, err := openConfigCreating(context.Background(), &c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	items, err := tenantmap.Register[Item](db, s)
	if err != nil {
		b.Fatal(err)
	}
	return db, items
}

func parseConfig(b *testing.B, u string) *tenantmap.Config {
	b.Helper()
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// sqliteDSN is the database/sql DSN with the settings tenantmap opens
// SQLite files with (WAL, synchronous=NORMAL, a busy timeout).
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate&_time_format=sqlite"
}

// sqliteStrategyEnv seeds a SQLite file (and, for DatabasePerTenant, a file
// per tenant) in b's temporary directory.
func sqliteStrategyEnv(b *testing.B, kind string, s tenantmap.Strategy) *strategyEnv {
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.db")
	cfg := parseConfig(b, "sqlite:"+path)
	// Every tenant's file may stay open (twice, when both goroutines call
	// one tenant): the figures are the cost of a call, not of opening files.
	cfg.TenantMaxConns = 2 * strategyTenants
	seed, items := openItems(b, cfg, s)
	ids, keys := seedStrategyTenants(b, seed, items, strategyTenants)
	seed.Close()
	return &strategyEnv{
		ids: ids, keys: keys, ownDB: kind == "database",
		cfg: cfg, strategy: s,
		raw: func(b *testing.B) rawSide {
			open := func(file string, conns int) *sql.DB {
				db, err := sql.Open("sqlite", sqliteDSN(file))
				if err != nil {
					b.Fatal(err)
				}
				db.SetMaxOpenConns(conns)
				db.SetMaxIdleConns(conns)
				b.Cleanup(func() { db.Close() })
				return db
			}
			dbs := make([]*sql.DB, len(ids))
			gets, inserts := make([]string, len(ids)), make([]string, len(ids))
			var main *sql.DB
			if kind != "database" {
				main = open(path, 4) // tenantmap's default pool
			}
			for i, id := range ids {
				switch kind {
				case "table":
					dbs[i] = main
					gets[i], inserts[i] = rawItemSQL("sqlite", "", id+"_item", false, true)
				case "shared":
					dbs[i] = main
					gets[i], inserts[i] = rawItemSQL("sqlite", "", "item", true, true)
				case "database":
					dbs[i] = open(filepath.Join(dir, "bench_tenants", id+".db"), 2)
					gets[i], inserts[i] = rawItemSQL("sqlite", "", "item", false, true)
					var cs [2]*sql.Conn
					for j := range cs {
						c, err := dbs[i].Conn(context.Background())
						if err != nil {
							b.Fatal(err)
						}
						cs[j] = c
					}
					for _, c := range cs {
						c.Close() // idle, kept: MaxIdleConns is 2
					}
				}
			}
			side := rawSide{
				ops: rawSQLOps(dbs, ids, keys, gets, inserts, kind == "shared", true),
				prepared: func(b *testing.B) map[string]strategyOp {
					return rawPreparedOps(b, dbs, ids, keys, gets, inserts, kind == "shared", true)
				},
			}
			if kind == "database" {
				side.dials = func() int64 {
					var n int64
					for _, db := range dbs {
						st := db.Stats() // idle connections are never closed: MaxIdleConns = MaxOpenConns
						n += int64(st.OpenConnections) + st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed
					}
					return n
				}
			}
			return side
		},
	}
}

// postgresStrategyEnv seeds a fresh PostgreSQL database (owned by rlsRole
// and opened with row-level security for "shared-rls"), dropped when b
// ends; DatabasePerTenant uses the kept set of benchDBPT instead.
func postgresStrategyEnv(b *testing.B, kind string, s tenantmap.Strategy) *strategyEnv {
	if kind == "database" {
		return postgresOwnDBEnv(b, s)
	}
	rls := kind == "shared-rls"
	var u string
	if rls {
		u = rlsDatabaseURL(b)
	} else {
		u = newPostgresDatabase(b)
	}
	cfg := parseConfig(b, u)
	cfg.MaxConns = 4
	cfg.RowLevelSecurity = rls
	seed, items := openItems(b, cfg, s)
	ids, keys := seedStrategyTenants(b, seed, items, strategyTenantCount())
	seed.Close()
	shared := kind == "shared" || rls
	return &strategyEnv{
		ids: ids, keys: keys,
		cfg: cfg, strategy: s,
		raw: func(b *testing.B) rawSide {
			pool := benchPool(b, u, nil) // 4 connections, pgx's defaults
			pools := make([]*pgxpool.Pool, len(ids))
			gets, inserts := make([]string, len(ids)), make([]string, len(ids))
			for i, id := range ids {
				pools[i] = pool
				switch kind {
				case "table":
					gets[i], inserts[i] = rawItemSQL("postgres", "public", id+"_item", false, true)
				case "schema":
					gets[i], inserts[i] = rawItemSQL("postgres", id, "item", false, true)
				default:
					gets[i], inserts[i] = rawItemSQL("postgres", "public", "item", true, true)
				}
			}
			return rawSide{ops: rawPgxOps(pools, ids, keys, gets, inserts, shared, rls)}
		},
	}
}

// postgresOwnDBEnv calls the first pgOwnDBTenants tenants of the kept
// DatabasePerTenant set: tenantmap with a cap that holds two connections to
// each tenant's database, the raw side with a pgx pool of 2 connections per
// tenant database.
func postgresOwnDBEnv(b *testing.B, s tenantmap.Strategy) *strategyEnv {
	u := benchDBPT(b, strategyTenants)
	cfg := parseConfig(b, u)
	cfg.MaxConns = 4
	cfg.TenantMaxConns = 2 * pgOwnDBTenants
	ids, keys := ownDBKeys(pgOwnDBTenants)
	return &strategyEnv{
		ids: ids, keys: keys, ownDB: true,
		cfg: cfg, strategy: s,
		raw: func(b *testing.B) rawSide {
			pools := make([]*pgxpool.Pool, len(ids))
			gets, inserts := make([]string, len(ids)), make([]string, len(ids))
			for i, id := range ids {
				tu, err := url.Parse(u)
				if err != nil {
					b.Fatal(err)
				}
				tu.Path = "/" + dbptPrefix + id
				pc, err := pgxpool.ParseConfig(tu.String())
				if err != nil {
					b.Fatal(err)
				}
				pc.MaxConns, pc.MinConns = 2, 0
				pools[i], err = pgxpool.NewWithConfig(context.Background(), pc)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(pools[i].Close)
				var cs [2]*pgxpool.Conn
				for j := range cs {
					if cs[j], err = pools[i].Acquire(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				for _, c := range cs {
					c.Release()
				}
				gets[i], inserts[i] = rawItemSQL("postgres", "public", "item", false, true)
			}
			dials := func() int64 {
				var n int64
				for _, p := range pools {
					n += p.Stat().NewConnsCount()
				}
				return n
			}
			return rawSide{ops: rawPgxOps(pools, ids, keys, gets, inserts, false, false), dials: dials}
		},
	}
}

// mysqlStrategyEnv seeds a fresh MySQL/MariaDB database (and, for
// DatabasePerTenant, a database per tenant), dropped when b ends.
func mysqlStrategyEnv(b *testing.B, kind string, s tenantmap.Strategy) *strategyEnv {
	u := newMySQLDatabase(b)
	cfg := parseConfig(b, u)
	cfg.MaxConns = 4
	prefix := "tmbench" + randomSuffix()[:6] + "_"
	if kind == "database" {
		s = tenantmap.DatabasePerTenant(prefix + tenantmap.TenantToken)
		b.Cleanup(func() {
			admin, err := sql.Open("mysql", cfg.DSN)
			if err != nil {
				b.Error(err)
				return
			}
			defer admin.Close()
			for i := range strategyTenants {
				if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + prefix + benchTenantID(i) + "`"); err != nil {
					b.Error(err)
				}
			}
		})
	}
	seed, items := openItems(b, cfg, s)
	returning := seed.Dialect().Features()&dialect.Returning != 0
	ids, keys := seedStrategyTenants(b, seed, items, strategyTenants)
	seed.Close()
	return &strategyEnv{
		ids: ids, keys: keys,
		cfg: cfg, strategy: s,
		raw: func(b *testing.B) rawSide {
			db, err := sql.Open("mysql", cfg.DSN) // the DSN settings tenantmap uses
			if err != nil {
				b.Fatal(err)
			}
			db.SetMaxOpenConns(4)
			b.Cleanup(func() { db.Close() })
			dbs := make([]*sql.DB, len(ids))
			gets, inserts := make([]string, len(ids)), make([]string, len(ids))
			for i, id := range ids {
				dbs[i] = db
				switch kind {
				case "table":
					gets[i], inserts[i] = rawItemSQL("mysql", "", id+"_item", false, returning)
				case "database":
					gets[i], inserts[i] = rawItemSQL("mysql", prefix+id, "item", false, returning)
				default:
					gets[i], inserts[i] = rawItemSQL("mysql", "", "item", true, returning)
				}
			}
			return rawSide{
				ops: rawSQLOps(dbs, ids, keys, gets, inserts, kind == "shared", returning),
				prepared: func(b *testing.B) map[string]strategyOp {
					return rawPreparedOps(b, dbs, ids, keys, gets, inserts, kind == "shared", returning)
				},
			}
		},
	}
}

// runStrategyOp warms o and measures it from GOMAXPROCS goroutines, each
// calling random tenants and rows; warmed, if not nil, is called between.
// The warm-up makes a few calls per tenant from 4 goroutines (the registry,
// and prepared statements on every connection), then as many calls as the
// measured run makes, the way it makes them (so connections to tenants' own
// databases are open where the run needs them). Any error or wrong row
// fails the benchmark. It reports whether it measured (b.N > 1).
func runStrategyOp(b *testing.B, tenants int, o strategyOp, warmed func()) bool {
	b.Helper()
	b.ReportAllocs()
	ctx := context.Background()
	if b.N <= 1 { // the first, one-call run: check, don't warm
		if err := o(ctx, 0, 0); err != nil {
			b.Fatal(err)
		}
		return false
	}
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }
	calls := func(goroutines, n int, pick func(rng *rand.Rand, i int) (int, int)) {
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 3))
				for i := g; i < n; i += goroutines {
					t, r := pick(rng, i)
					if err := o(ctx, t, r); err != nil {
						fail(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			b.Fatal(*err)
		}
	}
	calls(4, max(6*tenants, 200), func(rng *rand.Rand, i int) (int, int) { return i % tenants, rng.IntN(benchRows) })
	calls(runtime.GOMAXPROCS(0), b.N, func(rng *rand.Rand, _ int) (int, int) { return rng.IntN(tenants), rng.IntN(benchRows) })
	if warmed != nil {
		warmed()
	}
	var seed atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 4))
		for pb.Next() {
			if err := o(ctx, rng.IntN(tenants), rng.IntN(benchRows)); err != nil {
				fail(err)
				return
			}
		}
	})
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return true
}

// openTwoEach leaves two connections open to each tenant's own database,
// as many as two goroutines calling one tenant at once need (the raw side
// opens as many): a Get outside a transaction that holds one opens the
// second. Without it the measured run would open them one by one.
func openTwoEach(b *testing.B, db *tenantmap.DB, items *tenantmap.Table[Item], ids []string, keys [][]int64) {
	b.Helper()
	for i, id := range ids {
		ctx := tenantmap.WithTenant(context.Background(), id)
		err := db.InTx(ctx, func(tx context.Context) error {
			if _, err := items.Get(tx, keys[i][0]); err != nil {
				return err
			}
			_, err := items.Get(ctx, keys[i][0])
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if st := db.TenantConnStats(); st.Open != 2*len(ids) {
		b.Fatalf("%d connections open to %d tenant databases, want 2 each", st.Open, len(ids))
	}
}

// rawNsPerOp keeps the raw side's ns/op per pair and operation, for the
// ratio the tenantmap side reports.
var rawNsPerOp struct {
	sync.Mutex
	m map[string][]float64
}

// BenchmarkStrategies compares Get by key and Insert through tenantmap with
// the raw driver running the same statement on the same tables, for every
// strategy on every database that has it, with strategyTenants tenants
// (pgOwnDBTenants for PostgreSQL's DatabasePerTenant), 4 connections a side
// and GOMAXPROCS goroutines. Names are pair/op/side: the raw side runs
// first, and the tenantmap side reports its ns/op over the mean of the raw
// side's as tm/raw. On SQLite and MySQL the raw side runs twice: as "raw",
// each call's text through database/sql (which prepares, runs and closes
// it), and as "raw-prepared", through statements prepared once, the
// baseline for tenantmap's statement cache (tm/prepared). On PostgreSQL,
// Get also runs as tenantmap-noaffinity: Config.TenantAffinity off, one pgx
// pool like the raw side's.
//
//	go test -run XXX -bench 'Strategies/.*/get' -cpu 2 -benchtime 20000x -count 3 .
//	go test -run XXX -bench 'Strategies/postgres_shared$' -cpu 2 -benchtime 2000x .
func BenchmarkStrategies(b *testing.B) {
	type pair struct {
		name  string
		setup func(b *testing.B) *strategyEnv
	}
	sqlite := func(kind string, s tenantmap.Strategy) func(*testing.B) *strategyEnv {
		return func(b *testing.B) *strategyEnv { return sqliteStrategyEnv(b, kind, s) }
	}
	postgres := func(kind string, s tenantmap.Strategy) func(*testing.B) *strategyEnv {
		return func(b *testing.B) *strategyEnv { return postgresStrategyEnv(b, kind, s) }
	}
	mysql := func(kind string, s tenantmap.Strategy) func(*testing.B) *strategyEnv {
		return func(b *testing.B) *strategyEnv { return mysqlStrategyEnv(b, kind, s) }
	}
	table := tenantmap.TablePerTenant("{tenant}_item")
	pairs := []pair{
		{"sqlite_table", sqlite("table", table)},
		{"sqlite_database", sqlite("database", tenantmap.DatabasePerTenant(""))},
		{"sqlite_shared", sqlite("shared", tenantmap.SharedTable(""))},
		{"postgres_table", postgres("table", table)},
		{"postgres_schema", postgres("schema", tenantmap.SchemaPerTenant(""))},
		{"postgres_database", postgres("database", tenantmap.DatabasePerTenant(dbptPrefix+tenantmap.TenantToken))},
		{"postgres_shared", postgres("shared", tenantmap.SharedTable(""))},
		{"postgres_shared-rls", postgres("shared-rls", tenantmap.SharedTable(""))},
		{"mysql_table", mysql("table", table)},
		{"mysql_database", mysql("database", tenantmap.Strategy{})}, // DatabasePerTenant, with a prefix made per run
		{"mysql_shared", mysql("shared", tenantmap.SharedTable(""))},
	}
	for _, p := range pairs {
		b.Run(p.name, func(b *testing.B) {
			env := p.setup(b)
			for _, opName := range []string{"get", "insert"} {
				key := p.name + "/" + opName
				raw := func(name, key string, ops func(b *testing.B, side rawSide) map[string]strategyOp) {
					b.Run(opName+"/"+name, func(b *testing.B) {
						side := env.raw(b)
						o := ops(b, side)
						if o == nil {
							b.Skip("the driver caches statements itself")
						}
						var before int64
						warmed := func() {
							if side.dials != nil {
								before = side.dials()
							}
						}
						if !runStrategyOp(b, len(env.ids), o[opName], warmed) {
							return
						}
						if side.dials != nil {
							b.ReportMetric(float64(side.dials()-before)/float64(b.N), "dials/op")
						}
						rawNsPerOp.Lock()
						if rawNsPerOp.m == nil {
							rawNsPerOp.m = map[string][]float64{}
						}
						rawNsPerOp.m[key] = append(rawNsPerOp.m[key], float64(b.Elapsed().Nanoseconds())/float64(b.N))
						rawNsPerOp.Unlock()
					})
				}
				raw("raw", key, func(_ *testing.B, side rawSide) map[string]strategyOp { return side.ops })
				raw("raw-prepared", key+"/prepared", func(b *testing.B, side rawSide) map[string]strategyOp {
					if side.prepared == nil {
						return nil
					}
					return side.prepared(b)
				})
				tm := func(name string, cfg *tenantmap.Config) {
					b.Run(opName+"/"+name, func(b *testing.B) {
						db, items := openItems(b, cfg, env.strategy)
						if env.ownDB {
							openTwoEach(b, db, items, env.ids, env.keys)
						}
						var before tenantmap.TenantConnStats
						o := tenantmapStrategyOps(items, env.ids, env.keys)[opName]
						if !runStrategyOp(b, len(env.ids), o, func() { before = db.TenantConnStats() }) {
							return
						}
						if env.ownDB {
							b.ReportMetric(float64(db.TenantConnStats().Dials-before.Dials)/float64(b.N), "dials/op")
						}
						nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
						for _, r := range []struct{ key, unit string }{{key, "tm/raw"}, {key + "/prepared", "tm/prepared"}} {
							rawNsPerOp.Lock()
							raw := rawNsPerOp.m[r.key]
							rawNsPerOp.Unlock()
							if len(raw) > 0 {
								var sum float64
								for _, v := range raw {
									sum += v
								}
								b.ReportMetric(nsPerOp/(sum/float64(len(raw))), r.unit)
							}
						}
					})
				}
				tm("tenantmap", env.cfg)
				if opName == "get" && env.cfg.Driver == "postgres" && !env.ownDB {
					// tenantmap on one pgx pool, as the raw side: what its
					// default tenant-affine connections cost or save here.
					c := *env.cfg
					c.DisableTenantAffinity = true
					tm("tenantmap-noaffinity", &c)
				}
			}
		})
	}
}

var dbptSetup struct {
	sync.Mutex
	url     string
	tenants int
}

// benchDBPT prepares, once and kept between runs, the PostgreSQL set for
// DatabasePerTenant: a main database dbptDatabase whose catalog holds at
// least n tenants, each with a database dbptPrefix+id holding an item
// table of benchRows rows. It returns the main database's URL. A set found
// complete (every tenant in the catalog and its database on the server) is
// used as it is; otherwise the missing tenants are made, and tenants left
// without rows by an interrupted run get them.
func benchDBPT(b *testing.B, n int) string {
	b.Helper()
	dbptSetup.Lock()
	defer dbptSetup.Unlock()
	if dbptSetup.tenants >= n {
		return dbptSetup.url
	}
	conn, admin := pgAdmin(b)
	ctx := context.Background()
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbptDatabase).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+dbptDatabase); err != nil {
			b.Fatal(err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + dbptDatabase
	cfg := parseConfig(b, u.String())
	db, items := openItems(b, cfg, tenantmap.DatabasePerTenant(dbptPrefix+tenantmap.TenantToken))
	defer db.Close() // Open made the catalog
	cat, err := pgx.Connect(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close(ctx)
	ids, _ := ownDBKeys(n)
	var recorded, made int
	if err := cat.QueryRow(ctx, "SELECT count(*) FROM public."+tenantmap.CatalogTable+" WHERE id = ANY($1)", ids).Scan(&recorded); err != nil {
		b.Fatal(err)
	}
	dbNames := make([]string, n)
	for i, id := range ids {
		dbNames[i] = dbptPrefix + id
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", dbNames).Scan(&made); err != nil {
		b.Fatal(err)
	}
	if recorded < n || made < n {
		b.Logf("seeding %d tenant databases %s* for %s (%d there): once, kept for later runs", n, dbptPrefix, dbptDatabase, made)
		start := time.Now()
		seedOwnDBTenants(b, db, items, ids)
		b.Logf("seeded in %v", time.Since(start).Round(time.Second))
	}
	dbptSetup.url, dbptSetup.tenants = u.String(), n
	return u.String()
}

// seedOwnDBTenants creates the tenants of ids that db lacks and gives rows
// to those that have none, four at a time.
func seedOwnDBTenants(b *testing.B, db *tenantmap.DB, items *tenantmap.Table[Item], ids []string) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				id := ids[i]
				if _, err := db.Tenants().Get(ctx, id); err == nil {
					n, err := items.For(id).Count(ctx, tenantmap.Query{})
					if err != nil {
						errs <- fmt.Errorf("%w (drop %s and the %s* databases to seed the set again)", err, dbptDatabase, dbptPrefix)
						return
					}
					if n > 0 {
						continue
					}
				} else if _, err := db.Tenants().Create(ctx, id); err != nil {
					errs <- err
					return
				}
				if err := items.For(id).InsertMany(ctx, seedRows(id)); err != nil {
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

// capSpread picks the tenant of each call.
type capSpread struct {
	name string
	pick func(rng *rand.Rand) func() int
}

var capSpreads = []capSpread{
	// Every tenant alike: with 20 connections for 1,000 databases nearly
	// every call dials, the worst case for the cap.
	{"uniform", func(rng *rand.Rand) func() int { return func() int { return rng.IntN(capTenants) } }},
	// A few busy tenants and a long tail (Zipf, s = 1.1): the least
	// recently used connection is the one to close.
	{"zipf", func(rng *rand.Rand) func() int {
		z := rand.NewZipf(rng, 1.1, 1, capTenants-1)
		return func() int { return int(z.Uint64()) }
	}},
}

// BenchmarkDatabasePerTenantCap calls Get by key on 1,000 tenants with a
// database each under Config.TenantMaxConns = 20, from GOMAXPROCS
// goroutines, and checks that no more than 20 connections are open: in
// DB.TenantConnStats, every 20 ms and after the run; on PostgreSQL on the
// server too (pg_stat_activity), as often; on SQLite in the process's open
// files, after the run. It reports dials/op, evictions/op and waits/op, and
// the most connections seen open: max-open (TenantConnStats), max-server
// (PostgreSQL), files-after (SQLite); over-samples counts the server counts
// over the cap that fell back within 100 ms (see runCapped).
//
//	go test -run XXX -bench DatabasePerTenantCap -cpu 2 -benchtime 2000x -count 3 -timeout 60m .
//
// The PostgreSQL set (1,000 databases, ≈ 7.5 GB) is made once, in minutes,
// and kept: see benchDBPT.
func BenchmarkDatabasePerTenantCap(b *testing.B) {
	b.Run("postgres", func(b *testing.B) {
		u := benchDBPT(b, capTenants)
		cfg := parseConfig(b, u)
		cfg.MaxConns = 4
		cfg.TenantMaxConns = capMaxConns
		db, items := openItems(b, cfg, tenantmap.DatabasePerTenant(dbptPrefix+tenantmap.TenantToken))
		mon, _ := pgAdmin(b)
		b.Cleanup(func() { mon.Close(context.Background()) })
		server := func() (int, error) {
			var n int
			err := mon.QueryRow(context.Background(),
				"SELECT count(*) FROM pg_stat_activity WHERE datname LIKE $1 || '%'", strings.ReplaceAll(dbptPrefix, "_", `\_`)).Scan(&n)
			return n, err
		}
		outside := capOutside{what: "server backends in pg_stat_activity", count: server, during: true, metric: "max-server"}
		ids, keys := ownDBKeys(capTenants)
		warmTenants(b, items, ids, keys, fmt.Sprintf(" (if the kept set is damaged, drop %s and the %s* databases to make it again)", dbptDatabase, dbptPrefix))
		for _, spread := range capSpreads {
			b.Run(spread.name, func(b *testing.B) { runCapped(b, db, items, ids, keys, spread, outside) })
		}
	})
	b.Run("sqlite", func(b *testing.B) {
		dir := b.TempDir()
		cfg := parseConfig(b, "sqlite:"+filepath.Join(dir, "bench.db"))
		cfg.TenantMaxConns = capMaxConns
		db, items := openItems(b, cfg, tenantmap.DatabasePerTenant(""))
		ids, keys := seedStrategyTenants(b, db, items, capTenants)
		tenantDir := filepath.Join(dir, "bench_tenants") + string(filepath.Separator)
		// The connections to tenant databases, as the process's open files
		// show them: each has a write-ahead log file of its own, closed when
		// it closes. (Not the database files: a connection closed while
		// another on the same file is open leaves its descriptor to SQLite,
		// which may not close it while the file has POSIX locks, and reuses
		// it for the next connection to that file.) /proc is read while
		// files open and close, so only after the run, when every
		// connection is idle, is the count exact.
		files := func() (int, error) {
			fds, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				return 0, err
			}
			n := 0
			for _, fd := range fds {
				target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
				if err == nil && strings.HasPrefix(target, tenantDir) && strings.HasSuffix(target, ".db-wal") {
					n++
				}
			}
			return n, nil
		}
		outside := capOutside{what: "open write-ahead log files", count: files, metric: "files-after"}
		if _, err := files(); err != nil {
			outside = capOutside{} // no /proc: the client's count only
		}
		warmTenants(b, items, ids, keys, "")
		for _, spread := range capSpreads {
			b.Run(spread.name, func(b *testing.B) { runCapped(b, db, items, ids, keys, spread, outside) })
		}
	})
}

// warmTenants calls every tenant once, so the registry holds every mapping
// and the timed calls read no catalog.
func warmTenants(b *testing.B, items *tenantmap.Table[Item], ids []string, keys [][]int64, hint string) {
	b.Helper()
	for i, id := range ids {
		it, err := items.Get(tenantmap.WithTenant(context.Background(), id), keys[i][0])
		if err == nil {
			err = checkItem(it, id, keys[i][0])
		}
		if err != nil {
			b.Fatalf("%v%s", err, hint)
		}
	}
}

// capOutside counts the connections to tenant databases from outside
// tenantmap.
type capOutside struct {
	what   string
	count  func() (int, error) // nil: no count
	during bool                // exact while calls run, not only after
	metric string              // the most counted, reported under this unit
}

// runCapped measures Get spread over every tenant while a sampler checks,
// every 20 ms and after the run, that no more than capMaxConns connections
// are open: by db's own count and by outside's (during the run too if it
// is exact then).
func runCapped(b *testing.B, db *tenantmap.DB, items *tenantmap.Table[Item], ids []string, keys [][]int64, spread capSpread, outside capOutside) {
	b.ReportAllocs()
	ctxs := make([]context.Context, len(ids))
	for i, id := range ids {
		ctxs[i] = tenantmap.WithTenant(context.Background(), id)
	}
	var maxClient, maxOpen, overs atomic.Int64
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }
	check := func(final bool) {
		st := db.TenantConnStats()
		if st.Max != capMaxConns {
			fail(fmt.Errorf("TenantConnStats().Max = %d, want %d", st.Max, capMaxConns))
		}
		if int64(st.Open) > maxClient.Load() {
			maxClient.Store(int64(st.Open))
		}
		if st.Open > capMaxConns {
			fail(fmt.Errorf("TenantConnStats().Open = %d, over the cap %d", st.Open, capMaxConns))
		}
		if outside.count == nil || !final && !outside.during {
			return
		}
		n, err := outside.count()
		if err != nil {
			fail(err)
			return
		}
		if int64(n) > maxOpen.Load() {
			maxOpen.Store(int64(n))
		}
		if n <= capMaxConns {
			return
		}
		// The server process of a connection the client has closed ends a
		// moment later (pgx sends Terminate and does not wait), so a count
		// taken as connections are replaced can include one still exiting:
		// only a count that stays over the cap for 100 ms fails.
		overs.Add(1)
		for range 5 {
			time.Sleep(20 * time.Millisecond)
			if n, err = outside.count(); err != nil || n <= capMaxConns {
				return
			}
		}
		fail(fmt.Errorf("%d connections open to tenant databases (%s) for 100 ms, over the cap %d", n, outside.what, capMaxConns))
	}
	before := db.TenantConnStats()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				check(false)
			}
		}
	}()
	var seed atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := seed.Add(1)
		rng := rand.New(rand.NewPCG(s, 5))
		pick := spread.pick(rand.New(rand.NewPCG(s, 6)))
		for pb.Next() {
			t, r := pick(), rng.IntN(benchRows)
			it, err := items.Get(ctxs[t], keys[t][r])
			if err == nil {
				err = checkItem(it, ids[t], keys[t][r])
			}
			if err != nil {
				fail(err)
				return
			}
		}
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
	check(true)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	after := db.TenantConnStats()
	n := float64(b.N)
	b.ReportMetric(float64(after.Dials-before.Dials)/n, "dials/op")
	b.ReportMetric(float64(after.Evictions-before.Evictions)/n, "evictions/op")
	b.ReportMetric(float64(after.Waits-before.Waits)/n, "waits/op")
	b.ReportMetric(float64(maxClient.Load()), "max-open")
	if outside.count != nil {
		b.ReportMetric(float64(maxOpen.Load()), outside.metric)
	}
	if outside.during {
		b.ReportMetric(float64(overs.Load()), "over-samples")
	}
}
