package tenantmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// Custom fields: a tenant extends a model with fields of its own.
//
// In a table of the tenant's own (TablePerTenant, SchemaPerTenant,
// DatabasePerTenant) a custom field is a real column, added, renamed and
// dropped by DDL on that table alone. In a SharedTable, DDL would change
// every tenant's table at once, so a tenant's custom fields are kept in one
// nullable JSON column of the shared table (tm_custom), added once, the
// first time any tenant of the table adds a field: each row holds its own
// tenant's values, other tenants' rows stay NULL, and adding, renaming or
// dropping a field changes only the catalog. Values are keyed in the JSON
// by the field's id, not its name, so a rename rewrites no row, and a field
// dropped and added again under the same name does not see the old values.

// maxCustomFields bounds the custom fields of one tenant's model;
// maxCustomRecords the fields it may have had, dropped ones included.
const (
	maxCustomFields  = 100
	maxCustomRecords = 1000
	// maxIDDigits bounds an id's number: ids are given one past the
	// highest, at most maxCustomRecords of them, after at most
	// maxCustomRecords imported (Import takes no higher number).
	maxIDDigits = 4
)

// customField is a custom field as the catalog records it. A dropped field
// stays in the record, marked, so that its id is never given again: a
// shared table's rows may still hold values under it.
type customField struct {
	// ID is the field's key in a shared table's JSON: f, a number, and a
	// letter for its kind (kindCode), so that one key holds values of one
	// kind in every tenant's rows, and a cast in a query never meets
	// another tenant's value of another kind.
	ID      string `json:"id"`
	Dropped bool   `json:"dropped,omitempty"`
	FieldDef
}

func parseCustom(fields string) ([]customField, error) {
	if fields == "" {
		return nil, nil
	}
	var out []customField
	dec := json.NewDecoder(strings.NewReader(fields))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("tenantmap: the catalog's custom fields are not readable: %w", err)
	}
	return out, nil
}

// live is the fields of cur that are not dropped.
func live(cur []customField) []customField {
	out := make([]customField, 0, len(cur))
	for _, c := range cur {
		if !c.Dropped {
			out = append(out, c)
		}
	}
	return out
}

// kindCode is the letter a custom field's id ends in.
func kindCode(k dialect.Kind) byte {
	switch k {
	case dialect.UUID:
		return 'u'
	case dialect.Int16, dialect.Int32, dialect.Int64:
		return 'i'
	case dialect.Float32, dialect.Float64:
		return 'f'
	case dialect.Bool:
		return 'b'
	case dialect.Time:
		return 't'
	case dialect.Bytes:
		return 'y'
	case dialect.JSON:
		return 'j'
	}
	return 's'
}

