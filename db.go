package tenantmap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap/dialect"
	mysqldialect "github.com/tenantmap/tenantmap/dialect/mysql"
	"github.com/tenantmap/tenantmap/dialect/postgres"
	"github.com/tenantmap/tenantmap/dialect/sqlite"
	_ "modernc.org/sqlite" // the embedded default: pure Go, no C compiler
)

// ErrInvalidURL: a database URL names no supported database or cannot be parsed.
var ErrInvalidURL = errors.New("tenantmap: invalid database URL")

// Config says how to open a DB. Build one with ParseConfig, change what you
// need, and pass it to OpenConfig.
type Config struct {
	// Driver is "sqlite", "postgres" or "mysql" (MySQL and MariaDB).
	Driver string
	// DSN is the driver's connection string: a pgx URL or key/value string,
	// or a modernc.org/sqlite file name with its query parameters.
	DSN string
	// Schema holds the catalog and, for TablePerTenant, the tenants' tables
	// (PostgreSQL; "public" by default). Ignored on SQLite.
	Schema string
	// RegistrySize bounds the number of cached mappings (DefaultRegistrySize
	// if 0).
	RegistrySize int
	// MaxConns caps the pool's connections (0: the driver's default; pgx uses
	// max(4, cores), SQLite 4).
	MaxConns int

	// StatementCacheSize is, on PostgreSQL, the number of prepared statements
	// each connection keeps (pgx's default is 512). Every tenant has its own
	// SQL text, so the working set is tenants × statements; see
	// docs/benchmarks.md for the figures behind the default of
	// DefaultStatementCacheSize.
	//
	// 0 means DefaultStatementCacheSize; negative means none (every
	// statement is prepared unnamed on each call).
	//
	// On SQLite and MySQL it is the number of prepared statements the DB
	// keeps, each prepared on a connection the first time it runs there
	// (0: DefaultSQLiteStatementCacheSize or DefaultMySQLStatementCacheSize;
	// negative: none, every call prepares and closes its statement). A
	// tenant's own SQLite database keeps up to OwnDatabaseStatementCacheSize.
	// On MySQL the server counts every connection's statements against
	// max_prepared_stmt_count (16,382 by default, for all clients): the
	// size times the pool's connections, per process, must fit.
	StatementCacheSize int
	// DisableGenericPlans leaves PostgreSQL's plan_cache_mode alone. By
	// default tenantmap sets plan_cache_mode=force_generic_plan on the
	// connections it opens: with many tenants each prepared statement runs
	// too few times on one connection to earn PostgreSQL's generic plan, so
	// every lookup would be planned anew; forcing generic plans makes key
	// lookups cheap again. It is a per-connection constant, not tenant state.
	// A generic plan can be worse for filters on skewed data: measure, and
	// set this for query-heavy loads where it is.
	DisableGenericPlans bool
	// DisableTenantAffinity keeps one PostgreSQL pool for every tenant. By
	// default every tenant has a home connection: the pool is split into
	// MaxConns single-connection pools and a tenant's calls use its home one
	// unless it is busy. Each server backend then holds the prepared
	// statements and catalog caches of about 1/MaxConns of the tenants; see
	// docs/benchmarks.md for what it saves.
	DisableTenantAffinity bool
	// TransactionPooler says the PostgreSQL server is reached through a
	// transaction-pooling proxy such as PgBouncer, where consecutive
	// statements of one client may run on different server sessions. Named
	// prepared statements are not used then (each statement is sent as an
	// unnamed one, with its description cached on the client), generic plans
	// are not requested, and tenant affinity is off. tenantmap keeps no
	// session state, so nothing else changes. The URL parameter
	// transaction_pooler=true (PoolerParam) sets it.
	TransactionPooler bool
	// RowLevelSecurity puts a PostgreSQL row-level security policy on every
	// shared table (SharedTable) as a second wall behind the tenant filter
	// tenantmap writes into each statement: the policy shows and accepts only
	// rows of the tenant in RowSecuritySetting, which tenantmap sets for each
	// statement or transaction, in the same round trip. Raw statements then
	// see only the tenant's rows even without a filter. PostgreSQL applies no
	// policy to a superuser or a BYPASSRLS role, so opening as one is an
	// ErrRowSecurity. Bulk inserts use multi-row INSERT instead of COPY, which
	// PostgreSQL refuses under row-level security. The policy guards against
	// a forgotten filter, not against raw SQL that changes the setting itself.
	RowLevelSecurity bool
	// TenantMaxConns caps the connections open at once to tenants' own
	// databases (DatabasePerTenant on PostgreSQL and SQLite), all tenants
	// together; DefaultTenantMaxConns if 0. The DB's own pool (the catalog,
	// and every other strategy) is capped by MaxConns. As with any pool, a
	// goroutine that holds connections (rows it has not closed, a
	// transaction) and asks for one more can wait for itself when the cap is
	// reached: keep the cap above the connections one goroutine holds.
	// The server may count a closed connection a moment longer than the
	// client does: leave max_connections a little headroom above the cap.
	TenantMaxConns int
	// TenantDir is the directory of the tenants' database files for
	// DatabasePerTenant on SQLite; by default the main file's name without
	// its extension + "_tenants", beside it (app.db: app_tenants/).
	TenantDir string

	// CreateCatalog lets OpenConfig create the catalog tables, or upgrade
	// those an earlier release made. Without it Open changes nothing in the
	// database (on SQLite it does not create the file): a database without
	// a catalog is ErrNoCatalog, an outdated one ErrCatalogOutdated. Set it
	// where the application provisions (the first start, `tenantctl
	// init`, `tenantctl tenants create`), not in read-only tools.
	CreateCatalog bool

	// Watch is how the DB learns of changes other processes make to
	// tenants — a migration, a custom field, a suspension, a drop — and
	// drops their stale mappings: by default LISTEN/NOTIFY on PostgreSQL,
	// a poll of the catalog's change log elsewhere (see WatchMode).
	Watch WatchMode
	// PollInterval is how often WatchPoll reads the change log
	// (DefaultPollInterval if 0).
	PollInterval time.Duration

	pool *pgxpool.Pool // handed in by OpenPool
}

