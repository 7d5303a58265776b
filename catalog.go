package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// The catalog's control tables: the tenants, the physical objects (tables,
// schemas, databases) each tenant owns, and where each model of each tenant
// lives.
const (
	CatalogTable   = "tenantmap_tenant"
	ObjectTable    = "tenantmap_object"
	PlacementTable = "tenantmap_placement"
)

// isCatalogTable reports whether name is one of the catalog's tables.
func isCatalogTable(name string) bool {
	return name == CatalogTable || name == ObjectTable || name == PlacementTable
}

// object is one physical object a tenant owns, as ObjectTable records it.
// Recording them makes ownership explicit: two tenants' names can coincide
// (tenant "a" with template "{tenant}_x_note" and tenant "a_x" with
// "{tenant}_note" both give a_x_note), and only the record says whose it is.
//
// A shared table is recorded once, owned by no tenant (tenant_id ""), so no
// tenant can claim its name for a table of its own.
type object struct {
	kind   string // "table", "schema" or "database"
	schema string // a table's schema; "" where the dialect has none, and for schemas
	name   string
	model  string // the model whose table it is; "" for schemas
	shared bool   // a SharedTable's table, owned by no tenant
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

	createObjectsSQL, insertObjectSQL, ownersSQL, objectsSQL, deleteObjectsSQL, sharedTablesSQL string

	createPlacementsSQL, insertPlacementSQL, placementSQL, placementsSQL, deletePlacementsSQL string

	lockSQL string // serialises catalog and shared-table creation across processes, where the database can
}

func newCatalog(d dialect.Dialect, schema string) *catalog {
	t := qualifiedIdent(d, schema, CatalogTable)
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
	o := qualifiedIdent(d, schema, ObjectTable)
	c.createObjectsSQL = "CREATE TABLE IF NOT EXISTS " + o + " (" +
		col("kind", dialect.String, 16) + " NOT NULL, " +
		col("schema_name", dialect.String, 64) + " NOT NULL, " +
		col("object_name", dialect.String, 64) + " NOT NULL, " +
		col("tenant_id", dialect.String, MaxTenantIDLength) + " NOT NULL, " +
		col("model", dialect.String, 64) + " NOT NULL, " +
		"PRIMARY KEY (" + q("kind") + "," + q("schema_name") + "," + q("object_name") + "))"
	ocols := q("kind") + "," + q("schema_name") + "," + q("object_name")
	c.insertObjectSQL = "INSERT INTO " + o + " (" + ocols + "," + q("tenant_id") + "," + q("model") + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 5)) + ")"
	c.ownersSQL = "SELECT " + q("tenant_id") + "," + q("model") + " FROM " + o + " WHERE " +
		"(" + q("kind") + "='table' AND " + q("schema_name") + "=" + ph(1) + " AND " + q("object_name") + "=" + ph(2) + ") OR " +
		"(" + q("kind") + "='schema' AND " + q("object_name") + "=" + ph(3) + ")"
	c.objectsSQL = "SELECT " + ocols + "," + q("model") + " FROM " + o + " WHERE " + q("tenant_id") + "=" + ph(1)
	c.sharedTablesSQL = "SELECT " + q("schema_name") + "," + q("object_name") + " FROM " + o + " WHERE " + q("tenant_id") + "='' AND " + q("kind") + "='table'"
	c.deleteObjectsSQL = "DELETE FROM " + o + " WHERE " + q("tenant_id") + "=" + ph(1)
	p := qualifiedIdent(d, schema, PlacementTable)
	c.createPlacementsSQL = "CREATE TABLE IF NOT EXISTS " + p + " (" +
		col("tenant_id", dialect.String, MaxTenantIDLength) + " NOT NULL, " +
		col("model", dialect.String, 64) + " NOT NULL, " +
		col("strategy", dialect.String, 16) + " NOT NULL, " +
		col("database_name", dialect.String, 255) + " NOT NULL, " +
		col("schema_name", dialect.String, 64) + " NOT NULL, " +
		col("object_name", dialect.String, 64) + " NOT NULL, " +
		"PRIMARY KEY (" + q("tenant_id") + "," + q("model") + "))"
	pcols := q("strategy") + "," + q("database_name") + "," + q("schema_name") + "," + q("object_name")
	c.insertPlacementSQL = "INSERT INTO " + p + " (" + q("tenant_id") + "," + q("model") + "," + pcols + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 6)) + ")"
	c.placementSQL = "SELECT " + pcols + " FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1) + " AND " + q("model") + "=" + ph(2)
	c.placementsSQL = "SELECT " + q("model") + "," + pcols + " FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1)
	c.deletePlacementsSQL = "DELETE FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1)
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
		for _, stmt := range []string{c.createSQL, c.createObjectsSQL, c.createPlacementsSQL} {
			if _, err := tx.exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
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
// recorded, so an unrecorded name is one no tenant has yet. tenant "" asks
// on behalf of a shared table of model: it may only be that model's shared
// table. It reports whether the name is recorded for the asker already.
func (c *catalog) checkOwner(ctx context.Context, q querier, tenant, model, catalogSchema, schema, table string) (bool, error) {
	if schema == catalogSchema && isCatalogTable(table) {
		return false, fmt.Errorf("%w: %q is a catalog table", ErrNameConflict, table)
	}
	r, err := q.query(ctx, c.ownersSQL, schema, table, schema)
	if err != nil {
		return false, err
	}
	defer r.Close()
	mine := false
	for r.Next() {
		var owner, ownerModel string
		if err := r.Scan(&owner, &ownerModel); err != nil {
			return false, err
		}
		switch {
		case owner == "" && tenant == "" && ownerModel == model:
			mine = true
		case owner == "" && tenant == "" && ownerModel == "":
			// a namespace (schema) owned by no tenant: not ours to check
		case owner == "":
			return false, fmt.Errorf("%w: %s is the shared table of model %s", ErrNameConflict, qualified(schema, table), ownerModel)
		case owner != tenant:
			return false, fmt.Errorf("%w: %s is tenant %q's", ErrNameConflict, qualified(schema, table), owner)
		default:
			mine = true
		}
	}
	return mine, r.Err()
}

// placement returns where the catalog records a tenant's model, if Create
// recorded it: the tenant's own placement, whatever the model's default.
func (c *catalog) placement(ctx context.Context, q querier, tenant, model string) (placement, bool, error) {
	var p placement
	var kind string
	err := q.queryRow(ctx, c.placementSQL, tenant, model).Scan(&kind, &p.database, &p.schema, &p.table)
	if isNoRows(err) {
		return placement{}, false, nil
	}
	if err != nil {
		return placement{}, false, err
	}
	if p.kind = kindNamed(kind); p.kind == 0 {
		return placement{}, false, fmt.Errorf("tenantmap: the catalog records an unknown strategy %q for tenant %q's %s", kind, tenant, model)
	}
	return p, true, nil
}

// placements lists where each model of a tenant lives.
func (c *catalog) placements(ctx context.Context, q querier, tenant string) (map[string]placement, error) {
	r, err := q.query(ctx, c.placementsSQL, tenant)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]placement{}
	for r.Next() {
		var model, kind string
		var p placement
		if err := r.Scan(&model, &kind, &p.database, &p.schema, &p.table); err != nil {
			return nil, err
		}
		p.kind = kindNamed(kind)
		out[model] = p
	}
	return out, r.Err()
}