// idNumber is the number of a custom field id made for kind k, 0 if id is
// not one (f, a number without leading zeros, k's letter). Ids are written
// into SQL as JSON keys: nothing else may pass.
func idNumber(id string, k dialect.Kind) int {
	if len(id) < 3 || id[0] != 'f' || id[1] == '0' || id[len(id)-1] != kindCode(k) || len(id) > 2+maxIDDigits {
		return 0
	}
	n := 0
	for _, c := range id[1 : len(id)-1] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// newCustomID is an id no field of cur has had, for kind k.
func newCustomID(cur []customField, k dialect.Kind) string {
	n := 0
	for _, c := range cur {
		if kind, ok := fieldTypes[c.Type]; ok {
			n = max(n, idNumber(c.ID, kind))
		}
	}
	return "f" + strconv.Itoa(n+1) + string(kindCode(k))
}

// extend returns the model as a tenant sees it: m with the tenant's custom
// fields; m itself when there are none. shared says the fields live in a
// shared table's JSON column.
func (m *Model) extend(custom []customField, shared bool, d dialect.Dialect) (*Model, error) {
	if len(live(custom)) == 0 {
		return m, nil
	}
	x := *m
	x.base = m
	x.fields = slices.Clone(m.fields)
	x.indexes = slices.Clone(m.indexes)
	x.byCol = make(map[string]*field, len(m.byCol)+len(custom))
	for k, v := range m.byCol {
		x.byCol[k] = v
	}
	var packed *field
	if shared {
		packed = &field{goName: packedColumn, column: packedColumn, kind: dialect.JSON, nullable: true, bag: true, offset: m.valuesOff, typ: rawJSONType, layout: d.JSONTimeLayout()}
		x.fields = append(x.fields, packed)
		x.byCol[packedColumn] = packed
	}
	for i, c := range custom {
		if c.Dropped {
			continue
		}
		f, errs := compileFieldDef(c.FieldDef, i)
		if len(errs) > 0 {
			return nil, fmt.Errorf("tenantmap: custom field %q of %s: %v", c.Name, m.name, errs[0])
		}
		if idNumber(c.ID, f.kind) == 0 {
			return nil, fmt.Errorf("tenantmap: custom field %q of %s has the id %q, which is not one tenantmap makes", c.Name, m.name, c.ID)
		}
		f.offset, f.key = m.valuesOff, c.ID
		x.byCol[f.column] = f
		x.custom = append(x.custom, f)
		if shared {
			f.in = packed
			packed.packed = append(packed.packed, f)
			continue
		}
		x.fields = append(x.fields, f)
		if c.Index || c.Unique {
			x.indexes = append(x.indexes, modelIndex{name: customIndexName(c.Name), unique: c.Unique, cols: []*field{f}})
		}
	}
	x.finish()
	return &x, nil
}

// packed is the column a shared table's custom fields are kept in; nil
// if the model has none.
func (m *Model) packed() *field {
	if len(m.custom) == 0 || m.custom[0].in == nil {
		return nil
	}
	return m.custom[0].in
}

// customIndexName is the suffix of a custom field's index name; the prefix
// keeps it apart from the model's own indexes.
func customIndexName(field string) string { return "x_" + field }

// CustomFields lists a tenant's custom fields of a model, in the order they
// were added.
func (ts *Tenants) CustomFields(ctx context.Context, id, model string) ([]FieldDef, error) {
	db := ts.db
	if err := ValidateTenantID(id); err != nil {
		return nil, opError("custom fields", id, model, err)
	}
	b := db.bindingNamed(model)
	if b == nil {
		return nil, opError("custom fields", id, model, fmt.Errorf("%w: no model named %q is registered", ErrInvalidField, model))
	}
	rec, err := db.cat.read(ctx, db.be, id)
	if err != nil {
		return nil, opError("custom fields", id, model, err)
	}
	if rec.Status != StatusActive && rec.Status != StatusSuspended {
		return nil, opError("custom fields", id, model, fmt.Errorf("%w: %q is %s", ErrTenantNotFound, id, rec.Status))
	}
	p, _, err := db.cat.placement(ctx, db.be, id, model)
	if err != nil {
		return nil, opError("custom fields", id, model, err)
	}
	cur, err := parseCustom(p.fields)
	if err != nil {
		return nil, opError("custom fields", id, model, err)
	}
	var out []FieldDef
	for _, c := range live(cur) {
		out = append(out, c.FieldDef)
	}
	return out, nil
}

// AddField adds a custom field to a tenant's model: a column of the
// tenant's own table (or, in a shared table, a key of its JSON column; see
// the package documentation). The model must be a run-time model or a
// struct with an Extra field, which holds the values. The field must be
// nullable or have a default, since the table may have rows; it cannot be
// a key, and in a shared table it cannot be indexed. The change takes the
// tenant's migration lock, is applied with the catalog's record where the
// database's DDL is transactional, and bumps the tenant's placement
// version, so that every process drops its mapping.
func (ts *Tenants) AddField(ctx context.Context, id, model string, fd FieldDef) error {
	return ts.db.changeFields(ctx, "add field", id, model, func(base *Model, cur []customField, shared bool) ([]customField, fieldChange, error) {
		if err := checkNewField(base, cur, fd, shared); err != nil {
			return nil, fieldChange{}, err
		}
		next := append(slices.Clone(cur), customField{ID: newCustomID(cur, fieldTypes[fd.Type]), FieldDef: fd})
		return next, fieldChange{add: fd.Name}, nil
	})
}

// checkNewField checks a field to be added to cur, the fields of a model
// base in a shared table or not.
func checkNewField(base *Model, cur []customField, fd FieldDef, shared bool) error {
	if n := len(live(cur)); n >= maxCustomFields {
		return fmt.Errorf("%w: %s already has %d custom fields, the most a tenant may add", ErrInvalidField, base.name, n)
	}
	if len(cur) >= maxCustomRecords {
		return fmt.Errorf("%w: %s has had %d custom fields, the most a tenant may add and drop", ErrInvalidField, base.name, len(cur))
	}
	if err := checkCustomName(base, cur, fd.Name); err != nil {
		return err
	}
	if _, errs := compileFieldDef(fd, len(cur)); len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidField, errs[0])
	}
	switch {
	case fd.Key:
		return fmt.Errorf("%w: %q: a custom field cannot be the key", ErrInvalidField, fd.Name)
	case !fd.Nullable && fd.Default == nil:
		return fmt.Errorf("%w: %q is not nullable and has no default: the rows already there would have no value", ErrInvalidField, fd.Name)
	case fd.Default == "now":
		return fmt.Errorf("%w: %q: a custom field's default is a constant, which the rows already there get too; make a time field nullable and set it on insert", ErrInvalidField, fd.Name)
	case shared && (fd.Index || fd.Unique):
		return fmt.Errorf("%w: %q: a shared table keeps custom fields in its JSON column, which is not indexed per tenant", ErrInvalidField, fd.Name)
	}
	return nil
}