// statementsPerMapping is how many prepared statements a mapping in use
// may put in a connection's cache: get, insert, update, delete, and the
// selects, counts and exists of queries.
const statementsPerMapping = 7

// DefaultStatementCacheSize is the number of prepared statements each
// PostgreSQL connection keeps unless Config.StatementCacheSize says otherwise.
// With TenantAffinity a connection serves about 1/MaxConns of the tenants,
// three or four hot statements each: 8192 holds 10,000 tenants on 4
// connections.
const DefaultStatementCacheSize = 8192

// The statements a DB keeps on SQLite and MySQL unless
// Config.StatementCacheSize says otherwise, and those each tenant's own
// SQLite database keeps. A statement kept saves SQLite parsing and planning
// its text on every call, and MySQL two of its three messages; see
// docs/benchmarks.md.
const (
	DefaultSQLiteStatementCacheSize = 1024
	DefaultMySQLStatementCacheSize  = 256
	OwnDatabaseStatementCacheSize   = 32
)

// sqlStatementCacheSize is the statement cache's size for a database/sql
// pool: 0 when off.
func (c *Config) sqlStatementCacheSize(def int) int {
	switch {
	case c.StatementCacheSize < 0:
		return 0
	case c.StatementCacheSize == 0:
		return def
	}
	return c.StatementCacheSize
}

// pgStatementCacheSize is the statements each PostgreSQL connection keeps.
func (c *Config) pgStatementCacheSize() int {
	if c.StatementCacheSize == 0 {
		return DefaultStatementCacheSize
	}
	return max(c.StatementCacheSize, 0)
}

