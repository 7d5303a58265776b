package tenantmap

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap/dialect"
	"github.com/tenantmap/tenantmap/dialect/postgres"
	"github.com/tenantmap/tenantmap/dialect/sqlite"
)

var (
	pgDialect     dialect.Dialect = postgres.Dialect{}
	sqliteDialect dialect.Dialect = sqlite.Dialect{}
)

// intArgs returns n distinct arguments.
func intArgs(n int) []any {
	args := make([]any, n)
	for i := range args {
		args[i] = 100 + i
	}
	return args
}

func TestRebind(t *testing.T) {
	tests := []struct {
		name    string
		d       dialect.Dialect
		sql     string
		nargs   int // arguments of the fragment
		prior   int // arguments already bound by earlier fragments
		want    string
		wantErr string // substring of the error; "" for success
	}{
		{name: "one placeholder pg", d: pgDialect, sql: "a = ?", nargs: 1, want: "a = $1"},
		{name: "one placeholder sqlite", d: sqliteDialect, sql: "a = ?", nargs: 1, want: "a = ?1"},
		{name: "two placeholders", d: pgDialect, sql: "a = ? AND b > ?", nargs: 2, want: "a = $1 AND b > $2"},
		{name: "numbered after prior args pg", d: pgDialect, sql: "a = ? AND b = ?", nargs: 2, prior: 3, want: "a = $4 AND b = $5"},
		{name: "numbered after prior args sqlite", d: sqliteDialect, sql: "a = ? AND b = ?", nargs: 2, prior: 9, want: "a = ?10 AND b = ?11"},
		{name: "no placeholders", d: pgDialect, sql: "done", want: "done"},
		{name: "empty", d: pgDialect, sql: "", want: ""},
		{name: "adjacent", d: pgDialect, sql: "(?,?)", nargs: 2, want: "($1,$2)"},
		{name: "in single quotes", d: pgDialect, sql: "a = 'x?y' AND b = ?", nargs: 1, want: "a = 'x?y' AND b = $1"},
		{name: "in single quotes sqlite", d: sqliteDialect, sql: "a = '?' AND b = ?", nargs: 1, want: "a = '?' AND b = ?1"},
		{name: "doubled single quote", d: pgDialect, sql: "a = 'it''s ?' AND b = ?", nargs: 1, want: "a = 'it''s ?' AND b = $1"},
		{name: "empty literal", d: pgDialect, sql: "a = '' AND b = ?", nargs: 1, want: "a = '' AND b = $1"},
		{name: "in double quotes", d: pgDialect, sql: `"we?rd" = ?`, nargs: 1, want: `"we?rd" = $1`},
		{name: "doubled double quote", d: sqliteDialect, sql: `"x""?" = ?`, nargs: 1, want: `"x""?" = ?1`},
		{name: "E string with escaped quote", d: pgDialect, sql: `a = E'\'?' AND b = ?`, nargs: 1, want: `a = E'\'?' AND b = $1`},
		{name: "e string with escaped backslash", d: pgDialect, sql: `a = e'\\' AND b = ?`, nargs: 1, want: `a = e'\\' AND b = $1`},
		{name: "E string at the start", d: pgDialect, sql: `E'\'?' = ?`, nargs: 1, want: `E'\'?' = $1`},
		{name: "standard string keeps backslash", d: pgDialect, sql: `a = '\' AND b = ?`, nargs: 1, want: `a = '\' AND b = $1`},
		{name: "identifier ending in e is not an E string", d: pgDialect, sql: `name='\' AND b = ?`, nargs: 1, want: `name='\' AND b = $1`},
		{name: "dollar quoted", d: pgDialect, sql: "a = $$?$$ AND b = ?", nargs: 1, want: "a = $$?$$ AND b = $1"},
		{name: "dollar quoted with tag", d: pgDialect, sql: "a = $tag$ ? $other$ ? $tag$ AND b = ?", nargs: 1, want: "a = $tag$ ? $other$ ? $tag$ AND b = $1"},
		{name: "dollar number left alone", d: pgDialect, sql: "a = $1 AND b = ?", nargs: 1, want: "a = $1 AND b = $1"},
		{name: "line comment", d: pgDialect, sql: "a = ? -- what? ;\nAND b = ?", nargs: 2, want: "a = $1 -- what? ;\nAND b = $2"},
		{name: "block comment", d: sqliteDialect, sql: "a = ? /* ? ; ' */ AND b = ?", nargs: 2, want: "a = ?1 /* ? ; ' */ AND b = ?2"},
		{name: "double question mark is a literal", d: pgDialect, sql: "data ?? 'k' AND b = ?", nargs: 1, want: "data ? 'k' AND b = $1"},
		{name: "jsonb ?| operator", d: pgDialect, sql: "data ??| array['a','b']", want: "data ?| array['a','b']"},
		{name: "triple question mark", d: pgDialect, sql: "a ??? b", nargs: 1, want: "a ?$1 b"},
		{name: "quadruple question mark", d: pgDialect, sql: "a ???? b", want: "a ?? b"},
		{name: "semicolons inside literals are data", d: pgDialect, sql: `a = ';' AND "x;y" = $$;$$ AND c = ?`, nargs: 1, want: `a = ';' AND "x;y" = $$;$$ AND c = $1`},
		{name: "unicode", d: pgDialect, sql: `"名前" = ? AND x = 'ü?'`, nargs: 1, want: `"名前" = $1 AND x = 'ü?'`},
		{name: "braces in a literal", d: pgDialect, sql: "tags @> '{a}' AND b = ?", nargs: 1, want: "tags @> '{a}' AND b = $1"},

		{name: "semicolon", d: pgDialect, sql: "a = ?; DROP TABLE x", nargs: 1, wantErr: "; is not allowed"},
		{name: "trailing semicolon", d: sqliteDialect, sql: "a = 1;", wantErr: "; is not allowed"},
		{name: "semicolon after a literal", d: pgDialect, sql: "a = 'x'; DROP TABLE x", wantErr: "; is not allowed"},
		{name: "semicolon after a comment", d: pgDialect, sql: "a = 1 /* c */; DROP TABLE x", wantErr: "; is not allowed"},
		{name: "semicolon after a line comment", d: pgDialect, sql: "a = 1 -- c\n; DROP TABLE x", wantErr: "; is not allowed"},
		{name: "table token", d: pgDialect, sql: "id IN (SELECT id FROM {case})", wantErr: "table tokens"},
		{name: "unterminated single quote", d: pgDialect, sql: "a = 'x", wantErr: "unterminated"},
		{name: "unterminated single quote with doubled", d: pgDialect, sql: "a = 'x''", wantErr: "unterminated"},
		{name: "unterminated double quote", d: sqliteDialect, sql: `"a = ?`, nargs: 1, wantErr: "unterminated"},
		{name: "unterminated E string", d: pgDialect, sql: `a = E'\'`, wantErr: "unterminated"},
		{name: "unterminated E string ending in backslash", d: pgDialect, sql: `a = E'\`, wantErr: "unterminated"},
		{name: "unterminated dollar string", d: pgDialect, sql: "a = $$x", wantErr: "unterminated"},
		{name: "unterminated tagged dollar string", d: pgDialect, sql: "a = $t$x$u$", wantErr: "unterminated"},
		{name: "unterminated block comment", d: pgDialect, sql: "a = 1 /* x", wantErr: "unterminated"},
		{name: "too few args", d: pgDialect, sql: "a = ? AND b = ?", nargs: 1, wantErr: "more ? than"},
		{name: "no args for a placeholder", d: sqliteDialect, sql: "a = ?", wantErr: "more ? than"},
		{name: "too many args", d: pgDialect, sql: "a = ?", nargs: 2, wantErr: "1 ? for 2 values"},
		{name: "args but no placeholder", d: pgDialect, sql: "a = '?'", nargs: 1, wantErr: "0 ? for 1 values"},
		{name: "escaped ? does not take an arg", d: pgDialect, sql: "a ?? b", nargs: 1, wantErr: "0 ? for 1 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prior := intArgs(tt.prior)
			frag := make([]any, tt.nargs)
			for i := range frag {
				frag[i] = "v" + string(rune('a'+i))
			}
			prefix := []byte("PREFIX ")
			out, args, err := rebind(slices.Clone(prefix), tt.d, tt.sql, frag, slices.Clone(prior))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("rebind(%q) = %q, want an error containing %q", tt.sql, out, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidQuery) {
					t.Errorf("error does not wrap ErrInvalidQuery: %v", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("rebind(%q): %v", tt.sql, err)
			}
			if got := string(out); got != "PREFIX "+tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.sql, got, "PREFIX "+tt.want)
			}
			if want := append(slices.Clone(prior), frag...); !slices.Equal(args, want) {
				t.Errorf("args = %v, want %v", args, want)
			}
		})
	}
}

// TestRebindRefusesSecondStatement: a ; the database reads outside a
// literal or comment must be refused for that database, even where the
// other dialect would read it inside one. Each case runs two statements on
// the named server (checked against PostgreSQL 15 with pgx's simple
// protocol, which pgx uses for Exec without arguments, and against
// modernc.org/sqlite's Exec).
func TestRebindRefusesSecondStatement(t *testing.T) {
	tests := []struct {
		name string
		d    dialect.Dialect
		sql  string
	}{
		// PostgreSQL ends a -- comment at \r as well as \n (scan.l: newline [\n\r]).
		{"pg: line comment ends at CR", pgDialect, "a = 1 -- c\r; DROP TABLE t"},
		// PostgreSQL block comments nest: /* /* */ is still open.
		{"pg: nested block comment", pgDialect, "a = 1 /* /* */ ' */ ; DROP TABLE t; -- '"},
		// SQLite has no E'' strings: e'\' is the identifier e and the string '\'.
		{"sqlite: no E strings", sqliteDialect, `x = e'\' ; DROP TABLE t; -- '`},
		// The plain cases, for both.
		{"pg: plain", pgDialect, "a = 1 ; DROP TABLE t"},
		{"sqlite: plain", sqliteDialect, "a = 1 ; DROP TABLE t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := rebind(nil, tt.d, tt.sql, nil, nil)
			if err == nil {
				t.Fatalf("rebind(%s, %q) accepted a fragment %s reads as two statements: %q", tt.d.Name(), tt.sql, tt.d.Name(), out)
			}
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("error does not wrap ErrInvalidQuery: %v", err)
			}
		})
	}
}

// TestRebindPlaceholderBeforeDigit: a placeholder written right before a
// digit ("?1", as SQLite users write) must not be glued to it: "id = ?1"
// rendered as "id = ?11" (SQLite) or "id = $11" (PostgreSQL) names
// parameter 11, and the statement fails with "missing argument" at the
// server. Either the fragment is refused or the placeholder stands apart.
func TestRebindPlaceholderBeforeDigit(t *testing.T) {
	tests := []struct {
		sql   string
		nargs int
	}{
		{"id = ?1", 1},
		{"id = ?0", 1},
		{"id IN (?2, ?)", 2},
	}
	for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
		for _, tt := range tests {
			t.Run(d.Name()+"/"+tt.sql, func(t *testing.T) {
				var calls []int
				cd := countingDialect{Dialect: d, calls: &calls}
				_, _, err := rebind(nil, cd, tt.sql, intArgs(tt.nargs), nil)
				if err != nil {
					if !errors.Is(err, ErrInvalidQuery) {
						t.Errorf("refused without ErrInvalidQuery: %v", err)
					}
					return
				}
				out, _, _ := rebind(nil, d, tt.sql, intArgs(tt.nargs), nil)
				for _, n := range calls {
					ph := string(d.AppendPlaceholder(nil, n))
					i := strings.Index(string(out), ph)
					if i < 0 {
						t.Fatalf("placeholder %s missing from %q", ph, out)
					}
					if j := i + len(ph); j < len(out) && out[j] >= '0' && out[j] <= '9' {
						t.Errorf("rebind(%q) = %q: placeholder %s runs into the digit after it", tt.sql, out, ph)
					}
				}
			})
		}
	}
}

// queryModel is the model the query tests order and filter.
type queryModel struct {
	ID       int64
	Title    string
	Done     bool
	Priority int
}

func compiledQueryModel(t *testing.T) *Model {
	t.Helper()
	return mustCompile(t, reflect.TypeFor[queryModel](), "task")
}

func TestQueryOrderBy(t *testing.T) {
	m := compiledQueryModel(t)
	tests := []struct {
		name  string
		order []string
		want  string // "" means refused
	}{
		{"column", []string{"title"}, ` ORDER BY "title"`},
		{"asc", []string{"title ASC"}, ` ORDER BY "title" ASC`},
		{"desc lowercase", []string{"priority desc"}, ` ORDER BY "priority" DESC`},
		{"mixed case", []string{"priority DeSc"}, ` ORDER BY "priority" DESC`},
		{"extra spaces and tab", []string{"  priority \t DESC  "}, ` ORDER BY "priority" DESC`},
		{"several", []string{"done", "priority DESC", "id"}, ` ORDER BY "done", "priority" DESC, "id"`},
		{"statement injection", []string{"id; DROP TABLE x"}, ""},
		{"semicolon after direction", []string{"id DESC;"}, ""},
		{"semicolon after column", []string{"id;"}, ""},
		{"subquery", []string{"id desc, (select 1)"}, ""},
		{"bare subquery", []string{"(select 1)"}, ""},
		{"two columns in one key", []string{"id, title"}, ""},
		{"expression", []string{"priority+1"}, ""},
		{"unknown column", []string{"nosuch"}, ""},
		{"go field name", []string{"Title"}, ""},
		{"quoted", []string{`"title"`}, ""},
		{"quote injection", []string{`title" DESC, "id`}, ""},
		{"nulls first", []string{"title DESC NULLS FIRST"}, ""},
		{"bad direction", []string{"title DOWN"}, ""},
		{"comment", []string{"title --"}, ""},
		{"empty", []string{""}, ""},
		{"spaces only", []string{"   "}, ""},
		{"NUL", []string{"title\x00"}, ""},
		{"one bad among good", []string{"title", "id; DROP TABLE x"}, ""},
	}
	for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
		for _, tt := range tests {
			t.Run(d.Name()+"/"+tt.name, func(t *testing.T) {
				out, args, err := OrderBy(tt.order...).render(nil, d, m, true, nil)
				if tt.want == "" {
					if err == nil {
						t.Fatalf("OrderBy(%q) rendered %q, want it refused", tt.order, out)
					}
					if !errors.Is(err, ErrInvalidQuery) {
						t.Errorf("error does not wrap ErrInvalidQuery: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("OrderBy(%q): %v", tt.order, err)
				}
				want := tt.want
				if d == sqliteDialect {
					want = strings.ReplaceAll(want, `"`, "`")
				}
				if string(out) != want || len(args) != 0 {
					t.Errorf("OrderBy(%q) = %q %v, want %q", tt.order, out, args, want)
				}
			})
		}
	}
}

func TestQueryRender(t *testing.T) {
	m := compiledQueryModel(t)
	tests := []struct {
		name      string
		q         Query
		withOrder bool
		pg        string
		sqlite    string
		args      []any
		wantErr   bool
	}{
		{name: "zero", q: Query{}, withOrder: true, pg: "", sqlite: ""},
		{
			name: "one filter", q: Where("done = ?", false), withOrder: true,
			pg: " WHERE (done = $1)", sqlite: " WHERE (done = ?1)", args: []any{false},
		},
		{
			name: "filters are numbered in order", q: Where("done = ?", false).Where("priority > ? OR title = ?", 3, "x"), withOrder: true,
			pg:     " WHERE (done = $1) AND (priority > $2 OR title = $3)",
			sqlite: " WHERE (done = ?1) AND (priority > ?2 OR title = ?3)",
			args:   []any{false, 3, "x"},
		},
		{
			name: "everything", q: Where("done = ?", true).OrderBy("priority DESC").Limit(10).Offset(20), withOrder: true,
			pg:     ` WHERE (done = $1) ORDER BY "priority" DESC LIMIT 10 OFFSET 20`,
			sqlite: " WHERE (done = ?1) ORDER BY `priority` DESC LIMIT 10 OFFSET 20",
			args:   []any{true},
		},
		{
			name: "order and limit ignored without withOrder", q: Where("done").OrderBy("id").Limit(1), withOrder: false,
			pg: " WHERE (done)", sqlite: " WHERE (done)",
		},
		{name: "limit zero", q: Query{}.Limit(0), withOrder: true, pg: " LIMIT 0", sqlite: " LIMIT 0"},
		{name: "negative limit removes it", q: Query{}.Limit(5).Limit(-1), withOrder: true, pg: "", sqlite: ""},
		{name: "offset without limit", q: Query{}.Offset(5), withOrder: true, pg: " OFFSET 5", sqlite: " LIMIT -1 OFFSET 5"},
		{name: "negative offset", q: Query{}.Offset(-1), withOrder: true, wantErr: true},
		{name: "bad filter", q: Where("a = ?"), withOrder: false, wantErr: true},
		{name: "bad order", q: OrderBy("nosuch"), withOrder: true, wantErr: true},
	}
	for _, tt := range tests {
		for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
			t.Run(d.Name()+"/"+tt.name, func(t *testing.T) {
				out, args, err := tt.q.render([]byte("SELECT"), d, m, tt.withOrder, nil)
				if tt.wantErr {
					if err == nil || !errors.Is(err, ErrInvalidQuery) {
						t.Fatalf("render = %q, %v; want an ErrInvalidQuery error", out, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := tt.pg
				if d == sqliteDialect {
					want = tt.sqlite
				}
				if string(out) != "SELECT"+want {
					t.Errorf("render = %q, want %q", out, "SELECT"+want)
				}
				if !slices.Equal(args, tt.args) {
					t.Errorf("args = %v, want %v", args, tt.args)
				}
			})
		}
	}
}

// TestQueryValues: a Query is a value; deriving two queries from one must
// not let them share (and overwrite) each other's filters or order.
func TestQueryValues(t *testing.T) {
	m := compiledQueryModel(t)
	base := Where("done = ?", false).Where("priority > ?", 1).Where("id > ?", 0).OrderBy("id").OrderBy("done").OrderBy("priority")
	// With room left in the slices, a Query that appended in place would
	// let a and b write over each other.
	if cap(base.where) == len(base.where) || cap(base.order) == len(base.order) {
		t.Fatalf("test needs spare capacity: where %d/%d, order %d/%d", len(base.where), cap(base.where), len(base.order), cap(base.order))
	}
	a := base.Where("title = ?", "a").OrderBy("title")
	b := base.Where("title <> ?", "b").OrderBy("title DESC")
	_ = base.Limit(3)
	const common = ` WHERE (done = $1) AND (priority > $2) AND (id > $3)`
	tests := []struct {
		q    Query
		want string
		args []any
	}{
		{base, common + ` ORDER BY "id", "done", "priority"`, []any{false, 1, 0}},
		{a, common + ` AND (title = $4) ORDER BY "id", "done", "priority", "title"`, []any{false, 1, 0, "a"}},
		{b, common + ` AND (title <> $4) ORDER BY "id", "done", "priority", "title" DESC`, []any{false, 1, 0, "b"}},
	}
	for i, tt := range tests {
		out, args, err := tt.q.render(nil, pgDialect, m, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.want || !slices.Equal(args, tt.args) {
			t.Errorf("query %d = %q %v, want %q %v", i, out, args, tt.want, tt.args)
		}
	}
}

// TestQueryLineCommentInFilter: a filter may end in a -- comment; the
// closing parenthesis and the clauses rendered after the filter must not
// end up inside it. Either the comment is closed (a newline) or the
// filter is refused.
func TestQueryLineCommentInFilter(t *testing.T) {
	m := compiledQueryModel(t)
	tests := []struct {
		name string
		q    Query
	}{
		{"alone", Where("done = ? -- open ones", false)},
		{"then another filter", Where("done = ? -- open ones", false).Where("priority > ?", 2)},
		{"then order and limit", Where("done = ? --", false).OrderBy("id").Limit(5)},
	}
	for _, tt := range tests {
		for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
			t.Run(d.Name()+"/"+tt.name, func(t *testing.T) {
				out, _, err := tt.q.render(nil, d, m, true, nil)
				if err != nil {
					if !errors.Is(err, ErrInvalidQuery) {
						t.Errorf("refused without ErrInvalidQuery: %v", err)
					}
					return
				}
				s := string(out)
				i := strings.Index(s, "--")
				if nl := strings.IndexByte(s[i:], '\n'); nl < 0 || !strings.Contains(s[i+nl:], ")") {
					t.Errorf("the rest of the statement is commented out: %q", s)
				}
			})
		}
	}
}

// goldenNote is the small model the golden SQL is rendered for.
type goldenNote struct {
	ID    int64
	Title string `tm:",size:200,index"`
	Done  bool   `tm:",default:false"`
	Due   *time.Time
}

// goldenTag has a key the caller sets, so no RETURNING.
type goldenTag struct {
	Code  string `tm:",pk"`
	Label string `tm:",unique:label_code"`
	Attrs map[string]string
}

type goldenSQL struct {
	qtable, selectSQL, getSQL, insertSQL, updateSQL, deleteSQL, countSQL string
	ddl                                                                  []string
}

// renderFor builds a tenant's mapping the way DB does: resolve the
// strategy, derive the tenant's key and physical names, render.
func renderFor(t *testing.T, d dialect.Dialect, m *Model, s Strategy, tenant string) (*mapping, error) {
	t.Helper()
	s, err := s.resolve(m, d)
	if err != nil {
		return nil, err
	}
	defaultSchema := ""
	if d.Features()&dialect.Schemas != 0 {
		defaultSchema = "public"
	}
	limit := d.MaxIdentifierLength()
	key := tenantKey(tenant, s.staticLen(), limit)
	schema, table := s.physical(key, m.name, defaultSchema, limit)
	return buildMapping(d, m, tenant, placement{kind: s.kind, schema: schema, table: table}), nil
}

func TestGoldenMappingSQL(t *testing.T) {
	note := mustCompile(t, reflect.TypeFor[goldenNote](), "note")
	tag := mustCompile(t, reflect.TypeFor[goldenTag](), "tag")
	tests := []struct {
		name     string
		d        dialect.Dialect
		m        *Model
		strategy Strategy
		want     goldenSQL
	}{
		{
			name: "sqlite table per tenant", d: sqliteDialect, m: note, strategy: TablePerTenant("{tenant}_note"),
			want: goldenSQL{
				qtable:    "`acme_note`",
				selectSQL: "SELECT `id`,`title`,`done`,`due` FROM `acme_note`",
				getSQL:    "SELECT `id`,`title`,`done`,`due` FROM `acme_note` WHERE `id`=?1",
				insertSQL: "INSERT INTO `acme_note` (`title`,`done`,`due`) VALUES (?1,?2,?3) RETURNING `id`",
				updateSQL: "UPDATE `acme_note` SET `title`=?1,`done`=?2,`due`=?3 WHERE `id`=?4",
				deleteSQL: "DELETE FROM `acme_note` WHERE `id`=?1",
				countSQL:  "SELECT COUNT(*) FROM `acme_note`",
				ddl: []string{
					"CREATE TABLE `acme_note` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `title` VARCHAR(200) NOT NULL, `done` BOOLEAN NOT NULL DEFAULT FALSE, `due` DATETIME)",
					"CREATE INDEX `acme_note_title_idx` ON `acme_note` (`title`)",
				},
			},
		},
		{
			name: "sqlite default template", d: sqliteDialect, m: note, strategy: TablePerTenant(""),
			want: goldenSQL{
				qtable:    "`acme_note`",
				selectSQL: "SELECT `id`,`title`,`done`,`due` FROM `acme_note`",
				getSQL:    "SELECT `id`,`title`,`done`,`due` FROM `acme_note` WHERE `id`=?1",
				insertSQL: "INSERT INTO `acme_note` (`title`,`done`,`due`) VALUES (?1,?2,?3) RETURNING `id`",
				updateSQL: "UPDATE `acme_note` SET `title`=?1,`done`=?2,`due`=?3 WHERE `id`=?4",
				deleteSQL: "DELETE FROM `acme_note` WHERE `id`=?1",
				countSQL:  "SELECT COUNT(*) FROM `acme_note`",
				ddl: []string{
					"CREATE TABLE `acme_note` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `title` VARCHAR(200) NOT NULL, `done` BOOLEAN NOT NULL DEFAULT FALSE, `due` DATETIME)",
					"CREATE INDEX `acme_note_title_idx` ON `acme_note` (`title`)",
				},
			},
		},
		{
			name: "postgres table per tenant", d: pgDialect, m: note, strategy: TablePerTenant("{tenant}_note"),
			want: goldenSQL{
				qtable:    `"public"."acme_note"`,
				selectSQL: `SELECT "id","title","done","due" FROM "public"."acme_note"`,
				getSQL:    `SELECT "id","title","done","due" FROM "public"."acme_note" WHERE "id"=$1`,
				insertSQL: `INSERT INTO "public"."acme_note" ("title","done","due") VALUES ($1,$2,$3) RETURNING "id"`,
				updateSQL: `UPDATE "public"."acme_note" SET "title"=$1,"done"=$2,"due"=$3 WHERE "id"=$4`,
				deleteSQL: `DELETE FROM "public"."acme_note" WHERE "id"=$1`,
				countSQL:  `SELECT COUNT(*) FROM "public"."acme_note"`,
				ddl: []string{
					`CREATE TABLE "public"."acme_note" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "done" BOOLEAN NOT NULL DEFAULT FALSE, "due" TIMESTAMPTZ)`,
					`CREATE INDEX "acme_note_title_idx" ON "public"."acme_note" ("title")`,
				},
			},
		},
		{
			name: "postgres schema per tenant", d: pgDialect, m: note, strategy: SchemaPerTenant(""),
			want: goldenSQL{
				qtable:    `"acme"."note"`,
				selectSQL: `SELECT "id","title","done","due" FROM "acme"."note"`,
				getSQL:    `SELECT "id","title","done","due" FROM "acme"."note" WHERE "id"=$1`,
				insertSQL: `INSERT INTO "acme"."note" ("title","done","due") VALUES ($1,$2,$3) RETURNING "id"`,
				updateSQL: `UPDATE "acme"."note" SET "title"=$1,"done"=$2,"due"=$3 WHERE "id"=$4`,
				deleteSQL: `DELETE FROM "acme"."note" WHERE "id"=$1`,
				countSQL:  `SELECT COUNT(*) FROM "acme"."note"`,
				ddl: []string{
					`CREATE TABLE "acme"."note" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "done" BOOLEAN NOT NULL DEFAULT FALSE, "due" TIMESTAMPTZ)`,
					`CREATE INDEX "note_title_idx" ON "acme"."note" ("title")`,
				},
			},
		},
		{
			name: "postgres schema per tenant with template", d: pgDialect, m: tag, strategy: SchemaPerTenant("t_{tenant}"),
			want: goldenSQL{
				qtable:    `"t_acme"."tag"`,
				selectSQL: `SELECT "code","label","attrs" FROM "t_acme"."tag"`,
				getSQL:    `SELECT "code","label","attrs" FROM "t_acme"."tag" WHERE "code"=$1`,
				insertSQL: `INSERT INTO "t_acme"."tag" ("code","label","attrs") VALUES ($1,$2,$3)`,
				updateSQL: `UPDATE "t_acme"."tag" SET "label"=$1,"attrs"=$2 WHERE "code"=$3`,
				deleteSQL: `DELETE FROM "t_acme"."tag" WHERE "code"=$1`,
				countSQL:  `SELECT COUNT(*) FROM "t_acme"."tag"`,
				ddl: []string{
					`CREATE TABLE "t_acme"."tag" ("code" TEXT PRIMARY KEY NOT NULL, "label" TEXT NOT NULL, "attrs" JSONB)`,
					`CREATE UNIQUE INDEX "tag_label_code_key" ON "t_acme"."tag" ("label")`,
				},
			},
		},
		{
			name: "sqlite caller-set key", d: sqliteDialect, m: tag, strategy: TablePerTenant("{tenant}_tag"),
			want: goldenSQL{
				qtable:    "`acme_tag`",
				selectSQL: "SELECT `code`,`label`,`attrs` FROM `acme_tag`",
				getSQL:    "SELECT `code`,`label`,`attrs` FROM `acme_tag` WHERE `code`=?1",
				insertSQL: "INSERT INTO `acme_tag` (`code`,`label`,`attrs`) VALUES (?1,?2,?3)",
				updateSQL: "UPDATE `acme_tag` SET `label`=?1,`attrs`=?2 WHERE `code`=?3",
				deleteSQL: "DELETE FROM `acme_tag` WHERE `code`=?1",
				countSQL:  "SELECT COUNT(*) FROM `acme_tag`",
				ddl: []string{
					"CREATE TABLE `acme_tag` (`code` TEXT PRIMARY KEY NOT NULL, `label` TEXT NOT NULL, `attrs` TEXT)",
					"CREATE UNIQUE INDEX `acme_tag_label_code_key` ON `acme_tag` (`label`)",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := renderFor(t, tt.d, tt.m, tt.strategy, "acme")
			if err != nil {
				t.Fatal(err)
			}
			got := goldenSQL{mp.qtable, mp.selectSQL, mp.getSQL, mp.insertSQL, mp.updateSQL, mp.deleteSQL, mp.countSQL, mp.ddl(tt.d, false)}
			check := func(what, got, want string) {
				if got != want {
					t.Errorf("%s:\n got  %s\n want %s", what, got, want)
				}
			}
			check("qtable", got.qtable, tt.want.qtable)
			check("select", got.selectSQL, tt.want.selectSQL)
			check("get", got.getSQL, tt.want.getSQL)
			check("insert", got.insertSQL, tt.want.insertSQL)
			check("update", got.updateSQL, tt.want.updateSQL)
			check("delete", got.deleteSQL, tt.want.deleteSQL)
			check("count", got.countSQL, tt.want.countSQL)
			if !slices.Equal(got.ddl, tt.want.ddl) {
				t.Errorf("ddl:\n got  %q\n want %q", got.ddl, tt.want.ddl)
			}
			// IF NOT EXISTS goes into every statement and changes nothing else.
			idem := mp.ddl(tt.d, true)
			if len(idem) != len(tt.want.ddl) {
				t.Fatalf("ddl(ifNotExists) = %q", idem)
			}
			for i, s := range idem {
				want := strings.Replace(strings.Replace(tt.want.ddl[i], "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1), "INDEX ", "INDEX IF NOT EXISTS ", 1)
				check("ddl(ifNotExists)", s, want)
			}
		})
	}
}

func TestGoldenStrategyErrors(t *testing.T) {
	note := mustCompile(t, reflect.TypeFor[goldenNote](), "note")
	tests := []struct {
		name string
		d    dialect.Dialect
		s    Strategy
	}{
		{"schema per tenant on sqlite", sqliteDialect, SchemaPerTenant("")},
		{"zero strategy", pgDialect, Strategy{}},
		{"no token", pgDialect, TablePerTenant("note")},
		{"two tokens", pgDialect, TablePerTenant("{tenant}_{tenant}")},
		{"uppercase", pgDialect, TablePerTenant("{tenant}_Note")},
		{"quote", sqliteDialect, TablePerTenant(`{tenant}"`)},
		{"dot", pgDialect, SchemaPerTenant("{tenant}.x")},
		{"too long", pgDialect, TablePerTenant("{tenant}_" + strings.Repeat("x", 40))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderFor(t, tt.d, note, tt.s, "acme")
			if !errors.Is(err, ErrInvalidModel) {
				t.Errorf("resolve(%s) on %s: err = %v, want ErrInvalidModel", tt.s, tt.d.Name(), err)
			}
		})
	}
}

