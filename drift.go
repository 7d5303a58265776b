package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tenantmap/tenantmap/dialect"
)

// DiffKind is the kind of a Difference.
type DiffKind string

// The kinds of Difference that Drift reports.
const (
	DiffBehind        DiffKind = "behind"         // the tenant's migration version is below the latest
	DiffAhead         DiffKind = "ahead"          // above the latest this program knows
	DiffMissingTable  DiffKind = "missing table"  // the model's table is not there
	DiffMissingColumn DiffKind = "missing column" // the model has a column the table lacks
	DiffExtraColumn   DiffKind = "extra column"   // the table has a column the model lacks
	DiffType          DiffKind = "type"           // a column's type is not the model's
	DiffNullable      DiffKind = "nullable"       // a column's NULL-ability is not the model's
	DiffKey           DiffKind = "key"            // a column's part in the primary key is not the model's
	DiffMissingIndex  DiffKind = "missing index"  // the model has an index the table lacks
	DiffExtraIndex    DiffKind = "extra index"    // the table has an index named as tenantmap names them, which the model lacks
	DiffIndex         DiffKind = "index"          // an index's columns or uniqueness are not the model's
)

// Difference is one way a tenant's live schema differs from what its
// models and migration version say it should be.
type Difference struct {
	Kind   DiffKind // DiffMissingColumn, …
	Model  string   // "" for DiffBehind and DiffAhead
	Table  string   // the physical table, schema-qualified where there are schemas
	Column string   // or the index's name, for index differences
	Want   string   // what the model says ("" for extra columns and indexes)
	Have   string   // what the database has ("" for missing ones)
}

