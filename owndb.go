package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// ErrPermissionDenied: the database server refused to make or drop what a
// tenant needs (CREATE DATABASE without the CREATEDB privilege, say).
// Nothing is left behind.
var ErrPermissionDenied = errors.New("tenantmap: permission denied")

// openTenantConns prepares the connections to tenants' own databases
// (DatabasePerTenant on PostgreSQL and SQLite). None is opened until a
// call needs one.
func (db *DB) openTenantConns() error {
	switch db.cfg.Driver {
	case "postgres":
		base := db.pgConnConfig
		db.tenantDBs = newTenantConns(db.cfg.TenantMaxConns, func(ctx context.Context, name string) (*tenantConn, error) {
			cc := base.Copy()
			cc.Database = name
			conn, err := pgx.ConnectConfig(ctx, cc)
			if err != nil {
				return nil, err
			}
			return &tenantConn{
				database: name,
				be:       &pgxBackend{q: conn, conn: conn},
				// A connection closed by the server, or left inside a
				// transaction by a failed call, is not given to another.
				broken: func() bool { return conn.IsClosed() || conn.PgConn().TxStatus() != 'I' },
			}, nil
		})
	case "sqlite":
		dir := db.cfg.TenantDir
		if dir == "" {
			main, _, _ := strings.Cut(db.cfg.DSN, "?")
			if main != ":memory:" && main != "" {
				dir = filepath.Join(filepath.Dir(main), strings.TrimSuffix(filepath.Base(main), filepath.Ext(main))+"_tenants")
			}
		}
		db.tenantDir = dir
		db.tenantDBs = newTenantConns(db.cfg.TenantMaxConns, func(ctx context.Context, name string) (*tenantConn, error) {
			// mode=rw: a call never creates a tenant's file; Create does.
			file := db.tenantFile(name)
			fi, err := os.Stat(file)
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: its database %s is gone (dropped)", ErrTenantNotFound, file)
			}
			if err != nil {
				return nil, err
			}
			sdb, err := openSQLite(&Config{DSN: file + "?mode=rw", MaxConns: 1})
			if err != nil {
				return nil, err
			}
			if err := sdb.PingContext(ctx); err != nil {
				sdb.Close()
				return nil, fmt.Errorf("opening tenant database %s: %w", db.tenantFile(name), err)
			}
			cache := 0
			if db.cfg.StatementCacheSize >= 0 {
				cache = OwnDatabaseStatementCacheSize
			}
			// Another process may drop the tenant and make a new one of
			// its id: a connection still on the old (unlinked) file is
			// stale, and is closed instead of used (issue 12 item 4).
			stale := func() bool {
				now, err := os.Stat(file)
				return err != nil || !os.SameFile(fi, now)
			}
			return &tenantConn{database: name, be: newSQLBackend(sdb, cache), stale: stale}, nil
		})
	}
	return nil
}

// tenantFile is the file of a tenant's own SQLite database.
func (db *DB) tenantFile(name string) string { return filepath.Join(db.tenantDir, name+".db") }

// buildHome is the registry's miss path for a tenant's home: the database
// of its own, if Create gave it one ("" if not).
func (db *DB) buildHome(ctx context.Context, tenant string) (*mapping, error) {
	var q querier = db.be
	if tx := txFrom(ctx, db); tx != nil && tx.database == "" {
		q = tx.be
	}
	if _, err := db.cat.usable(ctx, q, tenant); err != nil {
		return nil, err
	}
	ps, err := db.cat.placements(ctx, q, tenant)
	if err != nil {
		return nil, err
	}
	home := &mapping{model: db.home.model, tenant: tenant}
	for _, p := range ps {
		if p.database != "" {
			home.database = p.database
			break
		}
	}
	return home, nil
}

// homeDatabase returns the tenant's own database, "" if it has none (or
// the dialect reaches every database over one pool).
func (db *DB) homeDatabase(ctx context.Context, tenant string) (string, error) {
	mp, err := db.mapping(ctx, db.home, tenant)
	if err != nil {
		return "", err
	}
	return mp.database, nil
}