// ParseConfig parses a database URL into a Config. A Config's zero value
// for every field but Driver and DSN is the documented default, so a Config
// built by hand, or OpenPool's nil, behaves as a parsed one does.
//
// The URL forms:
//
//	sqlite:app.db            a SQLite file (created if missing)
//	sqlite:/abs/path/app.db  idem, absolute
//	postgres://user@host:5432/db?sslmode=disable  (or postgresql://, or pgx's key=value form after "postgres:")
//	postgres://user@host:6432/db?transaction_pooler=true  through PgBouncer in transaction mode (Config.TransactionPooler)
//	mysql://user:password@host:3306/db             (or mariadb://; go-sql-driver/mysql parameters in the query)
func ParseConfig(rawURL string) (*Config, error) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || !validName(scheme, 20) {
		// The input is not echoed: a key=value DSN may hold a password.
		return nil, fmt.Errorf("%w: no scheme; want sqlite:FILE or postgres://…", ErrInvalidURL)
	}
	switch scheme {
	case "sqlite", "sqlite3", "file":
		path := strings.TrimPrefix(rest, "//")
		if path == "" || strings.HasPrefix(path, "?") {
			return nil, fmt.Errorf("%w: %q names no file", ErrInvalidURL, rawURL)
		}
		return &Config{Driver: "sqlite", DSN: path}, nil
	case "postgres", "postgresql":
		dsn, pooler := rawURL, false
		if !strings.HasPrefix(rest, "//") {
			dsn = rest // key=value form
		} else {
			var err error
			if dsn, pooler, err = takePoolerParam(dsn); err != nil {
				return nil, err
			}
		}
		if _, err := pgxpool.ParseConfig(dsn); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
		return &Config{Driver: "postgres", DSN: dsn, TransactionPooler: pooler}, nil
	case "mysql", "mariadb":
		dsn, err := mysqlDSN(rawURL)
		if err != nil {
			return nil, err
		}
		return &Config{Driver: "mysql", DSN: dsn}, nil
	}
	return nil, fmt.Errorf("%w: unknown scheme %q (sqlite, postgres or mysql)", ErrInvalidURL, scheme)
}

// mysqlDSN turns mysql://user:password@host:port/database?params into
// go-sql-driver/mysql's DSN, with the settings tenantmap relies on: times
// parsed into time.Time in UTC, UPDATE counting matched rather than changed
// rows (so an update to identical values is not "not found"), and one
// statement per call.
func mysqlDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%w: cannot parse the mysql URL", ErrInvalidURL)
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1:3306"
	} else if u.Port() == "" {
		host += ":3306"
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return "", fmt.Errorf("%w: the mysql URL names no database (mysql://user@host:3306/DATABASE)", ErrInvalidURL)
	}
	c, err := mysql.ParseDSN("tcp(" + host + ")/" + db + "?" + u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.ParseTime, c.Loc, c.ClientFoundRows, c.MultiStatements, c.InterpolateParams = true, time.UTC, true, false, false
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Params["time_zone"] = "'+00:00'"
	return c.FormatDSN(), nil
}

// DB is a handle on one database for many tenants. It is safe for
// concurrent use; open one per process and share it.
type DB struct {
	cfg     Config
	dialect dialect.Dialect
	be      backend
	shards  *affinePools // nil when tenant affinity is off
	reg     *Registry
	cat     *catalog

	sharedReady  sync.Map        // quoted shared tables known to exist
	tenantDBs    *tenantConns    // connections to tenants' own databases (PostgreSQL, SQLite)
	tenantDir    string          // SQLite: where tenants' database files are
	pgConnConfig *pgx.ConnConfig // PostgreSQL: how to connect, for tenants' own databases
	home         *binding        // registry key of a tenant's own database, if it has one

	migs atomic.Pointer[migrationSet] // SetMigrations

	watch     *watcher // nil with WatchOff
	watchMode WatchMode

	mu       sync.RWMutex
	bindings []*binding
	byName   map[string]*binding
	closed   atomic.Bool
}

// binding is a model registered on a DB with its strategy.
type binding struct {
	id       uint64 // distinct per registration; mixed into the registry's hash
	model    *Model
	strategy Strategy
}

var bindingIDs atomic.Uint64

// Open opens the database the URL names; see ParseConfig for the forms.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	cfg, err := ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg)
}

// OpenPool opens a DB on a pgx pool the caller made and keeps owning: Close
// does not close it. cfg may be nil.
func OpenPool(ctx context.Context, pool *pgxpool.Pool, cfg *Config) (*DB, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.Driver, c.pool = "postgres", pool
	return OpenConfig(ctx, &c)
}

