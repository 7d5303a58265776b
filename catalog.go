package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// The catalog's control tables: the tenants, and the physical objects
// (tables, schemas) each tenant owns.
const (
	CatalogTable = "tenantmap_tenant"
	ObjectTable  = "tenantmap_object"
)

// object is one physical object a tenant owns, as ObjectTable records it.
// Recording them makes ownership explicit: two tenants' names can coincide
// (tenant "a" with template "{tenant}_x_note" and tenant "a_x" with
// "{tenant}_note" both give a_x_note), and only the record says whose it is.
type object struct {
	kind   string // "table" or "schema"
	schema string // a table's schema; "" where the dialect has none, and for schemas
	name   string
	model  string // the model whose table it is; "" for schemas
}

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

	createObjectsSQL, insertObjectSQL, ownersSQL, objectsSQL, deleteObjectsSQL, placementSQL string
	lockSQL                                                                                  string // serialises catalog creation across processes, where the database can
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
	var ot []byte
	if schema != "" {
		ot = append(d.AppendIdent(ot, schema), '.')
	}
	ot = d.AppendIdent(ot, ObjectTable)
	o := string(ot)
	c.createObjectsSQL = "CREATE TABLE IF NOT EXISTS " + o + " (" +
		col("kind", dialect.String, 16) + " NOT NULL, " +
		col("schema_name", dialect.String, 64) + " NOT NULL, " +
		col("object_name", dialect.String, 64) + " NOT NULL, " +
		col("tenant_id", dialect.String, MaxTenantIDLength) + " NOT NULL, " +
		col("model", dialect.String, 64) + " NOT NULL, " +
		"PRIMARY KEY (" + q("kind") + "," + q("schema_name") + "," + q("object_name") + "))"
	ocols := q("kind") + "," + q("schema_name") + "," + q("object_name")
	c.insertObjectSQL = "INSERT INTO " + o + " (" + ocols + "," + q("tenant_id") + "," + q("model") + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 5)) + ")"
	c.ownersSQL = "SELECT " + q("tenant_id") + " FROM " + o + " WHERE " +
		"(" + q("kind") + "='table' AND " + q("schema_name") + "=" + ph(1) + " AND " + q("object_name") + "=" + ph(2) + ") OR " +
		"(" + q("kind") + "='schema' AND " + q("object_name") + "=" + ph(3) + ")"
	c.objectsSQL = "SELECT " + ocols + "," + q("model") + " FROM " + o + " WHERE " + q("tenant_id") + "=" + ph(1)
	c.deleteObjectsSQL = "DELETE FROM " + o + " WHERE " + q("tenant_id") + "=" + ph(1)
	c.placementSQL = "SELECT " + q("schema_name") + "," + q("object_name") + " FROM " + o + " WHERE " +
		q("tenant_id") + "=" + ph(1) + " AND " + q("model") + "=" + ph(2) + " AND " + q("kind") + "='table'"
	if d.Features()&dialect.Schemas != 0 {
		c.lockSQL = "SELECT pg_advisory_xact_lock(" + strconv.Itoa(catalogLockID) + ")"
	}
	return c
}

// catalogLockID is the advisory lock key taken while creating the catalog.
const catalogLockID = 0x74656e61 // "tena"

// ensure creates the catalog tables; OpenConfig calls it, so every later
// catalog statement can assume them.
func (c *catalog) ensure(ctx context.Context, be backend) error {
	err := inTx(ctx, be, func(tx querier) error {
		if c.lockSQL != "" {
			if _, err := tx.exec(ctx, c.lockSQL); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, c.createSQL); err != nil {
			return err
		}
		_, err := tx.exec(ctx, c.createObjectsSQL)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating the catalog: %w", err)
	}
	return nil
}

func (c *catalog) get(ctx context.Context, q querier, id string) (Tenant, error) {
	var t Tenant
	err := q.queryRow(ctx, c.getSQL, id).Scan(&t.ID, &t.Key, &t.Status, &t.Version, &t.CreatedAt)
	if isNoRows(err) {
		return Tenant{}, fmt.Errorf("%w: %q", ErrTenantNotFound, id)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

func (c *catalog) list(ctx context.Context, be backend, after string, limit int) ([]Tenant, error) {
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

// checkOwner refuses a physical name that the catalog records as another
// tenant's (or that is a catalog table). Tables made by Create are always
// recorded, so an unrecorded name is one no tenant has yet.
func (c *catalog) checkOwner(ctx context.Context, q querier, tenant, catalogSchema, schema, table string) error {
	if schema == catalogSchema && (table == CatalogTable || table == ObjectTable) {
		return fmt.Errorf("%w: %q is a catalog table", ErrNameConflict, table)
	}
	r, err := q.query(ctx, c.ownersSQL, schema, table, schema)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var owner string
		if err := r.Scan(&owner); err != nil {
			return err
		}
		if owner != tenant {
			return fmt.Errorf("%w: %s is tenant %q's", ErrNameConflict, qualified(schema, table), owner)
		}
	}
	return r.Err()
}

// placement returns the table the catalog records for a tenant's model, if
// Create made one: the tenant's own placement, whatever the model's default.
func (c *catalog) placement(ctx context.Context, q querier, tenant, model string) (schema, table string, found bool, err error) {
	err = q.queryRow(ctx, c.placementSQL, tenant, model).Scan(&schema, &table)
	if isNoRows(err) {
		return "", "", false, nil
	}
	return schema, table, err == nil, err
}

// record inserts a tenant's objects; a name another tenant owns fails with
// ErrNameConflict.
func (c *catalog) record(ctx context.Context, q querier, tenant string, objs []object) error {
	for _, o := range objs {
		if _, err := q.exec(ctx, c.insertObjectSQL, o.kind, o.schema, o.name, tenant, o.model); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %s %s belongs to another tenant", ErrNameConflict, o.kind, qualified(o.schema, o.name))
			}
			return err
		}
	}
	return nil
}

// objects lists a tenant's recorded objects.
func (c *catalog) objects(ctx context.Context, q querier, tenant string) ([]object, error) {
	r, err := q.query(ctx, c.objectsSQL, tenant)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []object
	for r.Next() {
		var o object
		if err := r.Scan(&o.kind, &o.schema, &o.name, &o.model); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, r.Err()
}

func qualified(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
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
