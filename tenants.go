package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantmap/tenantmap/dialect"
)

// Tenants is the tenant lifecycle of a DB: create, look up, list, drop.
type Tenants struct{ db *DB }

// Tenants returns the DB's tenant lifecycle operations.
func (db *DB) Tenants() *Tenants { return &Tenants{db: db} }

// TenantStatus is a tenant's status, as Tenant.Status reports it.
type TenantStatus string

// A tenant's statuses.
const (
	// StatusActive: the tenant can be used.
	StatusActive TenantStatus = "active"
	// StatusSuspended: calls for the tenant fail with ErrTenantSuspended
	// until Resume; its data and tables are kept as they are.
	StatusSuspended TenantStatus = "suspended"
	// StatusDropped: the tenant was dropped with a retention window (Retain):
	// calls fail with ErrTenantNotFound, its data is kept until
	// Tenant.PurgeAfter, and Restore can bring it back until Purge removes it.
	// Its id cannot be used for a new tenant until then.
	StatusDropped TenantStatus = "dropped"
	// StatusPurging: Purge is removing the dropped tenant (a Purge cut
	// short leaves it so; the next one finishes it). It cannot be restored.
	StatusPurging TenantStatus = "purging"
)

// Create records a tenant in the catalog and provisions the tables and
// indexes of every registered model for it, in one transaction: on failure
// nothing is left behind. An invalid id returns ErrInvalidTenantID, an id
// the catalog has returns ErrTenantExists, a physical name another tenant or
// the catalog owns returns ErrNameConflict; none of them changes anything.
func (ts *Tenants) Create(ctx context.Context, id string, opts ...CreateOption) (Tenant, error) {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	t, err := ts.create(ctx, id, o)
	return t, opError("create tenant", id, "", err)
}

// CreateOption changes how Create places a tenant.
type CreateOption func(*createOptions)

type createOptions struct {
	placement *Strategy
	suspended bool // made suspended, for Import to fill before calls see it
}

// WithPlacement places this tenant's data by s instead of each model's
// registered strategy: the small tenants in tables of their own, say, and a
// large one in a schema (PostgreSQL) or database (MySQL) of its own. The
// catalog records where each of its tables is, and every call for the tenant
// goes there; how other tenants are placed does not matter to it.
func WithPlacement(s Strategy) CreateOption {
	return func(o *createOptions) { o.placement = &s }
}

func (ts *Tenants) create(ctx context.Context, id string, o createOptions) (Tenant, error) {
	db := ts.db
	if err := ValidateTenantID(id); err != nil {
		return Tenant{}, err
	}
	bindings := db.snapshotBindings()
	if o.placement != nil {
		placed := make([]*binding, len(bindings))
		for i, b := range bindings {
			s, err := o.placement.resolve(b.model, db.dialect)
			if err != nil {
				return Tenant{}, fmt.Errorf("placement for model %s: %w", b.model.name, err)
			}
			placed[i] = &binding{id: b.id, model: b.model, strategy: s}
		}
		bindings = placed
	}
	limit := db.dialect.MaxIdentifierLength()
	longest := 0
	for _, b := range bindings {
		longest = max(longest, b.strategy.staticLen())
	}
	t := Tenant{
		ID:        id,
		Key:       tenantKey(id, longest, limit),
		Status:    StatusActive,
		Version:   1,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		// Its tables are made from the models as they are now: the shape
		// the latest migration gives.
		MigrationVersion: db.migrations().latest(),
	}
	prov, err := db.provisionDDL(bindings, t.Key)
	if err != nil {
		return Tenant{}, err
	}
	prov.version = t.MigrationVersion
	if o.suspended {
		t.Status = StatusSuspended
	}
	placementName := ""
	if o.placement != nil {
		placementName = o.placement.encode()
	}
	if err := db.checkShared(ctx, prov.checks); err != nil {
		return Tenant{}, err
	}
	insertTenant := func(q querier) error {
		if _, err := q.exec(ctx, db.cat.insertSQL, t.ID, t.Key, t.Status, t.Version, t.CreatedAt, t.MigrationVersion, placementName); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %q (or its physical key %q)", ErrTenantExists, id, t.Key)
			}
			return err
		}
		return nil
	}
	switch {
	case prov.database != "":
		err = db.provisionOwnDatabase(ctx, insertTenant, prov, id)
	case db.dialect.Features()&dialect.TransactionalDDL != 0:
		err = db.provisionInTx(ctx, insertTenant, prov, id)
	default:
		err = db.provisionWithoutTx(ctx, insertTenant, prov, id)
	}
	if err != nil {
		return Tenant{}, err
	}
	for _, qt := range prov.shared {
		db.sharedReady.Store(qt, true)
	}
	// A lookup that failed before the tenant existed cached nothing, but a
	// dropped tenant of the same id may still have mappings.
	db.reg.InvalidateTenant(id)
	return t, nil
}