// TestGoldenLongTenantNames: a tenant id too long for the server's limit
// once the template is added gets a deterministic key: a prefix, '_' and
// 10 hex digits of the id's SHA-256, so the physical name fits exactly.
func TestGoldenLongTenantNames(t *testing.T) {
	note := mustCompile(t, reflect.TypeFor[goldenNote](), "note")
	long := strings.Repeat("a", 60) + "xyz" // 63 bytes, the most an id may have
	sum := sha256.Sum256([]byte(long))
	hash := hex.EncodeToString(sum[:5])
	tests := []struct {
		name   string
		d      dialect.Dialect
		s      Strategy
		tenant string
		schema string
		table  string
	}{
		{"fits", pgDialect, TablePerTenant("{tenant}_note"), strings.Repeat("b", 58), "public", strings.Repeat("b", 58) + "_note"},
		{"shortened", pgDialect, TablePerTenant("{tenant}_note"), long, "public", long[:63-5-11] + "_" + hash + "_note"},
		{"schema fits", pgDialect, SchemaPerTenant(""), long, long, "note"},
		{"sqlite allows 128", sqliteDialect, TablePerTenant("{tenant}_note"), long, "", long + "_note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := renderFor(t, tt.d, note, tt.s, tt.tenant)
			if err != nil {
				t.Fatal(err)
			}
			if mp.schema != tt.schema || mp.table != tt.table {
				t.Errorf("physical = %q.%q, want %q.%q", mp.schema, mp.table, tt.schema, tt.table)
			}
			if len(mp.table) > tt.d.MaxIdentifierLength() || len(mp.schema) > tt.d.MaxIdentifierLength() {
				t.Errorf("physical name longer than %d: %q.%q", tt.d.MaxIdentifierLength(), mp.schema, mp.table)
			}
		})
	}
	// Two ids that share the kept prefix still get different tables.
	other := long[:62] + "w"
	a, _ := renderFor(t, pgDialect, note, TablePerTenant("{tenant}_note"), long)
	b, _ := renderFor(t, pgDialect, note, TablePerTenant("{tenant}_note"), other)
	if a.table == b.table {
		t.Errorf("ids %q and %q map to the same table %q", long, other, a.table)
	}
}
