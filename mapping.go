package tenantmap

import (
	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap/dialect"
)

// mapping is one model mapped onto one tenant's physical home: its quoted
// names and its SQL, rendered once when the mapping is built. All the SQL
// strings are slices of one allocation.
//
// For a shared table (shared) the statements carry the tenant: SELECT,
// COUNT, exists and DELETE take it as their first argument, INSERT and
// UPDATE as their last.
type mapping struct {
	model    *Model
	tenant   string
	database string    // the tenant's own database, reached on connections of its own; "" for the DB's
	schema   string    // physical, unquoted; "" where the dialect has no schemas
	table    string    // physical, unquoted
	shared   bool      // one table for every tenant, filtered on TenantColumn
	own      *tenantDB // connections to the tenant's own database, if it has one

	qtable     string // quoted, schema-qualified
	selectSQL  string // SELECT cols FROM table [WHERE tenant]
	getSQL     string // … WHERE pk = $1 (AND, for a shared table)
	insertSQL  string
	insertHead string // INSERT INTO table (cols), for multi-row inserts
	updateSQL  string
	deleteSQL  string
	countSQL   string // SELECT COUNT(*) FROM table [WHERE tenant]
	existsSQL  string // SELECT 1 FROM table [WHERE tenant]
	packedUses int    // how many of updateSQL's parameters take the custom fields' JSON (one per use)
}

// placement is where one model of one tenant lives.
type placement struct {
	kind     strategyKind
	database string // a database of the tenant's own that needs connections of its own
	schema   string
	table    string
	fields   string // the tenant's custom fields of the model, as the catalog records them (JSON); "" for none
}

// buildMapping renders every statement of m for the tenant's physical names.
func buildMapping(d dialect.Dialect, m *Model, tenant string, p placement) *mapping {
	mp := &mapping{model: m, tenant: tenant, database: p.database, schema: p.schema, table: p.table, shared: p.kind == sharedTable}
	b := make([]byte, 0, 128+len(m.fields)*48)
	var off [10]int
	mark := func(i int) { off[i] = len(b) }
	tenantCond := func(n int) {
		b = d.AppendIdent(b, TenantColumn)
		b = append(b, '=')
		b = d.AppendPlaceholder(b, n)
	}
	where := func() { // the tenant filter that begins a shared table's WHERE
		if mp.shared {
			b = append(b, " WHERE "...)
			tenantCond(1)
		}
	}

	mark(0)
	if p.schema != "" {
		b = d.AppendIdent(b, p.schema)
		b = append(b, '.')
	}
	b = d.AppendIdent(b, p.table)
	qt := string(b[off[0]:]) // rendered again below from the same bytes
	// Queries read a shared table's custom fields out of its JSON column
	// under their own names, through a derived table named as the table.
	from := qt
	if pk := m.packed(); pk != nil {
		var fb []byte
		fb = append(fb, "(SELECT *"...)
		col := dialect.Quote(d, pk.column)
		for _, f := range pk.packed {
			fb = append(fb, ", "...)
			def := ""
			if f.def != nil && !f.def.now {
				def = f.def.literal(d)
			}
			fb = append(fb, d.JSONField(col, f.key, f.kind, def)...)
			fb = append(fb, " AS "...)
			fb = d.AppendIdent(fb, f.column)
		}
		fb = append(fb, " FROM "...)
		fb = append(fb, qt...)
		fb = append(fb, ") AS "...)
		fb = d.AppendIdent(fb, p.table)
		from = string(fb)
	}

	mark(1) // SELECT
	b = append(b, "SELECT "...)
	for i, f := range m.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.AppendIdent(b, f.column)
	}
	b = append(b, " FROM "...)
	b = append(b, from...)
	where()
	mark(2) // get = SELECT … + WHERE
	if mp.shared {
		b = append(b, " AND "...)
	} else {
		b = append(b, " WHERE "...)
	}
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, 1+btoi(mp.shared))

	mark(3) // INSERT
	b = append(b, "INSERT INTO "...)
	b = append(b, qt...)
	b = append(b, " ("...)
	n := 0
	for _, f := range m.fields {
		if f.auto {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = d.AppendIdent(b, f.column)
		n++
	}
	if mp.shared {
		if n > 0 {
			b = append(b, ',')
		}
		b = d.AppendIdent(b, TenantColumn)
		n++
	}
	b = append(b, ')')
	mark(4)
	b = append(b, " VALUES ("...)
	b = appendPlaceholders(b, d, 1, n)
	b = append(b, ')')
	if m.pk.auto && d.Features()&dialect.Returning != 0 {
		b = append(b, " RETURNING "...)
		b = d.AppendIdent(b, m.pk.column)
	}

	mark(5) // UPDATE
	b = append(b, "UPDATE "...)
	b = append(b, qt...)
	b = append(b, " SET "...)
	n = 0
	for i, f := range m.fields[1:] {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.AppendIdent(b, f.column)
		b = append(b, '=')
		if f.packed == nil {
			n++
			b = d.AppendPlaceholder(b, n)
			continue
		}
		// A shared table's custom fields: the ones this mapping knows are
		// set, keys it does not know (added since by another process) kept.
		b = d.AppendJSONSet(b, dialect.Quote(d, f.column), packedKeys(f.packed), func(b []byte) []byte {
			n++
			mp.packedUses++
			return d.AppendPlaceholder(b, n)
		})
	}
	b = append(b, " WHERE "...)
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, n+1)
	if mp.shared {
		b = append(b, " AND "...)
		tenantCond(n + 2)
	}

	mark(6) // DELETE
	b = append(b, "DELETE FROM "...)
	b = append(b, qt...)
	where()
	if mp.shared {
		b = append(b, " AND "...)
	} else {
		b = append(b, " WHERE "...)
	}
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, 1+btoi(mp.shared))

	mark(7) // COUNT
	b = append(b, "SELECT COUNT(*) FROM "...)
	b = append(b, from...)
	where()
	mark(8) // exists
	b = append(b, "SELECT 1 FROM "...)
	b = append(b, from...)
	where()
	mark(9)

	s := string(b)
	mp.qtable = s[off[0]:off[1]]
	mp.selectSQL = s[off[1]:off[2]]
	mp.getSQL = s[off[1]:off[3]]
	mp.insertSQL = s[off[3]:off[5]]
	mp.insertHead = s[off[3]:off[4]]
	mp.updateSQL = s[off[5]:off[6]]
	mp.deleteSQL = s[off[6]:off[7]]
	mp.countSQL = s[off[7]:off[8]]
	mp.existsSQL = s[off[8]:off[9]]
	return mp
}