// RenameField renames a tenant's custom field.
func (ts *Tenants) RenameField(ctx context.Context, id, model, from, to string) error {
	return ts.db.changeFields(ctx, "rename field", id, model, func(base *Model, cur []customField, shared bool) ([]customField, fieldChange, error) {
		i := slices.IndexFunc(cur, func(c customField) bool { return c.Name == from && !c.Dropped })
		if i < 0 {
			return nil, fieldChange{}, fmt.Errorf("%w: %s has no custom field %q", ErrInvalidField, model, from)
		}
		if err := checkCustomName(base, cur, to); err != nil {
			return nil, fieldChange{}, err
		}
		next := slices.Clone(cur)
		next[i].Name = to
		return next, fieldChange{rename: from, to: to}, nil
	})
}

// DropField drops a tenant's custom field and its values.
func (ts *Tenants) DropField(ctx context.Context, id, model, name string) error {
	return ts.db.changeFields(ctx, "drop field", id, model, func(base *Model, cur []customField, shared bool) ([]customField, fieldChange, error) {
		i := slices.IndexFunc(cur, func(c customField) bool { return c.Name == name && !c.Dropped })
		if i < 0 {
			return nil, fieldChange{}, fmt.Errorf("%w: %s has no custom field %q", ErrInvalidField, model, name)
		}
		next := slices.Clone(cur)
		next[i].Dropped = true
		return next, fieldChange{drop: name}, nil
	})
}

func checkCustomName(base *Model, cur []customField, name string) error {
	switch {
	case !validName(name, 63):
		return fmt.Errorf("%w: name %q: use 1-63 of a-z, 0-9, _, starting with a letter or _", ErrInvalidField, name)
	case reservedColumn(name):
		return fmt.Errorf("%w: name %q is tenantmap's own", ErrInvalidField, name)
	case base.byCol[name] != nil:
		return fmt.Errorf("%w: %q is a field of %s itself", ErrInvalidField, name, base.name)
	case slices.ContainsFunc(cur, func(c customField) bool { return c.Name == name && !c.Dropped }):
		return fmt.Errorf("%w: %s has a custom field %q already", ErrInvalidField, base.name, name)
	}
	for _, ix := range base.indexes {
		if ix.name == customIndexName(name) {
			return fmt.Errorf("%w: %q: its index would be named as %s's index %s", ErrInvalidField, name, base.name, ix.name)
		}
	}
	return nil
}

// fieldChange is the DDL a custom field change needs in a table of the
// tenant's own: one of add, rename (to to) or drop names a field.
type fieldChange struct{ add, rename, to, drop string }

type fieldPlan func(base *Model, cur []customField, shared bool) ([]customField, fieldChange, error)

// changeFields applies a change to a tenant's custom fields of a model
// under the tenant's migration lock: PostgreSQL locks the catalog row, in a
// transaction that also holds the DDL; SQLite's transaction is the file's
// one writer; MySQL takes the session lock Migrate takes, and its DDL,
// which commits at once, is checked against the table first, so a change
// cut short between the DDL and the catalog is finished by running it
// again.
func (db *DB) changeFields(ctx context.Context, op, id, model string, plan fieldPlan) error {
	fail := func(err error) error { return opError(op, id, model, err) }
	if err := ValidateTenantID(id); err != nil {
		return fail(err)
	}
	b := db.bindingNamed(model)
	if b == nil {
		return fail(fmt.Errorf("%w: no model named %q is registered", ErrInvalidField, model))
	}
	if !b.model.dynamic && !b.model.hasExtra {
		return fail(fmt.Errorf("%w: %s is a struct without a tenantmap.Extra field to hold custom fields", ErrInvalidField, model))
	}
	defer db.reg.InvalidateTenant(id)
	var err error
	switch {
	case db.cat.migrationLockSQL != "":
		err = inTx(ctx, db.poolFor(id), func(tx querier) error {
			if _, err := db.migrationScope(ctx, tx, id, true, true); err != nil {
				return err
			}
			return db.applyFieldChange(ctx, tx, tx, id, b, plan)
		})
	case db.cat.tryLockSQL != "":
		conn, release, lerr := db.lockedConn(ctx, "tenant:"+id, true)
		if lerr != nil {
			return fail(lerr)
		}
		defer release()
		err = db.applyFieldChange(ctx, conn, conn, id, b, plan)
	default:
		err = inTx(ctx, db.be, func(tx querier) error { return db.applyFieldChange(ctx, tx, tx, id, b, plan) })
	}
	return fail(err)
}