// OpenConfig opens a DB as cfg says and checks that the server answers.
func OpenConfig(ctx context.Context, cfg *Config) (*DB, error) {
	db := &DB{cfg: *cfg, byName: map[string]*binding{}}
	db.home = &binding{id: bindingIDs.Add(1), model: &Model{}}
	switch cfg.Driver {
	case "sqlite":
		db.dialect = sqlite.Dialect{}
		db.cfg.Schema = ""
		if name, missing := sqliteFileMissing(cfg.DSN); missing && !cfg.CreateCatalog {
			return nil, opError("open", "", "", fmt.Errorf("%w: %s does not exist", ErrNoCatalog, name))
		}
		sdb, err := openSQLite(cfg)
		if err != nil {
			return nil, err
		}
		db.be = newSQLBackend(sdb, cfg.sqlStatementCacheSize(DefaultSQLiteStatementCacheSize))
	case "postgres":
		db.dialect = postgres.Dialect{}
		if db.cfg.Schema == "" {
			db.cfg.Schema = "public"
		}
		if !validName(db.cfg.Schema, 63) {
			return nil, fmt.Errorf("%w: schema %q", ErrInvalidURL, db.cfg.Schema)
		}
		be := &pgxBackend{pool: cfg.pool}
		if be.pool != nil {
			db.pgConnConfig = be.pool.Config().ConnConfig
		}
		if be.pool == nil {
			pc, err := pgxpool.ParseConfig(cfg.DSN)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
			}
			switch {
			case cfg.TransactionPooler:
				pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
				pc.ConnConfig.StatementCacheCapacity = 0
				pc.ConnConfig.DescriptionCacheCapacity = max(cfg.StatementCacheSize, DefaultStatementCacheSize)
			case cfg.StatementCacheSize < 0:
				pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
				pc.ConnConfig.StatementCacheCapacity = 0
			default:
				pc.ConnConfig.StatementCacheCapacity = cfg.pgStatementCacheSize()
			}
			if !cfg.DisableGenericPlans && !cfg.TransactionPooler {
				pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
			}
			if cfg.MaxConns > 0 {
				pc.MaxConns = int32(cfg.MaxConns)
			}
			db.pgConnConfig = pc.ConnConfig
			if !cfg.DisableTenantAffinity && !cfg.TransactionPooler && pc.MaxConns > 1 {
				db.shards, err = newAffinePools(ctx, pc, int(pc.MaxConns))
				if err != nil {
					return nil, opError("open", "", "", err)
				}
				db.be = db.shards
				break
			}
			be.pool, err = pgxpool.NewWithConfig(ctx, pc)
			if err != nil {
				return nil, opError("open", "", "", err)
			}
			be.own = true
		}
		be.q = be.pool
		db.be = be
	case "mysql":
		db.cfg.Schema = ""
		mc, err := mysql.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
		base, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
		// A statement whose context ends is stopped on the server too
		// (mysqlkill.go).
		sdb := sql.OpenDB(&killConnector{base: base})
		// Idle connections are kept (database/sql keeps 2 by default): a
		// closed one loses its prepared statements, and a new one costs a
		// handshake.
		if cfg.MaxConns > 0 {
			sdb.SetMaxOpenConns(cfg.MaxConns)
			sdb.SetMaxIdleConns(cfg.MaxConns)
		} else {
			sdb.SetMaxIdleConns(4)
		}
		db.be = newSQLBackend(sdb, cfg.sqlStatementCacheSize(DefaultMySQLStatementCacheSize))
		var version, mode string
		if err := sdb.QueryRowContext(ctx, "SELECT VERSION(), @@SESSION.sql_mode").Scan(&version, &mode); err != nil {
			sdb.Close()
			return nil, opError("open", "", "", err)
		}
		d := mysqldialect.New(version)
		d.NoBackslashEscapes = strings.Contains(mode, "NO_BACKSLASH_ESCAPES")
		db.dialect = d
	default:
		return nil, fmt.Errorf("%w: unknown driver %q", ErrInvalidURL, cfg.Driver)
	}
	if err := db.openTenantConns(); err != nil {
		db.be.close()
		return nil, err
	}
	db.reg = newRegistry(cfg.RegistrySize, db.buildMapping)
	if db.shards != nil {
		// Homes pay once the working set (statements of the mappings in
		// use) overflows one connection's cache.
		cache := int64(db.cfg.pgStatementCacheSize())
		db.shards.compact = func() bool { return db.reg.size.Load()*statementsPerMapping <= cache }
	}
	db.cat = newCatalog(db.dialect, db.cfg.Schema)
	if err := db.ping(ctx); err != nil {
		db.be.close()
		return nil, opError("open", "", "", poolerHint(err))
	}
	if err := db.checkRowSecurity(ctx); err != nil {
		db.be.close()
		return nil, opError("open", "", "", err)
	}
	// The catalog is made now, not lazily inside a caller's transaction,
	// where making it would need a second connection; or, unless asked,
	// only checked.
	ensure := db.cat.check
	if cfg.CreateCatalog {
		ensure = db.cat.ensure
	}
	if err := ensure(ctx, db.be); err != nil {
		db.be.close()
		return nil, opError("open", "", "", poolerHint(err))
	}
	if err := db.ensureRowSecurity(ctx); err != nil {
		db.be.close()
		return nil, opError("open", "", "", err)
	}
	if cfg.CreateCatalog {
		if err := db.ensureFences(ctx); err != nil {
			db.be.close()
			return nil, opError("open", "", "", err)
		}
	}
	if err := db.startWatch(ctx); err != nil {
		db.be.close()
		return nil, opError("open", "", "", err)
	}
	return db, nil
}

