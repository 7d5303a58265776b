// Package dialect holds what differs between the SQL databases tenantmap
// supports: identifier quoting, placeholders, column types, identifier limits
// and capability flags. It is the only layer that knows a database's syntax;
// the root package renders SQL through a Dialect and never compares names.
package dialect

import (
	"strconv"
	"strings"
)

// Kind is the storage class of a model column, independent of any database.
type Kind uint8

// The kinds a model column can have.
const (
	Invalid Kind = iota
	Bool
	Int16
	Int32
	Int64
	Float32
	Float64
	String
	Bytes
	Time
	JSON
	UUID
)

var kindNames = [...]string{"invalid", "bool", "int16", "int32", "int64", "float32", "float64", "string", "bytes", "time", "json", "uuid"}

// String returns the kind's name as written in model tags (type:uuid).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Feature is a set of capability flags. Code branches on features, never on a
// dialect's name.
type Feature uint32

// Capabilities a dialect may have.
const (
	// Schemas: the database has schemas inside a database (PostgreSQL).
	Schemas Feature = 1 << iota
	// Returning: INSERT … RETURNING is available.
	Returning
	// TransactionalDDL: CREATE/ALTER/DROP run inside a transaction and roll back with it.
	TransactionalDDL
	// CopyFrom: a bulk-load protocol exists (PostgreSQL COPY).
	CopyFrom
	// Databases: one connection reaches every database of the server by
	// qualified names (database.table), as on MySQL, where a "schema" is a
	// database.
	Databases
	// CompositeAutoKey: a generated integer key can be one column of a
	// composite primary key (PostgreSQL identity, MySQL AUTO_INCREMENT); on
	// SQLite only a lone INTEGER PRIMARY KEY is generated.
	CompositeAutoKey
	// InlineIndexes: indexes are declared inside CREATE TABLE (MySQL), so one
	// CREATE TABLE IF NOT EXISTS makes a table and its indexes at once.
	InlineIndexes
	// TableWideAutoKey: in a shared table a generated key is unique across
	// the whole table, not only within a tenant (SQLite generates a lone
	// INTEGER PRIMARY KEY; MySQL's AUTO_INCREMENT needs a unique index of
	// its own), so a tenant's rows cannot be copied with their keys.
	TableWideAutoKey
)

// Syntax is what a database's SQL lexer treats as string literals, quoted
// identifiers and comments, beyond what they all share ('…' strings with
// doubled quotes inside, "…" identifiers, -- and /* */ comments).
type Syntax struct {
	EscapeStrings    bool // E'…' strings take backslash escapes (PostgreSQL)
	DollarQuotes     bool // $tag$…$tag$ strings (PostgreSQL)
	NestedComments   bool // /* /* */ */ nest (PostgreSQL)
	CRLineEnd        bool // a -- comment also ends at \r (PostgreSQL)
	BacktickIdents   bool // `…` quotes an identifier (SQLite, MySQL)
	BracketIdents    bool // […] quotes an identifier (SQLite)
	BackslashEscapes bool // '…' and "…" take backslash escapes (MySQL's default mode)
	HashComments     bool // # starts a comment to the end of the line (MySQL)
	// DashCommentNeedsSpace: -- starts a comment only when white space, a
	// control character or the end follows it; else it is two minus signs
	// (MySQL, whose lexer takes any byte up to 0x20, and 0x7f, as that).
	DashCommentNeedsSpace bool
}

// Column describes one column for DDL rendering.
type Column struct {
	Name     string
	Kind     Kind
	Size     int  // maximum length of a string column, 0 for unbounded
	Nullable bool // NULL allowed
	AutoPK   bool // an auto-generated integer primary key
	// KeyPart: an AutoPK column that is one column of a composite primary
	// key the table declares itself. Where CompositeAutoKey is a feature its
	// type then has no PRIMARY KEY clause.
	KeyPart bool
	Indexed bool // the column is a key or in an index
}

