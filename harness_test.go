package tenantmap_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap"
)

// The servers the tests use. Point them elsewhere with the environment
// variables; set one to "skip" to skip that server's tests.
const (
	envPostgres      = "TENANTMAP_POSTGRES_URL"
	defaultPostgres  = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	envPgBouncer     = "TENANTMAP_PGBOUNCER_URL"
	defaultPgBouncer = "postgres://postgres@127.0.0.1:6432/test?sslmode=disable"
	envMySQL         = "TENANTMAP_MYSQL_URL"
	defaultMySQL     = "mysql://root@127.0.0.1:3306/test"
)

// newMySQLDatabase creates a fresh database on the MySQL/MariaDB server for
// one test, drops it when the test ends, and returns its URL.
func newMySQLDatabase(t testing.TB) string {
	t.Helper()
	u := serverURL(t, envMySQL, defaultMySQL)
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	admin, err := sql.Open("mysql", cfg.DSN)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		t.Fatalf("MySQL/MariaDB is unreachable at %s: %v\n"+
			"Start it, point %s at a server (mysql://user:password@host:3306/db), or set %s=skip to skip these tests.",
			u, err, envMySQL, envMySQL)
	}
	name := "tm_test_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}

// mysqlDBPrefix begins the names of the databases that DatabasePerTenant
// makes in these tests: tenant databases live beside the test's own, on the
// whole server, so the prefix keeps test processes apart and lets each test
// drop what it made.
var mysqlDBPrefix = "tmdb" + randomSuffix()[:6] + "_"

// databaseStrategyDBs maps the MySQL handles whose tenants have databases of
// their own to the prefix of those databases' names, for physicalTables.
var databaseStrategyDBs sync.Map

func mysqlOpenDatabases(t testing.TB) *tenantmap.DB {
	t.Helper()
	db := mysqlOpen(t)
	databaseStrategyDBs.Store(db, mysqlDBPrefix)
	t.Cleanup(func() {
		names := queryStrings(t, db, "SELECT schema_name FROM information_schema.schemata WHERE LEFT(schema_name, ?) = ?", len(mysqlDBPrefix), mysqlDBPrefix)
		for _, n := range names {
			if _, err := tenantmap.AdminExec(context.Background(), db, "DROP DATABASE IF EXISTS `"+n+"`"); err != nil {
				t.Error(err)
			}
		}
	})
	return db
}

func mysqlOpen(t testing.TB) *tenantmap.DB {
	t.Helper()
	u := newMySQLDatabase(t)
	db, err := openCreating(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	rememberConfig(t, db, u, nil)
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresURL(t testing.TB) string {
	t.Helper()
	return serverURL(t, envPostgres, defaultPostgres)
}

// serverURL reads a server's URL from its environment variable, skipping
// the test when the variable says "skip".
func serverURL(t testing.TB, env, def string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "skip" {
		t.Skipf("%s=skip", env)
	}
	if u == "" {
		u = def
	}
	return u
}

// pgAdmin connects to the PostgreSQL server the tests use, failing the test
// with directions when it is unreachable.
func pgAdmin(t testing.TB) (*pgx.Conn, string) {
	t.Helper()
	u := postgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("PostgreSQL is unreachable at %s: %v\n"+
			"Start it, point %s at a server (postgres://user@host:port/db), or set %s=skip to skip these tests.",
			u, err, envPostgres, envPostgres)
	}
	return conn, u
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newPostgresDatabase creates a fresh database for one test and drops it
// when the test ends; it returns the URL of the new database.
func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	conn, u := pgAdmin(t)
	ctx := context.Background()
	defer conn.Close(ctx)
	name := "tm_test_" + randomSuffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	cfg := conn.Config()
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name) + passwordParam(cfg.Password)
}

func passwordParam(p string) string {
	if p == "" {
		return ""
	}
	return "&password=" + p
}

// backend is one database × strategy the conformance suite runs over.
type backend struct {
	name     string
	open     func(t testing.TB) *tenantmap.DB
	strategy func(template string) tenantmap.Strategy
}