func openSQLite(cfg *Config) (*sql.DB, error) {
	name, query, _ := strings.Cut(cfg.DSN, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	// WAL lets readers run beside the writer; the busy timeout makes a
	// writer wait for the lock instead of failing; immediate transactions
	// take the write lock at BEGIN, so two transactions never deadlock
	// upgrading read locks.
	pragmas := params["_pragma"]
	if !hasPragma(pragmas, "busy_timeout") {
		pragmas = append(pragmas, "busy_timeout(10000)")
	}
	if !hasPragma(pragmas, "journal_mode") && name != ":memory:" {
		pragmas = append(pragmas, "journal_mode(WAL)")
	}
	if !hasPragma(pragmas, "synchronous") {
		pragmas = append(pragmas, "synchronous(NORMAL)")
	}
	if !hasPragma(pragmas, "foreign_keys") {
		pragmas = append(pragmas, "foreign_keys(1)")
	}
	params["_pragma"] = pragmas
	if params.Get("_txlock") == "" {
		params.Set("_txlock", "immediate")
	}
	if params.Get("_time_format") == "" {
		params.Set("_time_format", "sqlite")
	}
	sdb, err := sql.Open("sqlite", "file:"+name+"?"+params.Encode())
	if err != nil {
		return nil, err
	}
	switch {
	case name == ":memory:":
		sdb.SetMaxOpenConns(1) // each connection would get its own empty database
	case cfg.MaxConns > 0:
		sdb.SetMaxOpenConns(cfg.MaxConns)
	default:
		sdb.SetMaxOpenConns(4)
	}
	sdb.SetMaxIdleConns(4)
	return sdb, nil
}

func hasPragma(pragmas []string, name string) bool {
	for _, p := range pragmas {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), name) {
			return true
		}
	}
	return false
}

func (db *DB) ping(ctx context.Context) error {
	var one int
	return db.be.queryRow(ctx, "SELECT 1").Scan(&one)
}

// Close closes the DB's pool (not one handed to OpenPool).
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if db.watch != nil {
		db.watch.stop()
	}
	if db.tenantDBs != nil {
		db.tenantDBs.close()
	}
	db.be.close()
	return nil
}

// Dialect returns the DB's SQL dialect.
func (db *DB) Dialect() dialect.Dialect { return db.dialect }

// Registry returns the DB's cache of mappings: its counters and invalidation.
func (db *DB) Registry() *Registry { return db.reg }

// ModelOption changes how Register compiles a model.
type ModelOption func(*modelOptions)

type modelOptions struct{ name string }

// ModelName sets the model's name (default: the struct's name in
// snake_case). It names the table and the raw-SQL token {name}.
func ModelName(name string) ModelOption { return func(o *modelOptions) { o.name = name } }

// Register compiles T into a model, binds it to db with strategy s and
// returns its table. Every problem with T is reported at once. Register a
// model before creating the tenants that use it: Create provisions the
// tables of the models registered at that time.
func Register[T any](db *DB, s Strategy, opts ...ModelOption) (*Table[T], error) {
	var o modelOptions
	for _, opt := range opts {
		opt(&o)
	}
	m, err := compileModel(reflect.TypeFor[T](), o.name)
	if err != nil {
		return nil, err
	}
	b, err := db.register(m, s)
	if err != nil {
		return nil, err
	}
	return &Table[T]{db: db, b: b}, nil
}