// tenantArgs are the arguments of the tenant filter that begins a shared
// table's WHERE; none for a table of the tenant's own.
func (mp *mapping) tenantArgs() []any {
	if mp.shared {
		return []any{mp.tenant}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// identifier is the table's name for pgx's CopyFrom.
func (mp *mapping) identifier() pgx.Identifier {
	if mp.schema == "" {
		return pgx.Identifier{mp.table}
	}
	return pgx.Identifier{mp.schema, mp.table}
}

// ddl renders the statements that create the mapping's table and indexes.
// ifNotExists makes them idempotent. A shared table leads with the tenant
// column, which also leads its primary key and every index.
func (mp *mapping) ddl(d dialect.Dialect, ifNotExists bool) []string {
	m := mp.model
	feats := d.Features()
	var b []byte
	b = append(b, "CREATE TABLE "...)
	if ifNotExists {
		b = append(b, "IF NOT EXISTS "...)
	}
	b = append(b, mp.qtable...)
	b = append(b, " ("...)
	indexed := map[*field]bool{m.pk: true}
	for _, ix := range m.indexes {
		for _, f := range ix.cols {
			indexed[f] = true
		}
	}
	// A shared table's key is (tenant, key), except for a generated key
	// where the database can only generate a lone primary key (SQLite); the
	// pair is then a unique index.
	compositePK := mp.shared && (!m.pk.auto || feats&dialect.CompositeAutoKey != 0)
	if mp.shared {
		b = d.AppendIdent(b, TenantColumn)
		b = append(b, ' ')
		b = append(b, d.ColumnType(dialect.Column{Name: TenantColumn, Kind: dialect.String, Size: MaxTenantIDLength, Indexed: true})...)
		b = append(b, " NOT NULL, "...)
	}
	for i, f := range m.fields {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = d.AppendIdent(b, f.column)
		b = append(b, ' ')
		b = append(b, d.ColumnType(dialect.Column{Name: f.column, Kind: f.kind, Size: f.size, Nullable: f.nullable, AutoPK: f.auto, KeyPart: f.auto && compositePK, Indexed: indexed[f]})...)
		if f.pk && !f.auto && !compositePK {
			b = append(b, " PRIMARY KEY"...)
		}
		// A caller-set key is NOT NULL in so many words: SQLite lets NULL
		// into a primary key that is not an INTEGER one.
		if !f.nullable && !f.auto {
			b = append(b, " NOT NULL"...)
		}
		if f.def != nil {
			b = append(b, " DEFAULT "...)
			b = append(b, f.def.literal(d)...)
		}
	}
	if compositePK {
		b = append(b, ", PRIMARY KEY ("...)
		b = d.AppendIdent(b, TenantColumn)
		b = append(b, ", "...)
		b = d.AppendIdent(b, m.pk.column)
		b = append(b, ')')
	}
	indexes := m.indexes
	if mp.shared && !compositePK {
		indexes = append([]modelIndex{{name: "tenant_" + m.pk.column, unique: true, cols: []*field{m.pk}}}, indexes...)
	}
	appendIndexName := func(ix modelIndex) {
		b = d.AppendIdent(b, indexName(d, mp.table, ix.name, ix.unique))
	}
	indexCols := func(ix modelIndex) {
		b = append(b, " ("...)
		if mp.shared {
			b = d.AppendIdent(b, TenantColumn)
			b = append(b, ", "...)
		}
		for i, f := range ix.cols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = d.AppendIdent(b, f.column)
		}
		b = append(b, ')')
	}
	if feats&dialect.InlineIndexes != 0 {
		for _, ix := range indexes {
			if ix.unique {
				b = append(b, ", UNIQUE KEY "...)
			} else {
				b = append(b, ", KEY "...)
			}
			appendIndexName(ix)
			indexCols(ix)
		}
		indexes = nil
	}
	b = append(b, ')')
	stmts := []string{string(b)}
	for _, ix := range indexes {
		b = b[:0]
		b = append(b, "CREATE "...)
		if ix.unique {
			b = append(b, "UNIQUE "...)
		}
		b = append(b, "INDEX "...)
		if ifNotExists {
			b = append(b, "IF NOT EXISTS "...)
		}
		appendIndexName(ix)
		b = append(b, " ON "...)
		b = append(b, mp.qtable...)
		indexCols(ix)
		stmts = append(stmts, string(b))
	}
	return stmts
}

// qualifiedIdent quotes a table's name, qualified by its schema if it has one.
func qualifiedIdent(d dialect.Dialect, schema, table string) string {
	var b []byte
	if schema != "" {
		b = append(d.AppendIdent(b, schema), '.')
	}
	return string(d.AppendIdent(b, table))
}

// placeholders renders the markers $from … $from+n-1 joined by commas.
func appendPlaceholders(b []byte, d dialect.Dialect, from, n int) []byte {
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.AppendPlaceholder(b, from+i)
	}
	return b
}