// recordPlacements inserts where each model of a new tenant lives.
func (c *catalog) recordPlacements(ctx context.Context, q querier, tenant string, ps map[string]placement) error {
	for model, p := range ps {
		if _, err := q.exec(ctx, c.insertPlacementSQL, tenant, model, strategyNames[p.kind], p.database, p.schema, p.table); err != nil {
			return err
		}
	}
	return nil
}

// record inserts a tenant's objects; a name another tenant owns fails with
// ErrNameConflict. A shared table is recorded once, for no tenant, by the
// first tenant that uses it.
func (c *catalog) record(ctx context.Context, q querier, tenant string, objs []object) error {
	for _, o := range objs {
		owner := tenant
		if o.shared {
			owner = ""
			mine, err := c.checkOwner(ctx, q, "", o.model, "", o.schema, o.name)
			if err != nil {
				return err
			}
			if mine {
				continue
			}
		}
		if _, err := q.exec(ctx, c.insertObjectSQL, o.kind, o.schema, o.name, owner, o.model); err != nil {
			if isUniqueViolation(err) && o.shared {
				// Another Create recorded it first (MySQL, where nothing
				// serialises the two): fine if it is this model's shared table.
				if mine, err2 := c.checkOwner(ctx, q, "", o.model, "", o.schema, o.name); err2 != nil || mine {
					if err2 != nil {
						return err2
					}
					continue
				}
			}
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %s %s is another tenant's, or a shared table", ErrNameConflict, o.kind, qualified(o.schema, o.name))
			}
			return err
		}
	}
	return nil
}

// sharedTables lists the shared tables the catalog records.
func (c *catalog) sharedTables(ctx context.Context, q querier) ([]placement, error) {
	r, err := q.query(ctx, c.sharedTablesSQL)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []placement
	for r.Next() {
		p := placement{kind: sharedTable}
		if err := r.Scan(&p.schema, &p.table); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, r.Err()
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

// isUndefinedTable reports a "no such table" error from PostgreSQL (42P01),
// MySQL (ER_NO_SUCH_TABLE 1146) or SQLite (which has no code of its own for
// it: SQLITE_ERROR with this message).
func isUndefinedTable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42P01"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1146
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() == 1 && strings.Contains(err.Error(), "no such table")
	}
	return false
}

// ddlError explains a failed provisioning statement; one that failed
// because its object exists already is ErrNameConflict, one the server
// does not allow the role ErrPermissionDenied.
func ddlError(err error, stmt string) error {
	switch {
	case isAlreadyExists(err):
		return fmt.Errorf("%w: %w\n\tin: %s", ErrNameConflict, err, stmt)
	case isPermissionDenied(err):
		return fmt.Errorf("%w: %w\n\tin: %s", ErrPermissionDenied, err, stmt)
	}
	return fmt.Errorf("%w\n\tin: %s", err, stmt)
}

// isPermissionDenied reports a privilege error from PostgreSQL (42501) or
// MySQL (1044 no access to a database, 1142 to a table, 1227 missing
// privilege).
func isPermissionDenied(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42501"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1044 || my.Number == 1142 || my.Number == 1227
	}
	return false
}

// isAlreadyExists reports an "object exists already" error from PostgreSQL
// (42P07 table, 42P06 schema, 42P04 database), MySQL (1050 table, 1007
// database) or SQLite (SQLITE_ERROR with this message).
func isAlreadyExists(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42P07" || pg.Code == "42P06" || pg.Code == "42P04"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1050 || my.Number == 1007
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() == 1 && strings.Contains(err.Error(), "already exists")
	}
	return false
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