// provisionInTx records the tenant and runs its DDL in the DB's own
// database in one transaction, where DDL is transactional.
func (db *DB) provisionInTx(ctx context.Context, insertTenant func(querier) error, prov provision, id string) error {
	return inTx(ctx, db.be, func(tx querier) error {
		if len(prov.shared) > 0 && db.cat.lockSQL != "" {
			// Two Creates making the same shared table at once would
			// collide in the system catalogs; one at a time.
			if _, err := tx.exec(ctx, db.cat.lockSQL); err != nil {
				return err
			}
		}
		if err := insertTenant(tx); err != nil {
			return err
		}
		if err := db.cat.recordObjects(ctx, tx, id, prov.objs, prov.version); err != nil {
			return err
		}
		if err := db.cat.recordPlacements(ctx, tx, id, prov.placements); err != nil {
			return err
		}
		// The DDL, tenantmap's own, goes as one script: one round trip.
		stmts := make([]string, len(prov.stmts))
		for i, s := range prov.stmts {
			stmts[i] = s.sql
		}
		if err := execScript(ctx, tx, stmts); err != nil {
			return ddlError(err, strings.Join(stmts, ";\n\t"))
		}
		for _, pl := range prov.fences {
			if err := db.ensureFence(ctx, tx, pl.schema, pl.table); err != nil {
				return err
			}
		}
		return nil
	})
}

// provisionWithoutTx provisions where DDL commits implicitly (MySQL): the
// catalog row first, so a concurrent Create of the same id fails, then the
// object records, then each statement; on failure it undoes what it made,
// newest first, and removes the records and the row, leaving no half-made
// tenant.
func (db *DB) provisionWithoutTx(ctx context.Context, insertTenant func(querier) error, prov provision, id string) error {
	if err := insertTenant(db.be); err != nil {
		return err // the id is taken (or the insert failed): nothing of ours to undo
	}
	cleanup := context.WithoutCancel(ctx)
	if err := db.cat.recordObjects(ctx, db.be, id, prov.objs, prov.version); err != nil {
		_, _ = db.be.exec(cleanup, db.cat.deleteObjectsSQL, id)
		_, _ = db.be.exec(cleanup, db.cat.deleteSQL, id)
		return err
	}
	if err := db.cat.recordPlacements(ctx, db.be, id, prov.placements); err != nil {
		_, _ = db.be.exec(cleanup, db.cat.deletePlacementsSQL, id)
		_, _ = db.be.exec(cleanup, db.cat.deleteObjectsSQL, id)
		_, _ = db.be.exec(cleanup, db.cat.deleteSQL, id)
		return err
	}
	// undo removes the first n statements' objects and the tenant's
	// records, after err.
	undo := func(n int, err error) error {
		errs := []error{err}
		run := func(sql string, args ...any) {
			if _, err := db.be.exec(cleanup, sql, args...); err != nil {
				errs = append(errs, fmt.Errorf("undoing the tenant (run it again or drop it): %w\n\tin: %s", err, sql))
			}
		}
		for j := n - 1; j >= 0; j-- {
			if prov.stmts[j].undo != "" {
				run(prov.stmts[j].undo)
			}
		}
		run(db.cat.deletePlacementsSQL, id)
		run(db.cat.deleteObjectsSQL, id)
		run(db.cat.deleteSQL, id)
		return errors.Join(errs...)
	}
	for i, s := range prov.stmts {
		if _, err := db.be.exec(ctx, s.sql); err != nil {
			return undo(i, ddlError(err, s.sql))
		}
	}
	for _, pl := range prov.fences {
		if err := db.ensureFence(ctx, db.be, pl.schema, pl.table); err != nil {
			return undo(len(prov.stmts), err)
		}
	}
	return nil
}