// RegisterModel registers a model defined at run time (NewModel) on db:
// its table, of Records, has the same calls as a struct model's.
func RegisterModel(db *DB, m *Model, s Strategy) (*Table[Record], error) {
	if m == nil || !m.dynamic || m.base != nil {
		return nil, fmt.Errorf("%w: RegisterModel takes a model made by NewModel; register a struct with Register", ErrInvalidModel)
	}
	b, err := db.register(m, s)
	if err != nil {
		return nil, err
	}
	return &Table[Record]{db: db, b: b}, nil
}

func (db *DB) register(m *Model, s Strategy) (*binding, error) {
	s, err := s.resolve(m, db.dialect)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.name, err)
	}
	b := &binding{id: bindingIDs.Add(1), model: m, strategy: s}
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, dup := db.byName[m.name]; dup {
		return nil, fmt.Errorf("%w: a model named %q is already registered", ErrInvalidModel, m.name)
	}
	db.byName[m.name] = b
	db.bindings = append(db.bindings, b)
	return b, nil
}

func (db *DB) snapshotBindings() []*binding {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return append([]*binding(nil), db.bindings...)
}

func (db *DB) bindingNamed(name string) *binding {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.byName[name]
}

// tenantOf returns the tenant a call is for: explicit if set (and then the
// context must carry no other), else the context's.
func tenantOf(ctx context.Context, explicit string) (string, error) {
	id, ok := TenantFrom(ctx)
	switch {
	case explicit != "" && ok && id != explicit:
		return "", fmt.Errorf("%w: the call names %q, its context carries %q", ErrTenantMismatch, explicit, id)
	case explicit != "":
		return explicit, nil
	case !ok:
		return "", ErrNoTenant
	}
	return id, nil
}

// backendFor returns the connections a tenant's calls on database use:
// connections to its own database if it has one; else its home connection
// under TenantAffinity, or the pool; under row-level security wrapped so
// that each statement sets the tenant.
func (db *DB) backendFor(tenant, database string) backend {
	if database != "" {
		return &tenantDB{set: db.tenantDBs, database: database}
	}
	if db.shards != nil {
		return db.withTenantSetting(db.shards.forTenant(tenant), tenant)
	}
	return db.withTenantSetting(db.be, tenant)
}

// sharedBackend is where a tenant's statements on shared tables run. One
// statement text serves every tenant of a shared table, so a home
// connection saves no prepared statement; the first idle connection, whose
// server process ran last and is still warm, serves the call soonest.
func (db *DB) sharedBackend(tenant string) backend {
	if db.shards != nil {
		return db.withTenantSetting(db.shards.first(), tenant)
	}
	return db.withTenantSetting(db.be, tenant)
}

// poolFor returns the DB's own connections for a tenant's statements that
// gain nothing from its home connection (migrations: DDL is never
// prepared), under row-level security wrapped so that each statement sets
// the tenant.
func (db *DB) poolFor(tenant string) backend { return db.withTenantSetting(db.be, tenant) }

// withTenantSetting wraps be, under row-level security, so that each
// statement sets the tenant; be as it is otherwise.
func (db *DB) withTenantSetting(be backend, tenant string) backend {
	if db.cfg.RowLevelSecurity {
		return &rlsBackend{inner: be, tenant: tenant}
	}
	return be
}

// mapping returns the tenant's mapping of b, from the registry.
func (db *DB) mapping(ctx context.Context, b *binding, tenant string) (*mapping, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	// Inside a transaction the build reads the catalog on the transaction's
	// connection (or, on a tenant's own database, on the DB's pool): never
	// wait for another goroutine's build, which may need the connection
	// this transaction holds (issue 12: a deadlock in the registry).
	return db.reg.lookup(ctx, registryKey{binding: b, tenant: tenant}, txFrom(ctx, db) != nil)
}

// buildMapping is the registry's miss path: validate the id, read the
// tenant's placement from the catalog, render the SQL.
func (db *DB) buildMapping(ctx context.Context, k registryKey) (*mapping, error) {
	if err := ValidateTenantID(k.tenant); err != nil {
		return nil, err
	}
	if k.binding == db.home {
		return db.buildHome(ctx, k.tenant)
	}
	// Inside a transaction the catalog is read on the transaction's own
	// connection: taking a second one could wait forever on a pool whose
	// connections are all held by transactions doing the same.
	// A transaction on a tenant's own database has no catalog; the DB's
	// pool is then another set of connections, and safe to wait for.
	var q querier = db.be
	if tx := txFrom(ctx, db); tx != nil && tx.database == "" {
		q = tx.be
	}
	t, err := db.cat.usable(ctx, q, k.tenant)
	if err != nil {
		return nil, err
	}
	mp, _, err := db.resolveMapping(ctx, q, t, k.binding)
	return mp, err
}

