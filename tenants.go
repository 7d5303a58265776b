package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantmap/tenantmap/dialect"
)

// Tenants is the tenant lifecycle of a DB: create, look up, list, drop.
type Tenants struct{ db *DB }

// Tenants returns the DB's tenant lifecycle operations.
func (db *DB) Tenants() *Tenants { return &Tenants{db: db} }

// StatusActive is the status of a tenant that can be used.
const StatusActive = "active"

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
	}
	stmts, objs, err := db.provisionDDL(bindings, t.Key)
	if err != nil {
		return Tenant{}, err
	}
	insertTenant := func(q querier) error {
		if _, err := q.exec(ctx, db.cat.insertSQL, t.ID, t.Key, t.Status, t.Version, t.CreatedAt); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %q (or its physical key %q)", ErrTenantExists, id, t.Key)
			}
			return err
		}
		return nil
	}
	if db.dialect.Features()&dialect.TransactionalDDL != 0 {
		err = inTx(ctx, db.be, func(tx querier) error {
			if err := insertTenant(tx); err != nil {
				return err
			}
			if err := db.cat.record(ctx, tx, id, objs); err != nil {
				return err
			}
			for _, s := range stmts {
				if _, err := tx.exec(ctx, s.sql); err != nil {
					return fmt.Errorf("%w\n\tin: %s", err, s.sql)
				}
			}
			return nil
		})
	} else {
		err = db.provisionWithoutTx(ctx, insertTenant, objs, stmts, id)
	}
	if err != nil {
		return Tenant{}, err
	}
	// A lookup that failed before the tenant existed cached nothing, but a
	// dropped tenant of the same id may still have mappings.
	db.reg.InvalidateTenant(id)
	return t, nil
}

// provisionWithoutTx provisions where DDL commits implicitly (MySQL): the
// catalog row first, so a concurrent Create of the same id fails, then the
// object records, then each statement; on failure it undoes what it made,
// newest first, and removes the records and the row, leaving no half-made
// tenant.
func (db *DB) provisionWithoutTx(ctx context.Context, insertTenant func(querier) error, objs []object, stmts []ddlStmt, id string) error {
	if err := insertTenant(db.be); err != nil {
		return err // the id is taken (or the insert failed): nothing of ours to undo
	}
	if err := db.cat.record(ctx, db.be, id, objs); err != nil {
		cleanup := context.WithoutCancel(ctx)
		_, _ = db.be.exec(cleanup, db.cat.deleteObjectsSQL, id)
		_, _ = db.be.exec(cleanup, db.cat.deleteSQL, id)
		return err
	}
	for i, s := range stmts {
		if _, err := db.be.exec(ctx, s.sql); err != nil {
			errs := []error{fmt.Errorf("%w\n\tin: %s", err, s.sql)}
			undo := func(sql string, args ...any) {
				if _, err := db.be.exec(context.WithoutCancel(ctx), sql, args...); err != nil {
					errs = append(errs, fmt.Errorf("undoing the tenant (run it again or drop it): %w\n\tin: %s", err, sql))
				}
			}
			for j := i - 1; j >= 0; j-- {
				if stmts[j].undo != "" {
					undo(stmts[j].undo)
				}
			}
			undo(db.cat.deleteObjectsSQL, id)
			undo(db.cat.deleteSQL, id)
			return errors.Join(errs...)
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
// where DDL cannot be rolled back ("" when dropping its table undoes it).
type ddlStmt struct {
	sql, undo string
}

// provisionDDL renders the statements that create a tenant's schemas,
// tables and indexes, and lists the objects they make.
func (db *DB) provisionDDL(bindings []*binding, key string) ([]ddlStmt, []object, error) {
	var stmts []ddlStmt
	var objs []object
	schemas := map[string]bool{}
	limit := db.dialect.MaxIdentifierLength()
	for _, b := range bindings {
		schema, table := b.strategy.physical(key, b.model.name, db.cfg.Schema, limit)
		for _, name := range []string{schema, table} {
			if db.dialect.ReservedPrefix(name) {
				return nil, nil, fmt.Errorf("%w: the physical name %q begins with a prefix %s reserves", ErrInvalidTenantID, name, db.dialect.Name())
			}
		}
		if schema == db.cfg.Schema && (table == CatalogTable || table == ObjectTable) {
			return nil, nil, fmt.Errorf("%w: %q is a catalog table", ErrNameConflict, table)
		}
		if b.strategy.namespaced() && !schemas[schema] {
			schemas[schema] = true
			stmts = append(stmts, ddlStmt{sql: db.namespaceSQL("CREATE", schema), undo: db.namespaceSQL("DROP", schema)})
			objs = append(objs, object{kind: "schema", name: schema})
		}
		objs = append(objs, object{kind: "table", schema: schema, name: table, model: b.model.name})
		mp := buildMapping(db.dialect, b.model, "", schema, table)
		for i, s := range mp.ddl(db.dialect, false) {
			st := ddlStmt{sql: s}
			if i == 0 {
				st.undo = "DROP TABLE IF EXISTS " + mp.qtable
			}
			stmts = append(stmts, st)
		}
	}
	return stmts, objs, nil
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
	After string // list ids greater than this; "" starts at the beginning
	Limit int    // page size; 0 means 100, at most 10,000
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
	page, err := ts.db.cat.list(ctx, ts.db.be, o.After, limit)
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

// Drop deletes a tenant: its tables (its schemas, for SchemaPerTenant) and
// all their rows, and its catalog record, in one transaction. It refuses
// unless confirm names the same tenant, so a wrong variable cannot drop one
// tenant while meaning another.
func (ts *Tenants) Drop(ctx context.Context, id string, confirm DropConfirmation) error {
	return opError("drop tenant", id, "", ts.drop(ctx, id, confirm))
}

func (ts *Tenants) drop(ctx context.Context, id string, confirm DropConfirmation) error {
	db := ts.db
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	if confirm.id != id {
		return fmt.Errorf("%w: pass tenantmap.ConfirmDrop(%q)", ErrDropNotConfirmed, id)
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
		for _, o := range objs {
			if o.kind != "table" {
				continue
			}
			q := dialect.Quote(db.dialect, o.name)
			if o.schema != "" {
				q = dialect.Quote(db.dialect, o.schema) + "." + q
			}
			if _, err := tx.exec(ctx, "DROP TABLE IF EXISTS "+q); err != nil {
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
		if _, err := tx.exec(ctx, db.cat.deleteObjectsSQL, id); err != nil {
			return err
		}
		_, err = tx.exec(ctx, db.cat.deleteSQL, id)
		return err
	})
	db.reg.InvalidateTenant(id)
	return err
}
