package tenantmap

import (
	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap/dialect"
)

// mapping is one model mapped onto one tenant's physical home: its quoted
// names and its SQL, rendered once when the mapping is built. All the SQL
// strings are slices of one allocation.
type mapping struct {
	model  *Model
	tenant string
	schema string // physical, unquoted; "" where the dialect has no schemas
	table  string // physical, unquoted

	qtable    string // quoted, schema-qualified
	selectSQL string // SELECT cols FROM table
	getSQL    string // … WHERE pk = $1
	insertSQL string
	updateSQL string
	deleteSQL string
	countSQL  string
}

// buildMapping renders every statement of m for the tenant's physical names.
func buildMapping(d dialect.Dialect, m *Model, tenant, schema, table string) *mapping {
	mp := &mapping{model: m, tenant: tenant, schema: schema, table: table}
	b := make([]byte, 0, 64+len(m.fields)*48)
	var off [8]int
	mark := func(i int) { off[i] = len(b) }

	mark(0)
	if schema != "" {
		b = d.AppendIdent(b, schema)
		b = append(b, '.')
	}
	b = d.AppendIdent(b, table)
	qt := string(b[off[0]:]) // rendered again below from the same bytes

	mark(1) // SELECT
	b = append(b, "SELECT "...)
	for i, f := range m.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.AppendIdent(b, f.column)
	}
	b = append(b, " FROM "...)
	b = append(b, qt...)
	mark(2) // get = SELECT … + WHERE
	b = append(b, " WHERE "...)
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, 1)

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
	b = append(b, ") VALUES ("...)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = d.AppendPlaceholder(b, i)
	}
	b = append(b, ')')
	if m.pk.auto && d.Features()&dialect.Returning != 0 {
		b = append(b, " RETURNING "...)
		b = d.AppendIdent(b, m.pk.column)
	}

	mark(4) // UPDATE
	b = append(b, "UPDATE "...)
	b = append(b, qt...)
	b = append(b, " SET "...)
	n = 0
	for _, f := range m.fields[1:] {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = d.AppendIdent(b, f.column)
		b = append(b, '=')
		b = d.AppendPlaceholder(b, n)
	}
	b = append(b, " WHERE "...)
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, n+1)

	mark(5) // DELETE
	b = append(b, "DELETE FROM "...)
	b = append(b, qt...)
	b = append(b, " WHERE "...)
	b = d.AppendIdent(b, m.pk.column)
	b = append(b, '=')
	b = d.AppendPlaceholder(b, 1)

	mark(6) // COUNT
	b = append(b, "SELECT COUNT(*) FROM "...)
	b = append(b, qt...)
	mark(7)

	s := string(b)
	mp.qtable = s[off[0]:off[1]]
	mp.selectSQL = s[off[1]:off[2]]
	mp.getSQL = s[off[1]:off[3]]
	mp.insertSQL = s[off[3]:off[4]]
	mp.updateSQL = s[off[4]:off[5]]
	mp.deleteSQL = s[off[5]:off[6]]
	mp.countSQL = s[off[6]:off[7]]
	return mp
}

// identifier is the table's name for pgx's CopyFrom.
func (mp *mapping) identifier() pgx.Identifier {
	if mp.schema == "" {
		return pgx.Identifier{mp.table}
	}
	return pgx.Identifier{mp.schema, mp.table}
}

// ddl renders the statements that create the mapping's table and indexes.
// ifNotExists makes them idempotent.
func (mp *mapping) ddl(d dialect.Dialect, ifNotExists bool) []string {
	m := mp.model
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
	for i, f := range m.fields {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = d.AppendIdent(b, f.column)
		b = append(b, ' ')
		b = append(b, d.ColumnType(dialect.Column{Name: f.column, Kind: f.kind, Size: f.size, Nullable: f.nullable, AutoPK: f.auto, Indexed: indexed[f]})...)
		if f.pk && !f.auto {
			b = append(b, " PRIMARY KEY"...)
		}
		if !f.nullable && !f.pk {
			b = append(b, " NOT NULL"...)
		}
		if f.def != nil {
			b = append(b, " DEFAULT "...)
			if f.def.now {
				b = append(b, d.CurrentTimestamp()...)
			} else {
				b = append(b, f.def.sql...)
			}
		}
	}
	b = append(b, ')')
	stmts := []string{string(b)}
	limit := d.MaxIdentifierLength()
	for _, ix := range m.indexes {
		b = b[:0]
		b = append(b, "CREATE "...)
		suffix := "_idx"
		if ix.unique {
			b = append(b, "UNIQUE "...)
			suffix = "_key"
		}
		b = append(b, "INDEX "...)
		if ifNotExists {
			b = append(b, "IF NOT EXISTS "...)
		}
		b = d.AppendIdent(b, fitIdent(mp.table+"_"+ix.name+suffix, limit))
		b = append(b, " ON "...)
		b = append(b, mp.qtable...)
		b = append(b, " ("...)
		for i, f := range ix.cols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = d.AppendIdent(b, f.column)
		}
		b = append(b, ')')
		stmts = append(stmts, string(b))
	}
	return stmts
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
