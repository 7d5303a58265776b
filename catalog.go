package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// CatalogTable is the name of the control table that lists the tenants.
const CatalogTable = "tenantmap_tenant"

// Tenant is one tenant as the catalog records it.
type Tenant struct {
	ID        string    // the validated tenant id
	Key       string    // the id as used in physical names; shorter than ID when ID would not fit
	Status    string    // "active"
	Version   int64     // placement version; bumped by every change to the tenant's mapping
	CreatedAt time.Time // UTC
}

// catalog renders and runs the control-table statements.
type catalog struct {
	d                                     dialect.Dialect
	createSQL                             string
	getSQL, insertSQL, deleteSQL, listSQL string
	lockSQL                               string // serialises catalog creation across processes, where the database can

	ready atomic.Bool
	mu    sync.Mutex
}

func newCatalog(d dialect.Dialect, schema string) *catalog {
	var qt []byte
	if schema != "" {
		qt = d.AppendIdent(qt, schema)
		qt = append(qt, '.')
	}
	qt = d.AppendIdent(qt, CatalogTable)
	t := string(qt)
	q := func(name string) string { return dialect.Quote(d, name) }
	col := func(name string, k dialect.Kind, size int) string {
		return q(name) + " " + d.ColumnType(dialect.Column{Name: name, Kind: k, Size: size, Indexed: size > 0})
	}
	cols := q("id") + "," + q("tenant_key") + "," + q("status") + "," + q("version") + "," + q("created_at")
	c := &catalog{d: d}
	c.createSQL = "CREATE TABLE IF NOT EXISTS " + t + " (" +
		col("id", dialect.String, MaxTenantIDLength) + " PRIMARY KEY, " +
		col("tenant_key", dialect.String, MaxTenantIDLength) + " NOT NULL UNIQUE, " +
		col("status", dialect.String, 32) + " NOT NULL, " +
		col("version", dialect.Int64, 0) + " NOT NULL, " +
		col("created_at", dialect.Time, 0) + " NOT NULL)"
	ph := func(n int) string { return string(d.AppendPlaceholder(nil, n)) }
	c.getSQL = "SELECT " + cols + " FROM " + t + " WHERE " + q("id") + "=" + ph(1)
	c.insertSQL = "INSERT INTO " + t + " (" + cols + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 5)) + ")"
	c.deleteSQL = "DELETE FROM " + t + " WHERE " + q("id") + "=" + ph(1)
	c.listSQL = "SELECT " + cols + " FROM " + t + " WHERE " + q("id") + ">" + ph(1) + " ORDER BY " + q("id") + " LIMIT " + ph(2)
	if d.Features()&dialect.Schemas != 0 {
		c.lockSQL = "SELECT pg_advisory_xact_lock(" + strconv.Itoa(catalogLockID) + ")"
	}
	return c
}

// catalogLockID is the advisory lock key taken while creating the catalog.
const catalogLockID = 0x74656e61 // "tena"

// ensure creates the catalog table on first use.
func (c *catalog) ensure(ctx context.Context, be backend) error {
	if c.ready.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready.Load() {
		return nil
	}
	err := inTx(ctx, be, func(tx querier) error {
		if c.lockSQL != "" {
			if _, err := tx.exec(ctx, c.lockSQL); err != nil {
				return err
			}
		}
		_, err := tx.exec(ctx, c.createSQL)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating the catalog: %w", err)
	}
	c.ready.Store(true)
	return nil
}

func (c *catalog) get(ctx context.Context, be backend, id string) (Tenant, error) {
	if err := c.ensure(ctx, be); err != nil {
		return Tenant{}, err
	}
	return c.getWith(ctx, be, id)
}

func (c *catalog) getWith(ctx context.Context, q querier, id string) (Tenant, error) {
	var t Tenant
	err := q.queryRow(ctx, c.getSQL, id).Scan(&t.ID, &t.Key, &t.Status, &t.Version, &t.CreatedAt)
	if isNoRows(err) {
		return Tenant{}, fmt.Errorf("%w: %q", ErrTenantNotFound, id)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

func (c *catalog) list(ctx context.Context, be backend, after string, limit int) ([]Tenant, error) {
	if err := c.ensure(ctx, be); err != nil {
		return nil, err
	}
	r, err := be.query(ctx, c.listSQL, after, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Tenant
	for r.Next() {
		var t Tenant
		if err := r.Scan(&t.ID, &t.Key, &t.Status, &t.Version, &t.CreatedAt); err != nil {
			return nil, err
		}
		t.CreatedAt = t.CreatedAt.UTC()
		out = append(out, t)
	}
	return out, r.Err()
}

// inTx runs fn in a transaction of be, committing if it returns nil.
func inTx(ctx context.Context, be backend, fn func(tx querier) error) (err error) {
	tx, err := be.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.rollback(ctx)
			panic(p)
		}
		if err != nil {
			_ = tx.rollback(ctx)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// isUniqueViolation reports a duplicate-key error from PostgreSQL (23505),
// MySQL (ER_DUP_ENTRY 1062) or SQLite (SQLITE_CONSTRAINT_UNIQUE 2067,
// SQLITE_CONSTRAINT_PRIMARYKEY 1555).
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1062
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() == 2067 || coded.Code() == 1555
	}
	return false
}