func (d Difference) String() string {
	var b strings.Builder
	b.WriteString(string(d.Kind))
	if d.Table != "" {
		b.WriteString(" " + d.Table)
	}
	if d.Column != "" {
		b.WriteString("." + d.Column)
	}
	if d.Want != "" || d.Have != "" {
		fmt.Fprintf(&b, ": want %s, have %s", orNone(d.Want), orNone(d.Have))
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// TenantDrift is what Drift found for one tenant.
type TenantDrift struct {
	Tenant           string
	MigrationVersion int64
	Latest           int64
	Differences      []Difference // none when the live schema is what it should be
	Err              error        // the tenant could not be checked
}

// DriftOptions says which tenants Drift checks.
type DriftOptions struct {
	Tenants  []string // nil: every tenant that is not dropped
	Parallel int      // tenants checked at once (DefaultMigrateParallel if 0)
}

// Drift compares each tenant's live schema (introspection: columns, types,
// NULL-ability, primary key, indexes) with what the registered models say
// it should be, and reports the differences per tenant, in id order. A
// tenant whose migration version is behind the latest is reported as such
// as well: its differences are then the migrations it lacks. A shared
// table is checked once, and its differences reported for every tenant in
// it. Indexes are compared by the names tenantmap gives them; others are
// not looked at.
func (db *DB) Drift(ctx context.Context, o DriftOptions) ([]TenantDrift, error) {
	ids := o.Tenants
	if ids == nil {
		after := ""
		for {
			page, err := db.cat.list(ctx, db.be, after, "", 10_000)
			if err != nil {
				return nil, opError("drift", "", "", err)
			}
			for _, t := range page {
				if t.Status != StatusDropped {
					ids = append(ids, t.ID)
				}
			}
			if len(page) < 10_000 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	par := o.Parallel
	if par <= 0 {
		par = DefaultMigrateParallel
	}
	out := make([]TenantDrift, len(ids))
	shared := &sharedDrift{diffs: map[string][]Difference{}}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(par, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = db.driftOf(ctx, ids[i], shared)
			}
		}()
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	slices.SortFunc(out, func(a, b TenantDrift) int { return strings.Compare(a.Tenant, b.Tenant) })
	return out, ctx.Err()
}

// sharedDrift keeps each shared table's differences, found once.
type sharedDrift struct {
	mu    sync.Mutex
	diffs map[string][]Difference
	errs  map[string]error
}

func (db *DB) driftOf(ctx context.Context, id string, shared *sharedDrift) TenantDrift {
	res := TenantDrift{Tenant: id, Latest: db.migrations().latest()}
	if err := ValidateTenantID(id); err != nil {
		res.Err = err
		return res
	}
	rec, err := db.cat.read(ctx, db.be, id)
	if err != nil {
		res.Err = err
		return res
	}
	res.MigrationVersion = rec.MigrationVersion
	switch {
	case rec.MigrationVersion < res.Latest:
		res.Differences = append(res.Differences, Difference{Kind: DiffBehind, Want: strconv.FormatInt(res.Latest, 10), Have: strconv.FormatInt(rec.MigrationVersion, 10)})
	case rec.MigrationVersion > res.Latest:
		res.Differences = append(res.Differences, Difference{Kind: DiffAhead, Want: strconv.FormatInt(res.Latest, 10), Have: strconv.FormatInt(rec.MigrationVersion, 10)})
	}
	for _, b := range db.snapshotBindings() {
		mp, _, err := db.resolveMapping(ctx, db.be, rec, b)
		if err != nil {
			res.Err = fmt.Errorf("model %s: %w", b.model.name, err)
			return res
		}
		if mp.shared {
			key := mp.qtable
			shared.mu.Lock()
			diffs, done := shared.diffs[key]
			if !done {
				diffs, err = db.tableDrift(ctx, db.be, mp)
				if err == nil {
					shared.diffs[key] = diffs
				}
			}
			shared.mu.Unlock()
			if err != nil {
				res.Err = fmt.Errorf("model %s: %w", b.model.name, err)
				return res
			}
			res.Differences = append(res.Differences, diffs...)
			continue
		}
		diffs, err := db.tableDrift(ctx, db.backendFor(id, mp.database), mp)
		if err != nil {
			res.Err = fmt.Errorf("model %s: %w", b.model.name, err)
			return res
		}
		res.Differences = append(res.Differences, diffs...)
	}
	return res
}

// tableDrift compares one table with its model.
func (db *DB) tableDrift(ctx context.Context, q querier, mp *mapping) ([]Difference, error) {
	d := db.dialect
	m := mp.model
	table := qualified(mp.schema, mp.table)
	info, err := db.describe(ctx, q, mp)
	if isNotFound(err) {
		return []Difference{{Kind: DiffMissingTable, Model: m.name, Table: table}}, nil
	}
	if err != nil {
		return nil, err
	}
	diff := func(kind DiffKind, col, want, have string) Difference {
		return Difference{Kind: kind, Model: m.name, Table: table, Column: col, Want: want, Have: have}
	}
	// What the model says: the columns provisioning makes.
	compositePK := mp.shared && (!m.pk.auto || d.Features()&dialect.CompositeAutoKey != 0)
	type wantCol struct {
		c   dialect.Column
		key bool
	}
	var want []wantCol
	if mp.shared {
		want = append(want, wantCol{dialect.Column{Name: TenantColumn, Kind: dialect.String, Size: MaxTenantIDLength, Indexed: true}, compositePK})
	}
	for _, f := range m.fields {
		if f.packed != nil {
			continue // a shared table's custom fields column: some tenants' only, checked below
		}
		want = append(want, wantCol{dialect.Column{Name: f.column, Kind: f.kind, Size: f.size, Nullable: f.nullable, AutoPK: f.auto, KeyPart: f.auto && compositePK, Indexed: m.indexed(f)}, f.pk})
	}
	have := map[string]ColumnInfo{}
	for _, c := range info.Columns {
		have[c.Name] = c
	}
	var out []Difference
	for _, w := range want {
		h, ok := have[w.c.Name]
		if !ok {
			out = append(out, diff(DiffMissingColumn, w.c.Name, d.ColumnType(w.c), ""))
			continue
		}
		delete(have, w.c.Name)
		if !d.SameType(h.Type, w.c) {
			out = append(out, diff(DiffType, w.c.Name, d.ColumnType(w.c), h.Type))
		}
		if h.Nullable != w.c.Nullable && !w.c.AutoPK {
			out = append(out, diff(DiffNullable, w.c.Name, nullText(w.c.Nullable), nullText(h.Nullable)))
		}
		if h.Key != w.key {
			out = append(out, diff(DiffKey, w.c.Name, keyText(w.key), keyText(h.Key)))
		}
	}
	if h, ok := have[packedColumn]; ok && mp.shared {
		// Added by the first tenant of the table to add a custom field.
		delete(have, packedColumn)
		if want := (dialect.Column{Name: packedColumn, Kind: dialect.JSON, Nullable: true}); !d.SameType(h.Type, want) || !h.Nullable {
			out = append(out, diff(DiffType, packedColumn, d.ColumnType(want)+" NULL", h.Type+" "+nullText(h.Nullable)))
		}
	}
	for _, c := range info.Columns {
		if _, extra := have[c.Name]; extra {
			out = append(out, diff(DiffExtraColumn, c.Name, "", c.Type))
		}
	}
	// The indexes provisioning makes, by name.
	wantIx := map[string]IndexInfo{}
	addIx := func(name string, unique bool, cols []*field) {
		ix := IndexInfo{Name: indexName(d, mp.table, name, unique), Unique: unique}
		if mp.shared {
			ix.Columns = append(ix.Columns, TenantColumn)
		}
		for _, f := range cols {
			ix.Columns = append(ix.Columns, f.column)
		}
		wantIx[ix.Name] = ix
	}
	if mp.shared && !compositePK {
		addIx("tenant_"+m.pk.column, true, []*field{m.pk})
		ix := wantIx[indexName(d, mp.table, "tenant_"+m.pk.column, true)]
		ix.Columns = []string{TenantColumn, m.pk.column} // the key alone is the primary key (SQLite)
		wantIx[ix.Name] = ix
	}
	for _, ix := range m.indexes {
		addIx(ix.name, ix.unique, ix.cols)
	}
	for _, h := range info.Indexes {
		w, ok := wantIx[h.Name]
		if !ok {
			if strings.HasPrefix(h.Name, mp.table+"_") {
				out = append(out, diff(DiffExtraIndex, h.Name, "", indexText(h)))
			}
			continue
		}
		delete(wantIx, h.Name)
		if w.Unique != h.Unique || !slices.Equal(w.Columns, h.Columns) {
			out = append(out, diff(DiffIndex, h.Name, indexText(w), indexText(h)))
		}
	}
	names := make([]string, 0, len(wantIx))
	for name := range wantIx {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, diff(DiffMissingIndex, name, indexText(wantIx[name]), ""))
	}
	return out, nil
}

func nullText(nullable bool) string {
	if nullable {
		return "NULL"
	}
	return "NOT NULL"
}

func keyText(key bool) string {
	if key {
		return "in the primary key"
	}
	return "not in the primary key"
}

func indexText(ix IndexInfo) string {
	s := "(" + strings.Join(ix.Columns, ", ") + ")"
	if ix.Unique {
		s = "unique " + s
	}
	return s
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