// applyFieldChange reads the tenant's placement of b on cat, plans the
// change, runs its DDL (on tables, or the tenant's own database) and
// records it.
func (db *DB) applyFieldChange(ctx context.Context, cat, tables querier, id string, b *binding, plan fieldPlan) error {
	rec, err := db.cat.read(ctx, cat, id)
	if err != nil {
		return err
	}
	if rec.Status != StatusActive && rec.Status != StatusSuspended {
		return fmt.Errorf("%w: %q is %s", ErrTenantNotFound, id, rec.Status)
	}
	p, found, err := db.cat.placement(ctx, cat, id, b.model.name)
	if err != nil {
		return err
	}
	if !found {
		// A model registered after the tenant was made: record where it is,
		// so its fields have a row to live in.
		mp, _, err := db.placedMapping(ctx, cat, rec, b, placement{}, false)
		if err != nil {
			return err
		}
		p = placement{kind: sharedTable, database: mp.database, schema: mp.schema, table: mp.table}
		if !mp.shared {
			s, err := db.strategyFor(b, rec)
			if err != nil {
				return err
			}
			p.kind = s.kind
		}
		if _, err := cat.exec(ctx, db.cat.insertPlacementSQL, id, b.model.name, strategyNames[p.kind], p.database, p.schema, p.table); err != nil {
			return err
		}
	}
	shared := p.kind == sharedTable
	cur, err := parseCustom(p.fields)
	if err != nil {
		return err
	}
	next, change, err := plan(b.model, cur, shared)
	if err != nil {
		return err
	}
	old, err := b.model.extend(cur, shared, db.dialect)
	if err != nil {
		return err
	}
	nextModel, err := b.model.extend(next, shared, db.dialect)
	if err != nil {
		return err
	}
	mp := buildMapping(db.dialect, old, id, p)
	if p.database != "" && db.ownDatabases() {
		err = inTx(ctx, db.backendFor(id, p.database), func(tx querier) error { return db.fieldDDL(ctx, tx, mp, nextModel, change) })
	} else {
		err = db.fieldDDL(ctx, tables, mp, nextModel, change)
	}
	if err != nil {
		return err
	}
	doc, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := cat.exec(ctx, db.cat.setFieldsSQL, string(doc), id, b.model.name); err != nil {
		return err
	}
	_, err = cat.exec(ctx, db.cat.bumpSQL, id)
	return db.cat.logged(ctx, cat, id, err)
}

