// Package sqlite is tenantmap's dialect for SQLite, used through the pure-Go
// driver modernc.org/sqlite.
package sqlite

import (
	"strconv"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// Dialect is the SQLite dialect. Its zero value is ready to use.
type Dialect struct{}

var _ dialect.Dialect = Dialect{}

// Name returns "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Features: SQLite has RETURNING (3.35+) and transactional DDL, no schemas
// inside a database and no COPY.
func (Dialect) Features() dialect.Feature {
	return dialect.Returning | dialect.TransactionalDDL | dialect.TableWideAutoKey
}

// MaxIdentifierLength: SQLite has no limit; 128 keeps names portable and
// readable.
func (Dialect) MaxIdentifierLength() int { return 128 }

// AppendIdent quotes with backticks. SQLite reads a double-quoted name that
// matches no column as a string literal (its "DQS" compatibility rule), so
// a misspelt or missing column would silently compare a constant; a
// backtick-quoted name is always an identifier, and a missing one an error.
func (Dialect) AppendIdent(b []byte, ident string) []byte { return dialect.AppendQuoted(b, ident, '`') }

// AppendPlaceholder appends ?NNN, numbered so a parameter can be reused.
func (Dialect) AppendPlaceholder(b []byte, n int) []byte {
	return strconv.AppendInt(append(b, '?'), int64(n), 10)
}

// ColumnType maps kinds onto SQLite's declared types. DATETIME makes the driver
// parse stored times back into time.Time.
func (Dialect) ColumnType(c dialect.Column) string {
	if c.AutoPK {
		return "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	switch c.Kind {
	case dialect.Bool:
		return "BOOLEAN"
	case dialect.Int16, dialect.Int32, dialect.Int64:
		return "INTEGER"
	case dialect.Float32, dialect.Float64:
		return "REAL"
	case dialect.Bytes:
		return "BLOB"
	case dialect.Time:
		return "DATETIME"
	case dialect.JSON:
		return "TEXT" // a declared type "JSON" would get NUMERIC affinity and turn '1' into 1
	default:
		if c.Size > 0 {
			return "VARCHAR(" + strconv.Itoa(c.Size) + ")"
		}
		return "TEXT"
	}
}

// ColumnsQuery reads pragma_table_info.
func (Dialect) ColumnsQuery(_, table string) (string, []any) {
	// An INTEGER PRIMARY KEY is the rowid, never NULL, whatever notnull says.
	return "SELECT `name`, lower(`type`), `notnull` = 0 AND NOT (`pk` > 0 AND lower(`type`) = 'integer'), `pk` > 0 FROM pragma_table_info(?1) ORDER BY `cid`", []any{table}
}

// ReservedPrefix: names beginning with sqlite_ are SQLite's own.
func (Dialect) ReservedPrefix(name string) bool { return dialect.HasPrefixFold(name, "sqlite_") }

// AppendLimit: SQLite needs a LIMIT before an OFFSET; -1 means no limit.
func (Dialect) AppendLimit(b []byte, limit, offset int) []byte {
	return dialect.AppendLimitOffset(b, limit, offset, "-1")
}

// Syntax: SQLite also quotes identifiers with backticks and brackets; its --
// comments end only at a newline; it has no E'…' or dollar-quoted strings.
func (Dialect) Syntax() dialect.Syntax {
	return dialect.Syntax{BacktickIdents: true, BracketIdents: true}
}

// CurrentTimestamp is the default for a time column's "now".
func (Dialect) CurrentTimestamp() string { return "CURRENT_TIMESTAMP" }

// IndexesQuery reads pragma_index_list and pragma_index_info; the indexes
// SQLite makes itself for UNIQUE and PRIMARY KEY constraints are left out.
func (Dialect) IndexesQuery(_, table string) (string, []any) {
	return "SELECT il.`name`, il.`unique` = 1, (SELECT group_concat(`name`, ',') FROM (SELECT ii.`name` FROM pragma_index_info(il.`name`) ii ORDER BY ii.`seqno`)) " +
		"FROM pragma_index_list(?1) il WHERE il.`origin` = 'c' ORDER BY il.`name`", []any{table}
}

// SameType compares with the declared type, which SQLite keeps as written.
func (d Dialect) SameType(described string, c dialect.Column) bool {
	want := strings.ToLower(d.ColumnType(c))
	if c.AutoPK {
		want = "integer"
	}
	return dialect.NormalizeType(described) == want
}

// DropIndexSQL: index names are unique in the file.
func (d Dialect) DropIndexSQL(_, _, index string) string {
	return "DROP INDEX IF EXISTS " + dialect.Quote(d, index)
}

// AlterColumnType: SQLite cannot change a column's type (the table must be
// rebuilt), so nil.
func (Dialect) AlterColumnType(string, dialect.Column, string) []string { return nil }

// AppendString renders a standard string literal: SQLite has no escapes.
func (Dialect) AppendString(b []byte, s string) []byte { return dialect.AppendStandardString(b, s) }

// JSONField reads a key with json_extract, which gives SQLite's own value
// of it (a JSON true is 1).
func (Dialect) JSONField(col, key string, k dialect.Kind, def string) string {
	return dialect.WithDefault(jsonField(col, key, k), "json_type("+col+", '$."+key+"') IS NULL", def)
}

func jsonField(col, key string, _ dialect.Kind) string {
	return "json_extract(" + col + ", '$." + key + "')"
}

// JSONTimeLayout is the layout the driver writes times in
// (_time_format=sqlite), in UTC, so that a time kept in JSON compares with
// a bound time.Time as a column's does.
func (Dialect) JSONTimeLayout() string { return "2006-01-02 15:04:05.999999999-07:00" }

// AppendJSONSet sets each key from the object with json_set, reading it
// with ->, whose result json_set takes as JSON, not text.
func (Dialect) AppendJSONSet(b []byte, col string, keys []string, obj func([]byte) []byte) []byte {
	return dialect.AppendJSONSetEach(b, "json_set", col, keys, func(b []byte, k string) []byte {
		b = obj(b)
		return append(append(append(b, " -> '$."...), k...), '\'')
	})
}
