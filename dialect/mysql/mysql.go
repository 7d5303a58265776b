// Package mysql is tenantmap's dialect for MySQL and MariaDB, used through
// github.com/go-sql-driver/mysql. On MySQL a "schema" is a database: there
// is no level between the server's databases and their tables.
package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// Dialect is the MySQL/MariaDB dialect. Its flags say what the server has
// beyond MySQL; New sets them from the server's version.
type Dialect struct {
	Returning  bool // INSERT … RETURNING (MariaDB 10.5+)
	NativeUUID bool // a UUID column type that checks its values (MariaDB 10.7+)
	// NoBackslashEscapes: the session's sql_mode has NO_BACKSLASH_ESCAPES,
	// so a backslash in a string literal is itself; by default it escapes
	// the next byte.
	NoBackslashEscapes bool
}

// New returns the dialect for a server that reports version (SELECT
// VERSION()), such as "10.11.19-MariaDB-0+deb12u1" or "8.4.2".
func New(version string) Dialect {
	if !strings.Contains(version, "MariaDB") {
		return Dialect{}
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return Dialect{}
	}
	atLeast := func(ma, mi int) bool { return major > ma || major == ma && minor >= mi }
	return Dialect{Returning: atLeast(10, 5), NativeUUID: atLeast(10, 7)}
}

var _ dialect.Dialect = Dialect{}

// Name returns "mysql".
func (Dialect) Name() string { return "mysql" }

// Features: databases reachable by qualified names, no transactional DDL
// (DDL commits implicitly), no schemas inside a database, indexes declared
// in CREATE TABLE, AUTO_INCREMENT in composite keys (with a unique index of
// its own), RETURNING on MariaDB only.
func (d Dialect) Features() dialect.Feature {
	f := dialect.Databases | dialect.CompositeAutoKey | dialect.InlineIndexes | dialect.TableWideAutoKey
	if d.Returning {
		f |= dialect.Returning
	}
	return f
}

// MaxIdentifierLength: MySQL refuses table and database names over 64 bytes.
func (Dialect) MaxIdentifierLength() int { return 64 }

// AppendIdent quotes with backticks.
func (Dialect) AppendIdent(b []byte, ident string) []byte { return dialect.AppendQuoted(b, ident, '`') }

// AppendPlaceholder appends ?: MySQL's markers are positional and unnumbered.
func (Dialect) AppendPlaceholder(b []byte, _ int) []byte { return append(b, '?') }

// ColumnsQuery reads information_schema.columns; schema "" is the
// connection's database.
func (Dialect) ColumnsQuery(schema, table string) (string, []any) {
	return "SELECT column_name, column_type, is_nullable = 'YES', column_key = 'PRI' FROM information_schema.columns " +
		"WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? ORDER BY ordinal_position", []any{schema, table}
}

// ColumnType maps kinds onto MySQL types. Strings that are keys or indexed
// are VARCHAR (255 unless sized): MySQL cannot index TEXT without a prefix
// length. Times keep microseconds.
func (d Dialect) ColumnType(c dialect.Column) string {
	if c.AutoPK && c.KeyPart {
		// InnoDB wants an AUTO_INCREMENT column to begin an index of its own;
		// its values are unique anyway.
		return "BIGINT AUTO_INCREMENT UNIQUE"
	}
	if c.AutoPK {
		return "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	switch c.Kind {
	case dialect.Bool:
		return "BOOLEAN"
	case dialect.Int16:
		return "SMALLINT"
	case dialect.Int32:
		return "INT"
	case dialect.Int64:
		return "BIGINT"
	case dialect.Float32:
		return "FLOAT"
	case dialect.Float64:
		return "DOUBLE"
	case dialect.Bytes:
		return "LONGBLOB"
	case dialect.Time:
		return "DATETIME(6)"
	case dialect.JSON:
		return "JSON"
	case dialect.UUID:
		if d.NativeUUID {
			return "UUID"
		}
		return "CHAR(36)"
	default:
		switch {
		case c.Size > 0:
			return "VARCHAR(" + strconv.Itoa(c.Size) + ")"
		case c.Indexed:
			return "VARCHAR(255)"
		}
		return "LONGTEXT"
	}
}

// AppendLimit: MySQL needs a LIMIT before an OFFSET; the largest unsigned
// 64-bit number stands for none, as its manual advises.
func (Dialect) AppendLimit(b []byte, limit, offset int) []byte {
	return dialect.AppendLimitOffset(b, limit, offset, "18446744073709551615")
}

// Syntax: backtick identifiers, backslash escapes in '…' and "…" (the
// default sql_mode), # comments, and -- comments only when followed by
// white space.
func (d Dialect) Syntax() dialect.Syntax {
	return dialect.Syntax{BacktickIdents: true, BackslashEscapes: !d.NoBackslashEscapes, HashComments: true, DashCommentNeedsSpace: true}
}