// resolveMapping builds tenant t's mapping of model b, reading the catalog
// on q, and reports whether the catalog records its placement. The
// tenant's own placement is as Create recorded it; a model registered
// after the tenant was made falls back to the placement Create was told for
// the tenant, else the model's default strategy, on a name no other tenant
// may own.
func (db *DB) resolveMapping(ctx context.Context, q querier, t tenantRecord, b *binding) (*mapping, bool, error) {
	p, found, err := db.cat.placement(ctx, q, t.ID, b.model.name)
	if err != nil {
		return nil, false, err
	}
	return db.placedMapping(ctx, q, t, b, p, found)
}

// placedMapping builds tenant t's mapping of model b from the placement
// the catalog records (found), or, where it records none, from the
// strategy that places the model for the tenant.
func (db *DB) placedMapping(ctx context.Context, q querier, t tenantRecord, b *binding, p placement, found bool) (*mapping, bool, error) {
	if !found {
		s, err := db.strategyFor(b, t)
		if err != nil {
			return nil, false, err
		}
		p = db.placementOf(s, t.Key, b.model.name)
		if p.database != "" {
			// A database is made by Create only: the tenant must own it.
			if err := db.cat.ownsDatabase(ctx, q, t.ID, p.database); err != nil {
				return nil, false, err
			}
			return db.withOwn(buildMapping(db.dialect, b.model, t.ID, p)), false, nil
		}
		owner := t.ID
		if p.kind == sharedTable {
			owner = ""
		}
		if _, err := db.cat.checkOwner(ctx, q, owner, b.model.name, db.cfg.Schema, p.schema, p.table); err != nil {
			return nil, false, err
		}
	}
	m := b.model
	if p.fields != "" {
		custom, err := parseCustom(p.fields)
		if err != nil {
			return nil, false, err
		}
		if m, err = m.extend(custom, p.kind == sharedTable, db.dialect); err != nil {
			return nil, false, err
		}
	}
	return db.withOwn(buildMapping(db.dialect, m, t.ID, p)), found, nil
}

// withOwn gives a mapping in a tenant's own database the connections to
// it, made once here rather than on every call.
func (db *DB) withOwn(mp *mapping) *mapping {
	if mp.database != "" && db.tenantDBs != nil {
		mp.own = &tenantDB{set: db.tenantDBs, database: mp.database}
	}
	return mp
}

// strategyFor is the strategy that places model b for tenant t where the
// catalog records no placement: the one Create was told for the tenant, or
// the model's own.
func (db *DB) strategyFor(b *binding, t tenantRecord) (Strategy, error) {
	if t.placement == "" {
		return b.strategy, nil
	}
	s, ok := decodeStrategy(t.placement)
	if !ok {
		return Strategy{}, fmt.Errorf("tenantmap: the catalog records an unknown placement %q for tenant %q", t.placement, t.ID)
	}
	return s.resolve(b.model, db.dialect)
}

// placementOf is where strategy s puts a model of the tenant whose key is key.
func (db *DB) placementOf(s Strategy, key, model string) placement {
	schema, table := s.physical(key, model, db.cfg.Schema, db.dialect.MaxIdentifierLength())
	if s.kind == databasePerTenant && db.ownDatabases() {
		// A database of its own, reached on connections of its own; the
		// tables are in its public schema (PostgreSQL) or the file itself.
		p := placement{kind: s.kind, database: schema, table: table}
		if db.dialect.Features()&dialect.Schemas != 0 {
			p.schema = "public"
		}
		return p
	}
	return placement{kind: s.kind, schema: schema, table: table}
}

// ownDatabases reports whether DatabasePerTenant gives tenants databases
// reached on connections of their own (PostgreSQL, SQLite) rather than by
// qualified names over the DB's pool (MySQL).
func (db *DB) ownDatabases() bool { return db.dialect.Features()&dialect.Databases == 0 }