// pgbouncerOpen makes a fresh database on the PostgreSQL server and opens it
// through PgBouncer in transaction pooling mode, where every statement may
// land on another server session.
func pgbouncerOpen(t testing.TB) *tenantmap.DB {
	t.Helper()
	bouncer := serverURL(t, envPgBouncer, defaultPgBouncer)
	direct, err := url.Parse(newPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(bouncer)
	if err != nil {
		t.Fatalf("%s: %v", envPgBouncer, err)
	}
	u.Path = direct.Path
	cfg, err := tenantmap.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TransactionPooler = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := openConfigCreating(ctx, cfg)
	if err == nil {
		rememberConfig(t, db, "", cfg)
	}
	if err != nil {
		t.Fatalf("PgBouncer is unreachable at %s: %v\n"+
			"Start it (.ci/run does, from .ci/pgbouncer.ini), point %s at one, or set %s=skip to skip these tests.",
			bouncer, err, envPgBouncer, envPgBouncer)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sqliteFiles maps SQLite handles to their main file, for
// ownDatabaseExists.
var sqliteFiles sync.Map

func sqliteOpen(t testing.TB) *tenantmap.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := openCreating(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	rememberConfig(t, db, "sqlite:"+path, nil)
	sqliteFiles.Store(db, path)
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresOpen(t testing.TB) *tenantmap.DB {
	t.Helper()
	u := newPostgresDatabase(t)
	db, err := openCreating(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	rememberConfig(t, db, u, nil)
	t.Cleanup(func() { db.Close() })
	return db
}

// openConfigs maps each handle the openers made to the configuration that
// opens it, for reopen.
var openConfigs sync.Map

func rememberConfig(t testing.TB, db *tenantmap.DB, u string, cfg *tenantmap.Config) {
	t.Helper()
	if cfg == nil {
		var err error
		if cfg, err = tenantmap.ParseConfig(u); err != nil {
			t.Fatal(err)
		}
	}
	c := *cfg
	openConfigs.Store(db, &c)
}

// reopen opens another handle, with connections of its own, on the
// database db is open on, as a second process would.
func reopen(t testing.TB, db *tenantmap.DB) *tenantmap.DB {
	t.Helper()
	cfg, ok := openConfigs.Load(db)
	if !ok {
		t.Fatal("reopen: the handle was not made by a test opener")
	}
	c := *cfg.(*tenantmap.Config)
	other, err := openConfigCreating(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	openConfigs.Store(other, &c)
	for _, m := range []*sync.Map{&sqliteFiles, &ownDBPrefixes, &databaseStrategyDBs} {
		if v, ok := m.Load(db); ok {
			m.Store(other, v)
		}
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// rlsRole is the PostgreSQL role the row-level security tests connect as:
// neither a superuser nor BYPASSRLS, so the policies apply to it.
const rlsRole = "tenantmap_app"

// postgresRLSOpen makes a fresh database owned by rlsRole and opens it as
// that role with Config.RowLevelSecurity on.
func postgresRLSOpen(t testing.TB) *tenantmap.DB {
	t.Helper()
	u := rlsDatabaseURL(t)
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RowLevelSecurity = true
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rememberConfig(t, db, "", cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// rlsDatabaseURL creates rlsRole if missing and a fresh database it owns,
// and returns the URL that connects to it as rlsRole.
func rlsDatabaseURL(t testing.TB) string {
	t.Helper()
	conn, _ := pgAdmin(t)
	ctx := context.Background()
	defer conn.Close(ctx)
	// Roles are cluster-wide: create it once, tolerating a concurrent test
	// that does the same.
	_, err := conn.Exec(ctx, `DO $$ BEGIN
		CREATE ROLE `+rlsRole+` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`)
	if err != nil {
		t.Fatalf("creating role %s: %v", rlsRole, err)
	}
	u, err := url.Parse(newPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" OWNER TO "+rlsRole); err != nil {
		t.Fatalf("giving %s to %s: %v", name, rlsRole, err)
	}
	u.User = url.User(rlsRole)
	return u.String()
}

// isShared reports whether b keeps every tenant in one table.
func isShared(b backend) bool { return strings.Contains(b.name, "/shared") }

// pgDBPrefix begins the names of the databases DatabasePerTenant makes on
// PostgreSQL in these tests, so each test can drop what it made.
var pgDBPrefix = "tmdb" + randomSuffix()[:6] + "_"

// postgresOpenDatabases opens a fresh PostgreSQL database whose tenants get
// databases of their own, and drops those when the test ends.
func postgresOpenDatabases(t testing.TB) *tenantmap.DB {
	t.Helper()
	db := postgresOpen(t)
	ownDBPrefixes.Store(db, pgDBPrefix)
	dropOwnDatabasesAtCleanup(t, db)
	return db
}

// ownDBPrefixes maps PostgreSQL handles whose tenants have databases of
// their own to the prefix of those databases' names.
var ownDBPrefixes sync.Map

// ownDBName is the name of the database of the tenant whose key is key on
// a handle of postgresOpenDatabases or the PgBouncer equivalent.
func ownDBName(db *tenantmap.DB, key string) string {
	prefix, _ := ownDBPrefixes.Load(db)
	return prefix.(string) + key
}

// dropOwnDatabasesAtCleanup drops, when the test ends, the databases db's
// catalog records for its tenants (and only those: tests run in parallel,
// each with databases of its own).
func dropOwnDatabasesAtCleanup(t testing.TB, db *tenantmap.DB) {
	t.Cleanup(func() {
		names := queryStrings(t, db, "SELECT object_name FROM "+tenantmap.ObjectTable+" WHERE kind = 'database'")
		if len(names) == 0 {
			return
		}
		conn, _ := pgAdmin(t)
		defer conn.Close(context.Background())
		for _, n := range names {
			if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Error(err)
			}
		}
	})
}

// dropPostgresDatabases drops every database whose name begins with prefix.
func dropPostgresDatabases(t testing.TB, prefix string) {
	conn, _ := pgAdmin(t)
	ctx := context.Background()
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		t.Error(err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Error(err)
		return
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	}
}

// isOwnDB reports whether b gives each tenant a database reached on
// connections of its own (PostgreSQL, SQLite).
func isOwnDB(b backend) bool {
	return strings.HasSuffix(b.name, "/database") && b.name != "mysql/database"
}

// ownDatabaseExists reports whether the own database DatabasePerTenant
// gives the tenant whose key is key exists: on PostgreSQL a database named
// pgDBPrefix+key, on SQLite the file key.db in the tenants' directory.
func ownDatabaseExists(t testing.TB, db *tenantmap.DB, key string) bool {
	t.Helper()
	if path, ok := sqliteFiles.Load(db); ok {
		_, err := os.Stat(filepath.Join(strings.TrimSuffix(path.(string), ".db")+"_tenants", key+".db"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	conn, _ := pgAdmin(t)
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", ownDBName(db, key)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func shared(string) tenantmap.Strategy { return tenantmap.SharedTable("") }

var backends = []backend{
	{"sqlite/table", sqliteOpen, tenantmap.TablePerTenant},
	{"postgres/table", postgresOpen, tenantmap.TablePerTenant},
	{"postgres/schema", postgresOpen, func(string) tenantmap.Strategy { return tenantmap.SchemaPerTenant("") }},
	{"pgbouncer/table", pgbouncerOpen, tenantmap.TablePerTenant},
	{"pgbouncer/schema", pgbouncerOpen, func(string) tenantmap.Strategy { return tenantmap.SchemaPerTenant("") }},
	{"mysql/table", mysqlOpen, tenantmap.TablePerTenant},
	{"mysql/database", mysqlOpenDatabases, func(string) tenantmap.Strategy { return tenantmap.DatabasePerTenant(mysqlDBPrefix + "{tenant}") }},
	{"sqlite/database", sqliteOpen, func(string) tenantmap.Strategy { return tenantmap.DatabasePerTenant("") }},
	{"postgres/database", postgresOpenDatabases, func(string) tenantmap.Strategy { return tenantmap.DatabasePerTenant(pgDBPrefix + "{tenant}") }},
	{"pgbouncer/database", func(t testing.TB) *tenantmap.DB {
		db := pgbouncerOpen(t)
		ownDBPrefixes.Store(db, pgDBPrefix+"b_")
		dropOwnDatabasesAtCleanup(t, db)
		return db
	}, func(string) tenantmap.Strategy { return tenantmap.DatabasePerTenant(pgDBPrefix + "b_{tenant}") }},
	{"sqlite/shared", sqliteOpen, shared},
	{"postgres/shared", postgresOpen, shared},
	{"postgres/shared-rls", postgresRLSOpen, shared},
	{"pgbouncer/shared", pgbouncerOpen, shared},
	{"mysql/shared", mysqlOpen, shared},
}

// eachBackend runs fn once per database × strategy, in parallel subtests.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// physicalTables lists the tables a database holds outside the system
// schemas, as schema.table (SQLite: main.table).
func physicalTables(t testing.TB, db *tenantmap.DB) []string {
	t.Helper()
	var q string
	switch db.Dialect().Name() {
	case "postgres":
		q = "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') ORDER BY 1"
	case "mysql":
		q = "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
		if prefix, ok := databaseStrategyDBs.Load(db); ok {
			q = "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_schema = DATABASE() OR LEFT(table_schema, " +
				fmt.Sprint(len(prefix.(string))) + ") = '" + prefix.(string) + "' ORDER BY 1"
		}
	default:
		q = "SELECT 'main.' || name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
	}
	return queryStrings(t, db, q)
}

// queryStrings runs a query of one text column, naming no model, on db's
// own database as no tenant in particular, and returns the values; an
// error fails the test.
func queryStrings(t testing.TB, db *tenantmap.DB, sql string, args ...any) []string {
	t.Helper()
	rows, err := tenantmap.AdminQuery(context.Background(), db, sql, args...)
	return stringRows(t, sql, rows, err)
}

// rawStrings runs a raw query returning one text column through the library.
func rawStrings(t testing.TB, db *tenantmap.DB, ctx context.Context, sql string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(ctx, sql, args...)
	return stringRows(t, sql, rows, err)
}

func stringRows(t testing.TB, sql string, rows *tenantmap.Rows, err error) []string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func mustCreate(t testing.TB, db *tenantmap.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := db.Tenants().Create(context.Background(), id); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
}

func joinLines(ss []string) string { return strings.Join(ss, "\n") }