// ReservedPrefix: MySQL reserves no prefix of table names.
func (Dialect) ReservedPrefix(string) bool { return false }

// CurrentTimestamp is the default for a time column's "now".
func (Dialect) CurrentTimestamp() string { return "CURRENT_TIMESTAMP(6)" }

// IndexesQuery reads information_schema.statistics.
func (Dialect) IndexesQuery(schema, table string) (string, []any) {
	return "SELECT index_name, MIN(non_unique) = 0, GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',') FROM information_schema.statistics " +
		"WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? AND index_name <> 'PRIMARY' GROUP BY index_name ORDER BY index_name", []any{schema, table}
}

// SameType compares with information_schema's column_type, without the
// display widths of integer types (int(11)) that MariaDB and MySQL 5
// report. BOOLEAN is TINYINT(1); MariaDB stores JSON as LONGTEXT.
func (d Dialect) SameType(described string, c dialect.Column) bool {
	have := dialect.NormalizeType(described)
	for _, t := range []string{"smallint", "int", "bigint"} {
		if strings.HasPrefix(have, t+"(") && strings.HasSuffix(have, ")") {
			have = t
		}
	}
	want := strings.ToLower(d.ColumnType(c))
	switch {
	case c.AutoPK:
		want = "bigint"
	case c.Kind == dialect.Bool:
		want = "tinyint(1)"
	case c.Kind == dialect.JSON:
		return have == "json" || have == "longtext"
	}
	return have == want
}

// DropIndexSQL names the table, as MySQL's DROP INDEX needs; MariaDB has
// IF EXISTS.
func (d Dialect) DropIndexSQL(schema, table, index string) string {
	q := dialect.Quote(d, table)
	if schema != "" {
		q = dialect.Quote(d, schema) + "." + q
	}
	return "DROP INDEX " + dialect.Quote(d, index) + " ON " + q
}

// AlterColumnType: MODIFY COLUMN restates the whole definition.
func (Dialect) AlterColumnType(qtable string, _ dialect.Column, def string) []string {
	return []string{"ALTER TABLE " + qtable + " MODIFY COLUMN " + def}
}

// AppendString renders a string literal: quotes doubled and, unless the
// session has NO_BACKSLASH_ESCAPES, backslashes doubled too (in MySQL's
// default mode a backslash escapes the next byte, so a value ending in one
// would otherwise swallow the closing quote).
func (d Dialect) AppendString(b []byte, s string) []byte {
	if d.NoBackslashEscapes {
		return dialect.AppendStandardString(b, s)
	}
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b = append(b, '\'', '\'')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

// JSONField reads a key with JSON_VALUE (text) and casts it; a JSON bool
// reads as the text true or false.
func (Dialect) JSONField(col, key string, k dialect.Kind, def string) string {
	return dialect.WithDefault(jsonField(col, key, k), "JSON_EXTRACT("+col+", '$."+key+"') IS NULL", def)
}

func jsonField(col, key string, k dialect.Kind) string {
	text := "JSON_VALUE(" + col + ", '$." + key + "')"
	switch k {
	case dialect.Bool:
		// MariaDB's JSON_VALUE gives a JSON true as 1, MySQL's as true.
		return "(CASE " + text + " WHEN 'true' THEN 1 WHEN '1' THEN 1 WHEN 'false' THEN 0 WHEN '0' THEN 0 END)"
	case dialect.Int16, dialect.Int32, dialect.Int64:
		return "CAST(" + text + " AS SIGNED)"
	case dialect.Float32, dialect.Float64:
		return "CAST(" + text + " AS DOUBLE)"
	case dialect.Time:
		return "CAST(" + text + " AS DATETIME(6))"
	case dialect.JSON:
		return "NULLIF(JSON_EXTRACT(" + col + ", '$." + key + "'), 'null')"
	}
	return text
}

// JSONTimeLayout: UTC, microseconds, no zone, as DATETIME(6) reads it.
func (Dialect) JSONTimeLayout() string { return "2006-01-02 15:04:05.000000" }

// AppendJSONSet sets each key from the object with JSON_SET, reading it
// with JSON_EXTRACT, whose result JSON_SET takes as JSON, not text.
func (Dialect) AppendJSONSet(b []byte, col string, keys []string, obj func([]byte) []byte) []byte {
	return dialect.AppendJSONSetEach(b, "JSON_SET", col, keys, func(b []byte, k string) []byte {
		b = append(b, "JSON_EXTRACT("...)
		b = obj(b)
		return append(append(append(b, ", '$."...), k...), "')"...)
	})
}