// Dialect is what differs between databases. Implementations are stateless and
// safe for concurrent use.
type Dialect interface {
	// Name is the dialect's name, for messages ("sqlite", "postgres").
	Name() string
	// Features reports the dialect's capabilities.
	Features() Feature
	// MaxIdentifierLength is the longest identifier, in bytes, the server keeps.
	MaxIdentifierLength() int
	// AppendIdent appends ident quoted so that the server reads it as exactly
	// one identifier equal to ident.
	AppendIdent(b []byte, ident string) []byte
	// AppendPlaceholder appends the n-th (1-based) bind parameter marker.
	AppendPlaceholder(b []byte, n int) []byte
	// ColumnType renders a column's type, without NULL or DEFAULT clauses; for
	// an AutoPK column it includes the primary key clause unless KeyPart.
	ColumnType(c Column) string
	// AppendLimit appends a LIMIT/OFFSET clause with a leading space; a
	// negative limit means none, a zero offset is left out.
	AppendLimit(b []byte, limit, offset int) []byte
	// CurrentTimestamp is the DEFAULT expression for "now" in a time column.
	CurrentTimestamp() string
	// Syntax describes the dialect's literals and comments, so that tenantmap
	// can rewrite placeholders and table tokens in programmers' SQL without
	// touching what is inside them.
	Syntax() Syntax
	// ReservedPrefix reports whether a name is reserved for the server's own
	// objects (pg_ on PostgreSQL, sqlite_ on SQLite).
	ReservedPrefix(name string) bool
	// ColumnsQuery is the introspection query that lists a table's columns
	// in table order, each as (name, type as the database names it,
	// nullable, part of the primary key). schema is "" where the table is
	// in the connection's own database or file.
	ColumnsQuery(schema, table string) (string, []any)
	// IndexesQuery is the introspection query that lists a table's indexes
	// other than its primary key, each as (name, unique, its columns in
	// order joined by commas).
	IndexesQuery(schema, table string) (string, []any)
	// SameType reports whether a type as ColumnsQuery names it is the type
	// ColumnType gives c.
	SameType(described string, c Column) bool
	// DropIndexSQL renders the statement that drops index of table (in
	// schema, "" where there is none) if it exists.
	DropIndexSQL(schema, table, index string) string
	// AppendString appends s as a string literal the server reads back as
	// exactly s (s holds no NUL byte).
	AppendString(b []byte, s string) []byte
	// AlterColumnType renders the statements that change column c of the
	// table qtable (quoted, qualified) to c's type and nullability; def is
	// c's whole definition as ADD COLUMN takes it. It returns nil where the
	// database cannot change a column's type.
	AlterColumnType(qtable string, c Column, def string) []string
	// JSONField renders an expression reading key of the JSON object in
	// column col (quoted) as a value of kind k: the SQL literal def where the
	// key is absent ("" for NULL), NULL where it holds null. key is made of
	// a-z and 0-9.
	JSONField(col, key string, k Kind, def string) string
	// AppendJSONSet appends an expression: the JSON object in column col
	// (quoted; NULL reads as {}) with each of keys set to its value in the
	// JSON object that obj appends (a placeholder, appended once per use),
	// JSON nulls included. keys are made of a-z and 0-9.
	AppendJSONSet(b []byte, col string, keys []string, obj func([]byte) []byte) []byte
	// JSONTimeLayout is the layout of a time kept inside JSON, such that
	// JSONField reads it as the dialect's time values compare.
	JSONTimeLayout() string
}

// NormalizeType lowercases a type name and removes spaces after commas, for
// SameType.
func NormalizeType(t string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(t)), ", ", ",")
}

// Quote returns ident quoted by d.
func Quote(d Dialect, ident string) string {
	return string(d.AppendIdent(nil, ident))
}

// AppendQuoted appends ident between q characters, doubling any q inside it.
// PostgreSQL and SQLite quote with '"', MySQL with '`'.
func AppendQuoted(b []byte, ident string, q byte) []byte {
	b = append(b, q)
	for i := 0; i < len(ident); i++ {
		c := ident[i]
		if c == q {
			b = append(b, q)
		}
		b = append(b, c)
	}
	return append(b, q)
}

// AppendStandardString appends s between single quotes, doubling any
// single quote inside: a standard SQL string literal, for servers that
// take backslashes literally (PostgreSQL with standard_conforming_strings,
// its default; SQLite).
func AppendStandardString(b []byte, s string) []byte { return AppendQuoted(b, s, '\'') }

// HasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func HasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// AppendLimitOffset appends " LIMIT n OFFSET m" for the dialects' AppendLimit.
// A negative limit means none; where the database needs a LIMIT before an
// OFFSET, noLimit is what stands for none ("" where LIMIT can be left out).
func AppendLimitOffset(b []byte, limit, offset int, noLimit string) []byte {
	switch {
	case limit >= 0:
		b = strconv.AppendInt(append(b, " LIMIT "...), int64(limit), 10)
	case offset > 0 && noLimit != "":
		b = append(append(b, " LIMIT "...), noLimit...)
	}
	if offset > 0 {
		b = strconv.AppendInt(append(b, " OFFSET "...), int64(offset), 10)
	}
	return b
}

// WithDefault wraps a JSONField expression in the default for an absent
// key: absent is the condition, true where the key is absent.
func WithDefault(expr, absent, def string) string {
	if def == "" {
		return expr
	}
	return "CASE WHEN " + absent + " THEN " + def + " ELSE " + expr + " END"
}

// AppendJSONSetEach appends fn(COALESCE(col, '{}'), '$.key', value, …) for
// each of keys, value being what read appends for the key: the form of
// MySQL's JSON_SET and SQLite's json_set.
func AppendJSONSetEach(b []byte, fn, col string, keys []string, read func(b []byte, key string) []byte) []byte {
	b = append(b, fn...)
	b = append(b, "(COALESCE("...)
	b = append(b, col...)
	b = append(b, ", '{}')"...)
	for _, k := range keys {
		b = append(b, ", '$."...)
		b = append(b, k...)
		b = append(b, "', "...)
		b = read(b, k)
	}
	return append(b, ')')
}