// namespaceSQL renders CREATE or DROP of a tenant's namespace: a schema, or
// on MySQL a database (where DROP SCHEMA has no CASCADE and drops the tables
// with it anyway).
func (db *DB) namespaceSQL(verb, name string) string {
	q := dialect.Quote(db.dialect, name)
	kind := "SCHEMA"
	if db.dialect.Features()&dialect.Databases != 0 {
		kind = "DATABASE"
	}
	if verb == "CREATE" {
		return "CREATE " + kind + " " + q
	}
	if kind == "SCHEMA" {
		return "DROP SCHEMA IF EXISTS " + q + " CASCADE"
	}
	return "DROP DATABASE IF EXISTS " + q
}

// ddlStmt is one provisioning statement and the statement that undoes it
// where DDL cannot be rolled back ("" when dropping its table undoes it, or
// when it must not be undone: a shared table stays).
type ddlStmt struct {
	sql, undo string
}

// provision is what Create does for one tenant: its DDL, the objects it
// will own, where each model goes, and the shared tables it makes sure of.
type provision struct {
	stmts      []ddlStmt
	objs       []object
	placements map[string]placement // by model name
	shared     []string             // quoted shared tables the DDL makes if missing
	fences     []placement          // those shared tables, whose fences Create makes sure of
	checks     []string             // statements that fail if a shared table exists with other columns
	database   string               // the tenant's own database (PostgreSQL, SQLite), "" for none
	dbStmts    []string             // the DDL to run in it
	version    int64                // the migration version the tables are made at
}

// checkShared runs, before any DDL, the checks that a shared table which
// exists already is the model's: it must have the model's columns and the
// tenant column. A table that does not exist yet passes; Create makes it.
func (db *DB) checkShared(ctx context.Context, checks []string) error {
	return db.checkSharedOn(ctx, db.be, checks, false)
}

// checkSharedOn runs the checks on q; inTx says q is a PostgreSQL
// transaction, where a failing statement would abort it, so each check
// runs under a savepoint.
func (db *DB) checkSharedOn(ctx context.Context, q querier, checks []string, inTx bool) error {
	for _, c := range checks {
		if inTx {
			if _, err := q.exec(ctx, "SAVEPOINT tenantmap_check"); err != nil {
				return err
			}
		}
		_, err := q.exec(ctx, c)
		if inTx {
			end := "RELEASE SAVEPOINT tenantmap_check"
			if err != nil {
				end = "ROLLBACK TO SAVEPOINT tenantmap_check"
			}
			if _, serr := q.exec(ctx, end); serr != nil {
				return serr
			}
		}
		switch {
		case err == nil, isUndefinedTable(err):
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return fmt.Errorf("%w: the shared table exists but is not the model's: %w\n\tin: %s", ErrNameConflict, err, c)
		}
	}
	return nil
}