// fieldDDL runs a custom field change's DDL on q: in a shared table, the
// JSON column, added once; in a table of the tenant's own, the column and
// its index (next is the model with the change made). What the table shows done already (a change cut short after
// its DDL, where DDL commits at once) is not done again.
func (db *DB) fieldDDL(ctx context.Context, q querier, mp *mapping, next *Model, ch fieldChange) error {
	d := db.dialect
	cols, err := columnsOf(ctx, q, d, mp.schema, mp.table)
	if err != nil {
		return err
	}
	has := func(name string) bool {
		return slices.ContainsFunc(cols, func(c ColumnInfo) bool { return c.Name == name })
	}
	if mp.shared {
		if ch.add == "" || has(packedColumn) {
			return nil
		}
		if db.cat.lockSQL != "" {
			// Another tenant of the table may be adding it: wait for its
			// commit, then look again.
			if _, err := q.exec(ctx, db.cat.lockSQL); err != nil {
				return err
			}
			if cols, err = columnsOf(ctx, q, d, mp.schema, mp.table); err != nil || has(packedColumn) {
				return err
			}
		}
		def, _ := columnDDL(d, Column{Name: packedColumn, Kind: dialect.JSON, Nullable: true})
		_, err := q.exec(ctx, "ALTER TABLE "+mp.qtable+" ADD COLUMN "+def)
		if err != nil {
			// Another tenant's change may have added it meanwhile (MySQL,
			// which has no lock for it; the connection is still usable).
			if c, cerr := columnsOf(ctx, q, d, mp.schema, mp.table); cerr == nil {
				if cols = c; has(packedColumn) {
					return nil
				}
			}
		}
		return err
	}
	// A table of the tenant's own: each statement is run only if the table
	// shows it not done yet, so that a change cut short between statements
	// (MySQL commits each at once) is finished by running it again.
	m := mp.model
	ixs, err := indexesOf(ctx, q, d, mp.schema, mp.table)
	if err != nil {
		return err
	}
	hasIndex := func(model *Model, field string) (string, bool, bool) {
		ix, ok := indexIn(model, field)
		if !ok {
			return "", false, false
		}
		name := indexName(d, mp.table, ix.name, ix.unique)
		return name, ix.unique, slices.ContainsFunc(ixs, func(i IndexInfo) bool { return i.Name == name })
	}
	var stmts []string
	dropIndex := func(field string) {
		if name, _, there := hasIndex(m, field); there {
			stmts = append(stmts, d.DropIndexSQL(mp.schema, mp.table, name))
		}
	}
	createIndex := func(model *Model, field string) {
		if _, unique, there := hasIndex(model, field); !there {
			if _, ok := indexIn(model, field); ok {
				s, _ := renderDDL(d, model, mp, &addIndexStep{name: customIndexName(field), unique: unique, columns: []string{field}})
				stmts = append(stmts, s...)
			}
		}
	}
	alter := "ALTER TABLE " + mp.qtable + " "
	undo := ""
	switch {
	case ch.add != "":
		c, err := columnOf(next, Column{Name: ch.add})
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(cols, func(h ColumnInfo) bool { return h.Name == ch.add }); i >= 0 {
			// Left by a change cut short, or made by hand: it must be the
			// field's column.
			want := dialect.Column{Name: c.Name, Kind: c.Kind, Size: c.Size, Nullable: c.Nullable, Indexed: c.Indexed}
			if !d.SameType(cols[i].Type, want) || cols[i].Nullable != c.Nullable {
				return fmt.Errorf("%w: %s already has a column %q (%s %s), not the field's %s %s; drop it first",
					ErrInvalidField, qualified(mp.schema, mp.table), ch.add, cols[i].Type, nullText(cols[i].Nullable), d.ColumnType(want), nullText(c.Nullable))
			}
		} else {
			def, err := columnDDL(d, c)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidField, err)
			}
			stmts = append(stmts, alter+"ADD COLUMN "+def)
			undo = alter + "DROP COLUMN " + dialect.Quote(d, ch.add)
		}
		createIndex(next, ch.add)
	case ch.rename != "":
		if has(ch.rename) {
			dropIndex(ch.rename)
			stmts = append(stmts, alter+"RENAME COLUMN "+dialect.Quote(d, ch.rename)+" TO "+dialect.Quote(d, ch.to))
		}
		createIndex(next, ch.to)
	case ch.drop != "":
		dropIndex(ch.drop) // SQLite cannot drop an indexed column
		if has(ch.drop) {
			stmts = append(stmts, alter+"DROP COLUMN "+dialect.Quote(d, ch.drop))
		}
	}
	for i, stmt := range stmts {
		if _, err := q.exec(ctx, stmt); err != nil {
			err = fmt.Errorf("%w\n\tin: %s", err, stmt)
			if i > 0 && undo != "" && d.Features()&dialect.TransactionalDDL == 0 {
				// The column was added and committed, its index was not: take
				// the column away again, so the field is added whole or not at all.
				if _, uerr := q.exec(context.WithoutCancel(ctx), undo); uerr != nil {
					err = errors.Join(err, fmt.Errorf("removing the column again (drop it by hand): %w", uerr))
				}
			}
			return err
		}
	}
	return nil
}

// indexIn is the index of a custom field in m, if it has one.
func indexIn(m *Model, field string) (modelIndex, bool) {
	i := slices.IndexFunc(m.indexes, func(ix modelIndex) bool { return ix.name == customIndexName(field) })
	if i < 0 {
		return modelIndex{}, false
	}
	return m.indexes[i], true
}