// ownsDatabase checks that the catalog records database as the tenant's.
func (c *catalog) ownsDatabase(ctx context.Context, q querier, tenant, database string) error {
	objs, err := c.objects(ctx, q, tenant)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.kind == "database" && o.name == database {
			return nil
		}
	}
	return fmt.Errorf("%w: tenant %q has no database %q of its own; a tenant gets one when Create runs with a DatabasePerTenant model registered", ErrNameConflict, tenant, database)
}

// createDatabase makes a tenant's own database: CREATE DATABASE on
// PostgreSQL (never inside a transaction), a new file on SQLite. A name
// that exists already is ErrNameConflict, and is left alone.
func (db *DB) createDatabase(ctx context.Context, name string) error {
	if db.dialect.Features()&dialect.Schemas == 0 { // SQLite
		if db.tenantDir == "" {
			return fmt.Errorf("%w: DatabasePerTenant on SQLite needs Config.TenantDir for a database in memory", ErrInvalidModel)
		}
		if err := os.MkdirAll(db.tenantDir, 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(db.tenantFile(name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: the file %s exists already", ErrNameConflict, db.tenantFile(name))
		}
		if err != nil {
			return err
		}
		return f.Close()
	}
	_, err := db.be.exec(ctx, "CREATE DATABASE "+dialect.Quote(db.dialect, name))
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "42P04": // duplicate_database
			return fmt.Errorf("%w: database %q exists already", ErrNameConflict, name)
		case "42501": // insufficient_privilege
			return fmt.Errorf("%w: the server refused CREATE DATABASE %q (the role needs CREATEDB): %w", ErrPermissionDenied, name, err)
		}
	}
	return err
}

// dropDatabase removes a tenant's own database, closing the connections to
// it first. It is not an error if it is gone already.
func (db *DB) dropDatabase(ctx context.Context, name string) error {
	db.tenantDBs.closeDatabase(name)
	if db.dialect.Features()&dialect.Schemas == 0 { // SQLite
		var errs []error
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(db.tenantFile(name) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	// WITH (FORCE) ends other sessions on it (PostgreSQL 13+): a tenant
	// being dropped has no calls worth finishing.
	_, err := db.be.exec(ctx, "DROP DATABASE IF EXISTS "+dialect.Quote(db.dialect, name)+" WITH (FORCE)")
	return err
}

// provisionOwnDatabase provisions a tenant that has a database of its own.
// CREATE DATABASE cannot run in a transaction, so it goes in three steps,
// each undone if a later one fails: the catalog records and the tenant's
// objects in the DB's own database, in one transaction; the database; its
// tables, in one transaction on it. On failure nothing of the tenant is
// left, and a database that existed before is never dropped.
func (db *DB) provisionOwnDatabase(ctx context.Context, insertTenant func(querier) error, prov provision, id string) error {
	if err := db.provisionInTx(ctx, insertTenant, prov, id); err != nil {
		return err
	}
	cleanup := context.WithoutCancel(ctx)
	if err := db.createDatabase(ctx, prov.database); err != nil {
		// Cut short by the context, CREATE DATABASE may still have run on
		// the server: the database is this Create's, and goes too.
		return errors.Join(err, db.undoTenant(cleanup, id, ctx.Err() != nil && !errors.Is(err, ErrNameConflict)))
	}
	err := inTx(ctx, db.backendFor(id, prov.database), func(tx querier) error {
		for _, s := range prov.dbStmts {
			if _, err := tx.exec(ctx, s); err != nil {
				return ddlError(err, s)
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(err, db.undoTenant(cleanup, id, true))
	}
	return nil
}

// undoTenant removes a tenant whose provisioning failed: its database if
// this Create made it, then what the catalog records.
func (db *DB) undoTenant(ctx context.Context, id string, dropDatabases bool) error {
	err := db.Tenants().drop(ctx, id, ConfirmDrop(id), dropDatabases)
	if err != nil {
		return fmt.Errorf("undoing the tenant (drop it to finish): %w", err)
	}
	return nil
}
