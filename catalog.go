package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	return name == CatalogTable || name == ObjectTable || name == PlacementTable || name == ChangeTable
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
	ID               string       // the validated tenant id
	Key              string       // the id as used in physical names; shorter than ID when ID would not fit
	Status           TenantStatus // StatusActive, StatusSuspended, StatusDropped or StatusPurging
	Version          int64        // placement version; bumped by every change to the tenant's mapping
	MigrationVersion int64        // the last migration applied to the tenant's tables (0: none)
	CreatedAt        time.Time    // UTC
	PurgeAfter       time.Time    // a dropped tenant's data is kept until then (zero unless dropped with Retain)
	LastError        string       // why the tenant's last migration failed; "" after a success
}

// catalog renders and runs the control-table statements.
type catalog struct {
	d                                     dialect.Dialect
	schema                                string
	createSQL                             string
	getSQL, insertSQL, deleteSQL, listSQL string
	listStatusSQL, setStatusSQL           string
	expiredSQL, purgeClaimSQL             string

	// tenantColumns are the tenant table's columns added after its first
	// release: ensure adds the ones an older catalog lacks.
	tenantColumns    []catalogColumn
	objectColumns    []catalogColumn
	placementColumns []catalogColumn

	createObjectsSQL, insertObjectSQL, ownersSQL, objectsSQL, deleteObjectsSQL, sharedTablesSQL string

	createPlacementsSQL, insertPlacementSQL, placementSQL, placementsSQL, deletePlacementsSQL string
	setFieldsSQL, bumpSQL                                                                     string

	lockSQL string // serialises catalog and shared-table creation across processes, where the database can

	// Migrations.
	pendingSQL        string // every tenant and shared table below a version, in one query
	lowestVersionSQL  string // the lowest migration version of a tenant that is not dropped
	claimSQL          string // lock a tenant's row and record its new version, if it is at the planned one (PostgreSQL)
	migratedSQL       string // a tenant reached a version
	stepSQL           string // a tenant's progress where DDL is not transactional
	failedSQL         string // a tenant's migration failed
	sharedVersionSQL  string // a shared table's model, migration version and step
	sharedMigratedSQL string // a shared table reached a version (and step)
	migrationReadSQL  string // a tenant's row and placements
	migrationLockSQL  string // the same, locking the row without waiting (PostgreSQL); "" elsewhere
	migrationWaitSQL  string // the same, waiting for the lock
	sharedLockSQL     string // a shared table's version, its row locked where the database can
	tryLockSQL        string // take a session lock without waiting (MySQL); "" elsewhere
	waitLockSQL       string // take it, waiting
	unlockSQL         string // release a session lock (MySQL); "" for transaction locks

	// The change log (watch.go).
	changesSQL, changesOrder string // the changes after $1 (… OR gaps), and their order
	pruneSQL, lastChangeSQL  string
	logSQL                   string // log a change from Go (MySQL, which has no trigger for it); "" elsewhere
}