// provisionDDL renders the statements that create a tenant's schemas,
// tables and indexes, and lists the objects they make. A shared table is
// made (if missing) by the first Create on this handle that needs it.
func (db *DB) provisionDDL(bindings []*binding, key string) (provision, error) {
	p := provision{placements: map[string]placement{}}
	schemas := map[string]bool{}
	for _, b := range bindings {
		pl := db.placementOf(b.strategy, key, b.model.name)
		for _, name := range []string{pl.database, pl.schema, pl.table} {
			if db.dialect.ReservedPrefix(name) {
				return p, fmt.Errorf("%w: the physical name %q begins with a prefix %s reserves", ErrInvalidTenantID, name, db.dialect.Name())
			}
		}
		if pl.schema == db.cfg.Schema && isCatalogTable(pl.table) {
			return p, fmt.Errorf("%w: %q is a catalog table", ErrNameConflict, pl.table)
		}
		for model, other := range p.placements {
			if other.database == pl.database && other.schema == pl.schema && other.table == pl.table && (pl.kind != sharedTable || other.kind != sharedTable) {
				return p, fmt.Errorf("%w: models %s and %s would both have the table %s (put %s in the name template)", ErrNameConflict, model, b.model.name, qualified(pl.schema, pl.table), ModelToken)
			}
		}
		p.placements[b.model.name] = pl
		mp := buildMapping(db.dialect, b.model, "", pl)
		if pl.database != "" {
			switch p.database {
			case "":
				p.database = pl.database
				p.objs = append(p.objs, object{kind: "database", name: pl.database})
			case pl.database:
			default:
				return p, fmt.Errorf("%w: models %s place the tenant in two databases of its own, %q and %q; a tenant has at most one", ErrInvalidModel, b.model.name, p.database, pl.database)
			}
			p.dbStmts = append(p.dbStmts, mp.ddl(db.dialect, false)...)
			continue
		}
		if pl.kind == sharedTable {
			p.objs = append(p.objs, object{kind: "table", schema: pl.schema, name: pl.table, model: b.model.name, shared: true})
			if _, ready := db.sharedReady.Load(mp.qtable); ready || slices.Contains(p.shared, mp.qtable) {
				continue
			}
			p.shared = append(p.shared, mp.qtable)
			p.fences = append(p.fences, pl)
			for _, s := range mp.ddl(db.dialect, true) {
				p.stmts = append(p.stmts, ddlStmt{sql: s})
			}
			for _, s := range db.rlsDDL(mp) {
				p.stmts = append(p.stmts, ddlStmt{sql: s})
			}
			// CREATE TABLE IF NOT EXISTS keeps a table that was there
			// already: Create first makes sure such a table has the columns
			// the model needs, or the tenant would be made on a table that
			// is not its model's.
			cols, _, _ := strings.Cut(mp.selectSQL, " FROM ")
			p.checks = append(p.checks, cols+","+dialect.Quote(db.dialect, TenantColumn)+" FROM "+mp.qtable+" WHERE 1=0")
			continue
		}
		if b.strategy.namespaced() && !schemas[pl.schema] {
			schemas[pl.schema] = true
			p.stmts = append(p.stmts, ddlStmt{sql: db.namespaceSQL("CREATE", pl.schema), undo: db.namespaceSQL("DROP", pl.schema)})
			p.objs = append(p.objs, object{kind: "schema", name: pl.schema})
		}
		p.objs = append(p.objs, object{kind: "table", schema: pl.schema, name: pl.table, model: b.model.name})
		for i, s := range mp.ddl(db.dialect, false) {
			st := ddlStmt{sql: s}
			if i == 0 {
				st.undo = "DROP TABLE IF EXISTS " + mp.qtable
			}
			p.stmts = append(p.stmts, st)
		}
	}
	return p, nil
}

// Get returns the catalog's record of a tenant, or ErrTenantNotFound.
func (ts *Tenants) Get(ctx context.Context, id string) (Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return Tenant{}, opError("get tenant", id, "", err)
	}
	t, err := ts.db.cat.get(ctx, ts.db.be, id)
	return t, opError("get tenant", id, "", err)
}

// ListOptions pages through the tenants in id order.
type ListOptions struct {
	After  string       // list ids greater than this; "" starts at the beginning
	Limit  int          // page size; 0 means 100, at most 10,000
	Status TenantStatus // only tenants with this status (StatusActive, …); "" for all
}

// List returns one page of tenants and the cursor for the next page, which
// is "" after the last page.
func (ts *Tenants) List(ctx context.Context, o ListOptions) ([]Tenant, string, error) {
	limit := o.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 10_000:
		limit = 10_000
	}
	page, err := ts.db.cat.list(ctx, ts.db.be, o.After, o.Status, limit)
	if err != nil {
		return nil, "", opError("list tenants", "", "", err)
	}
	next := ""
	if len(page) == limit {
		next = page[len(page)-1].ID
	}
	return page, next, nil
}

// DropConfirmation guards Drop; only ConfirmDrop makes one.
type DropConfirmation struct{ id string }

// ConfirmDrop confirms the drop of the tenant with this id and no other.
func ConfirmDrop(id string) DropConfirmation { return DropConfirmation{id: id} }