func newCatalog(d dialect.Dialect, schema string) *catalog {
	t := qualifiedIdent(d, schema, CatalogTable)
	q := func(name string) string { return dialect.Quote(d, name) }
	col := func(name string, k dialect.Kind, size int) string {
		return q(name) + " " + d.ColumnType(dialect.Column{Name: name, Kind: k, Size: size, Indexed: size > 0})
	}
	cols := q("id") + "," + q("tenant_key") + "," + q("status") + "," + q("version") + "," + q("created_at") + "," +
		q("schema_version") + "," + q("purge_after") + "," + q("last_error")
	c := &catalog{d: d, schema: schema}
	c.tenantColumns = []catalogColumn{
		{"schema_version", col("schema_version", dialect.Int64, 0) + " NOT NULL DEFAULT 0"},
		{"migration_step", col("migration_step", dialect.Int32, 0) + " NOT NULL DEFAULT 0"},
		{"placement", col("placement", dialect.String, 128) + " NOT NULL DEFAULT ''"},
		{"purge_after", q("purge_after") + " " + d.ColumnType(dialect.Column{Kind: dialect.Time, Nullable: true})},
		{"last_error", q("last_error") + " " + d.ColumnType(dialect.Column{Kind: dialect.String, Nullable: true})},
	}
	c.createSQL = "CREATE TABLE IF NOT EXISTS " + t + " (" +
		col("id", dialect.String, MaxTenantIDLength) + " PRIMARY KEY, " +
		col("tenant_key", dialect.String, MaxTenantIDLength) + " NOT NULL UNIQUE, " +
		col("status", dialect.String, 32) + " NOT NULL, " +
		col("version", dialect.Int64, 0) + " NOT NULL, " +
		col("created_at", dialect.Time, 0) + " NOT NULL"
	for _, cc := range c.tenantColumns {
		c.createSQL += ", " + cc.def
	}
	c.createSQL += ")"
	ph := func(n int) string { return string(d.AppendPlaceholder(nil, n)) }
	c.getSQL = "SELECT " + cols + "," + q("migration_step") + "," + q("placement") + " FROM " + t + " WHERE " + q("id") + "=" + ph(1)
	c.insertSQL = "INSERT INTO " + t + " (" + q("id") + "," + q("tenant_key") + "," + q("status") + "," + q("version") + "," + q("created_at") + "," +
		q("schema_version") + "," + q("placement") + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 7)) + ")"
	c.deleteSQL = "DELETE FROM " + t + " WHERE " + q("id") + "=" + ph(1)
	c.listSQL = "SELECT " + cols + " FROM " + t + " WHERE " + q("id") + ">" + ph(1) + " ORDER BY " + q("id") + " LIMIT " + ph(2)
	c.listStatusSQL = "SELECT " + cols + " FROM " + t + " WHERE " + q("id") + ">" + ph(1) + " AND " + q("status") + "=" + ph(2) + " ORDER BY " + q("id") + " LIMIT " + ph(3)
	c.setStatusSQL = "UPDATE " + t + " SET " + q("status") + "=" + ph(1) + "," + q("purge_after") + "=" + ph(2) + "," + q("version") + "=" + q("version") + "+1 WHERE " +
		q("id") + "=" + ph(3) + " AND " + q("status") + "=" + ph(4)
	c.expiredSQL = "SELECT " + q("id") + " FROM " + t + " WHERE " + q("status") + " IN ('" + string(StatusDropped) + "','" + string(StatusPurging) + "') AND " + q("purge_after") + "<=" + ph(1) + " ORDER BY " + q("id")
	// Purge claims each tenant before removing it: a Restore between the
	// listing and the removal wins, and the tenant is left alone.
	c.purgeClaimSQL = "UPDATE " + t + " SET " + q("status") + "='" + string(StatusPurging) + "'," + q("version") + "=" + q("version") + "+1 WHERE " + q("id") + "=" + ph(1) +
		" AND " + q("status") + " IN ('" + string(StatusDropped) + "','" + string(StatusPurging) + "') AND " + q("purge_after") + "<=" + ph(2)
	o := qualifiedIdent(d, schema, ObjectTable)
	c.createObjectsSQL = "CREATE TABLE IF NOT EXISTS " + o + " (" +
		col("kind", dialect.String, 16) + " NOT NULL, " +
		col("schema_name", dialect.String, 64) + " NOT NULL, " +
		col("object_name", dialect.String, 64) + " NOT NULL, " +
		col("tenant_id", dialect.String, MaxTenantIDLength) + " NOT NULL, " +
		col("model", dialect.String, 64) + " NOT NULL, "
	// A shared table is migrated once for all its tenants: its own
	// migration version is recorded here.
	c.objectColumns = []catalogColumn{
		{"schema_version", col("schema_version", dialect.Int64, 0) + " NOT NULL DEFAULT 0"},
		{"migration_step", col("migration_step", dialect.Int32, 0) + " NOT NULL DEFAULT 0"},
	}
	for _, cc := range c.objectColumns {
		c.createObjectsSQL += cc.def + ", "
	}
	c.createObjectsSQL += "PRIMARY KEY (" + q("kind") + "," + q("schema_name") + "," + q("object_name") + "))"
	ocols := q("kind") + "," + q("schema_name") + "," + q("object_name")
	c.insertObjectSQL = "INSERT INTO " + o + " (" + ocols + "," + q("tenant_id") + "," + q("model") + "," + q("schema_version") + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 6)) + ")"
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
		col("object_name", dialect.String, 64) + " NOT NULL, "
	// A tenant's custom fields of the model (Tenants.AddField), as JSON.
	c.placementColumns = []catalogColumn{
		{"fields", q("fields") + " " + d.ColumnType(dialect.Column{Kind: dialect.String, Nullable: true})},
	}
	for _, cc := range c.placementColumns {
		c.createPlacementsSQL += cc.def + ", "
	}
	c.createPlacementsSQL += "PRIMARY KEY (" + q("tenant_id") + "," + q("model") + "))"
	pcols := q("strategy") + "," + q("database_name") + "," + q("schema_name") + "," + q("object_name")
	c.insertPlacementSQL = "INSERT INTO " + p + " (" + q("tenant_id") + "," + q("model") + "," + pcols + ") VALUES (" + string(appendPlaceholders(nil, d, 1, 6)) + ")"
	c.placementSQL = "SELECT " + pcols + "," + q("fields") + " FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1) + " AND " + q("model") + "=" + ph(2)
	c.placementsSQL = "SELECT " + q("model") + "," + pcols + "," + q("fields") + " FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1)
	c.setFieldsSQL = "UPDATE " + p + " SET " + q("fields") + "=" + ph(1) + " WHERE " + q("tenant_id") + "=" + ph(2) + " AND " + q("model") + "=" + ph(3)
	c.bumpSQL = "UPDATE " + t + " SET " + q("version") + "=" + q("version") + "+1 WHERE " + q("id") + "=" + ph(1)
	c.deletePlacementsSQL = "DELETE FROM " + p + " WHERE " + q("tenant_id") + "=" + ph(1)
	if d.Features()&dialect.Schemas != 0 {
		c.lockSQL = "SELECT pg_advisory_xact_lock(" + strconv.Itoa(catalogLockID) + ")"
	}
	tq := func(name string) string { return "t." + q(name) }
	// The tenants below a version come with their placements (a row each),
	// so that a migration can plan each without reading the catalog again.
	pn := func(name string) string { return "p." + q(name) }
	c.pendingSQL = "SELECT 't'," + tq("id") + ",''," + tq("schema_version") + "," + tq("migration_step") + "," + tq("tenant_key") + "," + tq("placement") + "," +
		pn("model") + "," + pn("strategy") + "," + pn("database_name") + "," + pn("schema_name") + "," + pn("object_name") +
		" FROM " + t + " t LEFT JOIN " + qualifiedIdent(d, schema, PlacementTable) + " p ON p." + q("tenant_id") + "=t." + q("id") +
		" WHERE (" + tq("schema_version") + "<" + ph(1) + " OR " + tq("migration_step") + ">0) AND " + tq("status") + "<>'" + string(StatusDropped) + "'" +
		" UNION ALL SELECT 's'," + q("schema_name") + "," + q("object_name") + "," + q("schema_version") + "," + q("migration_step") + "," + q("model") + ",'',NULL,NULL,NULL,NULL,NULL FROM " + o +
		" WHERE " + q("tenant_id") + "='' AND " + q("kind") + "='table' AND (" + q("schema_version") + "<" + ph(2) + " OR " + q("migration_step") + ">0)" +
		" ORDER BY 1, 2, 3"
	if d.Features()&dialect.Schemas != 0 {
		// Claim a tenant for a migration planned from its pending row, in the
		// migration's transaction: lock its row without waiting and record
		// the new version, if the row still says the planned one. One
		// statement; a failing migration rolls it back.
		c.claimSQL = "WITH old AS (SELECT " + q("id") + " FROM " + t + " WHERE " + q("id") + "=$1 AND " + q("schema_version") + "=$2 AND " +
			q("migration_step") + "=0 AND " + q("status") + "<>'" + string(StatusDropped) + "' FOR NO KEY UPDATE NOWAIT) UPDATE " + t + " t SET " +
			q("schema_version") + "=$3," + q("last_error") + "=NULL," + q("version") + "=t." + q("version") + "+1 FROM old WHERE t." + q("id") + "=old." + q("id")
	}
	c.lowestVersionSQL = "SELECT MIN(" + q("schema_version") + ") FROM " + t + " WHERE " + q("status") + "<>'" + string(StatusDropped) + "'"
	// A version is never written backwards (a run to a lower target after
	// one cut short above it): the guard leaves the row as it is.
	c.migratedSQL = "UPDATE " + t + " SET " + q("schema_version") + "=" + ph(1) + "," + q("migration_step") + "=0," + q("last_error") + "=NULL," +
		q("version") + "=" + q("version") + "+1 WHERE " + q("id") + "=" + ph(2) + " AND " + q("schema_version") + "<=" + ph(3)
	c.stepSQL = "UPDATE " + t + " SET " + q("schema_version") + "=" + ph(1) + "," + q("migration_step") + "=" + ph(2) + " WHERE " + q("id") + "=" + ph(3)
	c.failedSQL = "UPDATE " + t + " SET " + q("last_error") + "=" + ph(1) + " WHERE " + q("id") + "=" + ph(2)
	objectKey := " WHERE " + q("tenant_id") + "='' AND " + q("kind") + "='table' AND " + q("schema_name") + "=" + ph(3) + " AND " + q("object_name") + "=" + ph(4)
	c.sharedVersionSQL = "SELECT " + q("model") + "," + q("schema_version") + "," + q("migration_step") + " FROM " + o +
		strings.Replace(strings.Replace(objectKey, ph(3), ph(1), 1), ph(4), ph(2), 1)
	c.sharedMigratedSQL = "UPDATE " + o + " SET " + q("schema_version") + "=" + ph(1) + "," + q("migration_step") + "=" + ph(2) + objectKey
	// A migration reads the tenant's row and placements in one query; on
	// PostgreSQL it locks the row too (FOR NO KEY UPDATE, which leaves the
	// shared tables' fences, whose writes hold KEY SHARE on the row, to run
	// beside it; released by COMMIT or
	// ROLLBACK, never left on a pooled connection), which keeps a second
	// runner off the tenant, and on SQLite the migration's transaction, its
	// one writer, does.
	c.migrationReadSQL = "SELECT " + tq("id") + "," + tq("tenant_key") + "," + tq("status") + "," + tq("version") + "," + tq("created_at") + "," +
		tq("schema_version") + "," + tq("purge_after") + "," + tq("last_error") + "," + tq("migration_step") + "," + tq("placement") + "," +
		"p." + q("model") + ",p." + q("strategy") + ",p." + q("database_name") + ",p." + q("schema_name") + ",p." + q("object_name") +
		" FROM " + t + " t LEFT JOIN " + qualifiedIdent(d, schema, PlacementTable) + " p ON p." + q("tenant_id") + "=t." + q("id") +
		" WHERE t." + q("id") + "=" + ph(1)
	c.sharedLockSQL = c.sharedVersionSQL
	if d.Features()&dialect.Schemas != 0 {
		c.migrationLockSQL = c.migrationReadSQL + " FOR NO KEY UPDATE OF t NOWAIT"
		c.migrationWaitSQL = c.migrationReadSQL + " FOR NO KEY UPDATE OF t"
		c.sharedLockSQL = c.sharedVersionSQL + " FOR UPDATE"
	}
	switch {
	case d.Features()&dialect.Databases != 0:
		// GET_LOCK is a session lock, taken on a connection held for the
		// migration and released (or closed with it) before it goes back.
		// Its name is server-wide: the catalog's database is part of it.
		name := "CONCAT('tenantmap', LEFT(SHA2(CONCAT(DATABASE(), '/', ?), 256), 52))"
		c.tryLockSQL = "SELECT COALESCE(GET_LOCK(" + name + ", 0), 0) = 1"
		c.waitLockSQL = "SELECT COALESCE(GET_LOCK(" + name + ", 1), 0) = 1"
		c.unlockSQL = "SELECT RELEASE_LOCK(" + name + ")"
	}
	c.renderChangeLog()
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
		// A catalog made by an earlier release lacks the columns added since.
		if err := c.addMissing(ctx, tx, CatalogTable, c.tenantColumns); err != nil {
			return err
		}
		if err := c.addMissing(ctx, tx, ObjectTable, c.objectColumns); err != nil {
			return err
		}
		if err := c.addMissing(ctx, tx, PlacementTable, c.placementColumns); err != nil {
			return err
		}
		ok, err := c.hasChangeLog(ctx, tx)
		if err != nil || ok {
			return err
		}
		for _, stmt := range c.changeDDL() {
			if _, err := tx.exec(ctx, stmt); err != nil {
				return fmt.Errorf("%w\n\tin: %s", err, stmt)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating the catalog: %w", err)
	}
	return nil
}

// catalogColumn is a catalog column and its definition in ALTER TABLE ADD.
type catalogColumn struct{ name, def string }

// addMissing adds the columns of cols that the catalog table lacks.
func (c *catalog) addMissing(ctx context.Context, q querier, table string, cols []catalogColumn) error {
	have, err := columnsOf(ctx, q, c.d, c.schema, table)
	if err != nil {
		return err
	}
	for _, col := range cols {
		if !slices.ContainsFunc(have, func(h ColumnInfo) bool { return h.Name == col.name }) {
			if _, err := q.exec(ctx, "ALTER TABLE "+qualifiedIdent(c.d, c.schema, table)+" ADD COLUMN "+col.def); err != nil {
				return err
			}
		}
	}
	return nil
}

// tenantRecord is a catalog row: the Tenant and what only tenantmap reads.
type tenantRecord struct {
	Tenant
	step      int64  // steps of migration MigrationVersion+1 applied where DDL is not transactional
	placement string // the strategy Create was told to place the tenant by, "" for the models' own
}

func scanTenant(r row, t *Tenant, extra ...any) error {
	var purge *time.Time
	var lastErr *string
	dest := append([]any{&t.ID, &t.Key, &t.Status, &t.Version, &t.CreatedAt, &t.MigrationVersion, &purge, &lastErr}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if purge != nil {
		t.PurgeAfter = purge.UTC()
	}
	if lastErr != nil {
		t.LastError = *lastErr
	}
	return nil
}

// read reads a tenant's catalog row, whatever its status.
func (c *catalog) read(ctx context.Context, q querier, id string) (tenantRecord, error) {
	var t tenantRecord
	err := scanTenant(q.queryRow(ctx, c.getSQL, id), &t.Tenant, &t.step, &t.placement)
	if isNoRows(err) {
		return tenantRecord{}, fmt.Errorf("%w: %q", ErrTenantNotFound, id)
	}
	return t, err
}

func (c *catalog) get(ctx context.Context, q querier, id string) (Tenant, error) {
	t, err := c.read(ctx, q, id)
	return t.Tenant, err
}

// usable reads a tenant that calls may use: an active one. A suspended
// tenant is ErrTenantSuspended, a dropped one ErrTenantNotFound.
func (c *catalog) usable(ctx context.Context, q querier, id string) (tenantRecord, error) {
	t, err := c.read(ctx, q, id)
	if err != nil {
		return t, err
	}
	switch t.Status {
	case StatusActive:
		return t, nil
	case StatusSuspended:
		return t, fmt.Errorf("%w: %q", ErrTenantSuspended, id)
	case StatusDropped:
		return t, fmt.Errorf("%w: %q was dropped; its data is kept until %s", ErrTenantNotFound, id, t.PurgeAfter.Format(time.RFC3339))
	case StatusPurging:
		return t, fmt.Errorf("%w: %q was dropped and is being purged", ErrTenantNotFound, id)
	}
	return t, fmt.Errorf("tenantmap: tenant %q has an unknown status %q", id, t.Status)
}

func (c *catalog) list(ctx context.Context, be backend, after string, status TenantStatus, limit int) ([]Tenant, error) {
	var r rows
	var err error
	if status == "" {
		r, err = be.query(ctx, c.listSQL, after, limit)
	} else {
		r, err = be.query(ctx, c.listStatusSQL, after, status, limit)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Tenant
	for r.Next() {
		var t Tenant
		if err := scanTenant(r, &t); err != nil {
			return nil, err
		}
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
	var fields *string
	err := q.queryRow(ctx, c.placementSQL, tenant, model).Scan(&kind, &p.database, &p.schema, &p.table, &fields)
	if fields != nil {
		p.fields = *fields
	}
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
		var fields *string
		if err := r.Scan(&model, &kind, &p.database, &p.schema, &p.table, &fields); err != nil {
			return nil, err
		}
		if fields != nil {
			p.fields = *fields
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

// recordObjects inserts a tenant's objects; a name another tenant owns
// fails with ErrNameConflict. A shared table is recorded once, for no
// tenant, by the first tenant that uses it, at migration version version:
// it is made from the models as they are now.
func (c *catalog) recordObjects(ctx context.Context, q querier, tenant string, objs []object, version int64) error {
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
		if _, err := q.exec(ctx, c.insertObjectSQL, o.kind, o.schema, o.name, owner, o.model, version); err != nil {
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
	return commitError(tx.commit(ctx))
}

// isUndefinedTable reports a "no such table" error from PostgreSQL (42P01),
// MySQL (ER_NO_SUCH_TABLE 1146) or SQLite (which has no code of its own for
// it: SQLITE_ERROR with this message).
func isUndefinedTable(err error) bool { return isUndefined(err, false) }

// isUndefinedObject reports an error that says a statement named a table or
// column its database does not have: isUndefinedTable's errors, and
// PostgreSQL's undefined_column (42703), MySQL's ER_BAD_FIELD_ERROR (1054),
// SQLite's messages for a missing column.
func isUndefinedObject(err error) bool { return isUndefined(err, true) }

func isUndefined(err error, columns bool) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42P01" || columns && pg.Code == "42703"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1146 || columns && my.Number == 1054
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == 1 {
		msg := err.Error()
		return strings.Contains(msg, "no such table") ||
			columns && (strings.Contains(msg, "no such column") || strings.Contains(msg, "has no column named"))
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