// Drop deletes a tenant: its tables (its schemas, for SchemaPerTenant; its
// database, for DatabasePerTenant) and all their rows, and its catalog
// record. It refuses unless confirm names the same tenant, so a wrong
// variable cannot drop one tenant while meaning another.
//
// With Retain(d) the drop is soft: the tenant's calls fail with
// ErrTenantNotFound at once, but its data is kept for d, until Purge removes
// it (Restore brings it back until then); the id stays taken meanwhile. A
// Drop without Retain of a tenant dropped softly removes it now.
func (ts *Tenants) Drop(ctx context.Context, id string, confirm DropConfirmation, opts ...DropOption) error {
	var o dropOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.retain > 0 {
		return opError("drop tenant", id, "", ts.softDrop(ctx, id, confirm, o.retain))
	}
	return opError("drop tenant", id, "", ts.drop(ctx, id, confirm, true))
}

// drop deletes a tenant; dropDatabases=false leaves its own database (one
// that Create found in the way and did not make).
func (ts *Tenants) drop(ctx context.Context, id string, confirm DropConfirmation, dropDatabases bool) error {
	db := ts.db
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	if confirm.id != id {
		return fmt.Errorf("%w: pass tenantmap.ConfirmDrop(%q)", ErrDropNotConfirmed, id)
	}
	if dropDatabases && db.tenantDBs != nil {
		// Databases first, outside any transaction (PostgreSQL cannot drop
		// one inside): a drop cut short leaves the catalog records, and
		// running it again finishes it.
		if _, err := db.cat.get(ctx, db.be, id); err != nil {
			return err
		}
		objs, err := db.cat.objects(ctx, db.be, id)
		if err != nil {
			return err
		}
		db.reg.InvalidateTenant(id)
		for _, o := range objs {
			if o.kind == "database" {
				if err := db.dropDatabase(ctx, o.name); err != nil {
					return err
				}
			}
		}
	}
	run := inTx
	if db.dialect.Features()&dialect.TransactionalDDL == 0 {
		// DDL commits implicitly: drop the tables first and the catalog row
		// last, so a drop cut short can be run again.
		run = func(ctx context.Context, be backend, fn func(querier) error) error { return fn(be) }
	}
	err := run(ctx, db.be, func(tx querier) error {
		if _, err := db.cat.get(ctx, tx, id); err != nil {
			return err
		}
		// Only what the catalog records as this tenant's is dropped: a name
		// computed from a template could be another tenant's.
		objs, err := db.cat.objects(ctx, tx, id)
		if err != nil {
			return err
		}
		shared, err := db.cat.sharedTables(ctx, tx)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.kind != "table" {
				continue
			}
			if _, err := tx.exec(ctx, "DROP TABLE IF EXISTS "+qualifiedIdent(db.dialect, o.schema, o.name)); err != nil {
				return err
			}
		}
		// In a shared table only the tenant's rows go: from every shared
		// table, as a model registered after the tenant was made keeps its
		// rows in its shared table without a placement record.
		rlsSet := false
		for _, p := range shared {
			if db.cfg.RowLevelSecurity && !rlsSet {
				if _, err := tx.exec(ctx, setTenantSQL, id); err != nil {
					return err
				}
				rlsSet = true
			}
			if _, err := tx.exec(ctx, "DELETE FROM "+qualifiedIdent(db.dialect, p.schema, p.table)+" WHERE "+dialect.Quote(db.dialect, TenantColumn)+"="+string(db.dialect.AppendPlaceholder(nil, 1)), id); err != nil {
				return err
			}
		}
		for _, o := range objs {
			if o.kind == "schema" {
				if _, err := tx.exec(ctx, db.namespaceSQL("DROP", o.name)); err != nil {
					return err
				}
			}
		}
		for _, del := range []string{db.cat.deletePlacementsSQL, db.cat.deleteObjectsSQL, db.cat.deleteSQL} {
			if _, err := tx.exec(ctx, del, id); err != nil {
				return err
			}
		}
		return db.cat.logged(ctx, tx, id, nil)
	})
	db.reg.InvalidateTenant(id)
	return err
}
